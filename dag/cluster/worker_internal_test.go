package cluster

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/vmihailenco/msgpack/v5"
)

// A fan-in's inputs are read several at once, and come back in the order of the frame's
// holes; a missing input fails the call and names the input.
func TestReadInputs(t *testing.T) {
	ctx, c := testConn(t, Options{})
	w := &worker{c: c}

	const n = 3*readAhead + 5
	holes := make([]abi.Hole, n)
	for i := range holes {
		binary.BigEndian.PutUint32(holes[i].Key[:], uint32(i+1))
		v, _ := msgpack.Marshal(i)
		if err := writeValue(ctx, c, holes[i].Key.String(), v); err != nil {
			t.Fatal(err)
		}
	}
	inputs, err := w.readInputs(ctx, holes)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range inputs {
		if want, _ := msgpack.Marshal(i); string(v) != string(want) {
			t.Fatalf("input %d = % x, want % x", i, v, want)
		}
	}

	missing := abi.Key{0xff}
	holes[n/2].Key = missing
	_, err = w.readInputs(ctx, holes)
	if want := fmt.Sprintf("input %s is not in %s", missing, ResultBucket); err == nil || err.Error() != want {
		t.Fatalf("with a missing input: %v, want %q", err, want)
	}
	if _, err := w.readInputs(ctx, []abi.Hole{{Key: missing, ByRef: true}}); err == nil || err.Error() != "a cluster cannot pass an Object by reference" {
		t.Fatalf("by reference: %v", err)
	}
}

// The nesting limits of task messages, which anyone who may publish can choose, do not grow
// a worker's engines without bound; the same limits get the same engine.
func TestWorkerEnginesBounded(t *testing.T) {
	_, c := testConn(t, Options{})
	w := &worker{c: c, engines: map[[2]int]*dag.Engine{}}
	if w.engine(3, 5) != w.engine(3, 5) {
		t.Fatal("the same limits got two engines")
	}
	for i := range 10 * maxEngines {
		w.engine(i+1, 7)
		if len(w.engines) > maxEngines {
			t.Fatalf("after %d distinct limits the worker keeps %d engines, more than %d", i+2, len(w.engines), maxEngines)
		}
	}
}

// testConn starts a server for t and connects to it with opts; the connection, the server and
// ctx (a minute long) end with t.
func testConn(t *testing.T, opts Options) (context.Context, *Conn) {
	t.Helper()
	srv, err := StartServer(ServerConfig{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	c, err := Connect(ctx, srv.URL(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return ctx, c
}

// TestDefaultWorkerID: workers started in one process without an ID get different names.
func TestDefaultWorkerID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := defaultWorkerID("h")
		if seen[id] {
			t.Fatalf("two workers of one process are both named %s", id)
		}
		seen[id] = true
	}
}
