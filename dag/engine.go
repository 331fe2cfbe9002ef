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
//
// # Lifetimes
//
// Engine.Run returns an Execution that holds every value it used or produced, the values of
// the tasks its functions spawned included, until Execution.Release; Engine.Execute keeps the
// values of the Objects it was given until Engine.Forget. Values nobody holds stay in the
// memory store as a cache, up to Config.StoreBudget bytes, least recently used out first, and
// are computed again when they are needed after being evicted. Config.Cache adds a persistent
// result cache (package dag/cache) that later processes share. An Engine holds no goroutines,
// files or other resources between executions, and needs no closing: dropping it is enough.
//
// # In a long-running service
//
// Make one runtime and one Engine for the process, and for each request spawn its calls, Run
// them under the request's context (its deadline interrupts running guests), read the values
// from the Execution (Get, Execution.Fetch) and Release it, whatever Run returned. Label the
// context (WithLabel) to tell requests apart in Config.Events, and use RootCause to find the
// call that failed. Calls whose results may differ between runs with the same arguments are
// spawned with Call.Impure. Shut down by stopping new requests, then closing the runtime with a
// deadline (runtime.Runtime.Close drains running calls). docs/embedding.md and examples/service
// show all of it.
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
	// Slots is how many calls run at once. Zero means GOMAXPROCS.
	Slots int
	// Executor runs ready calls. Nil means InProcess.
	Executor Executor
	// Store keeps results by key. Nil means NewMemoryStore(StoreBudget).
	Store Store
	// StoreBudget is how many bytes of values that no execution holds the default memory
	// store keeps as a cache, least recently used first out. Values an Execution holds do not
	// count and are never evicted. Zero means DefaultStoreBudget; negative means no limit.
	// Ignored when Store is set.
	StoreBudget int64
	// Cache, when set, is a persistent result cache shared with later processes (see package
	// dag/cache): a call whose values are there does not run, and the values of pure calls
	// are written to it (those of requested Objects, and of calls that ran for at least
	// CacheMinDuration). Calls that read the clock, randomness or mounted files, calls
	// declared impure, and calls that used their values are never written to it.
	Cache Cache
	// CacheMinDuration is how long an intermediate call must have run for its values to be
	// written to Cache: cheaper ones cost more to store than to compute again. Zero means
	// DefaultCacheMinDuration; negative means every call.
	CacheMinDuration time.Duration
	// Events, when set, is called as calls start and end, from the goroutine that runs the
	// call. It must be fast and safe for concurrent use.
	Events func(Event)
	// MaxDepth limits how deeply guests may nest spawns: host-level tasks have depth 0.
	// Zero means 100.
	MaxDepth int
	// MaxTasks limits how many tasks guests may spawn under one host-level Execute, so that a
	// spawn bomb fails with an error instead of exhausting memory. Zero means DefaultMaxTasks.
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
	// Nonce is set when the call was declared impure (Call.Impure): Key is then
	// abi.ImpureKey of the content key and Nonce.
	Nonce *[16]byte
	// Usage is for an executor to report what the attempt cost beyond what the
	// runtime.Result (or *runtime.CallError) it returns says: a remote executor sets the
	// fields its worker measured (Worker, ArgBytes, ResultBytes, Spawned, Guest, PeakMemory)
	// before Run returns. The engine fills in the fields left zero that it can measure itself,
	// and adds up the attempts of a call into Event.Usage; Wall and Attempts are its own.
	Usage Usage
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

// EventKind says what happened to a call.
type EventKind int

// The kinds of Event.
const (
	EventStart  EventKind = iota // the call was handed to the executor
	EventFinish                  // the call produced its value
	EventFail                    // the call failed (Err is set)
	EventSkip                    // the call will not run because a dependency failed (Err is set)
	EventRetry                   // an attempt failed and the call runs again (Err, Attempt are set)
	EventCached                  // the call's values came from Config.Cache: it did not run
	EventStored                  // the call's values were in the store already, or another execution ran it meanwhile: it did not run here
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
	// Execution is the ID of the host-level execution the call belongs to (Execution.ID), the
	// same for the tasks its functions spawned; Label is the label of that execution's context
	// (WithLabel). A service tells requests apart by them.
	Execution uint64
	Label     string
	// Impure is set on EventFinish when the call read the wall clock, randomness or a mounted
	// file, or used the value of a call that did, or was declared impure: its value is not
	// shared with other executions or cached. Effects says what the call itself read.
	Impure  bool
	Effects runtime.Effects
	// Usage is what the call cost, on EventFinish and EventFail.
	Usage Usage
}

