package cluster_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
)

// eventCounts counts events by kind and nesting depth, and remembers which had no parent.
type eventCounts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *eventCounts) record(ev dag.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	name := map[dag.EventKind]string{dag.EventStart: "start", dag.EventFinish: "finish", dag.EventFail: "fail",
		dag.EventSkip: "skip", dag.EventRetry: "retry", dag.EventCached: "cached", dag.EventStored: "stored"}[ev.Kind]
	k := fmt.Sprintf("%s@%d", name, ev.Depth)
	if ev.Depth > 0 && ev.Parent.IsZero() {
		k += " without a parent"
	}
	c.n[k]++
	if ev.Kind == dag.EventFail {
		c.n[k+": "+ev.Func.Name()+": "+ev.Err.Error()]++
	}
}

func (c *eventCounts) get() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// The calls a guest spawns on the workers reach the coordinator's events as they do in
// process: the same starts, finishes and failures at each depth, and the same errors.
func TestNestedEventsMatchInProcess(t *testing.T) {
	tc := startCluster(t, 1, 2, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for _, c := range []struct {
		name string
		obj  *dag.Object
	}{
		{"driver", dag.Spawn(tc.fn(t, seed, "driver"))},
		{"parent_fail", dag.Spawn(tc.fn(t, seed, "parent_fail"), "disk on fire")},
	} {
		var local, remote eventCounts
		wantErr := dag.New(dag.Config{Events: local.record}).Execute(ctx, c.obj)
		tc.conn.Executor().SetEvents(remote.record)
		eng := dag.New(dag.Config{Slots: 256, Executor: tc.conn.Executor(), Store: tc.conn.Store(), Events: remote.record})
		gotErr := eng.Execute(ctx, c.obj)
		tc.conn.Executor().SetEvents(nil)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%s: on the cluster %v, in process %v", c.name, gotErr, wantErr)
		}
		if !reflect.DeepEqual(remote.get(), local.get()) {
			t.Errorf("%s: events on the cluster:\n %v\nin process:\n %v", c.name, remote.get(), local.get())
		}
	}
}

// A worker counts a call as running while it runs its guest and holds a slot, and as storing
// while it stores its outputs: a call waiting on its children counts as neither, so RUNNING
// never exceeds SLOTS.
func TestWorkerReportsRunningAndStoring(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	release := make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) })
	defer cluster.SetBeforeStore(func() { <-release })() // the children store when the test says so
	tc.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w-one"})
	done := make(chan error, 1)
	go func() { done <- tc.engine().Execute(ctx, dag.Spawn(tc.fn(t, seed, "driver"))) }()
	var seen cluster.WorkerInfo
	waitFor(t, "a heartbeat with a call storing", func() bool {
		ws, err := tc.conn.Workers(ctx)
		if err != nil || len(ws) != 1 {
			return false
		}
		seen = ws[0]
		return seen.Storing > 0
	})
	// driver waits on its children without its slot; the children have returned and store.
	if seen.Running != 0 || seen.Slots != 1 {
		t.Fatalf("heartbeat: %d running, %d storing on %d slot(s), want none running on 1", seen.Running, seen.Storing, seen.Slots)
	}
	once.Do(func() { close(release) })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A coordinator whose calls wait with no worker connected says so once, with the command
// that starts one, and says when one connects.
func TestNoWorkerNotice(t *testing.T) {
	defer cluster.SetNoWorkerWait(300 * time.Millisecond)()
	var mu sync.Mutex
	var lines []string
	logf := func(format string, args ...any) {
		mu.Lock()
		lines = append(lines, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	logged := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), lines...)
	}
	tc := startCluster(t, 0, 0, cluster.Options{Logf: logf})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	done := make(chan error, 1)
	inc := tc.fn(t, seed, "inc")
	go func() { done <- tc.engine().Execute(ctx, dag.Spawn(inc, 1), dag.Spawn(inc, 2)) }()
	url := tc.srv.URL()
	want := fmt.Sprintf("no worker has been connected to the cluster at %s for 300ms while 2 calls waited: start one with mrun worker --cluster %s", url, url)
	waitFor(t, "the notice", func() bool { return len(logged()) > 0 })
	time.Sleep(time.Second) // said once, however long the calls wait
	if got := logged(); len(got) != 1 || got[0] != want {
		t.Fatalf("logged %q, want only %q", got, want)
	}
	tc.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w-late"})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := logged()
	if len(got) != 2 || !strings.HasPrefix(got[1], "1 worker connected to the cluster at "+url) {
		t.Fatalf("logged %q, want the notice and then that 1 worker connected", got)
	}
}

// FuzzEventMsg feeds a coordinator's decoder of nested calls' events bytes anyone who may
// publish to its subject could send: it never panics, and passes on only events with full
// keys, a nested depth and a known kind.
func FuzzEventMsg(f *testing.F) {
	sum := strings.Repeat("ab", 32)
	f.Add(cluster.EncodeEvent(dag.EventFail, abi.Key{1}, abi.Key{2}, 1, sum, "fail", "disk on fire"))
	f.Add(cluster.EncodeEvent(dag.EventStart, abi.Key{1}, abi.Key{2}, 3, sum, "inc", ""))
	f.Add(cluster.EncodeEvent(dag.EventStart, abi.Key{1}, abi.Key{2}, 0, sum, "inc", ""))
	f.Add(cluster.EncodeEvent(99, abi.Key{1}, abi.Key{2}, 1, "nothex", "", ""))
	f.Add([]byte{0x81, 0xa2, 'e', 'v', 0xc6, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := cluster.DecodeEvent(b, nil)
		if err != nil || ev == nil {
			return
		}
		if ev.Depth < 1 || ev.Kind < dag.EventStart || ev.Kind > dag.EventStored {
			t.Fatalf("passed on %+v", ev)
		}
	})
}

// On the cluster as in process, every call a guest spawns is reported once, also the calls
// of other drivers that ran meanwhile: fanout(0) … fanout(11) make 78 spawns.
func TestNestedSharedCallsCountedOnce(t *testing.T) {
	tc := startCluster(t, 1, 2, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	fanout := tc.fn(t, seed, "fanout")
	objs := make([]*dag.Object, 12)
	for i := range objs {
		objs[i] = dag.Spawn(fanout, i)
	}
	var remote eventCounts
	tc.conn.Executor().SetEvents(remote.record)
	defer tc.conn.Executor().SetEvents(nil)
	eng := dag.New(dag.Config{Slots: 256, Executor: tc.conn.Executor(), Store: tc.conn.Store(), Events: remote.record})
	if err := eng.Execute(ctx, objs...); err != nil {
		t.Fatal(err)
	}
	got := remote.get()
	if n := got["start@1"] + got["stored@1"]; n != 78 || got["finish@1"] != got["start@1"] {
		t.Fatalf("nested calls reported: %v; want 78 started or stored, each start finished", got)
	}
}
