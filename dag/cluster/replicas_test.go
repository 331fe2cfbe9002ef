package cluster_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// startServers starts a cluster of n servers on loopback, each with a store of its own and
// routes to all.
func startServers(t *testing.T, n int) []*cluster.Server {
	t.Helper()
	routes := make([]string, n)
	for i := range routes { // JetStream needs every member's route address up front
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes[i] = "nats://" + l.Addr().String()
		l.Close()
	}
	srvs := make([]*cluster.Server, n)
	for i := range srvs {
		port, _ := strconv.Atoi(routes[i][strings.LastIndex(routes[i], ":")+1:])
		s, err := cluster.StartServer(cluster.ServerConfig{Port: -1, StoreDir: t.TempDir(), Name: fmt.Sprint("n", i+1), ClusterPort: port, Routes: routes})
		if err != nil {
			t.Fatal(err)
		}
		srvs[i] = s
	}
	t.Cleanup(func() {
		for _, s := range srvs {
			if s != nil {
				s.Shutdown()
			}
		}
	})
	return srvs
}

// With three servers and replicated streams and buckets, the server that leads the task
// stream goes down while the 10k fan-out (10,000 inc and a sum_all; 2,000 with -short, as
// the race detector runs it) runs: the coordinator and the workers move to the other two, and
// the graph completes with the exact sum and no failed call.
func TestReplicatedLeaderDown(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	replicatedLeaderDown(t, n)
}

// replicatedLeaderDown runs a fan-out of n inc calls and a sum_all on two workers of three
// replicated servers, shuts down the task stream's leader once a quarter of the calls have
// finished, and checks the sum and that no call failed. It logs when the new leader was
// elected and when the graph ended, measured from the shutdown.
func replicatedLeaderDown(t *testing.T, n int) {
	srvs := startServers(t, 3)
	urls := make([]string, len(srvs))
	for i, s := range srvs {
		urls[i] = s.URL()
	}
	all := strings.Join(urls, ",")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	opts := cluster.Options{Replicas: 3, AckWait: 3 * time.Second, ClusterTimeout: time.Minute}
	var conn *cluster.Conn
	for deadline := time.Now().Add(30 * time.Second); ; { // until the servers have elected a JetStream leader
		var err error
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err = cluster.Connect(cctx, all, opts)
		ccancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("connect to three servers: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	defer conn.Close()

	nc, err := nats.Connect(all)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	info := func() *jetstream.StreamInfo {
		ictx, icancel := context.WithTimeout(ctx, 2*time.Second)
		defer icancel()
		st, err := js.Stream(ictx, cluster.TaskStream)
		if err != nil {
			return nil
		}
		return st.CachedInfo()
	}
	si := info()
	if si == nil || si.Config.Replicas != 3 {
		t.Fatalf("task stream: %+v, want 3 replicas", si)
	}
	for _, b := range []string{cluster.ResultBucket, cluster.WorkerBucket} {
		kv, err := js.KeyValue(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := kv.Status(ctx)
		if r := st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config.Replicas; r != 3 {
			t.Errorf("bucket %s has %d replicas, want 3", b, r)
		}
	}

	rt, err := runtime.New(ctx, runtime.Config{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(context.Background())
	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for i := range 2 {
		wconn, err := cluster.Connect(ctx, all, opts)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer wconn.Close()
			if err := wconn.RunWorker(wctx, cluster.WorkerConfig{Runtime: rt, Slots: 8, ID: fmt.Sprint("w", i)}); err != nil {
				t.Error(err)
			}
		})
	}
	defer func() { stopWorkers(); wg.Wait() }()

	m, err := rt.LoadFile(ctx, "../../testdata/c/conformance.wasm")
	if err != nil {
		t.Fatal(err)
	}
	inc, _ := m.Func("inc")
	sum, _ := m.Func("sum_all")
	var finished, failed atomic.Int64
	half := make(chan struct{})
	var once sync.Once
	eng := dag.New(dag.Config{Slots: 256, Executor: conn.Executor(), Store: conn.Store(), Events: func(ev dag.Event) {
		switch ev.Kind {
		case dag.EventFinish:
			if finished.Add(1) >= int64(n/4) {
				once.Do(func() { close(half) })
			}
		case dag.EventFail, dag.EventSkip:
			failed.Add(1)
		}
	}})
	incs := make(dag.Tuple, n)
	for i := range incs {
		incs[i] = dag.Spawn(inc, i)
	}
	total := dag.Spawn(sum, incs)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- eng.Execute(ctx, total) }()

	select {
	case <-half:
	case err := <-done:
		t.Fatalf("the graph ended before a quarter of it had run: %v", err)
	}
	leader := si.Cluster.Leader
	if si = info(); si != nil {
		leader = si.Cluster.Leader
	}
	var down int
	for i, s := range srvs {
		if s.Name() == leader {
			down = i
		}
	}
	if srvs[down].Name() != leader {
		t.Fatalf("the task stream's leader %q is none of the servers", leader)
	}
	atDown := finished.Load()
	downAt := time.Now()
	srvs[down].Shutdown()
	srvs[down] = nil
	var elected time.Duration
	for elected == 0 && time.Since(downAt) < 30*time.Second {
		if si := info(); si != nil && si.Cluster.Leader != "" && si.Cluster.Leader != leader {
			elected = time.Since(downAt)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if elected == 0 {
		t.Fatalf("no new leader of %s within 30 s of its leader %s going down", cluster.TaskStream, leader)
	}

	if err := <-done; err != nil {
		t.Fatalf("after the leader %s went down: %v", leader, err)
	}
	completed := time.Since(downAt)
	var got int64
	err = eng.Fetch(ctx, total, &got)
	if want := int64(n * (n + 1) / 2); err != nil || got != want {
		t.Fatalf("sum_all of %d incs = %v, %v; want %d", n, got, err, want)
	}
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d calls failed or were skipped", f)
	}
	t.Logf("leader %s down after %d of %d calls: new leader in %s, graph done %s later (%s in all)",
		leader, atDown, n+1, elected.Round(time.Millisecond), completed.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}
