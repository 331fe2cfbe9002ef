package cluster

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/vmihailenco/msgpack/v5"
)

// A fan-in's inputs are read in batches of many values per request: every inline value comes
// back in one of them, the same key read twice fills both holes, and what a batch cannot
// give (a value missing, deleted, or in ValueStore) is left for the reads one by one.
func TestReadBatches(t *testing.T) {
	srv, err := StartServer(ServerConfig{Port: -1, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Connect(ctx, srv.URL(), Options{InlineMax: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := &worker{c: c}

	const n = batchMax + 100 // two batches
	holes := make([]abi.Hole, n)
	for i := range holes {
		binary.BigEndian.PutUint32(holes[i].Key[:], uint32(i+1))
		v, _ := msgpack.Marshal(i)
		if err := writeValue(ctx, c, holes[i].Key.String(), v); err != nil {
			t.Fatal(err)
		}
	}
	large, deleted, missing := 3, 5, 7
	big, _ := msgpack.Marshal(strings.Repeat("x", 2048))
	holes[large].Key[0] = 0xee
	if err := writeValue(ctx, c, holes[large].Key.String(), big); err != nil {
		t.Fatal(err)
	}
	if err := c.results.Delete(ctx, holes[deleted].Key.String()); err != nil {
		t.Fatal(err)
	}
	holes[missing].Key[0] = 0xff
	holes[n-1].Key = holes[0].Key // read twice

	inputs := make([][]byte, n)
	w.readBatches(ctx, holes, inputs)
	for i, v := range inputs {
		switch i {
		case large, deleted, missing:
			if v != nil {
				t.Fatalf("input %d = % x, want it left for a read of its own", i, v)
			}
			continue
		}
		want, _ := msgpack.Marshal(i)
		if i == n-1 {
			want, _ = msgpack.Marshal(0)
		}
		if string(v) != string(want) {
			t.Fatalf("input %d = % x, want % x", i, v, want)
		}
	}
	// readInputs reads the large one by itself, and names the ones that are not there.
	holes = append(holes[:deleted], holes[deleted+1:]...)
	if _, err := w.readInputs(ctx, holes); err == nil || !strings.HasPrefix(err.Error(), "input ff") {
		t.Fatalf("with a missing input: %v", err)
	}
}
