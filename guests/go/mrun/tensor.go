package mrun

import (
	"fmt"
	"math"
	"math/bits"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// Tensors are ext type 4 (ABI.md section 5.3): a header of dtype, ndim, six zero bytes and the
// shape, then the raw little-endian elements. A Tensor keeps the elements as bytes, aligned for
// their dtype, so a typed view is an unsafe.Slice over them: no element is ever decoded one by
// one. WebAssembly (and every host these tests run on) is little-endian, so the bytes of the
// frame are the elements as Go lays them out in memory.

// extTensor is the ext type of a tensor.
const extTensor int8 = 4

// maxTensorDims is the largest ndim a tensor may have.
const maxTensorDims = 32

// DType is the element type of a [Tensor]; its value is the code of ABI.md section 5.3.
type DType uint8

// The dtypes of ABI.md section 5.3. The zero DType is the dtype of the zero Tensor, which
// holds nothing.
const (
	Int8    DType = 1
	Int16   DType = 2
	Int32   DType = 3
	Int64   DType = 4
	Uint8   DType = 5
	Uint16  DType = 6
	Uint32  DType = 7
	Uint64  DType = 8
	Float32 DType = 9
	Float64 DType = 10
	Bool    DType = 11
)

var dtypeNames = [...]string{
	Int8: "int8", Int16: "int16", Int32: "int32", Int64: "int64",
	Uint8: "uint8", Uint16: "uint16", Uint32: "uint32", Uint64: "uint64",
	Float32: "float32", Float64: "float64", Bool: "bool",
}

var dtypeSizes = [...]uint8{
	Int8: 1, Int16: 2, Int32: 4, Int64: 8,
	Uint8: 1, Uint16: 2, Uint32: 4, Uint64: 8,
	Float32: 4, Float64: 8, Bool: 1,
}

// String returns the dtype's name, as in the ABI's table: "float64", "int32", "bool".
func (d DType) String() string {
	if int(d) < len(dtypeNames) && dtypeNames[d] != "" {
		return dtypeNames[d]
	}
	return "dtype(" + strconv.Itoa(int(d)) + ")"
}

// Size returns the size of one element in bytes, or 0 for a code that is not a dtype.
func (d DType) Size() int {
	if int(d) < len(dtypeSizes) {
		return int(dtypeSizes[d])
	}
	return 0
}

// Element is the set of Go types a [Tensor] can hold: the fixed-size numbers, bool, and int
// and uint as the 64-bit integers they are in a wasm guest.
type Element interface {
	int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64 | bool | int | uint
}

// dtypeOf returns the dtype of T.
func dtypeOf[T Element]() DType {
	var zero T
	switch any(zero).(type) {
	case int8:
		return Int8
	case int16:
		return Int16
	case int32:
		return Int32
	case int64:
		return Int64
	case uint8:
		return Uint8
	case uint16:
		return Uint16
	case uint32:
		return Uint32
	case uint64:
		return Uint64
	case float32:
		return Float32
	case float64:
		return Float64
	case bool:
		return Bool
	case int:
		if unsafe.Sizeof(zero) == 8 {
			return Int64
		}
		return Int32
	case uint:
		if unsafe.Sizeof(zero) == 8 {
			return Uint64
		}
		return Uint32
	}
	return 0
}

// Tensor is an n-dimensional array of numbers: a dtype, a shape and the elements in row-major
// order. It crosses the host/guest boundary as one ext-4 value whose payload is the raw array
// (ABI.md section 5.3), so a 64 MiB matrix is copied at most once and never decoded element by
// element.
//
// A Tensor is a small value that refers to its elements; copying it does not copy them. A
// function takes tensors as parameters of type Tensor (or *Tensor, to accept nil), returns
// them as results, passes them to [Spawn], and receives them in an any parameter as a Tensor.
//
//	func tensor_sum(t mrun.Tensor) (float64, error) // an error unless t is float64
//
// Lifetime: a Tensor received as an argument (or keyword argument) is valid only until the
// function returns, because its elements are read where the host wrote them when they are
// aligned there, and are otherwise copied once to a buffer of the SDK; the next call reuses
// both. [Tensor.Clone] it to keep it longer (in a package variable, say). Tensors from
// [NewTensor], [TensorFromBytes] and [Object.Fetch] have no such limit.
//
// The zero Tensor holds nothing: its DType is 0, and it is encoded as nil.
type Tensor struct {
	dtype DType
	shape []int
	data  []byte // len = elements × size, aligned for the dtype
}

var tensorType = reflect.TypeFor[Tensor]()

// NewTensor returns the tensor of the given shape whose elements, in row-major order, are data.
// The tensor shares data's memory. len(data) must be the product of the shape (1 for the empty
// shape, a scalar), every size must be at least 0, and there may be at most 32 of them:
//
//	m, err := mrun.NewTensor([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6}) // [[1 2 3] [4 5 6]]
func NewTensor[T Element](shape []int, data []T) (Tensor, error) {
	dtype := dtypeOf[T]()
	n, err := checkShape(dtype, shape)
	if err != nil {
		return Tensor{}, err
	}
	if uint64(len(data)) != n {
		return Tensor{}, fmt.Errorf("mrun: a tensor of shape %s has %d elements, got %d", shapeString(shape), n, len(data))
	}
	var b []byte
	if len(data) > 0 {
		b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), len(data)*dtype.Size())
	}
	return Tensor{dtype: dtype, shape: append(make([]int, 0, len(shape)), shape...), data: b}, nil
}

