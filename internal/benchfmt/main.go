// Command benchfmt turns the output of `make bench` into one table. It copies its input
// through (`go test -bench` lines, and the same kind of lines from internal/procbench), then
// prints one row per measured variant next to its plain-Go baseline, with the project's
// targets and whether each is met. A benchmark run several times (-count) is represented by
// its run of median ns/op. It exits non-zero when the input reports a failure.
//
// A benchmark named Group/variant[/rest] is compared with Group/goroutines[/rest], or, when
// there is none, with Group/numpy[/rest] (internal/tensorbench's NumPy baselines).
package main

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
)

// workloads gives the table's order and what each benchmark group measures. Groups not listed
// follow, under their own names.
var workloads = []struct{ group, label string }{
	{"FanOut10k", "fan-out: 10k inc + sum_all"},
	{"FanOut10kReused", "fan-out, fully reused: mrun run again"},
	{"ReusedCall", "reused call: mrun call inc again"},
	{"NativeFanOut10k", "fan-out: 10k inc + sum_all, native"},
	{"Chain1000", "chain: 1,000 inc"},
	{"CPU64", "cpu: 64 × burn ≈20 ms"},
	{"Nested20x100", "nested: 20 drivers × ~100 inc"},
	{"Triage", "triage → 2 sum_all"},
	{"Scale", "scale: N inc + sum_all"},
	{"ColdStart", "cold start: mrun call inc 1"},
	{"TensorHandoff", "large value: 64 MiB tensor"},
	{"Concurrent200", "concurrency: 200 × (20 inc + sum_all)"},
	{"Rerun", "re-run: mrun run fanout.yaml"},
	{"TensorSum10k", "tensor: sum, 10k × 10k float64"},
	{"TensorFMA10k", "tensor: a*b + c, 10k × 10k, fetched"},
	{"TensorMatmul2k", "tensor: matmul, 2k × 2k float64"},
	{"TableGroupBy10M", "table: group-by, 10M rows into 1,000 groups"},
}

// Targets. Each is checked on the rows it names; change them here.
const (
	cpuSpeedup     = 1.9     // CPU64: time on 1 slot ÷ time on 2 slots, at least
	scalePeakKiB   = 1 << 20 // Scale, N = 1M: peak RSS, at most
	scaleLinearity = 1.5     // Scale: time per task at the largest N ÷ at the one before, at most
	coldSmallNs    = 50e6    // ColdStart, C and WAT, cold (until the result) and warm: at most
	coldGoNs       = 500e6   // ColdStart, Go with an empty cache, until the result: at most
	coldGoWarmNs   = 300e6   // ColdStart, Go with a warm cache: at most
	tensorMBps     = 1000    // TensorHandoff/handoff: at least
	distributedNs  = 150e3   // FanOut10k on a cluster (…-distributed-…): time per task, at most
	accountingCost = 1.05    // FanOut10k/mrun-c-accounting: time ÷ FanOut10k/mrun-c's in the same run, at most
	concurrentRate = 0.9     // Concurrent200: tasks/s all at once ÷ one after another, at least
	rerunShare     = 0.1     // Rerun: the cached second run's wall time ÷ the first's, at most
	reusedNs       = 300e6   // FanOut10kReused: wall time of a run whose output the cluster stored, at most
	reusedCall     = 2.0     // ReusedCall: a stored call on a cluster ÷ the same call from the result cache, at most
	tensorVsNumPy  = 3.0     // TensorSum10k, TensorFMA10k: time ÷ NumPy's in the same run, at most
	matmulVsNumPy  = 0.25    // TensorMatmul2k: GFLOP/s ÷ NumPy's in the same run, at least
	tableVsPandas  = 3.0     // TableGroupBy10M: time ÷ pandas's in the same run, at most
)

// bench is one result of a benchmark: its metrics by unit.
type bench struct {
	name    string // without "Benchmark" and the GOMAXPROCS suffix
	metrics map[string]float64
}

func (b *bench) get(unit string) (float64, bool) {
	v, ok := b.metrics[unit]
	return v, ok
}

// perTask is the time per task in ns: ns/task when reported, else ns/op (one call, one task).
func (b *bench) perTask() float64 {
	if v, ok := b.get("ns/task"); ok {
		return v
	}
	return b.metrics["ns/op"]
}

type row struct {
	workload, variant, wall, perTask, rate, base, ratio, rss, perTaskRSS, target string
}