// Usage is what one call cost (Event.Usage). Fields an executor cannot measure are zero.
type Usage struct {
	// Wall is the time from the start of the call's first attempt to its outcome, retries
	// included; Guest is the part of it spent running guest code.
	Wall, Guest time.Duration
	// PeakMemory is the largest size, in bytes, the linear memory of the instance that ran the
	// call reached during it.
	PeakMemory uint64
	// ArgBytes and ResultBytes are the sizes of the argument frame and of the result frame.
	ArgBytes, ResultBytes int
	// Spawned counts the tasks the call's guest spawned (nested spawn).
	Spawned int
	// Attempts is how many times the call ran: 1, or more with retries.
	Attempts int
	// Worker names the cluster worker that ran the call; empty in process.
	Worker string
}

type labelKey struct{}

// WithLabel returns a context whose executions' events carry label (Event.Label): give each
// request's context its own to attribute events to requests.
func WithLabel(ctx context.Context, label string) context.Context {
	return context.WithValue(ctx, labelKey{}, label)
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
	pins               PinStore // store, when it can hold values for executions
	cache              Cache
	cacheMin           time.Duration
	events             func(Event)
	nextID             atomic.Uint64 // the last Execution's ID
	keptPriv           atomic.Int64  // kept entries with an impure value

	mu    sync.Mutex
	fails map[abi.Key]*failRec // failures held by executions, so Value can report them
	kept  map[abi.Key]*kept    // what Execute keeps for its Objects until Forget
	// keptFails holds, by task key, the failure records Execute keeps until Forget.
	keptFails map[abi.Key]bool
	inflight  map[abi.Key]*flight // calls running now, in any execution
}

// Cache is a persistent result cache: values by key that outlive the process. Get reports a
// miss on any problem and Put is best effort; both are safe for concurrent use.
type Cache interface {
	Get(key abi.Key) ([]byte, bool)
	Put(key abi.Key, value []byte)
}

// TaskMemory is the memory the default task budget allows per nested task (DefaultMaxTasks):
// a task takes about 1 KiB of the host's memory while it is planned and run (a 1,000,000-child
// nested fan-out of the Go seed guest peaked at 0.95 GiB of RSS on 2026-12-08), so a spawn
// bomb stopped at the default limit holds about a quarter of the memory budget.
const TaskMemory = 4 << 10

// DefaultMaxTasks returns Config.MaxTasks when zero: one task per TaskMemory bytes of the
// machine's memory budget (runtime.DefaultMemoryBudget, three quarters of its memory), and at
// least 100,000: about 4.6 million on a machine with 24 GiB of memory.
func DefaultMaxTasks() int { return defaultMaxTasks() }

var defaultMaxTasks = sync.OnceValue(func() int {
	return int(max(100_000, runtime.DefaultMemoryBudget()/TaskMemory))
})

// DefaultCacheMinDuration is Config.CacheMinDuration when zero.
const DefaultCacheMinDuration = time.Millisecond

