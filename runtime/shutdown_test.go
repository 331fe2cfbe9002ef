package runtime_test

import (
	"context"
	"errors"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/runtime"
)

// TestClose_InterruptsRunningCalls: closing a runtime does not wait for a guest that never
// returns, even one called without a cancellable context; the call fails and Close returns.
func TestClose_InterruptsRunningCalls(t *testing.T) {
	rt, err := runtime.New(context.Background(), runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	loop := fn(t, load(t, rt, "fixtures"), "loop")
	done := make(chan error, 1)
	go func() {
		_, err := loop.Call(context.Background(), nilFrame)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the guest start looping
	closed := make(chan error, 1)
	go func() { closed <- rt.Close(context.Background()) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waited for a looping guest")
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the looping call succeeded")
		}
		var ce *runtime.CallError
		if !errors.As(err, &ce) {
			t.Fatalf("err = %v, want a *CallError", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the looping call did not end after Close")
	}
	if _, err := loop.Call(context.Background(), nilFrame); err == nil {
		t.Fatal("a call on a closed runtime succeeded")
	}
}

// TestHostile_MemoryReturnsToBaseline: instances discarded after traps and memory bombs give
// their memory back; the host's heap does not grow with the number of hostile calls.
func TestHostile_MemoryReturnsToBaseline(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MemoryLimitPages: 256}) // 16 MiB per instance
	m := load(t, rt, "hostile")
	bomb, trap := fn(t, m, "membomb"), fn(t, m, "membomb_trap")
	heap := func() uint64 {
		goruntime.GC()
		goruntime.GC()
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	bomb.Call(context.Background(), nilFrame) // warm up: pools, compiled code
	trap.Call(context.Background(), nilFrame)
	base := heap()
	for range 40 { // 40 × 16 MiB would be 640 MiB if nothing were released
		if _, err := bomb.Call(context.Background(), nilFrame); err != nil {
			t.Fatal(err)
		}
		if _, err := trap.Call(context.Background(), nilFrame); !errors.Is(err, runtime.ErrTrap) {
			t.Fatalf("membomb_trap: %v", err)
		}
	}
	if after := heap(); after > base+64<<20 {
		t.Fatalf("heap in use grew from %d MiB to %d MiB over 80 hostile calls", base>>20, after>>20)
	}
}
