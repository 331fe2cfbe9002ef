package tensor_test

import (
	"fmt"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/tensor"
)

// An expression is a MessagePack map; function eval of module mrun:tensor takes it as its
// one argument and returns the value.
func ExampleExpr_MarshalMsgpack() {
	e := tensor.Rand(1, 10000, 10000).WithChunks(1000, 1000).Sum(nil)
	b, err := e.MarshalMsgpack()
	if err != nil {
		panic(err)
	}
	v, err := abi.Decode(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(v)
	// Output:
	// map[axis:<nil> op:sum x:map[chunks:[1000 1000] op:rand seed:1 shape:[10000 10000]]]
}

// Operands may be numbers: they take the other operand's dtype where their kind allows, as
// Python scalars do in NumPy.
func ExampleExpr_Add() {
	x := tensor.Arange(0, 6, 1).Reshape(2, 3).Add(0.5).Mean([]int{1})
	b, _ := x.MarshalMsgpack()
	v, _ := abi.Decode(b)
	fmt.Println(v)
	// Output:
	// map[axis:[1] op:mean x:map[op:add x:map[op:reshape shape:[2 3] x:map[op:arange start:0 step:1 stop:6]] y:0.5]]
}
