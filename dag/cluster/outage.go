package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// ErrUnreachable is matched (errors.Is) by the error of a call that waited Options.ClusterTimeout
// for a server that stayed unreachable; the error is an *UnreachableError.
var ErrUnreachable = errors.New("cluster: the server is unreachable")

// UnreachableError is the error of a call that gave up waiting for the server.
type UnreachableError struct {
	URL string        // the server's URL, with any password redacted
	For time.Duration // how long it was unreachable: Options.ClusterTimeout
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("the cluster server at %s was unreachable for %s: start it again (on the same data directory, to keep the calls and results it holds), or wait longer with cluster.Options.ClusterTimeout", e.URL, shortDuration(e.For))
}

// Is makes an *UnreachableError match ErrUnreachable.
func (e *UnreachableError) Is(target error) bool { return target == ErrUnreachable }

// shortDuration formats d as time.Duration does, without the zero units it ends with: 5m,
// not 5m0s; 1h30m, not 1h30m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Timing of the lines Options.Logf receives during an outage, and of the client's pings; the
// tests shorten them.
var (
	outageLogFirst = time.Second      // the first "waiting" line: a blip says nothing
	outageLogEvery = 10 * time.Second // and the next ones
	// pingInterval is how often the client pings the server: a server that vanished without
	// closing the connection (a partition, a powered-off machine) is noticed after two
	// unanswered pings.
	pingInterval = 10 * time.Second
)

// outages is a connection's view of the server's availability.
type outages struct {
	closing atomic.Bool   // Close was called: the disconnection that follows is no outage
	count   atomic.Uint64 // outages so far
	// epoch counts the times the server came back without its state (restarted without its
	// data): calls published before it are gone from the queue, and results stored before it
	// are gone from the buckets.
	epoch atomic.Uint64

	// back is when the last outage ended (Unix nanoseconds; zero: none yet).
	back atomic.Int64

	mu      sync.Mutex
	cur     *outage       // nil while the server is reachable
	changed chan struct{} // closed, and replaced, when cur changes or gives up

	checkMu sync.Mutex
	created time.Time // TaskStream's creation time, as this connection last saw it
}

// outage is one time the server was unreachable.
type outage struct {
	since  time.Time
	up     chan struct{} // closed once the server is back, and its state checked
	gaveUp chan struct{} // closed after Options.ClusterTimeout
	timer  *time.Timer
	logged atomic.Bool // a "waiting" line went out: the end of the outage gets one too
}

// down records that the connection to the server is lost: calls wait, the user hears of it
// after outageLogFirst, and the calls give up after ClusterTimeout.
func (c *Conn) down() {
	if c.outage.closing.Load() || c.nc.IsClosed() {
		return
	}
	c.outage.mu.Lock()
	defer c.outage.mu.Unlock()
	if c.outage.cur != nil { // lost again while checking the state after a reconnection
		return
	}
	o := &outage{since: time.Now(), up: make(chan struct{}), gaveUp: make(chan struct{})}
	o.timer = time.AfterFunc(c.opts.ClusterTimeout, func() {
		close(o.gaveUp)
		c.outage.mu.Lock()
		c.notifyLocked()
		c.outage.mu.Unlock()
	})
	c.outage.cur = o
	c.outage.count.Add(1)
	c.notifyLocked()
	go c.report(o)
}

// report tells the user, now and then, that the server is still away.
func (c *Conn) report(o *outage) {
	t := time.NewTimer(outageLogFirst)
	defer t.Stop()
	for {
		select {
		case <-o.up:
			return
		case <-o.gaveUp:
			return
		case <-t.C:
		}
		o.logged.Store(true)
		c.opts.Logf("waiting for the cluster server at %s (down %d s)", c.url, int(time.Since(o.since).Round(time.Second)/time.Second))
		t.Reset(outageLogEvery)
	}
}

// up records that the connection is back. The outage ends once the server's state is
// checked (and set up again if it was lost), so that no call is sent to a queue that is gone.
func (c *Conn) up() {
	c.outage.mu.Lock()
	o := c.outage.cur
	c.outage.mu.Unlock()
	if o != nil && o.logged.Load() {
		c.opts.Logf("the cluster server at %s is back (down %d s)", c.url, int(time.Since(o.since).Round(time.Second)/time.Second))
	}
	go func() {
		c.checkState()
		// Workers back at the same moment look for this coordinator's heartbeat, which may
		// have expired during a long outage: write it before the calls resume.
		c.mu.Lock()
		x := c.exec
		c.mu.Unlock()
		if x != nil {
			x.beatNow()
		}
		c.outage.mu.Lock()
		defer c.outage.mu.Unlock()
		if c.outage.cur == o && o != nil && c.nc.IsConnected() {
			c.outage.cur = nil
			c.outage.back.Store(time.Now().UnixNano())
			o.timer.Stop()
			close(o.up)
			c.notifyLocked()
		}
	}()
}

// endOutage ends the current outage as the connection closes, waking its waiters.
func (c *Conn) endOutage() {
	c.outage.mu.Lock()
	defer c.outage.mu.Unlock()
	if o := c.outage.cur; o != nil {
		c.outage.cur = nil
		o.timer.Stop()
		close(o.up)
	}
	c.notifyLocked()
}

func (c *Conn) notifyLocked() {
	if c.outage.changed != nil {
		close(c.outage.changed)
		c.outage.changed = nil
	}
}

