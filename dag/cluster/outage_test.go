package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"
)

// outageCluster is a server whose outages a test stages, a coordinator whose Logf lines it
// records, and a worker it can pause, so that calls wait in the queue while the server goes.
type outageCluster struct {
	t      *testing.T
	dir    string
	port   int
	url    string
	srv    *cluster.Server
	conn   *cluster.Conn // the coordinator's
	wconn  *cluster.Conn // the worker's
	rt     *runtime.Runtime
	wrt    *runtime.Runtime
	stopW  func()
	mu     sync.Mutex
	lines  []string
	linesC chan struct{} // a line arrived
}

func newOutageCluster(t *testing.T, timeout time.Duration) *outageCluster {
	t.Helper()
	oc := &outageCluster{t: t, dir: t.TempDir(), linesC: make(chan struct{}, 100), stopW: func() {}}
	srv, err := cluster.StartServer(cluster.ServerConfig{Port: -1, StoreDir: oc.dir})
	if err != nil {
		t.Fatal(err)
	}
	oc.srv, oc.url = srv, srv.URL()
	oc.port = portOf(oc.url)
	ctx := context.Background()
	logf := func(format string, args ...any) {
		oc.mu.Lock()
		oc.lines = append(oc.lines, fmtLine(format, args...))
		oc.mu.Unlock()
		select {
		case oc.linesC <- struct{}{}:
		default:
		}
	}
	if oc.conn, err = cluster.Connect(ctx, oc.url, cluster.Options{AckWait: 3 * time.Second, ClusterTimeout: timeout, Logf: logf}); err != nil {
		t.Fatal(err)
	}
	if oc.wconn, err = cluster.Connect(ctx, oc.url, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	oc.rt, _ = runtime.New(ctx, runtime.Config{CacheDir: cache})
	oc.wrt, _ = runtime.New(ctx, runtime.Config{CacheDir: cache})
	t.Cleanup(func() {
		oc.stopW()
		oc.conn.Close()
		oc.wconn.Close()
		oc.rt.Close(context.Background())
		oc.wrt.Close(context.Background())
		if oc.srv != nil {
			oc.srv.Shutdown()
		}
	})
	oc.startWorker()
	return oc
}

// startWorker runs the worker until stopWorker.
func (oc *outageCluster) startWorker() {
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := oc.wconn.RunWorker(ctx, cluster.WorkerConfig{Runtime: oc.wrt, Slots: 2}); err != nil {
			oc.t.Errorf("worker: %v", err)
		}
	})
	oc.stopW = func() { stop(); wg.Wait() }
}

func (oc *outageCluster) stopWorker() {
	oc.stopW()
	oc.stopW = func() {}
}

// queued waits until n calls wait in the task queue.
func (oc *outageCluster) queued(n uint64) {
	oc.t.Helper()
	nc, err := nats.Connect(oc.url)
	if err != nil {
		oc.t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	waitFor(oc.t, strconv.Itoa(int(n))+" calls queued", func() bool {
		return queuedCalls(js) == n
	})
}

// queuedCalls counts the calls waiting in the task queue: one per message, or the calls of a
// batch.
func queuedCalls(js jetstream.JetStream) uint64 {
	ctx := context.Background()
	s, err := js.Stream(ctx, cluster.TaskStream)
	if err != nil {
		return 0
	}
	info, err := s.Info(ctx)
	if err != nil || info.State.Msgs == 0 {
		return 0
	}
	var n uint64
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // acknowledged and gone
		}
		var calls []msgpack.RawMessage
		if msgpack.Unmarshal(m.Data, &calls) == nil {
			n += uint64(len(calls))
		} else {
			n++
		}
	}
	return n
}

// waitLine waits until a line of the coordinator's starts with prefix, and returns it.
func (oc *outageCluster) waitLine(prefix string) string {
	oc.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		oc.mu.Lock()
		for _, l := range oc.lines {
			if strings.HasPrefix(l, prefix) {
				oc.mu.Unlock()
				return l
			}
		}
		oc.mu.Unlock()
		select {
		case <-oc.linesC:
		case <-deadline:
			oc.t.Fatalf("no line %q; lines: %q", prefix, oc.logLines())
		}
	}
}

func (oc *outageCluster) logLines() []string {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	return append([]string(nil), oc.lines...)
}

// restart starts the server again on its port, with its data or on a new directory.
func (oc *outageCluster) restart(keepData bool) {
	oc.t.Helper()
	if !keepData {
		oc.dir = oc.t.TempDir()
	}
	srv, err := cluster.StartServer(cluster.ServerConfig{Port: oc.port, StoreDir: oc.dir})
	if err != nil {
		oc.t.Fatal(err)
	}
	oc.srv = srv
}

func fmtLine(format string, args ...any) string {
	return fmt.Sprintf(format, args...)
}

