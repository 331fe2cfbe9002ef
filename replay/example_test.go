package replay_test

import (
	"context"
	"fmt"
	"os"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/replay"
	"github.com/mrun-dev/mrun/runtime"
)

// A Recorder as an engine's executor keeps a bundle of each failed call; Replay runs one
// again and Diff compares what it did with what was recorded.
func Example() {
	ctx := context.Background()
	rt, _ := runtime.New(ctx, runtime.Config{})
	defer rt.Close(ctx)
	wasm, _ := os.ReadFile("../testdata/wat/giveup.wasm")
	mod, _ := rt.Load(ctx, "giveup", wasm)
	inc, _ := mod.Func("inc")

	dir, _ := os.MkdirTemp("", "bundles-")
	defer os.RemoveAll(dir)
	rec := &replay.Recorder{Dir: dir}
	eng := dag.New(dag.Config{Executor: rec})
	obj := dag.Call{Func: inc}.Spawn()[0]
	fmt.Println("run:", eng.Execute(ctx, obj))

	path, _ := rec.Path(obj.TaskKey())
	b, err := replay.Read(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := b.Replay(ctx, replay.Options{})
	fmt.Println("replay:", err)
	fmt.Println("differs in:", replay.OutcomeOf(res, err).Diff(b.Outcome))
	// Output:
	// run: task inc (key 5a0ecbb355fbef788be9a690b7b82ce6, module giveup): inc: the counter is out of range
	// replay: inc (module giveup): inc: the counter is out of range
	// differs in: []
}
