// Package zig_test tests the Zig SDK through its conformance module, with argument frames
// written byte by byte: the cases that the shared conformance suite cannot express (tensors
// whose elements are not aligned, malformed frames) and the cost of a call.
package zig_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/runtime"
)

const module = "../../testdata/zig/conformance.wasm"

func load(tb testing.TB) (*runtime.Module, func(string) *runtime.Function) {
	tb.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.LoadFile(ctx, module)
	if err != nil {
		tb.Fatal(err)
	}
	return mod, func(name string) *runtime.Function {
		f, err := mod.Func(name)
		if err != nil {
			tb.Fatal(err)
		}
		return f
	}
}

// tensorPayload is the ext-4 payload of a float64 tensor.
func tensorPayload(shape []uint64, data []float64) []byte {
	p := []byte{10, byte(len(shape)), 0, 0, 0, 0, 0, 0}
	for _, s := range shape {
		p = binary.LittleEndian.AppendUint64(p, s)
	}
	for _, x := range data {
		p = binary.LittleEndian.AppendUint64(p, math.Float64bits(x))
	}
	return p
}

// ext8 and ext32 frame a payload as ext type 4 with a 1-byte or a 4-byte length.
func ext8(p []byte) []byte { return append([]byte{0xc7, byte(len(p)), 4}, p...) }
func ext32(p []byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{0xc9}, uint32(len(p))), append([]byte{4}, p...)...)
}

// TestTensorAlignment sums the same tensor with its elements at an offset that is a multiple of
// 8 in the frame (read in place) and at one that is not (copied once): both give the sum.
func TestTensorAlignment(t *testing.T) {
	_, fn := load(t)
	data := []float64{1.5, 2.25, -3, 4, 5, 6.125}
	p := tensorPayload([]uint64{2, 3}, data)
	for name, arg := range map[string][]byte{
		"unaligned": ext8(p),  // 92 91 c7 len 04: the payload starts at offset 5
		"aligned":   ext32(p), // 92 91 c9 len*4 04: the payload starts at offset 8
	} {
		frame := append(append([]byte{0x92, 0x91}, arg...), 0x80)
		res, err := fn("tensor_sum").Call(context.Background(), frame)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want := binary.BigEndian.AppendUint64([]byte{0xcb}, math.Float64bits(15.875))
		if string(res.Value) != string(want) {
			t.Errorf("%s: got % x, want % x", name, res.Value, want)
		}
	}
}

// TestMalformedTensors checks that a tensor breaking ABI.md section 5.3 is a guest error.
func TestMalformedTensors(t *testing.T) {
	_, fn := load(t)
	good := tensorPayload([]uint64{2}, []float64{1, 2})
	cases := map[string][]byte{
		"short payload": {10, 1},
		"int32 tensor":  append([]byte{3}, good[1:]...),
		"padding":       append([]byte{10, 1, 0, 0, 7, 0, 0, 0}, good[8:]...),
		"33 dimensions": append([]byte{10, 33, 0, 0, 0, 0, 0, 0}, good[8:]...),
		"length":        good[:len(good)-3],
		"overflow":      tensorPayload([]uint64{1 << 62, 1 << 62}, nil),
	}
	for name, p := range cases {
		frame := append(append([]byte{0x92, 0x91}, ext8(p)...), 0x80)
		_, err := fn("tensor_sum").Call(context.Background(), frame)
		var ge *runtime.GuestError
		if !errors.As(err, &ge) || !strings.HasPrefix(ge.Message, "tensor_sum: argument 1: ") {
			t.Errorf("%s: got %v, want a guest error naming tensor_sum and its argument", name, err)
		}
	}
}

// functions are the conformance module's functions.
var functions = []string{"inc", "add", "sum_all", "triage", "identity", "concat", "rev_bytes", "ints",
	"fdiv", "greet", "nothing", "empties", "fail", "divmod", "tensor_sum", "matmul", "rand_matrix"}

