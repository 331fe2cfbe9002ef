package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// longTests reports whether the tests that take minutes run: MRUN_LONG_TESTS=1 (.ci/run sets
// it for them).
func longTests() bool { return os.Getenv("MRUN_LONG_TESTS") == "1" }

// upProc is an `mrun cluster up` process: the server of a test's cluster, which the test can
// SIGKILL and start again on the same port.
type upProc struct {
	cmd  *exec.Cmd
	url  string
	port int
	log  syncBuffer
	done chan struct{} // closed when the process has exited
}

// startUp starts `mrun cluster up` on port (-1: any free port) with the extra flags,
// keeping its state in data (empty: a temporary directory under tmp, which a SIGKILL leaves
// behind for the test to remove), and returns once it printed its URL.
func startUp(t *testing.T, ctx context.Context, pc *procCluster, port int, data, tmp string, extra ...string) *upProc {
	t.Helper()
	args := append([]string{"cluster", "up", "--port", strconv.Itoa(port)}, extra...)
	if data != "" {
		args = append(args, "--data", data)
	}
	up := &upProc{cmd: exec.CommandContext(ctx, pc.bin, args...), done: make(chan struct{})}
	up.cmd.Env = append(cleanEnv(), "TMPDIR="+tmp)
	up.cmd.Stderr = &up.log
	stdout, err := up.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := up.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = up.cmd.Wait(); close(up.done) }()
	t.Cleanup(up.kill)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		up.kill()
		t.Fatalf("mrun cluster up printed no URL: %v; stderr:\n%s", err, up.log.String())
	}
	up.url = strings.TrimSpace(line)
	if up.port, err = strconv.Atoi(up.url[strings.LastIndexByte(up.url, ':')+1:]); err != nil {
		t.Fatalf("mrun cluster up printed %q: %v", line, err)
	}
	return up
}

// kill SIGKILLs the server and waits until it is gone.
func (up *upProc) kill() {
	_ = up.cmd.Process.Signal(syscall.SIGKILL)
	<-up.done
}

// startWorkers starts `mrun worker` processes named by ids, each with 2 slots, connecting
// to the URL urls gives for its id, and stops them (SIGTERM) when the test ends.
func startWorkers(t *testing.T, ctx context.Context, pc *procCluster, urls func(id string) string, ids ...string) map[string]*workerProc {
	t.Helper()
	ws := map[string]*workerProc{}
	for _, id := range ids {
		w := &workerProc{id: id, cmd: pc.mrun(ctx, "worker", "--cluster", urls(id), "--slots", "2", "--id", id)}
		w.cmd.Stdout, w.cmd.Stderr = &w.log, &w.log
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ws[id] = w
		t.Cleanup(func() {
			if w.cmd.ProcessState == nil {
				_ = w.cmd.Process.Signal(syscall.SIGTERM)
				_ = w.cmd.Wait()
			}
			if t.Failed() {
				t.Logf("worker %s:\n%s", w.id, w.log.String())
			}
		})
	}
	return ws
}

// stopWorker stops a worker as a user does (SIGTERM) and checks it exits 0, saying it
// stopped with no call failed, and logged none of the things that would mean it gave up on,
// lost or dropped a call.
func stopWorker(t *testing.T, w *workerProc, allowed ...string) {
	t.Helper()
	if w.cmd.ProcessState != nil {
		t.Fatalf("worker %s exited before the test stopped it (%v):\n%s", w.id, w.cmd.ProcessState, w.log.String())
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	if err := w.cmd.Wait(); err != nil {
		t.Errorf("worker %s: %v, want exit 0", w.id, err)
	}
	log := w.log.String()
	if !strings.Contains(log, "worker "+w.id+": stopped after ") || !strings.Contains(log, " calls (0 failed)\n") {
		t.Errorf("worker %s did not say it stopped with no call failed:\n%s", w.id, log)
	}
	for _, bad := range []string{"gave up", "dropping", "is gone: interrupting", "panic"} {
		if strings.Contains(log, bad) && !slices.Contains(allowed, bad) {
			t.Errorf("worker %s logged %q:\n%s", w.id, bad, log)
		}
	}
}

// runProc is an `mrun run` (or `mrun call`) process started in the background.
type runProc struct {
	cmd         *exec.Cmd
	out, errb   syncBuffer
	finished    chan struct{}
	err         error
	finishedAt  time.Time
	description string
}

func startRun(t *testing.T, ctx context.Context, pc *procCluster, args ...string) *runProc {
	t.Helper()
	r := &runProc{cmd: pc.mrun(ctx, args...), finished: make(chan struct{}), description: "mrun " + strings.Join(args, " ")}
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.errb
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		r.err = r.cmd.Wait()
		r.finishedAt = time.Now()
		close(r.finished)
	}()
	t.Cleanup(func() { _ = r.cmd.Process.Kill(); <-r.finished })
	return r
}

