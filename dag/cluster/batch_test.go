package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/nats-io/nats.go/jetstream"
)

const conformance = "../../testdata/c/conformance.wasm"

// taskAppends returns how many messages were ever appended to TaskStream.
func taskAppends(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), cluster.TaskStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.LastSeq
}

// takeMessages fetches the messages of the task queue for up to limit, as a worker that
// never acknowledges them does, handing each to f, until f has said true for one (it was a
// batch). It fails the test when none was.
func takeMessages(t *testing.T, ctx context.Context, js jetstream.JetStream, limit time.Duration, f func(m jetstream.Msg, batch bool) bool) {
	t.Helper()
	cons, err := js.Consumer(ctx, cluster.TaskStream, cluster.WorkerGroup)
	if err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(limit); time.Now().Before(end); {
		b, err := cons.Fetch(10, jetstream.FetchMaxWait(100*time.Millisecond))
		if err != nil {
			continue
		}
		seen := false
		for m := range b.Messages() {
			d := m.Data()
			seen = f(m, len(d) > 0 && (d[0]&0xf0 == 0x90 || d[0] == 0xdc)) || seen
		}
		if seen {
			return
		}
	}
	t.Fatal("no batch of calls was published")
}

// lateWorker starts a worker on tc's connection, and returns the function that stops it.
func lateWorker(t *testing.T, ctx context.Context, tc *testCluster, slots int) (stop func()) {
	wctx, cancel := context.WithCancel(ctx)
	wdone := make(chan error, 1)
	go func() {
		wdone <- tc.conn.RunWorker(wctx, cluster.WorkerConfig{Runtime: tc.rt, Slots: slots, ID: "late"})
	}()
	return func() {
		cancel()
		if err := <-wdone; err != nil {
			t.Error(err)
		}
	}
}

// queueEmpty reports whether the task queue holds no message.
func queueEmpty(js jetstream.JetStream) bool {
	s, err := js.Stream(context.Background(), cluster.TaskStream)
	if err != nil {
		return false
	}
	info, err := s.Info(context.Background())
	return err == nil && info.State.Msgs == 0
}

// The calls of a quick function share messages, and each gives exactly its own value and
// error, as in process.
func TestBatchesOnCluster(t *testing.T) {
	tc := startCluster(t, 1, 2, cluster.Options{})
	eng := tc.engine()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	js, err := jetstream.New(tc.nc(t))
	if err != nil {
		t.Fatal(err)
	}
	inc, sumAll, fail := tc.fn(t, conformance, "inc"), tc.fn(t, conformance, "sum_all"), tc.fn(t, conformance, "fail")
	cluster.LearnQuick(tc.conn.Executor(), inc)
	cluster.LearnQuick(tc.conn.Executor(), fail)

	before := taskAppends(t, js)
	incs := make(dag.Tuple, 500)
	for i := range incs {
		incs[i] = dag.Spawn(inc, i)
	}
	total := dag.Spawn(sumAll, incs)
	if err := eng.Execute(ctx, total); err != nil {
		t.Fatal(err)
	}
	var got int64
	if err := eng.Fetch(ctx, total, &got); err != nil {
		t.Fatal(err)
	}
	if got != 500*501/2 {
		t.Fatalf("sum_all of 500 incs = %v, want %d", got, 500*501/2)
	}
	if n := taskAppends(t, js) - before; n > 100 {
		t.Fatalf("501 calls took %d messages of %s: the incs were not batched", n, cluster.TaskStream)
	}

	local := dag.New(dag.Config{})
	fails := make(dag.Tuple, 20)
	for i := range fails {
		fails[i] = dag.Spawn(fail, fmt.Sprint("disk ", i, " on fire"))
	}
	errs := make(chan error, len(fails))
	for _, o := range fails {
		go func() { errs <- eng.Execute(ctx, o) }()
	}
	want := map[string]bool{}
	for _, o := range fails {
		want[local.Execute(ctx, o).Error()] = true
	}
	for range fails {
		err := <-errs
		if err == nil || !want[err.Error()] {
			t.Fatalf("a batched failing call on the cluster: %v\nin process, one of: %v", err, want)
		}
		delete(want, err.Error())
	}
}

