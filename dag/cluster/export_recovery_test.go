package cluster

// SetBeforeStore makes workers call f after each guest returns and before its outputs are
// stored, and returns a function that removes it.
func SetBeforeStore(f func()) (restore func()) {
	beforeStore = f
	return func() { beforeStore = nil }
}