// TensorFromBytes returns the tensor of the given dtype and shape whose elements are the
// little-endian bytes data, in row-major order. It shares data's memory when data is aligned
// for the dtype and copies it otherwise. len(data) must be the product of the shape times the
// dtype's size, and the bytes of a Bool tensor must be 0 or 1.
func TensorFromBytes(dtype DType, shape []int, data []byte) (Tensor, error) {
	n, err := checkShape(dtype, shape)
	if err != nil {
		return Tensor{}, err
	}
	size := uint64(dtype.Size())
	if hi, lo := bits.Mul64(n, size); hi != 0 || lo != uint64(len(data)) {
		return Tensor{}, fmt.Errorf("mrun: a %s tensor of shape %s needs %d×%d bytes, got %d", dtype, shapeString(shape), n, size, len(data))
	}
	if dtype == Bool && !boolBytes(data) {
		return Tensor{}, fmt.Errorf("mrun: a bool tensor holds a byte other than 0 and 1")
	}
	if len(data) == 0 {
		data = []byte{}
	} else if !isAligned(data, dtype) {
		data = alignedCopy(data)
	}
	return Tensor{dtype: dtype, shape: append(make([]int, 0, len(shape)), shape...), data: data}, nil
}

// checkShape validates a dtype and a shape and returns the number of elements.
func checkShape(dtype DType, shape []int) (uint64, error) {
	if dtype.Size() == 0 {
		return 0, fmt.Errorf("mrun: unknown tensor dtype %d", uint8(dtype))
	}
	if len(shape) > maxTensorDims {
		return 0, fmt.Errorf("mrun: a tensor has at most %d dimensions, got %d", maxTensorDims, len(shape))
	}
	n := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("mrun: tensor shape %s has a negative size", shapeString(shape))
		}
		hi, lo := bits.Mul64(n, uint64(d))
		if hi != 0 || lo > math.MaxInt {
			return 0, fmt.Errorf("mrun: tensor shape %s has too many elements", shapeString(shape))
		}
		n = lo
	}
	return n, nil
}

// DType returns the type of t's elements; 0 for the zero Tensor.
func (t Tensor) DType() DType { return t.dtype }

// Shape returns a copy of t's shape, outermost dimension first: [rows, columns] for a matrix,
// empty for a scalar.
func (t Tensor) Shape() []int { return append(make([]int, 0, len(t.shape)), t.shape...) }

// NDim returns the number of t's dimensions: 0 for a scalar, 2 for a matrix.
func (t Tensor) NDim() int { return len(t.shape) }

// Dim returns the size of t's dimension i (0 is the outermost); it panics if i is not below
// t.NDim().
func (t Tensor) Dim(i int) int { return t.shape[i] }

// Len returns the number of t's elements: the product of its shape.
func (t Tensor) Len() int {
	if t.dtype == 0 {
		return 0
	}
	return len(t.data) / t.dtype.Size()
}