// A batch whose worker dies (it took the message and never acknowledged it) is delivered
// again, and every call in it gives its value.
func TestBatchOfDeadWorker(t *testing.T) {
	tc := startCluster(t, 0, 1, cluster.Options{AckWait: 300 * time.Millisecond})
	eng := tc.engine()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	inc, sumAll := tc.fn(t, conformance, "inc"), tc.fn(t, conformance, "sum_all")
	cluster.LearnQuick(tc.conn.Executor(), inc)
	incs := make(dag.Tuple, 40)
	for i := range incs {
		incs[i] = dag.Spawn(inc, 100+i)
	}
	total := dag.Spawn(sumAll, incs)
	done := make(chan error, 1)
	go func() { done <- eng.Execute(ctx, total) }()

	// The dying worker: it takes every message it sees, and never acknowledges.
	js, err := jetstream.New(tc.nc(t))
	if err != nil {
		t.Fatal(err)
	}
	takeMessages(t, ctx, js, time.Second, func(_ jetstream.Msg, batch bool) bool { return batch })
	defer lateWorker(t, ctx, tc, 1)()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got int64
	if err := eng.Fetch(ctx, total, &got); err != nil {
		t.Fatal(err)
	}
	if want := int64(40*100 + 40*41/2); got != want {
		t.Fatalf("sum_all = %v, want %d", got, want)
	}
}

// Batched calls cancelled before they start leave the queue, and do not run.
func TestCancelBatchedCalls(t *testing.T) {
	tc := startCluster(t, 1, 1, cluster.Options{})
	eng := tc.engine()
	js, err := jetstream.New(tc.nc(t))
	if err != nil {
		t.Fatal(err)
	}
	loop := dag.Spawn(tc.fn(t, fixtures, "loop")) // holds the worker's only slot
	inc := tc.fn(t, conformance, "inc")
	cluster.LearnQuick(tc.conn.Executor(), inc)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 21)
	go func() { errc <- eng.Execute(ctx, loop) }()
	waitFor(t, "the loop to start on the worker", func() bool {
		ws, _ := tc.conn.Workers(context.Background())
		return len(ws) == 1 && ws[0].Running == 1
	})
	incs := make(dag.Tuple, 20)
	for i := range incs {
		incs[i] = dag.Spawn(inc, 1000+i)
		go func() { errc <- eng.Execute(ctx, incs[i]) }()
	}
	waitFor(t, "the calls to be queued", func() bool {
		s, err := js.Stream(context.Background(), cluster.TaskStream)
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		return err == nil && info.State.Msgs >= 2
	})
	cancel()
	for range 21 {
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled execution: %v", err)
		}
	}
	waitFor(t, "the stream to be empty", func() bool { return queueEmpty(js) })
	// The worker is free again, and none of the cancelled calls ran.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if err := eng.Execute(ctx2, dag.Spawn(inc, 41)); err != nil {
		t.Fatalf("the next call on the worker's only slot: %v", err)
	}
	kv, err := js.KeyValue(ctx2, cluster.ResultBucket)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range incs {
		if _, err := kv.Get(ctx2, o.TaskKey().String()); !errors.Is(err, jetstream.ErrKeyNotFound) {
			t.Fatalf("the value of a cancelled call: %v, want none", err)
		}
	}
}

// Every call of a batch that JetStream gave up on fails with the reason.
func TestMaxDeliveriesBatch(t *testing.T) {
	tc := startCluster(t, 0, 1, cluster.Options{AckWait: 300 * time.Millisecond, MaxDeliver: 2})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	js, err := jetstream.New(tc.nc(t))
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, cluster.TaskStream, cluster.WorkerGroup)
	if err != nil {
		t.Fatal(err)
	}
	var taker sync.WaitGroup
	taker.Go(func() {
		for ctx.Err() == nil {
			b, err := cons.Fetch(10, jetstream.FetchMaxWait(100*time.Millisecond))
			if err == nil {
				for range b.Messages() {
				}
			}
		}
	})
	defer taker.Wait()
	defer cancel()
	inc := tc.fn(t, conformance, "inc")
	cluster.LearnQuick(tc.conn.Executor(), inc)
	eng := tc.engine()
	errc := make(chan error, 10)
	for i := range 10 {
		go func() { errc <- eng.Execute(ctx, dag.Spawn(inc, 2000+i)) }()
	}
	for range 10 {
		if err := <-errc; err == nil || !strings.Contains(err.Error(), "delivered to workers 2 times without finishing") {
			t.Fatalf("err = %v", err)
		}
	}
	waitFor(t, "the stream to be empty", func() bool { return queueEmpty(js) })
}

