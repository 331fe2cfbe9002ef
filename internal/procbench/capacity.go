package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// capacity measures what a cluster costs per call and per idle worker, the constants of the
// capacity model in docs/capacity.md, and prints the model's predictions from them.
//
// The server runs in this process, with the options cluster.StartServer gives a server on
// loopback without credentials (what `mrun cluster up` runs), so that its counters (the
// monitoring endpoints' /varz, /connz and /jsz, read in process) and its CPU time (this
// process's, from /proc/self/stat) are its own. The coordinator is another process (this
// program again, as capacity-coordinator) and the workers are -workers `MRUN worker`
// processes, so that each one's CPU time is read from /proc/PID/stat.
//
// First the workers idle for -idle (no coordinator is connected): the messages, heartbeats,
// pull requests and CPU that costs per second. Then the coordinator runs the 10k fan-out of
// scale -runs times, each with inputs of its own: per call, the messages and bytes through
// the server, the stream appends, and the CPU of the server, the workers and the coordinator.
// Last, one stream's append ceiling: async publishes to a scratch file-backed stream.
func capacity(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("capacity", flag.ContinueOnError)
	workers := fs.Int("workers", 2, "worker processes")
	slots := fs.Int("slots", 2, "slots per worker")
	runs := fs.Int("runs", 2, "timed fan-outs")
	idle := fs.Duration("idle", 10*time.Second, "how long the idle workers are measured")
	limit := fs.Duration("limit", 10*time.Minute, "wall-clock limit of the whole measurement: past it every process is killed")
	verbose := fs.Bool("v", false, "copy the workers' logs to stderr at the end")
	if err := fs.Parse(args); err != nil {
		return err
	}
	const usage = "usage: procbench capacity [-workers 2] [-slots 2] [-runs 2] [-idle 10s] [-limit 10m] [-v] MRUN NAME=MODULE N"
	if fs.NArg() != 3 || *workers < 1 || *slots < 1 || *runs < 1 || *idle <= 0 || *limit <= 0 {
		return errors.New(usage)
	}
	mrun := fs.Arg(0)
	name, module, ok := strings.Cut(fs.Arg(1), "=")
	if !ok {
		return fmt.Errorf("want NAME=MODULE, got %q", fs.Arg(1))
	}
	n, err := strconv.Atoi(fs.Arg(2))
	if err != nil || n < 1 {
		return fmt.Errorf("N must be a positive integer, got %q", fs.Arg(2))
	}
	if module, err = filepath.Abs(module); err != nil {
		return err
	}
	if _, err := os.Stat(module); err != nil {
		return fmt.Errorf("module: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this program to start the coordinator: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	tmp, err := os.MkdirTemp("", "procbench-capacity-")
	if err != nil {
		return fmt.Errorf("a directory for the server's store: %w", err)
	}
	defer os.RemoveAll(tmp)
	srv, err := startMonitored(filepath.Join(tmp, "store"))
	if err != nil {
		return err
	}
	defer func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	}()
	url := srv.ClientURL()
	conn, err := cluster.Connect(ctx, url, cluster.Options{Name: "procbench"}) // creates the streams and buckets
	if err != nil {
		return err
	}
	defer conn.Close()

	// The server's own background, with no worker: the same window, to subtract.
	m := meter{srv: srv}
	base, err := m.window(ctx, *idle)
	if err != nil {
		return err
	}

	env := append(os.Environ(), "MRUN_CACHE_DIR="+filepath.Join(tmp, "cache"), "MRUN_CLUSTER=")
	// Compile the module into the shared cache once, rather than in every worker at once.
	if _, err := timeRunEnv(env, "2\n", mrun, "call", module, "inc", "1"); err != nil {
		return fmt.Errorf("compile the module for the workers: %w", err)
	}
	logs := new(lockedBuffer)
	wctx, stopWorkers := context.WithCancel(ctx)
	var procs []*exec.Cmd
	defer func() {
		stopWorkers()
		for _, p := range procs {
			_ = p.Wait()
		}
		if *verbose {
			fmt.Fprintln(os.Stderr, logs.String())
		}
	}()
	for i := range *workers {
		cmd := exec.CommandContext(wctx, mrun, "worker", "--cluster", url, "--slots", strconv.Itoa(*slots), "--id", fmt.Sprintf("cap%d", i+1))
		cmd.Env, cmd.Stderr = env, logs
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = 5 * time.Second // then SIGKILL
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start worker %d: %w", i+1, err)
		}
		procs = append(procs, cmd)
	}
	for {
		ws, err := conn.Workers(ctx)
		if err == nil && len(ws) == *workers {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the workers did not start within %v: %s", *limit, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	pids := func() []int {
		var ps []int
		for _, p := range procs {
			ps = append(ps, p.Process.Pid)
		}
		return ps
	}()
	// Let every slot's first pull request reach the server, and the starts' CPU settle.
	if err := sleep(ctx, 2*time.Second); err != nil {
		return err
	}

	// Idle: the workers alone.
	m.workers = pids
	idl, err := m.window(ctx, *idle)
	if err != nil {
		return err
	}
	idl.workers, idl.slots, idl.baseCPU = *workers, *slots, base.srvCPU
	shape := fmt.Sprintf("%dx%d", *workers, *slots)
	idl.print(out, shape)

	// The fan-outs, from a coordinator process.
	co, err := startCoordinator(ctx, self, url, name+"="+module, env)
	if err != nil {
		return err
	}
	defer co.close()
	m.coord = co.cmd.Process.Pid
	var costs []callCost
	for r := range *runs {
		a, err := m.snapshot()
		if err != nil {
			return err
		}
		elapsed, err := co.run(r*n, n)
		if err != nil {
			return fmt.Errorf("fan-out %d: %w (workers: %s)", r+1, err, logs.String())
		}
		b, err := m.snapshot()
		if err != nil {
			return err
		}
		c := perCall(a, b, n+1, elapsed)
		c.workerRSS, c.serverRSS = sumRSS(pids), rss(os.Getpid())
		c.print(out, name, shape)
		costs = append(costs, c)
	}
	co.close()
	stopWorkers()
	for _, p := range procs {
		_ = p.Wait()
	}
	procs = nil

	ceiling, err := streamCeiling(ctx, url)
	if err != nil {
		return err
	}
	ceiling.print(out)
	fmt.Fprintln(out)
	summarize(out, shape, idl, costs, ceiling)
	return nil
}

// startMonitored starts a JetStream server in this process with the options
// cluster.StartServer gives a loopback server without credentials, on a free port.
func startMonitored(dir string) (*server.Server, error) {
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir,
		NoSigs: true, NoLog: true, ServerName: "mrun"})
	if err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("start the server: not ready for connections within 10 s")
	}
	return s, nil
}

