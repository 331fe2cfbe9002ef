package tensor_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/mrun-dev/mrun/tensor"
)

// evalFunc registers mrun:tensor in a new runtime and returns its eval function. It skips
// the test when the runtime cannot load native modules.
func evalFunc(t *testing.T) *runtime.Function {
	t.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	m, err := tensor.Register(ctx, rt)
	if err != nil && strings.Contains(err.Error(), "native modules: not built") {
		t.Skip("this runtime has no native modules yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Func("eval")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRegister_Engine runs eval on the real engine with one slot: the planner gives its slot
// back while its chunk tasks run, and spawns the tasks the fake engine counts.
func TestRegister_Engine(t *testing.T) {
	eval := evalFunc(t)
	var mu sync.Mutex
	starts := map[string]int{}
	e := dag.New(dag.Config{Slots: 1, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart {
			mu.Lock()
			starts[ev.Func.Name()]++
			mu.Unlock()
		}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a deadlock fails, not hangs
	defer cancel()
	sum := dag.Spawn(eval, tensor.Rand(1, 4000, 4000).WithChunks(500, 500).Mean(nil))
	if err := e.Execute(ctx, sum); err != nil {
		t.Fatal(err)
	}
	var v float64
	if err := e.Fetch(ctx, sum, &v); err != nil {
		t.Fatal(err)
	}
	if v < 0.49 || v > 0.51 {
		t.Errorf("mean of 16,000,000 uniform numbers is %v, want about 0.5", v)
	}
	// 64 chunks: 64 reduce tasks, then 8 combines and a final one.
	if want := map[string]int{"eval": 1, "reduce": 64, "combine": 9}; len(starts) != len(want) || starts["eval"] != 1 || starts["reduce"] != 64 || starts["combine"] != 9 {
		t.Errorf("tasks started: %v, want %v", starts, want)
	}

	bad := dag.Spawn(eval, tensor.Arange(0, 3, 1).Pow(tensor.Arange(-1, 2, 1)))
	err := e.Execute(ctx, bad)
	if err == nil || !strings.HasSuffix(err.Error(), "tensor: integers to negative integer powers are not allowed (exponent -1): astype the base to a float first") {
		t.Errorf("a failing kernel: %v", err)
	}
}

// TestRegister_EngineLargeResult fetches a result of several chunks and more than 64 KiB
// through the real engine: eval gathers the chunks into the result's frame itself.
func TestRegister_EngineLargeResult(t *testing.T) {
	eval := evalFunc(t)
	e := dag.New(dag.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	o := dag.Spawn(eval, tensor.Arange(0, 20000, 1).WithChunks(3000).Mul(2))
	if err := e.Execute(ctx, o); err != nil {
		t.Fatal(err)
	}
	var got abi.Tensor
	if err := e.Fetch(ctx, o, &got); err != nil {
		t.Fatal(err)
	}
	xs, err := abi.Elements[int64](got)
	if err != nil || len(xs) != 20000 {
		t.Fatalf("result %v: %v", got, err)
	}
	for i, x := range xs {
		if x != int64(2*i) {
			t.Fatalf("element %d is %d, want %d", i, x, 2*i)
		}
	}
}
