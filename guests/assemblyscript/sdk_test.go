// Package assemblyscript_test tests the AssemblyScript SDK through its modules: the conformance
// module with argument frames written byte by byte, for what the shared conformance suite
// cannot express (malformed frames, tensors whose elements are or are not aligned, exact error
// messages, memory across many calls), and the extras module, for the parts of the SDK the
// contract does not use (tables, the tensor and table expression builders on the real engine
// with mrun:tensor and mrun:table). Rebuild the modules with guests/assemblyscript/build.sh.
package assemblyscript_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/guests/go/mrun"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/mrun-dev/mrun/table"
	"github.com/mrun-dev/mrun/tensor"
	"github.com/mrun-dev/mrun/tensor/expr"
	"github.com/vmihailenco/msgpack/v5"
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

// engine is a runtime with mrun:tensor and mrun:table registered, the AssemblyScript module
// at path loaded in it, and an engine that counts the tasks started by function name.
type engine struct {
	rt     *runtime.Runtime
	mod    *runtime.Module
	tensor *runtime.Module
	table  *runtime.Module
	eng    *dag.Engine

	mu     sync.Mutex
	starts map[string]int
}

func newEngine(t *testing.T, path string) *engine {
	t.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	e := &engine{rt: rt, starts: map[string]int{}}
	if e.tensor, err = tensor.Register(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if e.table, err = table.Register(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if e.mod, err = rt.LoadFile(ctx, path); err != nil {
		t.Fatal(err)
	}
	e.eng = dag.New(dag.Config{Slots: 2, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart {
			e.mu.Lock()
			e.starts[ev.Func.Name()]++
			e.mu.Unlock()
		}
	}})
	return e
}

func (e *engine) fn(t *testing.T, m *runtime.Module, name string) *runtime.Function {
	t.Helper()
	f, err := m.Func(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// run executes f(args...) on the engine and fetches its value.
func (e *engine) run(ctx context.Context, f *runtime.Function, args ...any) (any, error) {
	o := dag.Spawn(f, args...)
	if err := e.eng.Execute(ctx, o); err != nil {
		return nil, err
	}
	var v any
	err := e.eng.Fetch(ctx, o, &v)
	return v, err
}

// driver2_tensor of the AssemblyScript conformance module is rand(seed, 10, 10).sum() inside a
// spawned function, as the Go and C ones are (guests/go/mrun/mt TestDriver2Tensor_Engine):
// through the real engine it spawns eval of mrun:tensor, nested, and returns the same float64
// as the host evaluating the same expression.
func TestDriver2Tensor_Engine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := newEngine(t, conformance)
	driver, eval := e.fn(t, e.mod, "driver2_tensor"), e.fn(t, e.tensor, "eval")
	got, err := e.run(ctx, driver, 7)
	if err != nil {
		t.Fatal(err)
	}
	if e.starts["driver2_tensor"] != 1 || e.starts["eval"] != 1 || e.starts["reduce"] != 1 {
		t.Errorf("tasks started: %v, want driver2_tensor, eval and one reduce", e.starts)
	}
	want, err := e.run(ctx, eval, tensor.Rand(7, 10, 10).Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	if g, ok := got.(float64); !ok || got != want || g < 30 || g > 70 {
		t.Errorf("driver2_tensor(7) = %v, want %v (the host's sum of the same 100 numbers)", got, want)
	}
	if other, err := e.run(ctx, driver, 8); err != nil || other == got {
		t.Errorf("driver2_tensor(8) = %v, %v; driver2_tensor(7) = %v: the seed is not passed on", other, err, got)
	}
}

// The SDK's tensor builder makes the same expression values as the host's (tensor/expr),
// operator by operator.
func TestExpr_SameAsHost(t *testing.T) {
	fn := load(t, extras, runtime.Config{})
	res, err := fn("mt_exprs").Call(context.Background(), frame())
	if err != nil {
		t.Fatal(err)
	}
	got, err := abi.Decode(res.Value)
	if err != nil {
		t.Fatal(err)
	}
	hm, _ := abi.NewTensor([]int{2}, []float64{1, 2})
	hx := expr.Arange(0, 12, 1).Reshape(3, 4)
	host := []expr.Expr{
		expr.Rand(1, 10, 10).Sum(nil),
		expr.Rand(2, 6, 4).WithChunks(3, -1).Mul(expr.Ones(6, 4)).Add(2.5).Sub(1).Div(2).Pow(2.0).Neg().Abs().Sqrt().Exp().Log(),
		expr.Concatenate(0, hx.Eq(1), hx.Ne(1), hx.Lt(1), hx.Le(1), hx.Gt(1), hx.Ge(true)),
		expr.Where(hx.Gt(5), hx, 0).Std([]int{0}, 1).KeepDims(),
		expr.Concatenate(0, hx.Mean([]int{1}), hx.Var(nil, 0), hx.Min([]int{0}), hx.Max(nil), hx.ArgMin(nil), hx.ArgMax([]int{1})),
		hx.T().Transpose(1, 0).Slice([3]int{expr.None, expr.None, -1}, [3]int{1, expr.None, expr.None}).Rechunk(2, 2).MatMul(expr.Zeros(3, 3)),
		expr.Concatenate(0, expr.Full(7, abi.Int32, 2), expr.Zeros(2).AsType(abi.Float32), expr.Linspace(0, 1, 2), expr.FromTensor(hm).Add(hm)),
	}
	list, _ := got.([]any)
	if len(list) != len(host) {
		t.Fatalf("mt_exprs returned %d expressions, want %d", len(list), len(host))
	}
	for i, h := range host {
		b, err := h.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		want, err := abi.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if g, w := fmt.Sprint(list[i]), fmt.Sprint(want); g != w {
			t.Errorf("expression %d:\nguest %s\nhost  %s", i, g, w)
		}
	}
}

// Expressions evaluated from the guest: a tensor, a number, a planner error and an SDK error.
func TestExpr_Eval(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := newEngine(t, extras)
	f, eval := e.fn(t, e.mod, "mt_eval"), e.fn(t, e.tensor, "eval")
	a := expr.Arange(0, 6, 1).Reshape(2, 3).AsType(abi.Float64)
	for _, c := range []struct {
		which int
		want  expr.Expr
	}{{0, a.MatMul(a.T())}, {1, expr.Linspace(0, 1, 5).Std(nil, 0)}} {
		got, err := e.run(ctx, f, c.which)
		if err != nil {
			t.Fatalf("mt_eval(%d): %v", c.which, err)
		}
		want, err := e.run(ctx, eval, c.want)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("mt_eval(%d) = %v, want %v", c.which, got, want)
		}
	}
	if got, _ := e.run(ctx, f, 0); fmt.Sprint(got.(abi.Tensor).Float64s()) != "[5 14 14 50] <nil>" {
		t.Errorf("mt_eval(0) = %v, want [[5 14] [14 50]]", got)
	}
	for _, c := range []struct {
		which int
		want  string
	}{
		// The failed eval child's error, named by its task key, is the cause.
		{2, "mt_eval: task eval (key *, module mrun:tensor): tensor: expression (reshape): cannot reshape float64[10 10] in chunks [5 5] into shape [100] chunk by chunk: each chunk must be split along axis 0 only, in multiples of 1 rows; rechunk it first, e.g. to [5 10]"},
		{3, "mt_eval: mt: the value is a float, not a tensor"},
	} {
		_, err := e.run(ctx, f, c.which)
		if msg, ok := guestMessage(err); !ok || !matchKey(msg, c.want) {
			t.Errorf("mt_eval(%d): got %v, want guest error %q", c.which, err, c.want)
		}
	}
}

// matchKey is msg == want, where a "*" in want stands for a task key (32 hex digits).
func matchKey(msg, want string) bool {
	before, after, ok := strings.Cut(want, "*")
	if !ok {
		return msg == want
	}
	rest, ok := strings.CutPrefix(msg, before)
	if !ok || len(rest) < 32 {
		return false
	}
	for _, c := range rest[:32] {
		if !strings.ContainsRune("0123456789abcdef", c) {
			return false
		}
	}
	return rest[32:] == after
}

// everyType is a table with a column of every type: empty strings, non-ASCII text, NaN.
func everyType(t testing.TB, rows int) abi.Table {
	t.Helper()
	i := []int64{3, -1, math.MaxInt64, 0}[:rows]
	f := []float64{1.5, math.NaN(), -0.25, math.Inf(1)}[:rows]
	b := []bool{true, false, true, true}[:rows]
	s := []string{"", "Ølstue", "日本語 🍺", ""}[:rows]
	ts := []time.Time{time.Unix(0, 1), time.Date(2026, 12, 7, 12, 0, 0, 500, time.UTC), time.Unix(-5, 0), time.Unix(1, 0)}[:rows]
	tb, err := abi.NewTable(abi.Int64Column("i", i), abi.Float64Column("f", f), abi.BoolColumn("b", b),
		abi.StringColumn("s", s), abi.TimestampColumn("ts", ts))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// tableBytes is tb as an ext-5 value whose header is ext 32 (6 bytes) when ext32, else as
// abi writes it.
func tableBytes(t *testing.T, tb abi.Table, ext32 bool) []byte {
	t.Helper()
	b, err := abi.AppendTable(nil, tb)
	if err != nil {
		t.Fatal(err)
	}
	if !ext32 {
		return b
	}
	var payload []byte
	switch b[0] {
	case 0xd8:
		payload = b[2:]
	case 0xc7:
		payload = b[3:]
	case 0xc8:
		payload = b[4:]
	default:
		payload = b[6:]
	}
	h := []byte{0xc9, 0, 0, 0, 0, 5}
	binary.BigEndian.PutUint32(h[1:], uint32(len(payload)))
	return append(h, payload...)
}

// table_stats reads every column of a table argument through the views of the SDK.
func TestTable_Stats(t *testing.T) {
	fn := load(t, extras, runtime.Config{})
	ctx := context.Background()
	empty, _ := abi.NewTable()
	for _, c := range []struct {
		name string
		tb   abi.Table
		want string
	}{
		{"4 rows", everyType(t, 4),
			"map[columns:[[i int64 -9223372036854775807] [f float64 [+Inf 1]] [b bool 3] [s string [[ Ølstue 日本語 🍺 ] [0 7 14 0]]] [ts timestamp [1 1000000000]]] rows:4]"},
		{"2 rows", everyType(t, 2),
			"map[columns:[[i int64 2] [f float64 [1.5 1]] [b bool 1] [s string [[ Ølstue] [0 7]]] [ts timestamp [1 1796644800000000500]]] rows:2]"},
		{"0 rows", everyType(t, 0),
			"map[columns:[[i int64 0] [f float64 [0 0]] [b bool 0] [s string [[] []]] [ts timestamp []]] rows:0]"},
		{"no columns", empty, "map[columns:[] rows:0]"},
	} {
		for _, ext32 := range []bool{false, true} {
			res, err := fn("table_stats").Call(ctx, frame(tableBytes(t, c.tb, ext32)))
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got, err := abi.Decode(res.Value)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got) != c.want {
				t.Errorf("table_stats(%s, ext32=%v) =\n%v\nwant\n%s", c.name, ext32, got, c.want)
			}
		}
	}
}

// table_total sums a float64 column found by name, or fails naming what it got.
func TestTable_Total(t *testing.T) {
	fn := load(t, extras, runtime.Config{})
	ctx := context.Background()
	good, _ := abi.NewTable(abi.StringColumn("city", []string{"Oslo", "Lima"}), abi.Float64Column("amount", []float64{10.5, 4}))
	bad, _ := abi.NewTable(abi.StringColumn("city", []string{"Oslo"}), abi.Int64Column("amount", []int64{10}))
	res, err := fn("table_total").Call(ctx, frame(tableBytes(t, good, false)))
	if got, _ := abi.Decode(res.Value); err != nil || got != 14.5 {
		t.Errorf("table_total = %v, %v; want 14.5", got, err)
	}
	_, err = fn("table_total").Call(ctx, frame(tableBytes(t, bad, false)))
	want := "table_total: want a float64 column amount, got a table of 1 rows: city string, amount int64"
	if msg, ok := guestMessage(err); !ok || msg != want {
		t.Errorf("table_total of an int64 column: got %v, want guest error %q", err, want)
	}
}

// table_echo returns its table argument byte for byte (a table has one valid encoding), read
// in place when its payload is 8-byte aligned in the argument buffer and copied once when not.
func TestTable_Echo(t *testing.T) {
	fn := load(t, extras, runtime.Config{})
	ctx := context.Background()
	for rows := 0; rows <= 4; rows++ {
		tb := everyType(t, rows)
		want := tableBytes(t, tb, false)
		for _, ext32 := range []bool{false, true} {
			fr := frame(tableBytes(t, tb, ext32))
			res, err := fn("table_echo").Call(ctx, fr)
			if err != nil {
				t.Fatalf("%d rows, ext32=%v: %v", rows, ext32, err)
			}
			if string(res.Value) != string(want) {
				t.Errorf("table_echo(%d rows, ext32=%v) =\n% x\nwant\n% x", rows, ext32, res.Value, want)
			}
			// The frame starts 16-aligned; after 0x92 0x91 an ext-32 header puts the payload at 8.
			res, err = fn("table_buffer").Call(ctx, fr)
			if err != nil {
				t.Fatal(err)
			}
			size, _ := abi.Decode(res.Value)
			payload := int64(len(tableBytes(t, tb, true)) - 6) // the ext-32 header is 6 bytes
			if ext32 && size.(int64) < int64(len(fr)) || !ext32 && size != payload {
				t.Errorf("%d rows, ext32=%v: the column's buffer is %v bytes: frame %d, payload %d", rows, ext32, size, len(fr), payload)
			}
		}
	}
	// A table inside any value passes through identity of the conformance module.
	in := append([]byte{0x92, 0xa1, 'x'}, tableBytes(t, everyType(t, 4), false)...)
	res, err := load(t, conformance, runtime.Config{})("identity").Call(ctx, frame(in))
	if err != nil || string(res.Value) != string(in) {
		t.Errorf("identity([x, table]) = % x, %v; want % x", res.Value, err, in)
	}
	// Through the engine, where the host checks the result.
	e := newEngine(t, extras)
	got, err := e.run(ctx, e.fn(t, e.mod, "table_echo"), everyType(t, 4))
	if err != nil {
		t.Fatal(err)
	}
	if tb, ok := got.(abi.Table); !ok || tb.String() != everyType(t, 4).String() {
		t.Errorf("table_echo through the engine = %v", got)
	}
}

// table_build makes a table with a column of every type from scratch; the host reads it as
// the table it builds from the same values.
func TestTable_Build(t *testing.T) {
	fn := load(t, extras, runtime.Config{})
	ctx := context.Background()
	for _, rows := range []int{0, 1, 5} {
		i, f, b, s, ts := []int64{}, []float64{}, []bool{}, []string{}, []int64{}
		for k := range rows {
			i, f, b = append(i, int64(k)), append(f, float64(k)/2), append(b, k%2 == 1)
			s, ts = append(s, string([]rune("ééééé")[:k])), append(ts, int64(k)*1e9)
		}
		want, err := abi.NewTable(abi.Int64Column("i", i), abi.Float64Column("f", f), abi.BoolColumn("b", b),
			abi.StringColumn("s", s), abi.TimestampNanosColumn("ts", ts))
		if err != nil {
			t.Fatal(err)
		}
		res, err := fn("table_build").Call(ctx, frame([]byte{byte(rows)}))
		if err != nil {
			t.Fatalf("table_build(%d): %v", rows, err)
		}
		if w := tableBytes(t, want, false); string(res.Value) != string(w) {
			t.Errorf("table_build(%d) =\n% x\nwant\n% x", rows, res.Value, w)
		}
	}
	_, err := fn("table_bad").Call(ctx, frame())
	want := `table_bad: cannot encode the table of 2 rows: a int64, b float64: column "b" has 1 values, column "a" has 2`
	if msg, ok := guestMessage(err); !ok || msg != want {
		t.Errorf("table_bad(): got %v, want guest error %q", err, want)
	}
}

// A malformed table argument is a guest error naming what is wrong, never a trap.
func TestTable_Malformed(t *testing.T) {
	fn := load(t, extras, runtime.Config{})
	ctx := context.Background()
	// 2 rows: a int64, b bool, s string ["x", "é"]; payload offsets: header 0, descriptors 16
	// (a at 16, b at 21, s at 26, padding 31), a's data 32, b's 48, s's offsets 56, text 72.
	good, err := abi.NewTable(abi.Int64Column("a", []int64{1, 2}), abi.BoolColumn("b", []bool{true, false}),
		abi.StringColumn("s", []string{"x", "é"}))
	if err != nil {
		t.Fatal(err)
	}
	base := tableBytes(t, good, true)
	const h = 6 // ext 32 header
	edit := func(f func(p []byte) []byte) []byte {
		p := f(append([]byte(nil), base[h:]...))
		b := append([]byte{0xc9, 0, 0, 0, 0, 5}, p...)
		binary.BigEndian.PutUint32(b[1:], uint32(len(p)))
		return b
	}
	const pre = "table_stats: argument 1: malformed table: "
	for _, c := range []struct {
		arg  []byte
		want string
	}{
		{edit(func(p []byte) []byte { return p[:8] }), "a payload of 8 bytes is shorter than the 16-byte header"},
		{edit(func(p []byte) []byte { p[4] = 1; return p }), "the flags are not zero"},
		{edit(func(p []byte) []byte { p[8] = 3; return p }), `column "b" runs past the payload or its padding is not zero`},
		{edit(func(p []byte) []byte { p[8] = 1; return p }), "24 bytes after the last column"},
		{edit(func(p []byte) []byte { p[16] = 7; return p }), `column "a" has unknown type 7`},
		{edit(func(p []byte) []byte { p[26] = 9; return p }), `column "s" has unknown type 9`},
		{edit(func(p []byte) []byte { p[64] = 9; return p }), `column "s" runs past the payload or its padding is not zero`},
		{edit(func(p []byte) []byte { p[49] = 2; return p }), `bool column "b" holds a byte other than 0 and 1`},
		{edit(func(p []byte) []byte { p[60] = 2; return p }), `string column "s": value 0 is out of order, out of range or not UTF-8`},
		{edit(func(p []byte) []byte { p[56] = 1; return p }), `string column "s": its offsets are not n+1 offsets from 0`},
		{edit(func(p []byte) []byte { p[73] = 0xff; return p }), `string column "s": value 1 is out of order, out of range or not UTF-8`},
		{edit(func(p []byte) []byte { p[25] = 'a'; return p }), `two columns are named "a"`},
		{edit(func(p []byte) []byte { p[20] = 0xff; return p }), "column 0: a name is 1 to 65535 bytes of UTF-8"},
		{edit(func(p []byte) []byte { p[31] = 1; return p }), "the column descriptors' padding is cut short or not zero"},
		{edit(func(p []byte) []byte { return append(p, make([]byte, 8)...) }), "8 bytes after the last column"},
		{edit(func(p []byte) []byte { p[0] = 0xff; p[1] = 0xff; return p }), "a payload of 80 bytes cannot hold 65535 columns"},
		{edit(func(p []byte) []byte { p[2] = 2; return p }), "131075 columns, more than 65536"},
		{edit(func(p []byte) []byte { p[12] = 1; return p }), "4294967298 rows, more than 2^32-1"},
	} {
		_, err := fn("table_stats").Call(ctx, frame(c.arg))
		if msg, ok := guestMessage(err); !ok || msg != pre+c.want {
			t.Errorf("table_stats(% x):\ngot  %v\nwant guest error %q", c.arg, err, pre+c.want)
		}
		if g := goSDK(c.arg); g != "malformed table: "+c.want {
			t.Errorf("the Go SDK reads % x as %q, want %q", c.arg, g, "malformed table: "+c.want)
		}
	}
	_, err = fn("table_stats").Call(ctx, frame([]byte{1}))
	if msg, ok := guestMessage(err); !ok || msg != "table_stats: argument 1: expected a table, got an int" {
		t.Errorf("table_stats(1): %v", err)
	}
	// Random corruptions of the payloads of valid tables: a guest error or a result, never a
	// trap; a result only for a table the host reads too, and the Go SDK's error otherwise.
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tb := range []abi.Table{good, everyType(t, 4)} {
		for ext32 := range 2 {
			b := tableBytes(t, tb, ext32 == 1)
			h := 6
			if ext32 == 0 {
				h = 3 + int(b[0]-0xc7) // ext 8 or ext 16
			}
			for range 1500 {
				x := append([]byte(nil), b...)
				for range 1 + rng.IntN(3) {
					k := h + rng.IntN(len(x)-h)
					x[k] = byte(rng.UintN(256))
				}
				res, err := fn("table_echo").Call(ctx, frame(x))
				var te *runtime.TrapError
				if errors.As(err, &te) {
					t.Fatalf("table_echo(% x): %v", x, err)
				}
				var v any
				hostErr := abi.Unmarshal(x, &v)
				switch msg, _ := guestMessage(err); {
				case (err == nil) != (hostErr == nil):
					t.Errorf("table_echo(% x): guest %v, host %v", x, err, hostErr)
				case err == nil && string(res.Value) != string(tableBytes(t, v.(abi.Table), false)):
					t.Errorf("table_echo(% x) = % x", x, res.Value)
				case err != nil && msg != "table_echo: argument 1: "+goSDK(x):
					t.Errorf("table_echo(% x): guest %q, Go SDK %q", x, msg, goSDK(x))
				}
			}
		}
	}
}

// FuzzTableArgument passes arbitrary bytes as the argument of table_echo: the call never traps,
// and succeeds exactly when the host reads the bytes as a valid table, returning it in its
// canonical form.
func FuzzTableArgument(f *testing.F) {
	for rows := range 5 {
		tb := everyType(f, rows)
		b, _ := abi.AppendTable(nil, tb)
		f.Add(b)
	}
	fn := load(f, extras, runtime.Config{})("table_echo")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, arg []byte) {
		res, err := fn.Call(ctx, frame(arg))
		var te *runtime.TrapError
		if errors.As(err, &te) {
			t.Fatalf("table_echo(% x): %v", arg, err)
		}
		var v any
		hostErr := abi.Unmarshal(arg, &v)
		tb, isTable := v.(abi.Table)
		switch {
		case err == nil && (hostErr != nil || !isTable):
			t.Errorf("table_echo(% x) = % x; the host reads the argument as %v, %v", arg, res.Value, v, hostErr)
		case err == nil:
			if want, _ := abi.AppendTable(nil, tb); string(res.Value) != string(want) {
				t.Errorf("table_echo(% x) = % x, want % x", arg, res.Value, want)
			}
		case hostErr == nil && isTable:
			t.Errorf("table_echo(% x): %v; the host reads the table", arg, err)
		}
	})
}

