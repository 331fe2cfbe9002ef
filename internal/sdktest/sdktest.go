// Package sdktest holds checks that the tests of every guest SDK run the same way against
// their own modules. It is not part of any binary.
package sdktest

import (
	"context"
	"sync"
	"testing"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/mrun-dev/mrun/tensor"
)

// Driver2Tensor checks a module's driver2_tensor(seed): Mars's rand(seed, 10, 10).sum()
// inside a spawned function. Run through a real engine, driver2_tensor(7) starts exactly one
// driver2_tensor, one eval of mrun:tensor nested under it and one reduce (a 10 × 10 tensor is
// one chunk), and returns the float64 the host's eval gives for tensor.Rand(7, 10, 10).Sum;
// driver2_tensor(8) returns another number. eval is function eval of mrun:tensor, registered
// in the runtime that loaded driver.
func Driver2Tensor(ctx context.Context, t *testing.T, driver, eval *runtime.Function) {
	t.Helper()
	var mu sync.Mutex
	starts := map[string]int{}
	e := dag.New(dag.Config{Slots: 2, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart {
			mu.Lock()
			starts[ev.Func.Name()]++
			mu.Unlock()
		}
	}})
	fetch := func(o *dag.Object) float64 {
		t.Helper()
		if err := e.Execute(ctx, o); err != nil {
			t.Fatal(err)
		}
		var v float64
		if err := e.Fetch(ctx, o, &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	got := fetch(dag.Spawn(driver, 7))
	mu.Lock()
	if len(starts) != 3 || starts["driver2_tensor"] != 1 || starts["eval"] != 1 || starts["reduce"] != 1 {
		t.Errorf("tasks started: %v, want driver2_tensor, eval and one reduce", starts)
	}
	mu.Unlock()
	want := fetch(dag.Spawn(eval, tensor.Rand(7, 10, 10).Sum(nil)))
	if got != want || got < 30 || got > 70 {
		t.Errorf("driver2_tensor(7) = %v, want %v (the host's sum of the same 100 numbers)", got, want)
	}
	if other := fetch(dag.Spawn(driver, 8)); other == got {
		t.Errorf("driver2_tensor(8) = driver2_tensor(7) = %v: the seed is not passed on", got)
	}
}
