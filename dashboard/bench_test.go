package dashboard_test

import (
	"context"
	"testing"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dashboard"
	"github.com/mrun-dev/mrun/runtime"
)

// BenchmarkFanOut10k runs 10,000 incs and their sum without a dashboard ("off": no
// Config.Events) and with one fed by the events ("on"), planned as mrun run plans a foreach.
// Compare the two in one run: go test -run '^$' -bench FanOut10k -count 6 ./dashboard/
func BenchmarkFanOut10k(b *testing.B) {
	const n = 10_000
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.LoadFile(ctx, "../testdata/c/conformance.wasm")
	if err != nil {
		b.Fatal(err)
	}
	inc, _ := mod.Func("inc")
	sumAll, _ := mod.Func("sum_all")
	fanout := func(b *testing.B, on bool) {
		for b.Loop() {
			objs := make(dag.Tuple, n)
			for i := range objs {
				objs[i] = dag.Spawn(inc, i)
			}
			total := dag.Spawn(sumAll, objs)
			cfg := dag.Config{}
			if on {
				dash := dashboard.New(dashboard.Config{})
				for _, o := range objs {
					dash.Plan(o.TaskKey(), "incs")
				}
				dash.Plan(total.TaskKey(), "total")
				cfg.Events = dash.Event
				defer dash.Close()
			}
			e := dag.New(cfg)
			if err := e.Execute(ctx, total); err != nil {
				b.Fatal(err)
			}
			var got int
			if err := e.Fetch(ctx, total, &got); err != nil || got != 50_005_000 {
				b.Fatalf("sum = %d, %v", got, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n+1)), "ns/task")
	}
	b.Run("off", func(b *testing.B) { fanout(b, false) })
	b.Run("on", func(b *testing.B) { fanout(b, true) })
}
