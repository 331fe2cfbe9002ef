package mt_test

import (
	"fmt"

	"github.com/mrun-dev/mrun/guests/go/mrun/mt"
)

// driver2 is Mars's mt.random.rand(10, 10).sum() inside a spawned function: export it with
// mrun.Call like any function, and the sum comes back as a float64.
func driver2(seed int64) (float64, error) {
	return mt.Rand(seed, 10, 10).Sum(nil).Float64()
}

// A spawned function evaluates an expression with Float64 (a number) or Tensor (an array);
// only inside a call, where it can spawn.
func ExampleExpr_Float64() {
	_ = driver2 // see above: exported from a guest module, called by mrun
}

// A bad operand does not panic: the expression carries the error, and evaluating it returns
// the error without spawning anything.
func ExampleExpr_Err() {
	fmt.Println(mt.Rand(1, 10, 10).Sum(nil).Err())
	fmt.Println(mt.Rand(1, 10, 10).Mul("two").Err())
	// Output:
	// <nil>
	// mt: operand of type string is not an Expr, an mrun.Tensor or a number
}
