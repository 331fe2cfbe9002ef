package dag_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// Many executions share keys on one engine, each releasing its values (and some forgetting
// them) as soon as it has fetched them: no execution ever loses a value it holds. Executions
// that skipped stored values without holding them used to fail here with "value of dependency
// … is no longer in the store" or ErrNotExecuted.
func TestRun_ConcurrentReleaseAndForget(t *testing.T) {
	inc, sumAll := fn(t, seed, "inc"), fn(t, seed, "sum_all")
	e := dag.New(dag.Config{})
	requests, incs := 200, 100
	if testing.Short() {
		requests = 60
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for r := range requests {
		wg.Go(func() {
			objs := make([]*dag.Object, incs)
			for i := range objs {
				objs[i] = dag.Spawn(inc, i+r%3) // requests share most of their keys
			}
			total := dag.Spawn(sumAll, objs)
			x, err := e.Run(ctx, total, objs[7])
			defer x.Release()
			if err != nil {
				errs <- fmt.Errorf("request %d: %w", r, err)
				return
			}
			got, err := dag.Get[int64](ctx, x, total)
			want := int64(incs*(incs+1)/2 + incs*(r%3))
			if err != nil || got != want {
				errs <- fmt.Errorf("request %d: sum = %d, %v; want %d", r, got, err, want)
				return
			}
			if v, err := dag.Get[int64](ctx, x, objs[7]); err != nil || v != int64(8+r%3) {
				errs <- fmt.Errorf("request %d: inc(%d) = %d, %v from the execution", r, 7+r%3, v, err)
			}
			if r%2 == 0 {
				e.Forget(objs...) // while other executions hold the same values
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// An execution's values go once it is released: with a budget of zero bytes for unpinned
// values, nothing stays behind, nested spawns' values included, and the engine reports the
// Objects as not executed. Before release, every one of them is there.
func TestRun_ReleaseLetsGo(t *testing.T) {
	ctx := context.Background()
	e := dag.New(dag.Config{StoreBudget: 1})
	driver := dag.Spawn(fn(t, seed, "driver"))
	x, err := e.Run(ctx, driver)
	if err != nil {
		t.Fatal(err)
	}
	got, err := dag.Get[[]int64](ctx, x, driver)
	if err != nil || len(got) != 10 || got[0] != 1 {
		t.Fatalf("driver = %v, %v", got, err)
	}
	child := dag.Spawn(fn(t, seed, "inc"), 0) // one of driver's nested spawns
	if v, err := dag.Get[int64](ctx, e, child); err != nil || v != 1 {
		t.Fatalf("a nested spawn's value while the execution holds it: %d, %v", v, err)
	}
	x.Release()
	x.Release() // idempotent
	for _, o := range []*dag.Object{driver, child} {
		if _, err := e.Value(ctx, o); !errors.Is(err, dag.ErrNotExecuted) {
			t.Errorf("after Release, Value(%s) = %v, want ErrNotExecuted", o, err)
		}
		if _, err := x.Value(ctx, o); !errors.Is(err, dag.ErrNotExecuted) {
			t.Errorf("after Release, the execution's Value(%s) = %v, want ErrNotExecuted", o, err)
		}
	}
	// Executing again computes the values again.
	if err := e.Execute(ctx, driver); err != nil {
		t.Fatal(err)
	}
}

// A failure record lives as long as the values would: with the Execution that holds it, and
// with Execute until Forget. Forgotten failures used to stay in the engine forever.
func TestFailureRecords_Lifetime(t *testing.T) {
	ctx := context.Background()
	e := dag.New(dag.Config{})
	bad := dag.Spawn(fn(t, seed, "fail"), "boom")
	x, err := e.Run(ctx, bad)
	if err == nil {
		t.Fatal("fail succeeded")
	}
	if _, err := x.Value(ctx, bad); !strings.HasSuffix(fmt.Sprint(err), ": boom") {
		t.Fatalf("the execution's Value = %v, want the guest's error", err)
	}
	x.Release()
	if _, err := e.Value(ctx, bad); !errors.Is(err, dag.ErrNotExecuted) {
		t.Fatalf("after Release: %v, want ErrNotExecuted", err)
	}
	if err := e.Execute(ctx, bad); err == nil {
		t.Fatal("fail succeeded")
	}
	if _, err := e.Value(ctx, bad); !strings.HasSuffix(fmt.Sprint(err), ": boom") {
		t.Fatalf("after Execute: %v, want the guest's error", err)
	}
	e.Forget(bad)
	if _, err := e.Value(ctx, bad); !errors.Is(err, dag.ErrNotExecuted) {
		t.Fatalf("after Forget: %v, want ErrNotExecuted", err)
	}
}

// Three spawns of an impure call are three tasks; the same spawns without Impure are one.
func TestImpure_Declared(t *testing.T) {
	ctx := context.Background()
	clock := fn(t, seed, "clock")
	e := dag.New(dag.Config{})
	var impure, pure dag.Tuple
	for range 3 {
		impure = append(impure, dag.Call{Func: clock, Impure: true}.Spawn()...)
		pure = append(pure, dag.Spawn(clock))
	}
	if impure[0].Key() == impure[1].Key() || pure[0].Key() != pure[1].Key() {
		t.Fatalf("keys: impure %v, pure %v", impure.Keys(), pure.Keys())
	}
	x, err := e.Run(ctx, append(impure, pure...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Release()
	vals, err := dag.FetchAll(ctx, x, append(impure, pure...)...)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, v := range vals[:3] {
		seen[fmt.Sprint(v)] = true
	}
	if len(seen) != 3 {
		t.Errorf("impure spawns gave %v, want three different values", vals[:3])
	}
	if fmt.Sprint(vals[3]) != fmt.Sprint(vals[4]) {
		t.Errorf("identical pure spawns gave %v and %v", vals[3], vals[4])
	}
}

// memCache is a Cache in a map, counting writes.
type memCache struct {
	mu   sync.Mutex
	m    map[abi.Key][]byte
	puts int
}

func (c *memCache) Get(k abi.Key) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

func (c *memCache) Put(k abi.Key, v []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[abi.Key][]byte{}
	}
	c.m[k] = v
	c.puts++
}

// A call that read the wall clock is not shared with a later execution, is never written to
// the persistent cache, and neither is a call that used its value; its Finish event says so.
func TestImpure_Detected(t *testing.T) {
	ctx := context.Background()
	cache := &memCache{}
	var mu sync.Mutex
	finished := map[string]dag.Event{}
	e := dag.New(dag.Config{Cache: cache, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventFinish {
			mu.Lock()
			finished[ev.Func.Name()] = ev
			mu.Unlock()
		}
	}})
	clock := dag.Spawn(fn(t, seed, "clock"))
	uses := dag.Spawn(fn(t, seed, "identity"), clock)
	first := runValues(t, e, clock, uses)
	if ev := finished["clock"]; !ev.Impure || ev.Effects&runtime.ReadClock == 0 {
		t.Fatalf("clock's finish event: impure %v, effects %v", ev.Impure, ev.Effects)
	}
	if ev := finished["identity"]; !ev.Impure || ev.Effects != 0 {
		t.Fatalf("identity's finish event: impure %v, effects %v", ev.Impure, ev.Effects)
	}
	if cache.puts != 0 {
		t.Fatalf("%d values of impure calls written to the cache", cache.puts)
	}
	second := runValues(t, e, clock, uses)
	if first[0] == second[0] {
		t.Fatalf("a later execution got the first's clock reading %v", first[0])
	}
	if first[1] != first[0] || second[1] != second[0] {
		t.Fatalf("identity(clock) differs from clock within an execution: %v, %v", first, second)
	}
	// Execute keeps the impure value for Engine.Value until Forget.
	if err := e.Execute(ctx, clock); err != nil {
		t.Fatal(err)
	}
	a, _ := dag.Get[[]int64](ctx, e, clock)
	b, _ := dag.Get[[]int64](ctx, e, clock)
	if len(a) != 2 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("Execute's impure value: %v then %v", a, b)
	}
}

func runValues(t *testing.T, e *dag.Engine, objs ...*dag.Object) []string {
	t.Helper()
	ctx := context.Background()
	x, err := e.Run(ctx, objs...)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Release()
	vals, err := dag.FetchAll(ctx, x, objs...)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = fmt.Sprint(v)
	}
	return out
}

// A later engine with the same persistent cache gets a graph's requested values without
// running anything, its inner calls included.
func TestCache_SecondRunRunsNothing(t *testing.T) {
	cache := &memCache{}
	inc, sumAll := fn(t, seed, "inc"), fn(t, seed, "sum_all")
	graph := func() *dag.Object {
		objs := make([]*dag.Object, 50)
		for i := range objs {
			objs[i] = dag.Spawn(inc, i)
		}
		return dag.Spawn(sumAll, objs)
	}
	kinds := func() (map[dag.EventKind]int, *dag.Engine) {
		var mu sync.Mutex
		n := map[dag.EventKind]int{}
		// Intermediate values are cached only when they took an hour: none here.
		return n, dag.New(dag.Config{Cache: cache, CacheMinDuration: time.Hour, Events: func(ev dag.Event) {
			mu.Lock()
			n[ev.Kind]++
			mu.Unlock()
		}})
	}
	first, e1 := kinds()
	total := graph()
	if got := execute(t, e1, total)[0]; got != int64(1275) {
		t.Fatalf("sum = %v", got)
	}
	if first[dag.EventStart] != 51 || cache.puts != 1 {
		t.Fatalf("first run: %d calls, %d cache writes; want 51 and 1 (only the requested value)", first[dag.EventStart], cache.puts)
	}
	second, e2 := kinds()
	if got := execute(t, e2, graph())[0]; got != int64(1275) {
		t.Fatalf("sum from the cache = %v", got)
	}
	if second[dag.EventStart] != 0 || second[dag.EventCached] != 1 {
		t.Fatalf("second run: %d calls, %d cache hits; want 0 and 1", second[dag.EventStart], second[dag.EventCached])
	}
	// With a negative CacheMinDuration, every pure value is written.
	all := &memCache{}
	execute(t, dag.New(dag.Config{Cache: all, CacheMinDuration: -1}), graph())
	if all.puts != 51 {
		t.Fatalf("CacheMinDuration -1: %d cache writes, want 51", all.puts)
	}
	// A damaged entry is a miss: the call runs.
	cache.m[total.Key()] = []byte{0xc1}
	third, e3 := kinds()
	if got := execute(t, e3, graph())[0]; got != int64(1275) || third[dag.EventStart] != 51 {
		t.Fatalf("with a damaged entry: sum %v after %d calls", got, third[dag.EventStart])
	}
}

// Keyword arguments can be given inline with dag.Kwargs, and Get decodes into a type.
func TestKwargsAndGet(t *testing.T) {
	ctx := context.Background()
	pow := fn(t, seed, "pow")
	e := dag.New(dag.Config{})
	o := dag.Spawn(pow, 2, dag.Kwargs{"exp": 10})
	if o.Key() != (dag.Call{Func: pow, Args: []any{2}, Kwargs: map[string]any{"exp": 10}}.Spawn()[0]).Key() {
		t.Fatal("dag.Kwargs gives another key than Call.Kwargs")
	}
	if err := e.Execute(ctx, o); err != nil {
		t.Fatal(err)
	}
	if v, err := dag.Get[float64](ctx, e, o); err != nil || v != 1024 {
		t.Fatalf("Get[float64] = %v, %v", v, err)
	}
	if _, err := dag.Get[string](ctx, e, o); err == nil {
		t.Fatal("Get[string] of a float succeeded")
	}
	bad := dag.Spawn(pow, dag.Kwargs{"exp": 1}, 2)
	if err := bad.Err(); err == nil || !strings.Contains(err.Error(), "argument 0: dag.Kwargs must be the last argument") {
		t.Fatalf("Kwargs first: %v", err)
	}
}

// RootCause finds the call that failed first through dependency failures.
func TestRootCause(t *testing.T) {
	ctx := context.Background()
	bad := dag.Spawn(fn(t, seed, "fail"), "disk on fire")
	top := dag.Spawn(fn(t, seed, "inc"), dag.Spawn(fn(t, seed, "sum_all"), []any{bad}))
	err := dag.New(dag.Config{}).Execute(ctx, top)
	root := dag.RootCause(err)
	if root == nil || root.Key != bad.Key() || root.Func != "fail" {
		t.Fatalf("RootCause(%v) = %v", err, root)
	}
	if dag.RootCause(errors.New("plain")) != nil {
		t.Fatal("RootCause of an error without tasks is not nil")
	}
}

// Events carry the execution they belong to and the label of its context, nested calls too.
func TestEvents_ExecutionAndLabel(t *testing.T) {
	var mu sync.Mutex
	byLabel := map[string]map[uint64]int{}
	e := dag.New(dag.Config{Events: func(ev dag.Event) {
		if ev.Kind == dag.EventFinish {
			mu.Lock()
			if byLabel[ev.Label] == nil {
				byLabel[ev.Label] = map[uint64]int{}
			}
			byLabel[ev.Label][ev.Execution]++
			mu.Unlock()
		}
	}})
	x, err := e.Run(dag.WithLabel(context.Background(), "req-1"), dag.Spawn(fn(t, seed, "driver_n"), 3))
	if err != nil {
		t.Fatal(err)
	}
	x.Release()
	if got := byLabel["req-1"][x.ID()]; got != 4 || len(byLabel) != 1 {
		t.Fatalf("finish events by label and execution: %v, want 4 under req-1 and execution %d", byLabel, x.ID())
	}
}