// New returns an Engine.
func New(cfg Config) *Engine {
	if cfg.Slots <= 0 {
		cfg.Slots = goruntime.GOMAXPROCS(0)
	}
	if cfg.Executor == nil {
		cfg.Executor = InProcess{}
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore(cfg.StoreBudget)
	}
	if cfg.CacheMinDuration == 0 {
		cfg.CacheMinDuration = DefaultCacheMinDuration
	}
	if cfg.MaxDepth <= 0 {
		cfg.MaxDepth = 100
	}
	if cfg.MaxTasks <= 0 {
		cfg.MaxTasks = DefaultMaxTasks()
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
	pins, _ := cfg.Store.(PinStore)
	return &Engine{
		pins:      pins,
		cache:     cfg.Cache,
		cacheMin:  cfg.CacheMinDuration,
		fails:     map[abi.Key]*failRec{},
		kept:      map[abi.Key]*kept{},
		keptFails: map[abi.Key]bool{},
		remote:    remote && re.SharesStore(),
		slots:     slots,
		maxDepth:  cfg.MaxDepth,
		maxTasks:  cfg.MaxTasks,
		maxWait:   int64(cfg.MaxWaiting),
		maxArg:    cfg.MaxArgument,
		timeout:   cfg.Timeout,
		retries:   cfg.Retries,
		exec:      cfg.Executor,
		store:     cfg.Store,
		events:    cfg.Events,
		inflight:  map[abi.Key]*flight{},
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
//
// The engine keeps the values of objs, and the errors of the calls that failed, until Forget
// of their Objects; the other values the execution computed stay in the store as a cache, up
// to Config.StoreBudget. A long-running program that
// executes many distinct graphs should use Run, whose Execution it releases when done.
func (e *Engine) Execute(ctx context.Context, objs ...*Object) error {
	x, err := e.Run(ctx, objs...)
	e.keep(x, objs)
	x.Release()
	return err
}

// execute runs objs as the host-level execution id, which holds what it uses in l.
func (e *Engine) execute(ctx context.Context, l *lease, id uint64, objs []*Object) error {
	for i, o := range objs {
		if o == nil {
			return fmt.Errorf("execute: object %d is nil", i)
		}
		if o.t.spawnErr() != nil {
			return o.t.spawnErr()
		}
	}
	label, _ := ctx.Value(labelKey{}).(string)
	r := e.plan(objs, l, id, label, 0, abi.Key{}, new(atomic.Int64))
	if len(r.order) > 0 {
		r.run(ctx)
	}
	return e.outcome(ctx, r, objs)
}

// node is a call in one execution. An execution of a million calls holds a million nodes:
// the fields are ordered so that a node fits a 64-byte allocation, and the flight of a call
// is allocated when it starts (see Engine.claim).
type node struct {
	t *task
	// fl is the flight of the call while it runs here, or that of another execution's run of
	// it while this node waits for that (waiting); nil otherwise (guarded by Engine.mu).
	fl         *flight
	dependents []*node
	err        error
	pending    int32 // dependencies not yet finished
	done       bool
	requested  bool // an Object of the execution's caller: its values are worth caching
	impure     bool // the call's value is its execution's alone (see Event.Impure)
}

// run is the state of one Execute.
type run struct {
	e         *Engine
	l         *lease            // what the host-level execution holds, shared by its nested executions
	id        uint64            // the host-level execution's ID
	label     string            // its context's label
	owner     *flight           // the call whose guest started this execution, when nested
	depth     int               // 0 for a host-level execution, parent's depth + 1 when nested
	parent    abi.Key           // the task whose guest started this execution, when nested
	budget    Budget            // nested tasks created under the host-level execution
	nodes     map[abi.Key]*node // while planning: the node of each call, for sharing
	found     map[abi.Key]bool  // while planning: calls found stored (and pinned); never false
	order     []*node           // every node, dependencies before dependents
	requested []*node           // the node of each requested Object, nil when already stored
	ready     chan *node
	mu        sync.Mutex
	remaining int
	running   atomic.Int32 // calls of this execution in the executor, for Event.Parallel
	finished  chan struct{}
}

func (e *Engine) plan(objs []*Object, l *lease, id uint64, label string, depth int, parent abi.Key, budget Budget) *run {
	r := &run{e: e, l: l, id: id, label: label, depth: depth, parent: parent, budget: budget, nodes: map[abi.Key]*node{}, found: map[abi.Key]bool{}, finished: make(chan struct{})}
	r.requested = make([]*node, len(objs))
	for i, o := range objs {
		if !r.planStored(o.t) {
			n := r.add(o.t)
			n.requested = true
			r.requested[i] = n
		}
	}
	r.nodes, r.found = nil, nil // only planning needs the index by key; a million-task graph saves ~60 MB
	r.remaining = len(r.order)
	r.ready = make(chan *node, len(r.order))
	for _, n := range r.order {
		if n.pending == 0 {
			r.ready <- n
		}
	}
	return r
}

// stored reports whether the execution has every output of t: as its own impure values, in
// the store (then it pins them for the execution), or in the persistent cache (then it copies
// them to the store, pinned).
func (r *run) stored(t *task) bool {
	if r.have(t) {
		if r.e.events != nil {
			r.event(Event{Kind: EventStored, Key: t.key, Func: t.fn})
		}
		return true
	}
	return r.cached(t)
}

// have is stored without the persistent cache.
func (r *run) have(t *task) bool {
	if _, ok := r.l.private(t.first.Key()); ok {
		return true
	}
	outs := t.outputs()
	if len(outs) == 1 {
		if r.e.pin(r.l, outs[0].Key()) {
			return true
		}
	} else {
		keys := make([]abi.Key, len(outs))
		for i, o := range outs {
			keys[i] = o.Key()
		}
		if r.e.pin(r.l, keys...) {
			return true
		}
	}
	return false
}

// planStored is stored for planning, which asks about a call once per dependent. A call that
// is not stored becomes a node (see add), so only the stored ones are remembered here: a graph
// of new calls plans without a second index.
func (r *run) planStored(t *task) bool {
	if r.found[t.key] {
		return true
	}
	found := r.stored(t)
	if found {
		r.found[t.key] = true
	}
	return found
}

// cached looks t's outputs up in the persistent cache and stores them when all are there.
func (r *run) cached(t *task) bool {
	if r.e.cache == nil || t.impure || r.e.remote {
		return false
	}
	outs := t.outputs()
	vals := make([][]byte, len(outs))
	for i, o := range outs {
		v, ok := r.e.cache.Get(o.Key())
		if !ok || abi.ValidateResult(v) != nil {
			return false
		}
		vals[i] = v
	}
	for i, o := range outs {
		r.e.put(r.l, o.Key(), vals[i])
	}
	if r.e.events != nil {
		r.event(Event{Kind: EventCached, Key: t.key, Func: t.fn})
	}
	return true
}

func (r *run) add(t *task) *node {
	if n, ok := r.nodes[t.key]; ok {
		return n
	}
	n := &node{t: t}
	r.nodes[t.key] = n
	for _, d := range t.deps() {
		if _, ok := r.nodes[d.key]; !ok && r.planStored(d) {
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
		case f == nil: // produced by another execution in the meantime, or while this one waited for it
			if r.e.events != nil {
				r.event(Event{Kind: EventStored, Key: t.key, Func: t.fn})
			}
			return r.succeed(n)
		case !wait:
			if !sl.held {
				if err := sl.acquire(ctx, r.e); err != nil {
					r.e.land(n, f, err)
					return nil
				}
			}
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
			// Claim again: that pins the value for this execution, or finds that there is
			// none to share (the call was impure) and runs the call here.
			continue
		case errors.Is(f.err, runtime.ErrInterrupted) && ctx.Err() == nil:
			// Its execution was cancelled, this one was not: run the call here.
			continue
		}
		r.fail(n, t.error(unwrapTask(f.err)))
		return nil
	}
}

// store keeps the outputs of n's result, the value itself or its n_output elements under their
// output keys: in the store, pinned for the execution, or, when the call was impure, as the
// execution's own values. The values of a pure call that was requested or took at least
// Config.CacheMinDuration also go to the persistent cache.
func (r *run) store(n *node, res runtime.Result, took time.Duration) error {
	t := n.t
	parts := [][]byte{res.Value}
	if t.nOutput > 1 {
		var err error
		if parts, err = abi.SplitArray(res.Value, t.nOutput); err != nil {
			return err
		}
	}
	n.impure = n.impure || t.impure || res.Effects != 0
	outs := t.outputs()
	for i, p := range parts {
		if n.impure {
			r.l.setPrivate(outs[i].Key(), p)
		} else {
			r.e.put(r.l, outs[i].Key(), p)
		}
	}
	if !n.impure && r.e.cache != nil && (n.requested || took >= r.e.cacheMin || r.e.cacheMin < 0) {
		for i, p := range parts {
			r.e.cache.Put(outs[i].Key(), p)
		}
	}
	return nil
}

// event sends ev, completed with what identifies the execution, to Config.Events.
func (r *run) event(ev Event) {
	ev.Time = time.Now()
	ev.Parent, ev.Depth, ev.Execution, ev.Label = r.parent, r.depth, r.id, r.label
	r.e.events(ev)
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
	retries, timeout := int(t.retries), t.timeout
	if retries < 0 {
		retries = r.e.retries
	}
	if timeout < 0 {
		timeout = r.e.timeout
	}
	par := r.running.Add(1)
	if r.e.events != nil {
		r.event(Event{Kind: EventStart, Key: t.key, Func: t.fn, Slot: sl.n, Parallel: int(par)})
	}
	var res runtime.Result
	var err error
	var start, first time.Time
	var u Usage // what the attempts cost, summed: only with Config.Events
	attempt := 1
	for ; ; attempt++ {
		start = time.Now()
		if attempt == 1 {
			first = start
		}
		res, err = r.attempt(ctx, n, sl, f, timeout)
		if r.e.events != nil {
			u.add(&sl.task.Usage, res, err)
		}
		if err == nil || attempt > retries || ctx.Err() != nil || !retryable(err) {
			break
		}
		if r.e.events != nil {
			r.event(Event{Kind: EventRetry, Key: t.key, Func: t.fn, Slot: sl.n, Err: err, Attempt: attempt})
		}
	}
	if r.e.events != nil {
		u.Wall, u.Attempts = time.Since(first), attempt
	}
	if err != nil && attempt > 1 {
		err = &RetryError{Attempts: attempt, Err: err}
	}
	if err == nil && !r.e.remote { // a remote executor's workers stored the outputs
		err = r.store(n, res, time.Since(start))
	}
	r.running.Add(-1)
	if err != nil {
		if r.e.events != nil {
			var ce *runtime.CallError
			ev := Event{Kind: EventFail, Key: t.key, Func: t.fn, Slot: sl.n, Err: err, Stdout: res.Stdout, Stderr: res.Stderr, Usage: u}
			if errors.As(err, &ce) {
				ev.Stdout, ev.Stderr = ce.Stdout, ce.Stderr
			}
			r.event(ev)
		}
		te := t.error(err)
		r.fail(n, te)
		return nil, te
	}
	if r.e.events != nil {
		r.event(Event{Kind: EventFinish, Key: t.key, Func: t.fn, Slot: sl.n, Stdout: res.Stdout, Stderr: res.Stderr, Impure: n.impure, Effects: res.Effects, Usage: u})
	}
	return r.succeed(n), nil
}

// attempt runs n's call once: it builds the argument frame (and, for guests that spawn, a fresh
// handle scope) and hands the task to the executor, under the per-task timeout if any.
func (r *run) attempt(ctx context.Context, n *node, sl *slot, f *flight, timeout time.Duration) (runtime.Result, error) {
	t := n.t
	task := &sl.task
	*task = Task{Key: t.key, Func: t.fn, NOutput: t.nOutput, Template: t.tmpl, Inputs: task.Inputs[:0]}
	if t.impure {
		task.Nonce = t.nonce
	}
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
	holes := t.holes()
	task.Inputs = slices.Grow(task.Inputs, len(holes))[:len(holes)]
	defer clear(task.Inputs) // drop references to values while the worker idles
	if r.e.events != nil {
		// Only then does the runtime read the clock around the guest (Usage.Guest); like the
		// scope's, the context is reused while the execution's stays the same.
		if sl.usageParent != ctx {
			sl.usageParent, sl.usageCtx = ctx, runtime.WithUsage(ctx)
		}
		ctx = sl.usageCtx
	}
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
	for i, o := range holes {
		if t.tmpl.ByRef(i) {
			task.Inputs[i] = abi.AppendHandle(nil, sc.add(o))
			continue
		}
		v, priv, ok := r.get(o.Key())
		if !ok { // only a Store that cannot pin (see PinStore) loses a value while it is used
			return runtime.Result{}, fmt.Errorf("value of dependency %s is no longer in the store", o)
		}
		n.impure = n.impure || priv
		task.Inputs[i] = v
	}
	size := -1
	if r.e.maxArg > 0 || r.e.events != nil {
		size = t.tmpl.Size(task.Inputs)
	}
	if r.e.events != nil {
		task.Usage.ArgBytes = size // an executor that measures otherwise says so in Run
	}
	if r.e.maxArg > 0 && size > r.e.maxArg {
		return runtime.Result{}, &ArgumentError{Size: size, Limit: r.e.maxArg}
	}
	res, err := r.e.exec.Run(ctx, task)
	if sc != nil && sc.impure { // the guest fetched an impure value
		n.impure = true
	}
	if r.e.events != nil {
		if sc != nil && task.Usage.Spawned == 0 {
			task.Usage.Spawned = sc.spawned
		}
	}
	return res, err
}

// add counts one attempt into u: what the executor reported in tu, completed from the
// attempt's result or error. Guest time and spawned tasks add up over attempts; memory is the
// largest any attempt's instance reached; the sizes and the worker are the last attempt's.
func (u *Usage) add(tu *Usage, res runtime.Result, err error) {
	guest, mem := res.Guest, res.Memory
	var ce *runtime.CallError
	if err != nil && errors.As(err, &ce) {
		guest, mem = ce.Guest, ce.Memory
	}
	if tu.Guest != 0 {
		guest = tu.Guest
	}
	if tu.PeakMemory != 0 {
		mem = tu.PeakMemory
	}
	u.Guest += guest
	u.PeakMemory = max(u.PeakMemory, mem)
	u.Spawned += tu.Spawned
	u.ArgBytes, u.Worker = tu.ArgBytes, tu.Worker
	u.ResultBytes = tu.ResultBytes
	if u.ResultBytes == 0 && err == nil {
		u.ResultBytes = len(res.Value)
	}
}

// get returns the value of key k as this execution sees it, and whether it is one of the
// execution's impure values.
func (r *run) get(k abi.Key) (v []byte, priv, ok bool) {
	if v, ok := r.l.private(k); ok {
		return v, true, true
	}
	v, ok = r.e.store.Get(k)
	return v, false, ok
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
			r.event(Event{Kind: EventSkip, Key: d.t.key, Func: d.t.fn, Err: d.err})
		}
	}
}

func (r *run) finishLocked(count int) {
	r.remaining -= count
	if r.remaining == 0 {
		close(r.finished)
	}
}

// outcome turns the state of an execution into Execute's error, and has the execution's lease
// hold its failures.
func (e *Engine) outcome(ctx context.Context, r *run, objs []*Object) error {
	var failed []*node
	for _, n := range r.order {
		if n.err != nil {
			failed = append(failed, n)
		}
	}
	e.recordFailures(r.l, failed)

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
// been executed (or its value was forgotten, or evicted from the store after the execution that
// held it was released), and with o's *TaskError if its execution failed.
func (e *Engine) Value(ctx context.Context, o *Object) ([]byte, error) {
	if err := readable(ctx, o); err != nil {
		return nil, err
	}
	if e.keptPriv.Load() > 0 {
		e.mu.Lock()
		kp := e.kept[o.Key()]
		e.mu.Unlock()
		if kp != nil && kp.priv != nil {
			return kp.priv, nil
		}
	}
	if v, err := e.get(ctx, o.Key()); v != nil || err != nil {
		return v, err
	}
	if err := e.failure(o); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("fetch %s: %w", o, ErrNotExecuted)
}

// ContextStore is a Store whose reads can wait (on a network, say): Engine.Value and
// Execution.Value read through GetContext, so that their context bounds the wait.
type ContextStore interface {
	Store
	// GetContext returns key's value, nil and no error when the store has none, or the error
	// that kept it from finding out.
	GetContext(ctx context.Context, key abi.Key) ([]byte, error)
}

// get reads k from the store, through GetContext when it has one.
func (e *Engine) get(ctx context.Context, k abi.Key) ([]byte, error) {
	if cs, ok := e.store.(ContextStore); ok {
		v, err := cs.GetContext(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("read %s from the store: %w", k, err)
		}
		return v, nil
	}
	v, _ := e.store.Get(k)
	return v, nil
}

// Fetch decodes o's value into v, which must be a pointer, like json.Unmarshal.
func (e *Engine) Fetch(ctx context.Context, o *Object, v any) error {
	return fetch(ctx, e, o, v)
}

// FetchAll decodes the values of objs from src (an *Engine or an *Execution): integers as
// int64 (uint64 above MaxInt64), floats as float64, arrays as []any, maps as map[string]any.
func FetchAll(ctx context.Context, src Source, objs ...*Object) ([]any, error) {
	out := make([]any, len(objs))
	for i, o := range objs {
		if err := fetch(ctx, src, o, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// FetchAll decodes the values of objs, like the function FetchAll.
func (e *Engine) FetchAll(ctx context.Context, objs ...*Object) ([]any, error) {
	return FetchAll(ctx, e, objs...)
}

// RootCause returns the *TaskError of the call that failed first in err's chain: following
// ErrDependencyFailed from a call to the dependency that made it fail, down to a call that
// failed on its own. It returns nil when err holds no *TaskError. For an error that joins the
// failures of several requested Objects, it follows the first.
func RootCause(err error) *TaskError {
	var te *TaskError
	if !errors.As(err, &te) {
		return nil
	}
	for errors.Is(te.Err, ErrDependencyFailed) {
		var dep *TaskError
		if !errors.As(te.Err, &dep) {
			break
		}
		te = dep
	}
	return te
}
