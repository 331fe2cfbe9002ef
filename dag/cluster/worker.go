package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
	"github.com/vmihailenco/msgpack/v5"
)

// WorkerConfig configures RunWorker.
type WorkerConfig struct {
	// Runtime runs the calls; modules are loaded into it as calls need them.
	Runtime *runtime.Runtime
	// Slots is how many calls the worker runs at once; it pulls a call only when a slot is
	// free. Zero means 1.
	Slots int
	// ID names the worker in heartbeats and completions. Empty: host name, process id and a
	// random suffix.
	ID string
	// Logf, if set, receives one line per event worth a log: start, stop, failures to talk
	// to the server.
	Logf func(format string, args ...any)
	// MaxTimeout limits how long one attempt of a call may run on this worker, whatever
	// deadline the call carries (a call with none would otherwise run until its guest
	// returns). Zero means no limit of the worker's own.
	MaxTimeout time.Duration
	// MaxDepth and MaxTasks limit the nested spawns of the calls this worker runs, like
	// dag.Config's: a call carries its graph's limits, and the stricter of those and these
	// applies. Zero means none of the worker's own (the calls' limits, or dag's defaults).
	MaxDepth, MaxTasks int
	// StoreWait is how long the worker keeps trying to store a finished call's outputs, to
	// acknowledge the call and to report it while the server does not answer (it restarts, or
	// the network is down). Past it the worker gives the call up without reporting a failure:
	// the call stays unacknowledged, and JetStream delivers it again once the server is back.
	// Zero means DefaultStoreWait.
	StoreWait time.Duration
}

// DefaultStoreWait is the default of WorkerConfig.StoreWait.
const DefaultStoreWait = 10 * time.Minute

// WorkerInfo is a worker's heartbeat, as stored in WorkerBucket.
type WorkerInfo struct {
	ID    string `json:"id"`
	Host  string `json:"host"`
	PID   int    `json:"pid"`
	Slots int    `json:"slots"`
	// Running is how many calls were running their guest at the heartbeat: at most Slots (a
	// call that waits on the calls its guest spawned gives its slot back, and is not counted).
	Running int `json:"running"`
	// Storing is how many calls whose guest had returned were storing their outputs,
	// acknowledging and reporting: a worker does this without holding a slot.
	Storing  int       `json:"storing"`
	Done     uint64    `json:"done"`
	Failed   uint64    `json:"failed"`
	Started  time.Time `json:"started"`
	LastSeen time.Time `json:"last_seen"`
	// CallNanos is how long the worker's recent calls took, by function (its module's
	// SHA-256 in hex, a dot, its name): a moving average, in nanoseconds, of the time to read
	// a call's inputs and run its guest, for at most 64 functions. A coordinator that has not
	// seen a function's calls end yet sizes its batches of them with it.
	CallNanos map[string]int64 `json:"call_ns,omitempty"`
}

// worker is the state of one RunWorker.
type worker struct {
	c    *Conn
	cfg  WorkerConfig
	info WorkerInfo

	running      atomic.Int64 // calls holding a slot and running their guest
	storing      atomic.Int64 // calls storing and reporting their outputs
	done, failed atomic.Uint64
	tokens       chan struct{}        // one per free slot
	feed         atomic.Pointer[feed] // asks the server for calls; nil until the worker pulls
	store        *Store               // the store of the graphs the worker's calls spawn

	mu      sync.Mutex
	calls   map[string]runningCall // attempt id → the call, for CancelSubject and its coordinator's checks
	modules map[string]*moduleLoad // SHA-256 hex → the module, loaded or loading
	coords  map[string]time.Time   // coordinator id → when its heartbeat was last seen
	engines map[[2]int]*dag.Engine // nesting limits → the engine that runs the graphs of calls with them
	routes  map[abi.Key][]route    // running call's key → where its spawns' events go (forward)
	// cancelled holds the attempt ids cancelled before this worker started them: a batched
	// call is skipped when its turn comes (noteCancelled).
	cancelled map[string]struct{}

	beatMu  sync.Mutex
	beating map[*nats.Msg]struct{} // the messages of the calls held, heartbeat by beat

	tookMu sync.Mutex
	took   map[string]int64 // WorkerInfo.CallNanos
}

// runningCall is a call a worker runs.
type runningCall struct {
	cancel context.CancelCauseFunc
	coord  string // its coordinator's id; empty: the call carries none
}