// changes returns a channel that is closed at the next change of the server's availability:
// lost, back (with its state checked), or given up on.
func (c *Conn) changes() <-chan struct{} {
	c.outage.mu.Lock()
	defer c.outage.mu.Unlock()
	if c.outage.changed == nil {
		c.outage.changed = make(chan struct{})
	}
	return c.outage.changed
}

// sinceBack returns how long ago the last outage ended, and false when there was none.
func (c *Conn) sinceBack() (time.Duration, bool) {
	b := c.outage.back.Load()
	if b == 0 {
		return 0, false
	}
	return time.Since(time.Unix(0, b)), true
}

// isDown reports whether the server is unreachable, or back but not yet checked.
func (c *Conn) isDown() bool {
	c.outage.mu.Lock()
	defer c.outage.mu.Unlock()
	return c.outage.cur != nil || !c.nc.IsConnected()
}

// unreachable returns the error of calls that gave up on the server, when the current outage
// has lasted ClusterTimeout; nil otherwise.
func (c *Conn) unreachable() error {
	c.outage.mu.Lock()
	o := c.outage.cur
	c.outage.mu.Unlock()
	if o == nil {
		return nil
	}
	select {
	case <-o.gaveUp:
		return &UnreachableError{URL: c.url, For: c.opts.ClusterTimeout}
	default:
		return nil
	}
}

// waitUp returns once the server is reachable (and its state checked), or with an error
// matching ErrUnreachable once it has been away for ClusterTimeout, or when ctx ends.
func (c *Conn) waitUp(ctx context.Context) error {
	for {
		if c.nc.IsClosed() {
			return errClosed
		}
		c.outage.mu.Lock()
		o := c.outage.cur
		c.outage.mu.Unlock()
		if o == nil {
			if c.nc.IsConnected() {
				return nil
			}
			// Disconnected, and the client has not told us yet.
			select {
			case <-ctx.Done():
				return interrupted(ctx)
			case <-time.After(20 * time.Millisecond):
			}
			continue
		}
		select {
		case <-o.up:
		case <-o.gaveUp:
			return &UnreachableError{URL: c.url, For: c.opts.ClusterTimeout}
		case <-ctx.Done():
			return interrupted(ctx)
		}
	}
}

// retry runs f until it succeeds, or fails while the server is reachable, or ctx ends: a
// failure during an outage (or one that an outage ended meanwhile) waits for the server and
// runs f again, and ends with an error matching ErrUnreachable after ClusterTimeout.
func (c *Conn) retry(ctx context.Context, f func(context.Context) error) error {
	for {
		if err := c.unreachable(); err != nil { // given up on: do not wait for f's own timeout
			return err
		}
		before := c.outage.count.Load()
		err := f(ctx)
		if err == nil || ctx.Err() != nil || c.nc.IsClosed() {
			return err
		}
		if !c.isDown() && c.outage.count.Load() == before {
			return err
		}
		if werr := c.waitUp(ctx); werr != nil {
			return werr
		}
	}
}

// checkState checks, after a reconnection, whether the server still holds the cluster's
// state: a server restarted without its data has lost the queue, the consumer and the
// buckets. It sets them up again and tells the executor and the store, which send the
// calls still pending again and compute again the values they need that were lost.
func (c *Conn) checkState() {
	c.outage.checkMu.Lock()
	defer c.outage.checkMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var (
		info *jetstream.StreamInfo
		err  error
	)
	for attempt := 0; ; attempt++ {
		info, err = c.tasks.Info(ctx)
		if err == nil || errors.Is(err, jetstream.ErrStreamNotFound) || ctx.Err() != nil || !c.nc.IsConnected() {
			break
		}
		select { // JetStream may still be starting on the server
		case <-ctx.Done():
		case <-time.After(time.Duration(50<<min(attempt, 4)) * time.Millisecond):
		}
	}
	switch {
	case err == nil && info.Created.Equal(c.outage.created):
		return // it kept its state
	case err != nil && !errors.Is(err, jetstream.ErrStreamNotFound):
		return // cannot tell: the next reconnection checks again
	}
	fresh := &Conn{nc: c.nc, opts: c.opts}
	if err := fresh.setup(ctx, false); err != nil {
		c.opts.Logf("the cluster server at %s came back without its state, and setting its streams and buckets up again failed: %v", c.url, err)
		return
	}
	c.outage.created = fresh.tasks.CachedInfo().Created
	c.outage.epoch.Add(1)
	c.opts.Logf("the cluster server at %s came back without its state: its streams and buckets are set up again, and the calls still pending are sent again", c.url)
	c.mu.Lock()
	x, s := c.exec, c.store
	c.mu.Unlock()
	if x != nil {
		x.stateLost(ctx)
	}
	if s != nil {
		s.restart()
	}
}

// asyncError receives the NATS client's asynchronous errors. A refusal goes to whoever
// watches for one (WatchDenied); the store's watcher losing its consumer across an outage is
// handled by the outage's own lines; anything else goes to Options.Logf, as the client would
// otherwise print it on stderr.
func (c *Conn) asyncError(err error) {
	c.denied.report(err)
	switch {
	case errors.Is(err, nats.ErrPermissionViolation),
		errors.Is(err, nats.ErrConsumerNotActive),
		errors.Is(err, nats.ErrStreamNotFound), // "stream not found: recreating ordered consumer"
		errors.Is(err, nats.ErrConsumerNotFound),
		strings.Contains(err.Error(), "ordered consumer"):
		return
	}
	c.opts.Logf("the NATS client reports: %v", err)
}
