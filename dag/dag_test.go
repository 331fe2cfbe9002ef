package dag_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"go.uber.org/goleak"
)

// Modules shared by the tests: compiling the Go seed guest takes a second or two.
var (
	rt       *runtime.Runtime
	seed     *runtime.Module
	fixtures *runtime.Module
)

func TestMain(m *testing.M) {
	ctx := context.Background()
	var err error
	// Compiled before the tests and benchmarks start: a compilation in the background would
	// take a core from whatever ran first (the runtime's tests cover the interpreter tier).
	if rt, err = runtime.New(ctx, runtime.Config{WaitForCompiler: true}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if seed, err = rt.LoadFile(ctx, "../testdata/seed.wasm"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if fixtures, err = rt.LoadFile(ctx, "../testdata/wat/fixtures.wasm"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	rt.Close(ctx)
	// No goroutine outlives the executions, including cancelled and failed ones.
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func fn(t testing.TB, m *runtime.Module, name string) *runtime.Function {
	t.Helper()
	f, err := m.Func(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func execute(t *testing.T, e *dag.Engine, objs ...*dag.Object) []any {
	t.Helper()
	if err := e.Execute(context.Background(), objs...); err != nil {
		t.Fatal(err)
	}
	vals, err := e.FetchAll(context.Background(), objs...)
	if err != nil {
		t.Fatal(err)
	}
	return vals
}

func TestSeed_Inc(t *testing.T) {
	e := dag.New(dag.Config{})
	obj := dag.Spawn(fn(t, seed, "inc"), 0)
	if s := obj.String(); !strings.HasPrefix(s, "Object <op=inc, key=") || len(s) != len("Object <op=inc, key=>")+32 {
		t.Fatalf("String() = %q", s)
	}
	var got int
	if err := e.Execute(context.Background(), obj); err != nil {
		t.Fatal(err)
	}
	if err := e.Fetch(context.Background(), obj, &got); err != nil || got != 1 {
		t.Fatalf("inc(0) = %d, %v", got, err)
	}
}

func tenIncs(t *testing.T) dag.Tuple {
	inc := fn(t, seed, "inc")
	objs := make(dag.Tuple, 10)
	for i := range objs {
		objs[i] = dag.Spawn(inc, i)
	}
	return objs
}

func TestSeed_Tuple(t *testing.T) {
	got := execute(t, dag.New(dag.Config{}), tenIncs(t)...)
	want := []any{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), int64(9), int64(10)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestSeed_SumAll(t *testing.T) {
	sum := dag.Spawn(fn(t, seed, "sum_all"), tenIncs(t))
	if got := execute(t, dag.New(dag.Config{}), sum); got[0] != int64(55) {
		t.Fatalf("sum_all = %#v, want 55", got[0])
	}
}

func TestSeed_Triage(t *testing.T) {
	sumAll := fn(t, seed, "sum_all")
	parts := dag.SpawnN(fn(t, seed, "triage"), 2, []float64{0.4, 0.7, 0.2, 0.8})
	la, lb := parts[0], parts[1]
	sa, sb := dag.Spawn(sumAll, la), dag.Spawn(sumAll, lb)
	got := execute(t, dag.New(dag.Config{}), sa, sb)
	if want := []any{0.6000000000000001, 1.5}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if i, n := lb.Output(); i != 1 || n != 2 || !strings.HasPrefix(lb.String(), "Object <op=triage, output=1/2, key=") {
		t.Fatalf("output %d/%d %s", i, n, lb)
	}
}

func TestKeys_Deterministic(t *testing.T) {
	inc, sumAll, echo := fn(t, seed, "inc"), fn(t, seed, "sum_all"), fn(t, fixtures, "echo")
	a, b := dag.Spawn(inc, 1), dag.Spawn(inc, int8(1))
	if a.Key() != b.Key() {
		t.Fatal("the same call gave two keys")
	}
	if dag.Spawn(inc, 2).Key() == a.Key() || dag.Spawn(inc, 1.0).Key() == a.Key() {
		t.Fatal("different arguments gave the same key")
	}
	s1 := dag.Spawn(sumAll, []any{a, dag.Spawn(inc, 2)})
	s2 := dag.Spawn(sumAll, []any{b, dag.Spawn(inc, 2)})
	if s1.Key() != s2.Key() {
		t.Fatal("dependents of equal calls got different keys")
	}
	m1 := dag.Call{Func: echo, Kwargs: map[string]any{"x": 1, "y": map[string]any{"b": 1, "a": 2}}}.Spawn()[0]
	m2 := dag.Call{Func: echo, Kwargs: map[string]any{"y": map[string]int{"a": 2, "b": 1}, "x": int64(1)}}.Spawn()[0]
	if m1.Key() != m2.Key() {
		t.Fatal("map order or integer type changed the key")
	}
	// The fixtures module never changes, so this key is the same in every process and on
	// every machine (ABI.md section 6).
	if got := dag.Spawn(echo, 0).Key().String(); got != pinnedEchoKey {
		t.Fatalf("echo(0) key = %s, want %s", got, pinnedEchoKey)
	}
}

const pinnedEchoKey = "4ac41c9be648e6e5f7b5f53be595ab9f" // computed with Python from ABI.md section 6

func TestDependency_NestedInMapInList(t *testing.T) {
	inc, identity := fn(t, seed, "inc"), fn(t, seed, "identity")
	obj := dag.Spawn(identity, []any{map[string]any{"a": dag.Spawn(inc, 1), "b": []any{dag.Spawn(inc, 2)}}, "plain"})
	got := execute(t, dag.New(dag.Config{}), obj)[0]
	want := []any{map[string]any{"a": int64(2), "b": []any{int64(3)}}, "plain"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v, want %#v", got, want)
	}
}

func TestDependency_InStructAndKwargs(t *testing.T) {
	type point struct {
		X *dag.Object `msgpack:"x"`
		Y int         `msgpack:"y"`
	}
	inc, echo := fn(t, seed, "inc"), fn(t, fixtures, "echo")
	obj := dag.Call{Func: echo, Args: []any{point{X: dag.Spawn(inc, 41), Y: 1}}, Kwargs: map[string]any{"k": dag.Spawn(inc, 0)}}.Spawn()[0]
	got := execute(t, dag.New(dag.Config{}), obj)[0]
	want := []any{[]any{map[string]any{"x": int64(42), "y": int64(1)}}, map[string]any{"k": int64(1)}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("frame the guest saw = %#v, want %#v", got, want)
	}
}

func TestSeed_Kwargs(t *testing.T) {
	obj := dag.Call{Func: fn(t, seed, "pow"), Args: []any{2}, Kwargs: map[string]any{"exp": 10}}.Spawn()[0]
	if got := execute(t, dag.New(dag.Config{}), obj)[0]; got != 1024.0 {
		t.Fatalf("pow(2, exp=10) = %#v", got)
	}
}

func TestFailure_PropagatesToDependentsOnly(t *testing.T) {
	inc, sumAll, fail := fn(t, seed, "inc"), fn(t, seed, "sum_all"), fn(t, seed, "fail")
	bad := dag.Spawn(fail, "disk on fire")
	dependent := dag.Spawn(sumAll, []any{dag.Spawn(inc, 1), bad})
	grand := dag.Spawn(inc, dependent)
	independent := dag.Spawn(sumAll, []any{dag.Spawn(inc, 2), dag.Spawn(inc, 3)})

	e := dag.New(dag.Config{Slots: 2})
	err := e.Execute(context.Background(), grand, independent)
	if err == nil {
		t.Fatal("execute succeeded")
	}
	var te *dag.TaskError
	if !errors.As(err, &te) || te.Func != "inc" || te.Key != grand.Key() {
		t.Fatalf("err = %v, want the TaskError of grand", err)
	}
	if !errors.Is(err, dag.ErrDependencyFailed) {
		t.Fatalf("err does not match ErrDependencyFailed: %v", err)
	}
	var ge *runtime.GuestError
	if !errors.As(err, &ge) || ge.Message != "disk on fire" {
		t.Fatalf("guest error = %v, want verbatim %q", ge, "disk on fire")
	}
	want := fmt.Sprintf("task inc (key %s, module seed): dependency failed: task sum_all (key %s, module seed): dependency failed: task fail (key %s, module seed): disk on fire",
		grand.Key(), dependent.Key(), bad.Key())
	if err.Error() != want {
		t.Fatalf("message\n got %s\nwant %s", err, want)
	}
	var v int
	if err := e.Fetch(context.Background(), independent, &v); err != nil || v != 7 {
		t.Fatalf("independent = %d, %v; want 7", v, err)
	}
	if err := e.Fetch(context.Background(), bad, &v); !errors.As(err, &te) || te.Key != bad.Key() {
		t.Fatalf("Fetch of the failed object: %v", err)
	}
}

func TestFailure_Trap(t *testing.T) {
	trap := dag.Spawn(fn(t, seed, "trap"))
	err := dag.New(dag.Config{}).Execute(context.Background(), trap)
	var te *dag.TaskError
	if !errors.Is(err, runtime.ErrTrap) || !errors.As(err, &te) || te.Func != "trap" {
		t.Fatalf("err = %v", err)
	}
	// The module still works afterwards.
	if got := execute(t, dag.New(dag.Config{}), dag.Spawn(fn(t, seed, "inc"), 9))[0]; got != int64(10) {
		t.Fatalf("inc(9) after a trap = %v", got)
	}
}

func TestFailure_SplitShape(t *testing.T) {
	outs := dag.SpawnN(fn(t, fixtures, "triple"), 2)
	err := dag.New(dag.Config{}).Execute(context.Background(), outs...)
	if err == nil || !strings.HasSuffix(err.Error(), "result is array of 3, want an array of 2 for n_output=2") {
		t.Fatalf("err = %v", err)
	}
}

func TestSpawn_Errors(t *testing.T) {
	e := dag.New(dag.Config{})
	inc := fn(t, seed, "inc")
	tests := []struct {
		obj  *dag.Object
		want string
	}{
		{dag.Spawn(nil, 1), "cannot spawn <nil>: no function"},
		{dag.Spawn(inc, make(chan int)), "cannot spawn inc: argument 0: msgpack: Encode(unsupported chan int)"},
		{dag.Spawn(inc, []any{(*dag.Object)(nil)}), "cannot spawn inc: argument 0: nil *Object"},
		{dag.Call{Func: inc, NOutput: -1}.Spawn()[0], "cannot spawn inc: n_output must be at least 1, got -1"},
	}
	for _, tt := range tests {
		err := e.Execute(context.Background(), tt.obj)
		if !errors.Is(err, dag.ErrSpawn) || err.Error() != tt.want {
			t.Errorf("err = %v, want %s", err, tt.want)
		}
	}
	// A spawn that depends on a broken one is broken too, and says why.
	err := e.Execute(context.Background(), dag.Spawn(inc, dag.Spawn(inc, make(chan int))))
	if want := "cannot spawn inc: argument depends on an Object that could not be spawned: cannot spawn inc: argument 0: msgpack: Encode(unsupported chan int)"; err == nil || err.Error() != want {
		t.Errorf("err = %v", err)
	}
}

func TestFetch_NotExecuted(t *testing.T) {
	var v int
	err := dag.New(dag.Config{}).Fetch(context.Background(), dag.Spawn(fn(t, seed, "inc"), 100), &v)
	if !errors.Is(err, dag.ErrNotExecuted) {
		t.Fatalf("err = %v", err)
	}
}

func TestExecute_ReusesStoredValues(t *testing.T) {
	var started atomic.Int32
	e := dag.New(dag.Config{Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart {
			started.Add(1)
		}
	}})
	inc := fn(t, seed, "inc")
	execute(t, e, dag.Spawn(inc, 1), dag.Spawn(inc, 1)) // one call: same key
	execute(t, e, dag.Spawn(inc, 1))                    // already stored
	if n := started.Load(); n != 1 {
		t.Fatalf("%d calls started, want 1", n)
	}
	e.Forget(dag.Spawn(inc, 1))
	execute(t, e, dag.Spawn(inc, 1))
	if n := started.Load(); n != 2 {
		t.Fatalf("%d calls started after Forget, want 2", n)
	}
}

func TestExecute_Parallel(t *testing.T) {
	var maxPar atomic.Int32
	e := dag.New(dag.Config{Slots: 4, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart {
			for {
				cur := maxPar.Load()
				if int32(ev.Parallel) <= cur || maxPar.CompareAndSwap(cur, int32(ev.Parallel)) {
					return
				}
			}
		}
	}})
	burn := fn(t, seed, "burn")
	objs := make(dag.Tuple, 8)
	for i := range objs {
		objs[i] = dag.Spawn(burn, 2_000_000+i)
	}
	execute(t, e, objs...)
	if got := maxPar.Load(); got < 2 || got > 4 {
		t.Fatalf("at most %d calls ran at once with 4 slots and 8 independent calls", got)
	}
}

func TestExecute_Cancel(t *testing.T) {
	loop, inc := fn(t, fixtures, "loop"), fn(t, seed, "inc")
	var started atomic.Int32
	e := dag.New(dag.Config{Slots: 2, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart {
			started.Add(1)
		}
	}})
	objs := dag.Tuple{dag.Spawn(loop, 1), dag.Spawn(loop, 2)}
	for i := range 50 { // queued behind the loops: must never start
		objs = append(objs, dag.Spawn(inc, 1000+i))
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	err := e.Execute(ctx, objs...)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, runtime.ErrInterrupted) {
		t.Fatalf("running guests were not interrupted: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("execute returned %v after cancel", d)
	}
	if n := started.Load(); n != 2 {
		t.Fatalf("%d calls started, want the 2 loops only", n)
	}
}

func TestFanOut10k(t *testing.T) {
	inc, sumAll := fn(t, seed, "inc"), fn(t, seed, "sum_all")
	objs := make(dag.Tuple, 10_000)
	for i := range objs {
		objs[i] = dag.Spawn(inc, i)
	}
	total := dag.Spawn(sumAll, objs)
	if got := execute(t, dag.New(dag.Config{}), total)[0]; got != int64(50_005_000) {
		t.Fatalf("sum = %v, want 50005000", got)
	}
}

func TestChain(t *testing.T) {
	inc := fn(t, seed, "inc")
	obj := dag.Spawn(inc, 0)
	for range 999 {
		obj = dag.Spawn(inc, obj)
	}
	if got := execute(t, dag.New(dag.Config{Slots: 2}), obj)[0]; got != int64(1000) {
		t.Fatalf("chain = %v", got)
	}
}
