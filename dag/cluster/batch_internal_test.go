package cluster

import (
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/vmihailenco/msgpack/v5"
)

// A worker refuses a batch it cannot trust whole, saying which call is wrong.
func TestDecodeBatch(t *testing.T) {
	frame, _ := abi.EncodeFrame([]any{1}, nil)
	good := taskMsg{ID: "a", Key: make([]byte, abi.KeySize), Module: strings.Repeat("c5", 32), Func: "inc", NOutput: 1, Frame: frame}
	batchOf := func(calls ...taskMsg) []byte {
		b := arrayHeader(len(calls))
		for _, c := range calls {
			e, err := msgpack.Marshal(&c)
			if err != nil {
				t.Fatal(err)
			}
			b = append(b, e...)
		}
		return b
	}
	many := make([]taskMsg, maxBatch+1)
	for i := range many {
		many[i] = good
	}
	noFunc, byRef := good, good
	noFunc.Func = ""
	byRef.Frame, byRef.FrameRef = nil, "frame-a"
	for _, c := range []struct {
		b    []byte
		want string
	}{
		{batchOf(), "a batch of 0 calls, want 1 to 64"},
		{batchOf(many...), "a batch of 65 calls, want 1 to 64"},
		{batchOf(good, noFunc), "call 1 of the batch: no function"},
		{batchOf(byRef), "call 0 of the batch: a batched call carries its argument frame"},
		{[]byte{0x92, 0xc1}, "decode: "},
	} {
		if !isBatch(c.b) {
			t.Fatalf("isBatch(%x) = false", c.b)
		}
		_, err := decodeBatch(c.b)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("decodeBatch: %v, want %q", err, c.want)
		}
	}
	calls, err := decodeBatch(batchOf(good, good))
	if err != nil || len(calls) != 2 || calls[1].Func != "inc" {
		t.Fatalf("decodeBatch of two calls = %v, %v", calls, err)
	}
	single, _ := msgpack.Marshal(&good)
	if isBatch(single) {
		t.Fatal("a single call's message taken for a batch")
	}
}