func main() {
	failed, err := report(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchfmt:", err)
		os.Exit(1)
	}
	if failed {
		fmt.Fprintln(os.Stderr, "benchfmt: a benchmark failed (see above)")
		os.Exit(1)
	}
}

// report copies in to out, then writes the table; failed tells whether in reported a failure.
func report(in io.Reader, out io.Writer) (failed bool, err error) {
	samples := map[string][]*bench{}
	var order []string
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(out, line)
		if strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "--- FAIL") || strings.HasPrefix(line, "panic:") {
			failed = true
		}
		b, ok := parse(line)
		if !ok {
			continue
		}
		if _, seen := samples[b.name]; !seen {
			order = append(order, b.name)
		}
		samples[b.name] = append(samples[b.name], b)
	}
	if err := sc.Err(); err != nil {
		return failed, err
	}
	benches := map[string]*bench{}
	for name, bs := range samples {
		slices.SortFunc(bs, func(a, b *bench) int { return cmp.Compare(a.metrics["ns/op"], b.metrics["ns/op"]) })
		benches[name] = bs[len(bs)/2]
	}

	groups := map[string][]string{} // group → names in input order
	var extra []string
	for _, name := range order {
		g, _, _ := strings.Cut(name, "/")
		if groups[g] == nil && !slices.ContainsFunc(workloads, func(w struct{ group, label string }) bool { return w.group == g }) {
			extra = append(extra, g)
		}
		groups[g] = append(groups[g], name)
	}
	var rows []row
	addGroup := func(g, label string) {
		first := len(rows)
		for _, name := range groups[g] {
			_, variant, _ := strings.Cut(name, "/")
			if variant == "" || strings.HasPrefix(variant, "goroutines") || variant == "numpy" || strings.HasPrefix(variant, "numpy/") || variant == "pandas" {
				continue
			}
			rows = append(rows, measured(benches, g, variant))
		}
		rows = append(rows, derived(benches, g)...)
		if len(rows) > first {
			rows[first].workload = label
		}
	}
	for _, w := range workloads {
		addGroup(w.group, w.label)
	}
	for _, g := range extra {
		addGroup(g, g)
	}
	printTable(out, rows)
	return failed, nil
}

// parse reads one benchmark result line: name, iterations, then value-unit pairs.
func parse(line string) (*bench, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return nil, false
	}
	if _, err := strconv.Atoi(f[1]); err != nil {
		return nil, false
	}
	name := strings.TrimPrefix(f[0], "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i > 0 { // the GOMAXPROCS suffix, absent when it is 1
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	b := &bench{name: name, metrics: map[string]float64{}}
	for i := 2; i+1 < len(f); i += 2 {
		if v, err := strconv.ParseFloat(f[i], 64); err == nil {
			b.metrics[f[i+1]] = v
		}
	}
	return b, true
}

