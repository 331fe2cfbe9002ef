package runtime

import (
	"context"
	"errors"
	"time"

	"github.com/tetratelabs/wazero/sys"
)

// sleep implements the guest's sleep (WASI poll_oneoff with a clock subscription, which Go's
// time.Sleep and the C and Rust sleeps compile to) for instances with real clocks. It waits
// for ns nanoseconds or until the running call's context ends, whichever is first. wazero's
// own sleep is a time.Sleep that nothing cuts short, and its interruption watchdog only stops
// a guest at its next loop or function check, so a guest asleep for an hour held its caller
// for the hour whatever the timeout (RATIONALE.md: why a sleeping guest stops at once).
//
// When the context ends first, the guest is stopped right there, as proc_exit stops it: the
// module is closed and the call unwinds with an exit error that classify reports as
// ErrInterrupted with the context's cause. The guest never runs past an interrupted sleep, so
// a loop of short sleeps stops too, whether or not the runtime is interruptible. Runtime.Close
// stops a sleep the same way when its own context ends.
func (inst *instance) sleep(ns int64) {
	if ns <= 0 {
		return
	}
	c := inst.call
	if c == nil { // guest code runs only inside a call: nothing to wait for
		return
	}
	t := time.NewTimer(time.Duration(ns))
	select {
	case <-t.C:
		return
	case <-c.Done():
		t.Stop()
	case <-inst.mod.rt.stopping: // Runtime.Close is interrupting the calls left (close.go)
		t.Stop()
	}
	code := sys.ExitCodeContextCanceled
	if errors.Is(c.Err(), context.DeadlineExceeded) {
		code = sys.ExitCodeDeadlineExceeded
	}
	inst.guest.CloseWithExitCode(context.Background(), code)
	panic(sys.NewExitError(code))
}