// running fails the test if the run has ended already: what the test stages would come too
// late to matter.
func (r *runProc) running(t *testing.T, when string) {
	t.Helper()
	select {
	case <-r.finished:
		t.Fatalf("%s ended %s (%v): make the graph longer\nstderr: %s", r.description, when, r.err, r.errb.String())
	default:
	}
}

// wait waits for the run to end and fails the test unless it exited 0.
func (r *runProc) wait(t *testing.T, ctx context.Context) {
	t.Helper()
	select {
	case <-r.finished:
	case <-ctx.Done():
		t.Fatalf("%s did not finish; stderr:\n%s", r.description, r.errb.String())
	}
	if r.err != nil {
		t.Fatalf("%s: %v\nstdout: %s\nstderr: %s", r.description, r.err, r.out.String(), r.errb.String())
	}
}

// fanoutGraph writes the graph of n inc calls over the C conformance module and a sum_all
// of their results, and returns its path and the output it must print.
func fanoutGraph(t *testing.T, root string, n int) (path, want string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "fanout.yaml")
	writeFile(t, path, fmt.Sprintf(`modules: {c: %s}
tasks:
  incs:  {call: c.inc, foreach: {range: %d}, args: [$item]}
  total: {call: c.sum_all, args: [$incs]}
outputs: {total: $total}
`, filepath.Join(root, "testdata", "c", "conformance.wasm"), n))
	return path, fmt.Sprintf("{\"total\":%d}\n", n*(n+1)/2)
}

// burnGraph writes the graph of the seed module's burn over from … from+n-1 (about 20 ms
// each for from around 650,000), and returns its path.
func burnGraph(t *testing.T, root string, from, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "burn.yaml")
	writeFile(t, path, fmt.Sprintf(`modules: {seed: %s}
tasks:
  burns: {call: seed.burn, foreach: {range: [%d, %d]}, args: [$item]}
outputs: {burns: $burns}
`, filepath.Join(root, "testdata", "seed.wasm"), from, from+n))
	return path
}

// checkBurns checks the output of burnGraph(from, n): every value exact.
func checkBurns(t *testing.T, out string, from, n int) {
	t.Helper()
	var got struct{ Burns []json.Number }
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v: %q", err, out)
	}
	if len(got.Burns) != n {
		t.Fatalf("%d results, want %d", len(got.Burns), n)
	}
	for i, v := range got.Burns {
		if want := strconv.Itoa(gobaseline.Burn(from + i)); v.String() != want {
			t.Errorf("burn(%d) = %s, want %s", from+i, v, want)
		}
	}
}

// newProcEnv builds mrun and returns what runs it, with a compilation cache of its own that
// the modules of the tests' graphs are compiled into before any clock runs.
func newProcEnv(t *testing.T, ctx context.Context) *procCluster {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	pc := &procCluster{root: root, bin: buildMrun(t, root), cache: t.TempDir()}
	for _, warm := range [][]string{{"call", "testdata/c/conformance.wasm", "inc", "1"}, {"call", "testdata/seed.wasm", "inc", "1"}} {
		if out, err := pc.mrun(ctx, warm...).CombinedOutput(); err != nil {
			t.Fatalf("mrun %s: %v: %s", strings.Join(warm, " "), err, out)
		}
	}
	return pc
}

