package runtime

import (
	"context"
	"time"
)

type usageKey struct{}

// WithUsage returns a context whose calls measure how long their guest ran: Result.Guest,
// and CallError.Guest when the call fails, are set only for calls made with such a context.
// Measuring reads the clock twice per call, plus twice per nested execute or fetch, which a
// caller that does not look at the figure should not pay for; Result.Memory costs nothing to
// read and is always set.
func WithUsage(ctx context.Context) context.Context {
	return context.WithValue(ctx, usageKey{}, true)
}

// measured reports whether calls made with ctx measure their guest time (WithUsage).
func measured(ctx context.Context) bool {
	_, ok := ctx.Value(usageKey{}).(bool)
	return ok
}

// clockBase anchors the monotonic readings of monotonic.
var clockBase = time.Now()

// monotonic reads the monotonic clock. time.Since on a time that carries a monotonic reading
// reads that clock alone, half the cost of time.Now, which reads the wall clock too.
func monotonic() time.Duration { return time.Since(clockBase) }

// clock reads the monotonic clock when the running call measures its guest time, and
// returns 0 when it does not.
func (inst *instance) clock() time.Duration {
	if !inst.measure {
		return 0
	}
	return monotonic()
}
