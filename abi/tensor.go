package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// ExtTensor is the MessagePack extension type of an n-dimensional array (ABI.md section 5.3).
const ExtTensor int8 = 4

// MaxTensorDims is the largest number of dimensions a tensor may have.
const MaxTensorDims = 32

// tensorHeader is the size of a tensor payload's fixed header, before its shape.
const tensorHeader = 8

// DType is the element type of a Tensor; its value is the code ABI.md section 5.3 assigns.
type DType uint8

// The element types of ABI.md section 5.3. Every element is stored little-endian.
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

var dtypeNames = [...]string{"", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
	"uint64", "float32", "float64", "bool"}

var dtypeSizes = [...]int{0, 1, 2, 4, 8, 1, 2, 4, 8, 4, 8, 1}

// Valid reports whether d is one of the element types ABI.md defines.
func (d DType) Valid() bool { return d >= Int8 && d <= Bool }

// String returns the NumPy-style name of d ("float64"), or "dtype(N)" for an unknown code.
func (d DType) String() string {
	if d.Valid() {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", uint8(d))
}

// Size returns the size of one element in bytes, or 0 for an unknown code.
func (d DType) Size() int {
	if d.Valid() {
		return dtypeSizes[d]
	}
	return 0
}

// ParseDType returns the DType named s ("float64", "int32", "bool", …).
func ParseDType(s string) (DType, error) {
	for d := Int8; d <= Bool; d++ {
		if dtypeNames[d] == s {
			return d, nil
		}
	}
	return 0, fmt.Errorf("abi: unknown dtype %q (want one of %s)", s, strings.Join(dtypeNames[1:], ", "))
}

// Element is the set of Go types a Tensor can hold, each with its DType.
type Element interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64 | ~bool
}

// DTypeOf returns the DType that holds elements of type T.
func DTypeOf[T Element]() DType {
	var zero T
	switch reflect.TypeOf(zero).Kind() {
	case reflect.Int8:
		return Int8
	case reflect.Int16:
		return Int16
	case reflect.Int32:
		return Int32
	case reflect.Int64:
		return Int64
	case reflect.Uint8:
		return Uint8
	case reflect.Uint16:
		return Uint16
	case reflect.Uint32:
		return Uint32
	case reflect.Uint64:
		return Uint64
	case reflect.Float32:
		return Float32
	case reflect.Float64:
		return Float64
	}
	return Bool
}

// Tensor is an n-dimensional array of numbers: the value of MessagePack extension type
// ExtTensor. Data holds the elements in row-major order, little-endian, exactly
// Len()·DType.Size() bytes. A Tensor passed as an argument is encoded as one extension value,
// and a task's tensor result decodes to a Tensor; its bytes travel between tasks untouched.
type Tensor struct {
	DType DType
	Shape []int
	Data  []byte
}

// NewTensor returns a tensor of the given shape holding a copy of data, which must have exactly
// as many elements as the shape describes.
func NewTensor[T Element](shape []int, data []T) (Tensor, error) {
	d := DTypeOf[T]()
	n, err := shapeLen(shape, d)
	if err != nil {
		return Tensor{}, err
	}
	if uint64(len(data)) != n {
		return Tensor{}, fmt.Errorf("abi: tensor of shape %v needs %d elements, got %d", shape, n, len(data))
	}
	t := Tensor{DType: d, Shape: append([]int(nil), shape...), Data: make([]byte, len(data)*d.Size())}
	if len(data) > 0 {
		if littleEndian {
			copy(t.Data, unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), len(t.Data)))
		} else {
			putElements(t.Data, data)
		}
	}
	return t, nil
}

// Len returns the number of elements: the product of the shape, 1 for a scalar (no dimensions).
func (t Tensor) Len() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}

// Validate reports whether t is a well-formed tensor: a known dtype, at most MaxTensorDims
// non-negative dimensions, and exactly Len()·DType.Size() bytes of data.
func (t Tensor) Validate() error {
	n, err := shapeLen(t.Shape, t.DType)
	if err != nil {
		return err
	}
	if uint64(len(t.Data)) != n*uint64(t.DType.Size()) {
		return fmt.Errorf("abi: %s tensor of shape %v needs %d bytes of data, has %d",
			t.DType, t.Shape, n*uint64(t.DType.Size()), len(t.Data))
	}
	return nil
}

// Elements returns the elements of t as a []T, where T must match t's dtype. The slice shares
// t.Data when the host is little-endian and the data is suitably aligned; otherwise the
// elements are copied once. Either way nothing is decoded element by element on
// little-endian hosts.
func Elements[T Element](t Tensor) ([]T, error) {
	want := DTypeOf[T]()
	if t.DType != want {
		var zero T
		return nil, fmt.Errorf("abi: tensor holds %s, not %s (%T)", t.DType, want, zero)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	n := len(t.Data) / want.Size()
	if n == 0 {
		return []T{}, nil
	}
	var zero T
	if littleEndian && uintptr(unsafe.Pointer(&t.Data[0]))%unsafe.Alignof(zero) == 0 {
		return unsafe.Slice((*T)(unsafe.Pointer(&t.Data[0])), n), nil
	}
	out := make([]T, n)
	if littleEndian {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), len(t.Data)), t.Data)
		return out, nil
	}
	getElements(out, t.Data)
	return out, nil
}

// Float64s returns the elements of a float64 tensor; see Elements.
func (t Tensor) Float64s() ([]float64, error) { return Elements[float64](t) }

