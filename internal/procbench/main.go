// Command procbench runs the benchmarks that need a process of their own, and prints each
// result as a `go test -bench` line so that internal/benchfmt reads them with the rest.
//
//	procbench scale [-goroutines] [-cpuprofile FILE] [-memprofile FILE] NAME=MODULE N
//
// builds a fan-out of N inc calls and one sum_all over all of them with dag.Spawn, executes
// it, checks the sum and reports the wall time, tasks per second and peak RSS: run it once per
// N, each in a fresh process, so that the peak belongs to that N alone. With -goroutines it
// runs the same graph as plain Go instead (one goroutine per task, waiting on channels, as in
// dag/bench_test.go). NAME names the guest in the output (mrun-NAME).
//
//	procbench coldstart [-runs 5] MRUN NAME=MODULE...
//
// times `MRUN call MODULE inc 1` as a new process: once with an empty compilation cache
// (the run compiles the module) and then -runs times with that cache warm, reporting the
// median. A run is timed until its result is on stdout; the cold run is also timed until the
// process exits (mrun-NAME-coldexit), which includes the compiler finishing in the background
// to fill the cache. `MRUN version`, a process that loads no module, is timed the same way as
// the baseline.
//
//	procbench distributed [-workers 2] [-slots 2] [-runs 3] [-cpuprofile FILE] [-worker-cpuprofile PREFIX] MRUN NAME=MODULE N
//
// runs the fan-out of scale on a cluster on this machine: an embedded JetStream server and
// the coordinating engine in this process, and -workers `MRUN worker` processes. It reports
// each run as a FanOut10k variant, mrun-NAME-distributed-WORKERSxSLOTS. Then it times reuse
// with `MRUN run --cluster` and `MRUN call --cluster` as new processes: the fan-out as a graph
// file run again once its values are stored (FanOut10kReused), and a call of inc run again
// (ReusedCall), next to the same call answered in process from the result cache.
//
//	procbench capacity [-workers 2] [-slots 2] [-runs 2] [-idle 10s] [-limit 10m] [-v] MRUN NAME=MODULE N
//
// measures what a cluster on this machine costs per call of the fan-out of scale and per idle
// worker: messages and bytes through the server, stream appends, and the CPU time of the
// server, the workers and the coordinator, each a process of its own; then one stream's
// append ceiling, and the predictions of the capacity model (docs/capacity.md) from these
// constants. It starts itself again as the coordinator (capacity-coordinator).
//
//	procbench rerun MRUN GRAPH
//
// times `MRUN run GRAPH` as a new process three times with one result cache
// (MRUN_RESULT_CACHE), empty at first: the first run computes every call, the second reads the
// values the first cached, the third passes --no-cache and computes them all again. The
// compilation cache is warmed first, so no run compiles. The runs must print the same bytes.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/internal/gobaseline"
	"github.com/mrun-dev/mrun/runtime"
)

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: procbench scale|coldstart|distributed|capacity|rerun ..."))
	}
	var err error
	switch os.Args[1] {
	case "scale":
		err = scale(os.Args[2:], os.Stdout)
	case "coldstart":
		err = coldstart(os.Args[2:], os.Stdout)
	case "distributed":
		err = distributed(os.Args[2:], os.Stdout)
	case "capacity":
		err = capacity(os.Args[2:], os.Stdout)
	case "capacity-coordinator": // started by capacity
		err = capacityCoordinator(os.Args[2:], os.Stdin, os.Stdout)
	case "rerun":
		err = rerun(os.Args[2:], os.Stdout)
	default:
		err = fmt.Errorf("unknown benchmark %q (want scale, coldstart, distributed, capacity or rerun)", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

// fail prints a line benchfmt recognises as a failure, as go test does, and exits.
func fail(err error) {
	fmt.Printf("FAIL procbench: %v\n", err)
	os.Exit(1)
}

// scale runs one scale benchmark and writes its result line to out.
func scale(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("scale", flag.ContinueOnError)
	goroutines := fs.Bool("goroutines", false, "run the plain-Go baseline instead of mrun")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed part to `file`")
	memprofile := fs.String("memprofile", "", "write a heap profile of the timed part's allocations to `file` (see -sample_index=alloc_space)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("usage: procbench scale [-goroutines] [-cpuprofile FILE] [-memprofile FILE] NAME=MODULE N")
	}
	name, module, ok := strings.Cut(fs.Arg(0), "=")
	if !ok {
		return fmt.Errorf("want NAME=MODULE, got %q", fs.Arg(0))
	}
	n, err := strconv.Atoi(fs.Arg(1))
	if err != nil || n < 1 {
		return fmt.Errorf("N must be a positive integer, got %q", fs.Arg(1))
	}
	want := n * (n + 1) / 2

	variant := "goroutines"
	var run func() (int, error)
	if *goroutines {
		run = func() (int, error) { return gobaseline.FanOut(n), nil }
	} else {
		variant = "mrun-" + name
		ctx, cancel := context.WithCancel(context.Background()) // arms interruption, as real callers do
		defer cancel()
		rt, err := runtime.New(ctx, runtime.Config{})
		if err != nil {
			return err
		}
		defer rt.Close(ctx)
		inc, sumAll, err := loadFanOut(ctx, rt, module)
		if err != nil {
			return err
		}
		run = func() (int, error) { return fanOutMrun(ctx, inc, sumAll, n) }
	}

	before, err := currentRSS()
	if err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	start := time.Now()
	got, err := run()
	elapsed := time.Since(start)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	if *memprofile != "" {
		if err := writeHeapProfile(*memprofile); err != nil {
			return err
		}
	}
	if got != want {
		return fmt.Errorf("scale %d: sum = %d, want %d", n, got, want)
	}
	peak := peakRSS()
	tasks := float64(n + 1)
	fmt.Fprintf(out, "BenchmarkScale/%s/n=%d\t1\t%d ns/op\t%.1f ns/task\t%.0f tasks/s\t%d peak-KiB\t%.0f B/task\n",
		variant, n, elapsed.Nanoseconds(), float64(elapsed.Nanoseconds())/tasks, tasks/elapsed.Seconds(),
		peak>>10, float64(peak-before)/float64(n))
	return nil
}

// fanOutMrun spawns n inc calls and a sum_all over them, executes the graph and returns the sum.
func fanOutMrun(ctx context.Context, inc, sumAll *runtime.Function, n int) (int, error) {
	objs := make(dag.Tuple, n)
	for i := range objs {
		objs[i] = dag.Spawn(inc, i)
	}
	total := dag.Spawn(sumAll, objs)
	e := dag.New(dag.Config{})
	if err := e.Execute(ctx, total); err != nil {
		return 0, err
	}
	var got int
	err := e.Fetch(ctx, total, &got)
	return got, err
}

// loadFanOut loads module and returns its functions inc and sum_all, which the fan-out graph
// calls.
func loadFanOut(ctx context.Context, rt *runtime.Runtime, module string) (inc, sumAll *runtime.Function, err error) {
	m, err := rt.LoadFile(ctx, module)
	if err != nil {
		return nil, nil, err
	}
	if inc, err = m.Func("inc"); err != nil {
		return nil, nil, err
	}
	if sumAll, err = m.Func("sum_all"); err != nil {
		return nil, nil, err
	}
	// The fan-out measures calls of compiled code, not of the interpreter's first tier.
	return inc, sumAll, m.WaitCompiled(ctx)
}

// currentRSS is the process's resident set now, in bytes (Linux); elsewhere, the peak so far.
func currentRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return peakRSS(), nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib << 10, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}

// peakRSS is the process's peak resident set so far, in bytes (getrusage's Maxrss is in KiB on
// Linux).
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10
}

