package cluster_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/runtime"
)

// startWorker joins a worker to the test's server and returns a function that stops it and
// reports whether it stopped: a worker that does not return from RunWorker within 30 s of
// its context's end fails the test rather than hangs it.
func (tc *testCluster) startWorker(t *testing.T, cfg cluster.WorkerConfig) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := cluster.Connect(ctx, tc.srv.URL(), cluster.Options{AckWait: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Runtime == nil {
		if cfg.Runtime, err = runtime.New(ctx, runtime.Config{CacheDir: cache}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := conn.RunWorker(ctx, cfg); err != nil {
			t.Error(err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("worker %s did not stop within 30 s of being asked to", cfg.ID)
				return // leave it: closing its runtime under it would only add noise
			}
			conn.Close()
			cfg.Runtime.Close(context.Background())
		})
	}
	t.Cleanup(stop)
	return stop
}

// A nested call cancelled while its child runs gives back no slot it does not hold: its
// worker still runs calls one at a time afterwards, and stops when asked.
func TestCancelledNestedCallKeepsSlots(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{})
	stop := tc.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w-nested"})
	eng := tc.engine()
	deep := dag.Spawn(tc.fn(t, seed, "deep"), 1) // deep(0), its child, spins until interrupted
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- eng.Execute(ctx, deep) }()
	waitFor(t, "the parent to wait on its spinning child", func() bool {
		ws, _ := tc.conn.Workers(context.Background())
		return len(ws) == 1 && ws[0].Running == 2
	})
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled execution: %v", err)
	}
	waitFor(t, "the worker to finish with both calls", func() bool {
		ws, _ := tc.conn.Workers(context.Background())
		return len(ws) == 1 && ws[0].Running == 0
	})
	ctx2, cancel2 := context.WithTimeout(context.Background(), testTimeout)
	defer cancel2()
	inc := dag.Spawn(tc.fn(t, seed, "inc"), 41)
	if err := eng.Execute(ctx2, inc); err != nil {
		t.Fatalf("the next call: %v", err)
	}
	if got, err := eng.FetchAll(inc); err != nil || got[0] != int64(42) {
		t.Fatalf("inc(41) = %v, %v", got, err)
	}
	stop()
}
