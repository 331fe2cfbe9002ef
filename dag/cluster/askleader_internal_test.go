package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// A setup request that no leader answers (a timeout, no responders, "JetStream system
// temporarily unavailable") is asked again; any other answer, and the end of ctx, end it.
func TestAskLeader(t *testing.T) {
	ctx := context.Background()
	answers := []error{nats.ErrTimeout, nats.ErrNoResponders, &jetstream.APIError{ErrorCode: jsClusterNotAvailable, Description: "JetStream system temporarily unavailable"}, nil}
	calls := 0
	v, err := askLeader(ctx, func(context.Context) (int, error) {
		calls++
		return calls, answers[calls-1]
	})
	if err != nil || v != 4 || calls != 4 {
		t.Fatalf("askLeader = %d, %v after %d calls; want 4, nil after 4", v, err, calls)
	}

	calls = 0
	_, err = askLeader(ctx, func(context.Context) (int, error) {
		calls++
		return 0, jetstream.ErrStreamNotFound
	})
	if !errors.Is(err, jetstream.ErrStreamNotFound) || calls != 1 {
		t.Fatalf("a stream not found: %v after %d calls; want it at once", err, calls)
	}

	cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	calls = 0
	_, err = askLeader(cctx, func(context.Context) (int, error) {
		calls++
		return 0, nats.ErrNoResponders
	})
	if !errors.Is(err, nats.ErrNoResponders) || cctx.Err() == nil {
		t.Fatalf("no leader until the deadline: %v (ctx %v)", err, cctx.Err())
	}
}
