// Package zig_test tests the Zig SDK through its modules: the conformance module with argument
// frames written byte by byte, for what the shared conformance suite cannot express (tensors
// whose elements are not aligned, malformed frames) and the cost of a call; and the extras
// module, for the parts of the SDK the contract does not use: among them tensors of
// mrun:tensor built with mrun.mt, and tables, run on the engine with the native modules.
package zig_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/mrun-dev/mrun/internal/sdktest"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/mrun-dev/mrun/table"
	"github.com/mrun-dev/mrun/tensor"
	"github.com/mrun-dev/mrun/tensor/expr"
)

const (
	module = "../../testdata/zig/conformance.wasm"
	extras = "../../testdata/zig/extras.wasm"
)

func load(tb testing.TB) (*runtime.Module, func(string) *runtime.Function) {
	return loadModule(tb, module)
}

func loadModule(tb testing.TB, path string) (*runtime.Module, func(string) *runtime.Function) {
	tb.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.LoadFile(ctx, path)
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

// TestExtras runs the functions of the extras module through the engine, so that they can
// spawn: by-reference Objects, keyword arguments in a spawn, child errors caught or passed on,
// host errors, struct, optional and enum parameters, and results that cannot be encoded.
func TestExtras(t *testing.T) {
	_, fn := loadModule(t, extras)
	eng := dag.New(dag.Config{Slots: 2})
	type tcase struct {
		name   string
		fn     string
		args   []any
		kwargs map[string]any
		want   any    // the value, when the call succeeds
		err    string // the guest's message, when it fails
		cause  bool   // whether the failure names a child as its cause (fail_with)
		// direct calls the function itself, past the engine, which refuses arguments that do
		// not fit the signature before the guest sees them: for the guest's own checks.
		direct bool
	}
	cases := []tcase{
		{name: "by_ref", fn: "by_ref", args: []any{int64(5)}, want: []any{int64(5), int64(6), int64(7)}},
		{name: "forward/not_an_object", fn: "forward", args: []any{1, 2}, err: "forward: argument 1: expected an Object passed by reference, got int"},
		{name: "spawn_kw", fn: "spawn_kw", args: []any{"bob"}, want: "hey, bob!hey, bob!"},
		{name: "greet/kw", fn: "greet", args: []any{"x"}, kwargs: map[string]any{"times": 2}, want: "hello, x!hello, x!"},
		{name: "greet/range", fn: "greet", args: []any{"x"}, kwargs: map[string]any{"times": 300}, err: `greet: keyword argument "times": the integer does not fit u8`},
		{name: "greet/unknown", fn: "greet", args: []any{"x"}, kwargs: map[string]any{"tims": 2}, err: `greet: unexpected keyword argument "tims"`, direct: true},
		{name: "greet/missing", fn: "greet", err: "greet: takes 1 positional argument but 0 were given", direct: true},
		{name: "catch_fail", fn: "catch_fail", args: []any{"Boom."}, want: "task fail (key %, module extras): Boom."},
		{name: "pass_on", fn: "pass_on", args: []any{"Boom."}, err: "pass_on: task fail (key %, module extras): Boom.", cause: true},
		{name: "bogus", fn: "bogus", args: []any{99}, want: "invalid request: handle 99 is not a handle of this task, which holds none"},
		{name: "unknown", fn: "unknown", err: `unknown: spawn no_such_function: invalid request: module extras: unknown function "no_such_function" (it has: %)`},
		{name: "norm1/struct", fn: "norm1", args: []any{map[string]any{"x": -1.5, "y": 2, "label": "p"}}, want: []any{3.5, "p"}},
		{name: "norm1/optional", fn: "norm1", args: []any{map[string]any{"x": 1}, 3}, want: []any{3.0, nil}},
		{name: "norm1/unknown_key", fn: "norm1", args: []any{map[string]any{"z": 1}}, err: `norm1: argument 1: unexpected key "z"`, direct: true},
		{name: "norm1/bad_field", fn: "norm1", args: []any{map[string]any{"x": "a"}}, err: "norm1: argument 1.x: expected a float, got str", direct: true},
		{name: "norm1/missing_field", fn: "norm1", args: []any{map[string]any{}}, err: `norm1: argument 1: missing key "x"`, direct: true},
		{name: "flip", fn: "flip", args: []any{"red"}, want: "green"},
		{name: "flip/bad", fn: "flip", args: []any{"blue"}, err: `flip: argument 1: "blue" is not one of red, green`},
		{name: "leak", fn: "leak", err: "leak: cannot encode the result: an Object cannot be returned: return its fetched value"},
		{name: "big_fetch", fn: "big_fetch", args: []any{100000}, want: []any{int64(4999950000), int64(1999000)}},
		{name: "big_fetch/small", fn: "big_fetch", args: []any{3}, want: []any{int64(3), int64(1999000)}},
		{name: "wrong_type", fn: "wrong_type", want: "the value of handle 1: expected a str, got int"},
		{name: "ones", fn: "ones", args: []any{[]any{2, 1}}, want: abi.Tensor{DType: abi.Int32, Shape: []int{2, 1}, Data: []byte{1, 0, 0, 0, 1, 0, 0, 0}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.direct {
				tmpl, err := abi.EncodeTemplate(c.args, c.kwargs)
				if err != nil {
					t.Fatal(err)
				}
				_, err = fn(c.fn).Call(context.Background(), tmpl.Frame())
				var ge *runtime.GuestError
				if !errors.As(err, &ge) || !match(c.err, ge.Message) {
					t.Fatalf("got %v, want the guest error %q", err, c.err)
				}
				return
			}
			obj := dag.Call{Func: fn(c.fn), Args: c.args, Kwargs: c.kwargs}.Spawn()
			err := eng.Execute(context.Background(), obj...)
			if c.err != "" {
				var ge *runtime.GuestError
				if !errors.As(err, &ge) {
					t.Fatalf("got %v, want the guest error %q", err, c.err)
				}
				if !match(c.err, ge.Message) {
					t.Errorf("got the message %q, want %q", ge.Message, c.err)
				}
				if (ge.Cause != nil) != c.cause {
					t.Errorf("the cause is %v, want one: %v", ge.Cause, c.cause)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := eng.FetchAll(context.Background(), obj...)
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := c.want.(string); ok && strings.Contains(s, "%") {
				if g, ok := got[0].(string); !ok || !match(s, g) {
					t.Errorf("got %#v, want %q", got[0], s)
				}
				return
			}
			if !reflect.DeepEqual(got[0], c.want) {
				t.Errorf("got %#v, want %#v", got[0], c.want)
			}
		})
	}
}

// match reports whether s equals pattern, where each % in pattern stands for any text.
func match(pattern, s string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), "%", ".*") + "$"
	return regexp.MustCompile(re).MatchString(s)
}

// BenchmarkTensorSum hands a 64 MiB float64 tensor from the WAT producer of
// guests/tensor_bench_test.go to the Zig tensor_sum, which reads it in place; "handoff" is the
// producer with a WAT consumer that reads nothing, for scale.
func BenchmarkTensorSum(b *testing.B) {
	const elems = 8 << 20
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	bench, err := rt.LoadFile(ctx, "../../testdata/wat/tensorbench.wasm")
	if err != nil {
		b.Skip(err)
	}
	zig, err := rt.LoadFile(ctx, module)
	if err != nil {
		b.Fatal(err)
	}
	make, _ := bench.Func("make")
	consume, _ := bench.Func("consume")
	sum, _ := zig.Func("tensor_sum")
	eng := dag.New(dag.Config{Slots: 1})
	for _, c := range []struct {
		name string
		fn   *runtime.Function
		want any
	}{{"handoff", consume, int64(elems)}, {"zig", sum, 0.0}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(elems * 8)
			for i := 0; b.Loop(); i++ {
				src := dag.Spawn(make, elems, i)
				out := dag.Spawn(c.fn, src)
				if err := eng.Execute(ctx, out); err != nil {
					b.Fatal(err)
				}
				if v, err := eng.FetchAll(ctx, out); err != nil || v[0] != c.want {
					b.Fatalf("%s = %v, %v", c.name, v, err)
				}
				eng.Forget(src, out)
			}
		})
	}
}

