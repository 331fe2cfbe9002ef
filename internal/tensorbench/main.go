// Command tensorbench times modules mrun:tensor and mrun:table on the real engine in process,
// next to NumPy and pandas in the same run, and prints each result as a `go test -bench` line for internal/benchfmt:
//
//	tensorbench [-count 3] [-python python3]
//
// runs each workload -count times, each run in a fresh process of its own (tensorbench -one
// WORKLOAD) so that its peak RSS belongs to that workload alone, alternating with the same
// workload in NumPy (tensor/testdata/bench_numpy.py, one fresh python process per run). The
// workloads, each on tensors of rand:
//
//	TensorSum10k     sum of a 10,000 × 10,000 float64 tensor, default chunks (the rand chunks
//	                 are made inside the reduce tasks; NumPy makes the array, then sums it)
//	TensorFMA10k     a*b + c on three 10,000 × 10,000 float64 tensors, default chunks, the
//	                 800 MB result fetched, in four evals of 2,504 rows each (one eval returns
//	                 at most 2^25 elements); NumPy makes the arrays, then a*b + c
//	TensorMatmul2k   a 2,000 × 2,000 float64 matrix product, default chunks, result fetched;
//	                 reported in GFLOP/s (2·n³ floating-point operations)
//	TableGroupBy10M  a group-by of 10,000,000 rows (an int64 key with 1,000 values, a float64
//	                 value) into 1,000 groups, the sum and the mean of the value; the table is
//	                 made before the clock starts, on both sides (pandas: a DataFrame)
//
// Times count from the spawn of eval (or NumPy's first rand) to the value in hand, so both
// sides make their random numbers. Without NumPy the baseline lines are absent and the script
// says how to install it.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/mrun-dev/mrun/table"
	"github.com/mrun-dev/mrun/tensor"
)

// workloads in the order they run.
var workloads = []string{"TensorSum10k", "TensorFMA10k", "TensorMatmul2k", "TableGroupBy10M"}

const (
	bigN    = 10000 // side of the sum and a*b + c tensors
	matN    = 2000  // side of the matmul matrices
	resultB = 1 << 30
	fmaRows = 8 * 313 // rows of a*b + c per eval: 8 default chunks of 313 rows, 200 MB
	rowsN   = 10_000_000
	groupsN = 1000
)

func main() {
	one := flag.String("one", "", "run one `workload` in this process and print its line")
	count := flag.Int("count", 3, "runs of each workload")
	python := flag.String("python", "/usr/bin/python3", "the Python with NumPy for the baselines (Debian's, as tensor/testdata/gen.sh installs)")
	script := flag.String("script", "tensor/testdata/bench_numpy.py", "the NumPy timing script")
	cpuprofile := flag.String("cpuprofile", "", "with -one: write a CPU profile to `file`")
	flag.Parse()
	var err error
	if *one != "" {
		if *cpuprofile != "" {
			stop, perr := startProfile(*cpuprofile)
			if perr != nil {
				fmt.Fprintln(os.Stdout, "FAIL tensorbench:", perr)
				os.Exit(1)
			}
			defer stop()
		}
		err = runOne(context.Background(), *one, os.Stdout)
	} else {
		err = runAll(*count, *python, *script, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stdout, "FAIL tensorbench:", err)
		os.Exit(1)
	}
}

// startProfile starts a CPU profile to file; stop ends it.
func startProfile(file string) (stop func(), err error) {
	f, err := os.Create(file)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// runAll runs every workload count times in fresh processes, alternating mrun and NumPy.
func runAll(count int, python, script string, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start it again: %w", err)
	}
	numpy := true
	if _, err := os.Stat(script); err != nil {
		return fmt.Errorf("numpy timing script: %w (run tensorbench from the repository's root)", err)
	}
	if err := exec.Command(python, "-c", "import numpy").Run(); err != nil {
		numpy = false
		fmt.Fprintf(out, "tensorbench: no NumPy for %s (%v): the tensor rows have no baseline; install it with `bash tensor/testdata/gen.sh` (Debian's python3-numpy)\n", python, err)
	}
	for _, w := range workloads {
		for i := 0; i < count; i++ {
			if err := child(out, self, "-one", w); err != nil {
				return fmt.Errorf("%s: %w", w, err)
			}
			if numpy {
				if err := child(out, python, script, w); err != nil {
					return fmt.Errorf("%s in numpy: %w", w, err)
				}
			}
		}
	}
	return nil
}

// child runs a process and copies its output lines to out.
func child(out io.Writer, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		fmt.Fprintln(out, sc.Text())
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("%s %s: %w", filepath.Base(name), strings.Join(args, " "), err)
	}
	return nil
}

