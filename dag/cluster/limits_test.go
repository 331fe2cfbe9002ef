package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"
)

// A cluster refuses the spawns an engine in process refuses, with the same message, whether
// the limit comes with the graph (the coordinator's) or from the worker.
func TestNestingLimitsMatchInProcess(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{})
	tc.startWorker(t, cluster.WorkerConfig{Slots: 2, ID: "w-free"})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	deep := dag.Spawn(tc.fn(t, seed, "deep"), 3)  // a chain: deep(3) spawns deep(2), which spawns deep(1)…
	driver := dag.Spawn(tc.fn(t, seed, "driver")) // spawns 10 calls

	for _, c := range []struct {
		name               string
		obj                *dag.Object
		maxDepth, maxTasks int
		want               string
	}{
		{"depth", deep, 2, 0, "spawn deep: limit exceeded: nesting depth 3 exceeds the limit of 2 (raise it with dag.Config.MaxDepth)"},
		{"tasks", driver, 0, 5, "spawn inc: limit exceeded: this execution already created 5 nested tasks, the limit (raise it with dag.Config.MaxTasks)"},
	} {
		local := dag.New(dag.Config{MaxDepth: c.maxDepth, MaxTasks: c.maxTasks})
		want := local.Execute(ctx, c.obj)
		if want == nil || !strings.HasSuffix(want.Error(), c.want) {
			t.Fatalf("%s in process: %v, want an error with %q", c.name, want, c.want)
		}
		tc.conn.Executor().SetNesting(c.maxDepth, c.maxTasks)
		got := tc.engine().Execute(ctx, c.obj)
		if got == nil || got.Error() != want.Error() {
			t.Fatalf("%s on the cluster:\n got %v\nwant %v", c.name, got, want)
		}
	}
	tc.conn.Executor().SetNesting(0, 0)

	// The same limits given to the worker instead.
	tc2 := startCluster(t, 0, 0, cluster.Options{})
	tc2.startWorker(t, cluster.WorkerConfig{Slots: 2, ID: "w-capped", MaxDepth: 2, MaxTasks: 5})
	// deep(3) nests past depth 2 after two spawns; driver spawns ten calls at depth 1.
	for _, obj := range []*dag.Object{dag.Spawn(tc2.fn(t, seed, "deep"), 3), dag.Spawn(tc2.fn(t, seed, "driver"))} {
		want := dag.New(dag.Config{MaxDepth: 2, MaxTasks: 5}).Execute(ctx, obj)
		if got := tc2.engine().Execute(ctx, obj); got == nil || want == nil || got.Error() != want.Error() {
			t.Fatalf("with the worker's limits:\n got %v\nwant %v", got, want)
		}
	}
}

// A worker's MaxTimeout interrupts a call that carries no deadline of its own, and says which
// limit did it.
func TestWorkerMaxTimeout(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{})
	tc.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w-timeout", MaxTimeout: 300 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	loop := dag.Spawn(tc.fn(t, fixtures, "loop"))
	err := tc.engine().Execute(ctx, loop)
	want := fmt.Sprintf("task loop (key %s, module fixtures): interrupted: context deadline exceeded: the worker's limit of 300ms per call (raise it with mrun worker --max-timeout)", loop.Key())
	if err == nil || err.Error() != want || !errors.Is(err, runtime.ErrInterrupted) {
		t.Fatalf("a loop on a worker with a 300ms limit:\n got %v\nwant %s", err, want)
	}
}

