package main

import (
	"strings"
	"testing"
)

const input = `goos: linux
BenchmarkFanOut10k/mrun-c-2         	      49	  45000000 ns/op	      4500 ns/task	    222222 tasks/s
BenchmarkFanOut10k/mrun-c-2         	      49	  40000000 ns/op	      4000 ns/task	    250000 tasks/s
BenchmarkFanOut10k/mrun-c-2         	      49	  99000000 ns/op	      9900 ns/task	    101010 tasks/s
BenchmarkFanOut10k/mrun-c-accounting-2	      49	  46800000 ns/op	      4680 ns/task	    213675 tasks/s
BenchmarkFanOut10k/goroutines-2     	     393	   5000000 ns/op	       500 ns/task	   2000000 tasks/s
BenchmarkFanOut10k/mrun-c-distributed-2x2	1	4500000000 ns/op	450000.0 ns/task	2222 tasks/s
BenchmarkFanOut10kReused/mrun-c-distributed-2x2	1	120000000 ns/op	40104 stored-values
BenchmarkReusedCall/mrun-c-distributed-2x2	1	90000000 ns/op	40105 stored-values
BenchmarkReusedCall/mrun-c-cached	1	30000000 ns/op	40105 stored-values
BenchmarkCPU64/mrun-1slot           	       2	1300000000 ns/op	  20312500 ns/task	        49.23 tasks/s
BenchmarkCPU64/mrun-2slots          	       2	 700000000 ns/op	  10937500 ns/task	        91.43 tasks/s
BenchmarkCPU64/goroutines           	      26	  40000000 ns/op	    625000 ns/task	      1600 tasks/s
BenchmarkCPU64/goroutines-1cpu      	      14	  78000000 ns/op	   1218750 ns/task	       820 tasks/s
BenchmarkScale/mrun-c/n=100000	1	500000000 ns/op	5000.0 ns/task	200000 tasks/s	128000 peak-KiB	1146 B/task
BenchmarkScale/goroutines/n=100000	1	100000000 ns/op	1000.0 ns/task	1000000 tasks/s	66000 peak-KiB	617 B/task
BenchmarkScale/mrun-c/n=1000000	1	6000000000 ns/op	6000.0 ns/task	166667 tasks/s	2000000 peak-KiB	1900 B/task
BenchmarkColdStart/goroutines	1	4000000 ns/op
BenchmarkColdStart/mrun-go-warm	1	99000000 ns/op
BenchmarkTensorHandoff/handoff-2         	      20	  32156229 ns/op	2086.96 MB/s	78703878 B/op	      51 allocs/op
BenchmarkConcurrent200/serial-2         	     127	  18564639 ns/op	      4420 ns/task	    226237 tasks/s
BenchmarkConcurrent200/concurrent-2     	     100	  22207386 ns/op	      5287 ns/task	    189126 tasks/s
BenchmarkRerun/first	1	2000000000 ns/op
BenchmarkRerun/cached	1	150000000 ns/op
BenchmarkRerun/uncached	1	2100000000 ns/op
BenchmarkTensorSum10k/mrun	1	1148496163 ns/op	697 MB/s	20172 peak-KiB
BenchmarkTensorSum10k/numpy	1	2092881322 ns/op	382 MB/s	812132 peak-KiB
BenchmarkTensorFMA10k/mrun	1	38817051185 ns/op	21 MB/s	3991072 peak-KiB
BenchmarkTensorFMA10k/numpy	1	10009719317 ns/op	80 MB/s	3156544 peak-KiB
BenchmarkTensorMatmul2k/mrun	1	2320997339 ns/op	6.89 GFLOP/s	519976 peak-KiB
BenchmarkTensorMatmul2k/numpy	1	597489793 ns/op	26.78 GFLOP/s	132804 peak-KiB
BenchmarkTableGroupBy10M/mrun	1	1800000000 ns/op	89 MB/s	2200000 peak-KiB
BenchmarkTableGroupBy10M/pandas	1	200000000 ns/op	800 MB/s	500000 peak-KiB
PASS
`

