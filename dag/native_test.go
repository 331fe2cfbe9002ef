package dag_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/internal/nativetest"
	"github.com/mrun-dev/mrun/runtime"
)

// demo loads the native module mrun:demo into the tests' runtime (once: loading it again
// returns the same module).
func demo(t *testing.T) *runtime.Module {
	t.Helper()
	m, err := rt.LoadNative(context.Background(), nativetest.Module())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestNative_Spawn: a host program spawns native functions as it spawns a guest's, outputs
// split and result shapes checked alike.
func TestNative_Spawn(t *testing.T) {
	m := demo(t)
	sum := dag.Spawn(fn(t, m, "add"), 2, 3)
	pair := dag.SpawnN(fn(t, m, "pair"), 2, 7)
	twice := dag.Spawn(fn(t, m, "add"), sum, sum) // a native task on a native task's value
	fromGuest := dag.Spawn(fn(t, m, "add"), dag.Spawn(fn(t, seed, "inc"), 9), 1)
	got := execute(t, dag.New(dag.Config{}), sum, pair[0], pair[1], twice, fromGuest)
	if want := []any{int64(5), int64(7), int64(8), int64(10), int64(11)}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	err := dag.New(dag.Config{}).Execute(context.Background(), dag.SpawnN(fn(t, m, "add"), 2, 1, 2)...)
	if err == nil || !strings.HasSuffix(err.Error(), ", module mrun:demo): result is integer, want an array of 2 for n_output=2") {
		t.Errorf("add with n_output 2: %v", err)
	}
	err = dag.New(dag.Config{}).Execute(context.Background(), dag.Spawn(fn(t, m, "fail"), "no good"))
	var te *dag.TaskError
	var ce *runtime.CallError
	if !errors.As(err, &te) || te.Func != "fail" || te.Module != "mrun:demo" || !errors.As(err, &ce) || !strings.HasSuffix(err.Error(), ", module mrun:demo): no good") {
		t.Errorf("fail: %v", err)
	}
}

// TestNative_FanoutOneSlot: a native function that spawns nested tasks gives its slot back
// while it waits, as a guest does: with one slot, its children still run.
func TestNative_FanoutOneSlot(t *testing.T) {
	m := demo(t)
	var nested atomic.Int32
	e := dag.New(dag.Config{Slots: 1, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart && ev.Depth == 1 {
			nested.Add(1)
		}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a deadlock fails, not hangs
	defer cancel()
	obj := dag.Spawn(fn(t, m, "fanout"), 20)
	if err := e.Execute(ctx, obj); err != nil {
		t.Fatal(err)
	}
	var v int64
	if err := e.Fetch(ctx, obj, &v); err != nil || v != 210 {
		t.Fatalf("fanout(20) = %v, %v; want 210", v, e.Fetch(ctx, obj, &v))
	}
	if n := nested.Load(); n != 20 {
		t.Errorf("%d nested calls ran, want 20", n)
	}
}

// TestNative_GuestSpawnsNative: a guest spawns into a native module by its name, as into any
// module; a native function spawns into a guest's module.
func TestNative_GuestSpawnsNative(t *testing.T) {
	m := demo(t)
	deputy, err := rt.LoadFile(context.Background(), "../testdata/wat/deputy.wasm")
	if err != nil {
		t.Fatal(err)
	}
	relay := fn(t, deputy, "relay")
	got := execute(t, dag.New(dag.Config{Slots: 1}),
		dag.Spawn(relay, "mrun:demo", "add", 2, 40),
		dag.Spawn(relay, "mrun:demo", "fanout", 4),
		dag.Spawn(fn(t, m, "relay"), "seed", "inc", 41),
		dag.Spawn(fn(t, m, "relay"), "deputy", "relay", "mrun:demo", "add", 1, 1))
	if want := []any{int64(42), int64(10), int64(42), int64(2)}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	err = dag.New(dag.Config{}).Execute(context.Background(), dag.Spawn(relay, "mrun:demo", "mul", 1, 2))
	if err == nil || !strings.HasSuffix(err.Error(), `, module deputy): spawn mrun:demo.mul: invalid request: module mrun:demo: unknown function "mul" (it has: add, block, fail, fanout, inc, malformed, pair, panic, relay, sum_all, tensor_sum)`) {
		t.Errorf("spawn of an unknown native function: %v", err)
	}
}

// BenchmarkNativeFanOut10k: BenchmarkFanOut10k's graph (10,000 inc calls and a sum_all over
// them) with native functions, and with the WAT guest beside it in the same run: what the
// engine costs per task when the call itself costs next to nothing.
func BenchmarkNativeFanOut10k(b *testing.B) {
	const n = 10_000
	fanout := func(b *testing.B, m *runtime.Module) {
		inc, sumAll := fn(b, m, "inc"), fn(b, m, "sum_all")
		for b.Loop() {
			objs := make(dag.Tuple, n)
			for i := range objs {
				objs[i] = dag.Spawn(inc, i)
			}
			total := dag.Spawn(sumAll, objs)
			e := dag.New(dag.Config{})
			mustExecute(b, e, total)
			var got int
			if err := e.Fetch(context.Background(), total, &got); err != nil || got != 50_005_000 {
				b.Fatalf("sum = %d, %v", got, err)
			}
		}
		report(b, n+1)
	}
	b.Run("native", func(b *testing.B) {
		m, err := rt.LoadNative(context.Background(), nativetest.Module())
		if err != nil {
			b.Fatal(err)
		}
		fanout(b, m)
	})
	b.Run("mrun-wat", func(b *testing.B) { fanout(b, watGuest()) })
}
