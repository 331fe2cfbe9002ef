package dag_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

func ints(from, to int) []any {
	var out []any
	for i := from; i <= to; i++ {
		out = append(out, int64(i))
	}
	return out
}

func TestNested_Driver(t *testing.T) {
	got := execute(t, dag.New(dag.Config{}), dag.Spawn(fn(t, seed, "driver")))[0]
	if !reflect.DeepEqual(got, ints(1, 10)) {
		t.Fatalf("driver = %v", got)
	}
}

func TestNested_FibOneSlot(t *testing.T) {
	var nested atomic.Int32
	e := dag.New(dag.Config{Slots: 1, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart && ev.Depth > 0 {
			nested.Add(1)
		}
	}})
	if got := execute(t, e, dag.Spawn(fn(t, seed, "fib"), 15))[0]; got != int64(610) {
		t.Fatalf("fib(15) = %v", got)
	}
	// fib(15) makes 1972 calls below the root; identical calls share a key and run once,
	// so 15 distinct nested calls (fib(0) .. fib(14)) is the least, and every one ran.
	if n := nested.Load(); n != 15 {
		t.Fatalf("%d nested calls ran", n)
	}
}

func TestNested_ManyDrivers(t *testing.T) {
	driverN := fn(t, seed, "driver_n")
	objs := make(dag.Tuple, 20)
	for i := range objs {
		objs[i] = dag.Spawn(driverN, 100+i) // distinct keys: 20 drivers really run
	}
	got := execute(t, dag.New(dag.Config{Slots: 4}), objs...)
	for i, v := range got {
		if !reflect.DeepEqual(v, ints(1, 100+i)) {
			t.Fatalf("driver_n(%d) = %v", 100+i, v)
		}
	}
}

func TestNested_Fanout(t *testing.T) {
	if got := execute(t, dag.New(dag.Config{}), dag.Spawn(fn(t, seed, "fanout"), 10_000))[0]; got != int64(50_005_000) {
		t.Fatalf("fanout(10000) = %v", got)
	}
}

// chain returns the TaskErrors in err's chain, outermost first.
func chain(err error) []*dag.TaskError {
	var out []*dag.TaskError
	for err != nil {
		if te, ok := err.(*dag.TaskError); ok {
			out = append(out, te)
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			errs := u.Unwrap()
			if len(errs) == 0 {
				return out
			}
			err = errs[len(errs)-1]
		default:
			return out
		}
	}
	return out
}

func TestNested_ChildFailure(t *testing.T) {
	parent := dag.Spawn(fn(t, seed, "parent_fail"), "disk on fire")
	err := dag.New(dag.Config{}).Execute(context.Background(), parent)
	tes := chain(err)
	if len(tes) != 2 || tes[0].Func != "parent_fail" || tes[1].Func != "fail" {
		t.Fatalf("error chain %q has tasks %v, want parent_fail then fail", err, tes)
	}
	var ge *runtime.GuestError
	if !errors.As(tes[1], &ge) || ge.Message != "disk on fire" {
		t.Fatalf("child cause = %v", ge)
	}
	if !strings.HasSuffix(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "task parent_fail (key ") {
		t.Fatalf("message %q", err)
	}

	// A parent can also inspect the child's error and carry on.
	got := execute(t, dag.New(dag.Config{}), dag.Spawn(fn(t, seed, "catch"), "no more cake"))[0]
	if s, ok := got.(string); !ok || !strings.HasPrefix(s, "task fail (key ") || !strings.HasSuffix(s, "module seed): no more cake") {
		t.Fatalf("catch = %q", got)
	}
}

func TestNested_SpawnBomb(t *testing.T) {
	e := dag.New(dag.Config{MaxTasks: 500})
	err := e.Execute(context.Background(), dag.Spawn(fn(t, seed, "bomb"), 10))
	if err == nil || !strings.Contains(err.Error(), "this execution already created 500 nested tasks, the limit") {
		t.Fatalf("err = %v", err)
	}
	// The host is healthy afterwards, and the budget is per execution.
	if got := execute(t, e, dag.Spawn(fn(t, seed, "driver")))[0]; !reflect.DeepEqual(got, ints(1, 10)) {
		t.Fatalf("driver after the bomb = %v", got)
	}
}

