package runtime

// Running returns how many calls and loads rt is running, for tests that must act while a
// call runs.
func Running(rt *Runtime) int { return int(rt.work.Load() &^ closingBit) }

// HoldCompiler makes rt's compilations in the background wait until release is closed, so
// that a test sees its modules on the interpreter; it returns that channel. Set it before
// the first load.
func HoldCompiler(rt *Runtime) (release chan struct{}) {
	release = make(chan struct{})
	rt.holdCompiler = func(*code) { <-release }
	return release
}

// StayInterpreted keeps the modules rt loads on the interpreter for good. Set it before the
// first load.
func StayInterpreted(rt *Runtime) { rt.noCompiler = true }

// Closing reports whether Close has begun on rt.
func Closing(rt *Runtime) bool { return rt.work.Load()&closingBit != 0 }