// The table has one row per variant, from the median run, with its baseline and targets.
func TestReport(t *testing.T) {
	var out strings.Builder
	failed, err := report(strings.NewReader(input), &out)
	if err != nil || failed {
		t.Fatalf("report: failed %v, %v", failed, err)
	}
	got := out.String()
	if !strings.HasPrefix(got, input) {
		t.Errorf("input not copied through first:\n%s", got)
	}
	table := got[len(input):]
	// Each row, found by its variant's label, holds these cells.
	for _, want := range [][]string{
		{"fan-out: 10k inc + sum_all", "C", "45.0 ms", "4.50 µs", "222,222 tasks/s", "500 ns", "9.0×"}, // the median of three runs
		{"", "C, with accounting", "46.8 ms", "4.68 µs", "1.040× C without (≤ 1.05×) ✓"},
		{"", "C, distributed, 2 workers × 2 slots", "4.50 s", "450 µs", "2,222 tasks/s", "500 ns", "900.0×", "≤ 150 µs/task ✗"},
		{"fan-out, fully reused: mrun run again", "C, distributed, 2 workers × 2 slots", "120 ms", "40,104 values stored", "≤ 300 ms ✓"},
		{"reused call: mrun call inc again", "C, distributed, 2 workers × 2 slots", "90.0 ms", "40,105 values stored"},
		{"", "C, in process, from the result cache", "30.0 ms"},
		{"", "cluster ÷ result cache, wall", "3.0×", "≤ 2× ✗"},
		{"cpu: 64 × burn ≈20 ms", "1 slot", "1.30 s"},
		{"2 slots", "700 ms"},
		{"speedup, 1 → 2 slots", "1.86×", "1.95×", "≥ 1.9× ✗"}, // mrun's speedup, then plain Go's
		{"C, N=1M", "1953 MiB", "1,900 B", "RSS ≤ 1 GiB ✗"},
		{"C, per task N=1M ÷ N=100k", "1.20×", "≤ 1.5× (linear) ✓"},
		{"Go, warm (median)", "99.0 ms", "4.00 ms", "24.8×", "≤ 300 ms ✓"},
		{"hand-off, WAT → WAT", "2.09 GB/s", "≥ 1 GB/s ✓"},
		{"concurrency: 200 × (20 inc + sum_all)", "serial", "18.6 ms", "4.42 µs", "226,237 tasks/s"},
		{"", "concurrent", "22.2 ms", "5.29 µs", "189,126 tasks/s"},
		{"", "concurrent ÷ serial, tasks/s", "0.84×", "≥ 0.9× ✗"},
		{"re-run: mrun run fanout.yaml", "first, empty result cache", "2.00 s"},
		{"", "second, cached", "150 ms"},
		{"", "third, --no-cache", "2.10 s"},
		{"", "cached ÷ first, wall", "7.5%", "≤ 10% ✓"},
		{"tensor: sum, 10k × 10k float64", "mrun, in process", "1.15 s", "0.70 GB/s", "2.09 s", "0.5×", "20 MiB", "≤ 3× NumPy ✓"},
		{"table: group-by, 10M rows into 1,000 groups", "mrun, in process", "1.80 s", "0.09 GB/s", "200 ms", "9.0×", "2148 MiB", "≤ 3× pandas ✗"},
		{"tensor: a*b + c, 10k × 10k, fetched", "mrun, in process", "38.8 s", "10.0 s", "3.9×", "3898 MiB", "≤ 3× NumPy ✗"},
		{"tensor: matmul, 2k × 2k float64", "mrun, in process", "2.32 s", "6.89 GFLOP/s", "597 ms", "26% of GFLOP/s", "≥ 25% of NumPy's GFLOP/s ✓"},
	} {
		line := ""
		for l := range strings.Lines(table) { // by workload first: variants repeat across workloads
			if want[0] != "" && strings.HasPrefix(l, want[0]+" ") {
				line = l
				break
			}
		}
		for l := range strings.Lines(table) {
			if line == "" && strings.Contains(l, "  "+want[1]+"  ") {
				line = l
				break
			}
		}
		for _, cell := range want {
			if !strings.Contains(line, cell) {
				t.Errorf("row %q lacks %q:\n%s", want[1], cell, table)
			}
		}
	}
	if strings.Contains(table, "goroutines") || strings.Contains(table, "  numpy  ") || strings.Contains(table, "  pandas  ") {
		t.Errorf("a baseline has a row of its own:\n%s", table)
	}
}

// Without NumPy, the tensor rows show no baseline, no ratio, and a target left unchecked that
// says how to get NumPy.
func TestReport_NoNumPy(t *testing.T) {
	in := "BenchmarkTensorMatmul2k/mrun	1	2320997339 ns/op	6.89 GFLOP/s	519976 peak-KiB\n"
	var out strings.Builder
	if _, err := report(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	var row string
	for l := range strings.Lines(out.String()) {
		if strings.HasPrefix(l, "tensor: matmul") {
			row = l
		}
	}
	got := strings.Join(strings.Fields(row), " ")
	if want := "tensor: matmul, 2k × 2k float64 mrun, in process 2.32 s 6.89 GFLOP/s 508 MiB ≥ 25% of NumPy's GFLOP/s (no NumPy: bash tensor/testdata/gen.sh)"; got != want {
		t.Errorf("row\n%s\nwant\n%s", got, want)
	}
}

func TestReport_Failure(t *testing.T) {
	for _, in := range []string{
		"--- FAIL: BenchmarkFanOut10k/mrun-c\nFAIL\n",
		"FAIL procbench: scale 1000000: sum = 1, want 500000500000\n",
		"panic: boom\n",
	} {
		if failed, err := report(strings.NewReader(in), new(strings.Builder)); err != nil || !failed {
			t.Errorf("report(%q) = %v, %v; want a failure", in, failed, err)
		}
	}
}

func TestParse_Suffix(t *testing.T) {
	for line, want := range map[string]string{
		"BenchmarkCPU64/mrun-2slots-2 1 5 ns/op":                 "CPU64/mrun-2slots",
		"BenchmarkCPU64/mrun-2slots 1 5 ns/op":                   "CPU64/mrun-2slots",
		"BenchmarkFanOut10k/mrun-c-uninterruptible-16 1 5 ns/op": "FanOut10k/mrun-c-uninterruptible",
		"BenchmarkScale/mrun-c/n=1000000 1 5 ns/op":              "Scale/mrun-c/n=1000000",
	} {
		b, ok := parse(line)
		if !ok || b.name != want {
			t.Errorf("parse(%q) = %v, %v; want name %q", line, b, ok, want)
		}
	}
}
