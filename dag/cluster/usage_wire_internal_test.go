package cluster

import (
	"reflect"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/vmihailenco/msgpack/v5"
)

// doneMsgBeforeUsage is doneMsg as workers and coordinators sent it before it carried usage.
type doneMsgBeforeUsage struct {
	ID     string    `msgpack:"id"`
	Worker string    `msgpack:"worker"`
	Err    *wireErr  `msgpack:"err"`
	Stdout []byte    `msgpack:"stdout"`
	Stderr []byte    `msgpack:"stderr"`
	Took   int64     `msgpack:"took,omitempty"`
	Event  *eventMsg `msgpack:"ev,omitempty"`
}

// TestWire_UsageCompatible: a completion with usage decodes on a coordinator that does not know
// the field, a completion without it (an earlier worker) decodes to no usage but the worker's
// name, and one with it gives the coordinator's engine what the worker measured.
func TestWire_UsageCompatible(t *testing.T) {
	d := doneMsg{ID: "a1", Worker: "w7", Stdout: []byte("hi"), Took: 42,
		Usage: &usageMsg{Guest: 1500, Memory: 2 << 16, Args: 4, Result: 1, Spawned: 3}}
	b, err := msgpack.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	var old doneMsgBeforeUsage
	if err := abi.Unmarshal(b, &old); err != nil {
		t.Fatalf("a coordinator without usage cannot decode a completion with it: %v", err)
	}
	if want := (doneMsgBeforeUsage{ID: "a1", Worker: "w7", Stdout: []byte("hi"), Took: 42}); !reflect.DeepEqual(old, want) {
		t.Errorf("decoded by an earlier coordinator: %+v, want %+v", old, want)
	}
	var back doneMsg
	if err := abi.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := dag.Usage{Guest: 1500 * time.Nanosecond, PeakMemory: 2 << 16, ArgBytes: 4, ResultBytes: 1, Spawned: 3, Worker: "w7"}
	if got := back.usage(); got != want {
		t.Errorf("usage %+v, want %+v", got, want)
	}

	b, err = msgpack.Marshal(&doneMsgBeforeUsage{ID: "a2", Worker: "w8"})
	if err != nil {
		t.Fatal(err)
	}
	var fromOld doneMsg
	if err := abi.Unmarshal(b, &fromOld); err != nil {
		t.Fatal(err)
	}
	if got := fromOld.usage(); got != (dag.Usage{Worker: "w8"}) {
		t.Errorf("usage of an earlier worker's completion: %+v, want only the worker", got)
	}

	// Anyone may publish a completion: negative counts and times are read as zero.
	bad := usageMsg{Wall: -1, Guest: -5, Args: -2, Result: -3, Spawned: -4, Attempts: -6}
	if got := bad.usage(); got != (dag.Usage{}) {
		t.Errorf("usage of negative fields: %+v, want zero", got)
	}
	// An event's usage crosses whole.
	u := dag.Usage{Wall: time.Second, Guest: time.Millisecond, PeakMemory: 1 << 20, ArgBytes: 9, ResultBytes: 8, Spawned: 2, Attempts: 3, Worker: "w1"}
	if got := toUsageMsg(u).usage(); got != u {
		t.Errorf("event usage round trip: %+v, want %+v", got, u)
	}
	if toUsageMsg(dag.Usage{}) != nil {
		t.Error("an empty usage is sent")
	}
}