// The server goes away while calls wait in its queue, and comes back: with its data, the
// calls run from the queue it kept; without (a new store directory: the queue, the consumer,
// the results and the modules are gone), the coordinator sets the server up again, computes
// again the values the calls read, and sends the calls again. Either way the graph's values
// are exact, and the coordinator said what it waited for.
func TestServerOutage(t *testing.T) {
	for _, keepData := range []bool{true, false} {
		t.Run(map[bool]string{true: "with-data", false: "without-data"}[keepData], func(t *testing.T) {
			oc := newOutageCluster(t, time.Minute)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			m, err := oc.rt.LoadFile(ctx, "../../testdata/c/conformance.wasm")
			if err != nil {
				t.Fatal(err)
			}
			inc, _ := m.Func("inc")
			sum, _ := m.Func("sum_all")
			eng := dag.New(dag.Config{Slots: 64, Executor: oc.conn.Executor(), Store: oc.conn.Store()})
			as := make([]*dag.Object, 10)
			bs := make([]*dag.Object, 10)
			for i := range as {
				as[i] = dag.Spawn(inc, i)
				bs[i] = dag.Spawn(inc, as[i])
			}
			if err := eng.Execute(ctx, as...); err != nil {
				t.Fatal(err)
			}

			// The second half waits in the queue while the server goes away.
			oc.stopWorker()
			total := dag.Spawn(sum, bs)
			done := make(chan error, 1)
			go func() { done <- eng.Execute(ctx, total) }()
			oc.queued(10)
			oc.srv.Shutdown()
			oc.srv = nil
			waiting := oc.waitLine("waiting for the cluster server at ")
			if want := "waiting for the cluster server at " + oc.url + " (down "; !strings.HasPrefix(waiting, want) || !strings.HasSuffix(waiting, " s)") {
				t.Errorf("got %q, want %q…%q", waiting, want, " s)")
			}
			oc.restart(keepData)
			back := oc.waitLine("the cluster server at " + oc.url + " is back (down ")
			if !keepData {
				oc.waitLine("the cluster server at " + oc.url + " came back without its state: its streams and buckets are set up again, and the calls still pending are sent again")
			}
			oc.startWorker()
			if err := <-done; err != nil {
				t.Fatalf("after the outage: %v\nlines: %q", err, oc.logLines())
			}
			got, err := eng.FetchAll(ctx, append([]*dag.Object{total}, as...)...)
			want := []any{int64(65), int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), int64(9), int64(10)}
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("values after the outage: %v, %v; want %v", got, err, want)
			}
			for _, l := range oc.logLines() {
				if keepData && strings.Contains(l, "without its state") {
					t.Errorf("a server restarted with its data was taken for one without: %q", l)
				}
			}
			t.Logf("%s; %s", waiting, back)
		})
	}
}

// A server that stays away: the calls waiting for it give up after ClusterTimeout, with an
// error that says so.
func TestServerGone(t *testing.T) {
	const timeout = 2 * time.Second
	oc := newOutageCluster(t, timeout)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	m, err := oc.rt.LoadFile(ctx, "../../testdata/c/conformance.wasm")
	if err != nil {
		t.Fatal(err)
	}
	inc, _ := m.Func("inc")
	eng := dag.New(dag.Config{Slots: 64, Executor: oc.conn.Executor(), Store: oc.conn.Store()})
	if err := eng.Execute(ctx, dag.Spawn(inc, 0)); err != nil { // the module is uploaded
		t.Fatal(err)
	}
	oc.stopWorker()
	objs := make([]*dag.Object, 10)
	for i := range objs {
		objs[i] = dag.Spawn(inc, 100+i)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Execute(ctx, objs...) }()
	oc.queued(10)
	oc.srv.Shutdown()
	oc.srv = nil
	down := time.Now()
	var err2 error
	select {
	case err2 = <-done:
	case <-time.After(timeout + 20*time.Second):
		t.Fatalf("Execute still waits %v after the server went away", timeout+20*time.Second)
	}
	took := time.Since(down)
	t.Logf("Execute returned %v after the server went away (ClusterTimeout %v)", took, timeout)
	var ue *cluster.UnreachableError
	if !errors.Is(err2, cluster.ErrUnreachable) || !errors.As(err2, &ue) {
		t.Fatalf("got %v, want an error matching cluster.ErrUnreachable", err2)
	}
	want := "the cluster server at " + oc.url + " was unreachable for 2s: start it again (on the same data directory, to keep the calls and results it holds), or wait longer with cluster.Options.ClusterTimeout"
	if ue.Error() != want {
		t.Fatalf("got %q\nwant %q", ue.Error(), want)
	}
	// The connection notices the server gone while Shutdown is still returning, a moment
	// before down was read: a quarter second of slack below the limit.
	if took < timeout-250*time.Millisecond || took > timeout+5*time.Second {
		t.Fatalf("gave up %v after the server went away, want ClusterTimeout %v (with 5 s of margin)", took, timeout)
	}
	// Calls started after giving up fail at once, with the same error.
	start := time.Now()
	err = eng.Execute(ctx, dag.Spawn(inc, 1000))
	if !errors.Is(err, cluster.ErrUnreachable) {
		t.Fatalf("a call after giving up: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a call after giving up took %v to fail", d)
	}
}
