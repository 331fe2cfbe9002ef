package rust_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/runtime"
)

// The Rust conformance module must answer hostile argument frames with a guest error that
// names the function, never with a trap. (The shared suite in guests/ checks the values.)

// modulePath is the module under test, built by guests/rust/build.sh.
const modulePath = "../../testdata/rust/conformance.wasm"

func load(tb testing.TB) (*runtime.Runtime, *runtime.Module) {
	tb.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.LoadFile(ctx, modulePath)
	if err != nil {
		tb.Fatal(err)
	}
	return rt, mod
}

func TestHostileFrames(t *testing.T) {
	_, mod := load(t)
	deep := append(append([]byte{0x92, 0x91}, bytes.Repeat([]byte{0x91}, 600)...), 0xc0, 0x80)
	// A float64 tensor header claiming 2^61 elements of a 2-element payload.
	hugeShape := []byte{0x92, 0x91, 0xc7, 0x20, 0x04, 10, 1, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0x20, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0x80}
	cases := []struct {
		fn    string
		frame []byte
	}{
		{"inc", nil},
		{"inc", []byte{0xc1}},
		{"inc", []byte{0x92}},
		{"inc", []byte{0x92, 0x90}},
		{"inc", []byte{0x93, 0x90, 0x80, 0xc0}},
		{"inc", []byte{0x92, 0x91, 0xcf, 0xff}},
		{"inc", []byte{0x92, 0x91, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x80}},
		{"inc", []byte{0x92, 0x91, 0x01, 0x81, 0xa1, 'y', 0x01}},
		{"sum_all", []byte{0x92, 0x91, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x80}},
		{"sum_all", []byte{0x92, 0x91, 0x92, 0x01, 0xa1, 'x', 0x80}},
		{"triage", []byte{0x92, 0x91, 0x91, 0xa1, 'x', 0x80}},
		{"identity", deep},
		{"identity", []byte{0x92, 0x91, 0xdf, 0x7f, 0xff, 0xff, 0xff, 0x80}},
		{"concat", []byte{0x92, 0x92, 0xa2, 0xff, 0xfe, 0xa0, 0x80}},
		{"greet", []byte{0x92, 0x91, 0xa1, 'b', 0x81, 0xa8, 'g', 'r', 'e', 'e', 't', 'i', 'n', 'g', 0x01}},
		{"tensor_sum", []byte{0x92, 0x91, 0xd4, 0x04, 0x0a, 0x80}},
		{"tensor_sum", []byte{0x92, 0x91, 0xd7, 0x04, 0x0a, 0x21, 0, 0, 0, 0, 0, 0, 0x80}},
		{"tensor_sum", []byte{0x92, 0x91, 0xd7, 0x04, 0x0c, 0x00, 0, 0, 0, 0, 0, 0, 0x80}},
		{"tensor_sum", []byte{0x92, 0x91, 0xd7, 0x04, 0x0a, 0x00, 0, 0, 1, 0, 0, 0, 0x80}},
		{"tensor_sum", hugeShape},
		{"tensor_sum", []byte{0x92, 0x91, 0xd7, 0x05, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0x80}},
		{"matmul", []byte{0x92, 0x91, 0xc0, 0x80}},
		{"nested_split", []byte{0x92, 0x92, 0x01, 0xc3, 0x80}},
	}
	ctx := context.Background()
	for _, c := range cases {
		f, err := mod.Func(c.fn)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.Call(ctx, c.frame)
		var ge *runtime.GuestError
		if !errors.As(err, &ge) || !strings.HasPrefix(ge.Message, c.fn+": ") {
			t.Errorf("%s(% x): got %v, want a guest error naming %s", c.fn, c.frame, err, c.fn)
		}
	}
}

// A scalar float64 tensor: its element sits at offset 3 + 8 of a fixext-16 payload, misaligned
// for float64, so the SDK copies it once; the sum is still exact.
func TestMisalignedTensor(t *testing.T) {
	_, mod := load(t)
	f, err := mod.Func("tensor_sum")
	if err != nil {
		t.Fatal(err)
	}
	frame := []byte{0x92, 0x91, 0xd8, 0x04, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0x80}
	res, err := f.Call(context.Background(), frame)
	want := []byte{0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}
	if err != nil || !bytes.Equal(res.Value, want) {
		t.Fatalf("tensor_sum(1.5 as a scalar) = % x, %v; want % x", res.Value, err, want)
	}
}

// BenchmarkCall is the cost of one call, SDK and host together, for a few shapes of function.
func BenchmarkCall(b *testing.B) {
	_, mod := load(b)
	ten := []byte{0x92, 0x91, 0x9a, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x80}
	cases := []struct {
		name, fn string
		frame    []byte
	}{
		{"inc", "inc", []byte{0x92, 0x91, 41, 0x80}},
		{"identity_str", "identity", []byte{0x92, 0x91, 0xa5, 'h', 'e', 'l', 'l', 'o', 0x80}},
		{"sum_all_10", "sum_all", ten},
		{"greet_kwargs", "greet", []byte{0x92, 0x91, 0xa3, 'b', 'o', 'b', 0x81, 0xa8, 'g', 'r', 'e', 'e', 't', 'i', 'n', 'g', 0xa2, 'h', 'i'}},
	}
	ctx := context.Background()
	for _, c := range cases {
		f, err := mod.Func(c.fn)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.Call(ctx, c.frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
