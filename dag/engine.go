// Package dag is the mrun execution engine: the Mars remote programming model over
// WebAssembly functions.
//
// Spawn returns a lazy *Object whose key is derived from its content; nothing runs until
// Engine.Execute is called on one Object or several. Objects passed as arguments, at any depth
// inside slices, maps and structs, are dependencies: the engine runs their producers first and
// hands the function their values. Independent calls run in parallel on the engine's slots.
// Values travel between calls as the MessagePack bytes their producers returned, never decoded
// on the way; Engine.Fetch decodes them for the caller.
//
// The engine schedules; an Executor runs one ready call; a Store holds results by key. The
// defaults run calls in this process and keep results in memory.
package dag

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/internal/bytesize"
	"github.com/mrun-dev/mrun/runtime"
)

// Config configures an Engine. The zero value is ready to use.
type Config struct {
	// Slots is how many calls run at once. Zero means the number of CPUs.
	Slots int
	// Executor runs ready calls. Nil means InProcess.
	Executor Executor
	// Store keeps results by key. Nil means a new in-memory store.
	Store Store
	// Events, when set, is called as calls start and end, from the goroutine that runs the
	// call. It must be fast and safe for concurrent use.
	Events func(Event)
	// MaxDepth limits how deeply guests may nest spawns: host-level tasks have depth 0.
	// Zero means 100.
	MaxDepth int
	// MaxTasks limits how many tasks guests may spawn under one host-level Execute, so that a
	// spawn bomb fails with an error instead of exhausting memory. Zero means 100,000.
	MaxTasks int
	// Timeout is the wall-clock limit of one attempt of a call, unless its Call sets one. The
	// guest is interrupted when it passes, even in a tight loop. Zero means no limit.
	Timeout time.Duration
	// Retries is how many times a failed call is run again, unless its Call says otherwise.
	// Guest errors, traps, malformed results and timeouts are retried; cancellation is not.
	// An instance that trapped, timed out or returned a malformed result was discarded, so
	// such a retry runs on a fresh one; after a guest error the instance may be reused.
	// Zero means none.
	Retries int
	// MaxWaiting limits how many tasks may be blocked in a nested execute at once, engine-wide.
	// Each one holds its guest instance (several MiB for a Go guest) while its slot serves
	// others. Zero means 128.
	MaxWaiting int
	// MaxArgument limits the size of one call's argument frame: its arguments and keyword
	// arguments encoded, with the values of the Objects it depends on in place. A call over
	// the limit fails with an *ArgumentError instead of being copied into a guest. Zero means
	// DefaultMaxArgument; a negative value means no limit but the 4 GiB a guest can address.
	MaxArgument int
}

// Executor runs one call whose dependencies have all produced their values. Run must not keep
// t, or its Inputs slice, after it returns: the engine reuses them for the next call on the
// same worker.
type Executor interface {
	Run(ctx context.Context, t *Task) (runtime.Result, error)
}

// Task is a call ready to run, as handed to an Executor.
type Task struct {
	Key      abi.Key
	Func     *runtime.Function
	NOutput  int
	Template *abi.Template
	// Inputs holds the value of each reference in Template, aligned with Template.Deps().
	Inputs [][]byte
}

// A RemoteExecutor runs calls on workers elsewhere that read each call's inputs from the
// engine's Store and write its outputs to it themselves, so that values move between workers
// without passing through the engine (a cluster's executor and store). When SharesStore
// reports true, the engine hands such an executor no Inputs (the Template's holes name the
// keys to read), does not store what Run returns, and Objects passed by reference (Ref) are
// refused.
type RemoteExecutor interface {
	Executor
	SharesStore() bool
}

// InProcess is the Executor that runs calls in this process's runtime, building each
// argument frame directly inside the guest's argument buffer.
type InProcess struct{}

// Run calls t.Func with t's argument frame.
func (InProcess) Run(ctx context.Context, t *Task) (runtime.Result, error) {
	n := t.Template.Size(t.Inputs)
	return t.Func.CallFill(ctx, n, func(dst []byte) { t.Template.AppendFrame(dst[:0], t.Inputs) })
}

// Store keeps results by Object key. Values are MessagePack bytes and are never modified after
// Put. Implementations must be safe for concurrent use.
type Store interface {
	Get(key abi.Key) ([]byte, bool)
	Put(key abi.Key, value []byte)
	Delete(key abi.Key)
}