// connectTest connects the test itself to the cluster, to list its workers.
func connectTest(t *testing.T, ctx context.Context, url string) *cluster.Conn {
	t.Helper()
	conn, err := cluster.Connect(ctx, url, cluster.Options{Name: "mrun test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	return conn
}

// waitWorkers waits until the workers named by ids write heartbeats.
func waitWorkers(t *testing.T, ctx context.Context, conn *cluster.Conn, ids ...string) {
	t.Helper()
	waitFor(t, ctx, strings.Join(ids, ", ")+" in the heartbeats", func() bool {
		ws, err := conn.Workers(ctx)
		if err != nil {
			return false
		}
		seen := map[string]bool{}
		for _, w := range ws {
			seen[w.ID] = true
		}
		for _, id := range ids {
			if !seen[id] {
				return false
			}
		}
		return true
	})
}

// checkOutageLines checks what mrun run said on stderr about an outage of the server at url:
// that it waited, that the server was back, whether it came back without its state, and no
// failed call nor any text of the NATS client's own.
func checkOutageLines(t *testing.T, stderr, url string, stateLost bool) {
	t.Helper()
	var waiting, back, lost int
	for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "mrun: waiting for the cluster server at "+url+" (down ") && strings.HasSuffix(l, " s)"):
			waiting++
		case strings.HasPrefix(l, "mrun: the cluster server at "+url+" is back (down ") && strings.HasSuffix(l, " s)"):
			back++
		case l == "mrun: the cluster server at "+url+" came back without its state: its streams and buckets are set up again, and the calls still pending are sent again":
			lost++
		}
		if strings.Contains(l, "nats: ") || strings.Contains(l, "failed") {
			t.Errorf("mrun run's stderr has %q", l)
		}
	}
	if waiting == 0 || back != 1 {
		t.Errorf("stderr has %d \"waiting for the cluster server\" lines and %d \"is back\" lines, want at least 1 and 1:\n%s", waiting, back, stderr)
	}
	if stateLost && lost != 1 || !stateLost && lost != 0 {
		t.Errorf("stderr says %d times that the server came back without its state, want %d:\n%s", lost, map[bool]int{true: 1}[stateLost], stderr)
	}
}

// TestClusterServerRestart SIGKILLs the server (`mrun cluster up`, a process) while `mrun run`
// runs a fan-out on two worker processes, and starts it again on the same port after an
// outage: with its data directory after 120 s, and without it (state lost) after 10 s. The
// graph ends with the exact sum and exit status 0, mrun run says it waited and that the
// server is back, and the workers wait out the outage by themselves and stop cleanly. The
// test logs how long the graph took after the restart. It takes minutes, so it runs only with
// MRUN_LONG_TESTS=1; TestClusterServerRestartShort is the same with a 5 s outage. The 120 s
// outage outlives the coordinator's heartbeat (CoordinatorTTL, 30 s): the coordinator
// writes it again as soon as the server is back, before the workers could drop its calls.
func TestClusterServerRestart(t *testing.T) {
	if testing.Short() || !longTests() {
		t.Skip("minutes long: set MRUN_LONG_TESTS=1 to run it")
	}
	t.Run("with-data-120s", func(t *testing.T) { serverRestart(t, true, 120*time.Second) })
	t.Run("without-data-10s", func(t *testing.T) { serverRestart(t, false, 10*time.Second) })
}

// TestClusterServerRestartShort is TestClusterServerRestart with a 5 s outage of a server
// restarted with its data: the real binary's server SIGKILLed (its file store recovered
// after an unclean stop) under worker processes, which the in-process TestServerOutage of
// dag/cluster does not cover.
func TestClusterServerRestartShort(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mrun and runs a cluster of processes")
	}
	serverRestart(t, true, 5*time.Second)
}

