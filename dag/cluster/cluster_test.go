package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
)

// testCluster is an embedded server, a coordinator connection and in-process workers.
type testCluster struct {
	srv   *cluster.Server
	creds string // the server's credentials directory; empty when it has none
	conn  *cluster.Conn
	rt    *runtime.Runtime
	stop  func()
}

func startCluster(t *testing.T, workers, slots int, opts cluster.Options) *testCluster {
	t.Helper()
	if opts.AckWait == 0 {
		// A delivery lost to a pull request that expired under load comes back after AckWait:
		// keep that short, so that a loaded machine slows the tests down rather than fails them.
		opts.AckWait = 3 * time.Second
	}
	return startClusterWith(t, workers, slots, cluster.ServerConfig{}, opts)
}

// startClusterWith starts cfg's server on a free port with a new store, a coordinator
// connection and workers with slots each, all with opts. With cfg.CredsDir set, the
// coordinator connects with the client's key and the workers with the worker's, and a worker
// the server denies something fails the test.
func startClusterWith(t *testing.T, workers, slots int, cfg cluster.ServerConfig, opts cluster.Options) *testCluster {
	t.Helper()
	cfg.Port, cfg.StoreDir = -1, t.TempDir()
	srv, err := cluster.StartServer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	wopts := opts
	if cfg.CredsDir != "" {
		opts.NkeyFile = cluster.KeyFile(cfg.CredsDir, cluster.RoleClient)
		wopts.NkeyFile = cluster.KeyFile(cfg.CredsDir, cluster.RoleWorker)
	}
	conn, err := cluster.Connect(ctx, srv.URL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range workers {
		wconn, err := cluster.Connect(ctx, srv.URL(), wopts)
		if err != nil {
			t.Fatal(err)
		}
		wrt, err := runtime.New(ctx, runtime.Config{CacheDir: cache})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer wconn.Close()
			defer wrt.Close(context.Background())
			wctx, stop := wconn.WatchDenied(ctx)
			defer stop()
			if err := wconn.RunWorker(wctx, cluster.WorkerConfig{Runtime: wrt, Slots: slots, ID: fmt.Sprint("w", i)}); err != nil {
				t.Error(err)
			}
			if cause := context.Cause(wctx); errors.Is(cause, cluster.ErrDenied) {
				t.Errorf("worker: %v", cause)
			}
		})
	}
	tc := &testCluster{srv: srv, creds: cfg.CredsDir, conn: conn, rt: rt}
	tc.stop = func() {
		cancel()
		wg.Wait()
		conn.Close()
		rt.Close(context.Background())
		srv.Shutdown()
	}
	t.Cleanup(tc.stop)
	return tc
}

func (tc *testCluster) engine() *dag.Engine {
	return dag.New(dag.Config{Slots: 256, Executor: tc.conn.Executor(), Store: tc.conn.Store()})
}

