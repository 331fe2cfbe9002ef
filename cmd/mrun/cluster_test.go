package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/internal/gobaseline"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestCluster runs the real mrun binary as separate processes: three `mrun worker`s joined to
// a JetStream server that the test embeds, and `mrun run --cluster` against them, checking
// that the cluster prints what the in-process engine prints, spreads the calls over the
// workers, survives a worker killed mid-graph, and reports a failed task the same way.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mrun and runs a cluster of processes")
	}
	const ackWait = "2s" // redelivery after a worker dies: fast, for the test
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// The first connection creates the consumer, with the AckWait every process is given.
	pc := startProcCluster(t, ctx, cluster.Options{AckWait: 2 * time.Second})
	root, url, conn := pc.root, pc.url, pc.conn
	mrun := func(args ...string) *exec.Cmd { return pc.mrun(ctx, args...) }
	type result struct {
		stdout, stderr string
		code           int
	}
	// runOne runs mrun and returns what it printed and its exit status.
	runOne := func(args ...string) result {
		t.Helper()
		cmd := mrun(args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("mrun %s: %v", strings.Join(args, " "), err)
		}
		return result{out.String(), errb.String(), code}
	}
	// onCluster puts the cluster flags after the command name in args.
	onCluster := func(args ...string) []string {
		return append([]string{args[0], "--cluster", url, "--ack-wait", ackWait}, args[1:]...)
	}

	// In process first: it also fills the compilation cache before the workers start.
	seedWant := runOne("run", "examples/seed.yaml")
	if seedWant.code != 0 {
		t.Fatalf("in process: exit %d: %s", seedWant.code, seedWant.stderr)
	}

	workers := make([]*workerProc, 3)
	for i := range workers {
		id := "w" + strconv.Itoa(i+1)
		w := &workerProc{id: id, cmd: mrun("worker", "--cluster", url, "--ack-wait", ackWait, "--slots", "2", "--id", id)}
		w.cmd.Stdout, w.cmd.Stderr = &w.log, &w.log
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers[i] = w
		t.Cleanup(func() {
			_ = w.cmd.Process.Signal(syscall.SIGTERM)
			_ = w.cmd.Wait()
			if t.Failed() {
				t.Logf("worker %s:\n%s", w.id, w.log.String())
			}
		})
	}
	waitFor(t, ctx, "three workers", func() bool {
		ws, err := conn.Workers(ctx)
		return err == nil && len(ws) == 3
	})

	t.Run("seed", func(t *testing.T) {
		got := runOne(onCluster("run", "examples/seed.yaml")...)
		if got.code != 0 || got.stdout != seedWant.stdout {
			t.Fatalf("on the cluster: exit %d, stdout %q, stderr %q\nin process: %q", got.code, got.stdout, got.stderr, seedWant.stdout)
		}
	})

	t.Run("fanout10k", func(t *testing.T) {
		const n = 10000
		graph := filepath.Join(t.TempDir(), "fanout.yaml")
		writeFile(t, graph, fmt.Sprintf(`modules: {c: %s}
tasks:
  incs:  {call: c.inc, foreach: {range: %d}, args: [$item]}
  total: {call: c.sum_all, args: [$incs]}
outputs: {total: $total}
`, filepath.Join(root, "testdata", "c", "conformance.wasm"), n))
		before := doneByWorker(t, ctx, conn)
		start := time.Now()
		got := runOne(onCluster("run", graph)...)
		elapsed := time.Since(start)
		if want := fmt.Sprintf("{\"total\":%d}\n", n*(n+1)/2); got.code != 0 || got.stdout != want {
			t.Fatalf("exit %d, stdout %q (want %q), stderr %q", got.code, got.stdout, want, got.stderr)
		}
		// Heartbeats come every few seconds: wait until they account for every call.
		var delta map[string]uint64
		waitFor(t, ctx, "heartbeats counting all the calls", func() bool {
			after := doneByWorker(t, ctx, conn)
			delta = map[string]uint64{}
			var sum uint64
			for id, d := range after {
				delta[id] = d - before[id]
				sum += delta[id]
			}
			return sum >= n+1
		})
		t.Logf("%d tasks in %v (%.0f µs/task); calls done per worker: w1 %d, w2 %d, w3 %d", n+1, elapsed.Round(time.Millisecond),
			float64(elapsed.Microseconds())/(n+1), delta["w1"], delta["w2"], delta["w3"])
		for _, w := range workers {
			if delta[w.id] == 0 {
				t.Errorf("worker %s ran none of the calls: %v", w.id, delta)
			}
		}
	})

	t.Run("worker_killed", func(t *testing.T) {
		// 200 burn calls of about 20 ms each; a worker is killed once some have finished.
		const n, iters = 200, 650_000
		graph := filepath.Join(t.TempDir(), "burn.yaml")
		writeFile(t, graph, fmt.Sprintf(`modules: {seed: %s}
tasks:
  burns: {call: seed.burn, foreach: {range: [%d, %d]}, args: [$item]}
outputs: {burns: $burns}
`, filepath.Join(root, "testdata", "seed.wasm"), iters, iters+n))

		results := watchResults(t, ctx, url)
		cmd := mrun(onCluster("run", graph)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		killed, runErr := killWorkerMidRun(t, ctx, cmd, results, 20, workers[0])
		if runErr != nil {
			t.Fatalf("mrun run: %v: %s", runErr, errb.String())
		}
		// The calls the killed worker held come back after AckWait (2 s): the graph ends after that.
		t.Logf("the graph finished %v after the kill", time.Since(killed).Round(time.Millisecond))
		var got struct{ Burns []json.Number }
		dec := json.NewDecoder(&out)
		dec.UseNumber()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("%v: %q", err, out.String())
		}
		if len(got.Burns) != n {
			t.Fatalf("%d results, want %d", len(got.Burns), n)
		}
		for i, v := range got.Burns {
			if want := strconv.Itoa(gobaseline.Burn(iters + i)); v.String() != want {
				t.Errorf("burn(%d) = %s, want %s", iters+i, v, want)
			}
		}
	})

	t.Run("failure", func(t *testing.T) {
		graph := filepath.Join(t.TempDir(), "fail.yaml")
		writeFile(t, graph, fmt.Sprintf(`modules: {seed: %s}
tasks:
  fine:  {call: seed.inc, args: [1000]}
  bad:   {call: seed.fail, args: ["disk on fire"]}
  after: {call: seed.identity, args: [$bad]}
outputs: {fine: $fine, after: $after}
`, filepath.Join(root, "testdata", "seed.wasm")))
		want := runOne("run", graph)
		got := runOne(onCluster("run", graph)...)
		if want.code != 1 || !strings.Contains(want.stderr, "disk on fire") {
			t.Fatalf("in process: exit %d, stderr %q", want.code, want.stderr)
		}
		if got != want {
			t.Fatalf("on the cluster: exit %d, stdout %q, stderr %q\nin process:   exit %d, stdout %q, stderr %q",
				got.code, got.stdout, got.stderr, want.code, want.stdout, want.stderr)
		}
	})

	t.Run("nested", func(t *testing.T) {
		got := runOne(onCluster("call", "testdata/seed.wasm", "driver")...)
		if got.code != 0 && strings.Contains(got.stderr, "unsupported") {
			t.Skip("nested spawn on workers is not supported yet: " + got.stderr)
		}
		if got.code != 0 || got.stdout != "[1,2,3,4,5,6,7,8,9,10]\n" {
			t.Fatalf("exit %d, stdout %q, stderr %q", got.code, got.stdout, got.stderr)
		}
	})
}