func TestNested_DepthLimit(t *testing.T) {
	// deep(n) is a chain: deep(10) at depth 0 … deep(5) at depth 5, whose spawn of deep(4)
	// would be depth 6. (fib would not do: calls shared between its subtrees may keep it
	// shallower, depending on which runs first.)
	err := dag.New(dag.Config{MaxDepth: 5}).Execute(context.Background(), dag.Spawn(fn(t, seed, "deep"), 10))
	if err == nil || !strings.Contains(err.Error(), "nesting depth 6 exceeds the limit of 5") {
		t.Fatalf("err = %v", err)
	}
}

func TestNested_BogusHandle(t *testing.T) {
	got := execute(t, dag.New(dag.Config{}), dag.Spawn(fn(t, seed, "bogus"), 7))[0]
	if want := "invalid request: handle 7 is not a handle of this task, which holds none"; got != want {
		t.Fatalf("bogus(7) = %q, want %q", got, want)
	}
}

func TestNested_ForwardByReference(t *testing.T) {
	var runs atomic.Int32
	e := dag.New(dag.Config{Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart {
			runs.Add(1)
		}
	}})
	inc, add := fn(t, seed, "inc"), fn(t, seed, "add")
	x := dag.Spawn(inc, 41)
	got := execute(t, e, dag.Spawn(fn(t, seed, "forward"), dag.Ref(x), 3))[0]
	if !reflect.DeepEqual(got, []any{int64(42), int64(43), int64(44)}) {
		t.Fatalf("forward = %v", got)
	}
	before := runs.Load() // inc, forward, 3 adds
	if before != 5 {
		t.Fatalf("%d calls ran, want 5", before)
	}
	// A host-level spawn of the same call as a nested one has the same key: nothing reruns.
	same := dag.Spawn(add, x, 2)
	if got := execute(t, e, same)[0]; got != int64(44) {
		t.Fatalf("add(x, 2) = %v", got)
	}
	if runs.Load() != before {
		t.Fatalf("add(x, 2) ran again: nested results are not keyed like host-level ones")
	}
}

func TestNested_CancelDeepTree(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := dag.New(dag.Config{Slots: 2}).Execute(ctx, dag.Spawn(fn(t, seed, "deep"), 20))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancelled tree took %v to return", d)
	}
	// Healthy afterwards.
	if got := execute(t, dag.New(dag.Config{Slots: 1}), dag.Spawn(fn(t, seed, "fib"), 10))[0]; got != int64(55) {
		t.Fatalf("fib(10) = %v", got)
	}
}

func TestNested_WithoutEngine(t *testing.T) {
	f := fn(t, seed, "driver")
	_, err := f.Call(context.Background(), []byte{0x92, 0x90, 0x80})
	var ge *runtime.GuestError
	if !errors.As(err, &ge) || !strings.Contains(ge.Message, "nested spawn needs an engine") {
		t.Fatalf("err = %v", err)
	}
}

func TestNested_FibAnySlots(t *testing.T) {
	for _, slots := range []int{1, 2, 4} {
		var starts atomic.Int32
		e := dag.New(dag.Config{Slots: slots, Events: func(ev dag.Event) {
			if ev.Kind == dag.EventStart {
				starts.Add(1)
			}
		}})
		if got := execute(t, e, dag.Spawn(fn(t, seed, "fib"), 15))[0]; got != int64(610) {
			t.Fatalf("fib(15) on %d slots = %v", slots, got)
		}
		// fib(15) spawns fib(0) .. fib(14) many times over; each distinct call runs once,
		// even when sibling subtrees want it at the same time.
		if n := starts.Load(); n != 16 {
			t.Fatalf("fib(15) on %d slots ran %d calls, want 16", slots, n)
		}
	}
}

func TestNested_Cycle(t *testing.T) {
	err := dag.New(dag.Config{Slots: 2}).Execute(context.Background(), dag.Spawn(fn(t, seed, "again"), 1))
	if !errors.Is(err, dag.ErrCycle) {
		t.Fatalf("err = %v, want ErrCycle", err)
	}
	if !strings.Contains(err.Error(), "again: task again (key ") || !strings.HasSuffix(err.Error(), "call depends on itself through nested spawn: it is already running further up this graph") {
		t.Fatalf("message %q", err)
	}
}

func TestNested_SpawnBombDefaultLimits(t *testing.T) {
	// With the default limits a spawn bomb stops long before it exhausts memory (about 2 GB of
	// Go guest instances and 7 s here, hence not in -short runs).
	if testing.Short() {
		t.Skip("instantiates about a thousand Go guest instances")
	}
	err := dag.New(dag.Config{}).Execute(context.Background(), dag.Spawn(fn(t, seed, "bomb"), 10))
	if err == nil || !strings.HasSuffix(err.Error(), "execute: limit exceeded: 128 tasks are already waiting on nested executions, the limit (raise it with dag.Config.MaxWaiting)") {
		t.Fatalf("err = %v, want the waiting limit", err)
	}
}

