package dag

import (
	"errors"
	"fmt"
)

// ErrCycle is wrapped by the error of a call that would wait, through nested spawns, for
// itself: a function whose call spawns (perhaps through other calls) the very same call.
var ErrCycle = errors.New("call depends on itself through nested spawn")

// flight is one call running somewhere in the engine. Executions that need the same key while
// it runs wait for it instead of running it again, which matters for recursive nested graphs
// such as fib, where sibling subtrees spawn the same calls.
type flight struct {
	done  chan struct{} // made when a first waiter arrives (Engine.mu); closed when the call ends
	err   error         // set before done is closed
	waits *run          // the nested execution the call is blocked in, if any (Engine.mu)
}

// claim decides how n's call gets its value. It returns (f, false, nil) when this worker must
// run it under flight f; (f, true, nil) when another execution is running it and this one
// should wait for f; (nil, false, nil) when its value is already stored; or an error when
// waiting would close a cycle.
func (e *Engine) claim(r *run, n *node) (*flight, bool, *TaskError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.have(n.t) { // planning looked in the persistent cache already
		return nil, false, nil
	}
	if f, ok := e.inflight[n.t.key]; ok {
		if r.owner != nil && e.reaches(f, r.owner, map[*flight]bool{}) {
			return nil, false, n.t.error(fmt.Errorf("%w: it is already running further up this graph", ErrCycle))
		}
		n.fl = f
		if f.done == nil {
			f.done = make(chan struct{})
		}
		return f, true, nil
	}
	f := &flight{} // most calls are never waited for: no channel until one is
	e.inflight[n.t.key] = f
	n.fl = f
	return f, false, nil
}

// land records the outcome of a call run under f and wakes the executions waiting for it.
func (e *Engine) land(n *node, f *flight, err error) {
	e.mu.Lock()
	if e.inflight[n.t.key] == f {
		delete(e.inflight, n.t.key)
	}
	n.fl = nil
	f.err = err
	done := f.done
	e.mu.Unlock()
	if done != nil {
		close(done)
	}
}

func (e *Engine) unwait(n *node) {
	e.mu.Lock()
	n.fl = nil
	e.mu.Unlock()
}

// reaches reports whether flight from is, directly or through the calls it waits for,
// waiting for target. Called with e.mu held.
func (e *Engine) reaches(from, target *flight, seen map[*flight]bool) bool {
	if from == target {
		return true
	}
	if seen[from] || from.waits == nil {
		return false
	}
	seen[from] = true
	for _, n := range from.waits.order {
		if n.fl != nil && e.reaches(n.fl, target, seen) {
			return true
		}
	}
	return false
}

// setWaits records that the call of flight f is blocked in nested execution r (nil: no more).
func (e *Engine) setWaits(f *flight, r *run) {
	if f == nil {
		return
	}
	e.mu.Lock()
	f.waits = r
	e.mu.Unlock()
}
