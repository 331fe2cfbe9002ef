package graphfile

import (
	"encoding/binary"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/mrun-dev/mrun/abi"
)

// LiteralError is a tensor or table literal that cannot be built ($tensor, !tensor or
// $table): its message names the value that is wrong.
type LiteralError struct {
	at  *vnode
	msg string
}

// Error returns the message.
func (e *LiteralError) Error() string { return e.msg }

func litErrorf(at *vnode, format string, args ...any) error {
	return &LiteralError{at: at, msg: fmt.Sprintf(format, args...)}
}

// tensorLiteral builds the tensor a graph file writes with the !tensor tag (what is "!tensor")
// or a JSON value writes as {"$tensor": …} (what is "$tensor"):
//
//	!tensor [[1, 2], [3, 4]]                          float64, shape from the nesting
//	!tensor {dtype: int32, data: [[1, 2], [3, 4]]}    any dtype
//	!tensor {dtype: uint8, shape: [2, 2], data: [1, 2, 3, 4]}
//
// The elements must be literal numbers (or booleans for bool) that fit the dtype; a float
// element may also be "NaN", "Infinity" or "-Infinity", which JSON has no numbers for.
func tensorLiteral(v *vnode, what string) (abi.Tensor, error) {
	if v.hasRef {
		return abi.Tensor{}, litErrorf(nil, "a %s holds literal numbers only, not references", what)
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
					return abi.Tensor{}, litErrorf(x, "%s dtype must be a name such as float64", what)
				}
				d, err := abi.ParseDType(s)
				if err != nil {
					return abi.Tensor{}, litErrorf(x, "%s dtype: %s", what, trimPkg(err))
				}
				dtype = d
			case "shape":
				shapeNode = x
			case "data":
				data = x
			default:
				return abi.Tensor{}, litErrorf(x, "%s has no field %q (it has dtype, shape and data)", what, k)
			}
		}
		if data == nil {
			return abi.Tensor{}, litErrorf(nil, "%s needs data", what)
		}
	}
	var flat []*vnode
	shape, err := nestedShape(data, &flat, 0, what)
	if err != nil {
		return abi.Tensor{}, err
	}
	if shapeNode != nil {
		given, err := shapeOf(shapeNode, what)
		if err != nil {
			return abi.Tensor{}, err
		}
		n := uint64(1)
		for _, s := range given {
			n *= uint64(s)
			if n > math.MaxUint32 {
				return abi.Tensor{}, litErrorf(shapeNode, "%s shape %v has over 2^32-1 elements", what, given)
			}
		}
		if len(shape) > 1 && !slices.Equal(shape, given) {
			return abi.Tensor{}, litErrorf(data, "%s data has shape %v, but shape says %v", what, shape, given)
		}
		if uint64(len(flat)) != n {
			return abi.Tensor{}, litErrorf(data, "%s of shape %v needs %d elements, data has %d", what, given, n, len(flat))
		}
		shape = given
	}
	t := abi.Tensor{DType: dtype, Shape: shape, Data: make([]byte, 0, len(flat)*dtype.Size())}
	for i, x := range flat {
		if t.Data, err = appendElement(t.Data, dtype, x.lit); err != nil {
			return abi.Tensor{}, litErrorf(x, "%s element %d: %v", what, i, err)
		}
	}
	if err := t.Validate(); err != nil {
		return abi.Tensor{}, litErrorf(nil, "%s: %s", what, trimPkg(err))
	}
	return t, nil
}

// nestedShape flattens nested lists of scalars into flat and returns their shape, which must
// be rectangular; a scalar has shape [].
func nestedShape(v *vnode, flat *[]*vnode, depth int, what string) ([]int, error) {
	if depth > abi.MaxTensorDims {
		return nil, litErrorf(v, "%s data nests deeper than %d dimensions", what, abi.MaxTensorDims)
	}
	switch v.kind {
	case vLit:
		*flat = append(*flat, v)
		return nil, nil
	case vList:
		var inner []int
		for i, x := range v.items {
			s, err := nestedShape(x, flat, depth+1, what)
			if err != nil {
				return nil, err
			}
			if i > 0 && !slices.Equal(s, inner) {
				return nil, litErrorf(x, "%s data is ragged: element %d has shape %v, element 0 has %v", what, i, s, inner)
			}
			inner = s
		}
		return append([]int{len(v.items)}, inner...), nil
	}
	return nil, litErrorf(v, "%s data must be numbers or nested lists of numbers, not a map", what)
}

