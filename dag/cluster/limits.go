package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"
)

// defaultAckWait is the default of Options.AckWait: a worker that dies (killed, frozen, cut
// off) loses its calls to other workers within it, since running calls heartbeat four times
// per AckWait (beatInterval).
const defaultAckWait = 2 * time.Second

// CoordinatorBucket holds a heartbeat per coordinator (an Executor): coordinator id → the
// time it last wrote, expiring after CoordinatorTTL. A worker drops the calls of a
// coordinator whose heartbeat is gone: nobody waits for their results.
const CoordinatorBucket = "mrun_coordinators"

// CoordinatorTTL is how long a coordinator's heartbeat stays in CoordinatorBucket: a
// coordinator that has not written one for this long is gone. Coordinators write one every
// third of it.
const CoordinatorTTL = 30 * time.Second

// coordinatorCheck is how often a worker checks that the coordinators of its running calls
// are still there, and how long it trusts a check for the calls it takes.
var coordinatorCheck = CoordinatorTTL / 3

// errCoordinatorGone is the cause of a call a worker dropped because its coordinator left.
var errCoordinatorGone = fmt.Errorf("its coordinator has written no heartbeat to %s for %v: nobody waits for it, so the worker dropped it", CoordinatorBucket, CoordinatorTTL)

// beat keeps this executor's heartbeat in CoordinatorBucket until ctx ends. The first write
// happens before the executor publishes anything: when it fails (credentials that may not
// write the bucket), the executor's calls carry no coordinator id and workers do not apply
// the rule to them.
func (x *Executor) beat(ctx context.Context) {
	put := func() error { return x.putBeat(ctx) }
	if x.c.coordinators == nil || put() != nil {
		return
	}
	x.mu.Lock()
	x.coord = x.id
	x.mu.Unlock()
	go func() {
		t := time.NewTicker(CoordinatorTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				_ = put()
			}
		}
	}()
}

// putBeat writes this executor's heartbeat once.
func (x *Executor) putBeat(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := x.c.coordinators.Put(pctx, x.id, []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	return err
}

// beatNow writes this executor's heartbeat at once, when it keeps one, trying for a few
// seconds: after an outage longer than CoordinatorTTL the server has expired it, and the
// workers, back at the same moment, would take this coordinator for gone.
func (x *Executor) beatNow() {
	x.mu.Lock()
	keeps := x.coord != ""
	x.mu.Unlock()
	if !keeps || x.c.coordinators == nil {
		return
	}
	for attempt := 0; attempt < 5; attempt++ {
		if x.putBeat(context.Background()) == nil || x.c.nc.IsClosed() {
			return
		}
		time.Sleep(time.Duration(100<<attempt) * time.Millisecond)
	}
}

// coordGrace is how long after its own connection comes back from an outage a worker does
// not believe a coordinator gone for want of a heartbeat: the coordinator, which was cut off
// too, writes its heartbeat as soon as it is back, and may be back a little later.
var coordGrace = CoordinatorTTL / 3

// coordAlive reports whether the coordinator id still writes its heartbeat. A check is
// trusted for coordinatorCheck, so a worker asks the server about each coordinator at most
// that often, not once per call; when the server cannot answer, the coordinator is taken to
// be there.
func (w *worker) coordAlive(ctx context.Context, id string) bool {
	w.mu.Lock()
	seen, ok := w.coords[id]
	w.mu.Unlock()
	if ok && time.Since(seen) < coordinatorCheck {
		return true
	}
	gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := w.c.coordinators.Get(gctx, id)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		if w.c.isDown() { // back, and checking the server's state: the outage is not over
			return true
		}
		if d, ok := w.c.sinceBack(); ok && d < coordGrace {
			return true // not cached: asked again once the grace is over
		}
		w.mu.Lock()
		delete(w.coords, id)
		w.mu.Unlock()
		return false
	}
	w.mu.Lock()
	w.coords[id] = time.Now()
	w.mu.Unlock()
	return true
}

