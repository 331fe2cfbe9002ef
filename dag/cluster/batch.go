package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"
)

// Batches of calls. Every message through the server costs it about as much CPU as the call
// of a tiny function costs a worker, and a call alone costs eleven (RATIONALE.md, "Why are
// tiny calls sent in batches?"). A coordinator that has several calls of functions known to
// be quick ready at once sends them as one message of TaskStream: a MessagePack array of task
// messages instead of one. A worker runs a batch's calls one after another on one slot,
// stores each call's outputs as it would alone, acknowledges the message once all are
// stored, and reports their ends in one message to the coordinator.
//
// A batch is redelivered whole, like a single call: the calls whose outputs are found stored
// are settled without running. A call is sent in a batch only when its function's calls have
// been seen to take little time, so that a batch holds a slot for about batchWork at most and
// a slow call never waits behind another slow call while slots are idle.

// Bounds of a batch.
const (
	// batchWork is the time the calls of a batch are expected to take, together, at most.
	batchWork = 2 * time.Millisecond
	// maxBatch is the most calls in a batch.
	maxBatch = 64
	// maxBatchBytes is the most bytes of task messages in a batch; a call whose message is
	// larger than batchCallBytes is sent alone.
	maxBatchBytes  = 256 << 10
	batchCallBytes = 16 << 10
	// The batcher waits for more calls while many are in flight (the completions of one
	// batch release their engine's slots one by one): up to batchLinger while lingerInFlight
	// calls or more are, up to batchLingerLong while longInFlight or more are (the workers
	// have plenty queued meanwhile).
	batchLinger     = 100 * time.Microsecond
	lingerInFlight  = 16
	batchLingerLong = time.Millisecond
	longInFlight    = 4 * maxBatch
	// maxReportBytes bounds one message of completions; a larger completion goes alone.
	maxReportBytes = 256 << 10
)

// isBatch reports whether a message of TaskStream, or of completions, holds a batch: a
// MessagePack array rather than a map.
func isBatch(b []byte) bool {
	return len(b) > 0 && (b[0]&0xf0 == 0x90 || b[0] == 0xdc || b[0] == 0xdd)
}

// decodeBatch decodes and checks the task messages of a batch.
func decodeBatch(b []byte) ([]*taskMsg, error) {
	var raws []msgpack.RawMessage
	if err := abi.Unmarshal(b, &raws); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if len(raws) == 0 || len(raws) > maxBatch {
		return nil, fmt.Errorf("a batch of %d calls, want 1 to %d", len(raws), maxBatch)
	}
	calls := make([]*taskMsg, len(raws))
	for i, r := range raws {
		t, err := decodeTask(r)
		if err != nil {
			return nil, fmt.Errorf("call %d of the batch: %w", i, err)
		}
		if t.FrameRef != "" {
			return nil, fmt.Errorf("call %d of the batch: a batched call carries its argument frame", i)
		}
		calls[i] = t
	}
	return calls, nil
}

// handleBatch runs the calls of the batch m on slot, which it holds throughout. The outputs
// of each call are written while the next runs; a call is reported once its outputs are
// stored, and the message acknowledged once every call's are.
func (w *worker) handleBatch(ctx context.Context, m *nats.Msg, slot *callSlot) {
	calls, err := decodeBatch(m.Data)
	if err != nil {
		w.cfg.Logf("worker %s: dropping a malformed batch of calls: %v", w.cfg.ID, err)
		_ = w.c.nc.Publish(m.Reply, ackTerm)
		return
	}
	if ctx.Err() != nil {
		_ = w.c.nc.Publish(m.Reply, ackNak)
		return
	}
	stopBeat := w.keepAlive(m)
	defer stopBeat()
	again := deliveries(m.Reply) >= 2
	r := &reporter{w: w}
	giveBack := func() {
		r.flush(ctx)
		stopBeat()
		_ = w.c.nc.Publish(m.Reply, ackNak)
	}
	slot.start()
	for _, t := range calls {
		if ctx.Err() != nil {
			giveBack()
			return
		}
		if w.wasCancelled(t.ID) {
			continue // its coordinator stopped waiting for it
		}
		if t.Coord != "" && w.c.coordinators != nil && !w.coordAlive(ctx, t.Coord) {
			r.add(ctx, t.Reply, w.dropped(ctx, t))
			continue
		}
		if again && w.outputsStored(ctx, t) {
			w.done.Add(1)
			r.add(ctx, t.Reply, doneMsg{ID: t.ID, Worker: w.cfg.ID})
			continue
		}
		a, out := w.attempt(ctx, t, slot, true)
		switch out {
		case outGiveBack:
			// Delivered again, the batch's calls stored so far are settled without running.
			giveBack()
			return
		case outDropped:
			r.add(ctx, t.Reply, w.dropped(ctx, t))
			continue
		}
		if !r.storing(ctx, t, a) {
			giveBack()
			return
		}
	}
	slot.Release()
	if !r.stored(ctx) {
		giveBack()
		return
	}
	stopBeat()
	ack := func(context.Context) error { return w.c.nc.Publish(m.Reply, ackAck) }
	if ack(ctx) != nil {
		if err := w.persist(ctx, calls[0], "acknowledge", ack); err != nil {
			w.cfg.Logf("worker %s: acknowledge a batch of %d calls: %v", w.cfg.ID, len(calls), err)
		}
	}
	r.flush(ctx)
}

