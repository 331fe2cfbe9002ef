package cluster

import (
	"context"
	"errors"
	"testing"

	"github.com/mrun-dev/mrun/runtime"
	"github.com/vmihailenco/msgpack/v5"
)

// TestWire_AllocRoundTrip: a guest whose allocator fails on a worker fails on the coordinator
// with the same message, matching runtime.ErrAlloc and, as before ErrAlloc, ErrMalformedResult.
func TestWire_AllocRoundTrip(t *testing.T) {
	rt, err := runtime.New(t.Context(), runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(t.Context())
	mod, err := rt.LoadFile(t.Context(), "../../testdata/wat/allocfail.wasm")
	if err != nil {
		t.Fatal(err)
	}
	fn, err := mod.Func("x")
	if err != nil {
		t.Fatal(err)
	}
	_, local := fn.Call(context.Background(), []byte{0x92, 0x90, 0x80})
	if !errors.Is(local, runtime.ErrAlloc) {
		t.Fatalf("local call: %v, want ErrAlloc", local)
	}
	b, err := msgpack.Marshal(toWire(local))
	if err != nil {
		t.Fatal(err)
	}
	var w wireErr
	if err := msgpack.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	remote := fromWire(&w, fn, nil, nil)
	if want := "x (module allocfail): allocator failed: mrun_alloc(256) returned 0: the guest is out of memory"; remote.Error() != want {
		t.Errorf("remote error %q, want %q", remote, want)
	}
	for _, target := range []error{runtime.ErrAlloc, runtime.ErrMalformedResult} {
		if !errors.Is(remote, target) {
			t.Errorf("errors.Is(remote, %v) = false, want true", target)
		}
	}
}
