package abi

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// The 2×2 example of ABI.md section 5.3, byte for byte.
func TestTensorWireFormat(t *testing.T) {
	tn, err := NewTensor([]int{2, 2}, []float64{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	got, err := AppendTensor(nil, tn)
	if err != nil {
		t.Fatal(err)
	}
	want := "c73804" + "0a02000000000000" + "0200000000000000" + "0200000000000000" +
		"000000000000f03f" + "0000000000000040" + "0000000000000840" + "0000000000001040"
	if hex.EncodeToString(got) != want {
		t.Fatalf("AppendTensor:\n got %x\nwant %s", got, want)
	}
	// The msgpack encoder writes the same bytes, and they are canonical.
	frame, err := EncodeFrame([]any{tn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(frame[2:len(frame)-1], got) {
		t.Fatalf("EncodeFrame wrote %x, want 9291, %x, 80", frame, got)
	}
	if err := ValidateResult(got); err != nil {
		t.Fatalf("ValidateResult: %v", err)
	}
}

func TestTensorDecode(t *testing.T) {
	tn, _ := NewTensor([]int{3}, []int32{-1, 0, math.MaxInt32})
	b, _ := AppendTensor(nil, tn)
	v, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := v.(Tensor)
	if !ok {
		t.Fatalf("Decode gave %T, want Tensor", v)
	}
	if got.DType != Int32 || !reflect.DeepEqual(got.Shape, []int{3}) || got.String() != "int32[3]" {
		t.Fatalf("Decode gave %v", got)
	}
	xs, err := Elements[int32](got)
	if err != nil || !reflect.DeepEqual(xs, []int32{-1, 0, math.MaxInt32}) {
		t.Fatalf("Elements = %v, %v", xs, err)
	}
	if _, err := got.Float64s(); err == nil || err.Error() != "abi: tensor holds int32, not float64 (float64)" {
		t.Fatalf("Float64s of an int32 tensor: %v", err)
	}

	// msgpack's decoder gives the same Tensor for a Tensor target and inside an interface.
	var direct Tensor
	if err := Unmarshal(b, &direct); err != nil || !reflect.DeepEqual(direct, got) {
		t.Fatalf("Unmarshal into Tensor: %v, %v", direct, err)
	}
}

func TestTensorScalarAndEmpty(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		data  []float64
	}{{nil, []float64{2.5}}, {[]int{0, 7}, nil}, {[]int{2, 0}, []float64{}}} {
		tn, err := NewTensor(tc.shape, tc.data)
		if err != nil {
			t.Fatalf("NewTensor(%v): %v", tc.shape, err)
		}
		b, _ := AppendTensor(nil, tn)
		v, err := Decode(b)
		if err != nil {
			t.Fatalf("%v: %v", tc.shape, err)
		}
		xs, err := v.(Tensor).Float64s()
		if err != nil || len(xs) != len(tc.data) {
			t.Fatalf("%v: Float64s = %v, %v", tc.shape, xs, err)
		}
	}
}

func TestTensorMalformed(t *testing.T) {
	good, _ := NewTensor([]int{2}, []uint16{1, 2})
	payload, _ := AppendTensor(nil, good)
	payload = payload[3:] // c7 len 04 header
	ext := func(p []byte) []byte { return appendLenHeader(nil, kExt, uint64(len(p)), ExtTensor) }
	mutate := func(f func(p []byte) []byte) []byte {
		p := f(bytes.Clone(payload))
		return append(ext(p), p...)
	}
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short", mutate(func(p []byte) []byte { return p[:5] }), "tensor payload of 5 bytes is shorter than its 8-byte header"},
		{"dtype", mutate(func(p []byte) []byte { p[0] = 12; return p }), "tensor has unknown dtype code 12"},
		{"ndim", mutate(func(p []byte) []byte { p[1] = 33; return p }), "tensor has 33 dimensions, at most 32 are allowed"},
		{"padding", mutate(func(p []byte) []byte { p[7] = 1; return p }), "tensor header padding is not zero"},
		{"shape cut", mutate(func(p []byte) []byte { p[1] = 3; return p[:20] }), "tensor payload of 20 bytes cannot hold 3 dimensions"},
		{"data short", mutate(func(p []byte) []byte { return p[:len(p)-1] }), "tensor of uint16[2] needs 4 bytes of data, has 3"},
		{"data long", mutate(func(p []byte) []byte { return append(p, 0) }), "tensor of uint16[2] needs 4 bytes of data, has 5"},
		{"huge dim", mutate(func(p []byte) []byte {
			binary.LittleEndian.PutUint64(p[8:], 1<<40)
			return p
		}), "tensor dimension 0 has size 1099511627776, over 2^32-1"},
	} {
		for name, check := range map[string]func([]byte) error{"Validate": Validate, "ValidateResult": ValidateResult} {
			err := check(tc.b)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s %s: %v, want %q", name, tc.name, err, tc.want)
			}
		}
		if _, err := Decode(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode %s: %v", tc.name, err)
		}
		if _, err := Canonical(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Canonical %s: %v", tc.name, err)
		}
	}
	// Types 6 to 15 stay reserved in results.
	if err := ValidateResult([]byte{0xd4, 6, 0}); err == nil || !strings.Contains(err.Error(), "extension type 6 is reserved") {
		t.Errorf("ext 6 in a result: %v", err)
	}
}

func TestNewTensorErrors(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		n     int
		want  string
	}{
		{[]int{2, 3}, 5, "abi: tensor of shape [2 3] needs 6 elements, got 5"},
		{[]int{-1}, 0, "abi: tensor shape [-1] has a negative size"},
		{make([]int, 33), 0, "abi: tensor has 33 dimensions, at most 32 are allowed"},
		{[]int{1 << 20, 1 << 20}, 0, "abi: tensor shape [1048576 1048576] has over 2^32-1 elements"},
	} {
		if _, err := NewTensor(tc.shape, make([]float32, tc.n)); err == nil || err.Error() != tc.want {
			t.Errorf("NewTensor(%v, %d elements): %v, want %q", tc.shape, tc.n, err, tc.want)
		}
	}
	bad := Tensor{DType: Float64, Shape: []int{2}, Data: make([]byte, 15)}
	if _, err := EncodeFrame([]any{bad}, nil); err == nil || !strings.Contains(err.Error(), "needs 16 bytes of data, has 15") {
		t.Errorf("encoding a bad tensor: %v", err)
	}
}

