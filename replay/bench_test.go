package replay_test

import (
	"context"
	"os"
	"testing"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/replay"
	"github.com/mrun-dev/mrun/runtime"
)

// BenchmarkExecute runs 1,000 small calls that succeed (echo of fixtures.wasm) per iteration
// on one slot: directly in process, under a Recorder that keeps failures only, and under one
// that records every call in memory. The difference is the Recorder's cost per call.
func BenchmarkExecute(b *testing.B) {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	wasm, err := os.ReadFile("../testdata/wat/fixtures.wasm")
	if err != nil {
		b.Fatal(err)
	}
	mod, err := rt.Load(ctx, "fixtures", wasm)
	if err != nil {
		b.Fatal(err)
	}
	echo, _ := mod.Func("echo")
	for _, c := range []struct {
		name string
		exec func() dag.Executor
	}{
		{"in-process", func() dag.Executor { return dag.InProcess{} }},
		{"keep-failed", func() dag.Executor { return &replay.Recorder{} }},
		{"record-all-in-memory", func() dag.Executor { return &replay.Recorder{All: true} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				eng := dag.New(dag.Config{Executor: c.exec(), Slots: 1})
				objs := make([]*dag.Object, 1000)
				for j := range objs {
					objs[j] = dag.Call{Func: echo, Args: []any{i*1000 + j}}.Spawn()[0]
				}
				if err := eng.Execute(ctx, objs...); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/call")
		})
	}
}
