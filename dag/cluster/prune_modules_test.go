package cluster_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
)

// Prune removes modules only when asked, and only while no call is queued or running; a
// coordinator that uploaded a module before it was pruned uploads it again for its next call.
func TestPruneModules(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	eng := tc.engine()
	inc := tc.fn(t, seed, "inc")
	first := dag.Spawn(inc, 1)
	errc := make(chan error, 1)
	go func() { errc <- eng.Execute(ctx, first) }()
	waitFor(t, "the call to be queued", func() bool { return tc.streamMsgs(t) == 1 })

	want := fmt.Sprintf("cluster: prune: 1 call(s) are queued or running, and modules stay while any is: prune modules when %s is empty, or without --modules", cluster.TaskStream)
	if _, err := tc.conn.Prune(ctx, cluster.PruneOptions{Modules: true}); err == nil || err.Error() != want {
		t.Fatalf("prune of modules with a call queued: %v\nwant %s", err, want)
	}
	stop := tc.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w-prune"})
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the stream to be empty", func() bool { return tc.streamMsgs(t) == 0 })

	size, err := os.Stat(seed)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tc.conn.Prune(ctx, cluster.PruneOptions{})
	if err != nil || st.Modules != 0 {
		t.Fatalf("prune without Modules: %+v, %v; want no module removed", st, err)
	}
	st, err = tc.conn.Prune(ctx, cluster.PruneOptions{Modules: true})
	if err != nil || st.Modules != 1 || st.ModuleBytes != uint64(size.Size()) {
		t.Fatalf("prune of modules: %+v, %v; want 1 module of %d bytes", st, err, size.Size())
	}
	// The coordinator still believes the module uploaded; a worker that has not loaded it
	// finds none, and the coordinator uploads it again and runs the call once more.
	stop()
	tc.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w-fresh"})
	next := dag.Spawn(inc, 10)
	if err := eng.Execute(ctx, next); err != nil {
		t.Fatalf("a call after the prune: %v", err)
	}
	// A worker acknowledges a call before it reports it done, and the server removes the
	// call from the queue once it has handled the acknowledgement: a moment later.
	waitFor(t, "the stream to be empty", func() bool { return tc.streamMsgs(t) == 0 })
	if st, err := tc.conn.Prune(ctx, cluster.PruneOptions{Modules: true, DryRun: true}); err != nil || st.Modules != 1 {
		t.Fatalf("after the calls: %+v, %v; want the module back", st, err)
	}
}
