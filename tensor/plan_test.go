package tensor

import (
	"context"
	"math"
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

func TestEval_SumTaskTree(t *testing.T) {
	// 10 × 10 chunks: 100 reduce tasks, then a tree of fan-in 8: 13 combines, 2, and 1 final.
	out, eng := evalExpr(t, Rand(1, 1000, 1000).WithChunks(100, 100).Sum(nil))
	want := map[string]int{"reduce": 100, "combine": 16}
	for fn, n := range want {
		if eng.spawns[fn] != n {
			t.Errorf("spawned %d %s tasks, want %d (all: %v)", eng.spawns[fn], fn, n, eng.spawns)
		}
	}
	if len(eng.spawns) != len(want) {
		t.Errorf("spawned %v, want only %v: rand chunks are made inside the reduce tasks", eng.spawns, want)
	}
	if out.DType != abi.Float64 || len(out.Shape) != 0 {
		t.Fatalf("sum is %s, want a float64 scalar", out)
	}
	got := view[float64](out)[0]
	direct := 0.0
	whole, err := create("rand", newParams("rand", map[string]any{"shape": []any{int64(1000), int64(1000)},
		"offset": []any{int64(0), int64(0)}, "gshape": []any{int64(1000), int64(1000)}, "seed": int64(1)}))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range view[float64](whole) {
		direct += v
	}
	if math.Abs(got-direct) > 1e-9*direct {
		t.Errorf("chunked sum %v, direct sum %v", got, direct)
	}
	if math.Abs(got/1e6-0.5) > 0.01 {
		t.Errorf("mean of uniform numbers is %v, want about 0.5", got/1e6)
	}
}

func TestEval_RandDoesNotDependOnChunks(t *testing.T) {
	a, _ := evalExpr(t, Rand(7, 37, 23).WithChunks(5, 7))
	b, _ := evalExpr(t, Rand(7, 37, 23).WithChunks(37, 23))
	c, _ := evalExpr(t, Rand(8, 37, 23).WithChunks(37, 23))
	if string(a.Data) != string(b.Data) {
		t.Error("rand with seed 7 differs between chunks [5 7] and [37 23]")
	}
	if string(b.Data) == string(c.Data) {
		t.Error("rand with seeds 7 and 8 gave the same values")
	}
}

func TestEval_NoEngine(t *testing.T) {
	frame, err := abi.EncodeFrame([]any{Rand(1, 2)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Module().Funcs["eval"](context.Background(), frame)
	if err == nil || err.Error() != errNoEngine.Error() {
		t.Fatalf("eval without an engine: %v, want %v", err, errNoEngine)
	}
}
