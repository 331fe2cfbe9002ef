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

// jsClusterNotAvailable is the JetStream API's answer while the servers of a cluster have no
// leader for their metadata ("JetStream system temporarily unavailable").
const jsClusterNotAvailable = 10008

// setupAttempt bounds one attempt at a request that sets up a stream, a consumer or a
// bucket: longer than leaderAttempt, as creating a replicated stream takes a few seconds.
const setupAttempt = 5 * time.Second

// askLeader runs f, a request to the JetStream API, and runs it again while no leader answers
// (each attempt bounded by setupAttempt) until ctx ends. Setting up the streams and buckets
// right after a server of a cluster went down would otherwise wait out the whole deadline on
// a request the lost server never answers. Creating an asset again is safe: the server
// answers a creation with the same configuration as it would a lookup.
func askLeader[A any](ctx context.Context, f func(context.Context) (A, error)) (A, error) {
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, setupAttempt)
		a, err := f(actx)
		cancel()
		var apiErr *jetstream.APIError
		again := leaderLost(err) || errors.As(err, &apiErr) && apiErr.ErrorCode == jsClusterNotAvailable
		if err == nil || ctx.Err() != nil || !again {
			return a, err
		}
		select {
		case <-ctx.Done():
			return a, err
		case <-time.After(time.Duration(100<<min(attempt, 3)) * time.Millisecond):
		}
	}
}
