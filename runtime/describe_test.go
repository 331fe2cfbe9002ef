package runtime_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/runtime"
)

func TestModule_Describe(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	ctx := context.Background()
	text, err := load(t, rt, "describe").Describe(ctx)
	if want := "inc(x: int) -> int  -- Adds one.\nspin() -> none  impure  -- Never returns.\n"; err != nil || string(text) != want {
		t.Fatalf("Describe = %q, %v; want %q", text, err, want)
	}

	_, err = load(t, rt, "abi_example").Describe(ctx)
	if want := "module abi_example: no mrun_describe export: the module must export mrun_describe () -> i64 to describe its functions"; !errors.Is(err, runtime.ErrNoDescribe) || err.Error() != want {
		t.Fatalf("Describe = %v, want %s", err, want)
	}

	// A guest that never returns is interrupted when ctx ends.
	cause := errors.New("time is up")
	dctx, cancel := context.WithTimeoutCause(ctx, 50*time.Millisecond, cause)
	defer cancel()
	_, err = load(t, rt, "describeloop").Describe(dctx)
	if want := "module describeloop: mrun_describe: interrupted: time is up"; !errors.Is(err, runtime.ErrInterrupted) || err.Error() != want {
		t.Fatalf("Describe = %v, want %s", err, want)
	}
}
