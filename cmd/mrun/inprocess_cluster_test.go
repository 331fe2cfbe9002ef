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
	return embeddedCluster(t, slots, make([]string, workers))
}

// namedWorkersCluster is inProcessCluster with one slot per worker, named ids.
func namedWorkersCluster(t *testing.T, ids ...string) string {
	t.Helper()
	return embeddedCluster(t, 1, ids)
}

// embeddedCluster starts an embedded server and one worker per id (an empty id: the worker's
// default name) with slots each, and returns the server's URL.
func embeddedCluster(t *testing.T, slots int, ids []string) string {
	t.Helper()
	srv, err := cluster.StartServer(cluster.ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	var wg sync.WaitGroup
	var werr syncBuffer
	for _, id := range ids {
		args := []string{"--cache-dir", sharedCache(t), "worker", "--cluster", srv.URL(), "--slots", strconv.Itoa(slots), "--quiet"}
		if id != "" {
			args = append(args, "--id", id)
		}
		wg.Go(func() { run(ctx, args, streams{Out: &werr, Err: &werr}) })
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
