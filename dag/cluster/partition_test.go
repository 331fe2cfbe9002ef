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
// TestClusterServerRestart/with-data-120s in cmd/mrun is the same with a real 120 s outage.
func TestServerOutage_HeartbeatExpired(t *testing.T) {
	oc := newOutageCluster(t, time.Minute)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	m, err := oc.rt.LoadFile(ctx, "../../testdata/c/conformance.wasm")
	if err != nil {
		t.Fatal(err)
	}
	inc, _ := m.Func("inc")
	eng := dag.New(dag.Config{Slots: 64, Executor: oc.conn.Executor(), Store: oc.conn.Store()})
	if err := eng.Execute(ctx, dag.Spawn(inc, 0)); err != nil { // the coordinator's heartbeat is written
		t.Fatal(err)
	}
	oc.stopWorker()
	objs := make([]*dag.Object, 10)
	for i := range objs {
		objs[i] = dag.Spawn(inc, 100+i)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Execute(ctx, objs...) }()
	oc.queued(10)

	// The heartbeat expires during the outage: delete it, then take the server down.
	nc, err := nats.Connect(oc.url)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(ctx, cluster.CoordinatorBucket)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.Keys(ctx)
	if err != nil || len(keys) == 0 {
		t.Fatalf("coordinators' heartbeats: %q, %v; want some", keys, err)
	}
	for _, k := range keys {
		if err := kv.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	nc.Close()
	oc.srv.Shutdown()
	oc.srv = nil
	oc.waitLine("waiting for the cluster server at ")
	oc.restart(true)
	oc.waitLine("the cluster server at " + oc.url + " is back (down ")
	time.Sleep(500 * time.Millisecond)
	oc.startWorker()
	if err := <-done; err != nil {
		t.Fatalf("after an outage that outlived the coordinator's heartbeat: %v", err)
	}
	got, err := eng.FetchAll(ctx, objs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != int64(101+i) {
			t.Errorf("inc(%d) = %v, want %d", 100+i, v, 101+i)
		}
	}
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
	m, err := oc.rt.LoadFile(ctx, "../../testdata/c/conformance.wasm")
	if err != nil {
		t.Fatal(err)
	}
	inc, _ := m.Func("inc")
	eng := dag.New(dag.Config{Slots: 64, Executor: oc.conn.Executor(), Store: oc.conn.Store()})
	if err := eng.Execute(ctx, dag.Spawn(inc, 0)); err != nil { // the coordinator's heartbeat is written
		t.Fatal(err)
	}
	oc.stopWorker()
	objs := make([]*dag.Object, 10)
	for i := range objs {
		objs[i] = dag.Spawn(inc, 200+i)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Execute(ctx, objs...) }()
	oc.queued(10)

	nc, err := nats.Connect(oc.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	kv, err := js.KeyValue(ctx, cluster.CoordinatorBucket)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := kv.Keys(ctx)
	if err != nil || len(keys) == 0 {
		t.Fatalf("coordinators' heartbeats: %q, %v; want some", keys, err)
	}
	for _, k := range keys {
		if err := kv.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	oc.startWorker()
	if err := <-done; err != nil {
		t.Fatalf("after workers dropped the calls of a coordinator they took for gone: %v", err)
	}
	got, err := eng.FetchAll(ctx, objs...)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != int64(201+i) {
			t.Fatalf("inc(%d) = %v, want %d", 200+i, v, 201+i)
		}
	}
	if _, err := kv.Get(ctx, keys[0]); err != nil {
		t.Fatalf("the coordinator's heartbeat after its calls came back dropped: %v", err)
	}
}
