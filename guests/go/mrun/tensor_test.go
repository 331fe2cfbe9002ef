package mrun

import (
	"bytes"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unsafe"
)

// matrixHex is the 2×2 float64 matrix [[1, 2], [3, 4]] of ABI.md section 5.3.
const matrixHex = "c73804" + "0a02000000000000" + "0200000000000000" + "0200000000000000" +
	"000000000000f03f" + "0000000000000040" + "0000000000000840" + "0000000000001040"

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tensorPayload builds an ext-4 value from a header and element bytes, with the shortest ext
// header, the way the host writes it.
func tensorPayload(dtype DType, shape []uint64, data []byte) []byte {
	p := []byte{byte(dtype), byte(len(shape)), 0, 0, 0, 0, 0, 0}
	for _, d := range shape {
		for i := range 8 {
			p = append(p, byte(d>>(8*i)))
		}
	}
	p = append(p, data...)
	c := newCodec()
	switch n := len(p); {
	case n == 16:
		c.out.b = append(c.out.b, 0xd8, 4)
	case n < 256:
		c.out.b = append(c.out.b, 0xc7, byte(n), 4)
	default:
		c.out.b = append(c.out.b, 0xc8, byte(n>>8), byte(n), 4)
	}
	return append(c.out.b, p...)
}

// tensorFrame is the frame [[args...], {}] of already encoded arguments.
func tensorFrame(args ...[]byte) []byte {
	fr := []byte{0x92, 0x90 | byte(len(args))}
	for _, a := range args {
		fr = append(fr, a...)
	}
	return append(fr, 0x80)
}

func TestNewTensor(t *testing.T) {
	data := []float64{1, 2, 3, 4, 5, 6}
	m, err := NewTensor([]int{2, 3}, data)
	if err != nil {
		t.Fatal(err)
	}
	if m.DType() != Float64 || !reflect.DeepEqual(m.Shape(), []int{2, 3}) || m.NDim() != 2 || m.Dim(1) != 3 || m.Len() != 6 {
		t.Errorf("got %s, %v, ndim %d, len %d", m.DType(), m.Shape(), m.NDim(), m.Len())
	}
	if got := m.String(); got != "float64 tensor [2 3]" {
		t.Errorf("String() = %q", got)
	}
	if v := m.Float64s(); &v[0] != &data[0] {
		t.Error("Float64s copied the data of NewTensor")
	}
	m.Shape()[0] = 99
	if m.Dim(0) != 2 {
		t.Error("Shape returned the tensor's own slice")
	}
	c := m.Clone()
	c.Float64s()[0] = 100
	if data[0] != 1 || c.Float64s()[0] != 100 {
		t.Error("Clone shares memory")
	}

	scalar, err := NewTensor(nil, []int32{7})
	if err != nil || scalar.NDim() != 0 || scalar.Len() != 1 || scalar.DType() != Int32 {
		t.Errorf("scalar: %v, %v", scalar, err)
	}
	empty, err := NewTensor([]int{0, 5}, []float32{})
	if err != nil || empty.Len() != 0 || empty.Float32s() == nil {
		t.Errorf("empty: %v, %v", empty, err)
	}
	if b, err := NewTensor([]int{2}, []bool{true, false}); err != nil || !reflect.DeepEqual(b.Bools(), []bool{true, false}) {
		t.Errorf("bools: %v, %v", b, err)
	}
	if i, err := NewTensor([]int{1}, []int{-5}); err != nil || i.DType() != Int64 || i.Int64s()[0] != -5 {
		t.Errorf("int: %v, %v", i, err)
	}

	for _, tt := range []struct {
		shape []int
		n     int
		want  string
	}{
		{[]int{2, 3}, 5, "mrun: a tensor of shape [2 3] has 6 elements, got 5"},
		{nil, 0, "mrun: a tensor of shape [] has 1 elements, got 0"},
		{[]int{-1}, 0, "mrun: tensor shape [-1] has a negative size"},
		{make([]int, 33), 0, "mrun: a tensor has at most 32 dimensions, got 33"},
		{[]int{math.MaxInt, 3}, 0, "mrun: tensor shape [9223372036854775807 3] has too many elements"},
	} {
		_, err := NewTensor(tt.shape, make([]float64, tt.n))
		if err == nil || err.Error() != tt.want {
			t.Errorf("NewTensor(%v, %d elements) = %v, want %q", tt.shape, tt.n, err, tt.want)
		}
	}
}

