// Package gobaseline is the plain-Go program the benchmarks compare mrun with: one goroutine
// per task, waiting on its dependencies' channels, running the computation natively.
package gobaseline

// Task is one node of a baseline graph.
type Task struct {
	Done chan struct{} // closed once Val is set
	Val  any
}

// Run starts fn for each of n tasks in its own goroutine, once the tasks deps(i) names are
// done, and returns the tasks; wait on the Done of the ones you need.
func Run(n int, deps func(i int) []int, fn func(i int, in []any) any) []*Task {
	tasks := make([]*Task, n)
	for i := range tasks {
		tasks[i] = &Task{Done: make(chan struct{})}
	}
	for i := range tasks {
		go func() {
			d := deps(i)
			in := make([]any, len(d))
			for j, k := range d {
				<-tasks[k].Done
				in[j] = tasks[k].Val
			}
			tasks[i].Val = fn(i, in)
			close(tasks[i].Done)
		}()
	}
	return tasks
}

// Burn is the seed guest's burn(n) compiled natively: n rounds of xorshift64 and a checksum
// of them.
func Burn(n int) int {
	x, sum := uint64(0x9e3779b97f4a7c15), uint64(0)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		sum += x
	}
	return int(sum >> 1)
}
