package cluster_test

import (
	"context"
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
)

// deliveries counts, from now on, the deliveries of the workers' consumer and the heartbeats
// (InProgress) of the calls it delivered, by watching the subjects they travel on: every
// delivery carries a reply subject $JS.ACK.<stream>.<consumer>.<times delivered>.<stream
// sequence>…, and a heartbeat is "+WPI" sent to that subject.
type deliveries struct {
	mu      sync.Mutex
	times   map[string]int // stream sequence → the highest delivery count seen
	n       int            // deliveries seen
	beats   int
	subject string
}

func watchDeliveries(t *testing.T, nc *nats.Conn) *deliveries {
	t.Helper()
	d := &deliveries{times: map[string]int{}, subject: "$JS.ACK." + cluster.TaskStream + "." + cluster.WorkerGroup + "."}
	if _, err := nc.Subscribe("_INBOX.>", func(m *nats.Msg) {
		if !strings.HasPrefix(m.Reply, d.subject) {
			return
		}
		f := strings.Split(strings.TrimPrefix(m.Reply, d.subject), ".")
		if len(f) < 2 {
			return
		}
		times, _ := strconv.Atoi(f[0])
		d.mu.Lock()
		d.n++
		d.times[f[1]] = max(d.times[f[1]], times)
		d.mu.Unlock()
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Subscribe(d.subject+">", func(m *nats.Msg) {
		if string(m.Data) == "+WPI" {
			d.mu.Lock()
			d.beats++
			d.mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return d
}

// counts returns how many deliveries and heartbeats were seen, and how many times the most
// delivered message was delivered.
func (d *deliveries) counts() (n, beats, most int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, times := range d.times {
		most = max(most, times)
	}
	return d.n, d.beats, most
}

// A call that runs for many times AckWait on a live worker, with every core busy, is
// delivered once: its heartbeats keep it, and no other worker runs it again. AckWait is
// short so that a dead worker's calls run again soon (TestClusterWorkerKilledRecovers in
// cmd/mrun measures that); the heartbeats are what makes short safe.
func TestLongCallDeliveredOnce(t *testing.T) {
	if testing.Short() {
		// Under the race detector on a busy machine, heartbeats can miss a window this short,
		// and a second delivery is then right: the full suite runs it.
		t.Skip("counts deliveries against a 1 s AckWait: skipped with -short")
	}
	const ackWait = time.Second
	tc := startCluster(t, 2, 1, cluster.Options{AckWait: ackWait})
	d := watchDeliveries(t, tc.nc(t))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	eng := tc.engine()
	burn := tc.fn(t, seed, "burn")
	// About 5 s each on the development machine (seed's burn: 650,000 rounds ≈ 20 ms with
	// interruption on), on both workers at once: both cores run guests for several AckWaits.
	const rounds = 150_000_000
	calls := dag.Tuple{dag.Spawn(burn, rounds), dag.Spawn(burn, rounds+1)}
	start := time.Now()
	if err := eng.Execute(ctx, calls...); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	n, beats, most := d.counts()
	t.Logf("two calls in %v with AckWait %v: %d deliveries, %d heartbeats", took.Round(time.Millisecond), ackWait, n, beats)
	if took < 4*ackWait {
		t.Fatalf("the calls took %v, not long enough to outlast AckWait %v several times: raise rounds", took, ackWait)
	}
	if n != 2 || most != 1 {
		t.Fatalf("%d deliveries of 2 calls (the most delivered %d times), want each delivered once", n, most)
	}
	got, err := eng.FetchAll(ctx, calls...)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %v", got)
	}
}

// A server that goes away while a worker stores a finished call's outputs, and comes back
// with its data, costs the call nothing: the worker waits for it, however long the worker's
// limit per call (MaxTimeout), stores the outputs, acknowledges the call, and the coordinator
// gets the result. No failure is reported.
func TestServerAwayWhileStoring(t *testing.T) {
	logs := serverAwayWhileStoring(t, 0, 4*time.Second)
	if strings.Contains(logs, "gave up") {
		t.Errorf("the worker gave up on the call:\n%s", logs)
	}
}

// A worker that waited StoreWait for the server gives the call up without failing it: it
// stays unacknowledged, and runs again once the server is back. (The server is away for
// longer than one attempt to store, 5 s, which a server back sooner still answers.)
func TestStoreWaitGivesUp(t *testing.T) {
	logs := serverAwayWhileStoring(t, time.Second, 7*time.Second)
	if !strings.Contains(logs, "worker w: store the outputs of conformance.inc (attempt ") ||
		!strings.Contains(logs, "): gave up after ") ||
		!strings.Contains(logs, "s: write value ") ||
		!strings.Contains(logs, "(the call runs again once the server is back; WorkerConfig.StoreWait sets how long a worker waits)") {
		t.Errorf("the worker's log does not say it gave up:\n%s", logs)
	}
}

// serverAwayWhileStoring stops the server once a worker's guest has returned, before the
// worker stores the outputs, and starts it again, with the same store, away later; the call must
// succeed all the same. It returns what the worker logged until the call finished.
func serverAwayWhileStoring(t *testing.T, storeWait, away time.Duration) string {
	dir := t.TempDir()
	srv, err := cluster.StartServer(cluster.ServerConfig{Port: -1, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL()
	port := portOf(url)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	opts := cluster.Options{AckWait: time.Second}
	conn, err := cluster.Connect(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wconn, err := cluster.Connect(ctx, url, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer wconn.Close()
	rt, _ := runtime.New(ctx, runtime.Config{CacheDir: cache})
	defer rt.Close(context.Background())
	wrt, _ := runtime.New(ctx, runtime.Config{CacheDir: cache})
	defer wrt.Close(context.Background())

	// The server stops once the guest has returned, before the worker stores anything, and
	// starts again, with the same store, after longer than the worker's limit per call: the
	// guest kept to that limit, and the time the server is away is not the call's.
	const maxTimeout = 2 * time.Second
	var (
		restarts = make(chan *cluster.Server, 1)
		once     sync.Once
	)
	defer func() {
		select {
		case s := <-restarts:
			s.Shutdown()
		case <-time.After(2 * away): // never stopped, or never started again
			srv.Shutdown()
		}
	}()
	defer cluster.SetBeforeStore(func() {
		once.Do(func() {
			srv.Shutdown()
			go func() {
				time.Sleep(away)
				s, err := cluster.StartServer(cluster.ServerConfig{Port: port, StoreDir: dir})
				if err != nil {
					t.Error(err)
					return
				}
				restarts <- s
			}()
		})
	})()

	var (
		logMu sync.Mutex
		logs  []string
	)
	wctx, wstop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = wconn.RunWorker(wctx, cluster.WorkerConfig{Runtime: wrt, Slots: 1, ID: "w", MaxTimeout: maxTimeout, StoreWait: storeWait, Logf: func(format string, args ...any) {
			logMu.Lock()
			logs = append(logs, strings.TrimSpace(fmt.Sprintf(format, args...)))
			logMu.Unlock()
		}})
	})
	defer func() { wstop(); wg.Wait() }()

	// The C module: the worker loads it within the call's limit, which the 4.6 MB Go module
	// can exceed under the race detector on a busy machine.
	m, err := rt.LoadFile(ctx, conformance)
	if err != nil {
		t.Fatal(err)
	}
	inc, _ := m.Func("inc")
	eng := dag.New(dag.Config{Slots: 64, Executor: conn.Executor(), Store: conn.Store()})
	obj := dag.Spawn(inc, 41)
	start := time.Now()
	if err := eng.Execute(ctx, obj); err != nil {
		logMu.Lock()
		t.Logf("worker log:\n%s", strings.Join(logs, "\n"))
		logMu.Unlock()
		t.Fatalf("with the server away for %v while the worker stored the result: %v", away, err)
	}
	t.Logf("the call finished %v after it started, the server away for %v", time.Since(start).Round(time.Millisecond), away)
	logMu.Lock()
	before := strings.Join(logs, "\n")
	logMu.Unlock()
	got, err := eng.FetchAll(ctx, obj)
	if err != nil || !reflect.DeepEqual(got, []any{int64(42)}) {
		t.Fatalf("value: %v, %v", got, err)
	}
	t.Logf("worker log:\n%s", before)
	return before
}
