package tensor

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
)

func TestEval_SumTaskTree(t *testing.T) {
	// 10 × 10 chunks: 100 reduce tasks, then a tree of fan-in 8: 13 combines, 2, and 1 final.
	_, eng := evalExpr(t, Rand(1, 10000, 10000).WithChunks(1000, 1000).Sum(nil))
	if want := map[string]int{"reduce": 100, "combine": 16}; fmt.Sprint(eng.spawns) != fmt.Sprint(want) {
		t.Errorf("sum of 10000 × 10000 in 1000 × 1000 chunks spawned %v, want %v", eng.spawns, want)
	}
	if eng.maxArg > 1<<10 {
		t.Errorf("a task received %d bytes of arguments: only partial sums should travel", eng.maxArg)
	}
}

func TestEval_SumMatchesOneChunk(t *testing.T) {
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

func TestEval_Errors(t *testing.T) {
	neg, _ := abi.NewTensor([]int{}, []int64{-1})
	for _, tc := range []struct {
		name string
		e    Expr
		want string
	}{
		{"broadcast", Rand(1, 3, 4).Add(Rand(1, 5)),
			"tensor: expression (add): shapes [3 4] and [5] do not broadcast: axis 1 has sizes 4 and 5"},
		{"reshape across chunks", Rand(1, 10, 10).WithChunks(5, 5).Reshape(100),
			"tensor: expression (reshape): cannot reshape float64[10 10] in chunks [5 5] into shape [100] chunk by chunk: each chunk must be split along axis 0 only, in multiples of 1 rows; rechunk it first, e.g. to [5 10]"},
		{"kernel failure", Arange(0, 5, 1).Pow(neg),
			"tensor: chunk [0] of the result: task failed: pow: tensor: integers to negative integer powers are not allowed (exponent -1): astype the base to a float first"},
		{"chunk too big", Rand(1, 10000, 10000).WithChunks(-1, -1),
			"tensor: expression (rand): float64[10000 10000] has chunks of 100000000 elements, over the limit of 33554432: use smaller chunks"},
		{"too many chunks", Rand(1, 1000, 1000).WithChunks(1, 1),
			"tensor: expression (rand): float64[1000 1000] would have over 262144 chunks: use bigger chunks"},
		{"axis", Rand(1, 10, 10).Sum([]int{2}),
			"tensor: expression (sum): axis 2 is out of bounds for a tensor of 2 dimensions"},
		{"empty", Arange(0, 0, 1).Sum(nil),
			"tensor: expression (sum): sum of an empty tensor (shape [0]) is not supported"},
		{"zero step", Rand(1, 10, 10).Slice([3]int{0, 5, 0}),
			"tensor: expression (slice): index 0: step must not be zero"},
		{"matmul shapes", Rand(1, 10, 10).MatMul(Rand(2, 5, 5)),
			"tensor: expression (matmul): matmul needs matrices of shapes [m k] and [k n], got [10 10] and [5 5]"},
		{"bool sub", Full(true, abi.Bool, 3).Sub(Full(false, abi.Bool, 3)),
			"tensor: expression (sub): sub of two bool tensors is not supported (NumPy refuses it too): astype one of them to an integer first"},
		{"ragged chunk list", Rand(1, 10).WithChunks(3).Rechunk(4).Add(1).WithChunks(-1).Sum(nil).Add(Rand(1, 2).WithChunks(3)),
			""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.e.MarshalMsgpack()
			if err != nil {
				t.Fatal(err)
			}
			v, _ := abi.Decode(b)
			_, _, err = eval(context.Background(), newFakeEngine(), v)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("eval: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tc.want {
				t.Fatalf("eval: %v\nwant: %s", err, tc.want)
			}
		})
	}
	v := map[string]any{"op": "add", "x": int64(1), "y": map[string]any{"op": "frobnicate"}}
	_, _, err := eval(context.Background(), newFakeEngine(), v)
	if want := `tensor: expression.y (frobnicate): unknown op "frobnicate" (want one of [rand zeros ones full arange linspace tensor add sub mul div pow eq ne lt le gt ge neg abs sqrt exp log where astype sum mean var std min max argmin argmax matmul transpose slice concatenate reshape rechunk])`; err == nil || err.Error() != want {
		t.Errorf("unknown op: %v\nwant: %s", err, want)
	}
	if err := Rand(1, 4).Add("x").Err(); err == nil || err.Error() != "tensor: operand of type string is not an Expr, an abi.Tensor or a number" {
		t.Errorf("Add(\"x\").Err() = %v", err)
	}
}