// watchCoordinators interrupts, every coordinatorCheck until ctx ends, the running calls whose
// coordinator is gone.
func (w *worker) watchCoordinators(ctx context.Context) {
	t := time.NewTicker(coordinatorCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		byCoord := map[string][]context.CancelCauseFunc{}
		w.mu.Lock()
		for _, c := range w.calls {
			if c.coord != "" {
				byCoord[c.coord] = append(byCoord[c.coord], c.cancel)
			}
		}
		for id := range w.coords { // forget coordinators with no running call: the next call asks again
			if _, ok := byCoord[id]; !ok {
				delete(w.coords, id)
			}
		}
		w.mu.Unlock()
		for id, cancels := range byCoord {
			w.mu.Lock()
			delete(w.coords, id) // ask the server, not the cache
			w.mu.Unlock()
			if !w.coordAlive(ctx, id) {
				w.cfg.Logf("worker %s: coordinator %s is gone: interrupting its %d call(s)", w.cfg.ID, id, len(cancels))
				for _, cancel := range cancels {
					cancel(errCoordinatorGone)
				}
			}
		}
	}
}

// stricter returns the stricter of two limits, where 0 means none.
func stricter(a, b int) int {
	switch {
	case a <= 0:
		return b
	case b <= 0 || a < b:
		return a
	}
	return b
}

// nesting is what a call running on a worker passes on to the calls its guest spawns: their
// depth, the limits of the graph, and the name of its task budget in BudgetBucket.
type nesting struct {
	depth              int
	maxDepth, maxTasks int
	budget             string
	// events and root are the subject the events of nested calls go to and the attempt id of
	// the host-level call they belong to (taskMsg.Events and Root); empty: nobody asked.
	events, root string
}

// BudgetBucket holds the task budgets of the graphs whose calls spawn on the cluster: the id
// of the host-level call a tree of nested calls started from → how many tasks the tree's
// guests spawned, which dag.Config.MaxTasks (or a worker's MaxTasks) limits. Entries expire
// an hour after their last change.
const BudgetBucket = "mrun_budgets"

// treeBudget is the dag.Budget of the nested calls of one host-level call, shared through
// BudgetBucket by every worker that runs one of them, so that a spawn bomb spread over the
// cluster meets the limit it meets in process.
type treeBudget struct {
	c     *Conn
	id    string
	local atomic.Int64 // counts instead while the server does not answer
}

// Add adds n to the budget's count, and returns the count (dag.Budget): a compare-and-set
// on the entry, tried again while spawns on other workers change it meanwhile.
func (b *treeBudget) Add(n int64) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 64 {
		e, err := b.c.budgets.Get(ctx, b.id)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if _, err := b.c.budgets.Create(ctx, b.id, strconv.AppendInt(nil, n, 10)); err == nil {
				return n
			}
			continue
		}
		if err != nil {
			break
		}
		count, _ := strconv.ParseInt(string(e.Value()), 10, 64)
		if _, err := b.c.budgets.Update(ctx, b.id, strconv.AppendInt(nil, count+n, 10), e.Revision()); err == nil {
			return count + n
		}
	}
	// The server cannot keep the count: this call's own spawns still stop at the limit.
	return b.local.Add(n)
}

// nestingKey is the context key of a nesting.
type nestingKey struct{}

// SetNesting sets the nesting limits the calls this executor publishes carry to the
// workers: give it the engine's dag.Config.MaxDepth and MaxTasks. Workers apply these or
// their own (WorkerConfig.MaxDepth and MaxTasks), whichever are stricter, and refuse a
// spawn past them with the message an engine in process gives. Zero leaves a limit to the
// workers.
func (x *Executor) SetNesting(maxDepth, maxTasks int) {
	x.mu.Lock()
	x.maxDepth, x.maxTasks = max(maxDepth, 0), max(maxTasks, 0)
	x.mu.Unlock()
}