// engineWith makes a runtime with mrun:tensor and mrun:table registered and returns a context,
// the functions of the extras module in it, and the host's eval of mrun:tensor.
func engineWith(t *testing.T) (context.Context, func(string) *runtime.Function, *runtime.Function) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	tm, err := tensor.Register(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	eval, err := tm.Func("eval")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := table.Register(ctx, rt); err != nil {
		t.Fatal(err)
	}
	m, err := rt.LoadFile(ctx, extras)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, func(name string) *runtime.Function {
		f, err := m.Func(name)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}, eval
}

// driver2_tensor of the extras module is rand(seed, 10, 10).sum() inside a spawned function,
// built with mrun.mt: through the real engine it spawns eval of mrun:tensor, nested, and
// returns the same float64 as the host evaluating the same expression (as the Go and C
// modules do in TestDriver2Tensor_Engine of guests/go/mrun/mt).
func TestDriver2Tensor_Engine(t *testing.T) {
	ctx, fn, eval := engineWith(t)
	sdktest.Driver2Tensor(ctx, t, fn("driver2_tensor"), eval)
}

// tensor_matmul evaluates a tensor-valued expression and returns the Tensor(f64) it fetched:
// the same tensor as the host's eval of the same expression.
func TestTensorMatmul_Engine(t *testing.T) {
	ctx, fn, eval := engineWith(t)
	e := dag.New(dag.Config{Slots: 2})
	got := dag.Spawn(fn("tensor_matmul"), 3, 5)
	want := dag.Spawn(eval, tensor.Rand(3, 5, 5).MatMul(tensor.Ones(5, 5)).Add(1))
	if err := e.Execute(ctx, got, want); err != nil {
		t.Fatal(err)
	}
	v, err := e.FetchAll(ctx, got, want)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := v[0].(abi.Tensor)
	if !ok || !reflect.DeepEqual(v[0], v[1]) || g.DType != abi.Float64 || !reflect.DeepEqual(g.Shape, []int{5, 5}) {
		t.Errorf("tensor_matmul(3, 5) = %v, want the host's %v", v[0], v[1])
	}
}