func TestEval_MatmulBlocks(t *testing.T) {
	a := Arange(0, 24, 1).Reshape(4, 6).AsType(abi.Float64).Rechunk(2, 3)
	b := Arange(0, 24, 1).Reshape(6, 4).AsType(abi.Float64).Rechunk(3, 2)
	got, eng := evalExpr(t, a.MatMul(b))
	// 2 × 2 output chunks, each the sum of 2 block products accumulated by one matmul task.
	if eng.spawns["matmul"] != 4 || eng.spawns["addn"] != 0 {
		t.Errorf("spawned %v, want 4 matmul and no addn", eng.spawns)
	}
	x, _ := evalExpr(t, a)
	y, _ := evalExpr(t, b)
	want, err := matmul(context.Background(), x, y)
	if err != nil {
		t.Fatal(err)
	}
	if err := closeTo(got, want, 0, 0); err != nil {
		t.Error(err)
	}
}

func TestEval_LayoutWithoutCopies(t *testing.T) {
	// A slice on chunk boundaries and a concatenate reuse their inputs' chunks: no tasks.
	x := Rand(3, 10, 10).WithChunks(5, 5)
	got, eng := evalExpr(t, Concatenate(0, x.Slice([3]int{0, 5, None}), x.Slice([3]int{5, None, None})))
	if want := map[string]int{"rand": 4}; fmt.Sprint(eng.spawns) != fmt.Sprint(want) {
		t.Errorf("spawned %v, want %v", eng.spawns, want)
	}
	whole, _ := evalExpr(t, x)
	if err := closeTo(got, whole, 0, 0); err != nil {
		t.Error(err)
	}
}

func TestEval_NoTaskSeesTheWholeArray(t *testing.T) {
	// 4000 × 4000 float64 (128 MB) in 1 MiB chunks: no kernel gets more than a few chunks.
	_, eng := evalExpr(t, Rand(1, 4000, 4000).Std(nil, 0))
	if eng.maxArg > 4<<20 {
		t.Errorf("a kernel received %d bytes of arguments, want at most a few chunks", eng.maxArg)
	}
	if eng.spawns["reduce"] != 128 {
		t.Errorf("spawned %v, want 128 reduce tasks (16 × 8 chunks of 250 × 500)", eng.spawns)
	}
}

