package dag

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
)

// slot is the slot a worker holds while its task runs. A task blocked in a nested execute
// gives its slot back and takes one (perhaps another) again before it continues.
type slot struct {
	n    int
	held bool
	task Task // the executor's view of the call running on this worker, reused from call to call
	// scope is the nested-spawn scope of the call running on this worker; scopeCtx carries it,
	// derived from scopeParent, the context it was last made for.
	scope       scope
	scopeParent context.Context
	scopeCtx    context.Context
	// usageCtx asks the runtime to measure the call's guest time (runtime.WithUsage), when
	// Config.Events is set; derived from usageParent, the context it was last made for.
	usageParent context.Context
	usageCtx    context.Context
	// outer, when set, is the capacity of whoever runs the call outside the engine's workers
	// (see Engine.Nested): releasing and acquiring go to it instead of the engine's slots.
	outer Slot
}

func (s *slot) release(e *Engine) {
	if s.held {
		s.held = false
		if s.outer != nil {
			s.outer.Release()
			return
		}
		e.slots <- s.n
	}
}

func (s *slot) acquire(ctx context.Context, e *Engine) error {
	if s.outer != nil {
		if err := s.outer.Acquire(ctx); err != nil {
			return err
		}
		s.held = true
		return nil
	}
	select {
	case s.n = <-e.slots:
		s.held = true
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Slot is the capacity a call holds while it runs outside the engine's own workers, on a
// cluster worker for instance: a call blocked in a nested execute gives it back with Release,
// so that its worker can run other calls (its children among them), and takes it again with
// Acquire before it continues.
type Slot interface {
	Release()
	Acquire(ctx context.Context) error
}

// Nested returns the nested-spawn view (runtime.Nested) of a call of fn with key key that
// runs at nesting depth depth outside the engine's workers, for example a call a cluster
// worker pulled: give it to the call with runtime.WithNested. The guest's spawns become tasks
// of e, run by e's executor and read from e's store; while the guest waits in execute, it
// releases hold. Each such call has its own task budget (Config.MaxTasks), unless budget is
// set: then the call's spawns count on it, with those of other calls that share it.
//
// The values and errors of the call's spawns are held, like an Execution's, until release is
// called: call it once the call has returned.
func (e *Engine) Nested(key abi.Key, fn *runtime.Function, depth int, hold Slot, budget Budget) (n runtime.Nested, release func()) {
	if budget == nil {
		budget = new(atomic.Int64)
	}
	l := e.newLease()
	r := &run{e: e, l: l, id: e.nextID.Add(1), depth: depth, budget: budget, finished: make(chan struct{})}
	return &scope{r: r, key: key, fn: fn, depth: depth, slot: &slot{outer: hold, held: true}}, func() { e.release(l) }
}

// Spawned returns how many tasks the guest of a call has spawned through n, a Nested that
// Engine.Nested returned (Usage.Spawned); 0 for any other Nested.
func Spawned(n runtime.Nested) int {
	if s, ok := n.(*scope); ok {
		return s.spawned
	}
	return 0
}

// Budget counts the tasks guests spawn under one host-level execution, against
// Config.MaxTasks: Add adds n and returns the new count. In process it is an *atomic.Int64;
// the calls of one graph on a cluster's workers share one kept by the server.
type Budget interface {
	Add(n int64) int64
}

// scope is one running task's view of the engine for nested spawn: its handle table and its
// place in the tree. It implements runtime.Nested. A task's guest runs one call at a time,
// so a scope is used by one goroutine.
type scope struct {
	r       *run // the execution the task belongs to
	key     abi.Key
	fn      *runtime.Function
	depth   int
	slot    *slot
	flight  *flight   // the running call this scope belongs to
	handles []*Object // handle h names handles[h-1]
	impure  bool      // the call fetched an impure value: its own is impure too
	spawned int       // tasks the guest spawned (Usage.Spawned)
}

var _ runtime.Nested = (*scope)(nil)

// add gives o the next handle of the scope.
func (s *scope) add(o *Object) uint32 {
	s.handles = append(s.handles, o)
	return uint32(len(s.handles))
}

// object returns the Object of handle h.
func (s *scope) object(h uint32) (*Object, error) {
	if h == 0 || uint64(h) > uint64(len(s.handles)) {
		if len(s.handles) == 0 {
			return nil, fmt.Errorf("%w: handle %d is not a handle of this task, which holds none", runtime.ErrInvalid, h)
		}
		return nil, fmt.Errorf("%w: handle %d is not a handle of this task, which holds handles 1 to %d", runtime.ErrInvalid, h, len(s.handles))
	}
	return s.handles[h-1], nil
}

// Spawn implements runtime.Nested.
func (s *scope) Spawn(ctx context.Context, mod, fn string, frame []byte, nOutput int, opts runtime.SpawnOptions) (uint32, error) {
	e := s.r.e
	m := s.fn.Module()
	// Every error names the operation, then the kind of error: "spawn inc: invalid request: …",
	// "spawn priv.getenv: permission denied: …".
	what := fn
	if mod != "" {
		what = mod + "." + fn
		var err error
		if m, err = m.Runtime().Lookup(mod); err != nil {
			return 0, fmt.Errorf("spawn %s: %w: %w", what, runtime.ErrInvalid, err)
		}
		// Before the function is looked up, so that a refused caller learns nothing of the
		// target's functions.
		if err := s.fn.Module().CheckSpawn(m); err != nil {
			return 0, fmt.Errorf("spawn %s: %w", what, err)
		}
	}
	f, err := m.Func(fn)
	if err != nil {
		return 0, fmt.Errorf("spawn %s: %w: %w", what, runtime.ErrInvalid, err)
	}
	if s.depth+1 > e.maxDepth {
		return 0, fmt.Errorf("spawn %s: %w: nesting depth %d exceeds the limit of %d (raise it with dag.Config.MaxDepth)", what, runtime.ErrLimit, s.depth+1, e.maxDepth)
	}
	if n := s.r.budget.Add(1); n > int64(e.maxTasks) {
		return 0, fmt.Errorf("spawn %s: %w: this execution already created %d nested tasks, the limit (raise it with dag.Config.MaxTasks)", what, runtime.ErrLimit, e.maxTasks)
	}
	byKey := map[abi.Key]*Object{}
	resolved, err := abi.ResolveHandles(frame, func(h uint32) (abi.Key, error) {
		o, err := s.object(h)
		if err != nil {
			return abi.Key{}, err
		}
		byKey[o.Key()] = o
		return o.Key(), nil
	})
	if err != nil {
		if !errors.Is(err, runtime.ErrInvalid) {
			err = fmt.Errorf("%w: %w", runtime.ErrInvalid, err)
		}
		return 0, fmt.Errorf("spawn %s: %w", what, err)
	}
	tmpl, err := abi.NewTemplate(resolved)
	if err != nil {
		return 0, fmt.Errorf("spawn %s: %w: %w", what, runtime.ErrInvalid, err)
	}
	t := &task{fn: f, nOutput: nOutput, timeout: -1, retries: -1, impure: opts.Impure} // the engine's defaults
	if err := t.link(tmpl, byKey); err != nil {
		return 0, fmt.Errorf("spawn %s: %w: %w", what, runtime.ErrInvalid, err)
	}
	t.makeOutputs()
	first := uint32(len(s.handles) + 1)
	s.handles = append(s.handles, t.outputs()...)
	s.spawned++
	return first, nil
}

// Execute implements runtime.Nested: it runs the Objects of handles as a nested execution,
// without holding a slot while it waits.
func (s *scope) Execute(ctx context.Context, handles []uint32) (bool, error) {
	objs := make([]*Object, len(handles))
	for i, h := range handles {
		o, err := s.object(h)
		if err != nil {
			return false, err
		}
		objs[i] = o
	}
	e := s.r.e
	r := e.plan(objs, s.r.l, s.r.id, s.r.label, s.depth+1, s.key, s.r.budget)
	r.owner = s.flight
	if len(r.order) > 0 {
		if w := e.waiting.Add(1); w > e.maxWait {
			e.waiting.Add(-1)
			return false, fmt.Errorf("execute: %w: %d tasks are already waiting on nested executions, the limit (raise it with dag.Config.MaxWaiting)", runtime.ErrLimit, e.maxWait)
		}
		defer e.waiting.Add(-1)
		s.slot.release(e)
		e.setWaits(s.flight, r)
		r.run(ctx)
		e.setWaits(s.flight, nil)
		if err := s.slot.acquire(ctx, e); err != nil {
			return false, err
		}
	}
	if ctx.Err() != nil {
		return false, context.Cause(ctx)
	}
	return e.outcome(ctx, r, objs) == nil, nil
}

// Fetch implements runtime.Nested.
func (s *scope) Fetch(ctx context.Context, h uint32) ([]byte, error) {
	o, err := s.object(h)
	if err != nil {
		return nil, err
	}
	if v, priv, ok := s.r.get(o.Key()); ok {
		s.impure = s.impure || priv
		return v, nil
	}
	if err := s.r.e.failure(o); err != nil {
		return nil, taskFailed{err}
	}
	return nil, fmt.Errorf("%w: %s (handle %d) has not been executed", runtime.ErrNotReady, o, h)
}

// Cause implements runtime.Nested.
func (s *scope) Cause(h uint32) error {
	o, err := s.object(h)
	if err != nil {
		return nil
	}
	return s.r.e.failure(o)
}

// taskFailed reports a child's failure to the guest with the child's own message.
type taskFailed struct{ err error }

func (f taskFailed) Error() string   { return f.err.Error() }
func (f taskFailed) Unwrap() []error { return []error{runtime.ErrTaskFailed, f.err} }

// failure returns the error o's execution failed with, or nil.
func (e *Engine) failure(o *Object) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if f := e.fails[o.t.key]; f != nil {
		return f.err
	}
	return nil
}
