//go:build !linux

package tensor

import "time"

// cpuTime returns 0: only Linux benchmarks report work per CPU second.
func cpuTime() time.Duration { return 0 }
