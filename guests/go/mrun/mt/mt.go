// Package mt is the Go guest SDK's thin wrapper over module mrun:tensor, the chunked tensors
// built into every mrun process and worker (docs/tensors.md). It builds an expression, the
// MessagePack map that function eval of mrun:tensor takes, and evaluates it by spawning eval
// from the running function, like Mars's mt inside a spawned function:
//
//	sum, err := mt.Rand(1, 10, 10).Sum(nil).Float64()   // mt.random.rand(10, 10).sum()
//
// The names mirror the host's package tensor/expr, and an expression built here has the same
// value as the one built there. This package does not import tensor/expr: that would link the
// host's abi package, its hashing and its global MessagePack extension decoders into every
// guest that uses tensors; the builder is a few maps.
//
// Like everything that spawns, evaluation works only while mrun.Call runs a function.
package mt

import (
	"fmt"
	"maps"
	"math"

	"github.com/mrun-dev/mrun/guests/go/mrun"
	"github.com/vmihailenco/msgpack/v5"
)

// Module and Func name the planner: function eval of the native module mrun:tensor.
const (
	Module = "mrun:tensor"
	Func   = "eval"
)

// None stands for an omitted start, stop or step in Slice (Python's None).
const None = math.MinInt

// Expr is a lazy tensor expression. Methods build bigger expressions and compute nothing;
// Spawn, Eval, Float64 and Tensor evaluate it. An Expr built from a bad argument carries the
// error, which evaluation returns. The zero Expr is invalid.
type Expr struct {
	m   map[string]any
	err error
}

func op(name string, kv ...any) Expr {
	m := map[string]any{"op": name}
	var err error
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1]
		switch x := v.(type) {
		case Expr:
			if x.m == nil && x.err == nil {
				x.err = fmt.Errorf("mt: %s: operand %q is the zero Expr", name, kv[i])
			}
			if x.err != nil && err == nil {
				err = x.err
			}
			v = x.m
		case []Expr:
			list := make([]any, len(x))
			for k, e := range x {
				if e.m == nil && e.err == nil {
					e.err = fmt.Errorf("mt: %s: operand %d of %q is the zero Expr", name, k, kv[i])
				}
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

// operand is what the map holds for an operand: an expression map, a tensor value, or a bare
// number or bool for a scalar.
func operand(v any) any {
	switch x := v.(type) {
	case float64, bool, int64, uint64, Expr:
		return x
	case mrun.Tensor:
		return FromTensor(x)
	case float32:
		return float64(x)
	case int:
		return int64(x)
	case int32:
		return int64(x)
	}
	return Expr{err: fmt.Errorf("mt: operand of type %T is not an Expr, an mrun.Tensor or a number", v)}
}

// Rand returns a tensor of the given shape of float64 numbers uniform in [0, 1). Element i
// (row-major) depends only on seed and i, so the values do not depend on the chunks.
func Rand(seed int64, shape ...int) Expr { return op("rand", "seed", seed, "shape", shape) }

// Full returns a tensor of the given shape and dtype filled with value.
func Full(value any, d mrun.DType, shape ...int) Expr {
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
func FromTensor(t mrun.Tensor) Expr { return op("tensor", "value", t) }

// WithChunks returns e with its chunk shape set: one size per axis, -1 for a whole axis.
// On a creation or FromTensor it sets how the tensor is made; on anything else it rechunks
// the result.
func (e Expr) WithChunks(chunks ...int) Expr { return e.with("chunks", chunks) }

func (e Expr) with(k string, v any) Expr {
	if e.err != nil || e.m == nil {
		return e
	}
	m := maps.Clone(e.m)
	m[k] = v
	return Expr{m: m}
}

// Rechunk returns e split into chunks of the given sizes (one per axis, -1 for whole).
func (e Expr) Rechunk(chunks ...int) Expr { return op("rechunk", "x", e, "chunks", chunks) }

func (e Expr) binary(name string, y any) Expr { return op(name, "x", e, "y", operand(y)) }

// Add returns e + y, broadcasting as NumPy does. y is an Expr, an mrun.Tensor, or a Go
// number or bool: a scalar that takes e's dtype where its kind allows.
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
func (e Expr) AsType(d mrun.DType) Expr { return op("astype", "x", e, "dtype", d.String()) }

// Where returns x where cond is true and y elsewhere, broadcasting all three.
func Where(cond, x, y any) Expr {
	return op("where", "cond", operand(cond), "x", operand(x), "y", operand(y))
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
func (e Expr) KeepDims() Expr { return e.with("keepdims", true) }

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
		return fmt.Errorf("mt: the zero Expr is not an expression")
	}
	return e.err
}

// EncodeMsgpack writes e as its expression map, so that an Expr can also be an argument of
// mrun.Spawn (a function of the guest's own that takes an expression).
func (e Expr) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := e.Err(); err != nil {
		return err
	}
	return enc.Encode(e.m)
}

// Spawn spawns eval of mrun:tensor with e and returns its lazy Object: execute it, with
// other Objects if you like, then fetch the value. An Expr that carries an error gives an
// Object that carries it (see mrun.Spawn).
func (e Expr) Spawn() mrun.Object {
	if e.Err() != nil {
		return mrun.SpawnIn(Module, Func, e) // its encoding fails with the error
	}
	return mrun.SpawnIn(Module, Func, e.m)
}

// Eval evaluates e (spawns eval, executes it) and fetches its value into ptr, as
// mrun.Object.Fetch does.
func (e Expr) Eval(ptr any) error {
	o := e.Spawn()
	if err := o.Execute(); err != nil {
		return err
	}
	return o.Fetch(ptr)
}

// Float64 evaluates e, whose value must be a number (a full Sum, Mean, Std, …), and returns it.
func (e Expr) Float64() (float64, error) {
	var v float64
	err := e.Eval(&v)
	return v, err
}

// Tensor evaluates e, whose value must be a tensor (at least one dimension), and returns it.
func (e Expr) Tensor() (mrun.Tensor, error) {
	var t mrun.Tensor
	err := e.Eval(&t)
	return t, err
}
