package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/internal/gobaseline"
	"github.com/nats-io/nats.go"
)

// TestClusterWorkerKilledRecovers kills one of two worker processes mid-graph, with the
// cluster's default AckWait: the calls it held run again on the other worker within
// seconds, and the graph finishes with every value right soon after the kill, rather than
// idling until a long AckWait passes.
func TestClusterWorkerKilledRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mrun and runs a cluster of processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// The first connection creates the workers' consumer: with the default AckWait.
	pc := startProcCluster(t, ctx, cluster.Options{})
	root, url, conn := pc.root, pc.url, pc.conn

	// 120 burn calls of about 20 ms each, over two workers of two slots.
	const n, iters = 120, 650_000
	graph := filepath.Join(t.TempDir(), "burn.yaml")
	writeFile(t, graph, fmt.Sprintf(`modules: {seed: %s}
tasks:
  burns: {call: seed.burn, foreach: {range: [%d, %d]}, args: [$item]}
outputs: {burns: $burns}
`, filepath.Join(root, "testdata", "seed.wasm"), iters, iters+n))
	// The seed module compiles once, into the cache the workers share, before the clock runs.
	warm := pc.mrun(ctx, "call", "testdata/seed.wasm", "inc", "1")
	if out, err := warm.CombinedOutput(); err != nil {
		t.Fatalf("mrun call: %v: %s", err, out)
	}

	workers := make([]*workerProc, 2)
	for i := range workers {
		id := "w" + strconv.Itoa(i+1)
		w := &workerProc{id: id, cmd: pc.mrun(ctx, "worker", "--cluster", url, "--slots", "2", "--id", id)}
		w.cmd.Stdout, w.cmd.Stderr = &w.log, &w.log
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		workers[i] = w
		t.Cleanup(func() {
			_ = w.cmd.Process.Signal(syscall.SIGTERM)
			_ = w.cmd.Wait()
			if t.Failed() {
				t.Logf("worker %s:\n%s", w.id, w.log.String())
			}
		})
	}
	waitFor(t, ctx, "two workers", func() bool {
		ws, err := conn.Workers(ctx)
		return err == nil && len(ws) == 2
	})

	results := watchResults(t, ctx, url)
	redelivered := watchRedelivery(t, url)
	cmd := pc.mrun(ctx, "run", "--cluster", url, graph)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	killed, runErr := killWorkerMidRun(t, ctx, cmd, results, 10, workers[0])
	after := time.Since(killed)
	if runErr != nil {
		t.Fatalf("mrun run: %v: %s", runErr, errb.String())
	}
	// With AckWait 2 s, the killed worker's calls run again within 2 s, and the last of
	// them takes 20 ms: about 3 s is expected; the margin is for a loaded machine.
	t.Logf("the graph finished %v after the kill; the first call delivered again came %v after it", after.Round(time.Millisecond), redelivered().Sub(killed).Round(time.Millisecond))
	if after > 8*time.Second {
		t.Errorf("the graph finished %v after a worker was killed, want within 8 s: the killed worker's calls waited for a long AckWait", after.Round(time.Millisecond))
	}
	var got struct{ Burns []json.Number }
	dec := json.NewDecoder(&out)
	dec.UseNumber()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("%v: %q", err, out.String())
	}
	if len(got.Burns) != n {
		t.Fatalf("%d results, want %d", len(got.Burns), n)
	}
	for i, v := range got.Burns {
		if want := strconv.Itoa(gobaseline.Burn(iters + i)); v.String() != want {
			t.Errorf("burn(%d) = %s, want %s", iters+i, v, want)
		}
	}
}

// watchRedelivery returns when the workers' consumer first delivered a call for the second
// time (zero: not yet), as seen on the workers' inboxes: a delivery's reply subject is
// $JS.ACK.<stream>.<consumer>.<times delivered>.….
func watchRedelivery(t *testing.T, url string) func() time.Time {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	prefix := "$JS.ACK." + cluster.TaskStream + "." + cluster.WorkerGroup + "."
	var (
		mu    sync.Mutex
		first time.Time
	)
	if _, err := nc.Subscribe("_INBOX.>", func(m *nats.Msg) {
		times, _, _ := strings.Cut(strings.TrimPrefix(m.Reply, prefix), ".")
		if strings.HasPrefix(m.Reply, prefix) && times != "1" {
			mu.Lock()
			if first.IsZero() {
				first = time.Now()
			}
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return first
	}
}
