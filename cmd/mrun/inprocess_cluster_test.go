package main

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag/cluster"
)

// inProcessCluster starts an embedded server and workers (mrun worker, run in this process)
// with slots each, and returns the server's URL. They stop when the test ends; the workers'
// output is logged if it failed.
func inProcessCluster(t *testing.T, workers, slots int) string {
	t.Helper()
	srv, err := cluster.StartServer(cluster.ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var wg sync.WaitGroup
	var werr syncBuffer
	for range workers {
		wg.Go(func() {
			run(ctx, []string{"--cache-dir", sharedCache(t), "worker", "--cluster", srv.URL(), "--slots", strconv.Itoa(slots), "--quiet"}, streams{Out: &werr, Err: &werr})
		})
	}
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		srv.Shutdown()
		if t.Failed() {
			t.Logf("workers:\n%s", werr.String())
		}
	})
	return srv.URL()
}
