package cluster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
)

// TestUsage_Cluster: the events of the engine that submitted calls to a cluster carry what
// the workers measured, and which worker ran each call.
func TestUsage_Cluster(t *testing.T) {
	tc := startCluster(t, 1, 1, cluster.Options{})
	var mu sync.Mutex
	got := map[abi.Key]dag.Event{}
	events := func(ev dag.Event) {
		if ev.Kind == dag.EventFinish || ev.Kind == dag.EventFail {
			mu.Lock()
			got[ev.Key] = ev
			mu.Unlock()
		}
	}
	e := dag.New(dag.Config{Slots: 4, Executor: tc.conn.Executor(), Store: tc.conn.Store(), Events: events})
	tc.conn.Executor().SetEvents(events) // the driver's children run on the worker's engine
	defer tc.conn.Executor().SetEvents(nil)
	conf := "../../testdata/wat/conformance.wasm"
	inc := dag.Spawn(tc.fn(t, conf, "inc"), 41)
	driver := dag.Spawn(tc.fn(t, conf, "driver"))
	flaky := dag.Call{Func: tc.fn(t, "../../testdata/wat/flaky.wasm", "flaky"), Retries: 1}.Spawn()[0]
	_ = e.Execute(context.Background(), inc, driver, flaky)

	const initial = 2 << 16 // the conformance module's memory: 2 pages
	type check struct {
		name string
		o    *dag.Object
		kind dag.EventKind
		want dag.Usage // times and memory are checked apart
	}
	var children []check // the events of nested calls come from the worker that spawned them
	for i := range 10 {
		children = append(children, check{fmt.Sprintf("driver's inc(%d)", i), dag.Spawn(inc.Func(), i), dag.EventFinish,
			dag.Usage{ArgBytes: 4, ResultBytes: 1, Attempts: 1, Worker: "w0"}})
	}
	for _, c := range append([]check{
		{"inc", inc, dag.EventFinish, dag.Usage{ArgBytes: 4, ResultBytes: 1, Attempts: 1, Worker: "w0"}},
		{"driver", driver, dag.EventFinish, dag.Usage{ArgBytes: 3, ResultBytes: 11, Spawned: 10, Attempts: 1, Worker: "w0"}},
		{"flaky", flaky, dag.EventFail, dag.Usage{ArgBytes: 3, Attempts: 2, Worker: "w0"}},
	}, children...) {
		ev, ok := got[c.o.Key()]
		if !ok {
			t.Errorf("%s: no EventFinish or EventFail", c.name)
			continue
		}
		u := ev.Usage
		if ev.Kind != c.kind {
			t.Errorf("%s: event %d, want %d (%v)", c.name, ev.Kind, c.kind, ev.Err)
		}
		if u.Wall <= 0 || u.Guest <= 0 || u.Guest > u.Wall || u.PeakMemory == 0 {
			t.Errorf("%s: Wall %v, Guest %v, PeakMemory %d: want times > 0, Guest <= Wall, memory > 0", c.name, u.Wall, u.Guest, u.PeakMemory)
		}
		if c.name != "flaky" && u.PeakMemory < initial {
			t.Errorf("%s: PeakMemory %d, want at least %d", c.name, u.PeakMemory, initial)
		}
		u.Wall, u.Guest, u.PeakMemory = 0, 0, 0
		if u != c.want {
			t.Errorf("%s: usage %+v, want %+v", c.name, u, c.want)
		}
	}
}