// NewMemoryStore returns a Store that keeps values in a map.
func NewMemoryStore() Store { return &memStore{m: map[abi.Key][]byte{}} }

type memStore struct {
	mu sync.RWMutex
	m  map[abi.Key][]byte
}

func (s *memStore) Get(k abi.Key) ([]byte, bool) {
	s.mu.RLock()
	v, ok := s.m[k]
	s.mu.RUnlock()
	return v, ok
}

func (s *memStore) Put(k abi.Key, v []byte) {
	s.mu.Lock()
	s.m[k] = v
	s.mu.Unlock()
}

func (s *memStore) Delete(k abi.Key) {
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
}

// EventKind says what happened to a call.
type EventKind int

// The kinds of Event.
const (
	EventStart  EventKind = iota // the call was handed to the executor
	EventFinish                  // the call produced its value
	EventFail                    // the call failed (Err is set)
	EventSkip                    // the call will not run because a dependency failed (Err is set)
	EventRetry                   // an attempt failed and the call runs again (Err, Attempt are set)
)

// Event reports progress of one call.
type Event struct {
	Kind     EventKind
	Key      abi.Key
	Func     *runtime.Function
	Time     time.Time
	Err      error
	Stdout   []byte // on EventFinish and EventFail: what the call wrote (capped)
	Stderr   []byte
	Slot     int // on EventStart, EventFinish and EventFail: the slot (0 to Slots-1) the call ran on
	Parallel int // on EventStart: how many calls of this execution were running, this one included
	// Parent is the key of the task whose guest spawned this one (nested spawn), or the zero
	// key for a task spawned by the host program. Depth is 0 for host-level tasks and the
	// parent's depth plus one for nested ones.
	Parent abi.Key
	Depth  int
	// Attempt is, on EventRetry, the number of the attempt that failed (1 for the first).
	Attempt int
}

// Engine schedules spawned calls. It is safe for concurrent use; concurrent Executes share its
// slots and its store.
type Engine struct {
	slots              chan int // free slot numbers: taking one is acquiring that slot
	maxDepth, maxTasks int
	maxWait            int64
	maxArg             int // <= 0: no limit
	timeout            time.Duration
	retries            int
	waiting            atomic.Int64 // tasks blocked in a nested execute
	exec               Executor
	remote             bool // exec's workers share store: see RemoteExecutor
	store              Store
	events             func(Event)

	mu       sync.Mutex
	errs     map[abi.Key]error   // failures, so Fetch can report them
	inflight map[abi.Key]*flight // calls running now, in any execution
}

// New returns an Engine.
func New(cfg Config) *Engine {
	if cfg.Slots <= 0 {
		cfg.Slots = goruntime.NumCPU()
	}
	if cfg.Executor == nil {
		cfg.Executor = InProcess{}
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore()
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = 100
	}
	if cfg.MaxTasks <= 0 {
		cfg.MaxTasks = 100_000
	}
	if cfg.MaxWaiting <= 0 {
		cfg.MaxWaiting = 128
	}
	if cfg.MaxArgument == 0 {
		cfg.MaxArgument = DefaultMaxArgument
	}
	slots := make(chan int, cfg.Slots)
	for i := range cfg.Slots {
		slots <- i
	}
	re, remote := cfg.Executor.(RemoteExecutor)
	return &Engine{
		remote:   remote && re.SharesStore(),
		slots:    slots,
		maxDepth: cfg.MaxDepth,
		maxTasks: cfg.MaxTasks,
		maxWait:  int64(cfg.MaxWaiting),
		maxArg:   cfg.MaxArgument,
		timeout:  cfg.Timeout,
		retries:  cfg.Retries,
		exec:     cfg.Executor,
		store:    cfg.Store,
		events:   cfg.Events,
		errs:     map[abi.Key]error{},
		inflight: map[abi.Key]*flight{},
	}
}

// Slots returns how many calls the engine runs at once.
func (e *Engine) Slots() int { return cap(e.slots) }

// Sentinel errors of the engine.
var (
	// ErrNotExecuted is returned by Fetch for an Object that has no value yet.
	ErrNotExecuted = errors.New("object has not been executed")
	// ErrDependencyFailed is wrapped by the error of a call that did not run because a call it
	// depends on failed.
	ErrDependencyFailed = errors.New("dependency failed")
)

// TaskError reports a call that failed or could not run. Err is the cause: a
// *runtime.CallError, a split error, or ErrDependencyFailed wrapping the dependency's
// *TaskError.
type TaskError struct {
	Key    abi.Key
	Module string
	Func   string
	Err    error
}