// reporter gathers the completions of a batch's calls, by coordinator, into few messages:
// they go out when the batch ends, or once the oldest has waited reportDelay. It also holds
// the calls whose outputs are being written, until the server confirms them.
type reporter struct {
	w       *worker
	by      map[string][]doneMsg
	oldest  time.Time
	writing []writing
}

// writing is a call whose outputs are being written.
type writing struct {
	t       *taskMsg
	a       attempted
	futures []jetstream.PubAckFuture // nil for an output written already
}

// reportDelay is how long a completion of a batch's call may wait for the others.
const reportDelay = 5 * time.Millisecond

// storing starts writing the outputs of the call of t, attempted as a says; a failed call is
// reported at once. It returns false when the worker gave up on the server.
func (r *reporter) storing(ctx context.Context, t *taskMsg, a attempted) bool {
	w := r.w
	if a.err != nil {
		r.add(ctx, t.Reply, w.ended(ctx, t, a))
		return true
	}
	wr := writing{t: t, a: a, futures: make([]jetstream.PubAckFuture, len(a.outputs))}
	for i, o := range a.outputs {
		if len(o.value) > w.c.opts.InlineMax {
			continue // written by stored, with the object store
		}
		f, err := w.c.js.PublishMsgAsync(createMsg(o.key, append([]byte{tagInline}, o.value...)))
		if err == nil {
			wr.futures[i] = f
		}
	}
	r.writing = append(r.writing, wr)
	if time.Since(r.oldest) > reportDelay && len(r.by) > 0 || len(r.writing) > 0 && time.Since(r.writing[0].a.started) > reportDelay {
		return r.stored(ctx)
	}
	return true
}

// stored waits until the outputs of the calls being written are stored, writing again those
// the server did not confirm, and reports the calls. It returns false when the worker gave up
// on the server.
func (r *reporter) stored(ctx context.Context) bool {
	w := r.w
	w.storing.Add(int64(len(r.writing)))
	defer w.storing.Add(-int64(len(r.writing)))
	// One wait for all the answers: a server that went away (a leader that stepped down)
	// answers none of them, and the outputs are then written again one by one.
	wait, cancel := context.WithTimeout(ctx, persistAttempt)
	defer cancel()
	for _, wr := range r.writing {
		if beforeStore != nil {
			beforeStore()
		}
		var again []output
		for i, f := range wr.futures {
			if f == nil || !confirmed(wait, f) {
				again = append(again, wr.a.outputs[i])
			}
		}
		if len(again) > 0 {
			if err := w.storeOutputs(ctx, wr.t, again); errors.Is(err, errGaveUp) {
				return false
			} else if err != nil {
				wr.a.err = err
			}
		}
		r.add(ctx, wr.t.Reply, w.ended(ctx, wr.t, wr.a))
	}
	r.writing = r.writing[:0]
	r.flush(ctx)
	return true
}

// confirmed waits for the server's answer to an output's create, until ctx ends, and reports
// whether it stored the value. Anything else (no answer, the key exists already, an error) is
// left to writeValue, which knows what each means.
func confirmed(ctx context.Context, f jetstream.PubAckFuture) bool {
	select {
	case <-f.Ok():
		return true
	case <-f.Err():
		return false
	case <-ctx.Done():
		return false
	}
}

func (r *reporter) add(ctx context.Context, reply string, d doneMsg) {
	if r.by == nil {
		r.by = map[string][]doneMsg{}
	}
	if len(r.by) == 0 {
		r.oldest = time.Now()
	}
	r.by[reply] = append(r.by[reply], d)
}