// An unaligned Data slice is copied once, with the right values.
func TestElementsUnaligned(t *testing.T) {
	tn, _ := NewTensor([]int{4}, []float64{1.5, -2, math.Inf(1), 0})
	buf := make([]byte, len(tn.Data)+1)
	copy(buf[1:], tn.Data)
	tn.Data = buf[1:]
	xs, err := tn.Float64s()
	if err != nil || !reflect.DeepEqual(xs, []float64{1.5, -2, math.Inf(1), 0}) {
		t.Fatalf("Float64s = %v, %v", xs, err)
	}
}

// The portable element coders (used on big-endian hosts) agree with encoding/binary.
func TestPortableElementCoders(t *testing.T) {
	check := func(name string, b, want []byte) {
		t.Helper()
		if !bytes.Equal(b, want) {
			t.Errorf("%s: %x, want %x", name, b, want)
		}
	}
	f64 := []float64{1.5, math.NaN(), math.Copysign(0, -1)}
	b := make([]byte, 24)
	putElements(b, f64)
	want := binary.LittleEndian.AppendUint64(nil, math.Float64bits(1.5))
	want = binary.LittleEndian.AppendUint64(want, math.Float64bits(math.NaN()))
	check("float64", b, binary.LittleEndian.AppendUint64(want, math.Float64bits(math.Copysign(0, -1))))
	back := make([]float64, 3)
	getElements(back, b)
	if back[0] != 1.5 || !math.IsNaN(back[1]) || !math.Signbit(back[2]) {
		t.Errorf("float64 back: %v", back)
	}

	i16 := []int16{-2, 300}
	b = make([]byte, 4)
	putElements(b, i16)
	check("int16", b, []byte{0xfe, 0xff, 0x2c, 0x01})
	back16 := make([]int16, 2)
	getElements(back16, b)
	if !reflect.DeepEqual(back16, i16) {
		t.Errorf("int16 back: %v", back16)
	}

	bools := []bool{true, false}
	b = make([]byte, 2)
	putElements(b, bools)
	check("bool", b, []byte{1, 0})
	f32 := []float32{0.25}
	b = make([]byte, 4)
	putElements(b, f32)
	check("float32", b, binary.LittleEndian.AppendUint32(nil, math.Float32bits(0.25)))
	u64 := []uint64{math.MaxUint64}
	b = make([]byte, 8)
	putElements(b, u64)
	backU := make([]uint64, 1)
	getElements(backU, b)
	if backU[0] != math.MaxUint64 {
		t.Errorf("uint64 back: %v", backU)
	}
}

func TestDTypeNames(t *testing.T) {
	for d := Int8; d <= Bool; d++ {
		got, err := ParseDType(d.String())
		if err != nil || got != d {
			t.Errorf("ParseDType(%q) = %v, %v", d.String(), got, err)
		}
	}
	if _, err := ParseDType("complex128"); err == nil || !strings.HasPrefix(err.Error(), `abi: unknown dtype "complex128" (want one of int8, int16,`) {
		t.Errorf("ParseDType(complex128): %v", err)
	}
	if DType(0).String() != "dtype(0)" || DType(12).Size() != 0 || Float32.Size() != 4 {
		t.Error("DType of an unknown code")
	}
	if DTypeOf[uint8]() != Uint8 || DTypeOf[bool]() != Bool || DTypeOf[int64]() != Int64 {
		t.Error("DTypeOf")
	}
}
