package cluster

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
)

// feed keeps pull requests outstanding on one inbox, a long-lived subscription, for the
// worker's free slots: a request asks for as many calls as there are free slots no request has
// asked for yet, so the worker never holds a call it has no slot for. A slot a request asked
// for is promised to it until a call arrives (and holds the slot), or the request expires (and
// the server says how many calls it did not deliver). A call whose children have finished takes
// a promised slot back when no slot is free (Acquire): the feed then moves to a new inbox, which
// abandons the requests of the old one (the server drops a request nobody listens to), and
// asks again for the slots left free.
type feed struct {
	w       *worker
	ctx     context.Context // the worker's: calls run under it
	wg      *sync.WaitGroup // the calls running
	subject string          // the consumer's next-message subject

	mu        sync.Mutex
	sub       *nats.Subscription // the current inbox's
	inbox     string
	gen       int       // counts the inboxes: calls that arrive on an older one were asked for there
	asked     int       // slots promised to the requests outstanding on the current inbox
	reqs      []pullReq // those requests, oldest first, as the server serves them
	resumers  int       // calls waiting in Acquire: free slots go to them first
	reconnect uint64    // the connection's reconnections when the inbox was subscribed
	backoff   time.Time // no request before this: the server refused the last one
	logged    time.Time // when a refusal was last logged
}

// pullReq is a pull request outstanding: how many calls it may still deliver, and when the
// server ends it.
type pullReq struct {
	n       int
	expires time.Time
}

// pullExpires is how long a pull request waits for calls on the server: an idle worker asks
// again this often.
const pullExpires = 5 * time.Second

// pull feeds the worker calls until ctx ends.
func (w *worker) pull(ctx context.Context, wg *sync.WaitGroup) error {
	f := &feed{w: w, ctx: ctx, wg: wg, subject: "$JS.API.CONSUMER.MSG.NEXT." + TaskStream + "." + WorkerGroup}
	f.mu.Lock()
	err := f.subscribeLocked()
	f.mu.Unlock()
	if err != nil {
		return fmt.Errorf("cluster: subscribe to a pull inbox: %w", err)
	}
	w.feed.Store(f)
	f.refill()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			f.mu.Lock()
			sub := f.sub
			f.mu.Unlock()
			// Calls already on their way are given back (the handler sees ctx done).
			if sub.Drain() == nil {
				for i := 0; i < 100 && sub.IsValid(); i++ {
					time.Sleep(10 * time.Millisecond)
				}
			}
			return nil
		case <-t.C:
		}
		f.mu.Lock()
		// Requests lost with a server (it restarted, or a leader went down), or across a
		// reconnection, are never answered: move to a new inbox and ask again.
		if len(f.reqs) > 0 && (time.Since(f.reqs[0].expires) > 2*time.Second || w.c.nc.Stats().Reconnects != f.reconnect) {
			f.rotateLocked()
		}
		f.mu.Unlock()
		f.refill()
	}
}

// subscribeLocked subscribes to a new inbox. f.mu is held.
func (f *feed) subscribeLocked() error {
	f.gen++
	gen := f.gen
	inbox := f.w.c.nc.NewInbox()
	sub, err := f.w.c.nc.Subscribe(inbox, func(m *nats.Msg) { f.receive(m, gen) })
	if err != nil {
		return err
	}
	// Calls come as fast as the worker's slots free up: never more than its slots at once.
	_ = sub.SetPendingLimits(-1, -1)
	f.sub, f.inbox, f.asked, f.reqs, f.reconnect = sub, inbox, 0, nil, f.w.c.nc.Stats().Reconnects
	return nil
}

// rotateLocked abandons the requests outstanding: their promised slots are free again, and
// the calls already on their way to the old inbox still arrive (Drain) and take a free slot,
// if there is one. f.mu is held.
func (f *feed) rotateLocked() {
	old, asked := f.sub, f.asked
	if err := f.subscribeLocked(); err != nil {
		f.gen-- // keep the old inbox and its requests
		return
	}
	_ = old.Drain()
	for range asked {
		f.w.tokens <- struct{}{}
	}
}