// workerProc is an `mrun worker` process and what it logs.
type workerProc struct {
	id  string
	cmd *exec.Cmd
	log syncBuffer
}

var built struct {
	once sync.Once
	dir  string
	err  error
}

// buildMrun builds the mrun binary once per test process, into a temporary directory that
// outlives the test: the process removes it at the end (cleanupM).
// procCluster is a cluster of processes for a test: the mrun binary, a server on a free
// loopback port, and the connection that created the workers' consumer.
type procCluster struct {
	root, bin, url string
	cache          string // the compilation cache every process shares: a module compiles once
	conn           *cluster.Conn
}

// startProcCluster builds mrun, starts a server and connects to it with opts, which set the
// consumer's AckWait and MaxDeliver for every process of the test.
func startProcCluster(t *testing.T, ctx context.Context, opts cluster.Options) *procCluster {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	pc := &procCluster{root: root, bin: buildMrun(t, root), cache: t.TempDir()}
	srv, err := cluster.StartServer(cluster.ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	pc.url = srv.URL()
	opts.Name = "mrun test"
	if pc.conn, err = cluster.Connect(ctx, pc.url, opts); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pc.conn.Close)
	return pc
}

// mrun is the mrun binary run in the repository's root with args, sharing the compilation
// cache.
func (pc *procCluster) mrun(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, pc.bin, args...)
	cmd.Dir = pc.root
	cmd.Env = append(cleanEnv(), "MRUN_CACHE_DIR="+pc.cache)
	return cmd
}