// Batched calls cancelled while no worker is there leave the queue with their message.
func TestCancelQueuedBatch(t *testing.T) {
	tc := startCluster(t, 0, 1, cluster.Options{})
	eng := tc.engine()
	js, err := jetstream.New(tc.nc(t))
	if err != nil {
		t.Fatal(err)
	}
	inc := tc.fn(t, conformance, "inc")
	cluster.LearnQuick(tc.conn.Executor(), inc)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 20)
	for i := range 20 {
		go func() { errc <- eng.Execute(ctx, dag.Spawn(inc, 3000+i)) }()
	}
	waitFor(t, "the calls to be queued", func() bool {
		s, err := js.Stream(context.Background(), cluster.TaskStream)
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		return err == nil && info.State.Msgs >= 1
	})
	cancel()
	for range 20 {
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled execution: %v", err)
		}
	}
	waitFor(t, "the stream to be empty", func() bool { return queueEmpty(js) })
}

// A worker that does not know batches (an older mrun) terminates one as malformed: its calls
// are sent again one by one, and so are all calls after them.
func TestOlderWorkerRefusesBatch(t *testing.T) {
	var mu sync.Mutex
	var logs []string
	tc := startCluster(t, 0, 1, cluster.Options{AckWait: 300 * time.Millisecond, Logf: func(f string, a ...any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf(f, a...))
		mu.Unlock()
	}})
	eng := tc.engine()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	inc, sumAll := tc.fn(t, conformance, "inc"), tc.fn(t, conformance, "sum_all")
	cluster.LearnQuick(tc.conn.Executor(), inc)
	incs := make(dag.Tuple, 30)
	for i := range incs {
		incs[i] = dag.Spawn(inc, 500+i)
	}
	total := dag.Spawn(sumAll, incs)
	done := make(chan error, 1)
	go func() { done <- eng.Execute(ctx, total) }()

	js, err := jetstream.New(tc.nc(t))
	if err != nil {
		t.Fatal(err)
	}
	takeMessages(t, ctx, js, 5*time.Second, func(m jetstream.Msg, batch bool) bool {
		if batch {
			_ = m.Term() // what an older worker does with a message it cannot decode
		} else {
			_ = m.NakWithDelay(time.Second) // for the worker started below
		}
		return batch
	})
	defer lateWorker(t, ctx, tc, 2)()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got int64
	if err := eng.Fetch(ctx, total, &got); err != nil {
		t.Fatal(err)
	}
	if want := int64(30*500 + 30*31/2); got != want {
		t.Fatalf("sum_all = %v, want %d", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	want := "a worker refused a batch of calls (is it an older mrun?): calls go one by one from now on; run the same mrun version on every worker and coordinator"
	if !slices.Contains(logs, want) {
		t.Fatalf("coordinator said %q, want %q", logs, want)
	}
}

// A new coordinator batches the first calls of a function that the workers have seen to be
// quick: their heartbeats carry how long its calls took.
func TestBatchesFromWorkersTimes(t *testing.T) {
	tc := startCluster(t, 1, 2, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	inc := tc.fn(t, conformance, "inc")
	// The first calls on a worker create its instances, and take milliseconds: the average
	// comes down with the calls that follow.
	for i := range 40 {
		if err := tc.engine().Execute(ctx, dag.Spawn(inc, -i)); err != nil {
			t.Fatal(err)
		}
	}
	fn := inc.Module().SumHex() + ".inc"
	waitFor(t, "the worker's heartbeat to say inc is quick", func() bool {
		ws, err := tc.conn.Workers(ctx)
		return err == nil && len(ws) == 1 && ws[0].CallNanos[fn] > 0 && ws[0].CallNanos[fn] < int64(200*time.Microsecond)
	})

	fresh, err := cluster.Connect(ctx, tc.srv.URL(), cluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	js, err := jetstream.New(tc.nc(t))
	if err != nil {
		t.Fatal(err)
	}
	before := taskAppends(t, js)
	incs := make(dag.Tuple, 200)
	for i := range incs {
		incs[i] = dag.Spawn(inc, 10+i)
	}
	eng := dag.New(dag.Config{Slots: 256, Executor: fresh.Executor(), Store: fresh.Store()})
	if err := eng.Execute(ctx, incs...); err != nil {
		t.Fatal(err)
	}
	if n := taskAppends(t, js) - before; n > 50 {
		t.Fatalf("a new coordinator's 200 calls of inc took %d messages of %s, want batches", n, cluster.TaskStream)
	}
}