// refill asks for a call per free slot that no request has asked for, unless a resuming call
// waits for a slot.
func (f *feed) refill() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.resumers > 0 || f.ctx.Err() != nil || time.Now().Before(f.backoff) {
		return
	}
	n := 0
	for len(f.w.tokens) > 0 {
		select {
		case <-f.w.tokens:
			n++
			continue
		default:
		}
		break
	}
	if n == 0 {
		return
	}
	req := fmt.Appendf(nil, `{"batch":%d,"expires":%d}`, n, pullExpires.Nanoseconds())
	if err := f.w.c.nc.PublishRequest(f.subject, f.inbox, req); err != nil {
		for range n {
			f.w.tokens <- struct{}{}
		}
		f.refusedLocked(err)
		return
	}
	f.asked += n
	f.reqs = append(f.reqs, pullReq{n: n, expires: time.Now().Add(pullExpires)})
}

// refusedLocked waits half a second before the next request, and logs err once a second:
// every slot of the worker sees it. f.mu is held.
func (f *feed) refusedLocked(err error) {
	f.backoff = time.Now().Add(500 * time.Millisecond)
	if time.Since(f.logged) > time.Second {
		f.logged = time.Now()
		hint := ""
		if strings.Contains(err.Error(), "MaxWaiting") {
			hint = fmt.Sprintf(" (the server keeps %d pull requests, about one per worker and one per slot freed since its last: run fewer workers with more slots each)", maxWaiting)
		}
		f.w.cfg.Logf("worker %s: pull: %v%s", f.w.cfg.ID, err, hint)
	}
}

// receive takes a message from inbox gen: a call, or the server's word on a request.
func (f *feed) receive(m *nats.Msg, gen int) {
	if !strings.HasPrefix(m.Reply, "$JS.ACK.") {
		f.status(m, gen)
		return
	}
	f.mu.Lock()
	ok := false
	switch {
	case f.ctx.Err() != nil:
	case gen == f.gen && f.asked > 0:
		f.asked-- // its slot was promised to it
		if len(f.reqs) > 0 {
			if f.reqs[0].n--; f.reqs[0].n <= 0 {
				f.reqs = f.reqs[1:]
			}
		}
		ok = true
	case f.resumers == 0: // asked for on an abandoned inbox: a slot may be free
		select {
		case <-f.w.tokens:
			ok = true
		default:
		}
	}
	f.mu.Unlock()
	if !ok { // no slot for it: back to the queue, for this worker or another
		_ = f.w.c.nc.Publish(m.Reply, ackNak)
		return
	}
	f.wg.Go(func() {
		s := &callSlot{w: f.w, held: true}
		defer s.Release()
		f.w.handle(f.ctx, m, s)
	})
}

// status handles a status message of the server on inbox gen: a request expired, or was
// refused, and the slots it asked for and did not get are free again.
func (f *feed) status(m *nats.Msg, gen int) {
	code := m.Header.Get("Status")
	if code == "100" || code == "" { // an idle heartbeat, or nothing the feed asked for
		return
	}
	f.mu.Lock()
	if gen != f.gen {
		f.mu.Unlock()
		return
	}
	pending, err := strconv.Atoi(m.Header.Get("Nats-Pending-Messages"))
	switch {
	case err == nil && pending >= 0 && pending <= f.asked && len(f.reqs) > 0:
		// The oldest request ended: it expires first.
		f.asked -= pending
		f.reqs = f.reqs[1:]
		for range pending {
			f.w.tokens <- struct{}{}
		}
	default: // cannot tell which request it was: abandon them all
		f.rotateLocked()
	}
	if code != "408" && code != "404" {
		f.refusedLocked(fmt.Errorf("%s %s", code, m.Header.Get("Description")))
	}
	f.mu.Unlock()
	f.refill()
}

// reclaim makes the slots promised to the outstanding requests free again, for a call that
// resumes: it is counted as waiting for a slot until done is called.
func (f *feed) reclaim() (done func()) {
	f.mu.Lock()
	f.resumers++
	if f.asked > 0 {
		f.rotateLocked()
	}
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.resumers--
		f.mu.Unlock()
		f.refill()
	}
}

// Acknowledgements of a JetStream message, published to its reply subject.
var (
	ackAck      = []byte("+ACK")
	ackNak      = []byte("-NAK")
	ackProgress = []byte("+WPI")
	ackTerm     = []byte("+TERM")
)