func serverRestart(t *testing.T, keepData bool, down time.Duration) {
	const n = 4000
	ctx, cancel := context.WithTimeout(context.Background(), down+5*time.Minute)
	defer cancel()
	pc := newProcEnv(t, ctx)
	tmp, data := t.TempDir(), ""
	if keepData {
		data = t.TempDir()
	}
	up := startUp(t, ctx, pc, -1, data, tmp)
	url := up.url
	conn := connectTest(t, ctx, url) // creates the workers' consumer, with the default AckWait
	workers := startWorkers(t, ctx, pc, func(string) string { return url }, "w1", "w2")
	waitWorkers(t, ctx, conn, "w1", "w2")
	conn.Close() // the test's own connection has nothing to wait out

	graph, want := fanoutGraph(t, pc.root, n)
	results := watchResults(t, ctx, url)
	run := startRun(t, ctx, pc, "run", "--cluster", url, graph)
	waitFor(t, ctx, fmt.Sprint(n/4, " results"), func() bool { return results() >= n/4 })
	up.kill()
	killed := time.Now()
	atKill := results()
	run.running(t, "before the server was killed")
	select {
	case <-run.finished:
		t.Fatalf("mrun run ended while the server was down (%v):\n%s", run.err, run.errb.String())
	case <-time.After(down):
	}
	up = startUp(t, ctx, pc, up.port, data, tmp)
	restarted := time.Now()
	run.wait(t, ctx)
	if got := run.out.String(); got != want {
		t.Fatalf("stdout %q, want %q; stderr:\n%s", got, want, run.errb.String())
	}
	checkOutageLines(t, run.errb.String(), url, !keepData)
	t.Logf("server killed after %d of %d results, started again %v later %s its data; the graph finished %v after the restart (%v after the kill); mrun run's stderr:\n%s",
		atKill, n+1, restarted.Sub(killed).Round(time.Millisecond), map[bool]string{true: "with", false: "without"}[keepData],
		run.finishedAt.Sub(restarted).Round(time.Millisecond), run.finishedAt.Sub(killed).Round(time.Millisecond), run.errb.String())

	// The workers came back by themselves: both write heartbeats to the server as it is now,
	// and a new call runs.
	conn = connectTest(t, ctx, url)
	waitWorkers(t, ctx, conn, "w1", "w2")
	if out, err := pc.mrun(ctx, "call", "--cluster", url, "testdata/c/conformance.wasm", "inc", "41").CombinedOutput(); err != nil || string(out) != "42\n" {
		t.Fatalf("mrun call after the restart: %v: %q", err, out)
	}
	// A worker that asks about the coordinator in the moment between the coordinator's
	// heartbeat expiring and its being written again may take it for gone; the coordinator
	// then sends those calls again, which the exact sum above proves. The in-process tests
	// (TestServerOutage_HeartbeatExpired, TestCoordAliveGraceAfterOutage) pin the timing.
	for _, id := range []string{"w1", "w2"} {
		stopWorker(t, workers[id], "dropping", "is gone: interrupting")
	}
}

// proxy is a TCP proxy on loopback between the processes of a test and a server, which
// stages a network partition: while it is partitioned, it forwards no byte in either
// direction, on the connections it carries and on those it accepts meanwhile, but closes
// none, as a network that drops every packet does.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cond  *sync.Cond
	held  bool
	conns []net.Conn
}

// startProxy listens on a free loopback port and forwards each connection to target
// (host:port).
func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

// url is the NATS URL of the proxy.
func (p *proxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.handle(c)
	}
}

func (p *proxy) handle(c net.Conn) {
	p.wait() // accepted during a partition: it hears nothing until it heals
	u, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, c, u)
	p.mu.Unlock()
	go p.pipe(u, c)
	go p.pipe(c, u)
}

// pipe copies src to dst, holding what it read while the proxy is partitioned.
func (p *proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.wait()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
}

func (p *proxy) wait() {
	p.mu.Lock()
	for p.held {
		p.cond.Wait()
	}
	p.mu.Unlock()
}

// partition stops forwarding bytes.
func (p *proxy) partition() {
	p.mu.Lock()
	p.held = true
	p.mu.Unlock()
}

// heal forwards bytes again, those held first, as TCP delivers them once a short partition
// ends.
func (p *proxy) heal() {
	p.mu.Lock()
	p.held = false
	p.cond.Broadcast()
	p.mu.Unlock()
}

// cut closes every connection the proxy carries, as TCP gives up on a long partition, and
// forwards the new ones.
func (p *proxy) cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.held = false
	p.cond.Broadcast()
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// hostPort is the host:port of a nats:// URL.
func hostPort(url string) string { return strings.TrimPrefix(url, "nats://") }