func TestNested_OtherModule(t *testing.T) {
	relay := fn(t, seed, "relay")
	e := dag.New(dag.Config{})
	got := execute(t, e, dag.Spawn(relay, "fixtures", "const"), dag.Spawn(relay, fixtures.SumHex(), "pair"), dag.Spawn(relay, "", "inc", 1))
	want := []any{[]any{int64(1), "two", 3.5}, []any{int64(10), int64(20)}, int64(2)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	err := e.Execute(context.Background(), dag.Spawn(relay, "nope", "x"))
	if err == nil || !strings.HasSuffix(err.Error(), `relay: spawn nope.x: invalid request: no module "nope" is loaded`) {
		t.Fatalf("err = %v", err)
	}
}

// TestNested_BadGuestInput drives the nested-spawn imports with bad arguments from raw WAT:
// each gets its documented code (ABI.md section 2.2) and the host carries on.
func TestNested_BadGuestInput(t *testing.T) {
	m, err := rt.LoadFile(context.Background(), "../testdata/wat/nested.wasm")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		fn   string
		want any
	}{
		{"spawn_oob", int64(-1)},
		{"spawn_badframe", int64(-1)},
		{"spawn_unknown", int64(-1)},
		{"spawn_nout0", int64(-1)},
		{"execute_huge", int64(-1)},
		{"fetch_bogus", int64(-1)},
		{"fetch_early", int64(-3)},
		{"fetch_oob", int64(-1)},
		{"roundtrip", int64(1)},
		{"lasterr", "invalid request: handle 99 is not a handle of this task, which holds none"},
		// spawn errors name the operation first, then the kind of error
		{"lasterr_nout0", "spawn one: invalid request: n_output must be at least 1, got 0"},
		{"lasterr_unknown", `spawn nope: invalid request: module nested: unknown function "nope" (it has: execute_huge, fetch_bogus, fetch_early, fetch_oob, lasterr, lasterr_nout0, lasterr_unknown, one, roundtrip, spawn_badframe, spawn_nout0, spawn_oob, spawn_unknown)`},
	}
	for _, tt := range tests {
		got := execute(t, dag.New(dag.Config{}), dag.Spawn(fn(t, m, tt.fn)))[0]
		if got != tt.want {
			t.Errorf("%s() = %#v, want %#v", tt.fn, got, tt.want)
		}
	}
}

func TestNested_ManyDriversFewSlots(t *testing.T) {
	// 300 drivers on 2 slots: an execution runs at most one task per slot on its own workers,
	// so a blocked driver holds back the next one and the number of drivers blocked at once
	// stays near the number of slots, far below MaxWaiting, instead of reaching 300.
	driverN := fn(t, seed, "driver_n")
	objs := make(dag.Tuple, 300)
	for i := range objs {
		objs[i] = dag.Spawn(driverN, 1+i) // distinct keys; children inc(j) are shared
	}
	e := dag.New(dag.Config{Slots: 2, MaxWaiting: 16})
	got := execute(t, e, objs...)
	for i, v := range got {
		if !reflect.DeepEqual(v, ints(1, 1+i)) {
			t.Fatalf("driver_n(%d) = %v", 1+i, v)
		}
	}
}

// Every call a guest spawns is reported once, whoever runs it: it starts here, or it is
// found stored, also when another execution was running the same call and this one waited
// for it. Drivers fanout(0) … fanout(11) spawn inc(0) … inc(k-1) and a sum each, many of
// them the same calls at the same time: 78 spawns, whatever the timing.
func TestEvents_EverySpawnReportedOnce(t *testing.T) {
	fanout := fn(t, seed, "fanout")
	for round := range 10 {
		var mu sync.Mutex
		nested := 0
		e := dag.New(dag.Config{Events: func(ev dag.Event) {
			if ev.Depth == 1 && ev.Kind != dag.EventFinish && ev.Kind != dag.EventRetry {
				mu.Lock()
				nested++
				mu.Unlock()
			}
		}})
		objs := make([]*dag.Object, 12)
		for i := range objs {
			objs[i] = dag.Spawn(fanout, i)
		}
		if err := e.Execute(context.Background(), objs...); err != nil {
			t.Fatal(err)
		}
		if nested != 78 {
			t.Fatalf("round %d: %d nested calls reported, want 78 (one per spawn)", round, nested)
		}
	}
}
