package cluster

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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

// Executor is the dag.Executor that publishes each call to TaskStream and waits until a
// worker reports it done. Workers read the call's inputs from, and write its outputs to, the
// cluster's Store (it is a dag.RemoteExecutor), so values never pass through the coordinator
// unless it fetches them.
type Executor struct {
	c     *Conn
	id    string // this coordinator's id
	reply string // this coordinator's completion subject
	coord string // the id its calls carry: id once its heartbeat is in CoordinatorBucket
	stop  context.CancelFunc

	mu      sync.Mutex
	waiting map[string]chan doneMsg // attempt id → its waiter
	bySeq   map[uint64]string       // stream sequence → attempt id, for max-delivery advisories
	batches map[uint64]*batch       // stream sequence → the batch of calls published there
	early   map[uint64]advisory     // advisories of messages not yet known by sequence (see advise)
	queue   chan *queued            // calls for the batcher
	took    map[string]int64        // module SHA-256 hex + "." + function → its calls' average time (ns)
	// unbatched is set once a worker refused a batch: calls go one by one from then on.
	unbatched atomic.Bool
	seeded    sync.Once          // the workers' call times were read (seed)
	modules   map[string]*upload // SHA-256 hex → its publication to ModuleStore
	subs      []*nats.Subscription
	// recipes holds, by output key (hex), the last maxRecipes host-level calls this executor
	// completed, so that it can run them again when the server loses their results (it
	// restarted without its data); order lists their keys, oldest first from next, to forget
	// the oldest. reruns holds those being run again.
	recipes map[string]*dag.Task
	order   []string
	next    int
	reruns  map[string]*rerun
	// The nesting limits its calls carry (SetNesting).
	maxDepth, maxTasks int
	// events receives the events of the calls workers' guests spawn (SetEvents); roots holds,
	// by attempt id, the runtime of each host-level call running with it, where the functions
	// those events name are looked up.
	events func(dag.Event)
	roots  map[string]*runtime.Runtime
	// pendingSince is when the calls waiting last went from none to some; noWorkers, whether
	// this executor has said that no worker is connected since.
	pendingSince time.Time
	noWorkers    bool
}

var _ dag.RemoteExecutor = (*Executor)(nil)

func newExecutor(c *Conn) *Executor {
	id := nuid.Next()
	x := &Executor{c: c, id: id, reply: doneSubject + id, waiting: map[string]chan doneMsg{},
		bySeq: map[uint64]string{}, early: map[uint64]advisory{}, modules: map[string]*upload{}, recipes: map[string]*dag.Task{}, reruns: map[string]*rerun{},
		roots: map[string]*runtime.Runtime{}, batches: map[uint64]*batch{}, queue: make(chan *queued, maxBatch), took: map[string]int64{}}
	ctx, stop := context.WithCancel(context.Background())
	x.stop = stop
	x.beat(ctx)
	go x.batcher(ctx)
	go x.watchWorkers(ctx, noWorkerWait)
	if sub, err := c.nc.Subscribe(x.reply, x.onDone); err == nil {
		x.subs = append(x.subs, sub)
	}
	adv := "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + TaskStream + "." + WorkerGroup
	if sub, err := c.nc.Subscribe(adv, x.onMaxDeliveries); err == nil {
		x.subs = append(x.subs, sub)
	}
	term := "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED." + TaskStream + "." + WorkerGroup
	if sub, err := c.nc.Subscribe(term, x.onTerminated); err == nil {
		x.subs = append(x.subs, sub)
	}
	_ = c.nc.Flush() // the server knows the subscriptions before any call is published
	return x
}

func (x *Executor) close() {
	x.stop()
	for _, s := range x.subs {
		_ = s.Unsubscribe()
	}
}

// SharesStore reports that workers use the cluster's Store directly (dag.RemoteExecutor).
func (x *Executor) SharesStore() bool { return true }

