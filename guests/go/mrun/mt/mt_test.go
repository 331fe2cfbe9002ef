//go:build !wasip1

package mt_test

import (
	"context"
	"fmt"
	"github.com/mrun-dev/mrun/internal/sdktest"
	"path/filepath"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/guests/go/mrun"
	"github.com/mrun-dev/mrun/guests/go/mrun/mt"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/mrun-dev/mrun/tensor"
	"github.com/mrun-dev/mrun/tensor/expr"
	"github.com/vmihailenco/msgpack/v5"
)

// value decodes the MessagePack encoding of v into its generic form, printed.
func value(t *testing.T, v any) string {
	t.Helper()
	b, err := msgpack.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	d, err := abi.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(d)
}

// The guest's builder and the host's build the same expression values, operator by operator.
func TestExpr_SameAsHost(t *testing.T) {
	gm, _ := mrun.NewTensor([]int{2}, []float64{1, 2})
	hm, _ := abi.NewTensor([]int{2}, []float64{1, 2})
	gx, hx := mt.Arange(0, 12, 1).Reshape(3, 4), expr.Arange(0, 12, 1).Reshape(3, 4)
	for _, tc := range []struct {
		name string
		g    mt.Expr
		h    expr.Expr
	}{
		{"rand sum", mt.Rand(1, 10, 10).Sum(nil), expr.Rand(1, 10, 10).Sum(nil)},
		{"chunks, arithmetic", mt.Rand(2, 6, 4).WithChunks(3, -1).Mul(mt.Ones(6, 4)).Add(2.5).Sub(1).Div(int32(2)).Pow(float32(2)).Neg().Abs().Sqrt().Exp().Log(),
			expr.Rand(2, 6, 4).WithChunks(3, -1).Mul(expr.Ones(6, 4)).Add(2.5).Sub(1).Div(int32(2)).Pow(float32(2)).Neg().Abs().Sqrt().Exp().Log()},
		{"comparisons", mt.Concatenate(0, gx.Eq(1), gx.Ne(1), gx.Lt(1), gx.Le(1), gx.Gt(1), gx.Ge(true)),
			expr.Concatenate(0, hx.Eq(1), hx.Ne(1), hx.Lt(1), hx.Le(1), hx.Gt(1), hx.Ge(true))},
		{"where, std", mt.Where(gx.Gt(5), gx, 0).Std([]int{0}, 1).KeepDims(), expr.Where(hx.Gt(5), hx, 0).Std([]int{0}, 1).KeepDims()},
		{"reductions", mt.Concatenate(0, gx.Mean([]int{1}), gx.Var(nil, 0), gx.Min([]int{0}), gx.Max(nil), gx.ArgMin(nil), gx.ArgMax([]int{1})),
			expr.Concatenate(0, hx.Mean([]int{1}), hx.Var(nil, 0), hx.Min([]int{0}), hx.Max(nil), hx.ArgMin(nil), hx.ArgMax([]int{1}))},
		{"layout", gx.T().Transpose(1, 0).Slice([3]int{mt.None, mt.None, -1}, [3]int{1, mt.None, mt.None}).Rechunk(2, 2).MatMul(mt.Zeros(3, 3)),
			hx.T().Transpose(1, 0).Slice([3]int{expr.None, expr.None, -1}, [3]int{1, expr.None, expr.None}).Rechunk(2, 2).MatMul(expr.Zeros(3, 3))},
		{"creation", mt.Concatenate(0, mt.Full(7, mrun.Int32, 2), mt.Zeros(2).AsType(mrun.Float32), mt.Linspace(0, 1, 2), mt.FromTensor(gm).Add(gm)),
			expr.Concatenate(0, expr.Full(7, abi.Int32, 2), expr.Zeros(2).AsType(abi.Float32), expr.Linspace(0, 1, 2), expr.FromTensor(hm).Add(hm))},
	} {
		if g, h := value(t, tc.g), value(t, tc.h); g != h {
			t.Errorf("%s:\nguest %s\nhost  %s", tc.name, g, h)
		}
	}
}

func TestExpr_Err(t *testing.T) {
	var zero mt.Expr
	for _, tc := range []struct {
		e    mt.Expr
		want string
	}{
		{zero, "mt: the zero Expr is not an expression"},
		{mt.Ones(2).Add(zero), `mt: add: operand "y" is the zero Expr`},
		{mt.Ones(2).Mul("two"), "mt: operand of type string is not an Expr, an mrun.Tensor or a number"},
		{mt.Concatenate(0, mt.Ones(1), zero), `mt: concatenate: operand 1 of "xs" is the zero Expr`},
	} {
		if err := tc.e.Err(); err == nil || err.Error() != tc.want {
			t.Errorf("Err() = %v, want %s", err, tc.want)
		}
	}
}

// driver2_tensor of the Go seed module (guests/go/examples/seed, with package mt) and of the C
// conformance module (guests/c, with mrun.h's mrun_expr_* helpers) is rand(seed, 10, 10).sum()
// inside a spawned function: through the real engine it spawns eval of mrun:tensor, nested,
// and returns the same float64 as the host evaluating the same expression.
func TestDriver2Tensor_Engine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	tm, err := tensor.Register(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	eval, err := tm.Func("eval")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ lang, module string }{{"go", "seed.wasm"}, {"c", "c/conformance.wasm"}} {
		t.Run(tc.lang, func(t *testing.T) {
			m, err := rt.LoadFile(ctx, filepath.Join("..", "..", "..", "..", "testdata", tc.module))
			if err != nil {
				t.Fatal(err)
			}
			driver, err := m.Func("driver2_tensor")
			if err != nil {
				t.Fatal(err)
			}
			sdktest.Driver2Tensor(ctx, t, driver, eval)
		})
	}
}