// String describes t without its data: "float64[10 10]".
func (t Tensor) String() string { return fmt.Sprintf("%s%v", t.DType, t.Shape) }

// EncodeMsgpack writes t as one extension value of type ExtTensor.
func (t Tensor) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := t.Validate(); err != nil {
		return err
	}
	hdr := t.appendHeader(make([]byte, 0, tensorHeader+8*len(t.Shape)))
	size := len(hdr) + len(t.Data)
	if uint64(size) > math.MaxUint32 {
		return fmt.Errorf("abi: tensor of %d bytes is over the 4 GiB a MessagePack extension holds", size)
	}
	if err := enc.EncodeExtHeader(ExtTensor, size); err != nil {
		return err
	}
	w := enc.Writer()
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	_, err := w.Write(t.Data)
	return err
}

// AppendTensor appends t to dst as one MessagePack extension value, in canonical form.
func AppendTensor(dst []byte, t Tensor) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	size := uint64(tensorHeader + 8*len(t.Shape) + len(t.Data))
	if size > math.MaxUint32 {
		return nil, fmt.Errorf("abi: tensor of %d bytes is over the 4 GiB a MessagePack extension holds", size)
	}
	dst = appendLenHeader(dst, kExt, size, ExtTensor)
	dst = t.appendHeader(dst)
	return append(dst, t.Data...), nil
}

func (t Tensor) appendHeader(dst []byte) []byte {
	dst = append(dst, byte(t.DType), byte(len(t.Shape)), 0, 0, 0, 0, 0, 0)
	for _, s := range t.Shape {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(s))
	}
	return dst
}

// errTensor is wrapped by every complaint about a tensor payload.
var errTensor = errors.New("tensor")

// parseTensor checks a tensor payload (ABI.md section 5.3) and returns its dtype, shape and
// element bytes; data aliases p.
func parseTensor(p []byte) (DType, []int, []byte, error) {
	if len(p) < tensorHeader {
		return 0, nil, nil, fmt.Errorf("%w payload of %d bytes is shorter than its %d-byte header", errTensor, len(p), tensorHeader)
	}
	d, ndim := DType(p[0]), int(p[1])
	if !d.Valid() {
		return 0, nil, nil, fmt.Errorf("%w has unknown dtype code %d", errTensor, p[0])
	}
	if ndim > MaxTensorDims {
		return 0, nil, nil, fmt.Errorf("%w has %d dimensions, at most %d are allowed", errTensor, ndim, MaxTensorDims)
	}
	for _, c := range p[2:tensorHeader] {
		if c != 0 {
			return 0, nil, nil, fmt.Errorf("%w header padding is not zero", errTensor)
		}
	}
	if len(p) < tensorHeader+8*ndim {
		return 0, nil, nil, fmt.Errorf("%w payload of %d bytes cannot hold %d dimensions", errTensor, len(p), ndim)
	}
	shape := make([]int, ndim)
	n := uint64(1)
	for k := range shape {
		s := binary.LittleEndian.Uint64(p[tensorHeader+8*k:])
		if s > math.MaxUint32 {
			return 0, nil, nil, fmt.Errorf("%w dimension %d has size %d, over 2^32-1", errTensor, k, s)
		}
		n, shape[k] = n*s, int(s) // n*s < 2^64: the product so far fits in the data's length
		if n > math.MaxUint32 {
			return 0, nil, nil, fmt.Errorf("%w of shape %v has over 2^32-1 elements", errTensor, shape[:k+1])
		}
	}
	data := p[tensorHeader+8*ndim:]
	if want := n * uint64(d.Size()); want != uint64(len(data)) {
		return 0, nil, nil, fmt.Errorf("%w of %s%v needs %d bytes of data, has %d", errTensor, d, shape, n*uint64(d.Size()), len(data))
	}
	return d, shape, data, nil
}

// shapeLen returns the number of elements of shape, checking it for a tensor of dtype d.
func shapeLen(shape []int, d DType) (uint64, error) {
	if !d.Valid() {
		return 0, fmt.Errorf("abi: unknown tensor dtype code %d", uint8(d))
	}
	if len(shape) > MaxTensorDims {
		return 0, fmt.Errorf("abi: tensor has %d dimensions, at most %d are allowed", len(shape), MaxTensorDims)
	}
	n := uint64(1)
	for _, s := range shape {
		if s < 0 {
			return 0, fmt.Errorf("abi: tensor shape %v has a negative size", shape)
		}
		if uint64(s) > math.MaxUint32 || n*uint64(s) > math.MaxUint32 {
			return 0, fmt.Errorf("abi: tensor shape %v has over 2^32-1 elements", shape)
		}
		n *= uint64(s)
	}
	return n, nil
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// putElements stores data little-endian into b, for big-endian hosts.
func putElements[T Element](b []byte, data []T) {
	_, _ = binary.Encode(b, binary.LittleEndian, data) // b is sized for data
}

// getElements loads little-endian b into out, for big-endian hosts.
func getElements[T Element](out []T, b []byte) {
	_, _ = binary.Decode(b, binary.LittleEndian, out) // out is sized for b
}

func init() {
	msgpack.RegisterExtDecoder(ExtTensor, Tensor{}, func(dec *msgpack.Decoder, v reflect.Value, extLen int) error {
		p := make([]byte, extLen)
		if err := dec.ReadFull(p); err != nil {
			return err
		}
		d, shape, data, err := parseTensor(p)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		v.Set(reflect.ValueOf(Tensor{DType: d, Shape: shape, Data: data}))
		return nil
	})
}
