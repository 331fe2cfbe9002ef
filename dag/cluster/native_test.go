package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/internal/nativetest"
	"github.com/mrun-dev/mrun/runtime"
)

// nativeRuntime starts a runtime with mrun:demo at version (none when version is empty).
func nativeRuntime(t *testing.T, version string) *runtime.Runtime {
	t.Helper()
	rt, err := runtime.New(context.Background(), runtime.Config{CacheDir: cache})
	if err != nil {
		t.Fatal(err)
	}
	if version != "" {
		m := nativetest.Module()
		m.Version = version
		if _, err := rt.LoadNative(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	return rt
}

func demoFn(t *testing.T, rt *runtime.Runtime, name string) *runtime.Function {
	t.Helper()
	m, err := rt.LoadNative(context.Background(), nativetest.Module())
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Func(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestNative_Cluster: the calls of a native module run on workers that have it built in; no
// bytes are uploaded for it. A native function's nested spawns run on the cluster too, on a
// worker of one slot (the slot is free while it waits), and a guest on a worker spawns into
// a native module by name as in process: every worker has it.
func TestNative_Cluster(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{})
	// One worker of one slot: fanout's children run there while fanout waits.
	tc.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w0", Runtime: nativeRuntime(t, nativetest.Version)})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	eng := tc.engine()
	add := demoFn(t, tc.rt, "add")
	objs := []*dag.Object{dag.Spawn(add, 2, 3), dag.Spawn(demoFn(t, tc.rt, "fanout"), 10)}
	objs = append(objs, dag.SpawnN(demoFn(t, tc.rt, "pair"), 2, 7)...)
	objs = append(objs, dag.Spawn(add, objs[0], objs[1]))
	if err := eng.Execute(ctx, objs...); err != nil {
		t.Fatal(err)
	}
	got, err := eng.FetchAll(ctx, objs...)
	if want := []any{int64(5), int64(55), int64(7), int64(8), int64(60)}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
	waitFor(t, "the stream to be empty", func() bool { return tc.streamMsgs(t) == 0 })
	if st, err := tc.conn.Prune(ctx, cluster.PruneOptions{Modules: true, DryRun: true}); err != nil || st.Modules != 0 {
		t.Fatalf("modules in %s after native calls: %+v, %v; want none", cluster.ModuleStore, st, err)
	}

	deputy := tc.fn(t, "../../testdata/wat/deputy.wasm", "relay")
	objs = []*dag.Object{
		dag.Spawn(deputy, "mrun:demo", "fanout", 4),
		dag.Spawn(demoFn(t, tc.rt, "relay"), "mrun:demo", "add", 1, 1),
	}
	if err := eng.Execute(ctx, objs...); err != nil {
		t.Fatal(err)
	}
	got, err = eng.FetchAll(ctx, objs...)
	if want := []any{int64(10), int64(2)}; err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, %v; want %v", got, err, want)
	}
}

// TestNative_ClusterWorkerLacksModule: a worker without the native module, or with another
// version of it, fails the call with an error that names the module and the version.
func TestNative_ClusterWorkerLacksModule(t *testing.T) {
	sum := nativetest.Module().Sum()
	for _, tc := range []struct {
		version string // the worker's
		want    string
	}{
		{"", fmt.Sprintf("add (module mrun:demo): worker could not run the call: worker w-old has no native module mrun:demo version 1 (SHA-256 %x): its mrun binary does not have it built in; run workers of the coordinator's mrun version", sum)},
		{"2", fmt.Sprintf("add (module mrun:demo): worker could not run the call: worker w-old has native module mrun:demo version 2, not version 1 (SHA-256 %x) that the call needs: run workers of the coordinator's mrun version", sum)},
	} {
		c := startCluster(t, 0, 0, cluster.Options{})
		c.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w-old", Runtime: nativeRuntime(t, tc.version)})
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		err := c.engine().Execute(ctx, dag.Spawn(demoFn(t, c.rt, "add"), 1, 2))
		cancel()
		var ce *runtime.CallError
		if !errors.As(err, &ce) || ce.Error() != tc.want {
			t.Errorf("worker with version %q: %v\nwant %s", tc.version, err, tc.want)
		}
	}
}
