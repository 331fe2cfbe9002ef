package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/internal/nativetest"
)

// The tests' mrun has the native module mrun:demo built in.
func init() { nativeModules = append(nativeModules, nativetest.Module) }

const nativeGraph = `modules: {d: mrun:demo, deputy: ../../testdata/wat/deputy.wasm}
tasks:
  a: {call: d.add, args: [2, 3]}
  f: {call: d.fanout, args: [$a]}
  p: {call: d.pair, args: [$a], n_output: 2}
  r: {call: deputy.relay, args: ["mrun:demo", add, $p.1, 1]}
`

// A graph file names a native module by its name, "mrun:NAME", instead of a file; its guests
// spawn into it by that name. With one worker slot, the native fan-out's children still run.
func TestRun_Native(t *testing.T) {
	out, errOut, code := mrunStdin(t, nativeGraph, "run", "--workers", "1", "-")
	if want := `{"a":5,"f":15,"p":[5,6],"r":7}` + "\n"; out != want || errOut != "" || code != 0 {
		t.Fatalf("got stdout %q stderr %q exit %d, want %q", out, errOut, code, want)
	}
	// The result cache answers the same graph again from its plan key.
	if out2, _, code := mrunStdin(t, nativeGraph, "run", "-"); out2 != out || code != 0 {
		t.Fatalf("again: %q, exit %d", out2, code)
	}
}

func TestRun_NativeErrors(t *testing.T) {
	for _, tc := range []struct{ graph, want string }{
		{"modules: {d: mrun:nope}\ntasks:\n  a: {call: d.add}\n",
			"mrun: <stdin>:1:11: module \"d\": no native module mrun:nope is built into this mrun (it has mrun:demo, mrun:table, mrun:tensor)\n"},
		{"modules: {d: {path: mrun:demo, env: {A: b}, deterministic: true}}\ntasks:\n  a: {call: d.add}\n",
			"mrun: <stdin>:1:11: module \"d\": mrun:demo is a native module, built into mrun: it takes no env, deterministic\n"},
		{"modules: {d: mrun:demo}\ntasks:\n  a: {call: d.mul}\n",
			"mrun: <stdin>:3:13: task \"a\": module mrun:demo: unknown function \"mul\" (it has: add, block, fail, fanout, inc, malformed, pair, panic, relay, sum_all, tensor_sum)\n"},
	} {
		out, errOut, code := mrunStdin(t, tc.graph, "run", "-")
		if out != "" || errOut != tc.want || code != 2 {
			t.Errorf("got stdout %q stderr %q exit %d\nwant stderr %q exit 2", out, errOut, code, tc.want)
		}
	}
}

func TestInspect_Native(t *testing.T) {
	out, errOut, code := mrunStdin(t, "", "inspect", "mrun:demo")
	want := fmt.Sprintf(`module     mrun:demo (mrun:demo)
sha256     %x
native     version 1, built into this mrun
functions  11
  add
  block
  fail
  fanout
  inc
  malformed
  pair
  panic
  relay
  sum_all
  tensor_sum
imports    0
`, nativetest.Module().Sum())
	if out != want || errOut != "" || code != 0 {
		t.Errorf("got stdout %q stderr %q exit %d\nwant %q", out, errOut, code, want)
	}
}

// An mrun worker has the native modules built in: a graph of native calls runs on the
// cluster without uploading a module for them.
func TestRun_NativeCluster(t *testing.T) {
	srv, err := cluster.StartServer(cluster.ServerConfig{Host: "127.0.0.1", Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var werr syncBuffer
	wg.Go(func() {
		run(wctx, []string{"--cache-dir", sharedCache(t), "worker", "--cluster", srv.URL(), "--slots", "1", "--quiet"}, streams{Out: &werr, Err: &werr})
	})
	defer func() {
		stop()
		wg.Wait()
		if t.Failed() {
			t.Logf("worker:\n%s", werr.String())
		}
	}()
	graph := "modules: {d: mrun:demo}\ntasks:\n  a: {call: d.add, args: [2, 3]}\n  f: {call: d.fanout, args: [$a]}\n"
	out, errOut, code := mrunStdin(t, graph, "run", "--cluster", srv.URL(), "-")
	if want := `{"a":5,"f":15}` + "\n"; out != want || code != 0 {
		t.Fatalf("got stdout %q stderr %q exit %d, want %q", out, errOut, code, want)
	}
}