func (x *Executor) onDone(m *nats.Msg) {
	if isBatch(m.Data) { // the completions of a batch's calls
		var ds []doneMsg
		if err := abi.Unmarshal(m.Data, &ds); err != nil {
			return
		}
		for _, d := range ds {
			if d.Event == nil {
				x.deliver(d)
			}
		}
		return
	}
	var d doneMsg
	if err := abi.Unmarshal(m.Data, &d); err != nil { // checked before decoding: see decodeTask
		return
	}
	if d.Event != nil {
		x.onEvent(d.Event)
		return
	}
	x.deliver(d)
}

// deliver hands the completion d to the call waiting for it, if one is.
func (x *Executor) deliver(d doneMsg) {
	x.mu.Lock()
	ch := x.waiting[d.ID]
	x.mu.Unlock()
	if ch != nil {
		select {
		case ch <- d:
		default: // a duplicate completion (a redelivered attempt): the first one counts
		}
	}
}

// onMaxDeliveries fails the attempt whose message JetStream gave up on, and removes the
// message, which a work queue would otherwise keep.
func (x *Executor) onMaxDeliveries(m *nats.Msg) {
	var adv struct {
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries uint64 `json:"deliveries"`
	}
	if json.Unmarshal(m.Data, &adv) != nil {
		return
	}
	msg := fmt.Sprintf("delivered to workers %d times without finishing (AckWait %v each): the workers running it stopped", adv.Deliveries, x.c.opts.AckWait)
	x.advise(adv.StreamSeq, advisory{err: &wireErr{Kind: kindWorker, Message: msg}, at: time.Now()})
}

// Run publishes t and waits for a worker to finish it; the outputs are then in the Store.
func (x *Executor) Run(ctx context.Context, t *dag.Task) (runtime.Result, error) {
	if err := clusterable(t.Func.Module()); err != nil {
		return runtime.Result{}, err
	}
	res, err := x.run(ctx, t)
	err = nativeMissing(t.Func.Module(), err) // no upload helps a worker without it (native.go)
	if errors.Is(err, errModuleAgain) {
		// The module was pruned after this coordinator uploaded it: upload it again, and run
		// the call once more.
		res, err = x.run(ctx, t)
		var re *remoteError
		if errors.As(err, &re) && re.kind == errModuleAgain {
			re.kind = errWorker
		}
	}
	for range maxDropped {
		if !errors.Is(err, errDropped) || ctx.Err() != nil {
			break
		}
		// A worker took this coordinator for gone: its heartbeat expired while it was cut
		// off from the server, or while the server was away. It is here: say so, and send
		// the call again, as a new attempt (the dropped one's id is spent).
		x.beatNow()
		res, err = x.run(ctx, t)
	}
	if errors.Is(err, errUnbatched) && ctx.Err() == nil {
		// A worker refused the batch the call was in: it does not know batches (an older
		// mrun). Send the call alone, and every call from now on.
		res, err = x.run(ctx, t)
	}
	var re *remoteError
	if errors.As(err, &re) && (re.kind == errDropped || re.kind == errUnbatched) {
		re.kind = errWorker
	}
	return res, err
}

// errDropped is wrapped by the error of an attempt a worker dropped, taking its coordinator
// for gone. Run sends the call again, up to maxDropped times.
var errDropped = errors.New("dropped as a gone coordinator's call")

// maxDropped bounds how many times a call is sent again after workers dropped it: a
// coordinator whose heartbeats cannot be written (credentials that may not, a full bucket)
// would otherwise send it forever.
const maxDropped = 3

// errModuleAgain is wrapped by the error of an attempt whose worker found the module missing
// (a prune removed it): the module is uploaded again before the next attempt. A module found
// replaced is not retried at once: that is worth the user's attention.
var errModuleAgain = errors.New("module missing")