// maxEngines bounds how many engines (one per pair of nesting limits) a worker keeps.
const maxEngines = 64

// engine returns the worker's engine for the nested graphs of calls with these limits.
func (w *worker) engine(maxDepth, maxTasks int) *dag.Engine {
	k := [2]int{maxDepth, maxTasks}
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.engines[k]
	if e == nil {
		if len(w.engines) >= maxEngines {
			// The limits come from task messages, which anyone who may publish can forge:
			// they must not grow the map without bound. Running calls keep their engines.
			clear(w.engines)
		}
		e = dag.New(dag.Config{Slots: 1024, Executor: w.c.Executor(), Store: w.store, MaxDepth: maxDepth, MaxTasks: maxTasks, Events: w.forward})
		w.engines[k] = e
	}
	return e
}

// callContext returns the context of an attempt of t: its own deadline or the worker's
// MaxTimeout, whichever comes first, and a cancel function that records why it was cancelled.
func (w *worker) callContext(ctx context.Context, t *taskMsg) (context.Context, context.CancelCauseFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.CancelFunc(func() {})
	if limit := w.cfg.MaxTimeout; limit > 0 && (t.Timeout <= 0 || time.Duration(t.Timeout) > limit) {
		ctx, stop = context.WithTimeoutCause(ctx, limit, fmt.Errorf("%w: the worker's limit of %v per call (raise it with mrun worker --max-timeout)", context.DeadlineExceeded, limit))
	} else if t.Timeout > 0 {
		ctx, stop = context.WithTimeout(ctx, time.Duration(t.Timeout))
	}
	return ctx, func(err error) { cancel(err); stop() }
}

// route is where the events of the calls one running call's guest spawns go.
type route struct {
	subject, root string
}

// addRoute sends the events of the calls that the call of key spawns to r, until the
// returned function is called.
func (w *worker) addRoute(key abi.Key, r route) (remove func()) {
	w.mu.Lock()
	w.routes[key] = append(w.routes[key], r)
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		rs := w.routes[key]
		for i := range rs {
			if rs[i] == r {
				rs = slices.Delete(rs, i, i+1)
				break
			}
		}
		if len(rs) == 0 {
			delete(w.routes, key)
		} else {
			w.routes[key] = rs
		}
	}
}

// forward is the Events of the worker's engines: it publishes the event of a nested call to
// the coordinator of the host-level call its tree started from, when that coordinator asked
// for events, so that its progress counts nested calls as an engine in process does. Two
// calls of one key running on this worker at once (their children are the same calls, run
// once) report to the first of their coordinators.
func (w *worker) forward(ev dag.Event) {
	w.mu.Lock()
	rs := w.routes[ev.Parent]
	var r route
	if len(rs) > 0 {
		r = rs[0]
	}
	w.mu.Unlock()
	if r.subject == "" || ev.Func == nil {
		return
	}
	em := eventMsg{Root: r.root, Kind: int(ev.Kind), Key: ev.Key[:], Parent: ev.Parent[:], Depth: ev.Depth,
		Module: ev.Func.Module().SumHex(), Func: ev.Func.Name(), Attempt: ev.Attempt, Impure: ev.Impure,
		Stdout: capOutput(ev.Stdout), Stderr: capOutput(ev.Stderr), Usage: toUsageMsg(ev.Usage)}
	if ev.Err != nil {
		em.Err = toWire(ev.Err)
	}
	b, err := msgpack.Marshal(&doneMsg{Worker: w.cfg.ID, Event: &em})
	if err != nil {
		return
	}
	_ = w.c.nc.Publish(r.subject, b)
}

// capOutput returns at most the last maxEventOutput bytes of b.
func capOutput(b []byte) []byte {
	if len(b) > maxEventOutput {
		return b[len(b)-maxEventOutput:]
	}
	return b
}
