package hosttest_test

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/mrun-dev/mrun/internal/sdktest"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/mrun-dev/mrun/table"
	"github.com/mrun-dev/mrun/tensor"
	"github.com/mrun-dev/mrun/tensor/expr"
	"github.com/vmihailenco/msgpack/v5"
)

// The C SDK's tensor expressions and table view (mrun.h), through the functions of the C
// conformance module that use them (examples/conformance.c, built to testdata/c).

// load returns the runtime, the C conformance module and mrun:tensor and mrun:table
// registered next to it.
func load(t *testing.T) (ctx context.Context, tensorMod, tableMod, m *runtime.Module) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	if tensorMod, err = tensor.Register(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if tableMod, err = table.Register(ctx, rt); err != nil {
		t.Fatal(err)
	}
	if m, err = rt.LoadFile(ctx, filepath.Join("..", "..", "..", "testdata", "c", "conformance.wasm")); err != nil {
		t.Fatal(err)
	}
	return ctx, tensorMod, tableMod, m
}

func fn(t *testing.T, m *runtime.Module, name string) *runtime.Function {
	t.Helper()
	f, err := m.Func(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// frame is the argument frame [args, {}].
func frame(t *testing.T, args ...any) []byte {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	b, err := msgpack.Marshal([]any{args, map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// printed decodes a MessagePack value into its generic form, printed (maps sorted by key).
func printed(t *testing.T, b []byte) string {
	t.Helper()
	v, err := abi.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(v)
}

// driver2_tensor is rand(seed, 10, 10).sum() inside a spawned function: through the real
// engine it spawns eval of mrun:tensor, nested, and returns the same float64 as the host
// evaluating the same expression.
func TestDriver2Tensor_Engine(t *testing.T) {
	ctx, tm, _, m := load(t)
	sdktest.Driver2Tensor(ctx, t, fn(t, m, "driver2_tensor"), fn(t, tm, "eval"))
}

// Every mrun_expr_* helper writes the expression the host's builder makes, operator by
// operator (the cases of the Go guest SDK's TestExpr_SameAsHost).
func TestTensorExprs_SameAsHost(t *testing.T) {
	ctx, _, _, m := load(t)
	res, err := fn(t, m, "tensor_exprs").Call(ctx, frame(t))
	if err != nil {
		t.Fatal(err)
	}
	var got []msgpack.RawMessage
	if err := msgpack.Unmarshal(res.Value, &got); err != nil {
		t.Fatal(err)
	}
	hm, _ := abi.NewTensor([]int{2}, []float64{1, 2})
	hx := expr.Arange(0, 12, 1).Reshape(3, 4)
	want := []struct {
		name string
		e    expr.Expr
	}{
		{"rand sum", expr.Rand(1, 10, 10).Sum(nil)},
		{"chunks, arithmetic", expr.Rand(2, 6, 4).WithChunks(3, -1).Mul(expr.Ones(6, 4)).Add(2.5).Sub(1).Div(int32(2)).Pow(float32(2)).Neg().Abs().Sqrt().Exp().Log()},
		{"comparisons", expr.Concatenate(0, hx.Eq(1), hx.Ne(1), hx.Lt(1), hx.Le(1), hx.Gt(1), hx.Ge(true))},
		{"where, std", expr.Where(hx.Gt(5), hx, 0).Std([]int{0}, 1).KeepDims()},
		{"reductions", expr.Concatenate(0, hx.Mean([]int{1}), hx.Var(nil, 0), hx.Min([]int{0}), hx.Max(nil), hx.ArgMin(nil), hx.ArgMax([]int{1}))},
		{"layout", hx.T().Transpose(1, 0).Slice([3]int{expr.None, expr.None, -1}, [3]int{1, expr.None, expr.None}).Rechunk(2, 2).MatMul(expr.Zeros(3, 3))},
		{"creation", expr.Concatenate(0, expr.Full(7, abi.Int32, 2), expr.Zeros(2).AsType(abi.Float32), expr.Linspace(0, 1, 2), expr.FromTensor(hm).Add(hm))},
	}
	if len(got) != len(want) {
		t.Fatalf("tensor_exprs returned %d expressions, want %d", len(got), len(want))
	}
	for i, tc := range want {
		h, err := tc.e.MarshalMsgpack()
		if err != nil {
			t.Fatal(err)
		}
		if g, h := printed(t, got[i]), printed(t, h); g != h {
			t.Errorf("%s:\nC    %s\nhost %s", tc.name, g, h)
		}
	}
}

// everyType is a table with a column of every type: empty strings, non-ASCII text, NaN,
// negative and extreme values.
func everyType(t testing.TB) abi.Table {
	t.Helper()
	tb, err := abi.NewTable(
		abi.Int64Column("id", []int64{1, -2, math.MaxInt64, 40}),
		abi.Float64Column("amount", []float64{1.5, math.NaN(), -0.25, math.Inf(1)}),
		abi.BoolColumn("ok", []bool{true, false, true, true}),
		abi.StringColumn("city", []string{"Oslo", "", "Zürich", "東京"}),
		abi.TimestampColumn("at", []time.Time{
			time.Date(2026, 12, 7, 12, 0, 0, 500, time.UTC),
			time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC),
			time.Date(1677, 9, 22, 0, 0, 0, 0, time.UTC),
		}),
		abi.StringColumn("é", []string{"", "", "", ""}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// zeroRows is a table of every column type and no rows.
func zeroRows(t testing.TB) abi.Table {
	t.Helper()
	tb, err := abi.NewTable(abi.Int64Column("i", nil), abi.Float64Column("f", nil), abi.BoolColumn("b", nil),
		abi.StringColumn("s", nil), abi.TimestampColumn("t", nil))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestTableStats(t *testing.T) {
	ctx, _, _, m := load(t)
	stats := fn(t, m, "table_stats")
	empty, _ := abi.NewTable()
	for _, tc := range []struct {
		name string
		tb   abi.Table
		want string
	}{
		{"every type", everyType(t),
			// id: 1 - 2 + MaxInt64 + 40 wraps; amount: NaN skipped, counted; city: 4 + 0 + 7 + 6 bytes
			fmt.Sprintf("map[columns:map[amount:[+Inf 1] at:%d city:[17 1] id:%d ok:3 é:[0 4]] rows:4]",
				time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano(), int64(math.MinInt64+38))},
		{"zero rows", zeroRows(t), "map[columns:map[b:0 f:[0 0] i:0 s:[0 0] t:<nil>] rows:0]"},
		{"no columns", empty, "map[columns:map[] rows:0]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := stats.Call(ctx, frame(t, tc.tb))
			if err != nil {
				t.Fatal(err)
			}
			if got := printed(t, res.Value); got != tc.want {
				t.Errorf("table_stats = %s\nwant          %s", got, tc.want)
			}
		})
	}
}

// table_echo reads a table into the view and writes it from its columns: there is one valid
// encoding of a table, so the bytes come back unchanged, whatever the argument's alignment.
func TestTableEcho(t *testing.T) {
	ctx, _, _, m := load(t)
	echo := fn(t, m, "table_echo")
	empty, _ := abi.NewTable()
	for _, tc := range []struct {
		name string
		tb   abi.Table
	}{{"every type", everyType(t)}, {"zero rows", zeroRows(t)}, {"no columns", empty}} {
		want, err := abi.AppendTable(nil, tc.tb)
		if err != nil {
			t.Fatal(err)
		}
		payload := want[map[byte]int{0xd8: 2, 0xc7: 3, 0xc8: 4, 0xc9: 6}[want[0]]:]
		// The same table at several alignments in the frame: the array and ext headers in
		// their 1-, 3- and 5-byte and 3-, 4- and 6-byte forms, as a decoder must accept.
		for _, arr := range [][]byte{{0x91}, {0xdc, 0, 1}, {0xdd, 0, 0, 0, 1}} {
			for _, ext := range [][]byte{{0xc7, byte(len(payload)), 5}, {0xc8, 0, byte(len(payload)), 5}, {0xc9, 0, 0, 0, byte(len(payload)), 5}} {
				if len(payload) > 255 {
					t.Fatalf("%s: a payload of %d bytes does not fit the headers here", tc.name, len(payload))
				}
				b := append(append(append([]byte{0x92}, arr...), ext...), payload...)
				res, err := echo.Call(ctx, append(b, 0x80))
				if err != nil {
					t.Fatalf("%s, headers %x %x: %v", tc.name, arr, ext, err)
				}
				if !equal(res.Value, want) {
					t.Errorf("%s, headers %x %x: table_echo returned\n%x\nwant\n%x", tc.name, arr, ext, res.Value, want)
				}
			}
		}
	}
}

func equal(a, b []byte) bool { return hex.EncodeToString(a) == hex.EncodeToString(b) }

// table_share appends a column computed from another; its errors name the column.
func TestTableShare(t *testing.T) {
	ctx, _, _, m := load(t)
	share := fn(t, m, "table_share")
	tb, _ := abi.NewTable(abi.StringColumn("city", []string{"Oslo", "Lima"}), abi.Float64Column("amount", []float64{1, 3}))
	res, err := share.Call(ctx, frame(t, "amount", tb))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := abi.NewTable(abi.StringColumn("city", []string{"Oslo", "Lima"}), abi.Float64Column("amount", []float64{1, 3}),
		abi.Float64Column("share", []float64{0.25, 0.75}))
	wb, _ := abi.AppendTable(nil, want)
	if !equal(res.Value, wb) {
		t.Errorf("table_share = %s, want %s", printed(t, res.Value), printed(t, wb))
	}
	_, err = share.Call(ctx, frame(t, "city", tb))
	var ge *runtime.GuestError
	if !errors.As(err, &ge) || ge.Message != `table_share: want a float64 column "city", the table has string` {
		t.Errorf("table_share of a string column: %v", err)
	}
}

// table_groupby_sum spawns eval of mrun:table from C with its table argument, through the
// real engine, and returns what the host's eval of the same expression returns.
func TestTableGroupBy_Engine(t *testing.T) {
	ctx, _, tm, m := load(t)
	tb, _ := abi.NewTable(abi.StringColumn("city", []string{"Oslo", "Lima", "Oslo", "Pune", "Lima"}),
		abi.Int64Column("amount", []int64{10, 4, 5, 7, 8}))
	e := dag.New(dag.Config{Slots: 2})
	value := func(o *dag.Object) []byte {
		t.Helper()
		if err := e.Execute(ctx, o); err != nil {
			t.Fatal(err)
		}
		b, err := e.Value(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	got := value(dag.Spawn(fn(t, m, "table_groupby_sum"), "city", "amount", tb))
	want := value(dag.Spawn(fn(t, tm, "eval"), map[string]any{
		"op": "groupby", "keys": []string{"city"}, "aggs": [][]string{{"amount", "sum"}},
		"x": map[string]any{"op": "table", "value": tb},
	}))
	if !equal(got, want) {
		t.Errorf("table_groupby_sum = %s\nwant %s", printed(t, got), printed(t, want))
	}
}

// A malformed table argument is a guest error that says what is wrong, never a trap.
func TestTable_Malformed(t *testing.T) {
	ctx, _, _, m := load(t)
	stats := fn(t, m, "table_stats")
	// The example of ABI.md section 5.4: a = [1, 2] (int64), b = ["x", "yz"] (string); the
	// payload starts at byte 3 of the value.
	good, err := hex.DecodeString("c74805" +
		"0200000000000000" + "0200000000000000" +
		"0400010061" + "2000010062" + "000000000000" +
		"0100000000000000" + "0200000000000000" +
		"000000000100000003000000" + "00000000" +
		"78797a" + "0000000000")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stats.Call(ctx, append(append([]byte{0x92, 0x91}, good...), 0x80)); err != nil {
		t.Fatalf("the example table: %v", err)
	}
	const pre = "table_stats: argument 1 (t): malformed table: "
	for _, tc := range []struct {
		name string
		edit func(b []byte) []byte // b is a copy of the value
		want string
	}{
		{"unknown column type", func(b []byte) []byte { b[3+16] = 7; return b }, `column "a" has unknown type 7`},
		{"flags", func(b []byte) []byte { b[3+4] = 1; return b }, "the flags are not zero"},
		{"more rows than the columns hold", func(b []byte) []byte { b[3+8] = 100; return b }, `column "a" needs 800 bytes, the payload has 40 left`},
		{"fewer rows than the columns hold", func(b []byte) []byte { b[3+8] = 1; return b }, `string column "b": its first offset is 2, not 0`},
		{"a last offset past the payload", func(b []byte) []byte { b[3+56] = 9; return b }, `column "b" needs 9 bytes, the payload has 8 left`},
		{"an offset past the text", func(b []byte) []byte { b[3+52] = 4; return b }, `string column "b": offset 1 is 4, out of order or past the text's 3 bytes`},
		{"a first offset that is not 0", func(b []byte) []byte { b[3+48] = 1; return b }, `string column "b": its first offset is 1, not 0`},
		{"a short payload", func(b []byte) []byte { b[1] = 8; return b[:3+8] }, "a payload of 8 bytes is shorter than the 16-byte header"},
		{"a duplicate name", func(b []byte) []byte { b[3+25] = 'a'; return b }, `two columns are named "a"`},
		{"trailing bytes", func(b []byte) []byte { b[1] += 8; return append(b, make([]byte, 8)...) }, "8 bytes after the last column"},
		{"non-zero padding", func(b []byte) []byte { b[3+67] = 1; return b }, `column "b": its padding is not zero`},
		{"text that is not UTF-8", func(b []byte) []byte { b[3+64] = 0xff; return b }, `string column "b": its text is not UTF-8`},
		{"no columns but rows", func(b []byte) []byte {
			return append([]byte{0xd8, 5}, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0)
		}, "2 rows but no columns"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := tc.edit(append([]byte(nil), good...))
			_, err := stats.Call(ctx, append(append([]byte{0x92, 0x91}, v...), 0x80))
			var ge *runtime.GuestError
			if !errors.As(err, &ge) || ge.Message != pre+tc.want {
				t.Errorf("table_stats(%s):\n got %v\nwant %s", tc.name, err, pre+tc.want)
			}
		})
	}
	_, err = stats.Call(ctx, frame(t, 5))
	var ge *runtime.GuestError
	if !errors.As(err, &ge) || ge.Message != "table_stats: argument 1 (t): expected a table, got an int" {
		t.Errorf("table_stats(5): %v", err)
	}
}

// FuzzTableEcho checks the C table reader against the host's (package abi) on any payload of
// ext type 5: the guest accepts exactly the tables the host accepts, and writes each back to
// the bytes the host writes. Seeds run with go test; go test -fuzz FuzzTableEcho explores.
func FuzzTableEcho(f *testing.F) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		f.Fatal(err)
	}
	defer rt.Close(ctx)
	m, err := rt.LoadFile(ctx, filepath.Join("..", "..", "..", "testdata", "c", "conformance.wasm"))
	if err != nil {
		f.Fatal(err)
	}
	echo, err := m.Func("table_echo")
	if err != nil {
		f.Fatal(err)
	}
	for _, tb := range []func(testing.TB) abi.Table{everyType, zeroRows} {
		b, err := abi.AppendTable(nil, tb(f))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[map[byte]int{0xd8: 2, 0xc7: 3, 0xc8: 4, 0xc9: 6}[b[0]]:])
	}
	// A string column ["a\xc3", "\xbc"]: its offset 1 cuts the character ü.
	f.Add([]byte("\x01\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x20\x00\x01\x00s\x00\x00\x00" +
		"\x00\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00" + "a\xc3\xbc\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, payload []byte) {
		n := len(payload)
		value := append([]byte{0xc9, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n), 5}, payload...)
		fr := append(append([]byte{0x92, 0x91}, value...), 0x80)
		res, err := echo.Call(ctx, fr)
		host, herr := abi.Decode(value)
		if (err == nil) != (herr == nil) {
			t.Fatalf("the guest says %v, the host says %v", err, herr)
		}
		if err != nil {
			var ge *runtime.GuestError
			if !errors.As(err, &ge) {
				t.Fatalf("not a guest error: %v", err)
			}
			return
		}
		want, err := abi.AppendTable(nil, host.(abi.Table))
		if err != nil {
			t.Fatal(err)
		}
		if !equal(res.Value, want) {
			t.Fatalf("table_echo wrote\n%x\nthe host writes\n%x", res.Value, want)
		}
	})
}

// BenchmarkTableStats reads a table of 1,000,000 rows (an int64 and a float64 column, 16 MB)
// with table_stats: "aligned" has the payload 8-byte aligned in the frame, so the columns are
// read in place; "misaligned" shifts it by one byte, so the reader copies the payload once.
// MB/s counts the table's bytes; the frame's copy into the guest is in both.
func BenchmarkTableStats(b *testing.B) {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	m, err := rt.LoadFile(ctx, filepath.Join("..", "..", "..", "testdata", "c", "conformance.wasm"))
	if err != nil {
		b.Fatal(err)
	}
	stats, err := m.Func("table_stats")
	if err != nil {
		b.Fatal(err)
	}
	const n = 1_000_000
	ids, xs := make([]int64, n), make([]float64, n)
	for i := range ids {
		ids[i], xs[i] = int64(i), float64(i)/2
	}
	tb, err := abi.NewTable(abi.Int64Column("id", ids), abi.Float64Column("x", xs))
	if err != nil {
		b.Fatal(err)
	}
	value, err := abi.AppendTable(nil, tb) // c9 header: the payload starts 6 bytes in
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		arr  []byte
	}{{"aligned", []byte{0x91}}, {"misaligned", []byte{0xdc, 0, 1}}} {
		// The argument buffer is 8-byte aligned: 0x92, the array header, then the 6-byte ext
		// header put the payload at 8 (aligned) or 10 (misaligned).
		fr := append(append(append([]byte{0x92}, tc.arr...), value...), 0x80)
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(value)))
			for b.Loop() {
				if _, err := stats.Call(ctx, fr); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
