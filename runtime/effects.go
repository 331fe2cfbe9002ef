package runtime

import (
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/tetratelabs/wazero/sys"
)

// Effects records what a call read of the world outside its arguments: the engine shares or
// caches a call's result only when it read nothing, since a call that read the clock, random
// bytes or a file may return something else next time with the same arguments.
//
// Only reads made by the call itself count: not those made while its instance was created
// (a Go guest reads randomness and the clocks as it starts), nor those of earlier calls of a
// reused instance, nor those of the tasks the call spawned (each reports its own). The
// monotonic clock (WASI clock_time_get with the monotonic clock id, and sleeping) is not an
// effect: language runtimes read it all the time (Go's scheduler and garbage collector) and it
// says how long something took, not what time it is, so counting it would mark every call of a
// Go guest. A module loaded with ModuleConfig.Deterministic has no effects: its clocks and
// randomness are fixed sequences, so the same arguments give the same result.
type Effects uint8

// The effects a call can have. A call's Effects is a union of them.
const (
	// ReadClock means the call read the wall clock (WASI clock_time_get with the realtime
	// clock id, which Go's time.Now, C's time and Rust's SystemTime::now compile to).
	ReadClock Effects = 1 << iota
	// ReadRandom means the call read random bytes (WASI random_get).
	ReadRandom
	// ReadFile means the call opened, listed or looked up a path under one of its module's
	// mounts (ModuleConfig.Mounts), whether or not the path existed.
	ReadFile
)

var effectNames = []string{"clock", "random", "file"}

// String returns the names of the effects joined with "+", in the order clock, random, file
// (e.g. "clock+file"), or "" for none. Bits without a name are shown in hex.
func (e Effects) String() string {
	var names []string
	for i, n := range effectNames {
		if e&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	if rest := e &^ (1<<len(effectNames) - 1); rest != 0 {
		names = append(names, fmt.Sprintf("%#x", uint8(rest)))
	}
	return strings.Join(names, "+")
}

// walltime is the wall clock of instances with real clocks: it marks the running call as
// having read it. It is wazero's sys walltime, time.Now, with the same resolution.
func (inst *instance) walltime() (sec int64, nsec int32) {
	inst.effects |= ReadClock
	t := time.Now()
	return t.Unix(), int32(t.Nanosecond())
}

// walltimeResolution is the resolution wazero's WithSysWalltime declares.
const walltimeResolution = sys.ClockResolution(1000)

// randomReader is the random source of an instance with real randomness: it marks the running
// call as having read it.
type randomReader struct{ inst *instance }

func (r randomReader) Read(p []byte) (int, error) {
	r.inst.effects |= ReadRandom
	return rand.Read(p)
}