// coldstart runs the cold-start benchmarks and writes their result lines to out.
func coldstart(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("coldstart", flag.ContinueOnError)
	runs := fs.Int("runs", 5, "warm runs to take the median of")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 || *runs < 1 {
		return errors.New("usage: procbench coldstart [-runs N] MRUN NAME=MODULE...")
	}
	mrun, modules := fs.Arg(0), fs.Args()[1:]
	tmp, err := os.MkdirTemp("", "procbench-cache-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	median := func(cmd func() (time.Duration, error)) (time.Duration, error) {
		var ds []time.Duration
		for range *runs {
			d, err := cmd()
			if err != nil {
				return 0, err
			}
			ds = append(ds, d)
		}
		slices.Sort(ds)
		return ds[len(ds)/2], nil
	}
	print := func(name string, d time.Duration) {
		fmt.Fprintf(out, "BenchmarkColdStart/%s\t1\t%d ns/op\n", name, d.Nanoseconds())
	}

	base, err := median(func() (time.Duration, error) {
		_, d, err := timeRun(filepath.Join(tmp, "none"), "", mrun, "version")
		return d, err
	})
	if err != nil {
		return err
	}
	print("goroutines", base)
	for i, arg := range modules {
		name, module, ok := strings.Cut(arg, "=")
		if !ok {
			return fmt.Errorf("want NAME=MODULE, got %q", arg)
		}
		cache := filepath.Join(tmp, strconv.Itoa(i))
		if err := os.Mkdir(cache, 0o755); err != nil {
			return err
		}
		call := func() (result, exit time.Duration, err error) {
			return timeRun(cache, "2\n", mrun, "call", module, "inc", "1")
		}
		cold, exit, err := call()
		if err != nil {
			return err
		}
		print("mrun-"+name+"-cold", cold)
		print("mrun-"+name+"-coldexit", exit)
		warm, err := median(func() (time.Duration, error) {
			d, _, err := call()
			return d, err
		})
		if err != nil {
			return err
		}
		print("mrun-"+name+"-warm", warm)
		// Without a compilation cache every process starts cold: the first calls run on the
		// interpreter and the compilation stops at exit, so the exit is the figure.
		nocache, err := median(func() (time.Duration, error) {
			_, d, err := timeRun(cache, "2\n", mrun, "--cache-dir", "", "call", module, "inc", "1")
			return d, err
		})
		if err != nil {
			return err
		}
		print("mrun-"+name+"-nocache", nocache)
	}
	return nil
}

// timeRun runs the command with MRUN_CACHE_DIR set to cache and returns its wall time until
// its stdout holds a whole line (or it exits, when it prints none) and until it exits; when
// want is not empty, the command's stdout must be want.
func timeRun(cache, want string, name string, args ...string) (result, exit time.Duration, err error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "MRUN_CACHE_DIR="+cache)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	r := bufio.NewReader(stdout)
	line, _ := r.ReadString('\n')
	result = time.Since(start)
	rest, _ := io.ReadAll(r)
	err = cmd.Wait()
	exit = time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, errb.String())
	}
	if out := line + string(rest); want != "" && out != want {
		return 0, 0, fmt.Errorf("%s printed %q, want %q", strings.Join(cmd.Args, " "), out, want)
	}
	return result, exit, nil
}

// writeHeapProfile writes the heap profile to path: its alloc_space sample counts every byte
// the run allocated, by call site.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create the heap profile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("write the heap profile %s: %w", path, err)
	}
	return f.Close()
}
