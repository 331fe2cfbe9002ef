// Package assemblyscript_test tests the AssemblyScript SDK through its modules: the conformance
// module with argument frames written byte by byte, for what the shared conformance suite
// cannot express (malformed frames, tensors whose elements are or are not aligned, exact error
// messages, memory across many calls), and the extras module, for the parts of the SDK the
// contract does not use. Rebuild the modules with guests/assemblyscript/build.sh.
package assemblyscript_test

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

const (
	conformance = "../../testdata/assemblyscript/conformance.wasm"
	extras      = "../../testdata/assemblyscript/extras.wasm"
)

func load(tb testing.TB, path string, cfg runtime.Config) func(string) *runtime.Function {
	tb.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.LoadFile(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	return func(name string) *runtime.Function {
		f, err := mod.Func(name)
		if err != nil {
			tb.Fatal(err)
		}
		return f
	}
}

// frame is the argument frame [args, {}] with the positional values given as raw MessagePack.
func frame(args ...[]byte) []byte {
	b := []byte{0x92, 0x90 | byte(len(args))}
	for _, a := range args {
		b = append(b, a...)
	}
	return append(b, 0x80)
}

// tensor64 is a float64 tensor as an ext-4 value: fixext/ext8 for small payloads, ext32 when
// ext32 is asked for (its 6-byte header puts the elements at another alignment).
func tensor64(shape []uint64, data []float64, ext32 bool) []byte {
	p := []byte{10, byte(len(shape)), 0, 0, 0, 0, 0, 0}
	for _, s := range shape {
		p = binary.LittleEndian.AppendUint64(p, s)
	}
	for _, x := range data {
		p = binary.LittleEndian.AppendUint64(p, math.Float64bits(x))
	}
	if ext32 {
		h := []byte{0xc9, 0, 0, 0, 0, 4}
		binary.BigEndian.PutUint32(h[1:], uint32(len(p)))
		return append(h, p...)
	}
	return append([]byte{0xc7, byte(len(p)), 4}, p...)
}

func guestMessage(err error) (string, bool) {
	var ge *runtime.GuestError
	if errors.As(err, &ge) {
		return ge.Message, true
	}
	return "", false
}

// TestBadFrames calls every function that does not spawn with malformed and random frames:
// each call must fail with a guest error or succeed, never trap.
func TestBadFrames(t *testing.T) {
	fn := load(t, conformance, runtime.Config{})
	ctx := context.Background()
	frames := [][]byte{
		{}, {0xc1}, {0x92}, {0x92, 0x91}, {0x92, 0x91, 0x00}, {0x92, 0x91, 0x00, 0x80, 0x00},
		{0x91, 0x90}, {0x92, 0x80, 0x90}, {0x92, 0x90, 0x81, 0x01, 0x02},
		{0x92, 0xdd, 0xff, 0xff, 0xff, 0xff, 0x80},
		{0x92, 0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x80},
		{0x92, 0x91, 0xc7, 0x08, 0x04, 0x0a, 0x02, 0, 0, 0, 0, 0, 0, 0x80}, // truncated ext
		{0x92, 0x91, 0xd7, 0x04, 0x0a, 0x00, 0, 0, 0, 0, 0, 0, 0x80},       // scalar, no element
		{0x92, 0x91, 0xd7, 0x04, 0x0a, 0x21, 0, 0, 0, 0, 0, 0, 0x80},       // 33 dimensions
		{0x92, 0x91, 0xd7, 0x04, 0x0c, 0x00, 0, 0, 0, 0, 0, 0, 0x80},       // unknown dtype
		{0x92, 0x91, 0xd6, 0x02, 0, 0, 0, 9, 0x80},                         // a handle
		{0x92, 0x91, 0xd5, 0x02, 0, 9, 0x80},                               // a 2-byte handle
		frame(tensor64([]uint64{1 << 40, 1 << 40}, nil, false)),            // size overflows
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		if len(b) > 2 && rng.IntN(2) == 0 {
			b[0], b[1] = 0x92, 0x90+byte(rng.IntN(4))
		}
		frames = append(frames, b)
	}
	// Tensors whose headers are almost right: random dtypes, shapes, padding and lengths.
	for range 500 {
		ndim := rng.IntN(4)
		p := []byte{byte(rng.IntN(13)), byte(ndim), 0, 0, 0, 0, 0, 0}
		if rng.IntN(8) == 0 {
			p[2+rng.IntN(6)] = 1
		}
		n := uint64(1)
		for range ndim {
			d := uint64(rng.IntN(4))
			if rng.IntN(10) == 0 {
				d = 1 << (32 + rng.IntN(31))
			}
			n *= d
			p = binary.LittleEndian.AppendUint64(p, d)
		}
		if n < 64 {
			p = append(p, make([]byte, max(0, int(n)*8+rng.IntN(3)-1))...) // right, one short or one long
		}
		t := append([]byte{0xc9, 0, 0, 0, 0, 4}, p...)
		binary.BigEndian.PutUint32(t[1:], uint32(len(p)))
		frames = append(frames, frame(t), frame(t, t))
	}
	for _, name := range []string{"inc", "add", "sum_all", "triage", "identity", "concat", "rev_bytes",
		"ints", "fdiv", "greet", "nothing", "empties", "fail", "divmod", "tensor_sum", "matmul", "rand_matrix"} {
		f := fn(name)
		for _, fr := range frames {
			_, err := f.Call(ctx, fr)
			var te *runtime.TrapError
			if errors.As(err, &te) {
				t.Fatalf("%s(% x): %v", name, fr, err)
			}
		}
	}
}

// TestErrorMessages checks the exact messages of bad arguments.
func TestErrorMessages(t *testing.T) {
	fn := load(t, conformance, runtime.Config{})
	ctx := context.Background()
	for _, c := range []struct {
		fn    string
		frame []byte
		want  string
	}{
		{"inc", frame(), "inc: takes 1 positional argument but 0 were given"},
		{"inc", frame([]byte{1}, []byte{2}), "inc: takes 1 positional argument but 2 were given"},
		{"inc", frame([]byte{0xa1, 'x'}), "inc: argument 1: expected an int, got a str"},
		{"inc", []byte{0x92, 0x91, 0x01, 0x81, 0xa1, 'y', 0x01}, `inc: unexpected keyword argument "y"`},
		{"inc", frame([]byte{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), "inc: argument 1: 18446744073709551615 does not fit an int64"},
		{"ints", frame([]byte{1}, []byte{0xff}), "ints: argument 2: -1 does not fit a uint64"},
		{"triage", frame([]byte{0x92, 0x01, 0xa1, 'x'}), "triage: argument 1[1]: expected a float, got a str"},
		{"greet", []byte{0x92, 0x91, 0xa1, 'b', 0x81, 0xa8, 'g', 'r', 'e', 'e', 't', 'i', 'n', 'g', 0x01},
			`greet: keyword argument "greeting": expected a str, got an int`},
		{"greet", []byte{0x92, 0x92, 0xa1, 'b', 0xa1, 'c', 0x80}, "greet: takes 1 positional argument but 2 were given"},
		{"greet", frame(), "greet: missing positional argument 1"},
		{"divmod", frame([]byte{1}, []byte{0}), "divmod: cannot divide 1 by 0"},
		{"tensor_sum", frame([]byte{0xd7, 0x04, 0x03, 0x00, 0, 0, 0, 0, 0, 0}), "tensor_sum: argument 1: malformed tensor: tensor elements do not match its shape"},
		{"identity", frame([]byte{0xd6, 0x02, 0, 0, 0, 1}), "identity: an Object cannot be part of a result: fetch it and return its value"},
		{"matmul", frame(tensor64([]uint64{1 << 20, 0}, nil, false), tensor64([]uint64{0, 1 << 20}, nil, false)),
			"matmul: a result of 1048576×1048576 is over 2^27 elements"},
		{"inc", []byte{0x92, 0x91}, "inc: malformed argument frame: length runs past the end"},
		{"inc", []byte{0x92, 0x91, 0x01, 0x80, 0xc0}, "inc: malformed argument frame: trailing bytes"},
	} {
		_, err := fn(c.fn).Call(ctx, c.frame)
		if msg, ok := guestMessage(err); !ok || msg != c.want {
			t.Errorf("%s(% x): got %v, want guest error %q", c.fn, c.frame, err, c.want)
		}
	}
}

// TestTensorAlignment checks that a tensor argument is read in place when its elements are
// aligned in the argument buffer and copied once when they are not, with the same sums.
func TestTensorAlignment(t *testing.T) {
	conf := load(t, conformance, runtime.Config{})
	ext := load(t, extras, runtime.Config{})
	ctx := context.Background()
	data := []float64{1, 2, 3, 4, 5, 6}
	// The host writes the frame at the start of the buffer (16-aligned): with ext8 (3 header
	// bytes after the 2 frame bytes) the elements start at 5+8+16 = 29, with ext32 at 32.
	for _, c := range []struct {
		ext32, aligned bool
	}{{false, false}, {true, true}} {
		fr := frame(tensor64([]uint64{2, 3}, data, c.ext32))
		res, err := ext("aligned").Call(ctx, fr)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := abi.Decode(res.Value); got != c.aligned {
			t.Errorf("ext32=%v: aligned() = %v, want %v", c.ext32, got, c.aligned)
		}
		res, err = conf("tensor_sum").Call(ctx, fr)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := abi.Decode(res.Value); got != 21.0 {
			t.Errorf("ext32=%v: tensor_sum = %v, want 21", c.ext32, got)
		}
	}
}

// TestMemoryBounded checks that garbage is collected between calls: large results and large
// arguments, many times, within a small memory cap.
func TestMemoryBounded(t *testing.T) {
	fn := load(t, conformance, runtime.Config{MemoryLimitPages: 48}) // 3 MiB
	ctx := context.Background()
	for i := range 50 {
		if _, err := fn("rand_matrix").Call(ctx, frame([]byte{0xcd, 1, 0}, []byte{0xcd, 1, 0})); err != nil {
			t.Fatalf("rand_matrix(256, 256) #%d: %v", i, err)
		}
	}
	s := strings.Repeat("x€", 40000)
	arg := append([]byte{0xdb, 0, 0, 0, 0}, s...)
	binary.BigEndian.PutUint32(arg[1:], uint32(len(s)))
	for i := range 300 {
		for _, name := range []string{"identity", "concat"} {
			fr := frame(arg)
			if name == "concat" {
				fr = frame(arg, []byte{0xa1, '!'})
			}
			if _, err := fn(name).Call(ctx, fr); err != nil {
				t.Fatalf("%s #%d: %v", name, i, err)
			}
		}
	}
}

// TestExtras runs the functions of the extras module through an engine.
func TestExtras(t *testing.T) {
	fn := load(t, extras, runtime.Config{})
	ctx := context.Background()
	eng := dag.New(dag.Config{Slots: 2})
	f32 := abi.Tensor{}
	if tt, err := abi.NewTensor([]int{2}, []float32{1.5, -2}); err == nil {
		f32 = tt
	} else {
		t.Fatal(err)
	}
	i32, err := abi.NewTensor([]int{2, 1, 3}, []int32{1, 2, 3, 4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	want3, _ := abi.NewTensor([]int{2}, []float32{3, -4})
	for _, c := range []struct {
		fn     string
		args   []any
		kwargs map[string]any
		want   any
	}{
		{"fanout", []any{100}, nil, int64(5050)},
		{"forward", []any{41}, nil, int64(42)},
		{"spawn_unknown", nil, nil, nil}, // checked below
		{"kw_task", []any{"ann"}, nil, "hey, ann"},
		{"kw_types", nil, nil, []any{int64(1), 0.5, false, nil}},
		{"kw_types", nil, map[string]any{"i": -7, "f": 2, "b": true, "v": []any{"x"}}, []any{int64(-7), 2.0, true, []any{"x"}}},
		{"variadic", []any{1, "a", nil}, map[string]any{"z": 1, "a": 2}, []any{int64(3), []any{"a", "z"}}},
		{"small", []any{255, -300, 1.5}, nil, []any{int64(255), int64(-300), 1.5}}, // the host decodes float32 as float64
		{"describe", []any{i32}, nil, []any{"int32", []any{int64(2), int64(1), int64(3)}, int64(6)}},
		{"scale32", []any{f32, 2}, nil, want3},
		{"error_message", nil, nil, "not yet"},
	} {
		objs := dag.Call{Func: fn(c.fn), Args: c.args, Kwargs: c.kwargs}.Spawn()
		if err := eng.Execute(ctx, objs...); err != nil {
			t.Errorf("%s: %v", c.fn, err)
			continue
		}
		got, err := eng.FetchAll(ctx, objs...)
		if err != nil {
			t.Errorf("%s: %v", c.fn, err)
			continue
		}
		if c.fn == "spawn_unknown" {
			l, _ := got[0].([]any)
			if len(l) != 3 || l[0] != "spawn" || l[1] != true || !strings.Contains(l[2].(string), `unknown function "nope"`) {
				t.Errorf("spawn_unknown = %#v", got[0])
			}
			continue
		}
		if !reflect.DeepEqual(got[0], c.want) {
			t.Errorf("%s = %#v, want %#v", c.fn, got[0], c.want)
		}
	}

	// catch: the parent sees the failed child's code, handle and message, and carries on.
	objs := dag.Call{Func: fn("catch"), Args: []any{"Boom."}}.Spawn()
	if err := eng.Execute(ctx, objs...); err != nil {
		t.Fatal(err)
	}
	got, _ := eng.FetchAll(ctx, objs...)
	l, _ := got[0].([]any)
	if len(l) != 3 || l[0] != int64(-2) || l[1] != int64(1) || !strings.HasSuffix(l[2].(string), "): Boom.") {
		t.Errorf("catch = %#v", got[0])
	}

	// A float32 keeps its width: [255, -300, 1.5] is 93 cc ff d1 fe d4 ca 3f c0 00 00.
	res, err := fn("small").Call(ctx, frame([]byte{0xcc, 0xff}, []byte{0xd1, 0xfe, 0xd4}, []byte{0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}))
	if want := []byte{0x93, 0xcc, 0xff, 0xd1, 0xfe, 0xd4, 0xca, 0x3f, 0xc0, 0, 0}; err != nil || string(res.Value) != string(want) {
		t.Errorf("small(255, -300, 1.5) = % x, %v; want % x", res.Value, err, want)
	}

	// A bad argument to a typed function with a narrow type.
	objs = dag.Call{Func: fn("small"), Args: []any{256, 0, 0}}.Spawn()
	err = eng.Execute(ctx, objs...)
	if msg, ok := guestMessage(err); !ok || msg != "small: argument 1: 256 does not fit a uint8" {
		t.Errorf("small(256, 0, 0): %v", err)
	}

	// An abort traps, with its message in the trap error and on stderr.
	_, err = fn("abort_oob").Call(ctx, frame([]byte{5}))
	var te *runtime.TrapError
	var ce *runtime.CallError
	if !errors.As(err, &te) || !errors.As(err, &ce) || !strings.Contains(string(ce.Stderr), "abort: Index out of range at ~lib/array.ts:") {
		t.Errorf("abort_oob(5): %v", err)
	}
	if te == nil || !strings.HasPrefix(te.Message, "abort: Index out of range at ~lib/array.ts:") {
		t.Errorf("abort_oob(5): the trap does not carry the abort message: %v", err)
	}
}

// BenchmarkInc measures one call of inc(5) on a warm instance.
func BenchmarkInc(b *testing.B) {
	fn := load(b, conformance, runtime.Config{Uninterruptible: true})
	f := fn("inc")
	ctx := context.Background()
	fr := frame([]byte{5})
	for b.Loop() {
		if _, err := f.Call(ctx, fr); err != nil {
			b.Fatal(err)
		}
	}
}
