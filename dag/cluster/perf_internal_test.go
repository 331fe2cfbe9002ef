package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vmihailenco/msgpack/v5"
)

// A fan-in's inputs are read in batches of many values per request: every inline value comes
// back in one of them, the same key read twice fills both holes, and what a batch cannot
// give (a value missing, deleted, or in ValueStore) is left for the reads one by one.
func TestReadBatches(t *testing.T) {
	ctx, c := testConn(t, Options{InlineMax: 1 << 10})
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

// The server's usual answers to a publish are read without encoding/json; anything else is
// left to it.
func TestParsePubAck(t *testing.T) {
	for _, c := range []struct {
		in   string
		want *jetstream.PubAck
	}{
		{`{"stream":"MRUN_TASKS","seq":42}`, &jetstream.PubAck{Stream: "MRUN_TASKS", Sequence: 42}},
		{`{"stream":"KV_mrun_results","seq":7,"duplicate":true}`, &jetstream.PubAck{Stream: "KV_mrun_results", Sequence: 7, Duplicate: true}},
		{`{"stream":"S","seq":18446744073709551615}`, &jetstream.PubAck{Stream: "S", Sequence: 1<<64 - 1}},
		{`{"stream":"S","seq":18446744073709551616}`, nil}, // overflows
		{`{"stream":"S","seq":}`, nil},
		{`{"stream":"S","seq":1,"domain":"hub"}`, nil},
		{`{"error":{"code":503,"err_code":10077,"description":"maximum messages exceeded"},"stream":"S","seq":0}`, nil},
		{`{"stream":"","seq":1}`, nil},
		{`{"stream":"a\"b","seq":1}`, nil},
		{``, nil},
	} {
		got, ok := parsePubAck([]byte(c.in))
		if ok != (c.want != nil) || ok && *got != *c.want {
			t.Errorf("parsePubAck(%s) = %+v, %v; want %+v", c.in, got, ok, c.want)
		}
	}
}

// A result is written once: a second write of its key keeps the first value, and a key whose
// value was deleted takes a new one.
func TestWriteValueOnce(t *testing.T) {
	ctx, c := testConn(t, Options{})
	name := abi.Key{1, 2, 3}.String()
	for _, v := range []string{"first", "second"} {
		if err := writeValue(ctx, c, name, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := readValue(ctx, c, name); err != nil || string(v) != "first" {
		t.Fatalf("after two writes: %q, %v; want the first", v, err)
	}
	if err := c.results.Delete(ctx, name); err != nil {
		t.Fatal(err)
	}
	if err := writeValue(ctx, c, name, []byte("third")); err != nil {
		t.Fatal(err)
	}
	if v, err := readValue(ctx, c, name); err != nil || string(v) != "third" {
		t.Fatalf("after a delete and a write: %q, %v; want the new value", v, err)
	}
	// A publish the stream refuses keeps the server's error, as jetstream's publish words it.
	_, err := c.jsPublish(ctx, &nats.Msg{Subject: "$KV." + ResultBucket + "." + name, Data: []byte("x"), Header: nats.Header{jetstream.ExpectedLastSubjSeqHeader: {"0"}}})
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence || !strings.HasPrefix(err.Error(), "nats: ") {
		t.Fatalf("a create of a key that holds a value: %v", err)
	}
}

// How many times a call was delivered is read from its acknowledgement subject, in the
// server's two formats; a subject in neither says nothing.
func TestDeliveries(t *testing.T) {
	for _, c := range []struct {
		reply string
		want  int
	}{
		{"$JS.ACK.MRUN_TASKS.mrun-workers.3.17.20.1765000000000000000.4", 3},
		{"$JS.ACK.hub.ACCHASH.MRUN_TASKS.mrun-workers.2.17.20.1765000000000000000.4.RND", 2},
		{"$JS.ACK.MRUN_TASKS.mrun-workers.1.17.20.1765000000000000000.0", 1},
		{"$JS.ACK.MRUN_TASKS", 0},
		{"_INBOX.abc", 0},
	} {
		if got := deliveries(c.reply); got != c.want {
			t.Errorf("deliveries(%q) = %d, want %d", c.reply, got, c.want)
		}
	}
}

// A call delivered again whose outputs are stored is acknowledged and reported done without
// running; a first delivery, or one whose outputs are not all stored, is left to run.
func TestSettleStored(t *testing.T) {
	ctx, c := testConn(t, Options{})
	w := &worker{c: c, cfg: WorkerConfig{ID: "w"}}

	frame, _ := msgpack.Marshal([]any{[]any{41}, map[string]any{}})
	tmpl, err := abi.NewTemplate(frame)
	if err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	sum[0] = 7
	key := abi.TaskKey(sum, "inc", 2, tmpl)
	reply := nats.NewInbox()
	sub, err := c.nc.SubscribeSync(reply)
	if err != nil {
		t.Fatal(err)
	}
	task := &taskMsg{ID: "attempt", Key: key[:], Module: fmt.Sprintf("%x", sum), ModName: "m", Func: "inc", NOutput: 2, Frame: tmpl.Frame(), Reply: reply}
	again := &nats.Msg{Reply: "$JS.ACK.MRUN_TASKS.mrun-workers.2.9.9.0.0"}
	first := &nats.Msg{Reply: "$JS.ACK.MRUN_TASKS.mrun-workers.1.9.9.0.0"}
	stopped := 0
	stop := func() { stopped++ }

	if err := writeValue(ctx, c, abi.OutputKey(key, 0).String(), []byte{1}); err != nil {
		t.Fatal(err)
	}
	if w.settleStored(ctx, again, task, stop) {
		t.Fatal("settled a call with one of its two outputs stored")
	}
	if err := writeValue(ctx, c, abi.OutputKey(key, 1).String(), []byte{2}); err != nil {
		t.Fatal(err)
	}
	if w.settleStored(ctx, first, task, stop) {
		t.Fatal("looked up and settled a call delivered for the first time")
	}
	if !w.settleStored(ctx, again, task, stop) || stopped != 1 {
		t.Fatalf("a call delivered again with its outputs stored was not settled (heartbeats stopped %d times)", stopped)
	}
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var d doneMsg
	if err := msgpack.Unmarshal(m.Data, &d); err != nil || d.ID != "attempt" || d.Err != nil || d.Worker != "w" {
		t.Fatalf("completion %+v, %v; want attempt done by w", d, err)
	}
	forged := *task
	forged.Func = "dec" // the key is not this call's
	if w.settleStored(ctx, again, &forged, stop) {
		t.Fatal("settled a call whose key is another call's")
	}
}
