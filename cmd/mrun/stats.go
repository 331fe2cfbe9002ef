package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/internal/bytesize"
	"github.com/mrun-dev/mrun/runtime"
)

// stats collects what each call of a run cost (dag.Event.Usage) and, after the run, writes
// the table of --stats: the slowest tasks, the tasks with the largest results, and totals per
// function. Only calls that ran count: values reused from a cluster's store or the result
// cache cost nothing here. A nil *stats ignores events.
type stats struct {
	mu    sync.Mutex
	calls []callStat
}

// callStat is one call that ran, finished or failed.
type callStat struct {
	key    abi.Key
	fn     *runtime.Function
	failed bool
	usage  dag.Usage
}

// statsUsage is the help of --stats, which mrun run and mrun call take.
const statsUsage = "after the run, show on stderr what the tasks cost: the slowest, the largest results, totals per function"

// statsTop is how many tasks the lists of the slowest and the largest show.
const statsTop = 10

func newStats() *stats { return &stats{} }

// event records the usage of a call that finished or failed.
func (s *stats) event(ev dag.Event) {
	if s == nil || (ev.Kind != dag.EventFinish && ev.Kind != dag.EventFail) {
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, callStat{key: ev.Key, fn: ev.Func, failed: ev.Kind == dag.EventFail, usage: ev.Usage})
	s.mu.Unlock()
}

// funcStat is the totals of one function's calls.
type funcStat struct {
	name                  string
	calls, failed         int
	wall, guest           time.Duration
	maxMemory             uint64
	argBytes, resultBytes int64
	spawned, retries      int
}

// write writes the table to w, naming tasks with label (the labels the graph file gives, and
// those of the tasks guests spawned).
func (s *stats) write(w io.Writer, label func(abi.Key, *runtime.Function) string) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	calls := slices.Clone(s.calls)
	s.mu.Unlock()
	labels := make(map[abi.Key]string)
	name := func(c callStat) string {
		l, ok := labels[c.key]
		if !ok {
			l = label(c.key, c.fn)
			labels[c.key] = l
		}
		return l
	}
	if len(calls) == 0 {
		_, err := fmt.Fprintln(w, "stats: no task ran")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)

	// The slowest, by wall time; ties (and the largest, by result, below) by label, so that
	// the table reads the same from run to run where the times do not decide.
	byLabel := func(a, b callStat) int { return cmp.Compare(name(a), name(b)) }
	slices.SortStableFunc(calls, func(a, b callStat) int {
		return cmp.Or(cmp.Compare(b.usage.Wall, a.usage.Wall), byLabel(a, b))
	})
	fmt.Fprintf(tw, "slowest tasks\n")
	fmt.Fprintf(tw, "TASK\tFUNCTION\tWALL\tGUEST\n")
	for _, c := range calls[:min(statsTop, len(calls))] {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name(c), funcLabel(c.fn), roundDuration(c.usage.Wall), roundDuration(c.usage.Guest))
	}

	slices.SortStableFunc(calls, func(a, b callStat) int {
		return cmp.Or(cmp.Compare(b.usage.ResultBytes, a.usage.ResultBytes), cmp.Compare(b.usage.PeakMemory, a.usage.PeakMemory), byLabel(a, b))
	})
	fmt.Fprintf(tw, "\nlargest results\n")
	fmt.Fprintf(tw, "TASK\tFUNCTION\tRESULT\tPEAK MEMORY\n")
	for _, c := range calls[:min(statsTop, len(calls))] {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name(c), funcLabel(c.fn), sizeText(int64(c.usage.ResultBytes)), sizeText(int64(c.usage.PeakMemory)))
	}

	byFunc := map[string]*funcStat{}
	var funcs []*funcStat
	for _, c := range calls {
		n := funcLabel(c.fn)
		f := byFunc[n]
		if f == nil {
			f = &funcStat{name: n}
			byFunc[n] = f
			funcs = append(funcs, f)
		}
		u := c.usage
		f.calls++
		if c.failed {
			f.failed++
		}
		f.wall += u.Wall
		f.guest += u.Guest
		f.maxMemory = max(f.maxMemory, u.PeakMemory)
		f.argBytes += int64(u.ArgBytes)
		f.resultBytes += int64(u.ResultBytes)
		f.spawned += u.Spawned
		f.retries += max(u.Attempts-1, 0)
	}
	slices.SortFunc(funcs, func(a, b *funcStat) int { return cmp.Or(cmp.Compare(b.wall, a.wall), cmp.Compare(a.name, b.name)) })
	fmt.Fprintf(tw, "\nper function\n")
	fmt.Fprintf(tw, "FUNCTION\tCALLS\tFAILED\tRETRIES\tTOTAL WALL\tTOTAL GUEST\tMAX MEMORY\tBYTES IN\tBYTES OUT\tSPAWNED\n")
	for _, f := range funcs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%d\n", f.name, f.calls, f.failed, f.retries, roundDuration(f.wall), roundDuration(f.guest),
			sizeText(int64(f.maxMemory)), sizeText(f.argBytes), sizeText(f.resultBytes), f.spawned)
	}
	return tw.Flush()
}

// funcLabel names fn as module.function, as the trace does.
func funcLabel(fn *runtime.Function) string {
	if fn == nil {
		return "?"
	}
	return fn.Module().Name() + "." + fn.Name()
}

// sizeText writes n bytes exactly below 1 KiB ("11 B"), and in binary units above ("128 KiB").
func sizeText(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	return bytesize.Text(n)
}