func TestTensor_views(t *testing.T) {
	u, _ := NewTensor([]int{2}, []uint16{1, 0xffff})
	if got, err := Elements[uint16](u); err != nil || !reflect.DeepEqual(got, []uint16{1, 0xffff}) {
		t.Errorf("Elements[uint16] = %v, %v", got, err)
	}
	if !bytes.Equal(u.Bytes(), []byte{1, 0, 0xff, 0xff}) {
		t.Errorf("Bytes = %x: not little-endian", u.Bytes())
	}
	if _, err := Elements[float64](u); err == nil || err.Error() != "mrun: a uint16 tensor [2] is not a float64 tensor" {
		t.Errorf("Elements of the wrong dtype: %v", err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "float64s of a uint16 tensor [2]") {
			t.Errorf("Float64s of a uint16 tensor: recovered %v", r)
		}
	}()
	u.Float64s()
}

func TestTensorFromBytes(t *testing.T) {
	buf := alignedBytes(17)
	for i := range buf {
		buf[i] = byte(i)
	}
	x, err := TensorFromBytes(Uint64, []int{2}, buf[:16])
	if err != nil || &x.Bytes()[0] != &buf[0] {
		t.Errorf("aligned bytes: %v, copied %v", err, err == nil && &x.Bytes()[0] != &buf[0])
	}
	y, err := TensorFromBytes(Uint64, []int{2}, buf[1:17])
	if err != nil || &y.Bytes()[0] == &buf[1] || y.Uint64s()[0] != 0x0807060504030201 {
		t.Errorf("unaligned bytes: %v %v", y, err)
	}
	for _, tt := range []struct {
		dtype DType
		shape []int
		data  []byte
		want  string
	}{
		{12, nil, []byte{1}, "mrun: unknown tensor dtype 12"},
		{0, nil, []byte{1}, "mrun: unknown tensor dtype 0"},
		{Int16, []int{3}, make([]byte, 5), "mrun: a int16 tensor of shape [3] needs 3×2 bytes, got 5"},
		{Bool, []int{2}, []byte{1, 2}, "mrun: a bool tensor holds a byte other than 0 and 1"},
	} {
		if _, err := TensorFromBytes(tt.dtype, tt.shape, tt.data); err == nil || err.Error() != tt.want {
			t.Errorf("TensorFromBytes(%d, %v, %x) = %v, want %q", tt.dtype, tt.shape, tt.data, err, tt.want)
		}
	}
	if DType(0).String() != "dtype(0)" || Float32.String() != "float32" || DType(99).Size() != 0 {
		t.Error("DType names")
	}
}

func tensorSum(t Tensor) (float64, error) {
	if t.DType() != Float64 {
		return 0, errors.New("tensorSum: not float64")
	}
	var s float64
	for _, x := range t.Float64s() {
		s += x
	}
	return s, nil
}

func transpose(t Tensor) (Tensor, error) {
	r, c := t.Dim(0), t.Dim(1)
	in, out := t.Float64s(), make([]float64, r*c)
	for i := range r {
		for j := range c {
			out[j*r+i] = in[i*c+j]
		}
	}
	return NewTensor([]int{c, r}, out)
}

func scale(t Tensor, k float64) Tensor {
	out := make([]float64, t.Len())
	for i, x := range t.Float64s() {
		out[i] = x * k
	}
	s, _ := NewTensor(t.Shape(), out)
	return s
}

func maybe(t *Tensor) string {
	if t == nil {
		return "nil"
	}
	return t.String()
}