// sleep waits d, or returns ctx's error when it ends first.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return fmt.Errorf("the measurement ran out of time (-limit): %w", ctx.Err())
	case <-time.After(d):
		return nil
	}
}

// lockedBuffer is a buffer several processes' stderr may be copied into at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 { // 50 workers failing alike say the same thing
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.TrimSpace(l.b.String())
}

// Connection names, as the server lists them: the workers' (cmd/mrun) and the coordinator's.
const (
	workerConnName = "mrun worker"
	coordConnName  = "procbench-coordinator"
)

// traffic is what the server counted on some connections: messages and bytes it received
// from them (in) and sent to them (out).
type traffic struct{ inMsgs, outMsgs, inBytes, outBytes int64 }

func (t traffic) minus(u traffic) traffic {
	return traffic{t.inMsgs - u.inMsgs, t.outMsgs - u.outMsgs, t.inBytes - u.inBytes, t.outBytes - u.outBytes}
}

// snapshot is the server's counters and the processes' CPU times at one moment.
type snapshot struct {
	at time.Time
	// all is the server's totals (/varz in_msgs, …); client, those of client connections
	// only (in_client_msgs, …); worker and coord, the sums over the workers' connections
	// and the coordinator's (/connz).
	all, client, worker, coord traffic
	// Streams' last sequences: calls published, values written, heartbeats written; and
	// every stream's, by name.
	tasks, results, beats uint64
	seqs                  map[string]uint64
	// CPU time (utime + stime) of the server (this process), the workers together and the
	// coordinator.
	srvCPU, workerCPU, coordCPU time.Duration
	// Context switches (voluntary and not) of the server and of the workers together.
	srvSwitches, workerSwitches int64
}

// meter takes snapshots of a server in this process and of the processes around it.
type meter struct {
	srv     *server.Server
	workers []int
	coord   int // 0: none yet
}

func (m *meter) snapshot() (snapshot, error) {
	s := snapshot{at: time.Now(), seqs: map[string]uint64{}}
	v, err := m.srv.Varz(nil)
	if err != nil {
		return s, fmt.Errorf("read the server's counters (varz): %w", err)
	}
	s.all = traffic{v.InMsgs, v.OutMsgs, v.InBytes, v.OutBytes}
	s.client = traffic{v.InClientMsgs, v.OutClientMsgs, v.InClientBytes, v.OutClientBytes}
	cz, err := m.srv.Connz(&server.ConnzOptions{Limit: 1 << 16})
	if err != nil {
		return s, fmt.Errorf("read the server's connections (connz): %w", err)
	}
	for _, c := range cz.Conns {
		t := traffic{c.InMsgs, c.OutMsgs, c.InBytes, c.OutBytes}
		switch c.Name {
		case workerConnName:
			s.worker = s.worker.plus(t)
		case coordConnName:
			s.coord = s.coord.plus(t)
		}
	}
	js, err := m.srv.Jsz(&server.JSzOptions{Accounts: true, Streams: true})
	if err != nil {
		return s, fmt.Errorf("read the server's streams (jsz): %w", err)
	}
	for _, acc := range js.AccountDetails {
		for _, st := range acc.Streams {
			s.seqs[st.Name] = st.State.LastSeq
			switch st.Name {
			case cluster.TaskStream:
				s.tasks = st.State.LastSeq
			case "KV_" + cluster.ResultBucket:
				s.results = st.State.LastSeq
			case "KV_" + cluster.WorkerBucket:
				s.beats = st.State.LastSeq
			}
		}
	}
	s.srvCPU = selfCPU() // microseconds, where /proc/PID/stat counts hundredths of a second
	s.srvSwitches = switches(os.Getpid())
	for _, pid := range m.workers {
		d, err := cpuTime(pid)
		if err != nil {
			return s, err
		}
		s.workerCPU += d
		s.workerSwitches += switches(pid)
	}
	if m.coord != 0 {
		if s.coordCPU, err = cpuTime(m.coord); err != nil {
			return s, err
		}
	}
	return s, nil
}