// table_groupby and table_csv evaluate table expressions on mrun:table from the guest.
func TestTableExpr_Eval(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e := newEngine(t, extras)
	in, err := abi.NewTable(abi.StringColumn("k", []string{"b", "a", "b", "ø", "a"}), abi.Float64Column("v", []float64{1, 2, 3, 4, 5.5}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.run(ctx, e.fn(t, e.mod, "table_groupby"), in)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := abi.NewTable(abi.StringColumn("k", []string{"ø", "b", "a"}), abi.Float64Column("v_sum", []float64{4, 4, 7.5}),
		abi.Float64Column("avg", []float64{4, 2, 3.75}))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("table_groupby = %v, want %v", got, want)
	}
	got, err = e.run(ctx, e.fn(t, e.mod, "table_csv"), "x,z\n1,a\n2,b\n3,c\n4,d\n5,e\n")
	if err != nil {
		t.Fatal(err)
	}
	want, _ = abi.NewTable(abi.Int64Column("y", []int64{4, 6, 8}), abi.Int64Column("x", []int64{2, 3, 4}))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("table_csv = %v, want %v", got, want)
	}
	_, err = e.run(ctx, e.fn(t, e.mod, "table_csv"), "x\n1\nfoo\n")
	wantErr := `table: expression "x > 1", at offset 2: > compares string with int64: compare numbers with numbers, strings with strings, bools with bools, timestamps with timestamps`
	if msg, ok := guestMessage(err); !ok || !strings.HasPrefix(msg, "table_csv: task eval (key ") || !strings.HasSuffix(msg, wantErr) {
		t.Errorf("table_csv of a string column: %v, want a guest error naming eval and ending %q", err, wantErr)
	}
}

