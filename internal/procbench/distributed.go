package main

import (
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
	"strings"
	"syscall"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// distributed runs the fan-out of scale on a cluster and writes one result line per run to
// out: an embedded JetStream server in this process, which is also the coordinator, and
// -workers `MRUN worker` processes with -slots slots each, as a cluster on one machine is run.
// Each run uses inputs of its own, so that no result of an earlier run is reused.
//
// Then it times reuse, through `MRUN run --cluster` and `MRUN call --cluster` as new processes,
// as users run them: the fan-out as a graph file, run once to store its values and then -runs
// times more (FanOut10kReused: each run finds the output stored and runs nothing), and a call
// of inc run once and then -runs times more (ReusedCall/…-distributed-…), next to the same
// call answered in process from the result cache (ReusedCall/…-cached). Each line gives the
// number of values the cluster holds then: the coordinator's store reads every key at start.
func distributed(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("distributed", flag.ContinueOnError)
	workers := fs.Int("workers", 2, "worker processes")
	slots := fs.Int("slots", 2, "slots per worker")
	runs := fs.Int("runs", 3, "timed runs, each printed")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs (coordinator and server) to `file`")
	workerProfile := fs.String("worker-cpuprofile", "", "write a CPU profile of worker i's whole life to `prefix`.i")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 3 || *workers < 1 || *slots < 1 || *runs < 1 {
		return errors.New("usage: procbench distributed [-workers 2] [-slots 2] [-runs 3] [-cpuprofile FILE] [-worker-cpuprofile PREFIX] MRUN NAME=MODULE N")
	}
	mrun := fs.Arg(0)
	name, module, ok := strings.Cut(fs.Arg(1), "=")
	if !ok {
		return fmt.Errorf("want NAME=MODULE, got %q", fs.Arg(1))
	}
	var n int
	if _, err := fmt.Sscan(fs.Arg(2), &n); err != nil || n < 1 {
		return fmt.Errorf("N must be a positive integer, got %q", fs.Arg(2))
	}

	tmp, err := os.MkdirTemp("", "procbench-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	srv, err := cluster.StartServer(cluster.ServerConfig{Port: -1, StoreDir: tmp + "/store"})
	if err != nil {
		return err
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := cluster.Connect(ctx, srv.URL(), cluster.Options{Name: "procbench"})
	if err != nil {
		return err
	}
	defer conn.Close()

	var logs bytes.Buffer
	var pids []int
	for i := range *workers {
		cmd := exec.Command(mrun, "worker", "--cluster", srv.URL(), "--slots", fmt.Sprint(*slots), "--id", fmt.Sprintf("bench%d", i+1))
		if *workerProfile != "" {
			cmd.Args = append(cmd.Args, "--cpuprofile", fmt.Sprintf("%s.%d", *workerProfile, i+1))
		}
		cmd.Env = append(os.Environ(), "MRUN_CACHE_DIR="+tmp+"/cache")
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			return err
		}
		pids = append(pids, cmd.Process.Pid)
		defer func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
		}()
	}
	for {
		ws, err := conn.Workers(ctx)
		if err == nil && len(ws) == *workers {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the workers did not start: %s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}

	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	inc, sumAll, err := loadFanOut(ctx, rt, module)
	if err != nil {
		return err
	}
	fanOut := func(from, count int) (time.Duration, error) {
		return clusterFanOut(ctx, conn, inc, sumAll, from, count)
	}
	// Warm up: every worker loads the module, and the connections are busy once.
	if _, err := fanOut(-1_000_000, 100); err != nil {
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
		defer pprof.StopCPUProfile()
	}
	tasks := float64(n + 1)
	for r := range *runs {
		self, wcpu := selfCPU(), workersCPU(pids)
		elapsed, err := fanOut(r*n, n)
		if err != nil {
			return err
		}
		self, wcpu = selfCPU()-self, workersCPU(pids)-wcpu
		// CPU per task says what the run cost whatever else the machine was doing: the
		// server and coordinator (this process), and the workers' processes together.
		fmt.Fprintf(out, "BenchmarkFanOut10k/mrun-%s-distributed-%dx%d\t1\t%d ns/op\t%.1f ns/task\t%.0f tasks/s\t%.1f server+coordinator-cpu-ns/task\t%.1f workers-cpu-ns/task\n",
			name, *workers, *slots, elapsed.Nanoseconds(), float64(elapsed.Nanoseconds())/tasks, tasks/elapsed.Seconds(),
			float64(self.Nanoseconds())/tasks, float64(wcpu.Nanoseconds())/tasks)
	}
	pprof.StopCPUProfile()
	return reused(ctx, out, reuseBench{mrun: mrun, name: name, module: module, url: srv.URL(), dir: tmp, n: n, runs: *runs,
		shape: fmt.Sprintf("%dx%d", *workers, *slots), from: *runs * n})
}

// reuseBench is what reused needs: the cluster, and where the timed runs stopped.
type reuseBench struct {
	mrun, name, module, url, dir string
	n, runs                      int
	shape                        string // WORKERSxSLOTS
	from                         int    // the first input no earlier run used
}

// reused times runs whose values the cluster stored before, as new mrun processes.
func reused(ctx context.Context, out io.Writer, b reuseBench) error {
	env := append(os.Environ(), "MRUN_CACHE_DIR="+filepath.Join(b.dir, "cache"), "MRUN_RESULT_CACHE="+filepath.Join(b.dir, "results"), "MRUN_CLUSTER=")
	module, err := filepath.Abs(b.module)
	if err != nil {
		return err
	}
	graph := filepath.Join(b.dir, "fanout.yaml")
	if err := os.WriteFile(graph, fmt.Appendf(nil, `modules: {c: %s}
tasks:
  incs:  {call: c.inc, foreach: {range: [%d, %d]}, args: [$item]}
  total: {call: c.sum_all, args: [$incs]}
outputs: {total: $total}
`, module, b.from, b.from+b.n), 0o644); err != nil {
		return err
	}
	sum := b.n*b.from + b.n*(b.n+1)/2
	// timed runs the command once untimed (it stores the values) and then b.runs times, each
	// printed as one line of bench.
	timed := func(bench, want string, args ...string) error {
		for r := -1; r < b.runs; r++ {
			d, err := timeRunEnv(env, want, b.mrun, args...)
			if err != nil {
				return err
			}
			if r < 0 {
				continue
			}
			keys, err := storedValues(ctx, b.url)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "Benchmark%s\t1\t%d ns/op\t%d stored-values\n", bench, d.Nanoseconds(), keys)
		}
		return nil
	}
	variant := fmt.Sprintf("mrun-%s-distributed-%s", b.name, b.shape)
	if err := timed("FanOut10kReused/"+variant, fmt.Sprintf("{\"total\":%d}\n", sum), "run", "--cluster", b.url, graph); err != nil {
		return err
	}
	x := b.from + b.n + 1 // an input of inc no run used
	want := fmt.Sprintf("%d\n", x+1)
	if err := timed("ReusedCall/"+variant, want, "call", "--cluster", b.url, module, "inc", fmt.Sprint(x)); err != nil {
		return err
	}
	return timed("ReusedCall/mrun-"+b.name+"-cached", want, "call", module, "inc", fmt.Sprint(x))
}

// storedValues is the number of values in the cluster's result bucket.
func storedValues(ctx context.Context, url string) (uint64, error) {
	nc, err := nats.Connect(url)
	if err != nil {
		return 0, err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return 0, err
	}
	kv, err := js.KeyValue(ctx, cluster.ResultBucket)
	if err != nil {
		return 0, err
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return 0, err
	}
	return st.Values(), nil
}

// timeRunEnv runs the command with env and returns its wall time; its stdout must be want.
func timeRunEnv(env []string, want string, name string, args ...string) (time.Duration, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
	}
	if stdout.String() != want {
		return 0, fmt.Errorf("%s printed %q, want %q", strings.Join(cmd.Args, " "), stdout.String(), want)
	}
	return d, nil
}