func (t traffic) plus(u traffic) traffic {
	return traffic{t.inMsgs + u.inMsgs, t.outMsgs + u.outMsgs, t.inBytes + u.inBytes, t.outBytes + u.outBytes}
}

// clockTick is the unit of utime and stime in /proc/PID/stat: USER_HZ, 100 on Linux.
const clockTick = 10 * time.Millisecond

// cpuTime is the CPU time process pid has used, user and system, from /proc/PID/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
	}
	return parseStatCPU(string(b))
}

// parseStatCPU reads utime and stime (fields 14 and 15) from the text of /proc/PID/stat. The
// command name (field 2) is in parentheses and may hold spaces and parentheses itself: the
// fields are counted from the last ")".
func parseStatCPU(stat string) (time.Duration, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/PID/stat: no command name in %q", stat)
	}
	f := strings.Fields(stat[i+1:]) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, fmt.Errorf("parse /proc/PID/stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		t, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/PID/stat: utime or stime %q: %w", s, err)
		}
		ticks += t
	}
	return time.Duration(ticks) * clockTick, nil
}

// rss is process pid's resident set in bytes (VmRSS of /proc/PID/status), or 0 when it cannot
// be read.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kib, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kib << 10
		}
	}
	return 0
}

// switches is how many times process pid's threads gave up the CPU, voluntarily or not (the
// sum over /proc/PID/task/*/status; threads that have exited are not counted), or 0 when it
// cannot be read.
func switches(pid int) int64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	var n int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		n += parseSwitches(string(b))
	}
	return n
}

// parseSwitches adds voluntary_ctxt_switches and nonvoluntary_ctxt_switches of the text of a
// /proc status file.
func parseSwitches(status string) int64 {
	var n int64
	for line := range strings.Lines(status) {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
			c, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			n += c
		}
	}
	return n
}

func sumRSS(pids []int) int64 {
	var sum int64
	for _, p := range pids {
		sum += rss(p)
	}
	return sum
}

// idle is the background cost of idle workers, per second of the window.
type idle struct {
	workers, slots int
	window         time.Duration
	// Per second: messages and bytes through the server (totals), messages in from the
	// workers' connections, heartbeats written, pull requests (the workers' messages that
	// are not heartbeats), and CPU of the server and the workers (ms per s).
	msgsIn, msgsOut, bytesIn, bytesOut float64
	workerIn, workerOut                float64
	beats, pulls                       float64
	srvCPU, workerCPU                  float64 // ms per s
	baseCPU                            float64 // ms per s of the server with no worker connected
	waiting                            float64 // pull requests waiting, on average
}

// window measures the background for d: the rates between two snapshots, and the pull
// requests waiting, sampled every second.
func (m *meter) window(ctx context.Context, d time.Duration) (idle, error) {
	a, err := m.snapshot()
	if err != nil {
		return idle{}, err
	}
	var waiting, samples int
	for end := a.at.Add(d); time.Until(end) > 0; {
		if err := sleep(ctx, min(time.Second, time.Until(end))); err != nil {
			return idle{}, err
		}
		waiting += m.waiting()
		samples++
	}
	b, err := m.snapshot()
	if err != nil {
		return idle{}, err
	}
	c := idleCost(a, b)
	c.waiting = float64(waiting) / float64(max(samples, 1))
	return c, nil
}

// waiting is the number of pull requests waiting at the workers' consumer now.
func (m *meter) waiting() int {
	js, err := m.srv.Jsz(&server.JSzOptions{Accounts: true, Consumer: true})
	if err != nil {
		return 0
	}
	for _, acc := range js.AccountDetails {
		for _, st := range acc.Streams {
			for _, ci := range st.Consumer {
				if st.Name == cluster.TaskStream && ci.Name == cluster.WorkerGroup {
					return ci.NumWaiting
				}
			}
		}
	}
	return 0
}