func TestModule_Eval(t *testing.T) {
	eng := newFakeEngine()
	frame, err := abi.EncodeFrame([]any{Arange(1, 5, 1).Sum(nil)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Module().Funcs["eval"](runtime.WithNested(context.Background(), eng), frame)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := abi.Unmarshal(res, &v); err != nil || v != int64(10) {
		t.Fatalf("eval of sum(arange(1, 5)) = %v (%v), want 10", v, err)
	}
}

// FuzzEval plans hostile expressions: planning must fail cleanly or spawn, never panic.
func FuzzEval(f *testing.F) {
	for _, e := range []Expr{Rand(1, 10, 10).Sum(nil), Arange(0, 12, 1).Reshape(3, 4).T().Slice([3]int{None, None, -1}),
		Concatenate(1, Ones(3, 2), Zeros(3, 1)).MatMul(Rand(2, 3, 3)), Where(Rand(1, 4).Gt(0.5), 1, Rand(2, 3, 4))} {
		b, err := e.MarshalMsgpack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := abi.Decode(b)
		if err != nil {
			return
		}
		root, err := (&parser{}).parse(v, "expression")
		if err != nil {
			return
		}
		pl := &planner{n: &countingNested{}, done: map[*node][]ref{}}
		_, _ = pl.lower(context.Background(), root)
	})
}

// countingNested accepts up to 10000 spawns and runs nothing.
type countingNested struct{ n uint32 }

func (c *countingNested) Spawn(context.Context, string, string, []byte, int, runtime.SpawnOptions) (uint32, error) {
	if c.n >= 10000 {
		return 0, runtime.ErrLimit
	}
	c.n++
	return c.n, nil
}
func (c *countingNested) Execute(context.Context, []uint32) (bool, error) { return false, nil }
func (c *countingNested) Fetch(context.Context, uint32) ([]byte, error) {
	return nil, runtime.ErrNotReady
}
func (c *countingNested) Cause(uint32) error { return nil }

func TestEval_Deterministic(t *testing.T) {
	// The same expression spawns the same frames, so its tasks get the same keys and are
	// shared and cached across runs.
	e := Rand(4, 30, 20).WithChunks(7, 6).Std([]int{0}, 1).Add(Arange(0, 20, 1))
	frames := func() []string {
		_, eng := evalExpr(t, e)
		var out []string
		for _, task := range eng.tasks {
			out = append(out, task.fn+string(task.tmpl.Canonical()))
		}
		return out
	}
	a, b := frames(), frames()
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("two plans of one expression spawned different frames")
	}
}

func TestRand_Uniform(t *testing.T) {
	for _, d := range []abi.DType{abi.Float64, abi.Float32} {
		x, err := create("rand", newParams("rand", map[string]any{"shape": []any{int64(100000)},
			"offset": []any{int64(0)}, "gshape": []any{int64(100000)}, "seed": int64(9), "dtype": d.String()}))
		if err != nil {
			t.Fatal(err)
		}
		xs := view[float64](cast(x, abi.Float64))
		sum, sq := 0.0, 0.0
		for _, v := range xs {
			if v < 0 || v >= 1 {
				t.Fatalf("%s rand gave %v, outside [0, 1)", d, v)
			}
			sum += v
			sq += v * v
		}
		mean := sum / float64(len(xs))
		variance := sq/float64(len(xs)) - mean*mean
		// Standard errors: 0.0009 for the mean, 0.0003 for the variance; allow 5 of them.
		if math.Abs(mean-0.5) > 0.0046 || math.Abs(variance-1.0/12) > 0.0015 {
			t.Errorf("%s rand: mean %v and variance %v, want 0.5 and %v", d, mean, variance, 1.0/12)
		}
	}
}