// flush sends the completions gathered, waiting out an outage of the server.
func (r *reporter) flush(ctx context.Context) {
	for reply, ds := range r.by {
		for len(ds) > 0 {
			var b []byte
			n := 0
			for n < len(ds) {
				e, _ := msgpack.Marshal(&ds[n])
				if n > 0 && len(b)+len(e) > maxReportBytes {
					break
				}
				b = append(b, e...)
				n++
			}
			b = append(arrayHeader(n), b...)
			send := func(context.Context) error { return r.w.c.nc.Publish(reply, b) }
			if send(ctx) != nil {
				_ = r.w.persist(ctx, &taskMsg{ModName: "a batch", Func: "of calls", ID: ds[0].ID}, "report", send)
			}
			ds = ds[n:]
		}
	}
	clear(r.by)
}

// arrayHeader returns the MessagePack header of an array of n elements.
func arrayHeader(n int) []byte {
	switch {
	case n < 16:
		return []byte{0x90 | byte(n)}
	case n < 1<<16:
		return []byte{0xdc, byte(n >> 8), byte(n)}
	default:
		return []byte{0xdd, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
}

// dropped records that the call of t is dropped, its coordinator gone, and returns the
// completion that says so.
func (w *worker) dropped(ctx context.Context, t *taskMsg) doneMsg {
	w.cfg.Logf("worker %s: dropping %s.%s (attempt %s): %v", w.cfg.ID, t.ModName, t.Func, t.ID, errCoordinatorGone)
	d := doneMsg{ID: t.ID, Worker: w.cfg.ID, Err: &wireErr{Kind: kindDropped, Message: "the call was dropped: " + errCoordinatorGone.Error()}}
	b, _ := msgpack.Marshal(&d)
	_, _ = w.c.failed.Put(ctx, t.ID, b)
	return d
}

// Cancellations of calls that had not started: a batched call is cancelled by its id alone.
const maxCancelled = 1 << 16

// noteCancelled remembers that the attempt id was cancelled before this worker started it.
func (w *worker) noteCancelled(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cancelled == nil || len(w.cancelled) >= maxCancelled {
		w.cancelled = map[string]struct{}{} // the oldest are forgotten: such a call runs, for nobody
	}
	w.cancelled[id] = struct{}{}
}

// wasCancelled reports whether the attempt id was cancelled before this worker started it.
func (w *worker) wasCancelled(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.cancelled[id]
	if ok {
		delete(w.cancelled, id)
	}
	return ok
}

// The coordinator's side.

// batch is a message of TaskStream holding several calls, as its coordinator tracks it.
type batch struct {
	seq       uint64
	ids       []string
	live      int  // calls of it still waited for
	cancelled bool // one of them was cancelled: the message is deleted once none is waited for
}

// queued is a call waiting for the batcher.
type queued struct {
	id   string
	b    []byte
	max  int // the most calls of a batch it may be sent in (batchSize)
	done chan queuedResult
}

type queuedResult struct {
	b   *batch
	seq uint64
	err error
}

// batcher publishes the calls queued by Run in batches, one publication at a time: the calls
// that arrive while one is on its way go out together in the next.
func (x *Executor) batcher(ctx context.Context) {
	for {
		var first *queued
		select {
		case <-ctx.Done():
			return
		case first = <-x.queue:
		}
		g := &group{calls: []*queued{first}, size: len(first.b), max: first.max}
		x.mu.Lock()
		wait := batchLinger
		if len(x.waiting) >= longInFlight {
			wait = batchLingerLong
		}
		x.mu.Unlock()
		linger := time.NewTimer(wait)
	gather:
		for len(g.calls) < g.max {
			select {
			case q := <-x.queue:
				g = x.join(ctx, g, q)
				continue
			default:
			}
			x.mu.Lock()
			busy := len(x.waiting) >= lingerInFlight
			x.mu.Unlock()
			if !busy {
				break
			}
			select {
			case q := <-x.queue:
				g = x.join(ctx, g, q)
			case <-linger.C:
				break gather
			case <-ctx.Done():
				break gather
			}
		}
		linger.Stop()
		x.publishBatch(ctx, g.calls)
	}
}

// group is a batch being gathered: its calls, their bytes, and the most calls it may hold.
type group struct {
	calls []*queued
	size  int
	max   int
}

// join adds q to g, or publishes g and starts a new group with q when q does not fit in g.
func (x *Executor) join(ctx context.Context, g *group, q *queued) *group {
	if g.size+len(q.b) > maxBatchBytes || len(g.calls) >= q.max {
		x.publishBatch(ctx, g.calls)
		return &group{calls: []*queued{q}, size: len(q.b), max: q.max}
	}
	g.calls, g.size, g.max = append(g.calls, q), g.size+len(q.b), min(g.max, q.max)
	return g
}

// publishBatch publishes group as one message, and tells each call where it went.
func (x *Executor) publishBatch(ctx context.Context, group []*queued) {
	if len(group) == 0 {
		return
	}
	var b []byte
	if len(group) == 1 {
		b = group[0].b
	} else {
		b = arrayHeader(len(group))
		for _, q := range group {
			b = append(b, q.b...)
		}
	}
	ack, err := x.publish(ctx, group[0].id, b)
	if err != nil {
		for _, q := range group {
			q.done <- queuedResult{err: err}
		}
		return
	}
	if len(group) == 1 {
		x.mu.Lock()
		x.bySeq[ack.Sequence] = group[0].id
		x.mu.Unlock()
		x.known(ack.Sequence)
		group[0].done <- queuedResult{seq: ack.Sequence}
		return
	}
	bt := &batch{seq: ack.Sequence, live: len(group)}
	for _, q := range group {
		bt.ids = append(bt.ids, q.id)
	}
	x.mu.Lock()
	x.batches[ack.Sequence] = bt
	x.mu.Unlock()
	x.known(ack.Sequence)
	for _, q := range group {
		q.done <- queuedResult{b: bt, seq: ack.Sequence}
	}
}

// enqueue hands the call of attempt id, encoded as b, to the batcher, and waits until it is
// published, alone or in a batch (returned; nil when alone).
func (x *Executor) enqueue(ctx context.Context, id string, b []byte, max int) (uint64, *batch, error) {
	q := &queued{id: id, b: b, max: max, done: make(chan queuedResult, 1)}
	select {
	case x.queue <- q:
	case <-ctx.Done():
		return 0, nil, interrupted(ctx)
	}
	r := <-q.done // the batcher answers every call it took, even when ctx ends
	return r.seq, r.b, r.err
}

// leave counts a call of bt as no longer waited for; cancelled says it was cancelled. The
// message is deleted from the queue once none of its calls is waited for and one was
// cancelled, so that no worker runs calls nobody waits for.
func (x *Executor) leave(ctx context.Context, bt *batch, cancelled bool) {
	x.mu.Lock()
	bt.live--
	bt.cancelled = bt.cancelled || cancelled
	last := bt.live == 0
	if last {
		delete(x.batches, bt.seq)
	}
	x.mu.Unlock()
	if last && bt.cancelled {
		_ = x.c.tasks.DeleteMsg(context.WithoutCancel(ctx), bt.seq)
	}
}

// errUnbatched is wrapped by the error of a call whose batch a worker refused (a worker that
// does not know batches terminates the message as malformed): Run sends it again, alone.
var errUnbatched = errors.New("the batch of calls it was in was refused")

// onTerminated handles the advisory of a message a worker terminated: when it held a batch,
// the calls in it are sent again one by one, and no more batches are sent.
func (x *Executor) onTerminated(m *nats.Msg) {
	var adv struct {
		StreamSeq uint64 `json:"stream_seq"`
	}
	if json.Unmarshal(m.Data, &adv) != nil {
		return
	}
	x.advise(adv.StreamSeq, advisory{err: &wireErr{Kind: kindUnbatched, Message: errUnbatched.Error()}, at: time.Now()})
}

// advisory is what an advisory of the server said about a message of TaskStream: the error
// that ends its calls, and when it arrived.
type advisory struct {
	err *wireErr
	at  time.Time
}

// earlyKeep bounds how long, and earlyMax how many, advisories of messages not yet known
// by their sequence are kept.
const (
	earlyKeep = time.Minute
	earlyMax  = 4096
)

// advise applies an advisory about the message at stream sequence seq. The server
// acknowledges a publication before a worker can receive the message, but the goroutine
// waiting for that acknowledgement may record the sequence after the advisory's handler has
// run (a busy machine shows it): an advisory of an unknown sequence is kept, and applied by
// known when the publication records it. A terminated message that held one call is left
// alone (only batches are refused by older workers); one that reached max deliveries fails
// its calls and is deleted.
func (x *Executor) advise(seq uint64, adv advisory) {
	x.mu.Lock()
	_, single := x.bySeq[seq]
	_, batched := x.batches[seq]
	if !single && !batched {
		if len(x.early) >= earlyMax {
			for s, a := range x.early {
				if time.Since(a.at) > earlyKeep || len(x.early) >= earlyMax {
					delete(x.early, s)
				}
			}
		}
		x.early[seq] = adv
		x.mu.Unlock()
		return
	}
	x.mu.Unlock()
	if adv.err.Kind == kindUnbatched {
		if !batched {
			return
		}
		if x.unbatched.CompareAndSwap(false, true) {
			x.c.opts.Logf("a worker refused a batch of calls (is it an older mrun?): calls go one by one from now on; run the same mrun version on every worker and coordinator")
		}
		x.fail(seq, adv.err)
		return
	}
	if x.fail(seq, adv.err) {
		_ = x.c.tasks.DeleteMsg(context.Background(), seq)
	}
}

// known applies an advisory that arrived for seq before its publication was recorded. The
// caller has just recorded seq in bySeq or batches.
func (x *Executor) known(seq uint64) {
	x.mu.Lock()
	adv, ok := x.early[seq]
	delete(x.early, seq)
	x.mu.Unlock()
	if ok && time.Since(adv.at) <= earlyKeep {
		x.advise(seq, adv)
	}
}

// fail ends the attempts waiting for the message at stream sequence seq (one call, or the
// calls of a batch) with the error e, and reports whether the message held any.
func (x *Executor) fail(seq uint64, e *wireErr) bool {
	x.mu.Lock()
	var ids []string
	if id, ok := x.bySeq[seq]; ok {
		ids = []string{id}
	} else if bt := x.batches[seq]; bt != nil {
		ids = bt.ids
	}
	chs := make([]chan doneMsg, len(ids))
	for i, id := range ids {
		chs[i] = x.waiting[id]
	}
	x.mu.Unlock()
	for i, ch := range chs {
		if ch != nil {
			select {
			case ch <- doneMsg{ID: ids[i], Err: e}:
			default: // it has its completion already
			}
		}
	}
	return len(ids) > 0
}

// batchSize returns how many calls of the function fn (its module's SHA-256 hex and name)
// may share a batch: 1 until calls of it have been seen to end, then as many as take about
// batchWork together.
func (x *Executor) batchSize(fn string) int {
	x.mu.Lock()
	took, ok := x.took[fn]
	x.mu.Unlock()
	if !ok && !x.unbatched.Load() {
		x.seeded.Do(x.seed)
		x.mu.Lock()
		took, ok = x.took[fn]
		x.mu.Unlock()
	}
	if !ok || x.unbatched.Load() {
		return 1
	}
	return int(min(max(batchWork.Nanoseconds()/max(took, 1), 1), maxBatch))
}

// learn records how long a call of fn took, as a moving average.
func (x *Executor) learn(fn string, took int64) {
	if took <= 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, ok := x.took[fn]; ok {
		took = (7*old + took) / 8
	} else if len(x.took) >= maxLearned {
		clear(x.took)
	}
	x.took[fn] = took
}

// maxLearned bounds the functions whose call times an executor remembers.
const maxLearned = 4096

// maxWorkerLearned bounds the functions whose call times a worker's heartbeat carries.
const maxWorkerLearned = 64

// learn records how long a call of fn took on this worker, as a moving average, for its
// heartbeat (WorkerInfo.CallNanos).
func (w *worker) learn(fn string, took int64) {
	w.tookMu.Lock()
	defer w.tookMu.Unlock()
	if old, ok := w.took[fn]; ok {
		w.took[fn] = (7*old + took) / 8
		return
	}
	if w.took == nil || len(w.took) >= maxWorkerLearned {
		w.took = map[string]int64{}
	}
	w.took[fn] = took
}

// seed learns, once, the call times the workers' heartbeats carry, for the functions this
// executor has not seen end yet: a new coordinator then batches the first calls of a quick
// function too, rather than only those after one of its calls ended.
func (x *Executor) seed() {
	if x.c.isDown() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ws, err := x.c.Workers(ctx)
	if err != nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, w := range ws {
		for fn, took := range w.CallNanos {
			if _, ok := x.took[fn]; !ok && took > 0 && len(x.took) < maxLearned {
				x.took[fn] = took
			}
		}
	}
}