// TestClusterPartitionWorker cuts one of two worker processes off the server, without closing
// its connection, while it runs calls: the calls it held run again on the other worker once
// AckWait (2 s) passes without their heartbeats, and the graph ends with every value exact.
// The partition then heals in the two ways TCP ends one: the held bytes go through (a short
// partition), or the connections are closed (a long one) and the worker reconnects. Either
// way the worker's late results change nothing (the result bucket takes no write: the first
// value stays), and the worker runs calls again. The test logs the time from the partition
// to the first call delivered again and to the end of the graph.
func TestClusterPartitionWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mrun and runs a cluster of processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pc := newProcEnv(t, ctx)
	up := startUp(t, ctx, pc, -1, "", t.TempDir())
	conn := connectTest(t, ctx, up.url)
	px := startProxy(t, hostPort(up.url))
	workers := startWorkers(t, ctx, pc, func(id string) string {
		if id == "w1" {
			return px.url()
		}
		return up.url
	}, "w1", "w2")
	waitWorkers(t, ctx, conn, "w1", "w2")
	results := watchResults(t, ctx, up.url)

	const n = 200
	for i, heal := range []struct {
		how string
		f   func()
	}{{"the held bytes went through", px.heal}, {"its connections were closed", px.cut}} {
		from := 650_000 + 1000*i
		graph := burnGraph(t, pc.root, from, n)
		redelivered := watchRedelivery(t, up.url)
		start := results()
		run := startRun(t, ctx, pc, "run", "--cluster", up.url, graph)
		waitFor(t, ctx, "20 results", func() bool { return results()-start >= 20 })
		px.partition()
		cut := time.Now()
		atCut := results() - start
		run.running(t, "before the partition")
		run.wait(t, ctx)
		checkBurns(t, run.out.String(), from, n)
		again := redelivered()
		if again.IsZero() {
			t.Fatal("no call was delivered again after the partition: the partitioned worker held none")
		}
		t.Logf("w1 cut off after %d of %d results; the first of its calls delivered again %v later; the graph finished %v after the partition",
			atCut, n, again.Sub(cut).Round(time.Millisecond), run.finishedAt.Sub(cut).Round(time.Millisecond))
		// AckWait is 2 s: a margin for a loaded machine.
		if d := again.Sub(cut); d > 6*time.Second {
			t.Errorf("the partitioned worker's calls were delivered again %v after the partition, want within 6 s (AckWait 2 s)", d.Round(time.Millisecond))
		}
		if strings.Contains(run.errb.String(), "nats: ") {
			t.Errorf("mrun run's stderr has the NATS client's own text:\n%s", run.errb.String())
		}

		// The partition heals: w1's results, acknowledgements and heartbeats arrive late.
		seq := resultWrites(t, ctx, up.url)
		heal.f()
		healed := time.Now()
		waitFor(t, ctx, "w1 to report again, with nothing left to store", func() bool {
			ws, err := conn.Workers(ctx)
			if err != nil {
				return false
			}
			for _, w := range ws {
				if w.ID == "w1" && w.LastSeen.After(healed) && w.Running == 0 && w.Storing == 0 {
					return true
				}
			}
			return false
		})
		if after := resultWrites(t, ctx, up.url); after != seq {
			t.Errorf("the result bucket took %d writes after the partition healed (%s), want none: a late result replaced a value", after-seq, heal.how)
		}
		t.Logf("after the partition healed (%s), w1 reported again with nothing left to store %v later", heal.how, time.Since(healed).Round(time.Millisecond))
	}

	// w1 runs calls again: a graph of its own while w2 is stopped.
	before := doneByWorker(t, ctx, conn)
	stopWorker(t, workers["w2"])
	const from2 = 660_000
	next := startRun(t, ctx, pc, "run", "--cluster", up.url, burnGraph(t, pc.root, from2, 20))
	next.wait(t, ctx)
	checkBurns(t, next.out.String(), from2, 20)
	waitFor(t, ctx, "w1's heartbeat counting the calls", func() bool { return doneByWorker(t, ctx, conn)["w1"]-before["w1"] >= 20 })
	stopWorker(t, workers["w1"])
	t.Logf("w1's log:\n%s", workers["w1"].log.String())
}

// resultWrites is the sequence number of the last write to the result bucket: it grows with
// every value stored, and a write the bucket refuses (a key that exists) leaves it.
func resultWrites(t *testing.T, ctx context.Context, url string) uint64 {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(ctx, "KV_"+cluster.ResultBucket)
	if err != nil {
		t.Fatal(err)
	}
	return s.CachedInfo().State.LastSeq
}