func idleCost(a, b snapshot) idle {
	sec := b.at.Sub(a.at).Seconds()
	d, w := b.all.minus(a.all), b.worker.minus(a.worker)
	beats := float64(b.beats - a.beats)
	return idle{window: b.at.Sub(a.at),
		msgsIn: float64(d.inMsgs) / sec, msgsOut: float64(d.outMsgs) / sec,
		bytesIn: float64(d.inBytes) / sec, bytesOut: float64(d.outBytes) / sec,
		workerIn: float64(w.inMsgs) / sec, workerOut: float64(w.outMsgs) / sec,
		beats: beats / sec, pulls: (float64(w.inMsgs) - beats) / sec,
		srvCPU:    ms(b.srvCPU-a.srvCPU) / sec,
		workerCPU: ms(b.workerCPU-a.workerCPU) / sec}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func (c idle) print(out io.Writer, shape string) {
	fmt.Fprintf(out, "BenchmarkCapacityIdle/workers-%s\t1\t%d ns/op\t%.1f msgs-in/s\t%.1f msgs-out/s\t%.0f B-in/s\t%.0f B-out/s\t%.2f pulls/s\t%.2f heartbeats/s\t%.2f srv-cpu-ms/s\t%.2f srv-base-cpu-ms/s\t%.2f worker-cpu-ms/s\t%.1f waiting-pulls\n",
		shape, c.window.Nanoseconds(), c.msgsIn, c.msgsOut, c.bytesIn, c.bytesOut, c.pulls, c.beats, c.srvCPU, c.baseCPU, c.workerCPU, c.waiting)
}

// callCost is what one fan-out cost per call.
type callCost struct {
	calls int
	wall  time.Duration
	// Per call: messages and bytes through the server, totals and those of the workers'
	// and the coordinator's connections; calls published and values written (stream
	// appends).
	msgsIn, msgsOut, bytesIn, bytesOut float64
	clientIn, clientOut                float64
	workerIn, workerOut                float64
	coordIn, coordOut                  float64
	tasks, results                     float64
	appends                            map[string]float64 // by stream, those with any
	// CPU per call in µs: the server, the workers together and the coordinator.
	srvCPU, workerCPU, coordCPU float64
	srvSwitches, workerSwitches float64 // context switches per call
	workerRSS, serverRSS        int64   // bytes, at the end of the run
}

func perCall(a, b snapshot, calls int, wall time.Duration) callCost {
	n := float64(calls)
	d, cl, w, co := b.all.minus(a.all), b.client.minus(a.client), b.worker.minus(a.worker), b.coord.minus(a.coord)
	return callCost{calls: calls, wall: wall,
		msgsIn: float64(d.inMsgs) / n, msgsOut: float64(d.outMsgs) / n,
		bytesIn: float64(d.inBytes) / n, bytesOut: float64(d.outBytes) / n,
		clientIn: float64(cl.inMsgs) / n, clientOut: float64(cl.outMsgs) / n,
		workerIn: float64(w.inMsgs) / n, workerOut: float64(w.outMsgs) / n,
		coordIn: float64(co.inMsgs) / n, coordOut: float64(co.outMsgs) / n,
		tasks: float64(b.tasks-a.tasks) / n, results: float64(b.results-a.results) / n,
		srvCPU:         us(b.srvCPU-a.srvCPU) / n,
		workerCPU:      us(b.workerCPU-a.workerCPU) / n,
		coordCPU:       us(b.coordCPU-a.coordCPU) / n,
		appends:        appends(a, b, n),
		srvSwitches:    float64(b.srvSwitches-a.srvSwitches) / n,
		workerSwitches: float64(b.workerSwitches-a.workerSwitches) / n,
	}
}

// appends is, for each stream written to between a and b, its appends per call.
func appends(a, b snapshot, calls float64) map[string]float64 {
	m := map[string]float64{}
	for name, seq := range b.seqs {
		if d := seq - a.seqs[name]; float64(d) >= calls/100 { // not the heartbeats'

			m[name] = float64(d) / calls
		}
	}
	return m
}

// cores is how many cores the server, the workers and the coordinator used together, on
// average over the fan-out.
func (c callCost) cores() float64 {
	return (c.srvCPU + c.workerCPU + c.coordCPU) * float64(c.calls) / us(c.wall)
}

func (c callCost) print(out io.Writer, name, shape string) {
	n := float64(c.calls)
	fmt.Fprintf(out, "BenchmarkCapacity/mrun-%s-distributed-%s\t1\t%d ns/op\t%.1f ns/task\t%.0f tasks/s"+
		"\t%.2f msgs-in/call\t%.2f msgs-out/call\t%.0f B-in/call\t%.0f B-out/call"+
		"\t%.2f worker-msgs-in/call\t%.2f worker-msgs-out/call\t%.2f coord-msgs-in/call\t%.2f coord-msgs-out/call"+
		"\t%.2f task-appends/call\t%.2f result-appends/call"+
		"\t%.1f srv-cpu-us/call\t%.1f worker-cpu-us/call\t%.1f coord-cpu-us/call\t%.2f cores\t%.2f srv-switches/call\t%.2f worker-switches/call\t%d worker-RSS-KiB\t%d srv-RSS-KiB\n",
		name, shape, c.wall.Nanoseconds(), float64(c.wall.Nanoseconds())/n, n/c.wall.Seconds(),
		c.msgsIn, c.msgsOut, c.bytesIn, c.bytesOut,
		c.workerIn, c.workerOut, c.coordIn, c.coordOut,
		c.tasks, c.results,
		c.srvCPU, c.workerCPU, c.coordCPU, c.cores(), c.srvSwitches, c.workerSwitches, c.workerRSS>>10, c.serverRSS>>10)
}

// coordinator is the coordinator process: capacity-coordinator.
type coordinator struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
	errb *lockedBuffer
	once sync.Once
}

