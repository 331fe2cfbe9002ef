package cluster

import (
	"errors"
	"fmt"
	"testing"

	"github.com/mrun-dev/mrun/internal/nativetest"
	"github.com/mrun-dev/mrun/runtime"
)

// TestNativeMissing: a worker binary older than native modules looks a native module up in
// ModuleStore and reports it missing; the coordinator does not upload it again (there is
// nothing to upload) and says which module and version the worker lacks. A WebAssembly
// module's missing bytes are still uploaded again.
func TestNativeMissing(t *testing.T) {
	rt, err := runtime.New(t.Context(), runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(t.Context())
	demo, err := rt.LoadNative(t.Context(), nativetest.Module())
	if err != nil {
		t.Fatal(err)
	}
	add, _ := demo.Func("add")
	// What such a worker reports (worker.load before native modules).
	msg := fmt.Sprintf("module mrun:demo@1 (%s) from %s: nats: object not found", demo.SumHex(), ModuleStore)
	err = nativeMissing(demo, fromWire(&wireErr{Kind: kindNoModule, Message: msg}, add, nil, nil))
	want := fmt.Sprintf("add (module mrun:demo): worker could not run the call: it looked for native module mrun:demo version 1 in mrun_modules (module mrun:demo@1 (%s) from mrun_modules: nats: object not found): its mrun binary is older than native modules; run workers of the coordinator's mrun version", demo.SumHex())
	if err == nil || err.Error() != want || errors.Is(err, errModuleAgain) || !errors.Is(err, errWorker) {
		t.Errorf("got %v\nwant %s", err, want)
	}

	wasm, err := rt.LoadFile(t.Context(), "../../testdata/wat/fixtures.wasm")
	if err != nil {
		t.Fatal(err)
	}
	echo, _ := wasm.Func("echo")
	if err := nativeMissing(wasm, fromWire(&wireErr{Kind: kindNoModule, Message: "gone"}, echo, nil, nil)); !errors.Is(err, errModuleAgain) {
		t.Errorf("a wasm module's missing bytes: %v, want errModuleAgain", err)
	}
}