func TestModule_Kernels(t *testing.T) {
	a, _ := abi.NewTensor([]int{2, 2}, []float64{1, 2, 3, 4})
	b, _ := abi.NewTensor([]int{2}, []int32{10, 20})
	big := map[string]any{"op": "full", "shape": []int{2048, 2048}, "value": 1.0}
	for _, tc := range []struct {
		fn   string
		pos  []any
		kw   map[string]any
		want string
	}{
		{"add", []any{a, b}, nil, "float64[2 2] [11 22 13 24]"},
		{"ge", []any{a, b}, nil, "bool[2 2] [0 0 0 0]"},
		{"ge", []any{a, 2.5}, nil, "tensor: kernel ge, argument 1: tensor: argument must be a tensor or a creation chunk, got a float"},
		{"transpose", []any{a}, map[string]any{"axes": []int{1, 0}}, "float64[2 2] [1 3 2 4]"},
		{"reduce", []any{a}, map[string]any{"op": "max", "axes": []int{1}, "final": true}, "float64[2] [2 4]"},
		{"reduce", []any{map[string]any{"op": "full", "shape": []int{3}, "value": 2}}, map[string]any{"op": "sum", "axes": []int{0}, "final": true}, "int64[] [6]"},
		{"add", []any{a}, nil, "tensor: kernel add takes 2 tensors, got 1 arguments"},
		{"add", []any{a, "x"}, nil, "tensor: kernel add, argument 1: tensor: argument must be a tensor or a creation chunk, got a string"},
		{"reduce", []any{a}, map[string]any{"op": "median"}, `tensor: keyword arguments: unknown reduction "median" (want one of [sum mean var std min max argmin argmax])`},
		{"full", nil, map[string]any{"shape": []int{1 << 13, 1 << 13}, "value": 1}, "tensor: a chunk of shape [8192 8192] is over the limit of 33554432 elements per chunk: use smaller chunks"},
		{"matmul", []any{big, big}, nil, "tensor: a block product of [2048 2048] and [2048 2048] is 8589934592 multiply-adds, over the limit of 4294967296: use smaller chunks"},
		{"combine", []any{[]any{b}, []any{b}}, map[string]any{"op": "sum"}, "tensor: combine of sum got a partial of [int32], which kernel reduce never makes: pass partials from reduce or combine"},
		{"combine", []any{[]any{a, b}}, map[string]any{"op": "argmax"}, "tensor: partial 0 of argmax holds float64[2 2] and int32[2]: the tensors of a partial have one shape"},
	} {
		frame, err := abi.EncodeFrame(tc.pos, tc.kw)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Module().Funcs[tc.fn](context.Background(), frame)
		got := ""
		if err != nil {
			got = err.Error()
		} else {
			var x abi.Tensor
			if err := abi.Unmarshal(res, &x); err != nil {
				t.Fatalf("%s: result is not a tensor: %v", tc.fn, err)
			}
			xs := view[float64](cast(x, abi.Float64))
			got = fmt.Sprintf("%s %v", x, xs[:min(len(xs), 8)]) // a wrong result may be large
		}
		if got != tc.want {
			t.Errorf("%s%v: got %s, want %s", tc.fn, tc.pos, got, tc.want)
		}
	}
}

// FuzzKernels calls kernels with hostile frames (a guest may spawn any kernel with any
// arguments): they must fail cleanly, never panic.
func FuzzKernels(f *testing.F) {
	a, _ := abi.NewTensor([]int{3, 2}, []int32{1, -2, 3, 4, 0, 6})
	for _, e := range []Expr{
		Rand(1, 9, 7).WithChunks(4, 3).Std([]int{0}, 1).Add(FromTensor(a).Sum([]int{0}).Max(nil)),
		Arange(0, 12, 1).Reshape(3, 4).Rechunk(2, 3).T().Slice([3]int{None, None, -2}).ArgMax([]int{1}),
		Concatenate(1, Ones(3, 2), FromTensor(a)).Rechunk(2, 2).MatMul(Rand(2, 4, 3).WithChunks(3, 2)).Mean(nil),
		Where(Rand(1, 4).Gt(0.5), 1, Rand(2, 3, 4).WithChunks(2, 3)).Min([]int{1}).Exp().Sqrt().Neg().Abs().Log(),
	} {
		b, err := e.MarshalMsgpack()
		if err != nil {
			f.Fatal(err)
		}
		v, _ := abi.Decode(b)
		eng := newFakeEngine()
		eng.record = true
		if _, _, err := eval(context.Background(), eng, v); err != nil {
			f.Fatal(err)
		}
		for _, c := range eng.calls {
			f.Add(c.fn, c.frame)
		}
	}
	funcs := Module().Funcs
	f.Fuzz(func(t *testing.T, fn string, frame []byte) {
		if k, ok := funcs[fn]; ok && fn != "eval" {
			_, _ = k(context.Background(), frame)
		}
	})
}

func TestMatmul_StopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a, _ := abi.NewTensor([]int{2, 2}, []float64{1, 2, 3, 4})
	_, err := matmul(ctx, a, a)
	if err == nil || err.Error() != "tensor: matmul stopped after 0 of 2 rows: context canceled" {
		t.Fatalf("matmul with a cancelled context: %v", err)
	}
}