// measured is the row of Group/variant, next to its baseline when there is one.
func measured(benches map[string]*bench, g, variant string) row {
	b := benches[g+"/"+variant]
	r := row{variant: label(variant), wall: dur(b.metrics["ns/op"]), perTask: dur(b.perTask())}
	unit := "tasks/s"
	if g == "Nested20x100" {
		unit = "children/s"
	}
	if v, ok := b.get("tasks/s"); ok {
		r.rate = count(v) + " " + unit
	}
	if v, ok := b.get("MB/s"); ok {
		r.rate = fmt.Sprintf("%.2f GB/s", v/1000)
	}
	if v, ok := b.get("GFLOP/s"); ok {
		r.rate = fmt.Sprintf("%.2f GFLOP/s", v)
	}
	rest := ""
	if _, after, ok := strings.Cut(variant, "/"); ok {
		rest = "/" + after
	}
	bb, ok := benches[g+"/goroutines"+rest]
	if !ok {
		bb, ok = benches[g+"/numpy"+rest]
	}
	if !ok {
		bb, ok = benches[g+"/pandas"+rest]
	}
	if ok && bb.perTask() > 0 {
		r.base = dur(bb.perTask())
		r.ratio = fmt.Sprintf("%.1f×", b.perTask()/bb.perTask())
	}
	if v, ok := b.get("peak-KiB"); ok {
		r.rss = fmt.Sprintf("%.0f MiB", v/1024)
	}
	if v, ok := b.get("B/task"); ok {
		r.perTaskRSS = count(v) + " B"
	}
	if g == "ReusedCall" {
		r.perTask = ""
	}
	if v, ok := b.get("stored-values"); ok {
		r.rate = count(v) + " values stored"
	}
	ns := b.metrics["ns/op"]
	switch {
	case g == "Scale" && strings.HasSuffix(variant, "/n=1000000") && !strings.HasPrefix(variant, "goroutines"):
		r.target = check(b.metrics["peak-KiB"] <= scalePeakKiB, "RSS ≤ 1 GiB")
	case g == "ColdStart" && strings.HasSuffix(variant, "-coldexit"): // the compiler filling the cache: no target
	case g == "ColdStart" && (strings.HasPrefix(variant, "mrun-c-") || strings.HasPrefix(variant, "mrun-wat-")):
		r.target = check(ns <= coldSmallNs, fmt.Sprintf("≤ %s", dur(coldSmallNs)))
	case g == "ColdStart" && (variant == "mrun-go-cold" || variant == "mrun-go-nocache"):
		r.target = check(ns <= coldGoNs, fmt.Sprintf("≤ %s", dur(coldGoNs)))
	case g == "ColdStart" && variant == "mrun-go-warm":
		r.target = check(ns <= coldGoWarmNs, fmt.Sprintf("≤ %s", dur(coldGoWarmNs)))
	case g == "FanOut10k" && (variant == "mrun-c-accounting" || variant == "mrun-c-dashboard"):
		plain, ok := benches["FanOut10k/mrun-c"]
		if !ok || plain.perTask() == 0 {
			r.target = fmt.Sprintf("≤ %.2f× C without (no FanOut10k/mrun-c)", accountingCost)
			break
		}
		x := b.perTask() / plain.perTask()
		r.target = check(x <= accountingCost, fmt.Sprintf("%.3f× C without (≤ %.2f×)", x, accountingCost))
	case g == "FanOut10k" && strings.Contains(variant, "-distributed"):
		r.target = check(b.perTask() <= distributedNs, fmt.Sprintf("≤ %s/task", dur(distributedNs)))
	case g == "FanOut10kReused":
		r.perTask = "" // nothing ran: the wall time is the measure
		r.target = check(ns <= reusedNs, fmt.Sprintf("≤ %s", dur(reusedNs)))
	case g == "TensorHandoff" && variant == "handoff":
		r.target = check(b.metrics["MB/s"] >= tensorMBps, fmt.Sprintf("≥ %.0f GB/s", tensorMBps/1000.0))
	case (g == "TensorSum10k" || g == "TensorFMA10k") && variant == "mrun":
		r.variant, r.perTask = "mrun, in process", "" // one graph: the wall time is the measure
		r.target = againstNumPy(ok, ok && ns <= tensorVsNumPy*bb.metrics["ns/op"], fmt.Sprintf("≤ %.0f× NumPy", tensorVsNumPy))
	case g == "TableGroupBy10M" && variant == "mrun":
		r.variant, r.perTask = "mrun, in process", ""
		r.target = check(ok && ns <= tableVsPandas*bb.metrics["ns/op"], fmt.Sprintf("≤ %.0f× pandas", tableVsPandas))
		if !ok {
			r.target = fmt.Sprintf("≤ %.0f× pandas (no pandas: bash table/testdata/gen.sh)", tableVsPandas)
		}
	case g == "TensorMatmul2k" && variant == "mrun":
		r.variant, r.perTask = "mrun, in process", ""
		var share float64
		if ok {
			share = b.metrics["GFLOP/s"] / bb.metrics["GFLOP/s"]
			r.ratio = fmt.Sprintf("%.0f%% of GFLOP/s", 100*share)
		}
		r.target = againstNumPy(ok, share >= matmulVsNumPy, fmt.Sprintf("≥ %.0f%% of NumPy's GFLOP/s", 100*matmulVsNumPy))
	}
	return r
}

// againstNumPy is the target cell of a row compared with NumPy: unchecked without NumPy.
func againstNumPy(haveNumPy, ok bool, target string) string {
	if !haveNumPy {
		return target + " (no NumPy: bash tensor/testdata/gen.sh)"
	}
	return check(ok, target)
}

