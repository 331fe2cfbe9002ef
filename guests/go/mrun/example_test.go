package mrun_test

import (
	"errors"
	"math"

	"github.com/mrun-dev/mrun/guests/go/mrun"
)

// A guest exposes each function with an export that hands the argument frame to Call. The
// functions are ordinary Go. Calls only run inside a wasm guest, so this example has no output.
func Example() {
	// In the guest's main package:
	//
	//	//go:wasmexport mrun_fn_divmod
	//	func divmodExport(p, n uint32) uint64 { return mrun.Call(p, n, divmod) }
	var divmodExport = func(p, n uint32) uint64 { return mrun.Call(p, n, divmod) }
	_ = divmodExport
}

// divmod has two outputs: spawned with n_output=2, each becomes an Object.
func divmod(a, b int) (int, int, error) {
	if b == 0 {
		return 0, 0, errors.New("divmod: division by zero")
	}
	return a / b, a % b, nil
}

// A function takes keyword arguments with a final Kwargs parameter; Kwarg reads one with a
// default, whose type it decodes into.
func ExampleKwarg() {
	pow := func(x float64, kw mrun.Kwargs) (float64, error) {
		exp, err := mrun.Kwarg(kw, "exp", 2.0) // pow(2, exp=10) is 1024
		if err != nil {
			return 0, err
		}
		return math.Pow(x, exp), nil
	}
	_ = pow
}

// A Raw parameter and result pass a value through byte for byte, whatever it is.
func ExampleRaw() {
	passthrough := func(v mrun.Raw) mrun.Raw { return v }
	_ = passthrough
}