// workersCPU returns the CPU time (user and system) the processes pids have used, as
// /proc/PID/stat says; a process whose time cannot be read counts nothing.
func workersCPU(pids []int) time.Duration {
	var total time.Duration
	for _, pid := range pids {
		if d, err := cpuTime(pid); err == nil {
			total += d
		}
	}
	return total
}

// clusterFanOut runs inc(from) … inc(from+count-1) and their sum_all on conn's cluster, up to
// 1024 calls in flight, checks the sum, and returns how long the execution took.
func clusterFanOut(ctx context.Context, conn *cluster.Conn, inc, sumAll *runtime.Function, from, count int) (time.Duration, error) {
	objs := make(dag.Tuple, count)
	for i := range objs {
		objs[i] = dag.Spawn(inc, from+i)
	}
	total := dag.Spawn(sumAll, objs)
	e := dag.New(dag.Config{Slots: 1024, Executor: conn.Executor(), Store: conn.Store()})
	start := time.Now()
	if err := e.Execute(ctx, total); err != nil {
		return 0, err
	}
	elapsed := time.Since(start)
	var got int
	if err := e.Fetch(ctx, total, &got); err != nil {
		return 0, err
	}
	if want := count*from + count*(count+1)/2; got != want {
		return 0, fmt.Errorf("fan-out of %d: sum = %d, want %d", count, got, want)
	}
	return elapsed, nil
}