// derived gives the rows computed from several benchmarks of group g.
func derived(benches map[string]*bench, g string) []row {
	switch g {
	case "CPU64":
		one, two := benches["CPU64/mrun-1slot"], benches["CPU64/mrun-2slots"]
		if one == nil || two == nil || two.metrics["ns/op"] == 0 {
			return nil
		}
		s := one.metrics["ns/op"] / two.metrics["ns/op"]
		r := row{variant: "speedup, 1 → 2 slots", rate: fmt.Sprintf("%.2f×", s),
			target: check(s >= cpuSpeedup, fmt.Sprintf("≥ %.1f×", cpuSpeedup))}
		// The baseline's own speedup, from one CPU to two, shows what the machine allowed.
		if g1, g2 := benches["CPU64/goroutines-1cpu"], benches["CPU64/goroutines"]; g1 != nil && g2 != nil && g2.metrics["ns/op"] > 0 {
			r.base = fmt.Sprintf("%.2f×", g1.metrics["ns/op"]/g2.metrics["ns/op"])
		}
		return []row{r}
	case "Concurrent200":
		serial, conc := benches["Concurrent200/serial"], benches["Concurrent200/concurrent"]
		if serial == nil || conc == nil || serial.metrics["tasks/s"] == 0 {
			return nil
		}
		x := conc.metrics["tasks/s"] / serial.metrics["tasks/s"]
		return []row{{variant: "concurrent ÷ serial, tasks/s", rate: fmt.Sprintf("%.2f×", x),
			target: check(x >= concurrentRate, fmt.Sprintf("≥ %.1f×", concurrentRate))}}
	case "Rerun":
		first, cached := benches["Rerun/first"], benches["Rerun/cached"]
		if first == nil || cached == nil || first.metrics["ns/op"] == 0 {
			return nil
		}
		x := cached.metrics["ns/op"] / first.metrics["ns/op"]
		return []row{{variant: "cached ÷ first, wall", rate: fmt.Sprintf("%.1f%%", 100*x),
			target: check(x <= rerunShare, fmt.Sprintf("≤ %.0f%%", 100*rerunShare))}}
	case "ReusedCall":
		var cluster, cached *bench
		for name, b := range benches {
			switch {
			case strings.HasPrefix(name, "ReusedCall/") && strings.Contains(name, "-distributed-"):
				cluster = b
			case strings.HasPrefix(name, "ReusedCall/") && strings.HasSuffix(name, "-cached"):
				cached = b
			}
		}
		if cluster == nil || cached == nil || cached.metrics["ns/op"] == 0 {
			return nil
		}
		x := cluster.metrics["ns/op"] / cached.metrics["ns/op"]
		return []row{{variant: "cluster ÷ result cache, wall", rate: fmt.Sprintf("%.1f×", x),
			target: check(x <= reusedCall, fmt.Sprintf("≤ %.0f×", reusedCall))}}
	case "Scale":
		// Per variant, the time per task at the largest N against the next largest.
		type point struct {
			n  int
			ns float64
		}
		curves := map[string][]point{}
		var variants []string
		for name, b := range benches {
			rest, ok := strings.CutPrefix(name, "Scale/")
			if !ok {
				continue
			}
			v, nstr, _ := strings.Cut(rest, "/n=")
			n, err := strconv.Atoi(nstr)
			if err != nil || strings.HasPrefix(v, "goroutines") {
				continue
			}
			if curves[v] == nil {
				variants = append(variants, v)
			}
			curves[v] = append(curves[v], point{n, b.perTask()})
		}
		slices.Sort(variants)
		var rows []row
		for _, v := range variants {
			c := curves[v]
			if len(c) < 2 {
				continue
			}
			slices.SortFunc(c, func(a, b point) int { return a.n - b.n })
			hi, lo := c[len(c)-1], c[len(c)-2]
			x := hi.ns / lo.ns
			rows = append(rows, row{
				variant: fmt.Sprintf("%s, per task N=%s ÷ N=%s", label(v), short(hi.n), short(lo.n)),
				rate:    fmt.Sprintf("%.2f×", x),
				target:  check(x <= scaleLinearity, fmt.Sprintf("≤ %.1f× (linear)", scaleLinearity)),
			})
		}
		return rows
	}
	return nil
}

