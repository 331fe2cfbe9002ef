// Command benchfmt copies `go test -bench` output through and then prints, for every benchmark
// that has a "goroutines" sub-benchmark, one line per other sub-benchmark comparing it with
// that baseline: tasks per second, time per task, and how many times slower it is.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

type result struct{ nsPerTask, tasksPerSec float64 }

func main() {
	results := map[string]map[string]result{}
	variants := map[string][]string{}
	var order []string
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(line)
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 { // drop the GOMAXPROCS suffix
			name = name[:i]
		}
		group, variant, ok := strings.Cut(strings.TrimPrefix(name, "Benchmark"), "/")
		if !ok {
			continue
		}
		var r result
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/task":
				r.nsPerTask = v
			case "tasks/s":
				r.tasksPerSec = v
			}
		}
		if results[group] == nil {
			results[group] = map[string]result{}
			order = append(order, group)
		}
		if _, seen := results[group][variant]; !seen {
			variants[group] = append(variants[group], variant)
		}
		results[group][variant] = r
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "benchfmt:", err)
		os.Exit(1)
	}
	fmt.Printf("\n%-34s %12s %12s %14s %12s %8s\n", "graph/variant", "tasks/s", "per task", "goroutines t/s", "go per task", "ratio")
	for _, g := range order {
		b, ok := results[g]["goroutines"]
		if !ok || b.nsPerTask == 0 {
			continue
		}
		for _, v := range variants[g] {
			if v == "goroutines" {
				continue
			}
			m := results[g][v]
			fmt.Printf("%-34s %12.0f %12s %14.0f %12s %7.1fx\n", g+"/"+v, m.tasksPerSec, dur(m.nsPerTask), b.tasksPerSec, dur(b.nsPerTask), m.nsPerTask/b.nsPerTask)
		}
	}
}

func dur(ns float64) string {
	switch {
	case ns >= 1e6:
		return fmt.Sprintf("%.2f ms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.2f µs", ns/1e3)
	}
	return fmt.Sprintf("%.0f ns", ns)
}
