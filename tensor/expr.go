package tensor

import (
	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/tensor/expr"
)

// Expr is a lazy tensor expression, the argument of function eval (see package expr, which
// builds expressions without importing the runtime, so guests can use it too).
type Expr = expr.Expr

// None stands for an omitted start, stop or step in Expr.Slice (Python's None).
const None = expr.None

// Rand returns a tensor of float64 numbers uniform in [0, 1); see expr.Rand.
func Rand(seed int64, shape ...int) Expr { return expr.Rand(seed, shape...) }

// Full returns a tensor of the given shape and dtype filled with value.
func Full(value any, d abi.DType, shape ...int) Expr { return expr.Full(value, d, shape...) }

// Zeros returns a float64 tensor of zeros.
func Zeros(shape ...int) Expr { return expr.Zeros(shape...) }

// Ones returns a float64 tensor of ones.
func Ones(shape ...int) Expr { return expr.Ones(shape...) }

// Arange returns the int64 tensor start, start+step, … up to stop (excluded).
func Arange(start, stop, step int64) Expr { return expr.Arange(start, stop, step) }

// Linspace returns num float64 numbers evenly spaced from start to stop (included).
func Linspace(start, stop float64, num int) Expr { return expr.Linspace(start, stop, num) }

// FromTensor returns an expression whose value is t.
func FromTensor(t abi.Tensor) Expr { return expr.FromTensor(t) }

// Where returns x where cond is true and y elsewhere, broadcasting all three.
func Where(cond, x, y any) Expr { return expr.Where(cond, x, y) }

// Concatenate joins xs along axis.
func Concatenate(axis int, xs ...Expr) Expr { return expr.Concatenate(axis, xs...) }