// startCoordinator starts the coordinator process and waits until it has warmed up.
func startCoordinator(ctx context.Context, self, url, module string, env []string) (*coordinator, error) {
	cmd := exec.CommandContext(ctx, self, "capacity-coordinator", url, module)
	cmd.Env = env
	co := &coordinator{cmd: cmd, errb: new(lockedBuffer)}
	cmd.Stderr = co.errb
	var err error
	if co.in, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	co.out = bufio.NewScanner(stdout)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the coordinator: %w", err)
	}
	if line, err := co.line(); err != nil || line != "ready" {
		co.close()
		return nil, fmt.Errorf("the coordinator did not start: %q %v: %s", line, err, co.errb.String())
	}
	return co, nil
}

func (co *coordinator) line() (string, error) {
	if co.out.Scan() {
		return co.out.Text(), nil
	}
	if err := co.out.Err(); err != nil {
		return "", err
	}
	return "", io.ErrUnexpectedEOF
}

// run has the coordinator run the fan-out over inc(from) … inc(from+n-1), and returns its
// wall time.
func (co *coordinator) run(from, n int) (time.Duration, error) {
	if _, err := fmt.Fprintf(co.in, "%d %d\n", from, n); err != nil {
		return 0, fmt.Errorf("the coordinator: %w: %s", err, co.errb.String())
	}
	line, err := co.line()
	if err != nil {
		return 0, fmt.Errorf("the coordinator: %w: %s", err, co.errb.String())
	}
	var wall int64
	if _, err := fmt.Sscanf(line, "done %d", &wall); err != nil {
		return 0, fmt.Errorf("the coordinator said %q: %s", line, co.errb.String())
	}
	return time.Duration(wall), nil
}

// close ends the coordinator: it exits when its input ends.
func (co *coordinator) close() {
	co.once.Do(func() {
		_ = co.in.Close()
		_ = co.cmd.Wait()
	})
}

// capacityCoordinator is the coordinator process of capacity: it connects to the cluster at
// args[0], loads the module of args[1] (NAME=MODULE), runs a small fan-out to warm up (the
// module is uploaded, every worker loads it) and says "ready"; then, for each line "FROM N"
// on in, it runs the fan-out over inc(FROM) … inc(FROM+N-1) and its sum_all, checks the sum,
// and answers "done WALL_NS".
func capacityCoordinator(args []string, in io.Reader, out io.Writer) error {
	if len(args) != 2 {
		return errors.New("usage: procbench capacity-coordinator URL NAME=MODULE")
	}
	_, module, ok := strings.Cut(args[1], "=")
	if !ok {
		return fmt.Errorf("want NAME=MODULE, got %q", args[1])
	}
	ctx := context.Background()
	conn, err := cluster.Connect(ctx, args[0], cluster.Options{Name: coordConnName})
	if err != nil {
		return err
	}
	defer conn.Close()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	inc, sumAll, err := loadFanOut(ctx, rt, module)
	if err != nil {
		return err
	}
	fanOut := func(from, count int) (time.Duration, error) {
		return clusterFanOut(ctx, conn, inc, sumAll, from, count)
	}
	if _, err := fanOut(-1_000_000, 100); err != nil {
		return err
	}
	fmt.Fprintln(out, "ready")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		var from, n int
		if _, err := fmt.Sscanf(sc.Text(), "%d %d", &from, &n); err != nil || n < 1 {
			return fmt.Errorf("want FROM N, got %q", sc.Text())
		}
		wall, err := fanOut(from, n)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "done %d\n", wall.Nanoseconds())
	}
	return sc.Err()
}

// selfCPU is this process's CPU time, user and system (getrusage).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ceiling is the rate one file-backed stream of the server took async publishes at.
type ceiling struct {
	msgs    int
	size    int
	wall    time.Duration
	srvCPU  float64 // µs per append
	perSec  float64
	pending int // async publishes in flight at most
}