// shapeOf reads an explicit shape: a list of non-negative integers.
func shapeOf(v *vnode, what string) ([]int, error) {
	if v.kind != vList {
		return nil, litErrorf(v, "%s shape must be a list of sizes", what)
	}
	if len(v.items) > abi.MaxTensorDims {
		return nil, litErrorf(v, "%s shape has %d dimensions, at most %d are allowed", what, len(v.items), abi.MaxTensorDims)
	}
	shape := make([]int, len(v.items))
	for i, x := range v.items {
		n, ok := x.lit.(int64)
		if !ok || n < 0 || n > math.MaxUint32 {
			return nil, litErrorf(x, "%s shape must be a list of sizes from 0 to 2^32-1, element %d is %s", what, i, litText(x.lit))
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
			return nil, fmt.Errorf("%s is not true or false", litText(x))
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
	case string:
		f, ok := jsonFloatName[x]
		if !ok || (d != abi.Float64 && d != abi.Float32) {
			return nil, fmt.Errorf("%s is not a number", litText(x))
		}
		return appendElement(dst, d, f)
	case float64:
		f = x
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			i, isInt = int64(x), true
			if x >= 0 {
				u, isUint = uint64(x), true
			}
		}
	default:
		return nil, fmt.Errorf("%s is not a number", litText(x))
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
			return nil, fmt.Errorf("%s does not fit %s", litText(x), d)
		}
		u = uint64(i)
	} else if !isUint || (bitsOf < 64 && u >= 1<<bitsOf) {
		return nil, fmt.Errorf("%s does not fit %s", litText(x), d)
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

// jsonFloatName maps the strings that stand for the floats JSON has no numbers for.
var jsonFloatName = map[string]float64{"NaN": math.NaN(), "Infinity": math.Inf(1), "-Infinity": math.Inf(-1)}

// litText shows a literal in an error message: strings quoted, nil as null.
func litText(x any) string {
	switch x := x.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case nil:
		return "null"
	case []byte:
		return "binary data"
	}
	return fmt.Sprint(x)
}

// Tagged values. A JSON value cannot carry a YAML tag, so a tensor or a table is written as a
// map whose only key names the kind of value: {"$tensor": …} or {"$table": …}. To write a plain
// map whose only key is one of those names, add a $: {"$$tensor": 1} is the map {"$tensor": 1},
// and {"$$$tensor": 1} the map {"$$tensor": 1}. Maps of other keys, or of more than one key,
// are never touched.

// TaggedKey reports which tagged value a one-key map with key k is ("$tensor" or "$table"),
// or that it is an escaped plain map (escaped), or neither.
func TaggedKey(k string) (tag string, escaped bool) {
	name := strings.TrimLeft(k, "$")
	if name != "tensor" && name != "table" {
		return "", false
	}
	switch len(k) - len(name) {
	case 0:
		return "", false
	case 1:
		return k, false
	}
	return "", true
}

// taggedMap returns the value a graph file's map v stands for: a tensor or a table for
// {"$tensor": …} or {"$table": …}, the map with one $ less in its key for an escaped one, and v
// itself otherwise.
func taggedMap(v *vnode) (*vnode, error) {
	if v.kind != vMap || len(v.keys) != 1 {
		return v, nil
	}
	tag, escaped := TaggedKey(v.keys[0])
	switch {
	case escaped:
		v.keys[0] = v.keys[0][1:]
		return v, nil
	case tag == "":
		return v, nil
	}
	x := v.items[0]
	if x.hasRef {
		return nil, litErrorf(nil, "a %s holds literal values only, not references (a string that starts with $ is written with $$)", tag)
	}
	var lit any
	var err error
	if tag == "$tensor" {
		lit, err = tensorLiteral(x, tag)
	} else {
		lit, err = tableLiteral(x)
	}
	if err != nil {
		return nil, err
	}
	return &vnode{kind: vLit, pos: v.pos, lit: lit, literal: true}, nil
}

// literalNode turns a value decoded from JSON into a vnode (without positions), so that the
// literals of command-line arguments are built by the code that builds a graph file's.
func literalNode(v any) *vnode {
	switch v := v.(type) {
	case []any:
		n := &vnode{kind: vList, items: make([]*vnode, len(v))}
		for i, x := range v {
			n.items[i] = literalNode(x)
		}
		return n
	case map[string]any:
		n := &vnode{kind: vMap}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			n.keys = append(n.keys, k)
			n.keyPos = append(n.keyPos, pos{})
			n.items = append(n.items, literalNode(v[k]))
		}
		return n
	}
	return &vnode{kind: vLit, lit: v, literal: true}
}
