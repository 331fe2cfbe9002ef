package cluster_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"
)

// startWorker joins a worker to the test's server and returns a function that stops it and
// reports whether it stopped: a worker that does not return from RunWorker within 30 s of
// its context's end fails the test rather than hangs it.
func (tc *testCluster) startWorker(t *testing.T, cfg cluster.WorkerConfig) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := cluster.Connect(ctx, tc.srv.URL(), cluster.Options{AckWait: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Runtime == nil {
		if cfg.Runtime, err = runtime.New(ctx, runtime.Config{CacheDir: cache}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := conn.RunWorker(ctx, cfg); err != nil {
			t.Error(err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Errorf("worker %s did not stop within 30 s of being asked to", cfg.ID)
				return // leave it: closing its runtime under it would only add noise
			}
			conn.Close()
			cfg.Runtime.Close(context.Background())
		})
	}
	t.Cleanup(stop)
	return stop
}

// A nested call cancelled while its child runs gives back no slot it does not hold: its
// worker still runs calls afterwards, and stops when asked (it used to hang, blocked giving
// back the extra slot).
func TestCancelledNestedCallKeepsSlots(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{})
	stop := tc.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w-nested"})
	eng := tc.engine()
	deep := dag.Spawn(tc.fn(t, seed, "deep"), 1) // deep(0), its child, spins until interrupted
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- eng.Execute(ctx, deep) }()
	// The parent has published its child when both are in the stream; then a heartbeat with
	// one call running is the child's (the waiting parent holds no slot).
	waitFor(t, "the parent to spawn its child", func() bool { return tc.streamMsgs(t) == 2 })
	spawned := time.Now()
	waitFor(t, "the parent to wait on its spinning child", func() bool {
		ws, _ := tc.conn.Workers(context.Background())
		return len(ws) == 1 && ws[0].LastSeen.After(spawned) && ws[0].Running == 1
	})
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled execution: %v", err)
	}
	waitFor(t, "the worker to finish with both calls", func() bool {
		ws, _ := tc.conn.Workers(context.Background())
		return len(ws) == 1 && ws[0].Running == 0
	})
	ctx2, cancel2 := context.WithTimeout(context.Background(), testTimeout)
	defer cancel2()
	inc := dag.Spawn(tc.fn(t, seed, "inc"), 41)
	if err := eng.Execute(ctx2, inc); err != nil {
		t.Fatalf("the next call: %v", err)
	}
	if got, err := eng.FetchAll(ctx2, inc); err != nil || got[0] != int64(42) {
		t.Fatalf("inc(41) = %v, %v", got, err)
	}
	stop()
}

// streamMsgs returns how many messages the task stream holds.
func (tc *testCluster) streamMsgs(t *testing.T) uint64 {
	js, err := jetstream.New(tc.nc(t))
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), cluster.TaskStream)
	if err != nil {
		return 0
	}
	info, err := s.Info(context.Background())
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// A module replaced in the Object Store by someone with access to the server is refused by
// the worker that fetches it, which names the module and both hashes; the coordinator then
// puts the honest bytes back, and the next run works.
func TestReplacedModuleRefused(t *testing.T) {
	tc := startCluster(t, 0, 0, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	inc := tc.fn(t, seed, "inc")
	sum := inc.Module().SumHex()
	eng := tc.engine()
	call := dag.Spawn(inc, 5)
	errc := make(chan error, 1)
	go func() { errc <- eng.Execute(ctx, call) }()
	waitFor(t, "the call to be queued", func() bool { return tc.streamMsgs(t) == 1 })

	// A raw client replaces the module's bytes, with a digest that matches the new bytes.
	js, err := jetstream.New(tc.nc(t))
	if err != nil {
		t.Fatal(err)
	}
	modules, err := js.ObjectStore(ctx, cluster.ModuleStore)
	if err != nil {
		t.Fatal(err)
	}
	evil, err := os.ReadFile(fixtures)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := modules.PutBytes(ctx, sum, evil); err != nil {
		t.Fatal(err)
	}
	evilSum := sha256.Sum256(evil)
	tc.startWorker(t, cluster.WorkerConfig{Slots: 1, ID: "w-verify"})

	err = <-errc
	want := fmt.Sprintf("task inc (key %s, module %s): worker could not run the call: module %s: the bytes stored in mrun_modules under its SHA-256 %s hash to %x: refusing to load them (they were replaced; the next run uploads the module again)",
		call.Key(), inc.Module().Name(), inc.Module().Name(), sum, evilSum)
	if err == nil || err.Error() != want {
		t.Fatalf("with the module replaced:\n got %v\nwant %s", err, want)
	}
	if _, ok := tc.conn.Store().Get(call.Key()); ok {
		t.Fatal("a value was stored for the refused call")
	}

	if err := eng.Execute(ctx, call); err != nil {
		t.Fatalf("after the refusal: %v", err)
	}
	if got, err := eng.FetchAll(ctx, call); err != nil || got[0] != int64(6) {
		t.Fatalf("inc(5) = %v, %v; want 6", got, err)
	}
	b, err := modules.GetBytes(ctx, sum)
	if err != nil || sha256.Sum256(b) != inc.Module().Sum() {
		t.Fatalf("the module object after the run holds other bytes (%v)", err)
	}
}

// A task message whose key is another call's (a raw client labels inc(999) with inc(55)'s
// key, to plant 1000 as inc(55)'s value) is refused by the worker, which stores nothing
// and says why; inc(55) then computes its own value.
func TestForgedKeyRefused(t *testing.T) {
	tc := startCluster(t, 1, 1, cluster.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	inc := tc.fn(t, seed, "inc")
	honest, forged := dag.Spawn(inc, 55), dag.Spawn(inc, 999)
	eng := tc.engine()
	if err := eng.Execute(ctx, dag.Spawn(inc, 1)); err != nil { // the module is on the cluster
		t.Fatal(err)
	}
	frame, err := abi.EncodeFrame([]any{999}, nil)
	if err != nil {
		t.Fatal(err)
	}
	nc := tc.nc(t)
	replies, err := nc.SubscribeSync("forger.reply")
	if err != nil {
		t.Fatal(err)
	}
	key := honest.Key()
	b, err := msgpack.Marshal(map[string]any{"id": "forged-1", "key": key[:], "module": inc.Module().SumHex(),
		"modname": "seed", "fn": "inc", "n": 1, "frame": frame, "reply": "forger.reply"})
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.Publish(ctx, cluster.TaskSubject, b); err != nil {
		t.Fatal(err)
	}
	m, err := replies.NextMsg(testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	var done struct {
		Err struct {
			Kind    string `msgpack:"kind"`
			Message string `msgpack:"msg"`
		} `msgpack:"err"`
	}
	if err := msgpack.Unmarshal(m.Data, &done); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("the task message's key %s is not the key of its call (seed.inc with 1 output(s) and its arguments, key %s): refusing to run it, nothing was stored", honest.Key(), forged.Key())
	if done.Err.Kind != "worker" || done.Err.Message != want {
		t.Fatalf("the worker's answer: %+v\nwant the message %s", done.Err, want)
	}
	if _, ok := tc.conn.Store().Get(honest.Key()); ok {
		t.Fatal("the forged call stored a value under inc(55)'s key")
	}
	if err := eng.Execute(ctx, honest); err != nil {
		t.Fatal(err)
	}
	if got, err := eng.FetchAll(ctx, honest); err != nil || got[0] != int64(56) {
		t.Fatalf("inc(55) = %v, %v; want 56", got, err)
	}
}
