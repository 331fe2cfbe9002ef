package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// An outage longer than CoordinatorTTL lets the coordinator's heartbeat expire while calls
// wait in the queue. When the server comes back with its data, the coordinator must write its
// heartbeat again before a worker takes its calls, or the worker drops them as a gone
// coordinator's and the graph fails. The test stages the expiry without waiting 30 s: it
// deletes the heartbeat just before the server goes down, as the bucket's TTL would during
// the outage, then brings the server back and starts a worker half a second after the
// coordinator says it is back.
func TestServerOutage_HeartbeatExpired(t *testing.T) {
	oc := newOutageCluster(t, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	q := queueUnheard(t, ctx, oc, 100)
	// The heartbeat expires during the outage: it is gone, now take the server down.
	oc.srv.Shutdown()
	oc.srv = nil
	oc.waitLine("waiting for the cluster server at ")
	oc.restart(true)
	oc.waitLine("the cluster server at " + oc.url + " is back (down ")
	time.Sleep(500 * time.Millisecond)
	oc.startWorker()
	q.check(t, ctx, "after an outage that outlived the coordinator's heartbeat")
	for _, l := range oc.logLines() {
		if strings.Contains(l, "dropped") {
			t.Errorf("the coordinator logged %q", l)
		}
	}
}

// A coordinator cut off from the server for longer than CoordinatorTTL, while the workers
// are not, finds its calls dropped by workers that took it for gone. It is not: it writes its
// heartbeat again and sends the calls again, and the graph completes. The test stages the
// expiry by deleting the heartbeat while the calls wait in the queue.
func TestDroppedCallsSentAgain(t *testing.T) {
	oc := newOutageCluster(t, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	q := queueUnheard(t, ctx, oc, 200)
	oc.startWorker()
	q.check(t, ctx, "after workers dropped the calls of a coordinator they took for gone")
	if _, err := q.kv.Get(ctx, q.keys[0]); err != nil {
		t.Fatalf("the coordinator's heartbeat after its calls came back dropped: %v", err)
	}
}

// unheard is ten calls inc(from) … inc(from+9) waiting in the queue of a coordinator whose
// heartbeat is gone.
type unheard struct {
	from int
	eng  *dag.Engine
	objs []*dag.Object
	done chan error
	kv   jetstream.KeyValue
	keys []string // the coordinators' heartbeats deleted
}

// queueUnheard runs a call on oc so that the coordinator's heartbeat is written, stops the
// worker, queues ten calls, and deletes every coordinator's heartbeat, as the bucket's TTL
// would after CoordinatorTTL without one.
func queueUnheard(t *testing.T, ctx context.Context, oc *outageCluster, from int) *unheard {
	t.Helper()
	m, err := oc.rt.LoadFile(ctx, "../../testdata/c/conformance.wasm")
	if err != nil {
		t.Fatal(err)
	}
	inc, _ := m.Func("inc")
	q := &unheard{from: from, done: make(chan error, 1), objs: make([]*dag.Object, 10)}
	q.eng = dag.New(dag.Config{Slots: 64, Executor: oc.conn.Executor(), Store: oc.conn.Store()})
	if err := q.eng.Execute(ctx, dag.Spawn(inc, 0)); err != nil { // the coordinator's heartbeat is written
		t.Fatal(err)
	}
	oc.stopWorker()
	for i := range q.objs {
		q.objs[i] = dag.Spawn(inc, from+i)
	}
	go func() { q.done <- q.eng.Execute(ctx, q.objs...) }()
	oc.queued(uint64(len(q.objs)))

	nc, err := nats.Connect(oc.url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	if q.kv, err = js.KeyValue(ctx, cluster.CoordinatorBucket); err != nil {
		t.Fatal(err)
	}
	q.keys, err = q.kv.Keys(ctx)
	if err != nil || len(q.keys) == 0 {
		t.Fatalf("coordinators' heartbeats: %q, %v; want some", q.keys, err)
	}
	for _, k := range q.keys {
		if err := q.kv.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	return q
}

// check waits for the calls and checks their values; when the execution fails, the test
// fails with what, the circumstances.
func (q *unheard) check(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	if err := <-q.done; err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	got, err := q.eng.FetchAll(ctx, q.objs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != int64(q.from+i+1) {
			t.Errorf("inc(%d) = %v, want %d", q.from+i, v, q.from+i+1)
		}
	}
}