// The expressions the Zig builder makes are the host's tensor/expr expressions, operator by
// operator (the Go SDK's TestExpr_SameAsHost, same cases).
func TestTensorExprs_SameAsHost(t *testing.T) {
	_, fn := loadModule(t, extras)
	m, _ := abi.NewTensor([]int{2}, []float64{1, 2})
	x := expr.Arange(0, 12, 1).Reshape(3, 4)
	want := []expr.Expr{
		expr.Rand(1, 10, 10).Sum(nil),
		expr.Rand(2, 6, 4).WithChunks(3, -1).Mul(expr.Ones(6, 4)).Add(2.5).Sub(1).Div(int32(2)).Pow(float32(2)).Neg().Abs().Sqrt().Exp().Log(),
		expr.Concatenate(0, x.Eq(1), x.Ne(1), x.Lt(1), x.Le(1), x.Gt(1), x.Ge(true)),
		expr.Where(x.Gt(5), x, 0).Std([]int{0}, 1).KeepDims(),
		expr.Concatenate(0, x.Mean([]int{1}), x.Var(nil, 0), x.Min([]int{0}), x.Max(nil), x.ArgMin(nil), x.ArgMax([]int{1})),
		x.T().Transpose(1, 0).Slice([3]int{expr.None, expr.None, -1}, [3]int{1, expr.None, expr.None}).Rechunk(2, 2).MatMul(expr.Zeros(3, 3)),
		expr.Concatenate(0, expr.Full(7, abi.Int32, 2), expr.Zeros(2).AsType(abi.Float32), expr.Linspace(0, 1, 2), expr.FromTensor(m).Add(m)),
	}
	frame, err := abi.EncodeFrame([]any{m}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := fn("tensor_exprs").Call(context.Background(), frame)
	if err != nil {
		t.Fatal(err)
	}
	got, err := abi.Decode(res.Value)
	if err != nil {
		t.Fatal(err)
	}
	list, ok := got.([]any)
	if !ok || len(list) != len(want) {
		t.Fatalf("tensor_exprs() = %v, want a list of %d expressions", got, len(want))
	}
	for i, w := range want {
		b, err := w.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		h, err := abi.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if g, h := fmt.Sprint(list[i]), fmt.Sprint(h); g != h {
			t.Errorf("expression %d:\nzig  %s\nhost %s", i, g, h)
		}
	}
}

// everyType is a table with a column of every type: empty strings, non-ASCII text, NaN and
// infinities, the extreme int64s, timestamps before and after 1970.
func everyType(t *testing.T, rows int) abi.Table {
	t.Helper()
	ints := []int64{math.MinInt64, -1, 0, 7, math.MaxInt64}
	floats := []float64{1.5, math.NaN(), math.Inf(1), -0.25, math.NaN()}
	bools := []bool{true, false, true, true, false}
	strs := []string{"", "Zürich", "", "東京", "a,b"}
	ts := []int64{-1, 0, 1_765_000_000_000_000_000, 5, 1}
	tbl, err := abi.NewTable(
		abi.Int64Column("id", ints[:rows]),
		abi.Float64Column("x", floats[:rows]),
		abi.BoolColumn("ok", bools[:rows]),
		abi.StringColumn("city", strs[:rows]),
		abi.TimestampNanosColumn("at", ts[:rows]),
	)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// table_stats reads a table argument column by column; table_echo returns it byte for byte;
// table_select builds a table from some of its columns and a new one.
func TestTables(t *testing.T) {
	_, fn := loadModule(t, extras)
	ctx := context.Background()
	call := func(name string, args ...any) (any, error) {
		t.Helper()
		frame, err := abi.EncodeFrame(args, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := fn(name).Call(ctx, frame)
		if err != nil {
			return nil, err
		}
		return abi.Decode(res.Value)
	}
	names := []any{"id", "x", "ok", "city", "at"}
	types := []any{"int64", "float64", "bool", "string", "timestamp"}
	for _, tc := range []struct {
		rows int
		want map[string]any
	}{
		{5, map[string]any{"rows": int64(5), "names": names, "types": types, "int_sum": int64(5), "float_sum": math.Inf(1),
			"nans": int64(2), "trues": int64(3), "strings": int64(5), "empty": int64(2), "chars": int64(11), "latest": int64(1_765_000_000_000_000_000)}},
		{2, map[string]any{"rows": int64(2), "names": names, "types": types, "int_sum": int64(math.MaxInt64), "float_sum": 1.5,
			"nans": int64(1), "trues": int64(1), "strings": int64(2), "empty": int64(1), "chars": int64(6), "latest": int64(0)}},
		{0, map[string]any{"rows": int64(0), "names": names, "types": types, "int_sum": int64(0), "float_sum": 0.0,
			"nans": int64(0), "trues": int64(0), "strings": int64(0), "empty": int64(0), "chars": int64(0), "latest": nil}},
	} {
		tbl := everyType(t, tc.rows)
		got, err := call("table_stats", tbl)
		if err != nil {
			t.Fatalf("table_stats of %d rows: %v", tc.rows, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("table_stats of %d rows = %v, want %v", tc.rows, got, tc.want)
		}
		in, err := abi.AppendTable(nil, tbl)
		if err != nil {
			t.Fatal(err)
		}
		echo, err := call("table_echo", tbl)
		if err != nil {
			t.Fatalf("table_echo of %d rows: %v", tc.rows, err)
		}
		if out, err := abi.AppendTable(nil, echo.(abi.Table)); err != nil || string(out) != string(in) {
			t.Errorf("table_echo of %d rows = % x, want % x (%v)", tc.rows, out, in, err)
		}
	}
	// No columns at all.
	empty, _ := abi.NewTable()
	if got, err := call("table_echo", empty); err != nil || got.(abi.Table).Rows() != 0 || len(got.(abi.Table).Columns()) != 0 {
		t.Errorf("table_echo of no columns = %v, %v", got, err)
	}
	got, err := call("table_select", everyType(t, 3), []string{"city", "id"})
	if err != nil {
		t.Fatal(err)
	}
	sel := got.(abi.Table)
	city, _ := sel.Column("city")
	cities, _ := city.Strings()
	total, _ := sel.Column("total")
	totals, _ := total.Float64s()
	if sel.String() != "table[3 rows: city string, id int64, total float64]" ||
		!reflect.DeepEqual(cities, []string{"", "Zürich", ""}) || totals[0] != 1.5 || !math.IsNaN(totals[1]) || !math.IsInf(totals[2], 1) {
		t.Errorf("table_select = %v: cities %q, totals %v", sel, cities, totals)
	}
	_, err = call("table_select", everyType(t, 1), []string{"id", "id"})
	var ge *runtime.GuestError
	if !errors.As(err, &ge) || ge.Message != `table_select: two columns are named "id"` {
		t.Errorf("table_select with a column twice: got %v", err)
	}
	_, err = call("table_select", everyType(t, 1), []string{"nope"})
	if !errors.As(err, &ge) || ge.Message != `table_select: no column "nope"` {
		t.Errorf("table_select of an unknown column: got %v", err)
	}
}

// A malformed table argument is a guest error that says what is wrong, with the Go SDK's
// words; the instance stays usable.
func TestMalformedTables(t *testing.T) {
	_, fn := loadModule(t, extras)
	good, err := abi.NewTable(abi.Int64Column("a", []int64{1, 2}), abi.StringColumn("b", []string{"x", "yz"}))
	if err != nil {
		t.Fatal(err)
	}
	in, err := abi.AppendTable(nil, good)
	if err != nil {
		t.Fatal(err)
	}
	// in is ABI.md's example: c7 48 05, then the 72-byte payload.
	mutate := func(at int, b byte) []byte {
		p := append([]byte(nil), in...)
		p[3+at] = b
		return p
	}
	boolTable := append([]byte{0xc7, 32, 5, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 11, 0, 1, 0, 'b', 0, 0, 0}, 2, 0, 0, 0, 0, 0, 0, 0)
	for _, tc := range []struct {
		name string
		arg  []byte
		want string
	}{
		{"not a table", []byte{0x01}, "table_stats: argument 1: expected a table, got int"},
		{"a tensor", ext8(tensorPayload([]uint64{1}, []float64{1})), "table_stats: argument 1: expected a table, got ext type 4"},
		{"short", []byte{0xd4, 5, 0}, "table_stats: argument 1: malformed table: a payload of 1 bytes is shorter than the 16-byte header"},
		{"flags", mutate(4, 1), "table_stats: argument 1: malformed table: the flags are not zero"},
		{"columns", mutate(1, 1), "table_stats: argument 1: malformed table: a payload of 72 bytes cannot hold 258 columns"},
		{"rows", mutate(8, 3), `table_stats: argument 1: malformed table: string column "b": its offsets are not n+1 offsets from 0`},
		{"rows past the end", mutate(8, 9), `table_stats: argument 1: malformed table: column "a" runs past the payload or its padding is not zero`},
		{"huge rows", mutate(12, 1), "table_stats: argument 1: malformed table: 4294967298 rows, more than 2^32-1"},
		{"unknown type", mutate(16, 9), `table_stats: argument 1: malformed table: column "a" has unknown type 9`},
		{"descriptor padding", mutate(17, 1), "table_stats: argument 1: malformed table: column descriptor 0 is cut short or its padding is not zero"},
		{"padding", mutate(30, 1), "table_stats: argument 1: malformed table: the column descriptors' padding is cut short or not zero"},
		{"same names", mutate(25, 'a'), `table_stats: argument 1: malformed table: two columns are named "a"`},
		{"offsets", mutate(52, 9), `table_stats: argument 1: malformed table: string column "b": value 0 is out of order, out of range or not UTF-8`},
		{"text past the end", mutate(56, 9), `table_stats: argument 1: malformed table: column "b" runs past the payload or its padding is not zero`},
		{"text", mutate(65, 0xff), `table_stats: argument 1: malformed table: string column "b": value 1 is out of order, out of range or not UTF-8`},
		{"bool", boolTable, `table_stats: argument 1: malformed table: bool column "b" holds a byte other than 0 and 1`},
	} {
		frame := append(append([]byte{0x92, 0x91}, tc.arg...), 0x80)
		_, err := fn("table_stats").Call(context.Background(), frame)
		var ge *runtime.GuestError
		if !errors.As(err, &ge) || ge.Message != tc.want {
			t.Errorf("%s: got %v, want the guest error %q", tc.name, err, tc.want)
		}
	}
	frame, _ := abi.EncodeFrame([]any{good}, nil)
	if _, err := fn("table_stats").Call(context.Background(), frame); err != nil {
		t.Errorf("a good table after the bad ones: %v", err)
	}
}

// table_groupby spawns eval of mrun:table with a group-by of its table argument, in chunks of
// two rows, and returns the table it fetched: the rows of docs/tables.md's example.
func TestTableGroupBy_Engine(t *testing.T) {
	ctx, fn, _ := engineWith(t)
	var mu sync.Mutex
	starts := map[string]int{}
	e := dag.New(dag.Config{Slots: 2, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart {
			mu.Lock()
			starts[ev.Func.Name()]++
			mu.Unlock()
		}
	}})
	sales, err := abi.NewTable(
		abi.StringColumn("city", []string{"Oslo", "Lima", "Oslo", "Pune", "Lima"}),
		abi.Int64Column("amount", []int64{10, 4, 5, 7, 8}))
	if err != nil {
		t.Fatal(err)
	}
	o := dag.Spawn(fn("table_groupby"), sales, "city", "amount")
	if err := e.Execute(ctx, o); err != nil {
		t.Fatal(err)
	}
	v, err := e.FetchAll(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := v[0].(abi.Table)
	if !ok {
		t.Fatalf("table_groupby = %#v, want a table", v[0])
	}
	city, _ := got.Column("city")
	cities, _ := city.Strings()
	sum, _ := got.Column("amount_sum")
	sums, _ := sum.Int64s()
	n, _ := got.Column("n")
	counts, _ := n.Int64s()
	if got.String() != "table[3 rows: city string, amount_sum int64, n int64]" || !reflect.DeepEqual(cities, []string{"Lima", "Oslo", "Pune"}) ||
		!reflect.DeepEqual(sums, []int64{12, 15, 7}) || !reflect.DeepEqual(counts, []int64{2, 2, 1}) {
		t.Errorf("table_groupby = %v: %q %v %v", got, cities, sums, counts)
	}
	if starts["table_groupby"] != 1 || starts["eval"] != 1 || starts["groupby"] != 3 {
		t.Errorf("tasks started: %v, want table_groupby, eval and three groupby (5 rows in chunks of 2)", starts)
	}
}

// FuzzTableArgs calls table_stats and table_echo with arbitrary table arguments: each call
// succeeds or fails with a guest error naming the function, never a trap; an echoed table is
// checked by the host as a result, so the SDK never writes a malformed one.
func FuzzTableArgs(f *testing.F) {
	good, _ := abi.NewTable(abi.Int64Column("a", []int64{1, 2}), abi.StringColumn("b", []string{"x", "yz"}))
	in, _ := abi.AppendTable(nil, good)
	f.Add(false, in)
	f.Add(true, in)
	every, _ := abi.NewTable(abi.Float64Column("f", []float64{math.NaN()}), abi.BoolColumn("b", []bool{true}),
		abi.TimestampNanosColumn("t", []int64{-1}), abi.StringColumn("s", []string{"é"}))
	ev, _ := abi.AppendTable(nil, every)
	f.Add(true, ev)
	f.Add(false, []byte{0xd8, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	_, fn := loadModule(f, extras)
	f.Fuzz(func(t *testing.T, echo bool, arg []byte) {
		name := "table_stats"
		if echo {
			name = "table_echo"
		}
		frame := append(append([]byte{0x92, 0x91}, arg...), 0x80)
		_, err := fn(name).Call(context.Background(), frame)
		var ge *runtime.GuestError
		if err != nil && !errors.As(err, &ge) && !errors.Is(err, runtime.ErrInvalid) {
			t.Fatalf("%s(% x): %v", name, arg, err)
		}
		if ge != nil && !strings.HasPrefix(ge.Message, name+": ") {
			t.Fatalf("%s(% x): the message %q does not name the function", name, arg, ge.Message)
		}
	})
}

// BenchmarkTableStats calls table_stats on a table of 1,000,000 rows (an int64, a float64 and a
// bool column: 17 MB), which it reads in place, and table_echo, which writes it back; MB/s
// counts the table's bytes.
func BenchmarkTableStats(b *testing.B) {
	const rows = 1_000_000
	ints, floats, bools := make([]int64, rows), make([]float64, rows), make([]bool, rows)
	for i := range rows {
		ints[i], floats[i], bools[i] = int64(i), float64(i)/2, i%3 == 0
	}
	tbl, err := abi.NewTable(abi.Int64Column("i", ints), abi.Float64Column("f", floats), abi.BoolColumn("b", bools))
	if err != nil {
		b.Fatal(err)
	}
	frame, err := abi.EncodeFrame([]any{tbl}, nil)
	if err != nil {
		b.Fatal(err)
	}
	_, fn := loadModule(b, extras)
	for _, name := range []string{"table_stats", "table_echo"} {
		f := fn(name)
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if _, err := f.Call(context.Background(), frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A planner error of an expression comes back to the Zig function as a failed child: try
// passes it on, so the host's error chain reads tensor_error → eval → the planner's message.
func TestTensorError_Engine(t *testing.T) {
	ctx, fn, _ := engineWith(t)
	e := dag.New(dag.Config{Slots: 2})
	o := dag.Spawn(fn("tensor_error"))
	err := e.Execute(ctx, o)
	var ge *runtime.GuestError
	if !errors.As(err, &ge) || ge.Cause == nil {
		t.Fatalf("got %v, want a guest error caused by the failed eval", err)
	}
	want := "tensor_error: task eval (key %, module mrun:tensor): tensor: expression.x (reshape): cannot reshape float64[10 10] of 100 elements into shape [7]"
	if !match(want, ge.Message) {
		t.Errorf("got the message %q, want %q", ge.Message, want)
	}
}

// TestExtrasSignatures checks the lines mrun.signature derives from the extras module's Zig
// types, which cover what the conformance module does not: an Object parameter, optional,
// struct and enum parameters, an integer keyword with its default, unsigned integers, a
// tensor of int32, an array of expressions, and a struct result of mixed field types.
func TestExtrasSignatures(t *testing.T) {
	want := []string{
		"add(a: int, b: int) -> int  -- Returns a + b.",
		"big_fetch(n: int) -> list[int]  -- Returns the sums of iota(n) and iota(2000), fetched from spawns.",
		"bogus(h: int) -> str  -- Returns the host's message for fetching handle h, never issued.",
		"by_ref(x: int) -> list[int]  -- Returns [x, x + 1, x + 2] through forward, given add(x, 0) by reference.",
		"catch_fail(msg: str) -> str  -- Returns the error text of a child fail(msg).",
		"driver2_tensor(seed: int) -> float  -- Sums rand(seed, 10, 10) evaluated by the tensor planner mrun:tensor.",
		"fail(msg: str) -> none  -- Fails with msg, verbatim.",
		"flip(c: str) -> str  -- Returns the other color: red for green, green for red.",
		"forward(obj: any, n: int) -> list[int]  -- Returns [obj + 0, ..., obj + n - 1] from n spawns of add with obj as a dependency.",
		`greet(name: str, *, greeting: str = "hello", times: int = 1) -> str  -- Returns "greeting, name!" times times.`,
		"iota(n: int) -> list[int]  -- Returns [0, 1, ..., n - 1].",
		"leak() -> any  -- Fails: returns an Object, which a result cannot hold.",
		"ones(shape: list[int]) -> tensor[int32]  -- Returns an int32 tensor of the given shape, all ones.",
		"pass_on(msg: str) -> int  -- Fails with the error of a child fail(msg) as the cause.",
		`spawn_kw(name: str) -> str  -- Returns greet(name, greeting="hey", times=2) through a spawn.`,
		"table_echo(t: table) -> table  -- Returns t.",
		"table_groupby(t: table, key: str, value: str) -> table  -- Sums and counts column value of t per distinct key, with mrun:table.",
		"table_select(t: table, names: list[str]) -> table  -- Returns the named columns of t and a column total of its float64 columns per row.",
		"table_stats(t: table) -> map[str, any]  -- Returns the rows, column names and types, and per-type sums of t.",
		"tensor_error() -> float  -- Fails: reshapes 100 elements into 7 with mrun:tensor.",
		"tensor_exprs(m: tensor[float64]) -> list[map[str, any]]  -- Returns one tensor expression per builder, unevaluated.",
		"tensor_matmul(seed: int, n: int) -> tensor[float64]  -- Returns rand(seed, n, n) @ ones(n, n) + 1, evaluated by mrun:tensor.",
		"unknown() -> none  -- Fails: spawns a function the module does not have.",
		"wrong_type() -> str  -- Returns the host's message for fetching an int as a str.",
	}
	mod, _ := loadModule(t, extras)
	var got []string
	for _, f := range mod.Functions() {
		s := f.Signature()
		if s == nil && f.Name() == "norm1" {
			continue // its trailing optional parameter may be left out, which a signature cannot say
		}
		if s == nil {
			t.Errorf("function %s has no signature", f.Name())
			continue
		}
		got = append(got, s.String())
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("signatures:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
}
