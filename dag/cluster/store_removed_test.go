package cluster_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag/cluster"
)

// A coordinator's store forgets the values another process prunes, though it read and cached
// them: with credentials, the admin prunes and the client's store hears of it.
func TestStore_ForgetsWhatAnotherPrunes(t *testing.T) {
	tc := startAuthCluster(t, 0, cluster.ServerConfig{}, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	admin, err := cluster.Connect(ctx, tc.srv.URL(), cluster.Options{NkeyFile: cluster.KeyFile(tc.creds, cluster.RoleAdmin)})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	keys := []abi.Key{{0xcd, 1}, {0xcd, 2}}
	for i, k := range keys {
		admin.Store().Put(k, []byte{byte(i + 1)})
	}

	store := tc.conn.Store() // loads the keys the admin stored
	for i, k := range keys {
		if v, ok := store.Get(k); !ok || !bytes.Equal(v, []byte{byte(i + 1)}) {
			t.Fatalf("%s before the prune: %x, %v; want %x", k, v, ok, []byte{byte(i + 1)})
		}
	}
	if st, err := admin.Prune(ctx, cluster.PruneOptions{}); err != nil || st != (cluster.PruneStats{Results: 2}) {
		t.Fatalf("prune: %+v, %v; want 2 results removed", st, err)
	}
	for _, k := range keys {
		waitFor(t, "the client's store to forget "+k.String(), func() bool {
			_, ok := store.Get(k)
			return !ok
		})
	}
	// The pruning connection's own store forgot them before Prune returned.
	for _, k := range keys {
		if v, ok := admin.Store().Get(k); ok {
			t.Fatalf("the admin's store still has %s after its prune: %x", k, v)
		}
	}
}

// A coordinator's store forgets a value another coordinator deletes (dag.Engine.Forget), and
// finds a value another coordinator stored before it started.
func TestStore_ForgetsWhatAnotherDeletes(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	other, err := cluster.Connect(ctx, tc.srv.URL(), cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	k := abi.Key{0xce, 1}
	other.Store().Put(k, []byte{7})

	store := tc.conn.Store()
	if v, ok := store.Get(k); !ok || !bytes.Equal(v, []byte{7}) {
		t.Fatalf("%s stored by another coordinator: %x, %v; want 07", k, v, ok)
	}
	other.Store().Delete(k)
	waitFor(t, "the store to forget the deleted value", func() bool {
		_, ok := store.Get(k)
		return !ok
	})
}
