package runtime

// Running returns how many calls and loads rt is running, for tests that must act while a
// call runs.
func Running(rt *Runtime) int { return int(rt.work.Load() &^ closingBit) }