// Bytes returns t's elements as little-endian bytes, in row-major order. It shares t's memory.
func (t Tensor) Bytes() []byte { return t.data }

// Clone returns a copy of t that shares no memory with it: keep a clone of a Tensor parameter
// to use it after the call.
func (t Tensor) Clone() Tensor {
	if t.dtype == 0 {
		return Tensor{}
	}
	c := Tensor{dtype: t.dtype, shape: t.Shape(), data: alignedBytes(len(t.data))}
	copy(c.data, t.data)
	return c
}

// String describes t by dtype and shape, as in "float64 tensor [2 3]", without its elements.
func (t Tensor) String() string {
	if t.dtype == 0 {
		return "zero tensor"
	}
	return t.dtype.String() + " tensor " + shapeString(t.shape)
}

func shapeString(shape []int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, d := range shape {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(d))
	}
	b.WriteByte(']')
	return b.String()
}

// Elements returns t's elements as a []T that shares t's memory, or an error if T is not
// t's dtype. int and uint match Int64 and Uint64 (their size in a wasm guest).
//
//	xs, err := mrun.Elements[float64](t)
func Elements[T Element](t Tensor) ([]T, error) {
	if want := dtypeOf[T](); t.dtype != want {
		return nil, fmt.Errorf("mrun: a %s is not a %s tensor", t, want)
	}
	return view[T](t.data), nil
}

// view reinterprets data, which is aligned for T, as a []T.
func view[T Element](data []byte) []T {
	var zero T
	if len(data) == 0 {
		return []T{}
	}
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(data))), len(data)/int(unsafe.Sizeof(zero)))
}

// mustView is the typed views' check of the dtype.
func mustView[T Element](t Tensor, want DType) []T {
	if t.dtype != want {
		panic("mrun: " + want.String() + "s of a " + t.String() + ": check Tensor.DType first, or use mrun.Elements")
	}
	return view[T](t.data)
}

// The typed views return t's elements as a slice that shares t's memory (writing to it
// changes t), without copying or decoding them. Each panics if t's dtype is not its own, like
// reflect.Value's accessors: check [Tensor.DType] first, or use [Elements], which returns an
// error instead.

// Int8s returns the elements of an Int8 tensor; see the typed views above.
func (t Tensor) Int8s() []int8 { return mustView[int8](t, Int8) }

// Int16s returns the elements of an Int16 tensor.
func (t Tensor) Int16s() []int16 { return mustView[int16](t, Int16) }

// Int32s returns the elements of an Int32 tensor.
func (t Tensor) Int32s() []int32 { return mustView[int32](t, Int32) }

// Int64s returns the elements of an Int64 tensor.
func (t Tensor) Int64s() []int64 { return mustView[int64](t, Int64) }

// Uint8s returns the elements of a Uint8 tensor.
func (t Tensor) Uint8s() []uint8 { return mustView[uint8](t, Uint8) }

// Uint16s returns the elements of a Uint16 tensor.
func (t Tensor) Uint16s() []uint16 { return mustView[uint16](t, Uint16) }

// Uint32s returns the elements of a Uint32 tensor.
func (t Tensor) Uint32s() []uint32 { return mustView[uint32](t, Uint32) }

// Uint64s returns the elements of a Uint64 tensor.
func (t Tensor) Uint64s() []uint64 { return mustView[uint64](t, Uint64) }

// Float32s returns the elements of a Float32 tensor.
func (t Tensor) Float32s() []float32 { return mustView[float32](t, Float32) }

// Float64s returns the elements of a Float64 tensor.
func (t Tensor) Float64s() []float64 { return mustView[float64](t, Float64) }

// Bools returns the elements of a Bool tensor.
func (t Tensor) Bools() []bool { return mustView[bool](t, Bool) }

// alignedBytes returns n zero bytes aligned for any dtype.
func alignedBytes(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), n)
}

// isAligned reports whether data's elements are aligned for dtype.
func isAligned(data []byte, dtype DType) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(data)))%uintptr(dtype.Size()) == 0
}

// alignedCopy returns a copy of data aligned for any dtype.
func alignedCopy(data []byte) []byte {
	b := alignedBytes(len(data))
	copy(b, data)
	return b
}

// inputLife is how long the codec's input lives, which decides where a tensor's elements go.
type inputLife uint8