func (x *Executor) run(ctx context.Context, t *dag.Task) (runtime.Result, error) {
	fn := t.Func
	callErr := func(err error) error {
		return &runtime.CallError{Module: fn.Module().Name(), Function: fn.Name(), Err: err}
	}
	if ctx.Err() != nil {
		return runtime.Result{}, callErr(interrupted(ctx))
	}
	epoch := x.c.outage.epoch.Load()
	if epoch > 0 { // the server lost its state once: the inputs may be gone
		if err := x.restoreInputs(ctx, t); err != nil {
			return runtime.Result{}, callErr(err)
		}
	}
	if err := x.publishModule(ctx, fn.Module()); err != nil {
		return runtime.Result{}, callErr(err)
	}
	msg := taskMsg{ID: nuid.Next(), Key: t.Key[:], Module: fn.Module().SumHex(), ModName: fn.Module().Name(), Func: fn.Name(),
		NOutput: t.NOutput, Frame: t.Template.Frame(), Reply: x.reply}
	msg.ModName = modName(fn.Module()) // with a native module's version (native.go)
	if t.Nonce != nil {
		msg.Nonce = t.Nonce[:]
	}
	if dl, ok := ctx.Deadline(); ok {
		msg.Timeout = int64(max(time.Until(dl), time.Millisecond))
	}
	msg.Coord = x.coord
	if n, ok := ctx.Value(nestingKey{}).(nesting); ok { // a call a worker's guest spawned
		msg.Depth, msg.MaxDepth, msg.MaxTasks, msg.Budget = n.depth, n.maxDepth, n.maxTasks, n.budget
		msg.Events, msg.Root = n.events, n.root
	} else {
		x.mu.Lock()
		msg.MaxDepth, msg.MaxTasks = x.maxDepth, x.maxTasks
		if x.events != nil && fn.Module().Nested() {
			msg.Events, msg.Root = x.reply, msg.ID
			x.roots[msg.ID] = fn.Module().Runtime()
			defer func() {
				x.mu.Lock()
				delete(x.roots, msg.ID)
				x.mu.Unlock()
			}()
		}
		x.mu.Unlock()
	}
	var frame []byte // a large frame (a fan-in over many Objects) would not fit a message
	if len(msg.Frame) > x.c.opts.InlineMax {
		frame, msg.Frame, msg.FrameRef = msg.Frame, nil, "frame-"+msg.ID
		defer x.c.frames.Delete(context.WithoutCancel(ctx), msg.FrameRef)
	}
	b, err := msgpack.Marshal(&msg)
	if err != nil {
		return runtime.Result{}, callErr(err)
	}
	ch := make(chan doneMsg, 1)
	x.mu.Lock()
	if len(x.waiting) == 0 {
		x.pendingSince = time.Now()
	}
	x.waiting[msg.ID] = ch
	x.mu.Unlock()
	defer func() {
		x.mu.Lock()
		delete(x.waiting, msg.ID)
		x.mu.Unlock()
	}()
	// A quick function's calls go to the batcher, to share a message with other calls.
	var (
		seq       uint64
		bt        *batch // the batch the call went in; nil when alone
		cancelled bool
	)
	fnID := msg.Module + "." + msg.Func
	if n := x.batchSize(fnID); n > 1 && frame == nil && len(b) <= batchCallBytes {
		seq, bt, err = x.enqueue(ctx, msg.ID, b, n)
		err = x.published(err)
	} else {
		seq, err = x.submit(ctx, msg.ID, b, msg.FrameRef, frame)
	}
	if err != nil {
		return runtime.Result{}, callErr(err)
	}
	defer func() {
		if bt != nil {
			x.leave(ctx, bt, cancelled)
			return
		}
		x.mu.Lock()
		delete(x.bySeq, seq)
		x.mu.Unlock()
	}()

	// A completion can be lost (the worker stopped between acknowledging and reporting, or
	// this connection was down): check the store, and the record of failed attempts, now
	// and then as well; less often the longer the call runs, so that many long calls in
	// flight do not load the server with checks.
	every := time.Second
	poll := time.NewTimer(every)
	defer poll.Stop()
	for {
		changed := x.c.changes()
		select {
		case d := <-ch:
			x.learn(fnID, d.Took)
			t.Usage = d.usage()
			if d.Err != nil {
				return runtime.Result{}, x.failure(d, msg.Module, fn)
			}
			x.completed(ctx, t)
			return runtime.Result{Stdout: d.Stdout, Stderr: d.Stderr}, nil
		case <-poll.C:
			if x.c.isDown() { // the end of the outage checks at once
				poll.Reset(every)
				continue
			}
			if x.c.hasOutputs(ctx, t) {
				x.completed(ctx, t)
				return runtime.Result{}, nil
			}
			if e, err := x.c.failed.Get(ctx, msg.ID); err == nil {
				var d doneMsg
				if abi.Unmarshal(e.Value(), &d) == nil && d.Err != nil {
					t.Usage = d.usage()
					return runtime.Result{}, x.failure(d, msg.Module, fn)
				}
			}
			every = min(2*every, 16*time.Second)
			poll.Reset(every)
		case <-changed:
			if err := x.c.unreachable(); err != nil {
				return runtime.Result{}, callErr(err)
			}
			if x.c.isDown() {
				continue
			}
			if e := x.c.outage.epoch.Load(); e != epoch {
				// The server restarted without its state: the call is gone from the queue.
				// Its inputs and module may be gone too: restore them, and send it again.
				epoch = e
				if err := x.restoreInputs(ctx, t); err != nil {
					return runtime.Result{}, callErr(err)
				}
				if err := x.publishModule(ctx, fn.Module()); err != nil {
					return runtime.Result{}, callErr(err)
				}
				if bt != nil {
					x.leave(ctx, bt, false)
					bt = nil
				}
				x.mu.Lock()
				delete(x.bySeq, seq)
				x.mu.Unlock()
				if seq, err = x.submit(ctx, msg.ID, b, msg.FrameRef, frame); err != nil {
					return runtime.Result{}, callErr(err)
				}
			}
			// A completion may have been lost while the connection was down: check now.
			if !poll.Stop() {
				select {
				case <-poll.C:
				default:
				}
			}
			poll.Reset(0)
		case <-ctx.Done():
			// Not yet delivered: it leaves the queue (a batch, once none of its calls is
			// waited for). Running: its worker interrupts it. Batched and not yet started: its
			// worker skips it.
			if bt != nil {
				cancelled = true
			} else {
				_ = x.c.tasks.DeleteMsg(context.WithoutCancel(ctx), seq)
			}
			_ = x.c.nc.Publish(CancelSubject, []byte(msg.ID))
			return runtime.Result{}, callErr(interrupted(ctx))
		}
	}
}

