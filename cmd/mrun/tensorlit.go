package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/mrun-dev/mrun/abi"
)

// tensorLiteral builds the tensor a graph file writes with the !tensor tag:
//
//	!tensor [[1, 2], [3, 4]]                          float64, shape from the nesting
//	!tensor {dtype: int32, data: [[1, 2], [3, 4]]}    any dtype
//	!tensor {dtype: uint8, shape: [2, 2], data: [1, 2, 3, 4]}
//
// The elements must be literal numbers (or booleans for bool) that fit the dtype.
func tensorLiteral(v *vnode) (abi.Tensor, error) {
	if v.hasRef {
		return abi.Tensor{}, fmt.Errorf("a !tensor holds literal numbers only, not references")
	}
	dtype, data, shapeNode := abi.Float64, v, (*vnode)(nil)
	if v.kind == vMap {
		data = nil
		for i, k := range v.keys {
			x := v.items[i]
			switch k {
			case "dtype":
				s, ok := x.lit.(string)
				if !ok || x.kind != vLit {
					return abi.Tensor{}, fmt.Errorf("!tensor dtype must be a name such as float64")
				}
				d, err := abi.ParseDType(s)
				if err != nil {
					return abi.Tensor{}, fmt.Errorf("!tensor dtype: %s", trimPkg(err))
				}
				dtype = d
			case "shape":
				shapeNode = x
			case "data":
				data = x
			default:
				return abi.Tensor{}, fmt.Errorf("!tensor has no field %q (it has dtype, shape and data)", k)
			}
		}
		if data == nil {
			return abi.Tensor{}, fmt.Errorf("!tensor needs data")
		}
	}
	var flat []*vnode
	shape, err := nestedShape(data, &flat, 0)
	if err != nil {
		return abi.Tensor{}, err
	}
	if shapeNode != nil {
		given, err := shapeOf(shapeNode)
		if err != nil {
			return abi.Tensor{}, err
		}
		n := 1
		for _, s := range given {
			n *= s
		}
		if len(shape) > 1 && !slices.Equal(shape, given) {
			return abi.Tensor{}, fmt.Errorf("!tensor data has shape %v, but shape says %v", shape, given)
		}
		if len(flat) != n {
			return abi.Tensor{}, fmt.Errorf("!tensor of shape %v needs %d elements, data has %d", given, n, len(flat))
		}
		shape = given
	}
	t := abi.Tensor{DType: dtype, Shape: shape, Data: make([]byte, 0, len(flat)*dtype.Size())}
	for i, x := range flat {
		if t.Data, err = appendElement(t.Data, dtype, x.lit); err != nil {
			return abi.Tensor{}, fmt.Errorf("!tensor element %d: %w", i, err)
		}
	}
	return t, t.Validate()
}

// nestedShape flattens nested lists of scalars into flat and returns their shape, which must
// be rectangular; a scalar has shape [].
func nestedShape(v *vnode, flat *[]*vnode, depth int) ([]int, error) {
	if depth > abi.MaxTensorDims {
		return nil, fmt.Errorf("!tensor data nests deeper than %d dimensions", abi.MaxTensorDims)
	}
	switch v.kind {
	case vLit:
		*flat = append(*flat, v)
		return nil, nil
	case vList:
		var inner []int
		for i, x := range v.items {
			s, err := nestedShape(x, flat, depth+1)
			if err != nil {
				return nil, err
			}
			if i > 0 && !slices.Equal(s, inner) {
				return nil, fmt.Errorf("!tensor data is ragged: element %d has shape %v, element 0 has %v", i, s, inner)
			}
			inner = s
		}
		return append([]int{len(v.items)}, inner...), nil
	}
	return nil, fmt.Errorf("!tensor data must be numbers or nested lists of numbers, not a map")
}

// shapeOf reads an explicit shape: a list of non-negative integers.
func shapeOf(v *vnode) ([]int, error) {
	if v.kind != vList {
		return nil, fmt.Errorf("!tensor shape must be a list of sizes")
	}
	shape := make([]int, len(v.items))
	for i, x := range v.items {
		n, ok := x.lit.(int64)
		if !ok || n < 0 || n > math.MaxUint32 {
			return nil, fmt.Errorf("!tensor shape must be a list of sizes from 0 to 2^32-1, element %d is %v", i, x.lit)
		}
		shape[i] = int(n)
	}
	return shape, nil
}

// appendElement appends x, a number or bool from the file, as one little-endian element.
func appendElement(dst []byte, d abi.DType, x any) ([]byte, error) {
	le := binary.LittleEndian
	if d == abi.Bool {
		b, ok := x.(bool)
		if !ok {
			return nil, fmt.Errorf("%v is not true or false", x)
		}
		if b {
			return append(dst, 1), nil
		}
		return append(dst, 0), nil
	}
	var f float64
	var i int64
	var u uint64
	isInt, isUint := false, false
	switch x := x.(type) {
	case int64:
		f, i, isInt = float64(x), x, true
		if x >= 0 {
			u, isUint = uint64(x), true
		}
	case uint64:
		f, u, isUint = float64(x), x, true
	case float64:
		f = x
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			i, isInt = int64(x), true
			if x >= 0 {
				u, isUint = uint64(x), true
			}
		}
	default:
		return nil, fmt.Errorf("%v is not a number", x)
	}
	switch d {
	case abi.Float64:
		return le.AppendUint64(dst, math.Float64bits(f)), nil
	case abi.Float32:
		return le.AppendUint32(dst, math.Float32bits(float32(f))), nil
	}
	signed := d >= abi.Int8 && d <= abi.Int64
	bitsOf := 8 * d.Size()
	if signed {
		lo, hi := int64(-1)<<(bitsOf-1), int64(1)<<(bitsOf-1)-1
		if !isInt || i < lo || i > hi {
			return nil, fmt.Errorf("%v does not fit %s", x, d)
		}
		u = uint64(i)
	} else if !isUint || (bitsOf < 64 && u >= 1<<bitsOf) {
		return nil, fmt.Errorf("%v does not fit %s", x, d)
	}
	for k := range d.Size() {
		dst = append(dst, byte(u>>(8*k)))
	}
	return dst, nil
}

// trimPkg drops the "abi: " prefix of an error from the abi package.
func trimPkg(err error) string {
	s := err.Error()
	if len(s) > 5 && s[:5] == "abi: " {
		return s[5:]
	}
	return s
}