const (
	// inputCall is the argument frame, or the keyword arguments, of the running call: a tensor
	// refers to its elements where they are if they are aligned, and otherwise to a copy in the
	// codec's scratch buffer. Both are valid until the call returns, as the ABI allows.
	inputCall inputLife = iota
	// inputOwned is a buffer nothing else uses: a tensor refers to its elements when they are
	// aligned, and to a copy of its own otherwise.
	inputOwned
	// inputShared is a buffer that is reused (the fetch buffer): a tensor copies its elements.
	inputShared
)

// tensorData returns where the elements data of a tensor of dtype are kept: in place, in the
// scratch buffer or in a copy, according to c.src.
func (c *codec) tensorData(data []byte, dtype DType) []byte {
	switch {
	case len(data) == 0:
		return []byte{}
	case c.src != inputShared && isAligned(data, dtype):
		return data
	case c.src == inputCall:
		return c.scratchCopy(data)
	}
	return alignedCopy(data)
}

// scratchCopy copies data to the next aligned place of the scratch buffer. A full buffer is
// replaced by a larger one; the tensors of this call that refer to the old one keep it alive.
func (c *codec) scratchCopy(data []byte) []byte {
	n := (len(data) + 7) &^ 7
	if len(c.scratch)-c.scratchUsed < n {
		c.scratch, c.scratchUsed = alignedBytes(max(n, 2*len(c.scratch), 4096)), 0
	}
	b := c.scratch[c.scratchUsed : c.scratchUsed+len(data) : c.scratchUsed+len(data)]
	c.scratchUsed += n
	copy(b, data)
	return b
}

// boolBytes reports whether every byte of p is 0 or 1.
func boolBytes(p []byte) bool {
	var or byte
	for _, b := range p {
		or |= b
	}
	return or <= 1
}

// parseTensor checks an ext-4 payload against ABI.md section 5.3 and returns its tensor, whose
// elements are still in p, aligned or not: the caller decides where they go.
func parseTensor(p []byte) (Tensor, error) {
	bad := func(format string, a ...any) (Tensor, error) {
		return Tensor{}, &decodeError{msg: "malformed tensor: " + fmt.Sprintf(format, a...)}
	}
	if len(p) < 8 {
		return bad("a payload of %d bytes is shorter than the 8-byte header", len(p))
	}
	dtype, ndim := DType(p[0]), int(p[1])
	size := dtype.Size()
	if size == 0 {
		return bad("unknown dtype %d", p[0])
	}
	if ndim > maxTensorDims {
		return bad("%d dimensions, more than %d", ndim, maxTensorDims)
	}
	if p[2]|p[3]|p[4]|p[5]|p[6]|p[7] != 0 {
		return bad("header bytes 2 to 7 are not zero")
	}
	head := 8 + 8*ndim
	if len(p) < head {
		return bad("a payload of %d bytes cannot hold the shape of %d dimensions", len(p), ndim)
	}
	shape := make([]int, ndim)
	n := uint64(1)
	for i := range shape {
		d := leUint64(p[8+8*i:])
		hi, lo := bits.Mul64(n, d)
		if d > math.MaxInt || hi != 0 || lo > math.MaxInt {
			return bad("shape %s has too many elements", shapeOfPayload(p, ndim))
		}
		shape[i], n = int(d), lo
	}
	data := p[head:]
	if hi, lo := bits.Mul64(n, uint64(size)); hi != 0 || lo != uint64(len(data)) {
		return bad("a %s tensor of shape %s needs %d×%d bytes of elements, got %d", dtype, shapeString(shape), n, size, len(data))
	}
	if dtype == Bool && !boolBytes(data) {
		return bad("a bool element is neither 0 nor 1")
	}
	return Tensor{dtype: dtype, shape: shape, data: data}, nil
}

// shapeOfPayload formats the shape of a payload whose sizes may not fit an int.
func shapeOfPayload(p []byte, ndim int) string {
	var b strings.Builder
	b.WriteByte('[')
	for i := range ndim {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatUint(leUint64(p[8+8*i:]), 10))
	}
	b.WriteByte(']')
	return b.String()
}

func leUint64(p []byte) uint64 {
	_ = p[7]
	return uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
		uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
}