// submit stores a large argument frame under ref, when there is one, and publishes the
// encoded call b with attempt id, waiting out an outage of the server. It returns the
// message's sequence in TaskStream.
func (x *Executor) submit(ctx context.Context, id string, b []byte, ref string, frame []byte) (uint64, error) {
	if ref != "" {
		err := x.c.retry(ctx, func(ctx context.Context) error {
			_, err := x.c.frames.PutBytes(ctx, ref, frame)
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("store the argument frame in %s: %w", FrameStore, err)
		}
	}
	ack, err := x.publish(ctx, id, b)
	if err != nil {
		return 0, x.published(err)
	}
	x.mu.Lock()
	x.bySeq[ack.Sequence] = id
	x.mu.Unlock()
	x.known(ack.Sequence)
	return ack.Sequence, nil
}

// published returns the error of a call's publication to TaskStream, as a call reports it;
// nil for nil.
func (x *Executor) published(err error) error {
	if err == nil {
		return nil
	}
	var jerr jetstream.JetStreamError
	if errors.As(err, &jerr) && jerr.APIError() != nil && jerr.APIError().ErrorCode == errStoreFailed {
		return fmt.Errorf("publish the call to %s: the queue is full (%s): let the workers catch up, or give the stream a larger cluster.Options.MaxQueued or MaxQueueBytes where it is created", TaskStream, jerr.APIError().Description)
	}
	if errors.Is(err, ErrUnreachable) || errors.Is(err, runtime.ErrInterrupted) {
		return err
	}
	return fmt.Errorf("publish the call to %s: %w", TaskStream, err)
}

// maxRecipes bounds the calls an executor keeps to run again (about 100–150 bytes each): a
// long-lived coordinator, a service, does not grow without bound. A graph larger than this
// that loses the server's state can lose values it cannot compute again.
const maxRecipes = 1 << 18

// completed records that t's outputs are stored: the Store learns of them, and t is kept to
// run again should the server lose them. The calls a worker's guests spawn are not kept:
// their parent runs again, and spawns them again, if the server loses them.
func (x *Executor) completed(ctx context.Context, t *dag.Task) {
	x.learnOutputs(t)
	if _, nested := ctx.Value(nestingKey{}).(nesting); nested {
		return
	}
	r := &dag.Task{Key: t.Key, Func: t.Func, NOutput: t.NOutput, Template: t.Template}
	if t.Nonce != nil { // the engine reuses t and its nonce
		n := *t.Nonce
		r.Nonce = &n
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, k := range outputKeys(t.Key, t.NOutput) {
		name := k.String()
		if _, ok := x.recipes[name]; ok {
			x.recipes[name] = r
			continue
		}
		x.recipes[name] = r
		if len(x.order) < maxRecipes {
			x.order = append(x.order, name)
			continue
		}
		delete(x.recipes, x.order[x.next])
		x.order[x.next] = name
		x.next = (x.next + 1) % maxRecipes
	}
}

// rerun is a call being run again because the server lost its outputs.
type rerun struct {
	done chan struct{}
	err  error
}

// restore runs again the call that produced k, when this executor ran it and the server
// has lost its outputs since. It reports whether it knew the call; calls of one key that
// need it together wait for a single run.
func (x *Executor) restore(ctx context.Context, k string) (bool, error) {
	x.mu.Lock()
	t, ok := x.recipes[k]
	if !ok {
		x.mu.Unlock()
		return false, nil
	}
	r, running := x.reruns[k]
	if !running {
		r = &rerun{done: make(chan struct{})}
		for _, ok := range outputKeys(t.Key, t.NOutput) {
			x.reruns[ok.String()] = r
		}
	}
	x.mu.Unlock()
	if !running {
		_, r.err = x.Run(ctx, t)
		x.mu.Lock()
		for _, ok := range outputKeys(t.Key, t.NOutput) {
			delete(x.reruns, ok.String())
		}
		x.mu.Unlock()
		close(r.done)
	}
	select {
	case <-r.done:
		return true, r.err
	case <-ctx.Done():
		return true, interrupted(ctx)
	}
}

// restoreInputs makes sure the values t reads are in ResultBucket, running again the calls
// of those the server lost (it restarted without its data) that this executor ran.
func (x *Executor) restoreInputs(ctx context.Context, t *dag.Task) error {
	holes := t.Template.Holes()
	return parallel(ctx, len(holes), readAhead, func(ctx context.Context, i int) error {
		name := holes[i].Key.String()
		var missing bool
		err := x.c.retry(ctx, func(ctx context.Context) error {
			_, err := x.c.results.Get(ctx, name)
			missing = errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted)
			if missing {
				return nil
			}
			return err
		})
		if err != nil || !missing {
			return nil // the worker reads it, and says what went wrong
		}
		if _, err := x.restore(ctx, name); err != nil {
			return fmt.Errorf("compute again the input %s, which the cluster server lost when it restarted without its data: %w", name, err)
		}
		return nil
	})
}

// stateLost is told that the server restarted without its state, before the calls waiting
// send themselves again: the modules must be uploaded again, and this coordinator's
// heartbeat written at once, or workers would drop its calls as a gone coordinator's.
func (x *Executor) stateLost(ctx context.Context) {
	x.mu.Lock()
	clear(x.early) // the new stream numbers its messages from 1 again
	for name, up := range x.modules {
		select {
		case <-up.done:
			delete(x.modules, name)
		default: // being uploaded: it fails, or lands in the new store
		}
	}
	x.mu.Unlock()
	if x.coord != "" && x.c.coordinators != nil {
		_, _ = x.c.coordinators.Put(ctx, x.id, []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	}
}

// failure is the error of a failed attempt of fn as its worker reported it. A worker that
// found the module (SHA-256 module) missing or replaced makes the next call check its upload
// again; a missing one is also retried at once (fromWire makes it match errModuleAgain).
func (x *Executor) failure(d doneMsg, module string, fn *runtime.Function) error {
	if d.Err.Kind == kindModule || d.Err.Kind == kindNoModule {
		x.forgetModule(module)
	}
	return fromWire(d.Err, fn, d.Stdout, d.Stderr)
}

// errStoreFailed is the JetStream error code of a write a stream's limits refuse (its
// description says which: "maximum messages exceeded", "maximum bytes exceeded").
const errStoreFailed jetstream.ErrorCode = 10077

// publish publishes a call, waiting out an outage of the server; the message id makes
// JetStream drop a copy that did arrive.
func (x *Executor) publish(ctx context.Context, id string, b []byte) (*jetstream.PubAck, error) {
	var ack *jetstream.PubAck
	err := x.c.retry(ctx, func(ctx context.Context) error {
		var err error
		ack, err = x.c.publishTask(ctx, &nats.Msg{Subject: TaskSubject, Data: b, Header: nats.Header{jetstream.MsgIDHeader: {id}}})
		return err
	})
	return ack, err
}

// publishModule puts m's bytes into ModuleStore unless they are there already. Calls of one
// module that start together wait for a single upload.
func (x *Executor) publishModule(ctx context.Context, m *runtime.Module) error {
	if !uploads(m) { // a native module: workers have it built in (native.go)
		return nil
	}
	name := m.SumHex()
	for {
		x.mu.Lock()
		up, ok := x.modules[name]
		if !ok {
			up = &upload{done: make(chan struct{})}
			x.modules[name] = up
		}
		x.mu.Unlock()
		if ok {
			select {
			case <-up.done:
			case <-ctx.Done():
				return interrupted(ctx)
			}
			if up.err == nil {
				return nil
			}
			continue // that upload failed (its call may have been cancelled): try again
		}
		up.err = x.c.retry(ctx, func(ctx context.Context) error { return x.upload(ctx, m) })
		if up.err != nil {
			x.mu.Lock()
			delete(x.modules, name)
			x.mu.Unlock()
		}
		close(up.done)
		return up.err
	}
}

// upload puts m's bytes into ModuleStore unless they are there already. An object stored
// under m's hash whose digest is not that hash (someone with access to the server replaced
// it) is replaced with m's bytes: workers check the bytes they fetch and would refuse it.
func (x *Executor) upload(ctx context.Context, m *runtime.Module) error {
	name := m.SumHex()
	if info, err := x.c.modules.GetInfo(ctx, name); err == nil && info.Digest == moduleDigest(m.Sum()) && info.Size == uint64(len(m.Bytes())) {
		return nil
	}
	if len(m.Bytes()) == 0 {
		return fmt.Errorf("module %s has no bytes to publish", m.Name())
	}
	// A worker's key may not upload modules: the server's refusal ends the upload at once.
	wctx, stop := x.c.WatchDenied(ctx)
	defer stop()
	if _, err := x.c.modules.PutBytes(wctx, name, m.Bytes()); err != nil {
		if cause := context.Cause(wctx); errors.Is(cause, ErrDenied) {
			return fmt.Errorf("publish module %s to %s: %w (a client's key may)", m.Name(), ModuleStore, cause)
		}
		if ctx.Err() != nil { // the library reports the call's deadline as its own timeout
			return interrupted(ctx)
		}
		return fmt.Errorf("publish module %s to %s: %w", m.Name(), ModuleStore, err)
	}
	return nil
}

// moduleDigest is the digest the Object Store records for bytes whose SHA-256 is sum.
func moduleDigest(sum [32]byte) string {
	return "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:])
}

// forgetModule makes the next call of the module of SHA-256 name check its upload again: a
// worker found the stored bytes replaced.
func (x *Executor) forgetModule(name string) {
	x.mu.Lock()
	if up, ok := x.modules[name]; ok {
		select {
		case <-up.done:
			delete(x.modules, name)
		default: // being uploaded right now
		}
	}
	x.mu.Unlock()
}

// upload is one publication of a module to ModuleStore; err is set when done is closed.
type upload struct {
	done chan struct{}
	err  error
}

// outputKeys returns the keys of the values a call produces.
func outputKeys(key abi.Key, nOutput int) []abi.Key {
	if nOutput <= 1 {
		return []abi.Key{key}
	}
	keys := make([]abi.Key, nOutput)
	for i := range keys {
		keys[i] = abi.OutputKey(key, i)
	}
	return keys
}

// learnOutputs tells the connection's Store, if it has one, that t's outputs exist, before its
// watcher may have seen them.
func (x *Executor) learnOutputs(t *dag.Task) {
	x.c.mu.Lock()
	s := x.c.store
	x.c.mu.Unlock()
	if s == nil {
		return
	}
	for _, k := range outputKeys(t.Key, t.NOutput) {
		s.learn(k)
	}
}

// hasOutputs reports whether every output of t is in ResultBucket.
func (c *Conn) hasOutputs(ctx context.Context, t *dag.Task) bool {
	for _, k := range outputKeys(t.Key, t.NOutput) {
		if _, err := c.results.Get(ctx, k.String()); err != nil {
			return false
		}
	}
	return true
}

// interrupted is the error of a call cut short because ctx ended, worded as the in-process
// runtime words it.
func interrupted(ctx context.Context) error {
	return fmt.Errorf("%w: %w", runtime.ErrInterrupted, context.Cause(ctx))
}

// clusterable refuses the calls of a module loaded with capabilities or limits of its own:
// workers load a module by its bytes alone, so they would run its calls without them (no
// environment, no mounts, real clocks, the worker's memory limit), and that must not pass
// unnoticed.
func clusterable(m *runtime.Module) error {
	mc := m.Config()
	var caps []string
	if len(mc.Env) > 0 {
		caps = append(caps, "Env")
	}
	if len(mc.Mounts) > 0 {
		caps = append(caps, "Mounts")
	}
	if mc.Deterministic {
		caps = append(caps, "Deterministic")
	}
	if mc.MemoryLimitPages > 0 {
		caps = append(caps, "MemoryLimitPages")
	}
	if len(caps) == 0 && m.Identity() != m.Sum() {
		caps = append(caps, "MemoryLimitPages (from the runtime's Config)")
	}
	if len(caps) == 0 {
		return nil
	}
	return fmt.Errorf("%w: module %s was loaded with ModuleConfig.%s: cluster workers load modules without capabilities or limits of their own and would run its calls without them; run them in process", dag.ErrSpawn, m.Name(), strings.Join(caps, ", "))
}

// SetEvents makes the calls this executor publishes report the events of the calls their
// guests spawn on the workers, which the engine running them does not see, to f: give it the
// engine's dag.Config.Events, so that nested calls count as they do in process (Depth 1 and
// more, Parent set). Their Slot is 0, and Execution and Label are not set. Nil stops it.
func (x *Executor) SetEvents(f func(dag.Event)) {
	x.mu.Lock()
	x.events = f
	x.mu.Unlock()
}

// onEvent passes the event of a nested call that a worker reported to SetEvents' function,
// when it belongs to a call this executor is waiting for and names a function that call's
// runtime has loaded: anyone who may publish to the subject can send one.
func (x *Executor) onEvent(em *eventMsg) {
	if em.check() != nil {
		return
	}
	x.mu.Lock()
	f, rt := x.events, x.roots[em.Root]
	x.mu.Unlock()
	if f == nil || rt == nil {
		return
	}
	var sum [32]byte
	if _, err := hex.Decode(sum[:], []byte(em.Module)); err != nil {
		return
	}
	m, ok := rt.Module(sum)
	if !ok {
		return
	}
	fn, err := m.Func(em.Func)
	if err != nil {
		return
	}
	ev := dag.Event{Kind: dag.EventKind(em.Kind), Key: abi.Key(em.Key), Parent: abi.Key(em.Parent), Depth: em.Depth,
		Func: fn, Time: time.Now(), Stdout: em.Stdout, Stderr: em.Stderr, Attempt: em.Attempt, Impure: em.Impure,
		Usage: em.Usage.usage()}
	if em.Err != nil {
		ev.Err = fromWire(em.Err, fn, em.Stdout, em.Stderr)
	}
	f(ev)
}

// noWorkerWait is how long calls wait with no worker connected before a coordinator says so.
var noWorkerWait = 5 * time.Second

// watchWorkers says once through Options.Logf when calls have waited wait with no
// worker's heartbeat in WorkerBucket, and again when a worker connects: a cluster started
// without workers would otherwise look like a graph that hangs.
func (x *Executor) watchWorkers(ctx context.Context, wait time.Duration) {
	t := time.NewTicker(max(wait/5, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		x.mu.Lock()
		pending, since, said := len(x.waiting), x.pendingSince, x.noWorkers
		x.mu.Unlock()
		if !said && (pending == 0 || time.Since(since) < wait) || x.c.isDown() {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := x.c.countWorkers(lctx)
		cancel()
		if err != nil {
			continue
		}
		switch {
		case n == 0 && !said:
			x.c.opts.Logf("no worker has been connected to the cluster at %s for %v while %s waited: start one with mrun worker --cluster %s",
				x.c.url, wait, plural(pending, "call"), x.c.url)
			x.setNoWorkers(true)
		case n > 0 && said:
			x.c.opts.Logf("%s connected to the cluster at %s: the calls run", plural(n, "worker"), x.c.url)
			x.setNoWorkers(false)
		case n > 0: // workers are there: look again in another wait, not at every tick
			x.mu.Lock()
			x.pendingSince = time.Now()
			x.mu.Unlock()
		case pending == 0: // the calls were cancelled: the next ones that wait are said again
			x.setNoWorkers(false)
		}
	}
}

func (x *Executor) setNoWorkers(v bool) {
	x.mu.Lock()
	x.noWorkers = v
	x.mu.Unlock()
}

// countWorkers returns how many workers have a heartbeat in WorkerBucket.
func (c *Conn) countWorkers(ctx context.Context) (int, error) {
	keys, err := c.workers.ListKeys(ctx)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for range keys.Keys() {
		n++
	}
	return n, nil
}

// plural returns n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// jsPublish publishes m to a stream and waits for the server's answer, as
// jetstream.JetStream.PublishMsg does (with the same errors), but reads the usual answer,
// {"stream":…,"seq":…}, without encoding/json: that decoding was most of what a publish cost
// the coordinator, which publishes every call.
func (c *Conn) jsPublish(ctx context.Context, m *nats.Msg) (*jetstream.PubAck, error) {
	r, err := c.nc.RequestMsgWithContext(ctx, m)
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, jetstream.ErrNoStreamResponse
	}
	if err != nil {
		return nil, err
	}
	if ack, ok := parsePubAck(r.Data); ok {
		return ack, nil
	}
	var resp struct {
		Error *jetstream.APIError `json:"error,omitempty"`
		*jetstream.PubAck
	}
	if err := json.Unmarshal(r.Data, &resp); err != nil {
		return nil, jetstream.ErrInvalidJSAck
	}
	if resp.Error != nil {
		return nil, fmt.Errorf("nats: %w", resp.Error)
	}
	if resp.PubAck == nil || resp.Stream == "" {
		return nil, jetstream.ErrInvalidJSAck
	}
	return resp.PubAck, nil
}

// parsePubAck reads the answer to a publish that a stream stored, as the server writes it:
// {"stream":"NAME","seq":N} or {"stream":"NAME","seq":N,"duplicate":true}. Anything else (an
// error, a domain) is not read: ok is false.
func parsePubAck(b []byte) (ack *jetstream.PubAck, ok bool) {
	const head, seq = `{"stream":"`, `","seq":`
	s := string(b)
	if !strings.HasPrefix(s, head) {
		return nil, false
	}
	s = s[len(head):]
	i := strings.IndexByte(s, '"')
	if i <= 0 || !strings.HasPrefix(s[i:], seq) || strings.ContainsAny(s[:i], `\`) {
		return nil, false
	}
	ack = &jetstream.PubAck{Stream: s[:i]}
	s = s[i+len(seq):]
	j := 0
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	n, err := strconv.ParseUint(s[:j], 10, 64)
	if err != nil {
		return nil, false
	}
	ack.Sequence = n
	switch s[j:] {
	case "}":
	case `,"duplicate":true}`:
		ack.Duplicate = true
	default:
		return nil, false
	}
	return ack, true
}