// runOne evaluates one workload on a fresh runtime and engine and prints its line.
func runOne(ctx context.Context, w string, out io.Writer) error {
	rt, err := runtime.New(ctx, runtime.Config{MaxResult: resultB, WaitForCompiler: true})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	m, err := tensor.Register(ctx, rt)
	if err != nil {
		return err
	}
	eval, err := m.Func("eval")
	if err != nil {
		return err
	}
	e := dag.New(dag.Config{})
	if w == "TableGroupBy10M" {
		return groupBy(ctx, rt, e, out)
	}
	switch w {
	case "TensorSum10k":
		x := tensor.Rand(1, bigN, bigN).Sum(nil)
		start := time.Now()
		var s float64
		if err := run(ctx, e, dag.Spawn(eval, x), &s); err != nil {
			return err
		}
		d := time.Since(start)
		if mean := s / (bigN * bigN); mean < 0.499 || mean > 0.501 {
			return fmt.Errorf("sum of %d uniform numbers is %v, want about %v", bigN*bigN, s, bigN*bigN/2)
		}
		fmt.Fprintf(out, "Benchmark%s/mrun\t1\t%d ns/op\t%.0f MB/s\t%d peak-KiB\n", w, d.Nanoseconds(), mbps(bigN*bigN*8, d), peakKiB())
	case "TensorFMA10k":
		// One eval result is at most MaxChunkElements (2^25) elements, so the 800 MB are
		// fetched as four slices of whole rows, cut at chunk boundaries (313 rows), which the
		// planner passes through without a copy.
		a, b, c := tensor.Rand(1, bigN, bigN), tensor.Rand(2, bigN, bigN), tensor.Rand(3, bigN, bigN)
		fma := a.Mul(b).Add(c)
		start := time.Now()
		var parts []*dag.Object
		for lo := 0; lo < bigN; lo += fmaRows {
			parts = append(parts, dag.Spawn(eval, fma.Slice([3]int{lo, min(lo+fmaRows, bigN), 1})))
		}
		if err := e.Execute(ctx, parts...); err != nil {
			return err
		}
		got := make([]abi.Tensor, len(parts))
		n := 0
		for i, p := range parts {
			if err := e.Fetch(ctx, p, &got[i]); err != nil {
				return fmt.Errorf("fetch rows of a*b + c: %w", err)
			}
			n += len(got[i].Data)
		}
		d := time.Since(start)
		if n != bigN*bigN*8 {
			return fmt.Errorf("a*b + c has %d bytes, want %d", n, bigN*bigN*8)
		}
		fmt.Fprintf(out, "Benchmark%s/mrun\t1\t%d ns/op\t%.0f MB/s\t%d peak-KiB\n", w, d.Nanoseconds(), mbps(bigN*bigN*8, d), peakKiB())
	case "TensorMatmul2k":
		a, b := tensor.Rand(1, matN, matN), tensor.Rand(2, matN, matN)
		start := time.Now()
		var t abi.Tensor
		if err := run(ctx, e, dag.Spawn(eval, a.MatMul(b)), &t); err != nil {
			return err
		}
		d := time.Since(start)
		if len(t.Data) != matN*matN*8 {
			return fmt.Errorf("a @ b is %v, want float64[%d %d]", t, matN, matN)
		}
		fmt.Fprintf(out, "Benchmark%s/mrun\t1\t%d ns/op\t%.2f GFLOP/s\t%d peak-KiB\n", w, d.Nanoseconds(), 2*matN*matN*matN/float64(d.Nanoseconds()), peakKiB())
	default:
		return fmt.Errorf("unknown workload %q (want one of %v)", w, workloads)
	}
	return nil
}

// groupBy runs TableGroupBy10M and prints its line. Before the clock, the table is made and
// stored in the engine as chunks of table.DefaultChunkRows rows, each the value of a task (a
// select of the chunk's columns), as an upstream task of a user's graph leaves it; the
// group-by then takes those Objects by reference, so its planner sees their keys, not their
// bytes. pandas is given the same table as a DataFrame in memory.
func groupBy(ctx context.Context, rt *runtime.Runtime, e *dag.Engine, out io.Writer) error {
	m, err := table.Register(ctx, rt)
	if err != nil {
		return err
	}
	eval, err := m.Func("eval")
	if err != nil {
		return err
	}
	sel, err := m.Func("select")
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	var objs []*dag.Object
	for lo := 0; lo < rowsN; lo += table.DefaultChunkRows {
		n := min(table.DefaultChunkRows, rowsN-lo)
		keys, vals := make([]int64, n), make([]float64, n)
		for i := range keys {
			keys[i], vals[i] = r.Int64N(groupsN), r.Float64()
		}
		tb, err := abi.NewTable(abi.Int64Column("key", keys), abi.Float64Column("value", vals))
		if err != nil {
			return err
		}
		objs = append(objs, dag.Spawn(sel, tb, dag.Kwargs{"columns": []string{"key", "value"}}))
	}
	if err := e.Execute(ctx, objs...); err != nil {
		return fmt.Errorf("store the table's chunks: %w", err)
	}
	chunks := make([]any, len(objs))
	for i, o := range objs {
		chunks[i] = dag.Ref(o)
	}
	x := map[string]any{"op": "groupby", "keys": []string{"key"},
		"aggs": []any{[]string{"value", "sum"}, []string{"value", "mean"}},
		"x":    map[string]any{"op": "chunks", "chunks": chunks}}
	start := time.Now()
	var got abi.Table
	if err := run(ctx, e, dag.Spawn(eval, x), &got); err != nil {
		return err
	}
	d := time.Since(start)
	if got.Rows() != groupsN {
		return fmt.Errorf("the group-by gave %d groups, want %d", got.Rows(), groupsN)
	}
	fmt.Fprintf(out, "BenchmarkTableGroupBy10M/mrun\t1\t%d ns/op\t%.0f MB/s\t%d peak-KiB\n", d.Nanoseconds(), mbps(rowsN*16, d), peakKiB())
	return nil
}

func run(ctx context.Context, e *dag.Engine, o *dag.Object, v any) error {
	if err := e.Execute(ctx, o); err != nil {
		return err
	}
	if err := e.Fetch(ctx, o, v); err != nil {
		return errors.Join(errors.New("fetch the result"), err)
	}
	return nil
}

func mbps(bytes float64, d time.Duration) float64 { return bytes / 1e6 / d.Seconds() }

// peakKiB is the process's peak resident set so far, in KiB.
func peakKiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss
}