// readTensor consumes a tensor. Its elements are read in place when the input lives long
// enough and they are aligned, and copied once otherwise (see tensorData).
func (c *codec) readTensor() (Tensor, error) {
	b, err := c.peek()
	if err != nil {
		return Tensor{}, err
	}
	if families[b] != famExt {
		return Tensor{}, mismatch(b, tensorType)
	}
	start := c.off
	id, n, err := c.extHeader()
	if err != nil {
		return Tensor{}, err
	}
	if id != extTensor {
		c.off = start
		return Tensor{}, &decodeError{msg: fmt.Sprintf("cannot decode ext type %d into mrun.Tensor", id)}
	}
	p, err := c.take(n)
	if err != nil {
		return Tensor{}, err
	}
	t, err := parseTensor(p)
	if err != nil {
		return Tensor{}, err
	}
	t.data = c.tensorData(t.data, t.dtype)
	return t, nil
}

func decodeTensor(c *codec, v reflect.Value) error {
	t, err := c.readTensor()
	if err == nil {
		*(*Tensor)(v.Addr().UnsafePointer()) = t // the codec decodes into addressable values
	}
	return err
}

// tensorHeader appends the ext header and the tensor header of t to b.
func tensorHeader(b []byte, t Tensor) ([]byte, error) {
	n := 8 + 8*len(t.shape) + len(t.data)
	switch {
	case n == 16:
		b = append(b, 0xd8, byte(extTensor))
	case n <= math.MaxUint8:
		b = append(b, 0xc7, byte(n), byte(extTensor))
	case n <= math.MaxUint16:
		b = append(b, 0xc8, byte(n>>8), byte(n), byte(extTensor))
	case uint64(n) <= math.MaxUint32:
		b = append(b, 0xc9, byte(n>>24), byte(n>>16), byte(n>>8), byte(n), byte(extTensor))
	default:
		return b, fmt.Errorf("a %s of %d bytes is too large for one value", t, n)
	}
	b = append(b, byte(t.dtype), byte(len(t.shape)), 0, 0, 0, 0, 0, 0)
	for _, d := range t.shape {
		u := uint64(d)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24), byte(u>>32), byte(u>>40), byte(u>>48), byte(u>>56))
	}
	return b, nil
}

// writeTensor appends t as one ext-4 value (nil for the zero Tensor): the elements are copied
// once, with the header in front of them.
func (c *codec) writeTensor(t Tensor) error {
	if t.dtype == 0 {
		c.writeNil()
		return nil
	}
	c.out.b = slices.Grow(c.out.b, 14+8*len(t.shape)+len(t.data))
	b, err := tensorHeader(c.out.b, t)
	if err != nil {
		return err
	}
	c.out.b = append(b, t.data...)
	return nil
}

// EncodeMsgpack writes t as ext type 4; it makes Tensor a msgpack.CustomEncoder, so that a
// Tensor inside a struct is encoded too. The SDK's own encoder does not need it.
func (t Tensor) EncodeMsgpack(enc *msgpack.Encoder) error {
	if t.dtype == 0 {
		return enc.EncodeNil()
	}
	head, err := tensorHeader(nil, t)
	if err != nil {
		return err
	}
	if _, err := enc.Writer().Write(head); err != nil {
		return err
	}
	_, err = enc.Writer().Write(t.data)
	return err
}

// DecodeMsgpack reads a tensor (ext type 4) into t, copying its elements; it makes *Tensor a
// msgpack.CustomDecoder, so that a Tensor inside a struct parameter decodes too.
func (t *Tensor) DecodeMsgpack(dec *msgpack.Decoder) error {
	id, n, err := dec.DecodeExtHeader()
	if err != nil {
		return err
	}
	if id != extTensor {
		return fmt.Errorf("cannot decode ext type %d into mrun.Tensor", id)
	}
	p := make([]byte, n)
	if err := dec.ReadFull(p); err != nil {
		return err
	}
	x, err := parseTensor(p)
	if err != nil {
		return err
	}
	if len(x.data) == 0 {
		x.data = []byte{}
	} else if !isAligned(x.data, x.dtype) { // p is x's own: it needs a copy only to align it
		x.data = alignedCopy(x.data)
	}
	*t = x
	return nil
}