// RunWorker pulls calls from TaskStream and runs them until ctx is cancelled, with at most
// cfg.Slots at once. For each call it loads the module (once), reads the inputs from the
// Store, runs the function, writes the outputs to the Store, and only then acknowledges the
// message, so a worker that dies mid-call loses nothing: JetStream delivers the call again
// after AckWait. Long calls are kept alive with heartbeats.
//
// A worker trusts no task message: it checks the module's bytes against their SHA-256 and
// the call's key against its content before it runs anything, applies its own limits
// (cfg.MaxTimeout, MaxDepth, MaxTasks) as well as the call's, and drops the calls of a
// coordinator whose heartbeat in CoordinatorBucket is gone.
func (c *Conn) RunWorker(ctx context.Context, cfg WorkerConfig) error {
	if cfg.Runtime == nil {
		return errors.New("cluster: RunWorker needs a runtime")
	}
	if cfg.Slots <= 0 {
		cfg.Slots = 1
	}
	host, _ := os.Hostname()
	if cfg.ID == "" {
		cfg.ID = defaultWorkerID(host)
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.StoreWait <= 0 {
		cfg.StoreWait = DefaultStoreWait
	}
	w := &worker{c: c, cfg: cfg, calls: map[string]runningCall{}, modules: map[string]*moduleLoad{},
		coords: map[string]time.Time{}, engines: map[[2]int]*dag.Engine{}, routes: map[abi.Key][]route{},
		info:   WorkerInfo{ID: cfg.ID, Host: host, PID: os.Getpid(), Slots: cfg.Slots, Started: time.Now()},
		tokens: make(chan struct{}, cfg.Slots),
		store:  newStore(c, false)}
	for range cfg.Slots {
		w.tokens <- struct{}{}
	}
	if _, err := c.js.Consumer(ctx, TaskStream, WorkerGroup); err != nil {
		return fmt.Errorf("cluster: consumer %s: %w", WorkerGroup, err)
	}
	sub, err := c.nc.Subscribe(CancelSubject, func(m *nats.Msg) {
		w.mu.Lock()
		call, ok := w.calls[string(m.Data)]
		w.mu.Unlock()
		if ok {
			call.cancel(context.Canceled)
		} else {
			w.noteCancelled(string(m.Data))
		}
	})
	if err != nil {
		return fmt.Errorf("cluster: subscribe to %s: %w", CancelSubject, err)
	}
	defer sub.Unsubscribe()
	_ = c.nc.Flush()

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { w.heartbeat(ctx) })
	wg.Go(func() { w.beat(ctx) })
	if c.coordinators != nil {
		wg.Go(func() { w.watchCoordinators(ctx) })
	}
	cfg.Logf("worker %s: %d slot%s, pulling from %s", cfg.ID, cfg.Slots, map[bool]string{true: "s"}[cfg.Slots != 1], TaskStream)
	if c.opts.AckWait > defaultAckWait {
		cfg.Logf("worker %s: the workers' consumer %s has AckWait %v: the calls of a worker that dies run again only after that long (delete the consumer while no graph runs, and the next connection creates it with %v)",
			cfg.ID, WorkerGroup, c.opts.AckWait, defaultAckWait)
	}
	err = w.pull(ctx, &wg)
	stop()
	wg.Wait()
	if err != nil {
		return err
	}
	bye, cancel := context.WithTimeout(context.Background(), time.Second)
	_ = c.workers.Delete(bye, cfg.ID) // gone at once from listings, rather than after WorkerTTL
	cancel()
	cfg.Logf("worker %s: stopped after %d calls (%d failed)", cfg.ID, w.done.Load(), w.failed.Load())
	return nil
}

// callSlot is the slot of one call (dag.Slot): the call holds it from its delivery until its
// guest returns, except while it waits on its children. It remembers whether it holds the
// slot, so that a token goes back to the worker only for a slot held: an Acquire that fails
// (the call was cancelled while its children ran) holds nothing, and the release at the end
// of the call must then give nothing back, or the worker would gain a slot and, once its
// pull loop stops taking tokens, block forever returning it. A call's slot is used by the
// goroutine that runs the call only (the guest's spawns run on it), so it needs no lock.
type callSlot struct {
	w    *worker
	held bool
	// guest: the call is past its checks and runs its guest, so the slot held counts in
	// WorkerInfo.Running.
	guest bool
}

// start counts the call as running its guest from now on, while it holds the slot.
func (s *callSlot) start() {
	s.guest = true
	if s.held {
		s.w.running.Add(1)
	}
}

