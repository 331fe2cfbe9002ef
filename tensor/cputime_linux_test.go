package tensor

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used, user and system, or 0 where it cannot
// tell. Benchmarks report work per CPU second next to work per second, since on a shared
// machine the wall clock also counts the time other processes held the cores.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