func buildMrun(t *testing.T, root string) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "mrun-cluster-test-")
		if built.err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(built.dir, "mrun"), "./cmd/mrun")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	// Several tests run the binary: cleanupM removes it once they all have.
	return filepath.Join(built.dir, "mrun")
}

// cleanEnv is the test's environment without the variables that would change what mrun does.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, clusterEnv+"=") && !strings.HasPrefix(kv, "MRUN_CACHE_DIR=") {
			env = append(env, kv)
		}
	}
	return env
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond until it holds, failing the test when ctx ends first.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// doneByWorker is the number of calls each worker has finished, by id, per its heartbeat.
func doneByWorker(t *testing.T, ctx context.Context, conn *cluster.Conn) map[string]uint64 {
	t.Helper()
	ws, err := conn.Workers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]uint64{}
	for _, w := range ws {
		m[w.ID] = w.Done
	}
	return m
}

// watchResults counts the values written to the result bucket from now on. Its watcher's
// complaints while a test's server is down are not printed.
func watchResults(t *testing.T, ctx context.Context, url string) func() int {
	t.Helper()
	nc, err := nats.Connect(url, nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, cluster.ResultBucket)
	if err != nil {
		t.Fatal(err)
	}
	w, err := kv.WatchAll(ctx, jetstream.UpdatesOnly(), jetstream.MetaOnly())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Stop() })
	var mu sync.Mutex
	n := 0
	go func() {
		for e := range w.Updates() {
			if e != nil {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}
	}()
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		return n
	}
}

// killWorkerMidRun starts cmd (an mrun run), SIGKILLs victim once results() reaches after,
// and waits for cmd. It returns when the worker was killed and cmd's error; the test fails
// if the graph ended before the kill or never ends.
func killWorkerMidRun(t *testing.T, ctx context.Context, cmd *exec.Cmd, results func() int, after int, victim *workerProc) (time.Time, error) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	finished := make(chan error, 1)
	go func() { finished <- cmd.Wait() }()
	waitFor(t, ctx, fmt.Sprint(after, " results"), func() bool { return results() >= after })
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	t.Logf("killed worker %s after %d results", victim.id, results())
	select {
	case err := <-finished:
		t.Fatalf("the graph finished before the worker was killed (%v): make it longer", err)
	default:
	}
	select {
	case err := <-finished:
		return killed, err
	case <-ctx.Done():
		t.Fatal("the graph did not finish after a worker was killed")
		return killed, nil
	}
}
