package cluster_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/runtime"
)

// testCluster is an embedded server, a coordinator connection and in-process workers.
type testCluster struct {
	srv  *cluster.Server
	conn *cluster.Conn
	rt   *runtime.Runtime
	stop func()
}

func startCluster(t *testing.T, workers, slots int, opts cluster.Options) *testCluster {
	t.Helper()
	srv, err := cluster.StartServer(cluster.ServerConfig{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
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
		wconn, err := cluster.Connect(ctx, srv.URL(), opts)
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
			if err := wconn.RunWorker(ctx, cluster.WorkerConfig{Runtime: wrt, Slots: slots, ID: "w" + string(rune('0'+i))}); err != nil {
				t.Error(err)
			}
		})
	}
	tc := &testCluster{srv: srv, conn: conn, rt: rt}
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
	os.Exit(code)
}

// A call that spawns children on the cluster gives its slot back while it waits: a single
// worker with a single slot runs the driver and its ten children.
func TestNestedOnCluster(t *testing.T) {
	tc := startCluster(t, 1, 1, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	eng := tc.engine()
	driver := dag.Spawn(tc.fn(t, seed, "driver"))
	fanout := dag.Spawn(tc.fn(t, seed, "fanout"), 50)
	if err := eng.Execute(ctx, driver, fanout); err != nil {
		t.Fatal(err)
	}
	got, err := eng.FetchAll(driver, fanout)
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
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
	got, err := eng.FetchAll(all...)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(55), 0.6000000000000001, 1.5, int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), int64(9), int64(10)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestFailureOnCluster(t *testing.T) {
	tc := startCluster(t, 1, 2, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
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