// streamCeiling publishes messages of a task message's size to a scratch file-backed stream
// as fast as the server confirms them (async, 4,096 in flight), for about two seconds: the
// most appends per second one stream takes on this server, and its CPU per append.
func streamCeiling(ctx context.Context, url string) (ceiling, error) {
	c := ceiling{size: 200, pending: 4096}
	nc, err := nats.Connect(url, nats.Name("procbench-ceiling"))
	if err != nil {
		return c, fmt.Errorf("stream ceiling: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(c.pending))
	if err != nil {
		return c, fmt.Errorf("stream ceiling: %w", err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "PROCBENCH_CEILING", Subjects: []string{"procbench.ceiling"},
		Storage: jetstream.FileStorage, Retention: jetstream.WorkQueuePolicy}); err != nil {
		return c, fmt.Errorf("stream ceiling: create the stream: %w", err)
	}
	defer js.DeleteStream(context.WithoutCancel(ctx), "PROCBENCH_CEILING")
	payload := make([]byte, c.size)
	cpu0, start := selfCPU(), time.Now()
	for time.Since(start) < 2*time.Second && ctx.Err() == nil {
		for range 1000 {
			// A loaded machine may hold the acknowledgements up for longer than the default
			// stall wait (200 ms): wait as long as it takes, within the limit.
			if _, err := js.PublishAsync("procbench.ceiling", payload, jetstream.WithStallWait(time.Minute)); err != nil {
				return c, fmt.Errorf("stream ceiling: publish: %w", err)
			}
		}
		c.msgs += 1000
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return c, fmt.Errorf("stream ceiling: %w", ctx.Err())
	}
	c.wall = time.Since(start)
	cpu1 := selfCPU()
	c.perSec = float64(c.msgs) / c.wall.Seconds()
	// This process publishes too: its CPU counts against the server, so this is an upper bound.
	c.srvCPU = us(cpu1-cpu0) / float64(c.msgs)
	return c, nil
}

func (c ceiling) print(out io.Writer) {
	fmt.Fprintf(out, "BenchmarkCapacityStream/file-async-%dB\t1\t%d ns/op\t%.0f appends/s\t%.1f cpu-us/append\n",
		c.size, c.wall.Nanoseconds(), c.perSec, c.srvCPU)
}

// spread formats the range of f over costs: "a" when they agree to the digits shown, else
// "a–b".
func spread(costs []callCost, format string, f func(callCost) float64) string {
	var vs []float64
	for _, c := range costs {
		vs = append(vs, f(c))
	}
	lo, hi := fmt.Sprintf(format, slices.Min(vs)), fmt.Sprintf(format, slices.Max(vs))
	if lo == hi {
		return lo
	}
	return lo + "–" + hi
}

// spreadText is the distinct values of f over costs, separated by "; ".
func spreadText(costs []callCost, f func(callCost) string) string {
	var vs []string
	for _, c := range costs {
		if v := f(c); !slices.Contains(vs, v) {
			vs = append(vs, v)
		}
	}
	return strings.Join(vs, "; ")
}

// formatAppends lists appends per call by stream, in the order of the streams' names.
func formatAppends(m map[string]float64) string {
	names := slices.Sorted(maps.Keys(m))
	var parts []string
	for _, name := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f", name, m[name]))
	}
	return strings.Join(parts, ", ")
}

// summarize prints the measured constants as one table, then the model's predictions.
func summarize(out io.Writer, shape string, idl idle, costs []callCost, ceil ceiling) {
	fmt.Fprintf(out, "Per call, %d fan-outs on %s (min–max):\n", len(costs), shape)
	rows := []struct{ what, v string }{
		{"wall per call (µs)", spread(costs, "%.0f", func(c callCost) float64 { return us(c.wall) / float64(c.calls) })},
		{"calls/s", spread(costs, "%.0f", func(c callCost) float64 { return float64(c.calls) / c.wall.Seconds() })},
		{"server messages in / out", spread(costs, "%.2f", func(c callCost) float64 { return c.msgsIn }) + " / " + spread(costs, "%.2f", func(c callCost) float64 { return c.msgsOut })},
		{"server bytes in / out", spread(costs, "%.0f", func(c callCost) float64 { return c.bytesIn }) + " / " + spread(costs, "%.0f", func(c callCost) float64 { return c.bytesOut })},
		{"client messages in / out", spread(costs, "%.2f", func(c callCost) float64 { return c.clientIn }) + " / " + spread(costs, "%.2f", func(c callCost) float64 { return c.clientOut })},
		{"  workers' connections in / out", spread(costs, "%.2f", func(c callCost) float64 { return c.workerIn }) + " / " + spread(costs, "%.2f", func(c callCost) float64 { return c.workerOut })},
		{"  coordinator's connection in / out", spread(costs, "%.2f", func(c callCost) float64 { return c.coordIn }) + " / " + spread(costs, "%.2f", func(c callCost) float64 { return c.coordOut })},
		{"appends to MRUN_TASKS / KV_mrun_results", spread(costs, "%.2f", func(c callCost) float64 { return c.tasks }) + " / " + spread(costs, "%.2f", func(c callCost) float64 { return c.results })},
		{"appends to every stream", spreadText(costs, func(c callCost) string { return formatAppends(c.appends) })},
		{"server CPU (µs)", spread(costs, "%.0f", func(c callCost) float64 { return c.srvCPU })},
		{"workers' CPU, all together (µs)", spread(costs, "%.0f", func(c callCost) float64 { return c.workerCPU })},
		{"coordinator CPU, process (µs)", spread(costs, "%.0f", func(c callCost) float64 { return c.coordCPU })},
		{"context switches: server / workers", spread(costs, "%.2f", func(c callCost) float64 { return c.srvSwitches }) + " / " + spread(costs, "%.2f", func(c callCost) float64 { return c.workerSwitches })},
		{"cores the three used, together", spread(costs, "%.2f", func(c callCost) float64 { return c.cores() })},
		{"workers' RSS, sum (MiB)", spread(costs, "%.0f", func(c callCost) float64 { return float64(c.workerRSS) / (1 << 20) })},
		{"server RSS (MiB)", spread(costs, "%.0f", func(c callCost) float64 { return float64(c.serverRSS) / (1 << 20) })},
	}
	fmt.Fprintln(out, "| per call | value |")
	fmt.Fprintln(out, "|---|---|")
	for _, r := range rows {
		fmt.Fprintf(out, "| %s | %s |\n", r.what, r.v)
	}
	fmt.Fprintf(out, "\nIdle, %s workers for %v, per second: %.1f messages in, %.1f out; pull requests %.2f (%.2f per worker), heartbeats %.2f (%.2f per worker); server CPU %.2f ms/s, %.2f with no worker (%.3f per worker); workers' CPU %.2f ms/s; %.1f pull requests waiting on average\n",
		shape, idl.window.Round(time.Second), idl.msgsIn, idl.msgsOut, idl.pulls, idl.pulls/float64(idl.workers), idl.beats, idl.beats/float64(idl.workers),
		idl.srvCPU, idl.baseCPU, (idl.srvCPU-idl.baseCPU)/float64(idl.workers), idl.workerCPU, idl.waiting)
	fmt.Fprintf(out, "One stream: %.0f appends/s (async publishes of %d B, %d in flight), %.1f µs of CPU per append\n\n", ceil.perSec, ceil.size, ceil.pending, ceil.srvCPU)

	k := constants(idl, costs, ceil)
	fmt.Fprintf(out, "Model constants (medians): server %.0f µs/call, workers %.0f µs/call, coordinator %.0f µs/call, %.2f appends/call to the busiest stream, one stream %.0f appends/s; idle: %.3f ms/s of server CPU and %.2f pull requests/s per worker, %.2f heartbeats/s and %.2f ms/s of CPU per worker, %.2f ms/s of server CPU with no worker\n",
		k.srvCPU, k.workerCPU, k.coordCPU, k.appends, k.streamRate, k.idleCPU, k.idlePulls, k.beats, k.workerIdle, k.baseCPU)
	bg := k.background(100)
	fmt.Fprintf(out, "100 idle workers × 16 slots: %.0f pull requests/s, %.0f heartbeats/s, %.0f ms/s of server CPU (%.2f cores)\n",
		bg.pulls, bg.beats, bg.srvCPU, bg.srvCPU/1000)
	fmt.Fprintf(out, "Per core: the server takes %.0f calls/s, the coordinator %.0f\n", 1e6/k.srvCPU, 1e6/k.coordCPU)
	fmt.Fprintln(out, "\n100 machines × 16 slots; the server and the coordinator on 16 cores each; calls/s:")
	fmt.Fprintln(out, "| slots | call | demand | coordinator in flight (at most) | coordinator CPU | server CPU | one stream | binds | predicted |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|")
	for _, d := range []time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond} {
		printPrediction(out, k.predict(1600, d, 1024, 16))
	}
	for _, d := range []time.Duration{time.Millisecond, 10 * time.Millisecond, 100 * time.Millisecond} {
		printPrediction(out, k.predict(1600, d, 1600, 16))
	}
	fmt.Fprintln(out, "\nThis machine (2 cores shared by every process), calls of inc:")
	fmt.Fprintln(out, "| workers × slots | demand | shared CPU | binds | predicted calls/s | measured |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|")
	measured := spread(costs, "%.0f", func(c callCost) float64 { return float64(c.calls) / c.wall.Seconds() })
	shapes := [][2]int{{idl.workers, idl.slots}}
	if shapes[0] != [2]int{50, 1} {
		shapes = append(shapes, [2]int{50, 1})
	}
	for _, shape := range shapes {
		p := k.local(shape[0], shape[1], 0, 2)
		m := "–"
		if shape == [2]int{idl.workers, idl.slots} {
			m = measured
		}
		fmt.Fprintf(out, "| %d × %d | %.0f | %.0f | %s | %.0f | %s |\n", shape[0], shape[1], p.bounds[0].rate, p.bounds[1].rate, p.binds, p.rate, m)
	}
}

