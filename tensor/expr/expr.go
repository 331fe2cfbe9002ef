// Package expr builds tensor expressions: the MessagePack maps that function eval of the
// native module mrun:tensor evaluates (docs/tensors.md). It computes nothing and imports
// neither the runtime nor the engine, so host programs and WebAssembly guests can both use
// it; package tensor re-exports it next to the planner and the kernels.
package expr

import (
	"bytes"
	"fmt"
	"maps"
	"math"

	"github.com/mrun-dev/mrun/abi"
	"github.com/vmihailenco/msgpack/v5"
)

// Expr is a lazy tensor expression: the MessagePack map that function eval of mrun:tensor
// takes (docs/tensors.md). Methods build bigger expressions and never compute anything; an
// Expr built from a bad argument carries the error, which MarshalMsgpack returns.
// The zero Expr is invalid.
type Expr struct {
	m   map[string]any
	err error
}

// None stands for an omitted start, stop or step in Slice (Python's None).
const None = math.MinInt

func op(name string, kv ...any) Expr {
	m := map[string]any{"op": name}
	var err error
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		switch x := v.(type) {
		case Expr:
			if x.m == nil && x.err == nil {
				x.err = fmt.Errorf("tensor: %s: operand %q is the zero Expr", name, kv[i])
			}
			if x.err != nil && err == nil {
				err = x.err
			}
			v = x.m
		case []Expr:
			list := make([]any, len(x))
			for k, e := range x {
				if e.err != nil && err == nil {
					err = e.err
				}
				list[k] = e.m
			}
			v = list
		}
		m[kv[i].(string)] = v
	}
	return Expr{m: m, err: err}
}

// operand turns an Expr or an abi.Tensor into an Expr.
func operand(v any) Expr {
	switch x := v.(type) {
	case Expr:
		return x
	case abi.Tensor:
		return FromTensor(x)
	}
	return Expr{err: fmt.Errorf("tensor: operand of type %T is not an Expr, an abi.Tensor or a number", v)}
}

// rawOperand is what the map holds for an operand: an expression map, or a bare number or
// bool for a scalar.
func rawOperand(v any) any {
	switch x := v.(type) {
	case float64, bool, int64, uint64:
		return x
	case float32:
		return float64(x)
	case int:
		return int64(x)
	case int32:
		return int64(x)
	}
	return operand(v)
}

// Rand returns a tensor of the given shape of float64 numbers uniform in [0, 1). Element i
// (row-major) depends only on seed and i, so the values do not depend on the chunks.
func Rand(seed int64, shape ...int) Expr { return op("rand", "seed", seed, "shape", shape) }

// Full returns a tensor of the given shape and dtype filled with value.
func Full(value any, d abi.DType, shape ...int) Expr {
	return op("full", "value", value, "dtype", d.String(), "shape", shape)
}

// Zeros returns a float64 tensor of zeros.
func Zeros(shape ...int) Expr { return op("zeros", "shape", shape) }

// Ones returns a float64 tensor of ones.
func Ones(shape ...int) Expr { return op("ones", "shape", shape) }

// Arange returns the int64 tensor start, start+step, … up to stop (excluded), as
// numpy.arange.
func Arange(start, stop, step int64) Expr {
	return op("arange", "start", start, "stop", stop, "step", step)
}

// Linspace returns num float64 numbers evenly spaced from start to stop (included), as
// numpy.linspace.
func Linspace(start, stop float64, num int) Expr {
	return op("linspace", "start", start, "stop", stop, "num", num)
}

// FromTensor returns an expression whose value is t; the planner cuts it into chunks.
func FromTensor(t abi.Tensor) Expr { return op("tensor", "value", t) }

// WithChunks returns e with its chunk shape set: one size per axis, -1 for a whole axis.
// On a creation or FromTensor it sets how the tensor is made; on anything else it rechunks
// the result.
func (e Expr) WithChunks(chunks ...int) Expr {
	if e.err != nil {
		return e
	}
	m := maps.Clone(e.m)
	m["chunks"] = chunks
	return Expr{m: m}
}

// Rechunk returns e split into chunks of the given sizes (one per axis, -1 for whole).
func (e Expr) Rechunk(chunks ...int) Expr { return op("rechunk", "x", e, "chunks", chunks) }

func (e Expr) binary(name string, y any) Expr { return op(name, "x", e, "y", rawOperand(y)) }

// Add returns e + y, broadcasting as NumPy does. y is an Expr, an abi.Tensor, or a Go number
// or bool: a scalar that takes e's dtype where its kind allows, as NumPy 2 treats Python
// scalars.
func (e Expr) Add(y any) Expr { return e.binary("add", y) }

// Sub returns e - y.
func (e Expr) Sub(y any) Expr { return e.binary("sub", y) }

// Mul returns e * y.
func (e Expr) Mul(y any) Expr { return e.binary("mul", y) }

// Div returns e / y (true division: integers give float64).
func (e Expr) Div(y any) Expr { return e.binary("div", y) }

// Pow returns e ** y.
func (e Expr) Pow(y any) Expr { return e.binary("pow", y) }

// Eq returns the bool tensor e == y.
func (e Expr) Eq(y any) Expr { return e.binary("eq", y) }

// Ne returns the bool tensor e != y.
func (e Expr) Ne(y any) Expr { return e.binary("ne", y) }

// Lt returns the bool tensor e < y.
func (e Expr) Lt(y any) Expr { return e.binary("lt", y) }

