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

// FanOut runs the fan-out graph of the benchmarks: inc(0) … inc(n-1) and a sum of their
// results, which it returns.
func FanOut(n int) int {
	tasks := Run(n+1, func(i int) []int {
		if i < n {
			return nil
		}
		d := make([]int, n)
		for j := range d {
			d[j] = j
		}
		return d
	}, func(i int, in []any) any {
		if i < n {
			return i + 1
		}
		s := 0
		for _, v := range in {
			s += v.(int)
		}
		return s
	})
	<-tasks[n].Done
	return tasks[n].Val.(int)
}

// Chain runs the chain graph of the benchmarks: n tasks, the first 1, each next its
// predecessor plus one; it returns the last.
func Chain(n int) int {
	tasks := Run(n, func(i int) []int {
		if i == 0 {
			return nil
		}
		return []int{i - 1}
	}, func(i int, in []any) any {
		if i == 0 {
			return 1
		}
		return in[0].(int) + 1
	})
	<-tasks[n-1].Done
	return tasks[n-1].Val.(int)
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