// goSDK is the Go guest SDK's error for the table value b ("" if it reads it), whose messages
// the AssemblyScript SDK's match.
func goSDK(b []byte) string {
	var tb mrun.Table
	if err := msgpack.Unmarshal(b, &tb); err != nil {
		return strings.TrimPrefix(err.Error(), ": ")
	}
	return ""
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

// BenchmarkTableTotal measures table_total on a table of 1,000,000 float64 values (8 MB),
// read in place when its payload is 8-byte aligned in the argument buffer (an ext-32 header
// after the 2 frame bytes puts it at 8) and copied once when it is not (table_total_after
// takes a 1-character string first, which moves the payload to 10).
func BenchmarkTableTotal(b *testing.B) {
	fn := load(b, extras, runtime.Config{Uninterruptible: true})
	ctx := context.Background()
	v := make([]float64, 1_000_000)
	for i := range v {
		v[i] = float64(i)
	}
	tb, err := abi.NewTable(abi.Float64Column("amount", v))
	if err != nil {
		b.Fatal(err)
	}
	enc, err := abi.AppendTable(nil, tb)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name, fn string
		frame    []byte
	}{{"inplace", "table_total", frame(enc)}, {"copied", "table_total_after", frame([]byte{0xa1, 'x'}, enc)}} {
		b.Run(c.name, func(b *testing.B) {
			f := fn(c.fn)
			b.SetBytes(int64(len(enc)))
			for b.Loop() {
				res, err := f.Call(ctx, c.frame)
				if err != nil {
					b.Fatal(err)
				}
				if got, _ := abi.Decode(res.Value); got != 499999500000.0 {
					b.Fatalf("%s = %v", c.fn, got)
				}
			}
		})
	}
}