// TestMatmulF64_SameAsGeneric checks the blocked float64 product against the plain loop on
// shapes that leave odd rows and columns outside the 2 × 4 blocks: every element is the same
// sum in the same order, so they agree exactly.
func TestMatmulF64_SameAsGeneric(t *testing.T) {
	ctx := context.Background()
	for _, s := range [][3]int{{1, 1, 1}, {2, 3, 4}, {3, 5, 7}, {7, 9, 13}, {16, 8, 12}, {5, 0, 6}, {0, 3, 4}, {4, 3, 0}} {
		m, k, n := s[0], s[1], s[2]
		a := randChunk[float64]([]int{m, k}, []int{0, 0}, []int{m, k}, 1)
		b := randChunk[float64]([]int{k, n}, []int{0, 0}, []int{k, n}, 2)
		got, err := matmulF64(ctx, a, b)
		if err != nil {
			t.Fatal(err)
		}
		want, err := matmulT[float64](ctx, a, b)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(view[float64](got), view[float64](want)) || !slices.Equal(got.Shape, want.Shape) {
			t.Errorf("%d × %d times %d × %d: blocked %v, plain %v", m, k, k, n, view[float64](got), view[float64](want))
		}
	}
}

// TestTensorFrame checks that the frame eval gathers a result of 64 KiB or more into is
// abi.AppendTensor's encoding of the same tensor, and that smaller results get no frame.
func TestTensorFrame(t *testing.T) {
	if frame, _, err := tensorFrame(abi.Float32, []int{2, 3}); frame != nil || err != nil {
		t.Errorf("frame of a float32[2 3]: %x, %v; want none", frame, err)
	}
	for _, shape := range [][]int{{1 << 14}, {2, 3, 5000}, {1, 2, 3, 4, 1000}} {
		frame, tt, err := tensorFrame(abi.Float32, shape)
		if err != nil || frame == nil {
			t.Fatalf("shape %v: %v", shape, err)
		}
		for i := range tt.Data {
			tt.Data[i] = byte(i)
		}
		want, err := abi.AppendTensor(nil, tt)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(frame, want) {
			t.Errorf("shape %v: frame %x, want %x", shape, frame, want)
		}
	}
}

// TestBinaryResult_Frame checks that add, sub, mul and div of float tensors of 64 KiB or more,
// computed straight into their result frame, give the bytes the plain kernel and
// abi.AppendTensor give, with and without broadcasting; smaller results are plain tensors.
func TestBinaryResult_Frame(t *testing.T) {
	r := func(d abi.DType, seed int64, shape ...int) abi.Tensor {
		x := randChunk[float64](shape, make([]int, len(shape)), shape, seed)
		return cast(x, d)
	}
	for _, d := range []abi.DType{abi.Float64, abi.Float32} {
		for _, tc := range []struct{ a, b abi.Tensor }{
			{r(d, 1, 150, 120), r(d, 2, 150, 120)},
			{r(d, 1, 150, 120), r(d, 2, 120)},
			{r(d, 1, 150, 1), r(d, 2, 1, 120)},
			{r(d, 1), r(d, 2, 3, 50, 120)},
		} {
			for _, op := range []string{"add", "sub", "mul", "div"} {
				got, err := binaryResult(op, tc.a, tc.b)
				if err != nil {
					t.Fatal(err)
				}
				plain, err := binaryOp(op, tc.a, tc.b)
				if err != nil {
					t.Fatal(err)
				}
				want, err := encodeResult(plain)
				if err != nil {
					t.Fatal(err)
				}
				frame, ok := got.(frameResult)
				if !ok || !bytes.Equal(frame, want) {
					t.Errorf("%s %s %v %v: framed result differs from the plain kernel's (a frame: %v)", d, op, tc.a.Shape, tc.b.Shape, ok)
				}
			}
		}
	}
	small, err := binaryResult("add", r(abi.Float64, 1, 10), r(abi.Float64, 2, 10))
	if _, ok := small.(abi.Tensor); !ok || err != nil {
		t.Errorf("a float64[10] sum is %T, %v; want a plain tensor", small, err)
	}
}
