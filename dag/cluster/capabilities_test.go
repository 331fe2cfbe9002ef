package cluster_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/runtime"
)

// A module loaded with capabilities is refused by the cluster executor before anything is
// published: its workers would run the calls without the environment and mounts.
func TestExecutor_RefusesCapabilities(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{})
	b, err := os.ReadFile(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tc.rt.LoadWith(context.Background(), "withenv", b, runtime.ModuleConfig{Env: map[string]string{"TOKEN": "secret"}, Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Func("echo")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	err = tc.engine().Execute(ctx, dag.Spawn(f, 1))
	const want = "module withenv was loaded with ModuleConfig.Env, Deterministic: cluster workers load modules without capabilities or limits of their own and would run its calls without them; run them in process"
	if !errors.Is(err, dag.ErrSpawn) || err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Execute = %v, want dag.ErrSpawn with %q", err, want)
	}
}