// Error names the function, key and module, then the cause.
func (e *TaskError) Error() string {
	return fmt.Sprintf("task %s (key %s, module %s): %v", e.Func, e.Key, e.Module, withoutCall(e.Err))
}

// Unwrap returns the cause.
func (e *TaskError) Unwrap() error { return e.Err }

// error returns a *TaskError naming t with the given cause.
func (t *task) error(err error) *TaskError {
	return &TaskError{Key: t.key, Module: t.fn.Module().Name(), Func: t.fn.Name(), Err: err}
}

// Execute runs every call needed to produce objs, in parallel where dependencies allow, and
// waits for them. Calls whose values are already in the store are not run again. A failed call
// fails the calls that depend on it; calls that do not depend on it still run. The returned
// error joins the *TaskError of every requested Object that has no value; cancelling ctx stops
// queued calls and interrupts running ones.
func (e *Engine) Execute(ctx context.Context, objs ...*Object) error {
	for i, o := range objs {
		if o == nil {
			return fmt.Errorf("execute: object %d is nil", i)
		}
		if o.t.err != nil {
			return o.t.err
		}
	}
	r := e.plan(objs, 0, abi.Key{}, new(atomic.Int64))
	if len(r.order) > 0 {
		r.run(ctx)
	}
	return e.outcome(ctx, r, objs)
}

// node is a call in one execution.
type node struct {
	t          *task
	flight     *flight // while this node's call runs here (guarded by Engine.mu)
	waitingOn  *flight // while this node waits for another execution's run (Engine.mu)
	own        flight  // the flight of this node's call when it runs here
	pending    int     // dependencies not yet finished
	dependents []*node
	done       bool
	err        error
}

// run is the state of one Execute.
type run struct {
	e         *Engine
	owner     *flight           // the call whose guest started this execution, when nested
	depth     int               // 0 for a host-level execution, parent's depth + 1 when nested
	parent    abi.Key           // the task whose guest started this execution, when nested
	budget    Budget            // nested tasks created under the host-level execution
	nodes     map[abi.Key]*node // while planning: the node of each call, for sharing
	order     []*node           // every node, dependencies before dependents
	requested []*node           // the node of each requested Object, nil when already stored
	ready     chan *node
	mu        sync.Mutex
	remaining int
	running   atomic.Int32 // calls of this execution in the executor, for Event.Parallel
	finished  chan struct{}
}

func (e *Engine) plan(objs []*Object, depth int, parent abi.Key, budget Budget) *run {
	r := &run{e: e, depth: depth, parent: parent, budget: budget, nodes: map[abi.Key]*node{}, finished: make(chan struct{})}
	r.requested = make([]*node, len(objs))
	for i, o := range objs {
		if !r.stored(o.t) {
			r.requested[i] = r.add(o.t)
		}
	}
	r.nodes = nil // only planning needs the index by key; a million-task graph saves ~60 MB
	r.remaining = len(r.order)
	r.ready = make(chan *node, len(r.order))
	for _, n := range r.order {
		if n.pending == 0 {
			r.ready <- n
		}
	}
	return r
}

// stored reports whether every output of t is already in the store.
func (r *run) stored(t *task) bool {
	for _, o := range t.outputs() {
		if _, ok := r.e.store.Get(o.Key()); !ok {
			return false
		}
	}
	return true
}

func (r *run) add(t *task) *node {
	if n, ok := r.nodes[t.key]; ok {
		return n
	}
	n := &node{t: t}
	r.nodes[t.key] = n
	for _, d := range t.deps {
		if r.stored(d) {
			continue
		}
		dn := r.add(d)
		dn.dependents = append(dn.dependents, n)
		n.pending++
	}
	r.order = append(r.order, n)
	return n
}

func (r *run) run(ctx context.Context) {
	var wg sync.WaitGroup
	for range min(cap(r.e.slots), len(r.order)) {
		wg.Go(func() { r.worker(ctx) })
	}
	wg.Wait()
}

func (r *run) worker(ctx context.Context) {
	var s slot
	for {
		var n *node
		select {
		case <-r.finished:
			return
		case <-ctx.Done():
			return
		case n = <-r.ready:
		}
		// Run n, then whatever dependent its success made ready, on the same slot: a chain
		// runs on one worker without a hand-off between goroutines at each link.
		for n != nil {
			if !s.held {
				if s.acquire(ctx, r.e) != nil {
					return
				}
			}
			if ctx.Err() != nil { // select picks at random among ready cases
				s.release(r.e)
				return
			}
			n = r.execute(ctx, n, &s)
		}
		s.release(r.e)
	}
}