func (tc *testCluster) fn(t *testing.T, path, name string) *runtime.Function {
	t.Helper()
	m, err := tc.rt.LoadFile(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Func(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

const seed = "../../testdata/seed.wasm"

// testTimeout bounds each test's graph. It guards against a hang, nothing else: under the race
// detector on a loaded 2-core machine, compiling the Go seed module alone takes tens of seconds.
const testTimeout = 3 * time.Minute

// cache is a compilation cache shared by every runtime of the tests, so that the Go seed
// module compiles once.
var cache = func() string {
	d, err := os.MkdirTemp("", "mrun-cluster-test-")
	if err != nil {
		panic(err)
	}
	return d
}()

func TestMain(m *testing.M) {
	code := m.Run()
	os.RemoveAll(cache)
	if code == 0 {
		// nats.go leaves this one behind after a reconnect (it waits on a nil channel).
		ignore := goleak.IgnoreTopFunction("github.com/nats-io/nats.go/jetstream.(*jetStream).resetPendingAcksOnReconnect")
		if err := goleak.Find(ignore); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines left running:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// A call that spawns children on the cluster gives its slot back while it waits: a single
// worker with a single slot runs the driver and its ten children.
func TestNestedOnCluster(t *testing.T) {
	tc := startCluster(t, 1, 1, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	eng := tc.engine()
	driver := dag.Spawn(tc.fn(t, seed, "driver"))
	fanout := dag.Spawn(tc.fn(t, seed, "fanout"), 50)
	if err := eng.Execute(ctx, driver, fanout); err != nil {
		t.Fatal(err)
	}
	got, err := eng.FetchAll(ctx, driver, fanout)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{[]any{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), int64(9), int64(10)}, int64(1275)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	pf := dag.Spawn(tc.fn(t, seed, "parent_fail"), "disk on fire")
	err = eng.Execute(ctx, pf)
	if err == nil || !strings.HasSuffix(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "parent_fail: task fail (key ") {
		t.Fatalf("parent_fail on the cluster: %v", err)
	}
}

func TestSeedOnCluster(t *testing.T) {
	tc := startCluster(t, 2, 2, cluster.Options{})
	eng := tc.engine()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	inc, sumAll, triage := tc.fn(t, seed, "inc"), tc.fn(t, seed, "sum_all"), tc.fn(t, seed, "triage")

	incs := make(dag.Tuple, 10)
	for i := range incs {
		incs[i] = dag.Spawn(inc, i)
	}
	total := dag.Spawn(sumAll, incs)
	parts := dag.SpawnN(triage, 2, []float64{0.4, 0.7, 0.2, 0.8})
	sa, sb := dag.Spawn(sumAll, parts[0]), dag.Spawn(sumAll, parts[1])
	all := append(dag.Tuple{total, sa, sb}, incs...)
	if err := eng.Execute(ctx, all...); err != nil {
		t.Fatal(err)
	}
	got, err := eng.FetchAll(ctx, all...)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(55), 0.6000000000000001, 1.5, int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), int64(9), int64(10)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// Calls declared impure reach the workers with their nonce, which the workers check the key
// against: two spawns of clock are two calls with two readings. So are the impure children a
// guest spawns on a worker (sample_clocks).
func TestImpureOnCluster(t *testing.T) {
	tc := startCluster(t, 1, 2, cluster.Options{})
	eng := tc.engine()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	clock := tc.fn(t, seed, "clock")
	a, b := dag.Call{Func: clock, Impure: true}.Spawn()[0], dag.Call{Func: clock, Impure: true}.Spawn()[0]
	samples := dag.Spawn(tc.fn(t, seed, "sample_clocks"), 3)
	if err := eng.Execute(ctx, a, b, samples); err != nil {
		t.Fatal(err)
	}
	got, err := eng.FetchAll(ctx, a, b, samples)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(got[0], got[1]) {
		t.Fatalf("two impure spawns of clock gave one value: %v", got[0])
	}
	s, _ := got[2].([]any)
	if len(s) != 3 || s[0] == s[1] || s[1] == s[2] || s[0] == s[2] {
		t.Fatalf("sample_clocks(3) on the cluster = %v, want three readings", got[2])
	}
}

func TestFailureOnCluster(t *testing.T) {
	tc := startCluster(t, 1, 2, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	fail := dag.Spawn(tc.fn(t, seed, "fail"), "disk on fire")
	local := dag.New(dag.Config{})
	wantErr := local.Execute(ctx, fail)
	gotErr := tc.engine().Execute(ctx, fail)
	if gotErr == nil || gotErr.Error() != wantErr.Error() {
		t.Fatalf("on the cluster: %v\nin process:   %v", gotErr, wantErr)
	}
	var ge *runtime.GuestError
	if !errors.As(gotErr, &ge) || ge.Message != "disk on fire" {
		t.Fatalf("guest error = %v", ge)
	}
	trap := dag.Spawn(tc.fn(t, seed, "trap"))
	err := tc.engine().Execute(ctx, trap)
	if !errors.Is(err, runtime.ErrTrap) || !strings.Contains(err.Error(), "trap: ") {
		t.Fatalf("trap on the cluster: %v", err)
	}
}

const fixtures = "../../testdata/wat/fixtures.wasm"

// Cancelling an execution interrupts the call on its worker: the worker's only slot is free
// again at once for the next call.
func TestCancelReachesWorker(t *testing.T) {
	tc := startCluster(t, 1, 1, cluster.Options{})
	eng := tc.engine()
	loop := dag.Spawn(tc.fn(t, fixtures, "loop"))
	queued := dag.Spawn(tc.fn(t, seed, "burn"), 1000) // waits behind the loop for the only slot
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 2)
	go func() { errc <- eng.Execute(ctx, loop) }()
	js, err := jetstream.New(tc.nc(t))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the loop to start on the worker", func() bool {
		ws, _ := tc.conn.Workers(context.Background())
		return len(ws) == 1 && ws[0].Running == 1
	})
	go func() { errc <- eng.Execute(ctx, queued) }()
	waitFor(t, "the other call to be queued", func() bool {
		s, err := js.Stream(context.Background(), cluster.TaskStream)
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		return err == nil && info.State.Msgs == 2
	})
	cancel()
	for range 2 {
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled execution: %v", err)
		}
	}
	// The queued call left the stream without running.
	waitFor(t, "the stream to be empty", func() bool {
		s, err := js.Stream(context.Background(), cluster.TaskStream)
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	inc := dag.Spawn(tc.fn(t, seed, "inc"), 41)
	if err := eng.Execute(ctx2, inc); err != nil {
		t.Fatalf("the next call on the worker's only slot: %v", err)
	}
}

// A call whose every delivery is lost (its workers died) fails once JetStream gives up on
// it, with a message that says so, and leaves the stream.
func TestMaxDeliveries(t *testing.T) {
	tc := startCluster(t, 0, 1, cluster.Options{AckWait: 300 * time.Millisecond, MaxDeliver: 2})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	// A worker that takes every call and dies with it: fetch and never acknowledge.
	js, err := jetstream.New(tc.nc(t))
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, cluster.TaskStream, cluster.WorkerGroup)
	if err != nil {
		t.Fatal(err)
	}
	fetched := make(chan struct{})
	go func() {
		defer close(fetched)
		for ctx.Err() == nil {
			b, err := cons.Fetch(10, jetstream.FetchMaxWait(100*time.Millisecond))
			if err == nil {
				for range b.Messages() {
				}
			}
		}
	}()
	defer func() { cancel(); <-fetched }() // the test ends once its fake worker has
	err = tc.engine().Execute(ctx, dag.Spawn(tc.fn(t, seed, "inc"), 1))
	if err == nil || !strings.Contains(err.Error(), "delivered to workers 2 times without finishing") {
		t.Fatalf("err = %v", err)
	}
	waitFor(t, "the stream to be empty", func() bool {
		s, err := js.Stream(ctx, cluster.TaskStream)
		if err != nil {
			return false
		}
		info, err := s.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})
}

// Workers and coordinators reconnect after the server restarts, and the cluster's streams
// and results survive it.
func TestServerRestart(t *testing.T) {
	dir := t.TempDir()
	srv, err := cluster.StartServer(cluster.ServerConfig{Port: -1, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL()
	port := portOf(url)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	conn, err := cluster.Connect(ctx, url, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	wconn, err := cluster.Connect(ctx, url, cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer wconn.Close()
	rt, _ := runtime.New(ctx, runtime.Config{CacheDir: cache})
	defer rt.Close(context.Background())
	wrt, _ := runtime.New(ctx, runtime.Config{CacheDir: cache})
	defer wrt.Close(context.Background())
	wctx, wstop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = wconn.RunWorker(wctx, cluster.WorkerConfig{Runtime: wrt, Slots: 2}) })
	stopWorker := func() { wstop(); wg.Wait() }
	defer stopWorker()

	m, err := rt.LoadFile(ctx, seed)
	if err != nil {
		t.Fatal(err)
	}
	inc, _ := m.Func("inc")
	eng := dag.New(dag.Config{Slots: 64, Executor: conn.Executor(), Store: conn.Store()})
	first := dag.Spawn(inc, 1)
	if err := eng.Execute(ctx, first); err != nil {
		t.Fatal(err)
	}

	srv.Shutdown()
	srv, err = cluster.StartServer(cluster.ServerConfig{Port: port, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()

	t0 := time.Now()
	second := dag.Spawn(inc, dag.Spawn(inc, first))
	if err := eng.Execute(ctx, second); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	t.Logf("the graph after the restart took %v", time.Since(t0))
	stopWorker() // before the server stops: it says goodbye
	got, err := eng.FetchAll(ctx, first, second)
	if err != nil || !reflect.DeepEqual(got, []any{int64(2), int64(4)}) {
		t.Fatalf("values after the restart: %v, %v", got, err)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// nc returns a plain NATS connection to the test's server.
func (tc *testCluster) nc(t *testing.T) *nats.Conn {
	nc, err := nats.Connect(tc.srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// An argument frame over the inline limit (a fan-in over many Objects) travels through the
// Object Store too.
func TestLargeFrameOnCluster(t *testing.T) {
	tc := startCluster(t, 2, 2, cluster.Options{InlineMax: 1 << 10})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	eng := tc.engine()
	const c = "../../testdata/c/conformance.wasm"
	inc := tc.fn(t, c, "inc")
	incs := make([]*dag.Object, 300)
	for i := range incs {
		incs[i] = dag.Spawn(inc, i)
	}
	total := dag.Spawn(tc.fn(t, c, "sum_all"), incs) // a frame of about 5 KB
	if err := eng.Execute(ctx, total); err != nil {
		t.Fatal(err)
	}
	if got, err := eng.FetchAll(ctx, total); err != nil || got[0] != int64(45150) {
		t.Fatalf("sum_all of 300 incs = %v, %v", got, err)
	}
}

// A value over the inline limit goes through the Object Store, and the worker running the
// dependent call reads it from there.
func TestLargeValueOnCluster(t *testing.T) {
	tc := startCluster(t, 2, 1, cluster.Options{InlineMax: 64 << 10})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	eng := tc.engine()
	const c = "../../testdata/c/conformance.wasm"
	m := dag.Spawn(tc.fn(t, c, "rand_matrix"), 200, 100) // 160 KB
	sum := dag.Spawn(tc.fn(t, c, "tensor_sum"), m)
	if err := eng.Execute(ctx, sum); err != nil {
		t.Fatal(err)
	}
	vals, err := eng.FetchAll(ctx, m, sum)
	if err != nil {
		t.Fatal(err)
	}
	tensor, ok := vals[0].(abi.Tensor)
	if !ok || tensor.String() != "float64[200 100]" {
		t.Fatalf("rand_matrix = %v", vals[0])
	}
	xs, _ := tensor.Float64s()
	var want float64
	for _, x := range xs {
		want += x
	}
	if vals[1] != want {
		t.Fatalf("tensor_sum on the cluster = %v, the fetched matrix sums to %v", vals[1], want)
	}
}

// portOf is the port of a server's client URL, to start it again on the same port.
func portOf(url string) int {
	port, _ := strconv.Atoi(url[strings.LastIndexByte(url, ':')+1:])
	return port
}
