package tensor

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/mrun-dev/mrun/abi"
)

// number is the set of element types arithmetic works on (every dtype but bool).
type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// littleEndian reports whether the host stores numbers little-endian, as tensors do. The
// kernels read and write tensor bytes in place, so they refuse to run on other hosts.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

var errBigEndian = fmt.Errorf("tensor: kernels need a little-endian host")

// alloc returns a new tensor of dtype T and the given shape, and its elements as a []T that
// shares the tensor's bytes.
func alloc[T abi.Element](shape []int) (abi.Tensor, []T) {
	n := 1
	for _, s := range shape {
		n *= s
	}
	xs := make([]T, n)
	var zero T
	var data []byte
	if n > 0 {
		data = unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), n*int(unsafe.Sizeof(zero)))
	} else {
		data = []byte{}
	}
	return abi.Tensor{DType: abi.DTypeOf[T](), Shape: append([]int{}, shape...), Data: data}, xs
}

// view returns the elements of t, which must hold T, sharing its bytes when they are aligned.
// Bool tensors are read through bools, never through view.
func view[T abi.Element](t abi.Tensor) []T {
	xs, err := abi.Elements[T](t)
	if err != nil {
		panic(err) // callers dispatch on t.DType and validated t: unreachable
	}
	return xs
}

// bools returns the elements of a bool tensor as Go bools: any non-zero byte is true.
func bools(t abi.Tensor) []bool {
	out := make([]bool, len(t.Data))
	for i, b := range t.Data {
		out[i] = b != 0
	}
	return out
}

func isFloat(d abi.DType) bool  { return d == abi.Float32 || d == abi.Float64 }
func isSigned(d abi.DType) bool { return d >= abi.Int8 && d <= abi.Int64 }
func isUnsigned(d abi.DType) bool {
	return d >= abi.Uint8 && d <= abi.Uint64
}
func isInt(d abi.DType) bool { return isSigned(d) || isUnsigned(d) }

// signedOfSize returns the signed integer dtype of n bytes, or Float64 past 8.
func signedOfSize(n int) abi.DType {
	switch {
	case n <= 1:
		return abi.Int8
	case n <= 2:
		return abi.Int16
	case n <= 4:
		return abi.Int32
	case n <= 8:
		return abi.Int64
	}
	return abi.Float64
}

// promote returns the dtype NumPy's promote_types gives for a and b.
func promote(a, b abi.DType) abi.DType {
	switch {
	case a == b:
		return a
	case a == abi.Bool:
		return b
	case b == abi.Bool:
		return a
	case isFloat(a) || isFloat(b):
		if a == abi.Float64 || b == abi.Float64 {
			return abi.Float64
		}
		other := a // one is float32, the other an integer
		if a == abi.Float32 {
			other = b
		}
		if other.Size() <= 2 {
			return abi.Float32
		}
		return abi.Float64
	case isSigned(a) == isSigned(b):
		if a.Size() >= b.Size() {
			return a
		}
		return b
	}
	s, u := a, b
	if isUnsigned(a) {
		s, u = b, a
	}
	if u.Size() < s.Size() {
		return s
	}
	return signedOfSize(2 * u.Size())
}

// floatResult returns the dtype of a floating-point function (sqrt, mean, true division) of
// dtype d: d itself for floats, float64 for integers and bools.
func floatResult(d abi.DType) abi.DType {
	if isFloat(d) {
		return d
	}
	return abi.Float64
}

// cast returns t converted to dtype d (t itself when it already has it). Conversions follow
// NumPy's astype: floats to integers truncate toward zero, numbers to bool test for non-zero.
func cast(t abi.Tensor, d abi.DType) abi.Tensor {
	if t.DType == d {
		return t
	}
	switch d {
	case abi.Int8:
		return castTo[int8](t)
	case abi.Int16:
		return castTo[int16](t)
	case abi.Int32:
		return castTo[int32](t)
	case abi.Int64:
		return castTo[int64](t)
	case abi.Uint8:
		return castTo[uint8](t)
	case abi.Uint16:
		return castTo[uint16](t)
	case abi.Uint32:
		return castTo[uint32](t)
	case abi.Uint64:
		return castTo[uint64](t)
	case abi.Float32:
		return castTo[float32](t)
	case abi.Float64:
		return castTo[float64](t)
	}
	out, dst := alloc[bool](t.Shape)
	toBool(t, dst)
	return out
}