// label turns a variant's name into words: mrun-c-uninterruptible is "C, uninterruptible".
func label(variant string) string {
	words := map[string]string{
		"c": "C", "wat": "WAT", "go": "Go", "1slot": "1 slot", "2slots": "2 slots",
		"cold": "cold (compiles), to the result", "coldexit": "cold, to the process's exit", "warm": "warm (median)", "nocache": "no compilation cache, to the exit (median)", "handoff": "hand-off, WAT → WAT",
		"first": "first, empty result cache", "cached": "second, cached", "uncached": "third, --no-cache",
		"accounting": "with accounting", "dashboard": "with the dashboard",
	}
	if strings.HasSuffix(variant, "-cached") && !strings.Contains(variant, "/") { // ReusedCall
		words["cached"] = "in process, from the result cache"
	}
	var out []string
	for _, w := range strings.FieldsFunc(variant, func(r rune) bool { return r == '-' || r == '/' }) {
		switch {
		case w == "mrun":
		case words[w] != "":
			out = append(out, words[w])
		case workersBySlots(w) != "":
			out = append(out, workersBySlots(w))
		case strings.HasPrefix(w, "n="):
			n, err := strconv.Atoi(w[2:])
			if err != nil {
				out = append(out, w)
				break
			}
			out = append(out, "N="+short(n))
		default:
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return variant
	}
	return strings.Join(out, ", ")
}

func check(ok bool, target string) string {
	if ok {
		return target + " ✓"
	}
	return target + " ✗"
}

func printTable(out io.Writer, rows []row) {
	head := row{"workload", "variant", "wall", "per task", "rate", "baseline", "ratio", "peak RSS", "RSS/task", "target"}
	all := append([]row{head}, rows...)
	cells := func(r row) []string {
		return []string{r.workload, r.variant, r.wall, r.perTask, r.rate, r.base, r.ratio, r.rss, r.perTaskRSS, r.target}
	}
	width := make([]int, len(cells(head)))
	for _, r := range all {
		for i, c := range cells(r) {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	fmt.Fprintln(out)
	for i, r := range all {
		var b strings.Builder
		for j, c := range cells(r) {
			pad := strings.Repeat(" ", width[j]-len([]rune(c)))
			if j < 2 || j == len(width)-1 {
				b.WriteString(c + pad) // text: left-aligned
			} else {
				b.WriteString(pad + c)
			}
			b.WriteString("  ")
		}
		fmt.Fprintln(out, strings.TrimRight(b.String(), " "))
		if i == 0 {
			fmt.Fprintln(out, strings.Repeat("-", len([]rune(strings.TrimRight(b.String(), " ")))))
		}
	}
	fmt.Fprintln(out, `
wall: one graph (scale, cold start: one process). rate: tasks per second. baseline: time per
task of the same graph as plain Go, one goroutine per task waiting on channels, in the same
process; for scale, in a fresh process of its own; for cold start, "mrun version", a process
that loads no module; for the speedup, plain Go's own from one CPU to two. ratio: per task ÷
baseline. RSS/task: (peak RSS − RSS before the graph) ÷ N. For tensor rows the baseline is
NumPy in the same run (tensor/testdata/bench_numpy.py), for the table row pandas, each run a
fresh process; peak RSS is mrun's.`)
	if load, err := os.ReadFile("/proc/loadavg"); err == nil {
		avg, _, _ := strings.Cut(string(load), " ")
		fmt.Fprintf(out, "Load average over the last minute: %s on %d CPUs; other processes slow every row down,\nand the speedup most.\n",
			avg, goruntime.NumCPU())
	}
}

// dur formats ns in the largest unit that keeps it at least 1, with three significant digits.
func dur(ns float64) string {
	switch {
	case ns >= 1e9:
		return sig(ns/1e9) + " s"
	case ns >= 1e6:
		return sig(ns/1e6) + " ms"
	case ns >= 1e3:
		return sig(ns/1e3) + " µs"
	}
	return sig(ns) + " ns"
}

func sig(v float64) string {
	switch {
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// count formats v as an integer with thousands separators.
func count(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// short writes n as 10k or 1M when it is a round number of thousands or millions.
func short(n int) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return strconv.Itoa(n/1e6) + "M"
	case n >= 1e3 && n%1e3 == 0:
		return strconv.Itoa(n/1e3) + "k"
	}
	return strconv.Itoa(n)
}

// workersBySlots spells a cluster's shape, 2x4, as "2 workers × 4 slots"; anything else as "".
func workersBySlots(w string) string {
	a, b, ok := strings.Cut(w, "x")
	wn, err1 := strconv.Atoi(a)
	sn, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return ""
	}
	many := func(n int, what string) string {
		if n == 1 {
			return "1 " + what
		}
		return fmt.Sprintf("%d %ss", n, what)
	}
	return many(wn, "worker") + " × " + many(sn, "slot")
}
