package cluster_test

import (
	"context"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
)

// A call whose children have finished takes its slot back at once, even when the worker has
// asked the server for a call on that slot meanwhile: a chain of nested calls on a worker with
// a single slot costs a few round trips per level, not the wait of a pull request.
func TestNestedChainResumesAtOnce(t *testing.T) {
	tc := startCluster(t, 1, 1, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	eng := tc.engine()
	relay := tc.fn(t, seed, "relay")
	// relay("", "relay", "", "relay", …, "inc", x): each level spawns the next and waits on it.
	chain := func(levels, x int) *dag.Object {
		args := []any{}
		for range levels - 1 {
			args = append(args, "", "relay")
		}
		args = append(args, "", "inc", x)
		return dag.Spawn(relay, args...)
	}
	// The worker loads the module and starts its nested engine before the clock starts.
	warm := chain(1, 1)
	if err := eng.Execute(ctx, warm); err != nil {
		t.Fatal(err)
	}

	const levels = 5
	obj := chain(levels, 41)
	start := time.Now()
	if err := eng.Execute(ctx, obj); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	got, err := eng.FetchAll(ctx, obj)
	if err != nil || len(got) != 1 || got[0] != int64(42) {
		t.Fatalf("%d levels of relay around inc(41) = %v, %v; want 42", levels, got, err)
	}
	// Waiting for a pull request to expire cost a second per level.
	if bound := time.Duration(float64(levels) * 0.5 * float64(time.Second) * raceSlowdown); elapsed > bound {
		t.Fatalf("%d nested levels took %v on one slot, more than %v", levels, elapsed.Round(time.Millisecond), bound)
	}
}
