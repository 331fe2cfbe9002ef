package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag/cluster"
)

// Prune removes results stored before its cutoff, large values with them, and a coordinator's
// store stops reporting them; a dry run only counts.
func TestPrune(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{InlineMax: 1 << 10})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	store := tc.conn.Store()
	keys := make([]abi.Key, 5)
	for i := range keys {
		keys[i][0], keys[i][1] = 0xab, byte(i)
		v := []byte{byte(i)} // a positive fixint
		if i == 0 {
			v = append([]byte{0xc5, 0x08, 0x00}, strings.Repeat("x", 2048)...) // bin16 of 2 KiB: over InlineMax
		}
		store.Put(keys[i], v)
	}

	st, err := tc.conn.Prune(ctx, cluster.PruneOptions{OlderThan: time.Hour})
	if err != nil || st != (cluster.PruneStats{KeptResults: 5}) {
		t.Fatalf("prune older than an hour: %+v, %v; want 5 kept, nothing removed", st, err)
	}
	want := cluster.PruneStats{Results: 5, Values: 1, ValueBytes: 2051}
	if st, err = tc.conn.Prune(ctx, cluster.PruneOptions{DryRun: true}); err != nil || st != want {
		t.Fatalf("dry run: %+v, %v; want %+v", st, err, want)
	}
	for _, k := range keys {
		if _, ok := store.Get(k); !ok {
			t.Fatalf("%s is gone after a dry run", k)
		}
	}
	if st, err = tc.conn.Prune(ctx, cluster.PruneOptions{}); err != nil || st != want {
		t.Fatalf("prune: %+v, %v; want %+v", st, err, want)
	}
	// A fresh store (a new coordinator) and the watching one both see them gone.
	fresh, err := cluster.Connect(ctx, tc.srv.URL(), cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	waitFor(t, "the watching store to see the purges", func() bool {
		_, ok := store.Get(keys[4])
		return !ok
	})
	for _, k := range keys {
		if _, ok := fresh.Store().Get(k); ok {
			t.Fatalf("%s is still stored after the prune", k)
		}
	}
	if st, err = tc.conn.Prune(ctx, cluster.PruneOptions{}); err != nil || st != (cluster.PruneStats{}) {
		t.Fatalf("a second prune: %+v, %v; want nothing", st, err)
	}
	if _, err := tc.conn.Prune(ctx, cluster.PruneOptions{OlderThan: -time.Second}); err == nil || err.Error() != "cluster: prune: negative age -1s" {
		t.Fatalf("negative age: %v", err)
	}
}