// execute runs one ready node and records its outcome. It returns a dependent that became
// ready and that the caller should run next, if any.
func (r *run) execute(ctx context.Context, n *node, sl *slot) *node {
	t := n.t
	for {
		f, wait, err := r.e.claim(r, n)
		switch {
		case err != nil:
			r.fail(n, err)
			return nil
		case f == nil: // produced by another execution in the meantime
			return r.succeed(n)
		case !wait:
			next, err := r.call(ctx, n, sl, f)
			r.e.land(n, f, err)
			return next
		}
		// Another execution is running this very call: wait for it without holding a slot.
		sl.release(r.e)
		select {
		case <-f.done:
		case <-ctx.Done():
			r.e.unwait(n)
			return nil
		}
		r.e.unwait(n)
		switch {
		case f.err == nil:
			return r.succeed(n)
		case errors.Is(f.err, runtime.ErrInterrupted) && ctx.Err() == nil:
			// Its execution was cancelled, this one was not: run the call here.
			if sl.acquire(ctx, r.e) != nil {
				return nil
			}
			continue
		}
		r.fail(n, t.error(unwrapTask(f.err)))
		return nil
	}
}

// store puts the outputs of t's result into the store: the value itself, or its n_output
// elements under their output keys.
func (r *run) store(t *task, value []byte) error {
	if t.nOutput == 1 {
		r.e.store.Put(t.key, value)
		return nil
	}
	parts, err := abi.SplitArray(value, t.nOutput)
	if err != nil {
		return err
	}
	for i, p := range parts {
		r.e.store.Put(t.outputs()[i].Key(), p)
	}
	return nil
}

// unwrapTask returns the cause inside a *TaskError for the same call, so that a call that
// waited on another execution's run of it reports the cause once.
func unwrapTask(err error) error {
	if te, ok := err.(*TaskError); ok {
		return te.Err
	}
	return err
}

// call runs n's task on this worker and records its outcome. It returns the dependent to run
// next (see succeed), or the error the call failed with.
func (r *run) call(ctx context.Context, n *node, sl *slot, f *flight) (*node, error) {
	t := n.t
	retries, timeout := t.retries, t.timeout
	if retries < 0 {
		retries = r.e.retries
	}
	if timeout < 0 {
		timeout = r.e.timeout
	}
	par := r.running.Add(1)
	if r.e.events != nil {
		r.e.events(Event{Kind: EventStart, Key: t.key, Func: t.fn, Time: time.Now(), Slot: sl.n, Parallel: int(par), Parent: r.parent, Depth: r.depth})
	}
	var res runtime.Result
	var err error
	attempt := 1
	for ; ; attempt++ {
		res, err = r.attempt(ctx, n, sl, f, timeout)
		if err == nil || attempt > retries || ctx.Err() != nil || !retryable(err) {
			break
		}
		if r.e.events != nil {
			r.e.events(Event{Kind: EventRetry, Key: t.key, Func: t.fn, Time: time.Now(), Slot: sl.n, Err: err, Attempt: attempt, Parent: r.parent, Depth: r.depth})
		}
	}
	if err != nil && attempt > 1 {
		err = &RetryError{Attempts: attempt, Err: err}
	}
	if err == nil && !r.e.remote { // a remote executor's workers stored the outputs
		err = r.store(t, res.Value)
	}
	r.running.Add(-1)
	if err != nil {
		if r.e.events != nil {
			var ce *runtime.CallError
			ev := Event{Kind: EventFail, Key: t.key, Func: t.fn, Time: time.Now(), Slot: sl.n, Err: err, Stdout: res.Stdout, Stderr: res.Stderr, Parent: r.parent, Depth: r.depth}
			if errors.As(err, &ce) {
				ev.Stdout, ev.Stderr = ce.Stdout, ce.Stderr
			}
			r.e.events(ev)
		}
		te := t.error(err)
		r.fail(n, te)
		return nil, te
	}
	if r.e.events != nil {
		r.e.events(Event{Kind: EventFinish, Key: t.key, Func: t.fn, Time: time.Now(), Slot: sl.n, Stdout: res.Stdout, Stderr: res.Stderr, Parent: r.parent, Depth: r.depth})
	}
	return r.succeed(n), nil
}