// model holds the measured constants of the capacity model (docs/capacity.md).
type model struct {
	srvCPU, workerCPU, coordCPU float64 // µs of CPU per call
	appends                     float64 // appends per call to the stream that takes the most
	streamRate                  float64 // appends per second one stream takes
	idleCPU                     float64 // ms of server CPU per second per idle worker
	idlePulls                   float64 // pull requests per second per idle worker (one request for all its free slots)
	beats                       float64 // heartbeats per second per worker
	workerIdle                  float64 // ms of CPU per second per idle worker process
	baseCPU                     float64 // ms of server CPU per second with no worker
}

func median(costs []callCost, f func(callCost) float64) float64 {
	var vs []float64
	for _, c := range costs {
		vs = append(vs, f(c))
	}
	slices.Sort(vs)
	if len(vs)%2 == 1 {
		return vs[len(vs)/2]
	}
	return (vs[len(vs)/2-1] + vs[len(vs)/2]) / 2
}

func constants(idl idle, costs []callCost, ceil ceiling) model {
	workers := float64(idl.workers)
	return model{
		srvCPU:     median(costs, func(c callCost) float64 { return c.srvCPU }),
		workerCPU:  median(costs, func(c callCost) float64 { return c.workerCPU }),
		coordCPU:   median(costs, func(c callCost) float64 { return c.coordCPU }),
		appends:    median(costs, func(c callCost) float64 { return max(c.tasks, c.results) }),
		streamRate: ceil.perSec,
		idleCPU:    (idl.srvCPU - idl.baseCPU) / workers,
		idlePulls:  idl.pulls / workers,
		beats:      idl.beats / float64(idl.workers),
		workerIdle: idl.workerCPU / float64(idl.workers),
		baseCPU:    idl.baseCPU,
	}
}

