package runtime_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/runtime"
)

// TestResult_Usage: a call made with WithUsage reports how long its guest ran, and every call
// the size its instance's memory had reached; a failed call reports the same in its
// *CallError.
func TestResult_Usage(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MemoryLimitPages: 33})
	conf := load(t, rt, "conformance")
	ctx := runtime.WithUsage(context.Background())
	res, err := fn(t, conf, "inc").Call(ctx, frame(t, []any{41}, nil))
	if err != nil {
		t.Fatal(err)
	}
	// The conformance module declares 2 pages, and inc grows none.
	if res.Guest <= 0 || res.Memory != 2<<16 {
		t.Errorf("inc: Guest %v, Memory %d; want > 0 and %d", res.Guest, res.Memory, 2<<16)
	}
	// Without WithUsage nothing reads the clock.
	res, err = fn(t, conf, "inc").Call(context.Background(), frame(t, []any{41}, nil))
	if err != nil || res.Guest != 0 || res.Memory != 2<<16 {
		t.Errorf("inc without WithUsage: Guest %v, Memory %d, %v; want 0 and %d", res.Guest, res.Memory, err, 2<<16)
	}

	bomb := fn(t, load(t, rt, "membomb"), "grow_untouched")
	_, err = bomb.Call(ctx, frame(t, nil, nil))
	var ce *runtime.CallError
	if !errors.As(err, &ce) {
		t.Fatalf("grow_untouched: got %v, want a *runtime.CallError", err)
	}
	// One page, grown 16 pages at a time up to the limit of 33.
	if ce.Guest <= 0 || ce.Memory != 33<<16 {
		t.Errorf("grow_untouched: Guest %v, Memory %d; want > 0 and %d", ce.Guest, ce.Memory, 33<<16)
	}
}

// sleepyNested is a Nested whose Execute blocks for wait, as a slow child would.
type sleepyNested struct{ wait time.Duration }

func (n sleepyNested) Spawn(context.Context, string, string, []byte, int, runtime.SpawnOptions) (uint32, error) {
	return 1, nil
}

func (n sleepyNested) Execute(context.Context, []uint32) (bool, error) {
	time.Sleep(n.wait)
	return true, nil
}

func (n sleepyNested) Fetch(context.Context, uint32) ([]byte, error) { return []byte{0x01}, nil }
func (n sleepyNested) Cause(uint32) error                            { return nil }

// TestResult_GuestLeavesOutNestedWaits: the time a guest spends blocked in a nested execute
// is not guest time.
func TestResult_GuestLeavesOutNestedWaits(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	driver := fn(t, load(t, rt, "conformance"), "driver")
	const wait = 300 * time.Millisecond
	ctx := runtime.WithNested(runtime.WithUsage(context.Background()), sleepyNested{wait: wait})
	start := time.Now()
	res, err := driver.Call(ctx, frame(t, nil, nil))
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if took < wait {
		t.Fatalf("the call took %v, less than the execute's %v", took, wait)
	}
	// The driver spawns ten tasks and fetches ten values around the wait: microseconds of
	// its own. Half the wait is a margin for a loaded machine.
	if res.Guest <= 0 || res.Guest >= wait/2 {
		t.Errorf("Guest = %v, want > 0 and well under the %v the guest waited in execute", res.Guest, wait)
	}
}
