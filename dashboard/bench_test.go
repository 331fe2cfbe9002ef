package dashboard_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dashboard"
	"github.com/mrun-dev/mrun/runtime"
)

// BenchmarkFanOut10k runs 10,000 incs and their sum without a dashboard ("off": no
// Config.Events), with an Events function that does nothing ("events": what the engine spends
// making events, which mrun pays with or without a dashboard) and with a dashboard fed by the
// events ("on"), planned as mrun run plans a foreach. Compare them in one run, alternating:
//
//	go test -run '^$' -bench 'FanOut10k' -count 6 ./dashboard/
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
	fanout := func(b *testing.B, mode string) {
		for b.Loop() {
			objs := make(dag.Tuple, n)
			for i := range objs {
				objs[i] = dag.Spawn(inc, i)
			}
			total := dag.Spawn(sumAll, objs)
			cfg := dag.Config{}
			switch mode {
			case "events":
				cfg.Events = func(dag.Event) {}
			case "on":
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
	for _, mode := range []string{"off", "events", "on"} {
		b.Run(mode, func(b *testing.B) { fanout(b, mode) })
	}
}

// BenchmarkServer_Event is the dashboard's part of the cost of a call: its start and finish
// events, on two goroutines as on two slots.
func BenchmarkServer_Event(b *testing.B) {
	const n = 10_000
	s := dashboard.New(dashboard.Config{})
	defer s.Close()
	var keys [n]abi.Key
	for i := range keys {
		keys[i][0], keys[i][1] = byte(i), byte(i>>8)
		s.Plan(keys[i], "incs")
	}
	b.SetParallelism(1) // GOMAXPROCS goroutines: 2 on 2 cores
	b.ResetTimer()
	var slot atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		sl := int(slot.Add(1))
		i := sl
		for pb.Next() {
			k := keys[i%n]
			i++
			s.Event(dag.Event{Kind: dag.EventStart, Key: k, Slot: sl, Time: time.Now()})
			s.Event(dag.Event{Kind: dag.EventFinish, Key: k, Slot: sl, Time: time.Now()})
		}
	})
}
