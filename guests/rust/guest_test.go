package rust_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"reflect"
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

// tableFrame is the argument frame of a table of n rows with a column of each type.
func tableFrame(tb testing.TB, n int) []byte {
	i, f, b, s, ts := make([]int64, n), make([]float64, n), make([]bool, n), make([]string, n), make([]int64, n)
	for k := range n {
		i[k], f[k], b[k], s[k], ts[k] = int64(k), float64(k)/3, k%2 == 0, []string{"", "Oslo", "Zürich", "東京"}[k%4], int64(k)*1e9
	}
	t, err := abi.NewTable(abi.Int64Column("i", i), abi.Float64Column("f", f), abi.BoolColumn("b", b),
		abi.StringColumn("s", s), abi.TimestampNanosColumn("t", ts))
	if err != nil {
		tb.Fatal(err)
	}
	tpl, err := abi.EncodeTemplate([]any{t}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return tpl.Frame()
}

// tensorFrame is the argument frame of a float64 tensor of n zeros.
func tensorFrame(tb testing.TB, n int) []byte {
	t, err := abi.NewTensor([]int{n}, make([]float64, n))
	if err != nil {
		tb.Fatal(err)
	}
	tpl, err := abi.EncodeTemplate([]any{t}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return tpl.Frame()
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
		{"table_stats_10k", "table_stats", tableFrame(b, 10000)},
		{"table_echo_10k", "table_echo", tableFrame(b, 10000)},
		{"tensor_sum_36k", "tensor_sum", tensorFrame(b, 36000)},
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

// engine is an engine over a runtime with mrun:tensor and mrun:table registered and the Rust
// module loaded.
type engine struct {
	ctx        context.Context
	mod        *runtime.Module
	tensorEval *runtime.Function
	tableEval  *runtime.Function
	e          *dag.Engine
	mu         sync.Mutex
	counts     map[string]int
}

func newEngine(t *testing.T) *engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	en := &engine{ctx: ctx, counts: map[string]int{}}
	tm, err := tensor.Register(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	tbm, err := table.Register(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	if en.tensorEval, err = tm.Func("eval"); err != nil {
		t.Fatal(err)
	}
	if en.tableEval, err = tbm.Func("eval"); err != nil {
		t.Fatal(err)
	}
	if en.mod, err = rt.LoadFile(ctx, modulePath); err != nil {
		t.Fatal(err)
	}
	en.e = dag.New(dag.Config{Slots: 2, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart {
			en.mu.Lock()
			en.counts[ev.Func.Name()]++
			en.mu.Unlock()
		}
	}})
	return en
}

// starts counts the tasks started so far, by function name, and starts counting again.
func (en *engine) starts() map[string]int {
	en.mu.Lock()
	defer en.mu.Unlock()
	s := en.counts
	en.counts = map[string]int{}
	return s
}

// fn is the function of the Rust module called name.
func (en *engine) fn(t *testing.T, name string) *runtime.Function {
	t.Helper()
	f, err := en.mod.Func(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// run executes o on e and fetches its value in its generic form.
func run(ctx context.Context, t *testing.T, e *dag.Engine, o *dag.Object) any {
	t.Helper()
	if err := e.Execute(ctx, o); err != nil {
		t.Fatal(err)
	}
	var v any
	if err := e.Fetch(ctx, o, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// driver2_tensor of the Rust module is rand(seed, 10, 10).sum() with mrun::mt inside a spawned
// function: through the real engine it spawns eval of mrun:tensor, nested, and returns the same
// float64 as the host evaluating the same expression (as the Go and C modules do, in
// guests/go/mrun/mt's TestDriver2Tensor_Engine).
func TestDriver2Tensor_Engine(t *testing.T) {
	en := newEngine(t)
	ctx, e, driver := en.ctx, en.e, en.fn(t, "driver2_tensor")
	got := run(ctx, t, e, dag.Spawn(driver, 7))
	if s := en.starts(); s["driver2_tensor"] != 1 || s["eval"] != 1 || s["reduce"] != 1 || len(s) != 3 {
		t.Errorf("tasks started: %v, want driver2_tensor, eval and one reduce", s)
	}
	want := run(ctx, t, e, dag.Spawn(en.tensorEval, tensor.Rand(7, 10, 10).Sum(nil)))
	if f, ok := got.(float64); !ok || got != want || f < 30 || f > 70 {
		t.Errorf("driver2_tensor(7) = %v (%T), want %v (the host's sum of the same 100 numbers)", got, got, want)
	}
	if other := run(ctx, t, e, dag.Spawn(driver, 8)); other == got {
		t.Errorf("driver2_tensor(8) = driver2_tensor(7) = %v: the seed is not passed on", got)
	}
}

// mt_matmul evaluates a matrix product in 2 × 2 chunks from the guest and gets the tensor the
// host gets for the same expression.
func TestMTMatmul_Engine(t *testing.T) {
	en := newEngine(t)
	ctx, e := en.ctx, en.e
	got := run(ctx, t, e, dag.Spawn(en.fn(t, "mt_matmul"), 3))
	s := en.starts()
	want := run(ctx, t, e, dag.Spawn(en.tensorEval, tensor.Rand(3, 4, 4).WithChunks(2, 2).MatMul(tensor.Ones(4, 4))))
	g, ok := got.(abi.Tensor)
	w := want.(abi.Tensor)
	if !ok || g.DType != abi.Float64 || !slices.Equal(g.Shape, []int{4, 4}) || !bytes.Equal(g.Data, w.Data) {
		t.Errorf("mt_matmul(3) = %v, want %v with the host's elements", got, want)
	}
	// ones(4, 4) is made in x's two column chunks: 2 × 1 output chunks, each one matmul task
	// that accumulates its 2 block products.
	if len(s) != 3 || s["mt_matmul"] != 1 || s["eval"] != 1 || s["matmul"] != 2 {
		t.Errorf("tasks started: %v, want mt_matmul, eval and 2 matmul tasks", s)
	}
}

// A planner error in a nested eval fails the guest function with the child's error as the cause.
func TestMTPlannerError_Engine(t *testing.T) {
	en := newEngine(t)
	err := en.e.Execute(en.ctx, dag.Spawn(en.fn(t, "mt_bad_shapes")))
	const want = "module mrun:tensor): tensor: expression.x (add): shapes [2 3] and [5] do not broadcast: axis 1 has sizes 3 and 5"
	var te *dag.TaskError
	if !errors.As(err, &te) || !strings.HasPrefix(err.Error(), "task mt_bad_shapes (key ") ||
		!strings.Contains(err.Error(), "): task eval (key ") || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("mt_bad_shapes: got %v, want a task error whose cause is eval's: ...%s", err, want)
	}
}

// table_totals groups its table argument with mrun::md: through the real engine it spawns eval
// of mrun:table, nested, which runs a group-by task per chunk of 2 rows and a combine, and
// returns the table the host gets for the same expression.
func TestTableTotals_Engine(t *testing.T) {
	en := newEngine(t)
	ctx, e := en.ctx, en.e
	tb, err := abi.NewTable(
		abi.StringColumn("city", []string{"Oslo", "Lima", "Oslo", "Pune", "Lima"}),
		abi.Int64Column("amount", []int64{10, 4, 5, 7, 8}),
	)
	if err != nil {
		t.Fatal(err)
	}
	got := run(ctx, t, e, dag.Spawn(en.fn(t, "table_totals"), tb))
	if s := en.starts(); s["table_totals"] != 1 || s["eval"] != 1 || s["groupby"] != 3 || s["combine"] != 1 || len(s) != 4 {
		t.Errorf("tasks started: %v, want table_totals, eval, 3 group-bys and a combine", s)
	}
	want := run(ctx, t, e, dag.Spawn(en.tableEval, map[string]any{
		"op": "groupby", "keys": []string{"city"}, "aggs": []any{[]string{"amount", "sum"}, []string{"amount", "count", "n"}},
		"x": map[string]any{"op": "table", "value": tb, "chunk_rows": 2},
	}))
	g, ok := got.(abi.Table)
	gb, _ := abi.AppendTable(nil, g)
	wb, _ := abi.AppendTable(nil, want.(abi.Table))
	if !ok || !bytes.Equal(gb, wb) || g.Rows() != 3 {
		t.Errorf("table_totals = %v, want %v", got, want)
	}
	city, _ := g.Columns()[0].Strings()
	n, _ := g.Columns()[2].Int64s()
	if !slices.Equal(city, []string{"Lima", "Oslo", "Pune"}) || !slices.Equal(n, []int64{2, 2, 1}) {
		t.Errorf("table_totals: city %q, n %v; want [Lima Oslo Pune] and [2 2 1]", city, n)
	}
}

// Every operator built with mrun::mt has the value the host's tensor/expr builds.
func TestMTExprs_SameAsHost(t *testing.T) {
	_, mod := load(t)
	got := call(t, mod, "mt_exprs").([]any)
	m, _ := abi.NewTensor([]int{2}, []float64{1, 2})
	x := expr.Arange(0, 12, 1).Reshape(3, 4)
	want := []expr.Expr{
		expr.Rand(1, 10, 10).Sum(nil),
		expr.Rand(2, 6, 4).WithChunks(3, -1).Mul(expr.Ones(6, 4)).Add(2.5).Sub(1).Div(2).Pow(2.0).Neg().Abs().Sqrt().Exp().Log(),
		expr.Concatenate(0, x.Eq(1), x.Ne(1), x.Lt(1), x.Le(1), x.Gt(1), x.Ge(true)),
		expr.Where(x.Gt(5), x, 0).Std([]int{0}, 1).KeepDims(),
		expr.Concatenate(0, x.Mean([]int{1}), x.Var(nil, 0), x.Min([]int{0}), x.Max(nil), x.ArgMin(nil), x.ArgMax([]int{1})),
		x.T().Transpose(1, 0).Slice([3]int{expr.None, expr.None, -1}, [3]int{1, expr.None, expr.None}).Rechunk(2, 2).MatMul(expr.Zeros(3, 3)),
		expr.Concatenate(0, expr.Full(7, abi.Int32, 2), expr.Zeros(2).AsType(abi.Float32), expr.Linspace(0, 1, 2), expr.FromTensor(m).Add(m)),
	}
	if len(got) != len(want) {
		t.Fatalf("mt_exprs() has %d expressions, want %d", len(got), len(want))
	}
	for i, h := range want {
		b, err := h.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		hv, err := abi.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[i], hv) {
			t.Errorf("expression %d:\nguest %v\nhost  %v", i, got[i], hv)
		}
	}
}

// call calls fn of mod with positional args and decodes its result.
func call(t *testing.T, mod *runtime.Module, fn string, args ...any) any {
	t.Helper()
	v, err := callErr(mod, fn, args...)
	if err != nil {
		t.Fatalf("%s: %v", fn, err)
	}
	return v
}

func callErr(mod *runtime.Module, fn string, args ...any) (any, error) {
	tpl, err := abi.EncodeTemplate(args, nil)
	if err != nil {
		return nil, err
	}
	return callFrame(mod, fn, tpl.Frame())
}

func callFrame(mod *runtime.Module, fn string, frame []byte) (any, error) {
	f, err := mod.Func(fn)
	if err != nil {
		return nil, err
	}
	res, err := f.Call(context.Background(), frame)
	if err != nil {
		return nil, err
	}
	return abi.Decode(res.Value)
}

// everyType is a table of n rows (n ≤ 3) with a column of each type: an empty string, text
// beyond ASCII, a NaN, the largest int64, times before and after 1970.
func everyType(t testing.TB, n int) abi.Table {
	t.Helper()
	tb, err := abi.NewTable(
		abi.Int64Column("i", []int64{1, -2, math.MaxInt64}[:n]),
		abi.Float64Column("f", []float64{0.5, math.NaN(), -2.25}[:n]),
		abi.BoolColumn("b", []bool{true, false, true}[:n]),
		abi.StringColumn("s", []string{"", "Zürich", "東京"}[:n]),
		abi.TimestampNanosColumn("time", []int64{1796644800500000000, -1, 0}[:n]),
	)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// table_stats reads every column of a table argument in place.
func TestTableStats(t *testing.T) {
	_, mod := load(t)
	columns := []any{[]any{"i", "int64"}, []any{"f", "float64"}, []any{"b", "bool"}, []any{"s", "string"}, []any{"time", "timestamp"}}
	for _, tc := range []struct {
		rows    int
		summary map[string]any
	}{
		{3, map[string]any{"i": int64(math.MaxInt64 - 1), "f": []any{-1.75, int64(1)}, "b": int64(2),
			"s": []any{int64(8), int64(1)}, "time": []any{int64(-1), int64(1796644800500000000)}}},
		{1, map[string]any{"i": int64(1), "f": []any{0.5, int64(0)}, "b": int64(1),
			"s": []any{int64(0), int64(1)}, "time": []any{int64(1796644800500000000), int64(1796644800500000000)}}},
		{0, map[string]any{"i": int64(0), "f": []any{0.0, int64(0)}, "b": int64(0),
			"s": []any{int64(0), int64(0)}, "time": []any{nil, nil}}},
	} {
		got := call(t, mod, "table_stats", everyType(t, tc.rows))
		want := map[string]any{"rows": int64(tc.rows), "columns": columns, "summary": tc.summary}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("table_stats(%d rows) = %v\nwant %v", tc.rows, got, want)
		}
	}
}

// table_echo returns its table argument byte for byte (it is the one valid encoding), and
// table_head builds a table of slices of it.
func TestTableEcho(t *testing.T) {
	_, mod := load(t)
	noColumns, _ := abi.NewTable()
	for _, tb := range []abi.Table{everyType(t, 3), everyType(t, 0), noColumns} {
		want, err := abi.AppendTable(nil, tb)
		if err != nil {
			t.Fatal(err)
		}
		f, _ := mod.Func("table_echo")
		tpl, _ := abi.EncodeTemplate([]any{tb}, nil)
		res, err := f.Call(context.Background(), tpl.Frame())
		if err != nil || !bytes.Equal(res.Value, want) {
			t.Errorf("table_echo(%v) = % x, %v\nwant % x", tb, res.Value, err, want)
		}
	}
	for n := range 4 {
		got := call(t, mod, "table_head", everyType(t, 3), n+1)
		want, _ := abi.AppendTable(nil, everyType(t, min(n+1, 3)))
		if b, _ := abi.AppendTable(nil, got.(abi.Table)); !bytes.Equal(b, want) {
			t.Errorf("table_head(t, %d) = %v, want the first %d rows of t", n+1, got, min(n+1, 3))
		}
	}
}

// A malformed table argument fails the call with a guest error that says what is wrong.
func TestTableMalformed(t *testing.T) {
	_, mod := load(t)
	// The example of ABI.md section 5.4: int64 column a = [1, 2], string column b = ["x", "yz"].
	example := []byte{0xc7, 0x48, 0x05,
		2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
		4, 0, 1, 0, 'a', 32, 0, 1, 0, 'b', 0, 0, 0, 0, 0, 0,
		1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0,
		'x', 'y', 'z', 0, 0, 0, 0, 0}
	frame := func(table []byte) []byte { return append(append([]byte{0x92, 0x91}, table...), 0x80) }
	with := func(at int, b byte) []byte {
		v := bytes.Clone(example)
		v[3+at] = b
		return frame(v)
	}
	if got, err := callFrame(mod, "table_stats", frame(example)); err != nil || got.(map[string]any)["rows"] != int64(2) {
		t.Fatalf("table_stats(the ABI example) = %v, %v", got, err)
	}
	longer := append(bytes.Clone(example), 0, 0, 0, 0, 0, 0, 0, 0)
	longer[1] += 8
	const prefix = "table_stats: argument 1 (t): "
	for _, tc := range []struct {
		frame []byte
		want  string
	}{
		{with(4, 1), "malformed table: the flags are not zero"},
		{with(16, 7), `malformed table: column "a" has unknown type 7`},
		{with(12, 1), "malformed table: 4294967298 rows, more than 2^32-1"},
		{with(8, 9), `malformed table: column "a" runs past the payload or its padding is not zero`},
		{frame(longer), "malformed table: 8 bytes after the last column"},
		{with(48, 1), `malformed table: string column "b": its offsets are not n+1 offsets from 0`},
		{with(52, 4), `malformed table: string column "b": value 0 is out of order, out of range or not UTF-8`},
		{with(56, 9), `malformed table: column "b" runs past the payload or its padding is not zero`},
		{with(64, 0xff), `malformed table: string column "b": its text is not UTF-8`},
		{with(25, 'a'), `malformed table: two columns are named "a"`},
		{frame([]byte{0xd6, 0x05, 0, 0, 0, 0}), "malformed table: a payload of 4 bytes is shorter than the 16-byte header"},
		{frame([]byte{0x07}), "expected table, got int"},
		{frame([]byte{0xd4, 0x04, 0x00}), "expected table, got ext type 4"},
	} {
		_, err := callFrame(mod, "table_stats", tc.frame)
		var ge *runtime.GuestError
		if !errors.As(err, &ge) || ge.Message != prefix+tc.want {
			t.Errorf("table_stats(% x):\ngot  %v\nwant a guest error %q", tc.frame, err, prefix+tc.want)
		}
	}
}

// FuzzTableArg passes arbitrary ext-5 payloads to table_echo: the Rust SDK accepts exactly
// the tables the host accepts (abi.Decode), returns an accepted one byte for byte, and
// refuses the others with a guest error, never a trap.
func FuzzTableArg(f *testing.F) {
	for _, tb := range []abi.Table{everyType(f, 3), everyType(f, 0)} {
		b, _ := abi.AppendTable(nil, tb)
		f.Add(b[3:]) // both are ext 8: the payload follows a 3-byte header
	}
	f.Add([]byte{})
	_, mod := load(f)
	echo, err := mod.Func("table_echo")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		if len(payload) > math.MaxUint16 {
			return
		}
		value := append([]byte{0xc8, byte(len(payload) >> 8), byte(len(payload)), 5}, payload...)
		_, hostErr := abi.Decode(value)
		frame := append(append([]byte{0x92, 0x91}, value...), 0x80)
		res, err := echo.Call(context.Background(), frame)
		var ge *runtime.GuestError
		switch {
		case err == nil && hostErr == nil:
			if !bytes.HasSuffix(res.Value, payload) || len(res.Value) > len(payload)+6 {
				t.Fatalf("table_echo(% x) = % x, want the same payload", payload, res.Value)
			}
		case err == nil:
			t.Fatalf("table_echo accepted a table the host refuses (%v): % x", hostErr, payload)
		case !errors.As(err, &ge):
			t.Fatalf("table_echo(% x): %v, want a guest error", payload, err)
		case hostErr == nil:
			t.Fatalf("table_echo refused a table the host accepts: %v: % x", err, payload)
		}
	})
}

// BenchmarkTableEcho is table_echo of a table of 10,000 rows with and without the runtime's
// interruption of running guests, which makes each iteration of a loop check for it.
func BenchmarkTableEcho(b *testing.B) {
	frame := tableFrame(b, 10000)
	for _, u := range []bool{false, true} {
		name := map[bool]string{false: "interruptible", true: "uninterruptible"}[u]
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			rt, err := runtime.New(ctx, runtime.Config{Uninterruptible: u})
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close(ctx)
			mod, err := rt.LoadFile(ctx, modulePath)
			if err != nil {
				b.Fatal(err)
			}
			f, err := mod.Func("table_echo")
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := f.Call(ctx, frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