// Release gives the slot back to the worker, if the call holds it: a call that waits on its
// children lets the worker run other calls meanwhile. The send never blocks: the tokens out
// never exceed the worker's slots.
func (s *callSlot) Release() {
	if s.held {
		s.held = false
		if s.guest {
			s.w.running.Add(-1)
		}
		s.w.tokens <- struct{}{}
		if f := s.w.feed.Load(); f != nil {
			f.refill()
		}
	}
}

// Acquire takes a slot again for a call whose children have finished. When every free slot
// is promised to a pull request, it takes one of those: a call that has started comes before
// calls still in the queue, and must not wait for a request to expire.
func (s *callSlot) Acquire(ctx context.Context) error {
	if s.held {
		return nil
	}
	select {
	case <-s.w.tokens:
		s.take()
		return nil
	default:
	}
	if f := s.w.feed.Load(); f != nil {
		defer f.reclaim()()
	}
	select {
	case <-s.w.tokens:
		s.take()
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (s *callSlot) take() {
	s.held = true
	if s.guest {
		s.w.running.Add(1)
	}
}

func (w *worker) heartbeat(ctx context.Context) {
	t := time.NewTicker(WorkerTTL / 4)
	defer t.Stop()
	for {
		info := w.info
		info.Running, info.Storing = int(w.running.Load()), int(w.storing.Load())
		info.Done, info.Failed, info.LastSeen = w.done.Load(), w.failed.Load(), time.Now()
		w.tookMu.Lock()
		info.CallNanos = maps.Clone(w.took)
		w.tookMu.Unlock()
		if b, err := json.Marshal(info); err == nil {
			if _, err := w.c.workers.Put(ctx, w.cfg.ID, b); err != nil && ctx.Err() == nil {
				w.cfg.Logf("worker %s: heartbeat: %v", w.cfg.ID, err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// handle runs one delivered call and settles its message. It gives the call's slot back as
// soon as the guest returns, so that storing, acknowledging and reporting, which wait on the
// network, overlap the next call.
func (w *worker) handle(ctx context.Context, m *nats.Msg, slot *callSlot) {
	if isBatch(m.Data) {
		w.handleBatch(ctx, m, slot)
		return
	}
	t, err := decodeTask(m.Data)
	if err != nil {
		w.cfg.Logf("worker %s: dropping a malformed task message: %v", w.cfg.ID, err)
		_ = w.c.nc.Publish(m.Reply, ackTerm)
		return
	}
	if ctx.Err() != nil { // the worker is stopping: leave the call to another worker
		_ = w.c.nc.Publish(m.Reply, ackNak)
		return
	}
	// Heartbeats keep the message ours from now until it is settled: while the worker checks
	// the coordinator, fetches the module and the inputs, runs the guest (and the guest waits
	// on its children), and stores the outputs. AckWait is short so that the calls of a
	// worker that dies run again soon; a live worker's calls must not go to another.
	stopBeat := w.keepAlive(m)
	defer stopBeat()
	if t.Coord != "" && w.c.coordinators != nil && !w.coordAlive(ctx, t.Coord) {
		// Queued by a coordinator that is gone: nobody would read the result.
		stopBeat()
		w.drop(ctx, m, t)
		return
	}
	if w.settleStored(ctx, m, t, stopBeat) {
		return
	}
	slot.start()
	done, out := w.execute(ctx, t, slot)
	switch out {
	case outGiveBack:
		stopBeat()
		_ = w.c.nc.Publish(m.Reply, ackNak)
		return
	case outDropped:
		stopBeat()
		w.drop(ctx, m, t)
		return
	}
	b, _ := msgpack.Marshal(&done)
	// The outputs are stored; only now is the call acknowledged, before the coordinator hears
	// of the result: the server handles a connection's messages in order. The heartbeats stop
	// first: a progress message that reached the server after the acknowledgement would mean
	// nothing. An acknowledgement the server loses (it restarted) makes it deliver the call
	// again, and the worker that gets it finds the outputs stored (settleStored).
	stopBeat()
	w.settle(ctx, m, t, b)
}

// outcome is how an attempt to run a call ended, as execute reports it.
type outcome int

const (
	outDone     outcome = iota // the call ran: its outputs are stored, or it failed; report it
	outGiveBack                // the worker is stopping, or could not store the outputs: another worker runs it
	outDropped                 // its coordinator is gone: nobody would read the result
)

// execute runs the call of t on slot, which the call holds, and stores its outputs. It
// releases the slot once the guest has returned. On outDone, the returned message reports the
// end of the call, success or failure.
func (w *worker) execute(ctx context.Context, t *taskMsg, slot *callSlot) (doneMsg, outcome) {
	a, out := w.attempt(ctx, t, slot, false)
	if out != outDone {
		return doneMsg{}, out
	}
	w.storing.Add(1)
	defer w.storing.Add(-1)
	if a.err == nil && beforeStore != nil {
		beforeStore()
	}
	if a.err == nil {
		// The guest has returned: its deadline no longer applies, and a server that is away
		// (restarting) is waited for, up to StoreWait, rather than blamed on the call.
		if err := w.storeOutputs(ctx, t, a.outputs); errors.Is(err, errGaveUp) {
			return doneMsg{}, outGiveBack
		} else if err != nil {
			a.err = err
		}
	}
	return w.ended(ctx, t, a), outDone
}

// attempted is what running a call gave: its result and outputs, or its error, and how long
// it took.
type attempted struct {
	res     runtime.Result
	outputs []output
	err     error
	started time.Time
	took    time.Duration
	usage   usageMsg // what the guest cost, when it ran
}

// attempt runs the call of t on slot, which the call holds, releasing the slot once the guest
// has returned unless keep is set (the next call of a batch uses it). The outputs are not
// stored yet.
func (w *worker) attempt(ctx context.Context, t *taskMsg, slot *callSlot, keep bool) (attempted, outcome) {
	callCtx, cancel := w.callContext(ctx, t)
	defer cancel(nil)
	w.mu.Lock()
	w.calls[t.ID] = runningCall{cancel: cancel, coord: t.Coord}
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		delete(w.calls, t.ID)
		w.mu.Unlock()
	}()

	start := time.Now()
	a := attempted{started: start}
	a.res, a.outputs, a.took, a.err = w.run(callCtx, t, slot, keep, &a.usage)
	if ctx.Err() != nil && a.err != nil {
		return a, outGiveBack // the worker is stopping: leave the call to another worker
	}
	if a.err != nil && errors.Is(context.Cause(callCtx), errCoordinatorGone) {
		return a, outDropped
	}
	if !keep {
		slot.Release() // not running the guest any more, whatever happened
	}
	return a, outDone
}

// storeOutputs writes outputs to the Store, waiting out an outage of the server for up to
// StoreWait; it returns an error wrapping errGaveUp when the server stayed away.
func (w *worker) storeOutputs(ctx context.Context, t *taskMsg, outputs []output) error {
	return w.persist(ctx, t, "store the outputs of", func(ctx context.Context) error {
		for _, o := range outputs {
			if err := writeValue(ctx, w.c, o.key, o.value); err != nil {
				return err
			}
		}
		return nil
	})
}

// ended returns the completion of t's call whose attempt ended as a says, counts it, and
// records a failure in FailedBucket.
func (w *worker) ended(ctx context.Context, t *taskMsg, a attempted) doneMsg {
	done := doneMsg{ID: t.ID, Worker: w.cfg.ID, Stdout: a.res.Stdout, Stderr: a.res.Stderr, Took: max(a.took.Nanoseconds(), 1)}
	if a.usage != (usageMsg{}) {
		done.Usage = &a.usage
	}
	if a.err == nil {
		w.done.Add(1)
		w.learn(t.Module+"."+t.Func, done.Took)
		return done
	}
	done.Err = toWire(a.err)
	var ce *runtime.CallError
	if errors.As(a.err, &ce) {
		done.Stdout, done.Stderr = ce.Stdout, ce.Stderr
	}
	w.failed.Add(1)
	// Kept for an hour, for a coordinator that misses the completion message.
	b, _ := msgpack.Marshal(&done)
	_ = w.persist(ctx, t, "record the failure of", func(ctx context.Context) error {
		_, err := w.c.failed.Put(ctx, t.ID, b)
		return err
	})
	return done
}

// settle acknowledges m and reports the attempt's end b to its coordinator, waiting out an
// outage of the server.
func (w *worker) settle(ctx context.Context, m *nats.Msg, t *taskMsg, b []byte) {
	// Both are buffered by the client, and go out together: persist and its bounded
	// contexts are for a connection that refuses them (it is reconnecting, its buffer full).
	ack := func(context.Context) error { return w.c.nc.Publish(m.Reply, ackAck) }
	if ack(ctx) != nil {
		if err := w.persist(ctx, t, "acknowledge", ack); err != nil {
			// Unacknowledged, the call runs again later; its outputs, stored already, stay.
			w.cfg.Logf("worker %s: acknowledge %s: %v", w.cfg.ID, t.Func, err)
		}
	}
	report := func(context.Context) error { return w.c.nc.Publish(t.Reply, b) }
	if report(ctx) != nil {
		_ = w.persist(ctx, t, "report", report)
	}
}

// settleStored settles a call delivered again whose outputs are stored (its worker stored them
// and died, or its acknowledgement was lost), without running it, and reports whether it did.
// A call delivered for the first time is not looked up: that would cost every call a round
// trip.
func (w *worker) settleStored(ctx context.Context, m *nats.Msg, t *taskMsg, stopBeat func()) bool {
	if deliveries(m.Reply) < 2 || !w.outputsStored(ctx, t) {
		return false
	}
	w.done.Add(1)
	b, _ := msgpack.Marshal(&doneMsg{ID: t.ID, Worker: w.cfg.ID})
	stopBeat()
	w.settle(ctx, m, t, b)
	return true
}

// outputsStored reports whether every output of t's call is in ResultBucket, checking that
// t's key is its call's first: a call delivered again may have been stored by a worker that
// died before it acknowledged the call.
func (w *worker) outputsStored(ctx context.Context, t *taskMsg) bool {
	if t.FrameRef != "" {
		return false
	}
	tmpl, err := abi.NewTemplate(t.Frame)
	if err != nil || t.checkKey(tmpl) != nil { // the run says what is wrong
		return false
	}
	var key abi.Key
	copy(key[:], t.Key)
	for _, k := range outputKeys(key, t.NOutput) {
		if e, err := w.c.results.Get(ctx, k.String()); err != nil || len(e.Value()) == 0 {
			return false
		}
	}
	return true
}

// deliveries returns how many times the message whose reply subject is reply was delivered,
// as its acknowledgement subject says ($JS.ACK.<stream>.<consumer>.<delivered>.…, or with a
// domain and an account hash after $JS.ACK); 0 if it says nothing.
func deliveries(reply string) int {
	tok := strings.Split(reply, ".")
	i := 4
	switch {
	case len(tok) >= 12:
		i = 6
	case len(tok) != 9:
		return 0
	}
	n, _ := strconv.Atoi(tok[i])
	return n
}

// keepAlive sends m's heartbeats (InProgress, which restarts its AckWait on the server) at
// least every beatInterval until the returned function is called; calling that function again
// does nothing. One loop (beat) sends the heartbeats of every call: a call that takes less
// than beatInterval costs no goroutine nor timer of its own.
func (w *worker) keepAlive(m *nats.Msg) (stop func()) {
	w.beatMu.Lock()
	if w.beating == nil {
		w.beating = map[*nats.Msg]struct{}{}
	}
	w.beating[m] = struct{}{}
	w.beatMu.Unlock()
	return func() {
		w.beatMu.Lock()
		delete(w.beating, m)
		w.beatMu.Unlock()
	}
}

// beat sends the heartbeats of the calls keepAlive keeps alive every beatInterval, until ctx
// ends. It sends them with the lock held, so that none goes out once a call's stop returned.
func (w *worker) beat(ctx context.Context) {
	t := time.NewTicker(beatInterval(w.c.opts.AckWait))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		w.beatMu.Lock()
		for m := range w.beating {
			_ = w.c.nc.Publish(m.Reply, ackProgress)
		}
		w.beatMu.Unlock()
	}
}

// beatInterval is how often a running call tells the server it is alive: four times per
// AckWait, so that three heartbeats in a row may be late or lost before the call goes to
// another worker.
func beatInterval(ackWait time.Duration) time.Duration {
	return max(ackWait/4, 25*time.Millisecond)
}

// errGaveUp is the error of persist when the server stayed away for StoreWait.
var errGaveUp = errors.New("the server did not answer")

// persist calls f, with a bounded context each time, until it succeeds, fails in a way
// waiting does not cure (the server answered with an error), or the worker has waited
// cfg.StoreWait or is stopping; then it returns an error wrapping errGaveUp. A worker that
// cannot reach the server keeps the outputs it has computed, rather than failing a call whose
// guest did nothing wrong.
func (w *worker) persist(ctx context.Context, t *taskMsg, what string, f func(ctx context.Context) error) error {
	start := time.Now()
	deadline := start.Add(w.cfg.StoreWait)
	var logged time.Time
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, persistAttempt)
		err := f(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() == nil && !w.transient(err) {
			return err
		}
		if ctx.Err() != nil { // the worker is stopping: the call runs again elsewhere
			return fmt.Errorf("%s %s.%s: %w: %w", what, t.ModName, t.Func, errGaveUp, err)
		}
		if time.Now().After(deadline) {
			w.cfg.Logf("worker %s: %s %s.%s (attempt %s): gave up after %v: %v (the call runs again once the server is back; WorkerConfig.StoreWait sets how long a worker waits)",
				w.cfg.ID, what, t.ModName, t.Func, t.ID, time.Since(start).Round(time.Second), err)
			return fmt.Errorf("%s %s.%s: %w: %w", what, t.ModName, t.Func, errGaveUp, err)
		}
		if time.Since(logged) > 10*time.Second {
			logged = time.Now()
			w.cfg.Logf("worker %s: %s %s.%s: %v; trying again until the server answers (for up to %v)", w.cfg.ID, what, t.ModName, t.Func, err, w.cfg.StoreWait)
		}
		select {
		case <-ctx.Done():
		case <-time.After(min(time.Duration(100<<min(attempt, 5))*time.Millisecond, 2*time.Second)):
		}
	}
}

// persistAttempt bounds one attempt of persist: a request the server never answers (it went
// away after receiving it) is sent again.
const persistAttempt = 5 * time.Second

// transient reports whether err may be cured by waiting for the server: the connection is
// down, or a request went unanswered. A JetStream error the server answered with (a bucket
// that is full, say) is not, except that JetStream is still starting.
func (w *worker) transient(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeJetStreamNotEnabled || apiErr.ErrorCode == jetstream.JSErrCodeJetStreamNotEnabledForAccount
	}
	if errors.Is(err, nats.ErrConnectionClosed) {
		return false
	}
	return !w.c.nc.IsConnected() || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, nats.ErrReconnectBufExceeded) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// output is one value a call produced, and the key it is stored under.
type output struct {
	key   string
	value []byte
}

// run runs the call of t, releasing slot once the guest has returned unless keep is set, and
// returns its outputs, for the caller to store, and how long reading its inputs and running
// its guest took (not loading its module: that is once per module and worker). Once the
// guest has run, u holds what it cost.
func (w *worker) run(ctx context.Context, t *taskMsg, slot *callSlot, keep bool, u *usageMsg) (res runtime.Result, outputs []output, took time.Duration, err error) {
	frame := t.Frame
	if t.FrameRef != "" {
		if frame, err = w.c.frames.GetBytes(ctx, t.FrameRef); err != nil {
			return runtime.Result{}, nil, 0, fmt.Errorf("the call's argument frame from %s: %w", FrameStore, err)
		}
	}
	tmpl, err := abi.NewTemplate(frame)
	if err != nil {
		return runtime.Result{}, nil, 0, fmt.Errorf("the call's argument frame: %w", err)
	}
	if err := t.checkKey(tmpl); err != nil {
		return runtime.Result{}, nil, 0, err
	}
	mod, err := w.module(ctx, t)
	if err != nil {
		return runtime.Result{}, nil, 0, err
	}
	fn, err := mod.Func(t.Func)
	if err != nil {
		return runtime.Result{}, nil, 0, err
	}
	start := time.Now()
	inputs, err := w.readInputs(ctx, tmpl.Holes())
	if err != nil {
		return runtime.Result{}, nil, 0, err
	}
	var key abi.Key
	copy(key[:], t.Key)
	if mod.Nested() {
		// The guest's spawns become calls on the cluster, one level deeper; while it waits for
		// them, its slot goes back to the worker.
		n := nesting{depth: t.Depth + 1, maxDepth: stricter(t.MaxDepth, w.cfg.MaxDepth), maxTasks: stricter(t.MaxTasks, w.cfg.MaxTasks)}
		var budget dag.Budget // without the bucket: the call's own
		if w.c.budgets != nil {
			n.budget = t.Budget
			if n.budget == "" { // a host-level call: the root of its tree
				n.budget = t.ID
			}
			budget = &treeBudget{c: w.c, id: n.budget}
		}
		nested, release := w.engine(n.maxDepth, n.maxTasks).Nested(key, fn, t.Depth, slot, budget)
		defer release()
		defer func() { u.Spawned = dag.Spawned(nested) }()
		ctx = runtime.WithNested(ctx, nested)
		if t.Events != "" {
			n.events, n.root = t.Events, t.Root
			defer w.addRoute(key, route{subject: t.Events, root: t.Root})()
		}
		ctx = context.WithValue(ctx, nestingKey{}, n)
	}
	u.Args = tmpl.Size(inputs)
	ctx = runtime.WithUsage(ctx) // a worker reports what the call cost, whoever listens
	res, err = fn.CallFill(ctx, u.Args, func(dst []byte) { tmpl.AppendFrame(dst[:0], inputs) })
	took = time.Since(start)
	u.Guest, u.Memory, u.Result = int64(res.Guest), res.Memory, len(res.Value)
	if ce := (*runtime.CallError)(nil); errors.As(err, &ce) {
		u.Guest, u.Memory = int64(ce.Guest), ce.Memory
	}
	if !keep {
		slot.Release()
	}
	if err != nil {
		return res, nil, took, err
	}
	parts := [][]byte{res.Value}
	if t.NOutput > 1 {
		if parts, err = abi.SplitArray(res.Value, t.NOutput); err != nil {
			return res, nil, took, &runtime.CallError{Module: mod.Name(), Function: fn.Name(), Err: err, Stdout: res.Stdout, Stderr: res.Stderr}
		}
	}
	for i, k := range outputKeys(key, t.NOutput) {
		outputs = append(outputs, output{key: k.String(), value: parts[i]})
	}
	return res, outputs, took, nil
}

// beforeStore, when set (by tests), is called after a guest returns and before its outputs
// are stored.
var beforeStore func()

// drop terminates the message of a call whose coordinator is gone, so that no worker runs
// it, and tells the coordinator why, in case it is there after all (its heartbeats could not
// reach the server for CoordinatorTTL).
func (w *worker) drop(ctx context.Context, m *nats.Msg, t *taskMsg) {
	_ = w.c.nc.Publish(m.Reply, ackTerm)
	d := w.dropped(ctx, t)
	b, _ := msgpack.Marshal(&d)
	_ = w.c.nc.Publish(t.Reply, b)
}

// readAhead is how many inputs of one call a worker reads from the Store at once.
const readAhead = 64

// readInputs reads the values of a call's inputs from the Store, several at once: a fan-in
// over thousands of Objects would otherwise wait for one round trip after another.
func (w *worker) readInputs(ctx context.Context, holes []abi.Hole) ([][]byte, error) {
	for _, h := range holes {
		if h.ByRef {
			return nil, errors.New("a cluster cannot pass an Object by reference")
		}
	}
	inputs := make([][]byte, len(holes))
	if len(holes) >= batchMin {
		w.readBatches(ctx, holes, inputs)
	}
	err := parallel(ctx, len(holes), readAhead, func(ctx context.Context, i int) error {
		if inputs[i] != nil {
			return nil
		}
		v, err := readExisting(ctx, w.c, holes[i].Key.String())
		if err == nil && v == nil {
			err = fmt.Errorf("input %s is not in %s", holes[i].Key, ResultBucket)
		}
		inputs[i] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	return inputs, nil
}

// batchMin is how many inputs a call must have for the worker to read them in batches, and
// batchMax how many one batch reads at most (the server answers at most 1024).
const batchMin, batchMax = 8, 1024

// readBatches reads the inline values of holes into inputs, up to batchMax per request to the
// server (a direct get of the last message of many subjects, which NATS 2.11 and later
// answer): a fan-in over thousands of values would otherwise cost a request each. What it does
// not read (a value missing or deleted, stored in ValueStore, beyond a batch's byte limit, or a
// server that does not answer such requests) stays nil, for readInputs to read one by one.
func (w *worker) readBatches(ctx context.Context, holes []abi.Hole, inputs [][]byte) {
	prefix := "$KV." + ResultBucket + "."
	where := make(map[string][]int, len(holes)) // subject → the holes that read it
	var subjects []string
	for i, h := range holes {
		subj := prefix + h.Key.String()
		if _, ok := where[subj]; !ok {
			subjects = append(subjects, subj)
		}
		where[subj] = append(where[subj], i)
	}
	for len(subjects) > 0 {
		n := min(len(subjects), batchMax)
		if !w.readBatch(ctx, subjects[:n], where, inputs) {
			return
		}
		subjects = subjects[n:]
	}
}

// readBatch reads the last values of subjects in one request, and reports whether the server
// answered it.
func (w *worker) readBatch(ctx context.Context, subjects []string, where map[string][]int, inputs [][]byte) bool {
	req, err := json.Marshal(struct {
		MultiLast []string `json:"multi_last"`
	}{subjects})
	if err != nil {
		return false
	}
	nc := w.c.nc
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return false
	}
	defer sub.Unsubscribe()
	_ = sub.SetPendingLimits(-1, -1)
	if err := nc.PublishRequest("$JS.API.DIRECT.GET.KV_"+ResultBucket, inbox, req); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, persistAttempt)
	defer cancel()
	for {
		m, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			return false
		}
		if len(m.Data) == 0 && m.Header.Get("Status") != "" { // the end of the batch, or an error
			return m.Header.Get("Status") == "204"
		}
		if op := m.Header.Get("KV-Operation"); op != "" || len(m.Data) == 0 || m.Data[0] != tagInline {
			continue // deleted, or not inline: read one by one
		}
		for _, i := range where[m.Header.Get("Nats-Subject")] {
			inputs[i] = m.Data[1:]
		}
	}
}

// parallel calls f for 0 … n-1, at most ahead at once, and returns the first error; the
// context of the calls still running then is cancelled, and no further call starts.
func parallel(ctx context.Context, n, ahead int, f func(ctx context.Context, i int) error) error {
	switch n {
	case 0:
		return nil
	case 1:
		return f(ctx, 0)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(n, ahead) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if err := f(ctx, i); err != nil {
					cancel(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}

// module returns the loaded module of t, fetching it from ModuleStore the first time; calls
// that need a module another call is fetching wait for that fetch.
func (w *worker) module(ctx context.Context, t *taskMsg) (*runtime.Module, error) {
	w.mu.Lock()
	l := w.modules[t.Module]
	if l == nil {
		l = &moduleLoad{done: make(chan struct{})}
		w.modules[t.Module] = l
		go func() {
			l.m, l.err = w.load(t)
			if l.err != nil { // the next call that needs it tries again
				w.mu.Lock()
				delete(w.modules, t.Module)
				w.mu.Unlock()
			}
			close(l.done)
		}()
	}
	w.mu.Unlock()
	select {
	case <-l.done:
		return l.m, l.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for module %s: %w", t.ModName, interrupted(ctx))
	}
}

// moduleLoad is one fetch and load of a module, shared by the calls that need it.
type moduleLoad struct {
	done chan struct{}
	m    *runtime.Module
	err  error
}

// load fetches a module from ModuleStore and loads it. A fetch that stalls (an Object Store
// read is a stream of chunks, which a loaded server can hold up) is abandoned and tried again.
func (w *worker) load(t *taskMsg) (*runtime.Module, error) {
	if m, ok, err := w.native(t); ok { // built in, never fetched (native.go)
		return m, err
	}
	var b []byte
	var err error
	for attempt := 1; attempt <= 4; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		b, err = w.c.modules.GetBytes(ctx, t.Module)
		cancel()
		if err == nil {
			break
		}
		w.cfg.Logf("worker %s: fetch module %s, attempt %d: %v", w.cfg.ID, t.ModName, attempt, err)
	}
	if err != nil {
		err = fmt.Errorf("module %s (%s) from %s: %w", t.ModName, t.Module, ModuleStore, err)
		if errors.Is(err, jetstream.ErrObjectNotFound) { // pruned: the coordinator uploads it again
			err = moduleMissing{err}
		}
		return nil, err
	}
	// The hash is the module's name and the calls' keys derive from it: bytes that do not
	// hash to it are someone else's code, and are not compiled.
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != t.Module {
		return nil, &moduleMismatch{name: t.ModName, want: t.Module, got: hex.EncodeToString(sum[:])}
	}
	name := t.ModName
	if prev, err := w.cfg.Runtime.Lookup(name); err == nil && prev.SumHex() != t.Module {
		name = t.ModName + "-" + t.Module[:12] // another module took the name on this worker
	}
	return w.cfg.Runtime.Load(context.Background(), name, b)
}

// moduleMismatch is the error of a module whose stored bytes do not hash to the name they
// are stored under.
type moduleMismatch struct{ name, want, got string }

func (e *moduleMismatch) Error() string {
	return fmt.Sprintf("module %s: the bytes stored in %s under its SHA-256 %s hash to %s: refusing to load them (they were replaced; the next run uploads the module again)", e.name, ModuleStore, e.want, e.got)
}

// moduleMissing is the error of a module that is not in ModuleStore (a prune removed it).
type moduleMissing struct{ error }

func (e moduleMissing) Unwrap() error { return e.error }

// Workers returns the heartbeats of the workers seen within WorkerTTL.
func (c *Conn) Workers(ctx context.Context) ([]WorkerInfo, error) {
	keys, err := c.workers.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []WorkerInfo
	for k := range keys.Keys() {
		e, err := c.workers.Get(ctx, k)
		if err != nil {
			continue
		}
		var info WorkerInfo
		if json.Unmarshal(e.Value(), &info) == nil {
			out = append(out, info)
		}
	}
	return out, nil
}

// defaultWorkerID names a worker that was given no ID: host, process ID and the end of a NUID.
// A NUID's first characters are the same for the whole process and its last ones change with
// every NUID, so workers of one process get different names.
func defaultWorkerID(host string) string {
	n := nuid.Next()
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), n[len(n)-6:])
}
