package mrun_test

import (
	"errors"
	"fmt"
	"math"
	"strings"

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

// A driver spawns functions while it runs: here ten incs, executed together, whose values it
// returns. Spawn only works inside a wasm guest called by mrun, so this example has no output.
func ExampleSpawn() {
	// In the guest's main package:
	//
	//	//go:wasmexport mrun_fn_driver
	//	func driverExport(p, n uint32) uint64 { return mrun.Call(p, n, driver) }
	driver := func() ([]any, error) {
		results := make(mrun.Tuple, 10)
		for i := range results {
			results[i] = mrun.Spawn("inc", i)
		}
		return results.ExecuteFetch() // [1, 2, ..., 10]
	}
	_ = driver
}

// A parent can inspect a failed child, or fail with it: wrapping the child's TaskError makes
// the host record the child as the cause of the parent's failure.
func ExampleTaskError() {
	parent := func(msg string) (string, error) {
		err := mrun.Spawn("fail", msg).Execute()
		var te *mrun.TaskError
		if errors.As(err, &te) && strings.HasPrefix(te.Message, "retry") {
			return "gave up: " + te.Message, nil // inspect, and carry on
		}
		if err != nil {
			return "", fmt.Errorf("parent: %w", err) // fail, naming the child
		}
		return "ok", nil
	}
	_ = parent
}

// An Object received by reference can be handed on without fetching it: each child add(obj, i)
// receives obj's value.
func ExampleByRef() {
	forward := func(obj mrun.Object, n int) ([]any, error) {
		sums := make(mrun.Tuple, n)
		for i := range sums {
			sums[i] = mrun.Spawn("add", obj, i)
		}
		return sums.ExecuteFetch()
	}
	// And passing it on by reference again, to a function that takes an mrun.Object:
	//
	//	mrun.Spawn("forward", mrun.ByRef(obj), 3)
	_ = forward
}

// NewTensor makes a tensor of a Go slice, without copying it; the typed views read the
// elements in place.
func ExampleNewTensor() {
	m, err := mrun.NewTensor([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	if err != nil {
		panic(err)
	}
	fmt.Println(m, m.Shape(), m.Float64s())

	_, err = mrun.NewTensor([]int{2, 2}, []int32{1, 2, 3})
	fmt.Println(err)
	// Output:
	// float64 tensor [2 3] [2 3] [1 2 3 4 5 6]
	// mrun: a tensor of shape [2 2] has 4 elements, got 3
}

// Elements is the typed view that checks the dtype and returns an error instead of panicking.
func ExampleElements() {
	t, _ := mrun.NewTensor([]int{3}, []uint8{7, 8, 9})
	bytes, err := mrun.Elements[uint8](t)
	fmt.Println(bytes, err)
	_, err = mrun.Elements[float64](t)
	fmt.Println(err)
	// Output:
	// [7 8 9] <nil>
	// mrun: a uint8 tensor [3] is not a float64 tensor
}
