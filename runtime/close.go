package runtime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero"
)

// closingBit marks Runtime.work once Close has begun; the bits below count the calls and
// loads running.
const closingBit = 1 << 62

// errRefused is the error of a call or load started once Close has begun.
var errRefused = fmt.Errorf("%w: it accepts no calls or loads once Close has begun", ErrClosed)

// errStopped is the error of a call that Close interrupted.
var errStopped = fmt.Errorf("%w: %w: the call was still running when the context given to Runtime.Close ended", ErrInterrupted, ErrClosed)

// begin counts a call or load starting, or refuses it once Close has begun. A call made from
// inside a running call of this runtime (a nested spawn run by the engine on the caller's
// context) is part of the work Close waits for, so it is accepted until Close interrupts.
// The check costs two atomic adds per call (begin and end), on one shared counter.
func (rt *Runtime) begin(ctx context.Context) error {
	if rt.work.Add(1)&closingBit == 0 {
		return nil
	}
	if inst := instanceFrom(ctx); inst != nil && inst.mod.rt == rt && !rt.stopped() {
		return nil // its caller is counted, so the work cannot have drained meanwhile
	}
	if nativeRuntime(ctx) == rt && !rt.stopped() {
		return nil // likewise for a native call's
	}
	rt.end()
	return errRefused
}

// end counts a call or load ending.
func (rt *Runtime) end() {
	if rt.work.Add(-1) == closingBit {
		rt.drainOnce.Do(func() { close(rt.drained) })
	}
}

// stopped reports whether Close is interrupting the calls still running.
func (rt *Runtime) stopped() bool {
	select {
	case <-rt.stopping:
		return true
	default:
		return false
	}
}

// closing returns the error of a failed call or load: errStopped when Close interrupted it
// (the guest then sees its module closed, or its sleep cut short, and fails in ways that
// would otherwise read as a trap), else err.
func (rt *Runtime) closing(err error) error {
	if err != nil && rt.stopped() {
		return errStopped
	}
	return err
}

// Close shuts the runtime down gracefully, as http.Server.Shutdown does a server.
//
// It first stops accepting work: a call (Function.Call, Function.CallFill) or a load (Load,
// LoadWith, LoadFile) that starts from then on fails with an error wrapping ErrClosed, and
// so does the making of an instance for it. Calls a running call makes through a nested
// spawn on the context it was given are still accepted: they are part of its work. Close
// then waits, for as long as ctx allows, until the calls and loads already running end; they
// return their results as usual. If ctx ends first, Close interrupts them: each fails with
// an error wrapping both ErrClosed and ErrInterrupted, never ErrTrap, that says the runtime
// was closed while it ran. A sleeping guest wakes at once, and a call waiting on nested tasks
// returns once they fail; after 100 ms Close closes the modules of the calls still running,
// so that a guest in a loop stops at its next check. A guest of an Uninterruptible runtime
// runs on until it returns, and only then fails. Close waits up to 100 ms more for the
// interrupted calls to return, not longer. Last, it closes every instance, every compiled
// module and the compilation cache.
//
// Close returns nil when every call ended in time, and otherwise an error wrapping
// context.Cause(ctx) that says how many were interrupted, joined with any error from
// closing. With a context that never ends, such as context.Background(), Close waits as
// long as any call runs. Close may be called from any goroutine, also while calls run;
// calling it again, even concurrently, returns nil at once.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil
	}
	rt.closed = true
	rt.mu.Unlock()
	rt.abandonCompilers()
	if rt.work.Add(closingBit) == closingBit {
		rt.drainOnce.Do(func() { close(rt.drained) })
	}
	var err error
	select {
	case <-rt.drained:
	case <-ctx.Done():
		n := rt.work.Load() &^ closingBit
		close(rt.stopping)
		if n == 1 {
			err = fmt.Errorf("runtime: close: 1 call or load still running was interrupted: %w", context.Cause(ctx))
		} else {
			err = fmt.Errorf("runtime: close: %d calls or loads still running were interrupted: %w", n, context.Cause(ctx))
		}
		// A guest asleep, or waiting on nested tasks (which are refused or interrupted too),
		// now unwinds on its own. Give it a moment before closing the modules under the calls
		// still running (guests in a loop): wazero's Close releases a module's resources
		// while a host function of the guest may still be using them.
		rt.awaitDrained(unwindGrace)
	}

	rt.mu.Lock()
	var own []wazero.Runtime
	for _, m := range rt.modules {
		m.pool.close()
		if m.wz != rt.wz && m.wz != nil {
			own = append(own, m.wz)
		}
	}
	rt.mu.Unlock()
	// The instances left are running calls: their memory must stay mapped (memory.go).
	rt.mem.closing.Store(true)
	// Closing the wazero runtime closes every module, those of running calls too, which stops
	// their guests at the next check. ctx may have ended: closing does not depend on it.
	cctx := context.WithoutCancel(ctx)
	err = errors.Join(err, rt.wz.Close(cctx))
	for _, wz := range own {
		err = errors.Join(err, wz.Close(cctx))
	}
	rt.interpMu.Lock()
	if rt.interp != nil {
		err = errors.Join(err, rt.interp.Close(cctx))
	}
	rt.interpMu.Unlock()
	if rt.stopped() {
		rt.awaitDrained(unwindGrace) // the guests in a loop stop at their next check
	}
	if rt.cache != nil {
		err = errors.Join(err, rt.cache.Close(cctx))
	}
	return err
}

// unwindGrace is how long Close lets interrupted calls unwind, before it closes the modules
// under those still running and again before it returns.
const unwindGrace = 100 * time.Millisecond

// awaitDrained waits until no call or load runs, or for d.
func (rt *Runtime) awaitDrained(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-rt.drained:
	case <-t.C:
	}
}