func TestCodec_call_tensor(t *testing.T) {
	matrix := mustHex(t, matrixHex)
	ints := tensorPayload(Int32, []uint64{3}, []byte{1, 0, 0, 0, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	empty := tensorPayload(Float64, []uint64{0, 4}, nil) // 16 bytes: fixext 16
	scalar := tensorPayload(Float64, nil, mustHex(t, "0000000000000440"))
	bools := tensorPayload(Bool, []uint64{2}, []byte{1, 0})
	tests := []struct {
		name string
		fn   any
		fr   []byte
		want string
	}{
		{"sum, direct path", tensorSum, tensorFrame(matrix), "cb4024000000000000"},
		{"sum of a scalar", tensorSum, tensorFrame(scalar), "cb4004000000000000"},
		{"sum of nothing", tensorSum, tensorFrame(empty), "cb0000000000000000"},
		{"identity keeps the bytes", identity, tensorFrame(matrix), matrixHex},
		{"identity of a fixext 16", identity, tensorFrame(empty), hex.EncodeToString(empty)},
		{"identity in a list", identity, tensorFrame(append(append([]byte{0x93}, ints...), append(bools, scalar...)...)),
			"93" + hex.EncodeToString(ints) + hex.EncodeToString(bools) + hex.EncodeToString(scalar)},
		{"tensor to tensor", transpose, tensorFrame(matrix),
			"c73804" + "0a02000000000000" + "0200000000000000" + "0200000000000000" +
				"000000000000f03f" + "0000000000000840" + "0000000000000040" + "0000000000001040"},
		{"reflective path", scale, tensorFrame(scalar, []byte{0x02}), hex.EncodeToString(tensorPayload(Float64, nil, mustHex(t, "0000000000001440")))},
		{"pointer", maybe, tensorFrame(matrix), hex.EncodeToString(encode(t, "float64 tensor [2 2]"))},
		{"nil pointer", maybe, tensorFrame([]byte{0xc0}), hex.EncodeToString(encode(t, "nil"))},
		{"zero tensor is nil", func() Tensor { return Tensor{} }, tensorFrame(), "c0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCodec()
			got, err := c.call(tt.fr, tt.fn)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if hex.EncodeToString(got) != tt.want {
				t.Errorf("got  %x\nwant %s", got, tt.want)
			}
		})
	}
}

func TestCodec_call_tensorErrors(t *testing.T) {
	ext := func(s string) []byte { return mustHex(t, s) }
	tests := []struct {
		name string
		fn   any
		fr   []byte
		want string
	}{
		{"not a tensor", tensorSum, tensorFrame([]byte{0x01}), "tensorSum: argument 1: cannot decode integer into mrun.Tensor"},
		{"nil", tensorSum, tensorFrame([]byte{0xc0}), "tensorSum: argument 1: cannot decode nil into mrun.Tensor"},
		{"another ext", tensorSum, tensorFrame(ext("d40501")), "tensorSum: argument 1: cannot decode ext type 5 into mrun.Tensor"},
		{"short payload", tensorSum, tensorFrame(ext("d604" + "0a000000")), "tensorSum: argument 1: malformed tensor: a payload of 4 bytes is shorter than the 8-byte header"},
		{"unknown dtype", tensorSum, tensorFrame(tensorPayload(12, nil, []byte{1})), "tensorSum: argument 1: malformed tensor: unknown dtype 12"},
		{"dtype 0", tensorSum, tensorFrame(tensorPayload(0, nil, []byte{1})), "tensorSum: argument 1: malformed tensor: unknown dtype 0"},
		{"too many dimensions", tensorSum, tensorFrame(tensorPayload(Float64, make([]uint64, 33), nil)), "tensorSum: argument 1: malformed tensor: 33 dimensions, more than 32"},
		{"padding", tensorSum, tensorFrame(ext("c709040a000000000001" + "00")), "tensorSum: argument 1: malformed tensor: header bytes 2 to 7 are not zero"},
		{"shape cut short", tensorSum, tensorFrame(ext("c70c04" + "0a02000000000000" + "01000000")), "tensorSum: argument 1: malformed tensor: a payload of 12 bytes cannot hold the shape of 2 dimensions"},
		{"length mismatch", tensorSum, tensorFrame(tensorPayload(Float64, []uint64{2, 2}, make([]byte, 24))), "tensorSum: argument 1: malformed tensor: a float64 tensor of shape [2 2] needs 4×8 bytes of elements, got 24"},
		{"huge shape", tensorSum, tensorFrame(tensorPayload(Float64, []uint64{1 << 62, 1 << 62}, nil)), "tensorSum: argument 1: malformed tensor: shape [4611686018427387904 4611686018427387904] has too many elements"},
		{"size above MaxInt", tensorSum, tensorFrame(tensorPayload(Float64, []uint64{math.MaxUint64, 0}, nil)), "tensorSum: argument 1: malformed tensor: shape [18446744073709551615 0] has too many elements"},
		{"bool above 1", tensorSum, tensorFrame(tensorPayload(Bool, []uint64{2}, []byte{1, 2})), "tensorSum: argument 1: malformed tensor: a bool element is neither 0 nor 1"},
		{"truncated", tensorSum, tensorFrame(mustHex(t, matrixHex)[:20]), "tensorSum: argument 1: frame ends inside a value"},
		{"the function's error", tensorSum, tensorFrame(tensorPayload(Int8, nil, []byte{1})), "tensorSum: not float64"},
		{"in an any", identity, tensorFrame(tensorPayload(12, nil, []byte{1})), "identity: argument 1: malformed tensor: unknown dtype 12"},
		{"nested in an any", identity, tensorFrame(append([]byte{0x91}, tensorPayload(Float64, []uint64{1}, nil)...)), "identity: argument 1[0]: malformed tensor: a float64 tensor of shape [1] needs 1×8 bytes of elements, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCodec()
			_, err := c.call(tt.fr, tt.fn)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

// TestCodec_call_tensorInPlace checks that a tensor argument refers to the frame when its
// elements are aligned there, and is copied once when they are not.
func TestCodec_call_tensorInPlace(t *testing.T) {
	payload := tensorPayload(Float64, []uint64{2}, mustHex(t, "000000000000f03f"+"0000000000000040"))
	for pad := range 8 {
		// [nil × pad, tensor]: each nil moves the elements by one byte.
		fr := alignedBytes(64)[:0]
		fr = append(fr, 0x92, 0x90|byte(pad+1))
		fr = append(fr, bytes.Repeat([]byte{0xc0}, pad)...)
		fr = append(fr, payload...)
		fr = append(fr, 0x80)
		var seen []byte
		c := newCodec()
		res, err := c.call(fr, func(xs ...any) float64 {
			x := xs[pad].(Tensor)
			seen = x.Bytes()
			return x.Float64s()[0] + x.Float64s()[1]
		})
		if err != nil || !bytes.Equal(res, encode(t, 3.0)) {
			t.Fatalf("pad %d: %x, %v", pad, res, err)
		}
		elems := uintptr(unsafe.Pointer(&fr[len(fr)-17]))
		inPlace := uintptr(unsafe.Pointer(&seen[0])) == elems
		if aligned := elems%8 == 0; inPlace != aligned {
			t.Errorf("pad %d: elements aligned %v, read in place %v", pad, aligned, inPlace)
		}
	}
}

func weighted(x float64, kw Kwargs) (float64, error) {
	w, err := Kwarg(kw, "w", Tensor{})
	if err != nil || w.DType() == 0 {
		return x, err
	}
	s, err := tensorSum(w)
	return x * s, err
}

func TestCodec_call_tensorKwarg(t *testing.T) {
	fr := []byte{0x92, 0x91, 0x02, 0x81, 0xa1, 'w'}
	fr = append(fr, mustHex(t, matrixHex)...)
	c := newCodec()
	if res, err := c.call(fr, weighted); err != nil || !bytes.Equal(res, encode(t, 20.0)) {
		t.Errorf("weighted(2, w=matrix) = %x, %v", res, err)
	}
	fr = append([]byte{0x92, 0x91, 0x02, 0x81, 0xa1, 'w'}, tensorPayload(99, nil, []byte{1})...)
	if _, err := c.call(fr, weighted); err == nil || err.Error() != `weighted: keyword argument "w": malformed tensor: unknown dtype 99` {
		t.Errorf("bad keyword tensor: %v", err)
	}
}

// TestTensor_msgpack checks the msgpack methods that serve tensors inside structs.
func TestTensor_msgpack(t *testing.T) {
	type pair struct {
		Name string
		M    Tensor
	}
	swapName := func(p pair) pair { p.Name += "!"; return p }
	m, _ := NewTensor([]int{2, 2}, []float64{1, 2, 3, 4})
	c := newCodec()
	fr := frame(t, []any{pair{"a", m}}, nil)
	if !bytes.Contains(fr, mustHex(t, matrixHex)) {
		t.Fatalf("msgpack did not encode the tensor with Tensor.EncodeMsgpack: %x", fr)
	}
	res, err := c.call(fr, swapName)
	if err != nil || !bytes.Equal(res, encode(t, pair{"a!", m})) {
		t.Errorf("got %x, %v", res, err)
	}
}

// BenchmarkCall_tensorSum is a tensor parameter of 1000 float64s, aligned in the frame (read in
// place) or not (copied once), on the reflective call path.
func BenchmarkCall_tensorSum(b *testing.B) {
	payload := tensorPayload(Float64, []uint64{1000}, make([]byte, 8000))
	// The elements are at byte 22 of the frame: 92 91, the ext 16 header c8 1f 50 04, 16 bytes
	// of tensor header. So the frame at offset 2 of an aligned buffer has them aligned.
	for _, at := range []struct {
		name string
		off  int
	}{{"aligned", 2}, {"unaligned", 3}} {
		b.Run(at.name, func(b *testing.B) {
			fr := alignedBytes(8100)[at.off:at.off]
			fr = append(fr, 0x92, 0x91)
			fr = append(fr, payload...)
			fr = append(fr, 0x80)
			benchmarkFrame(b, tensorSum, fr)
		})
	}
}

// TestCodec_call_tensorScratch checks that unaligned tensor arguments are copied to the
// scratch buffer, without overlapping when there are several or the buffer has to grow, and
// that the buffer serves the next call.
func TestCodec_call_tensorScratch(t *testing.T) {
	elems := func(n int, v float64) []byte {
		m, _ := NewTensor([]int{n}, slices.Repeat([]float64{v}, n))
		return m.Bytes()
	}
	small := tensorPayload(Float64, []uint64{3}, elems(3, 1))       // c7 28 04: elements at +19
	large := tensorPayload(Float64, []uint64{1000}, elems(1000, 2)) // c8 1f50 04: elements at +20
	fr := alignedBytes(9000)[:0]
	fr = append(fr, 0x92, 0x92) // elements of small at 21, of large at 2+3+24+20 = 49: both unaligned
	fr = append(fr, small...)
	fr = append(fr, large...)
	fr = append(fr, 0x80)
	var kept [][]byte
	both := func(a, b Tensor) []float64 {
		kept = append(kept, a.Bytes(), b.Bytes())
		x, _ := tensorSum(a)
		y, _ := tensorSum(b)
		return []float64{x, y, a.Float64s()[2]}
	}
	c := newCodec()
	for range 3 {
		res, err := c.call(fr, both)
		if err != nil || !bytes.Equal(res, encode(t, []float64{3, 2000, 1})) {
			t.Fatalf("got %x, %v", res, err)
		}
	}
	base := uintptr(unsafe.Pointer(&fr[0]))
	for _, k := range kept {
		if p := uintptr(unsafe.Pointer(&k[0])); p%8 != 0 || (p >= base && p < base+uintptr(len(fr))) {
			t.Fatalf("an unaligned argument was not copied to an aligned place: %#x", p)
		}
	}
	// The third call reuses the scratch buffer the first two grew.
	if &kept[4][0] != &kept[2][0] || &kept[5][0] != &kept[3][0] {
		t.Error("the scratch buffer was not reused")
	}
	if n := testing.AllocsPerRun(10, func() { _, _ = c.call(fr, both) }); n > 8 {
		t.Errorf("%v allocations per call", n)
	}
}