// Le returns the bool tensor e <= y.
func (e Expr) Le(y any) Expr { return e.binary("le", y) }

// Gt returns the bool tensor e > y.
func (e Expr) Gt(y any) Expr { return e.binary("gt", y) }

// Ge returns the bool tensor e >= y.
func (e Expr) Ge(y any) Expr { return e.binary("ge", y) }

// Neg returns -e.
func (e Expr) Neg() Expr { return op("neg", "x", e) }

// Abs returns |e|.
func (e Expr) Abs() Expr { return op("abs", "x", e) }

// Sqrt returns the square root of e (integers give float64).
func (e Expr) Sqrt() Expr { return op("sqrt", "x", e) }

// Exp returns e raised to the power of e's elements (integers give float64).
func (e Expr) Exp() Expr { return op("exp", "x", e) }

// Log returns the natural logarithm of e (integers give float64).
func (e Expr) Log() Expr { return op("log", "x", e) }

// AsType returns e converted to dtype d, as NumPy's astype.
func (e Expr) AsType(d abi.DType) Expr { return op("astype", "x", e, "dtype", d.String()) }

// Where returns x where cond is true and y elsewhere, broadcasting all three.
func Where(cond, x, y any) Expr {
	return op("where", "cond", rawOperand(cond), "x", rawOperand(x), "y", rawOperand(y))
}

func (e Expr) reduce(name string, axes []int, kv ...any) Expr {
	var axis any // nil: every axis
	if axes != nil {
		axis = axes
	}
	return op(name, append([]any{"x", e, "axis", axis}, kv...)...)
}

// Sum returns the sum of e over axes (nil: every axis, giving a scalar).
func (e Expr) Sum(axes []int) Expr { return e.reduce("sum", axes) }

// Mean returns the mean of e over axes (nil: every axis).
func (e Expr) Mean(axes []int) Expr { return e.reduce("mean", axes) }

// Var returns the variance of e over axes (nil: every axis), dividing by n - ddof.
func (e Expr) Var(axes []int, ddof int) Expr { return e.reduce("var", axes, "ddof", ddof) }

// Std returns the standard deviation of e over axes (nil: every axis), with n - ddof.
func (e Expr) Std(axes []int, ddof int) Expr { return e.reduce("std", axes, "ddof", ddof) }

// Min returns the minimum of e over axes (nil: every axis); NaN if any element is NaN.
func (e Expr) Min(axes []int) Expr { return e.reduce("min", axes) }

// Max returns the maximum of e over axes (nil: every axis); NaN if any element is NaN.
func (e Expr) Max(axes []int) Expr { return e.reduce("max", axes) }

// ArgMin returns the int64 index of the first minimum: flat over the whole tensor when axes
// is nil, else along the one axis given.
func (e Expr) ArgMin(axes []int) Expr { return e.reduce("argmin", axes) }

// ArgMax returns the int64 index of the first maximum, as ArgMin.
func (e Expr) ArgMax(axes []int) Expr { return e.reduce("argmax", axes) }

// KeepDims returns the reduction e keeping its reduced axes with size 1.
func (e Expr) KeepDims() Expr {
	if e.err != nil {
		return e
	}
	m := maps.Clone(e.m)
	m["keepdims"] = true
	return Expr{m: m}
}

// MatMul returns the matrix product of e and y, both two-dimensional.
func (e Expr) MatMul(y Expr) Expr { return op("matmul", "x", e, "y", y) }

// T returns e with its axes reversed.
func (e Expr) T() Expr { return op("transpose", "x", e) }

// Transpose returns e with its axes permuted: axis k of the result is axis axes[k] of e.
func (e Expr) Transpose(axes ...int) Expr { return op("transpose", "x", e, "axes", axes) }

// Slice returns e[start:stop:step, …] with one [start, stop, step] per leading axis, None
// for an omitted entry; negative indices count from the end, as in Python.
func (e Expr) Slice(index ...[3]int) Expr {
	list := make([]any, len(index))
	for i, s := range index {
		entry := make([]any, 3)
		for k, v := range s {
			if v != None {
				entry[k] = v
			}
		}
		list[i] = entry
	}
	return op("slice", "x", e, "index", list)
}

// Reshape returns e with a new shape of the same size (one entry may be -1). It works chunk
// by chunk, so e must be split along axis 0 only, in whole rows of the result.
func (e Expr) Reshape(shape ...int) Expr { return op("reshape", "x", e, "shape", shape) }

// Concatenate joins xs along axis.
func Concatenate(axis int, xs ...Expr) Expr { return op("concatenate", "xs", xs, "axis", axis) }

// Err returns the error of the first bad argument e was built from, or nil.
func (e Expr) Err() error {
	if e.m == nil && e.err == nil {
		return fmt.Errorf("tensor: the zero Expr is not an expression")
	}
	return e.err
}

// EncodeMsgpack writes e as its expression map, with map keys sorted, so that an Expr can
// be an argument of a spawn and the same expression always has the same bytes.
func (e Expr) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := e.Err(); err != nil {
		return err
	}
	return enc.Encode(e.m)
}

// MarshalMsgpack returns the expression map of e, MessagePack-encoded with map keys sorted.
func (e Expr) MarshalMsgpack() ([]byte, error) {
	if err := e.Err(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	enc.UseCompactInts(true)
	if err := enc.Encode(e.m); err != nil {
		return nil, fmt.Errorf("tensor: encode expression: %w", err)
	}
	return buf.Bytes(), nil
}