// FuzzFrames calls every function with arbitrary frames: each call succeeds or fails with a
// guest error; none traps, so the instance is never lost. The host checks the result frame.
func FuzzFrames(f *testing.F) {
	for _, seed := range [][]byte{
		{0x92, 0x91, 0x05, 0x80},
		{0x92, 0x92, 0xa1, 'a', 0xc4, 0x01, 'b', 0x80},
		{0x92, 0x91, 0x93, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xa1, 'x', 0x80},
		{0x92, 0x91, 0xa3, 'b', 'o', 'b', 0x81, 0xa8, 'g', 'r', 'e', 'e', 't', 'i', 'n', 'g', 0x01},
		{0x92, 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x80},
		{0x92, 0x91, 0xdf, 0xff, 0xff, 0xff, 0xff, 0x80},
		{0x92, 0x91, 0xc1, 0x80},
		{0x92, 0x92, 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x80},
		append(append([]byte{0x92, 0x92}, ext8(tensorPayload([]uint64{1, 2}, []float64{1, 2}))...), append(ext8(tensorPayload([]uint64{2, 1}, []float64{3, 4})), 0x80)...),
	} {
		for i := range functions {
			f.Add(uint8(i), seed)
		}
	}
	_, fn := load(f)
	f.Fuzz(func(t *testing.T, which uint8, frame []byte) {
		name := functions[int(which)%len(functions)]
		_, err := fn(name).Call(context.Background(), frame)
		var ge *runtime.GuestError
		if err != nil && !errors.As(err, &ge) && !errors.Is(err, runtime.ErrInvalid) {
			t.Fatalf("%s(% x): %v", name, frame, err)
		}
		if ge != nil && !strings.HasPrefix(ge.Message, name+": ") && name != "fail" {
			t.Fatalf("%s(% x): the message %q does not name the function", name, frame, ge.Message)
		}
	})
}

// TestRandomFrames runs FuzzFrames's property on a few thousand random mutations of valid
// frames, so that plain go test covers more than the seeds.
func TestRandomFrames(t *testing.T) {
	_, fn := load(t)
	r := rand.New(rand.NewPCG(1, 2))
	valid := [][]byte{
		{0x92, 0x92, 0x07, 0x02, 0x80},
		{0x92, 0x91, 0x94, 0x01, 0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0, 0xc3, 0x90, 0x80},
		{0x92, 0x91, 0x82, 0xa1, 'a', 0x91, 0x01, 0xa1, 'b', 0xc4, 0x02, 1, 2, 0x80},
		append(append([]byte{0x92, 0x91}, ext8(tensorPayload([]uint64{2, 2}, []float64{1, 2, 3, 4}))...), 0x80),
	}
	outcomes := map[string]int{}
	kind := func(err error) string {
		var ge *runtime.GuestError
		switch {
		case err == nil:
			return "ok"
		case errors.As(err, &ge):
			return "guest error"
		case errors.Is(err, runtime.ErrInvalid):
			return "rejected by the host"
		}
		return "other"
	}
	defer func() { t.Logf("outcomes: %v", outcomes) }()
	for i := 0; i < 3000; i++ {
		frame := append([]byte(nil), valid[r.IntN(len(valid))]...)
		for k := 1 + r.IntN(3); k > 0; k-- {
			switch r.IntN(3) {
			case 0:
				frame[r.IntN(len(frame))] = byte(r.Uint32())
			case 1:
				frame = frame[:r.IntN(len(frame))]
			default:
				j := r.IntN(len(frame) + 1)
				frame = append(frame[:j], append([]byte{byte(r.Uint32())}, frame[j:]...)...)
			}
			if len(frame) == 0 {
				frame = []byte{0x92}
			}
		}
		name := functions[r.IntN(len(functions))]
		_, err := fn(name).Call(context.Background(), frame)
		outcomes[kind(err)]++
		var ge *runtime.GuestError
		if err != nil && !errors.As(err, &ge) && !errors.Is(err, runtime.ErrInvalid) {
			t.Fatalf("%s(% x): %v", name, frame, err)
		}
	}
}

// BenchmarkCall is the cost of one call through the SDK, frame in and result out.
func BenchmarkCall(b *testing.B) {
	_, fn := load(b)
	ten := []byte{0x92, 0x91, 0x9a}
	for i := 1; i <= 10; i++ {
		ten = append(ten, byte(i))
	}
	for _, c := range []struct {
		name, fn string
		frame    []byte
	}{
		{"inc", "inc", []byte{0x92, 0x91, 0x29, 0x80}},
		{"nothing", "nothing", []byte{0x92, 0x90, 0x80}},
		{"fdiv", "fdiv", []byte{0x92, 0x92, 0x01, 0x02, 0x80}},
		{"identity", "identity", []byte{0x92, 0x91, 0xa5, 'h', 'e', 'l', 'l', 'o', 0x80}},
		{"sum_all", "sum_all", append(ten, 0x80)},
		{"greet_kw", "greet", []byte{0x92, 0x91, 0xa3, 'b', 'o', 'b', 0x81, 0xa8, 'g', 'r', 'e', 'e', 't', 'i', 'n', 'g', 0xa2, 'h', 'i'}},
		{"triage", "triage", []byte{0x92, 0x91, 0x94,
			0xcb, 0x3f, 0xd9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, 0xcb, 0x3f, 0xe6, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
			0xcb, 0x3f, 0xc9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, 0xcb, 0x3f, 0xe9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a, 0x80}},
	} {
		f := fn(c.fn)
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			for b.Loop() {
				if _, err := f.Call(ctx, c.frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