// attempt runs n's call once: it builds the argument frame (and, for guests that spawn, a fresh
// handle scope) and hands the task to the executor, under the per-task timeout if any.
func (r *run) attempt(ctx context.Context, n *node, sl *slot, f *flight, timeout time.Duration) (runtime.Result, error) {
	t := n.t
	task := &sl.task
	*task = Task{Key: t.key, Func: t.fn, NOutput: t.nOutput, Template: t.tmpl, Inputs: task.Inputs[:0]}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, &TimeoutError{Timeout: timeout})
		defer cancel()
	}
	if r.e.remote { // its workers read the inputs from the shared store, and run the guest
		if n := len(t.tmpl.Frame()); r.e.maxArg > 0 && n > r.e.maxArg { // the inputs are the workers' to check
			return runtime.Result{}, &ArgumentError{Size: n, Limit: r.e.maxArg}
		}
		if t.anyByRef {
			return runtime.Result{}, fmt.Errorf("%w: this executor cannot pass an Object by reference (dag.Ref)", ErrSpawn)
		}
		return r.e.exec.Run(ctx, task)
	}
	task.Inputs = slices.Grow(task.Inputs, len(t.holes))[:len(t.holes)]
	defer clear(task.Inputs) // drop references to values while the worker idles
	var sc *scope
	if t.fn.Module().Nested() || t.anyByRef {
		// The worker's scope is reused from call to call, and so is the context that carries
		// it while the execution's context stays the same: no allocation per call.
		sc = &sl.scope
		*sc = scope{r: r, key: t.key, fn: t.fn, depth: r.depth, slot: sl, flight: f, handles: sc.handles[:0]}
		defer func() { clear(sc.handles); sc.handles = sc.handles[:0] }()
		if sl.scopeParent != ctx {
			sl.scopeParent, sl.scopeCtx = ctx, runtime.WithNested(ctx, sc)
		}
		ctx = sl.scopeCtx
	}
	for i, o := range t.holes {
		if t.tmpl.ByRef(i) {
			task.Inputs[i] = abi.AppendHandle(nil, sc.add(o))
			continue
		}
		v, ok := r.e.store.Get(o.Key())
		if !ok { // removed from the store while this execution ran
			return runtime.Result{}, fmt.Errorf("value of dependency %s is no longer in the store", o)
		}
		task.Inputs[i] = v
	}
	if n := t.tmpl.Size(task.Inputs); r.e.maxArg > 0 && n > r.e.maxArg {
		return runtime.Result{}, &ArgumentError{Size: n, Limit: r.e.maxArg}
	}
	return r.e.exec.Run(ctx, task)
}

// DefaultMaxArgument is the limit on a call's argument frame when Config.MaxArgument is zero:
// the runtime's default limit on a result, so that what one call returns can be passed to the
// next (a 64 MiB tensor, say), while a mistaken multi-gigabyte frame fails before it is copied.
const DefaultMaxArgument = 256 << 20

// ArgumentError reports a call whose argument frame is larger than Config.MaxArgument. The
// call is not run, and not retried.
type ArgumentError struct {
	Size  int // bytes of the argument frame, dependency values included
	Limit int // Config.MaxArgument
}

// Error gives the size, the limit and how to raise it.
func (e *ArgumentError) Error() string {
	size := fmt.Sprintf("%d bytes", e.Size)
	if e.Size >= 1024 {
		size += " (" + bytesize.Text(int64(e.Size)) + ")"
	}
	return fmt.Sprintf("arguments of %s are more than the limit of %s (raise it with dag.Config.MaxArgument)", size, bytesize.Text(int64(e.Limit)))
}

// retryable reports whether a failed attempt may succeed if run again: guest errors, traps,
// malformed results and per-task timeouts may; cancellation and bad requests do not.
func retryable(err error) bool {
	var ce *runtime.CallError
	if !errors.As(err, &ce) {
		return false
	}
	if errors.Is(err, runtime.ErrInterrupted) {
		var te *TimeoutError
		return errors.As(err, &te)
	}
	return true
}

// TimeoutError is the cause of a call interrupted because it ran longer than its task's
// timeout (Call.Timeout or Config.Timeout).
type TimeoutError struct {
	Timeout time.Duration
}

// Error says which limit was hit and how to change it.
func (e *TimeoutError) Error() string {
	return fmt.Sprintf("task timeout of %v exceeded (raise it with dag.Call.Timeout or dag.Config.Timeout)", e.Timeout)
}

