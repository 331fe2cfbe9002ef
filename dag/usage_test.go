package dag_test

import (
	"context"
	"sync"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// usages records the Usage of every EventFinish and EventFail, by key.
type usages struct {
	mu    sync.Mutex
	by    map[abi.Key]dag.Usage
	kinds map[abi.Key]dag.EventKind
}

func (u *usages) event(ev dag.Event) {
	if ev.Kind != dag.EventFinish && ev.Kind != dag.EventFail {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.by == nil {
		u.by, u.kinds = map[abi.Key]dag.Usage{}, map[abi.Key]dag.EventKind{}
	}
	u.by[ev.Key], u.kinds[ev.Key] = ev.Usage, ev.Kind
}

func (u *usages) of(t *testing.T, o *dag.Object) (dag.Usage, dag.EventKind) {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	us, ok := u.by[o.Key()]
	if !ok {
		t.Fatalf("no EventFinish or EventFail for %s", o)
	}
	return us, u.kinds[o.Key()]
}

// checkTimes checks what no test can know exactly: the call took time, and its guest ran for
// part of it.
func checkTimes(t *testing.T, what string, u dag.Usage) {
	t.Helper()
	if u.Wall <= 0 || u.Guest <= 0 || u.Guest > u.Wall {
		t.Errorf("%s: Wall %v, Guest %v: want both > 0 and Guest <= Wall", what, u.Wall, u.Guest)
	}
}

// TestUsage_InProcess: the in-process executor's events say what each call cost.
func TestUsage_InProcess(t *testing.T) {
	ctx := context.Background()
	fresh, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close(ctx)
	conf, err := fresh.LoadFile(ctx, "../testdata/wat/conformance.wasm")
	if err != nil {
		t.Fatal(err)
	}
	flaky, err := fresh.LoadFile(ctx, "../testdata/wat/flaky.wasm")
	if err != nil {
		t.Fatal(err)
	}
	var rec usages
	e := dag.New(dag.Config{Slots: 1, Events: rec.event})

	// inc(41): the frame [[41], {}] is 4 bytes (92 91 29 80), the result 42 one (2a).
	inc := dag.Spawn(fn(t, conf, "inc"), 41)
	// driver spawns inc(0) … inc(9) and returns their values: [1, …, 10], 11 bytes, from an
	// empty frame [[], {}] (92 90 80).
	driver := dag.Spawn(fn(t, conf, "driver"))
	// flaky fails twice on a fresh instance: with one retry, both attempts fail.
	flakyCall := dag.Call{Func: fn(t, flaky, "flaky"), Retries: 1}.Spawn()[0]
	_ = e.Execute(ctx, inc, driver, flakyCall)

	const initial = 2 << 16 // the conformance module's memory: 2 pages
	u, kind := rec.of(t, inc)
	want := dag.Usage{Wall: u.Wall, Guest: u.Guest, PeakMemory: u.PeakMemory, ArgBytes: 4, ResultBytes: 1, Attempts: 1}
	if kind != dag.EventFinish || u != want || u.PeakMemory < initial {
		t.Errorf("inc: event %d, usage %+v; want EventFinish, %+v with PeakMemory >= %d", kind, u, want, initial)
	}
	checkTimes(t, "inc", u)

	u, _ = rec.of(t, driver)
	want = dag.Usage{Wall: u.Wall, Guest: u.Guest, PeakMemory: u.PeakMemory, ArgBytes: 3, ResultBytes: 11, Spawned: 10, Attempts: 1}
	if u != want || u.PeakMemory < initial {
		t.Errorf("driver: usage %+v; want %+v with PeakMemory >= %d", u, want, initial)
	}
	checkTimes(t, "driver", u)
	for i := range 10 { // the children are tasks of their own, with their own usage
		u, _ := rec.of(t, dag.Spawn(fn(t, conf, "inc"), i))
		if u.Attempts != 1 || u.ArgBytes != 4 || u.ResultBytes != 1 || u.Spawned != 0 {
			t.Errorf("inc(%d) spawned by driver: usage %+v", i, u)
		}
	}

	u, kind = rec.of(t, flakyCall)
	want = dag.Usage{Wall: u.Wall, Guest: u.Guest, PeakMemory: u.PeakMemory, ArgBytes: 3, Attempts: 2}
	if kind != dag.EventFail || u != want || u.PeakMemory == 0 {
		t.Errorf("flaky: event %d, usage %+v; want EventFail, %+v with PeakMemory > 0", kind, u, want)
	}
	checkTimes(t, "flaky", u)

	// A call whose arguments are over the limit does not run: its usage says how large they were.
	var small usages
	big := dag.Spawn(fn(t, conf, "inc"), 1000)
	_ = dag.New(dag.Config{MaxArgument: 4, Events: small.event}).Execute(ctx, big)
	u, kind = small.of(t, big)
	if want := (dag.Usage{Wall: u.Wall, ArgBytes: 6, Attempts: 1}); kind != dag.EventFail || u != want {
		t.Errorf("inc(1000) over MaxArgument: event %d, usage %+v; want EventFail, %+v", kind, u, want)
	}
}