// prediction is the call rate each limit allows, and the least of them.
type prediction struct {
	slots    int
	call     time.Duration
	inflight int // the coordinator's calls in flight at most
	bounds   []bound
	binds    string
	rate     float64
}

type bound struct {
	name string
	rate float64 // calls per second; +Inf: no bound
}

// predict is the model for slots slots whose calls each run for call, a coordinator keeping
// inflight calls in flight, and a server machine with cores cores: each limit's calls per
// second, and the least of them.
//
//	demand      = slots / (call + worker CPU per call)   every slot busy
//	in flight   = inflight / (call + worker CPU per call)
//	coordinator = cores × 1e6 / coordinator µs per call
//	server      = cores × 1e6 / server µs per call
//	one stream  = appends/s of one stream / appends per call
//
// It assumes that the server's and the coordinator's work spreads over the cores of their
// machines; the one part known to be serial, each stream's appends, is bounded apart.
func (k model) predict(slots int, call time.Duration, inflight, cores int) prediction {
	per := call.Seconds() + k.workerCPU/1e6
	p := prediction{slots: slots, call: call, inflight: inflight, bounds: []bound{
		{"demand", float64(slots) / per},
		{"coordinator in flight", float64(inflight) / per},
		{"coordinator CPU", float64(cores) * 1e6 / k.coordCPU},
		{"server CPU", float64(cores) * 1e6 / k.srvCPU},
		{"one stream", k.streamRate / k.appends},
	}}
	p.binds, p.rate = "demand", p.bounds[0].rate
	for _, b := range p.bounds {
		if b.rate < p.rate {
			p.binds, p.rate = b.name, b.rate
		}
	}
	return p
}

// local is the model for one machine with cores cores that every process shares, workers
// worker processes with slots slots each, and calls that run for call: a call costs the sum
// of the server's, the workers' and the coordinator's CPU, plus its own run time, and the
// idle background of the server and of each worker process takes its share first.
//
//	demand     = slots / (call + worker CPU per call)
//	shared CPU = (cores − background) / (call + server + workers + coordinator CPU per call)
func (k model) local(workers, slots int, call time.Duration, cores int) prediction {
	per := call.Seconds() + k.workerCPU/1e6
	cpu := call.Seconds() + (k.srvCPU+k.workerCPU+k.coordCPU)/1e6
	bg := (k.baseCPU + float64(workers)*k.workerIdle) / 1000
	p := prediction{slots: workers * slots, call: call, bounds: []bound{
		{"demand", float64(workers*slots) / per},
		{"shared CPU", (float64(cores) - bg) / cpu},
	}}
	p.binds, p.rate = "demand", p.bounds[0].rate
	if p.bounds[1].rate < p.rate {
		p.binds, p.rate = "shared CPU", p.bounds[1].rate
	}
	return p
}

// background is the idle cost of workers idle worker processes, whatever their slots (a
// worker keeps one pull request for all its free slots): pull requests and heartbeats per
// second, and ms of server CPU per second (over its own background with no worker).
func (k model) background(workers int) (bg struct{ pulls, beats, srvCPU float64 }) {
	bg.pulls = float64(workers) * k.idlePulls
	bg.beats = float64(workers) * k.beats
	bg.srvCPU = float64(workers) * k.idleCPU
	return bg
}

func printPrediction(out io.Writer, p prediction) {
	get := func(name string) string {
		for _, b := range p.bounds {
			if b.name == name {
				return fmt.Sprintf("%.0f", b.rate)
			}
		}
		return "–"
	}
	fmt.Fprintf(out, "| %d | %v | %s | %s (%d) | %s | %s | %s | %s | %.0f |\n",
		p.slots, p.call, get("demand"), get("coordinator in flight"), p.inflight, get("coordinator CPU"), get("server CPU"), get("one stream"), p.binds, p.rate)
}
