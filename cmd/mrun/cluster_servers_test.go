package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestClusterThreeServerURLs runs three `mrun cluster up` processes joined as one cluster
// with three replicas, as docs/distributed.md deploys them on three machines, and gives the
// worker and `mrun call` the three client URLs separated by commas: a call runs, and runs
// again after the first server of the list is SIGKILLed, once the two left have elected
// leaders for what it led (the test logs when), the worker and the new command connecting
// to those two. The second call starts at once after the kill: its first JetStream requests
// go out while no leader answers them, and are asked again (the test logs when it ended). It
// takes half a minute, so it runs only with MRUN_LONG_TESTS=1.
func TestClusterThreeServerURLs(t *testing.T) {
	if testing.Short() || !longTests() {
		t.Skip("half a minute long: set MRUN_LONG_TESTS=1 to run it")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pc := newProcEnv(t, ctx)
	routes := make([]string, 3)
	for i := range routes { // every member's route address is known up front
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes[i] = l.Addr().String()
		l.Close()
	}
	all := "nats://" + strings.Join(routes, ",nats://")
	ups := make([]*upProc, 3)
	urls := make([]string, 3)
	for i := range ups {
		ups[i] = startUp(t, ctx, pc, -1, t.TempDir(), t.TempDir(), "--name", fmt.Sprint("s", i+1),
			"--cluster-listen", routes[i], "--routes", all, "--replicas", "3")
		urls[i] = ups[i].url
	}
	for _, up := range ups {
		waitFor(t, ctx, "the streams and buckets with 3 replicas", func() bool {
			return strings.Contains(up.log.String(), "mrun cluster up: streams and buckets ready, with 3 replicas\n")
		})
	}
	list := strings.Join(urls, ",")
	conn := connectTest(t, ctx, list)
	workers := startWorkers(t, ctx, pc, func(string) string { return list }, "w1")
	waitWorkers(t, ctx, conn, "w1")
	call := func(arg, want string) {
		t.Helper()
		start := time.Now()
		out, err := pc.mrun(ctx, "call", "--cluster", list, "testdata/c/conformance.wasm", "inc", arg).CombinedOutput()
		if err != nil || string(out) != want {
			t.Fatalf("mrun call --cluster %s … inc %s: %v: %q, want %q", list, arg, err, out, want)
		}
		t.Logf("mrun call --cluster URL1,URL2,URL3 … inc %s: %q in %v", arg, out, time.Since(start).Round(time.Millisecond))
	}
	call("41", "42\n")
	ups[0].kill()
	killed := time.Now()
	call("42", "43\n")
	t.Logf("mrun call started at once after the kill ended %v after it", time.Since(killed).Round(time.Millisecond))
	stopWorker(t, workers["w1"])
}