// RetryError reports a call that failed on every one of its attempts; Err is the last failure.
type RetryError struct {
	Attempts int
	Err      error
}

// Error names the number of attempts, then the last cause.
func (e *RetryError) Error() string {
	return fmt.Sprintf("failed %d attempts, last: %v", e.Attempts, withoutCall(e.Err))
}

// Unwrap returns the last attempt's error.
func (e *RetryError) Unwrap() error { return e.Err }

// withoutCall drops a *runtime.CallError's own prefix (function and module), which the task
// error around it already names.
func withoutCall(err error) error {
	if ce, ok := err.(*runtime.CallError); ok {
		return ce.Err
	}
	return err
}

// succeed marks n done and readies the dependents that were waiting only for it. The first of
// them is returned for the caller to run next; the others are queued.
func (r *run) succeed(n *node) *node {
	var next *node
	r.mu.Lock()
	n.done = true
	for _, d := range n.dependents {
		d.pending--
		if d.pending == 0 && d.err == nil {
			if next == nil {
				next = d
				continue
			}
			r.ready <- d // never blocks: the channel holds every node
		}
	}
	r.finishLocked(1)
	r.mu.Unlock()
	return next
}

// fail records n's error and fails everything that depends on it, transitively.
func (r *run) fail(n *node, err *TaskError) {
	var skipped []*node
	r.mu.Lock()
	n.err = err
	count := 1
	stack := []*node{n}
	for len(stack) > 0 {
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, d := range f.dependents {
			if d.err != nil {
				continue
			}
			d.err = d.t.error(fmt.Errorf("%w: %w", ErrDependencyFailed, f.err))
			count++
			skipped = append(skipped, d)
			stack = append(stack, d)
		}
	}
	r.finishLocked(count)
	r.mu.Unlock()
	if r.e.events != nil {
		for _, d := range skipped {
			r.e.events(Event{Kind: EventSkip, Key: d.t.key, Func: d.t.fn, Time: time.Now(), Err: d.err, Parent: r.parent, Depth: r.depth})
		}
	}
}

func (r *run) finishLocked(count int) {
	r.remaining -= count
	if r.remaining == 0 {
		close(r.finished)
	}
}

// outcome turns the state of an execution into Execute's error and remembers failures.
func (e *Engine) outcome(ctx context.Context, r *run, objs []*Object) error {
	e.mu.Lock()
	for _, n := range r.order {
		if n.err != nil {
			e.errs[n.t.key] = n.err
		} else if n.done {
			delete(e.errs, n.t.key)
		}
	}
	e.mu.Unlock()

	var errs []error
	seen := map[*node]bool{}
	cancelled := false
	for _, n := range r.requested {
		if n == nil || seen[n] {
			continue
		}
		seen[n] = true
		switch {
		case n.err != nil:
			errs = append(errs, n.err)
		case !n.done:
			cancelled = true
		}
	}
	if cancelled {
		errs = append(errs, fmt.Errorf("execute: %w", context.Cause(ctx)))
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// Value returns the MessagePack bytes of o's value. It fails with ErrNotExecuted if o has not
// been executed, and with o's *TaskError if its execution failed.
func (e *Engine) Value(o *Object) ([]byte, error) {
	if o.t.err != nil {
		return nil, o.t.err
	}
	if v, ok := e.store.Get(o.Key()); ok {
		return v, nil
	}
	e.mu.Lock()
	err := e.errs[o.t.key]
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("fetch %s: %w", o, ErrNotExecuted)
}

// Fetch decodes o's value into v, which must be a pointer, like json.Unmarshal.
func (e *Engine) Fetch(o *Object, v any) error {
	b, err := e.Value(o)
	if err != nil {
		return err
	}
	if err := abi.Unmarshal(b, v); err != nil {
		return fmt.Errorf("fetch %s: %w", o, err)
	}
	return nil
}

// FetchAll decodes the values of objs: integers as int64 (uint64 above MaxInt64), floats as
// float64, arrays as []any, maps as map[string]any.
func (e *Engine) FetchAll(objs ...*Object) ([]any, error) {
	out := make([]any, len(objs))
	for i, o := range objs {
		if err := e.Fetch(o, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Forget drops the values of objs from the store, so they are computed again if executed.
func (e *Engine) Forget(objs ...*Object) {
	for _, o := range objs {
		e.store.Delete(o.Key())
	}
}
