package cluster

import "time"

// SetCoordinatorCheck makes workers started afterwards check their calls' coordinators every
// d, and returns a function that restores the default.
func SetCoordinatorCheck(d time.Duration) (restore func()) {
	prev := coordinatorCheck
	coordinatorCheck = d
	return func() { coordinatorCheck = prev }
}
