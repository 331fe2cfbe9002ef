package runtime

import (
	"context"
	"path/filepath"
	"testing"
)

// An instance that was running a call when the module switched to compiled code is closed
// when the call returns it, not pooled again.
func TestTiered_BusyInstanceNotPooled(t *testing.T) {
	ctx := context.Background()
	rt, err := New(ctx, Config{})
	if err != nil {
		t.Fatal(err)
	}
	release := HoldCompiler(rt)
	defer rt.Close(ctx)
	m, err := rt.LoadFile(ctx, filepath.Join("..", "testdata", "wat", "fixtures.wasm"))
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	busy, err := m.pool.get(ctx)
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	close(release)
	if err := m.WaitCompiled(ctx); err != nil {
		t.Fatal(err)
	}
	m.pool.put(busy)
	if n := m.Idle(); n != 0 {
		t.Fatalf("%d idle instances, want 0: the interpreted one went back to the pool", n)
	}
	fresh, err := m.pool.get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m.pool.put(fresh)
	if n := m.Idle(); n != 1 {
		t.Fatalf("%d idle instances, want 1: the compiled one", n)
	}
}
