package cluster

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// leaderAttempt bounds one attempt at a request that a stream's leader answers. In a
// cluster of servers, a leader that goes down loses the requests it had not answered, and
// the others elect a new one within seconds: the request is sent again rather than waited
// on for the caller's whole deadline.
const leaderAttempt = 2 * time.Second

// publishTask publishes a call to TaskStream, sending it again while the stream has no
// leader to answer (one was lost, or the servers are electing another) for up to
// Options.ClusterTimeout. Sending again is safe: the message id makes the stream store a
// call once, and a resent one is acknowledged with the sequence of the first.
func (c *Conn) publishTask(ctx context.Context, m *nats.Msg) (*jetstream.PubAck, error) {
	deadline := time.Now().Add(c.opts.ClusterTimeout)
	for {
		actx, cancel := context.WithTimeout(ctx, leaderAttempt)
		ack, err := c.jsPublish(actx, m)
		cancel()
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) || !leaderLost(err) {
			return ack, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// leaderLost reports whether err is what a request gets when no leader answers it.
func leaderLost(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || errors.Is(err, nats.ErrNoResponders)
}