func castTo[D number](t abi.Tensor) abi.Tensor {
	out, dst := alloc[D](t.Shape)
	switch t.DType {
	case abi.Int8:
		convert(dst, view[int8](t))
	case abi.Int16:
		convert(dst, view[int16](t))
	case abi.Int32:
		convert(dst, view[int32](t))
	case abi.Int64:
		convert(dst, view[int64](t))
	case abi.Uint8:
		convert(dst, view[uint8](t))
	case abi.Uint16:
		convert(dst, view[uint16](t))
	case abi.Uint32:
		convert(dst, view[uint32](t))
	case abi.Uint64:
		convert(dst, view[uint64](t))
	case abi.Float32:
		convert(dst, view[float32](t))
	case abi.Float64:
		convert(dst, view[float64](t))
	case abi.Bool:
		for i, b := range t.Data {
			if b != 0 {
				dst[i] = 1
			}
		}
	}
	return out
}

func convert[D, S number](dst []D, src []S) {
	for i, v := range src {
		dst[i] = D(v)
	}
}

func toBool(t abi.Tensor, dst []bool) {
	switch t.DType {
	case abi.Float32:
		for i, v := range view[float32](t) {
			dst[i] = v != 0
		}
	case abi.Float64:
		for i, v := range view[float64](t) {
			dst[i] = v != 0
		}
	default: // integers and bools: any non-zero byte of an element makes it true
		size := t.DType.Size()
		for i := range dst {
			for _, b := range t.Data[i*size : (i+1)*size] {
				if b != 0 {
					dst[i] = true
					break
				}
			}
		}
	}
}

// scalarTensor returns a 0-d tensor of dtype d holding v (a float64, int64, uint64 or bool).
func scalarTensor(v any, d abi.DType) (abi.Tensor, error) {
	var src abi.Tensor
	switch x := v.(type) {
	case float64:
		src, _ = abi.NewTensor([]int{}, []float64{x})
	case int64:
		src, _ = abi.NewTensor([]int{}, []int64{x})
	case uint64:
		src, _ = abi.NewTensor([]int{}, []uint64{x})
	case bool:
		src, _ = abi.NewTensor([]int{}, []bool{x})
	default:
		return abi.Tensor{}, fmt.Errorf("tensor: a scalar must be a number or a bool, got %T", v)
	}
	return cast(src, d), nil
}

// float64At returns element i of t as a float64, for errors and small scalars.
func float64At(t abi.Tensor, i int) float64 {
	one := abi.Tensor{DType: t.DType, Shape: []int{}, Data: t.Data[i*t.DType.Size() : (i+1)*t.DType.Size()]}
	f := cast(one, abi.Float64)
	return math.Float64frombits(leUint64(f.Data))
}

func leUint64(b []byte) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// MaxChunkElements is the most elements of a chunk a kernel makes (256 MiB of float64): a
// kernel asked for a bigger one (by a shape in its arguments, or by broadcasting) fails
// instead of exhausting memory.
const MaxChunkElements = 1 << 25

// checkSize reports whether a chunk of the given shape is within MaxChunkElements.
func checkSize(shape []int) error {
	n := uint64(1)
	for _, s := range shape {
		if s < 0 {
			return fmt.Errorf("tensor: shape %v has a negative size", shape)
		}
		if s == 0 {
			return nil
		}
		if n *= uint64(s); n > MaxChunkElements {
			return fmt.Errorf("tensor: a chunk of shape %v is over the limit of %d elements per chunk: use smaller chunks", shape, MaxChunkElements)
		}
	}
	return nil
}
