package abi_test

import (
	"fmt"

	"github.com/mrun-dev/mrun/abi"
)

// A tensor is one MessagePack extension value: a task receives its elements as they were
// written, and Elements reads them without decoding each one.
func ExampleNewTensor() {
	m, err := abi.NewTensor([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	if err != nil {
		panic(err)
	}
	frame, _ := abi.EncodeFrame([]any{m}, nil) // the argument frame of f(m)
	v, _ := abi.Decode(frame)
	back := v.([]any)[0].([]any)[0].(abi.Tensor)
	xs, _ := back.Float64s()
	fmt.Println(back, len(frame), "bytes:", xs)
	// Output: float64[2 3] 78 bytes: [1 2 3 4 5 6]
}
