package runtime

import "time"

// clockBase anchors the monotonic readings of monotonic.
var clockBase = time.Now()

// monotonic reads the monotonic clock. time.Since on a time that carries a monotonic reading
// reads that clock alone, half the cost of time.Now, which reads the wall clock too: the
// runtime reads it twice per call to measure the guest's time (Result.Guest).
func monotonic() time.Duration { return time.Since(clockBase) }