// TestClusterPartitionClient cuts the coordinator (mrun run) off the server, without closing
// its connection, while a fan-out runs on two worker processes. For 15 s, TCP would carry the
// connection over: the client's pings (every 10 s, two unanswered ones tolerated) do not
// notice, and when the partition heals the run goes on where it was. For 45 s, the pings
// notice: mrun run says it waits for the server, reconnects once the partition heals, says
// the server is back, and goes on: the partition outlives the coordinator's heartbeat, and
// the calls the workers drop meanwhile as a gone coordinator's are sent again. Either way
// the graph ends with the exact sum and exit status 0. The test logs when the run noticed
// and when the graph ended after the partition healed. It takes a minute and a half, so it runs only with MRUN_LONG_TESTS=1.
func TestClusterPartitionClient(t *testing.T) {
	if testing.Short() || !longTests() {
		t.Skip("a minute and a half long: set MRUN_LONG_TESTS=1 to run it")
	}
	t.Run("15s", func(t *testing.T) { partitionClient(t, 15*time.Second, false) })
	t.Run("45s", func(t *testing.T) { partitionClient(t, 45*time.Second, true) })
}

func partitionClient(t *testing.T, partition time.Duration, noticed bool) {
	const n = 4000
	ctx, cancel := context.WithTimeout(context.Background(), partition+5*time.Minute)
	defer cancel()
	pc := newProcEnv(t, ctx)
	up := startUp(t, ctx, pc, -1, "", t.TempDir())
	conn := connectTest(t, ctx, up.url)
	px := startProxy(t, hostPort(up.url))
	workers := startWorkers(t, ctx, pc, func(string) string { return up.url }, "w1", "w2")
	waitWorkers(t, ctx, conn, "w1", "w2")

	graph, want := fanoutGraph(t, pc.root, n)
	results := watchResults(t, ctx, up.url)
	run := startRun(t, ctx, pc, "run", "--cluster", px.url(), graph)
	waitFor(t, ctx, fmt.Sprint(n/4, " results"), func() bool { return results() >= n/4 })
	px.partition()
	cut := time.Now()
	atCut := results()
	var waiting time.Time // when mrun run said it waits for the server
	for end := time.After(partition); ; {
		select {
		case <-run.finished:
			t.Fatalf("mrun run ended during the partition (%v):\nstdout: %s\nstderr: %s", run.err, run.out.String(), run.errb.String())
		case <-time.After(50 * time.Millisecond):
			if waiting.IsZero() && strings.Contains(run.errb.String(), "mrun: waiting for the cluster server at "+px.url()+" (down ") {
				waiting = time.Now()
			}
			continue
		case <-end:
		}
		break
	}
	atHeal := results()
	px.heal()
	healed := time.Now()
	run.wait(t, ctx)
	if got := run.out.String(); got != want {
		t.Fatalf("stdout %q, want %q; stderr:\n%s", got, want, run.errb.String())
	}
	if noticed {
		checkOutageLines(t, run.errb.String(), px.url(), false)
	} else if run.errb.String() != "" {
		t.Errorf("mrun run's stderr: %q, want nothing", run.errb.String())
	}
	said := "said nothing"
	if !waiting.IsZero() {
		said = fmt.Sprintf("said it waited for the server %v after the partition", waiting.Sub(cut).Round(time.Millisecond))
	}
	t.Logf("mrun run cut off after %d of %d results for %v (the workers stored %d meanwhile); it %s; the graph finished %v after the partition healed; stderr:\n%s",
		atCut, n+1, healed.Sub(cut).Round(time.Millisecond), atHeal-atCut, said, run.finishedAt.Sub(healed).Round(time.Millisecond), run.errb.String())
	// Cut off past CoordinatorTTL, the coordinator may have calls dropped by workers that
	// took it for gone: it sends them again, which the exact sum above proves.
	var allowed []string
	if noticed {
		allowed = append(allowed, "dropping")
	}
	for _, id := range []string{"w1", "w2"} {
		stopWorker(t, workers[id], allowed...)
	}
}
