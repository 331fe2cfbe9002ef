package cluster

import (
	"errors"
	"testing"

	"github.com/mrun-dev/mrun/runtime"
	"github.com/vmihailenco/msgpack/v5"
)

// TestWire_TrapRoundTrip: a trap crosses the network with what errors.Is and the message
// depend on: a memory-limit trap still matches runtime.ErrLimit on the coordinator, and what
// the guest reported before it trapped is still shown.
func TestWire_TrapRoundTrip(t *testing.T) {
	rt, err := runtime.New(t.Context(), runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(t.Context())
	mod, err := rt.LoadFile(t.Context(), "../../testdata/wat/fixtures.wasm")
	if err != nil {
		t.Fatal(err)
	}
	fn, err := mod.Func("grow")
	if err != nil {
		t.Fatal(err)
	}
	for _, te := range []*runtime.TrapError{
		{Reason: "wasm error: unreachable (memory was at 48 of its 48-page limit: raise it with --memory-limit)", MemoryLimit: true},
		{Reason: "wasm error: unreachable", Message: "index out of range"},
		{Reason: "wasm error: unreachable", Exited: true, ExitCode: 3},
	} {
		local := &runtime.CallError{Module: mod.Name(), Function: fn.Name(), Err: te}
		b, err := msgpack.Marshal(toWire(local))
		if err != nil {
			t.Fatal(err)
		}
		var w wireErr
		if err := msgpack.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		remote := fromWire(&w, fn, nil, nil)
		if remote.Error() != local.Error() {
			t.Errorf("remote error %q, want %q", remote, local)
		}
		for _, target := range []error{runtime.ErrTrap, runtime.ErrLimit} {
			if errors.Is(remote, target) != errors.Is(local, target) {
				t.Errorf("%q: errors.Is(remote, %v) = %v, locally %v", local, target, errors.Is(remote, target), errors.Is(local, target))
			}
		}
	}
}
