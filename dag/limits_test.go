package dag_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

func TestRetries(t *testing.T) {
	var retries atomic.Int32
	e := dag.New(dag.Config{Slots: 1, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventRetry {
			retries.Add(1)
		}
	}})
	// flaky fails twice on an instance, then returns 3: two retries are enough.
	flakyMod, err := rt.LoadFile(context.Background(), "../testdata/wat/flaky.wasm")
	if err != nil {
		t.Fatal(err)
	}
	ok := dag.Call{Func: fn(t, flakyMod, "flaky"), Retries: 2}.Spawn()[0]
	if got := execute(t, e, ok)[0]; got != int64(3) {
		t.Fatalf("flaky with 2 retries = %v", got)
	}
	if retries.Load() != 2 {
		t.Fatalf("%d retry events, want 2", retries.Load())
	}

	// A trap is retried on a fresh instance each time, and the final error counts attempts.
	trap := dag.Call{Func: fn(t, fixtures, "trap"), Retries: 2}.Spawn()[0]
	err = e.Execute(context.Background(), trap)
	var re *dag.RetryError
	if !errors.As(err, &re) || re.Attempts != 3 || !errors.Is(err, runtime.ErrTrap) {
		t.Fatalf("err = %v", err)
	}
	if !strings.HasSuffix(err.Error(), "): failed 3 attempts, last: trap: wasm error: unreachable") {
		t.Fatalf("message %q", err)
	}

	// The engine's default applies when the call sets none; a negative count means never.
	e2 := dag.New(dag.Config{Retries: 5})
	if err := e2.Execute(context.Background(), dag.Call{Func: fn(t, fixtures, "fail"), Retries: -1}.Spawn()[0]); errors.As(err, &re) {
		t.Fatalf("Retries -1 retried: %v", err)
	}
	err = e2.Execute(context.Background(), dag.Spawn(fn(t, fixtures, "fail")))
	if !errors.As(err, &re) || re.Attempts != 6 {
		t.Fatalf("engine default: err = %v", err)
	}
}

func TestTimeout(t *testing.T) {
	loop := dag.Call{Func: fn(t, fixtures, "loop"), Timeout: 50 * time.Millisecond}.Spawn()[0]
	other := dag.Spawn(fn(t, fixtures, "const"))
	e := dag.New(dag.Config{})
	start := time.Now()
	err := e.Execute(context.Background(), loop, other)
	var te *dag.TimeoutError
	if !errors.As(err, &te) || te.Timeout != 50*time.Millisecond || !errors.Is(err, runtime.ErrInterrupted) {
		t.Fatalf("err = %v", err)
	}
	if !strings.HasSuffix(err.Error(), "interrupted: task timeout of 50ms exceeded (raise it with dag.Call.Timeout or dag.Config.Timeout)") {
		t.Fatalf("message %q", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatal("the timeout did not interrupt the loop")
	}
	if _, err := e.Value(context.Background(), other); err != nil {
		t.Fatalf("the other task: %v", err)
	}

	// Timeouts are retried: each attempt gets the full timeout.
	loop2 := dag.Call{Func: fn(t, fixtures, "loop"), Args: []any{2}, Timeout: 20 * time.Millisecond, Retries: 1}.Spawn()[0]
	err = dag.New(dag.Config{}).Execute(context.Background(), loop2)
	var re *dag.RetryError
	if !errors.As(err, &re) || re.Attempts != 2 || !errors.As(err, &te) {
		t.Fatalf("err = %v", err)
	}

	// The engine-wide default.
	err = dag.New(dag.Config{Timeout: 30 * time.Millisecond}).Execute(context.Background(), dag.Spawn(fn(t, fixtures, "loop"), 3))
	if !errors.As(err, &te) || te.Timeout != 30*time.Millisecond {
		t.Fatalf("err = %v", err)
	}
}

// TestDefaultMaxTasks: the default task budget is one task per TaskMemory bytes of the machine's
// memory budget, never below 100,000, so that a 100,000-child fan-out runs with defaults.
func TestDefaultMaxTasks(t *testing.T) {
	want := max(100_000, int(runtime.DefaultMemoryBudget()/dag.TaskMemory))
	if got := dag.DefaultMaxTasks(); got != want || got < 100_000 {
		t.Fatalf("DefaultMaxTasks() = %d, want %d (and at least 100,000)", got, want)
	}
}