// A worker drops the calls of a coordinator whose heartbeat is gone: a running one is
// interrupted and its message terminated, a queued one never runs, and each says why.
func TestCoordinatorGone(t *testing.T) {
	t.Cleanup(cluster.SetCoordinatorCheck(200 * time.Millisecond))
	tc := startCluster(t, 0, 0, cluster.Options{})
	tc.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w-orphans"})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	// The module reaches the cluster with an honest call; the coordinator keeps a heartbeat.
	eng := tc.engine()
	if err := eng.Execute(ctx, dag.Spawn(tc.fn(t, fixtures, "const"))); err != nil {
		t.Fatal(err)
	}
	nc := tc.nc(t)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	coords, err := js.KeyValue(ctx, cluster.CoordinatorBucket)
	if err != nil {
		t.Fatal(err)
	}
	if keys, err := coords.Keys(ctx); err != nil || len(keys) != 1 { // the test's coordinator (the worker's has not run a nested call)
		t.Fatalf("coordinators with a heartbeat: %v, %v; want 1", keys, err)
	}

	// A coordinator, played by the test: a heartbeat, then a call of a loop.
	if _, err := coords.Put(ctx, "ghost", []byte("now")); err != nil {
		t.Fatal(err)
	}
	replies, err := nc.SubscribeSync("ghost.reply")
	if err != nil {
		t.Fatal(err)
	}
	publish := func(id string) {
		loop := tc.fn(t, fixtures, "loop")
		frame, err := abi.EncodeFrame(nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := abi.NewTemplate(frame)
		if err != nil {
			t.Fatal(err)
		}
		key := abi.TaskKey(loop.Module().Sum(), "loop", 1, tmpl)
		b, _ := msgpack.Marshal(map[string]any{"id": id, "key": key[:], "module": loop.Module().SumHex(), "modname": "fixtures",
			"fn": "loop", "n": 1, "frame": frame, "reply": "ghost.reply", "coord": "ghost"})
		if _, err := js.Publish(ctx, cluster.TaskSubject, b); err != nil {
			t.Fatal(err)
		}
	}
	reply := func() string {
		m, err := replies.NextMsg(testTimeout)
		if err != nil {
			t.Fatal(err)
		}
		var done struct {
			ID  string `msgpack:"id"`
			Err struct {
				Message string `msgpack:"msg"`
			} `msgpack:"err"`
		}
		_ = msgpack.Unmarshal(m.Data, &done)
		return done.ID + ": " + done.Err.Message
	}
	const why = "the call was dropped: its coordinator has written no heartbeat to mrun_coordinators for 30s: nobody waits for it, so the worker dropped it"
	publish("running")
	waitFor(t, "the loop to run", func() bool {
		ws, _ := tc.conn.Workers(ctx)
		return len(ws) == 1 && ws[0].Running == 1
	})
	if err := coords.Delete(ctx, "ghost"); err != nil { // as when its heartbeat expires
		t.Fatal(err)
	}
	if got := reply(); got != "running: "+why {
		t.Fatalf("the running call's end: %q", got)
	}
	publish("queued")
	if got := reply(); got != "queued: "+why {
		t.Fatalf("the queued call's end: %q", got)
	}
	waitFor(t, "the stream to be empty", func() bool { return tc.streamMsgs(t) == 0 })
	waitFor(t, "the worker's record to show the honest call done, and none running", func() bool {
		ws, _ := tc.conn.Workers(ctx)
		return len(ws) == 1 && ws[0].Done == 1 && ws[0].Running == 0 && ws[0].Failed == 0
	})
}

// A spawn bomb spread over the cluster's workers meets the task limit of its graph, as in
// process: the calls of one tree count on one budget, whichever worker runs them.
func TestSpawnBombBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("about 20 s: two workers, and a bomb in process and on the cluster")
	}
	tc := startCluster(t, 2, 4, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	bomb := dag.Spawn(tc.fn(t, seed, "bomb"), 2) // every call spawns two more, without end
	const limit = 20
	const want = "spawn bomb: limit exceeded: this execution already created 20 nested tasks, the limit (raise it with dag.Config.MaxTasks)"
	if err := dag.New(dag.Config{MaxTasks: limit}).Execute(ctx, bomb); err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("in process: %v, want an error ending %q", err, want)
	}
	tc.conn.Executor().SetNesting(0, limit)
	t0 := time.Now()
	if err := tc.engine().Execute(ctx, bomb); err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("on the cluster: %v, want an error ending %q", err, want)
	}
	t.Logf("the bomb failed on the cluster after %v", time.Since(t0))
	var calls uint64
	waitFor(t, "the workers to finish", func() bool {
		ws, _ := tc.conn.Workers(ctx)
		calls = 0
		running := 0
		for _, w := range ws {
			calls += w.Done + w.Failed
			running += w.Running
		}
		return len(ws) == 2 && running == 0 && calls > 0
	})
	if calls > limit+1 {
		t.Fatalf("the workers ran %d calls, more than the bomb and the %d tasks it may spawn", calls, limit)
	}
	t.Logf("%d calls ran on the cluster", calls)
}

// The task stream is bounded: a call published past Options.MaxQueued fails at once with the
// server's refusal, instead of the queue growing without end.
func TestQueueLimit(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{MaxQueued: 1})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	inc := tc.fn(t, seed, "inc")
	first, second := dag.Spawn(inc, 1), dag.Spawn(inc, 2)
	eng := tc.engine()
	errc := make(chan error, 1)
	go func() { errc <- eng.Execute(ctx, first) }()
	waitFor(t, "the first call to be queued", func() bool { return tc.streamMsgs(t) == 1 })
	err := eng.Execute(ctx, second)
	want := fmt.Sprintf("task inc (key %s, module seed): publish the call to MRUN_TASKS: the queue is full (maximum messages exceeded): let the workers catch up, or give the stream a larger cluster.Options.MaxQueued or MaxQueueBytes where it is created", second.Key())
	if err == nil || err.Error() != want {
		t.Fatalf("a call past the queue's limit:\n got %v\nwant %s", err, want)
	}
	tc.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w-queue"})
	if err := <-errc; err != nil {
		t.Fatalf("the queued call: %v", err)
	}
}
