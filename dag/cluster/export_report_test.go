package cluster

import "time"

// SetNoWorkerWait makes executors created afterwards say that no worker is connected once
// calls have waited d, and returns a function that restores the default.
func SetNoWorkerWait(d time.Duration) (restore func()) {
	prev := noWorkerWait
	noWorkerWait = d
	return func() { noWorkerWait = prev }
}
