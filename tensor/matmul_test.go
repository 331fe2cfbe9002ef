package tensor

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

// TestEval_MatmulGroups checks the plan of a product whose contraction has more chunks than
// one matmul task takes: each output chunk is 2 matmul tasks (8 and 3 block products) and one
// addn, and the result is the product of the whole matrices.
func TestEval_MatmulGroups(t *testing.T) {
	a := Rand(1, 5, 22).WithChunks(3, 2)
	b := Rand(2, 22, 4).WithChunks(2, 4)
	got, eng := evalExpr(t, a.MatMul(b))
	if want := map[string]int{"addn": 2, "matmul": 4}; fmt.Sprint(eng.spawns) != fmt.Sprint(want) {
		t.Errorf("spawned %v, want %v", eng.spawns, want)
	}
	x, _ := evalExpr(t, Rand(1, 5, 22))
	y, _ := evalExpr(t, Rand(2, 22, 4))
	want, err := matmul(context.Background(), x, y)
	if err != nil {
		t.Fatal(err)
	}
	if err := closeTo(got, want, 1e-15, 0); err != nil {
		t.Error(err)
	}
}

func TestMatmulGroups(t *testing.T) {
	for _, tc := range []struct {
		m, n int
		ks   []int
		want [][2]int
	}{
		{10, 10, []int{5}, [][2]int{{0, 1}}},
		{10, 10, []int{1, 1, 1, 1, 1, 1, 1, 1, 1}, [][2]int{{0, 8}, {8, 9}}},
		{10, 10, slices.Repeat([]int{3}, 17), [][2]int{{0, 8}, {8, 16}, {16, 17}}},
		// 1024 · 1024 · 4096 = MaxMatmulWork: one block product per task.
		{1024, 1024, []int{4096, 4096}, [][2]int{{0, 1}, {1, 2}}},
		{1024, 1024, []int{2048, 2048, 2048}, [][2]int{{0, 2}, {2, 3}}},
		// (1 + 2^24) · 4 elements = maxMatmulInput + 4: the input bound splits them.
		{1, 1 << 24, []int{2, 2}, [][2]int{{0, 1}, {1, 2}}},
	} {
		if got := matmulGroups(tc.m, tc.ks, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("matmulGroups(%d, %v, %d) = %v, want %v", tc.m, tc.ks, tc.n, got, tc.want)
		}
	}
}

// TestMatmulSum checks the matmul kernel with several pairs against the plain product of the
// concatenated blocks: exactly for float64 (the contraction is summed in one ascending pass
// whatever the split) and for int32, on the kernel this CPU uses.
func TestMatmulSum(t *testing.T) {
	ctx := context.Background()
	for _, d := range []abi.DType{abi.Float64, abi.Int32} {
		for _, split := range [][]int{{7}, {3, 4}, {1, 1, 5}, {0, 7}, {300, 2, 1}} {
			m, n := 9, 11
			k := 0
			for _, s := range split {
				k += s
			}
			x := cast(randChunk[float64]([]int{m, k}, []int{0, 0}, []int{m, k}, 5), abi.Float64)
			y := cast(randChunk[float64]([]int{k, n}, []int{0, 0}, []int{k, n}, 6), abi.Float64)
			if d == abi.Int32 {
				x, y = cast(unary2(x, 100), abi.Int32), cast(unary2(y, 100), abi.Int32)
			}
			var ts []abi.Tensor
			col := 0
			for _, s := range split {
				a, err := gather(d, []int{m, s}, []int{0, col}, []int{1, 1}, []gatherPiece{{t: x, off: []int{0, 0}}})
				if err != nil {
					t.Fatal(err)
				}
				b, err := gather(d, []int{s, n}, []int{col, 0}, []int{1, 1}, []gatherPiece{{t: y, off: []int{0, 0}}})
				if err != nil {
					t.Fatal(err)
				}
				ts = append(ts, a, b)
				col += s
			}
			res, err := matmulSum(ctx, ts)
			if err != nil {
				t.Fatal(err)
			}
			got := resultTensor(t, res)
			want, err := matmulT[float64](ctx, cast(x, abi.Float64), cast(y, abi.Float64))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(view[float64](cast(got, abi.Float64)), view[float64](want)) || got.DType != d {
				t.Errorf("%s, split %v: got %s %v, want %v", d, split, got, view[float64](cast(got, abi.Float64)), view[float64](want))
			}
		}
	}
}

// unary2 scales a float64 tensor by s and truncates it to whole numbers.
func unary2(x abi.Tensor, s float64) abi.Tensor {
	out, z := alloc[float64](x.Shape)
	for i, v := range view[float64](x) {
		z[i] = float64(int(v * s))
	}
	return out
}

// resultTensor decodes a kernel's result, a tensor or a frame.
func resultTensor(t *testing.T, v any) abi.Tensor {
	t.Helper()
	b, err := encodeResult(v)
	if err != nil {
		t.Fatal(err)
	}
	d, err := abi.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return d.(abi.Tensor)
}

func TestMatmulSum_Errors(t *testing.T) {
	ctx := context.Background()
	// The checks read shapes only: the large tensors need no data.
	f := func(shape ...int) abi.Tensor { return abi.Tensor{DType: abi.Float64, Shape: shape} }
	for _, tc := range []struct {
		ts   []abi.Tensor
		want string
	}{
		{[]abi.Tensor{f(2, 3), f(3, 4), f(2, 3)}, "tensor: matmul takes pairs of matrices a₁, b₁, a₂, b₂, …, got 3 tensors"},
		{[]abi.Tensor{f(2, 3), f(4, 4)}, "tensor: matmul needs matrices of shapes [m k] and [k n], got [2 3] and [4 4]"},
		{[]abi.Tensor{f(2, 3), f(3, 4), f(3, 3), f(3, 4)}, "tensor: matmul pair 1 has shapes [3 3] and [3 4], want [2 k] and [k 4] as pair 0"},
		{[]abi.Tensor{f(2, 3), f(3, 4), f(2, 3), f(3)}, "tensor: matmul pair 1 has shapes [2 3] and [3], want [2 k] and [k 4] as pair 0"},
		{[]abi.Tensor{f(2048, 1024), f(1024, 2048), f(2048, 1), f(1, 2048)}, "tensor: a block product of [2048 1025] and [1025 2048] is 4299161600 multiply-adds, over the limit of 4294967296: use smaller chunks"},
		{[]abi.Tensor{f(1, 1<<24), f(1<<24, 1), f(1, 1<<24+1), f(1<<24+1, 1)}, "tensor: matmul of 2 pairs holding 67108866 elements is over the limit of 67108864: pass fewer pairs"},
	} {
		if _, err := matmulSum(ctx, tc.ts); err == nil || err.Error() != tc.want {
			t.Errorf("matmulSum: %v\nwant: %s", err, tc.want)
		}
	}
}

// TestEval_MatmulCreationInPlace checks that a creation on the right of a product, chunked
// along its rows unlike the left's columns, is made by the matmul tasks in the chunks they
// need: no gather tasks.
func TestEval_MatmulCreationInPlace(t *testing.T) {
	a := Rand(1, 6, 8).WithChunks(3, 4)
	b := Rand(2, 8, 4).WithChunks(2, 4)
	got, eng := evalExpr(t, a.MatMul(b))
	if want := map[string]int{"matmul": 2}; fmt.Sprint(eng.spawns) != fmt.Sprint(want) {
		t.Errorf("spawned %v, want %v", eng.spawns, want)
	}
	x, _ := evalExpr(t, Rand(1, 6, 8))
	y, _ := evalExpr(t, Rand(2, 8, 4))
	want, err := matmulT[float64](context.Background(), x, y)
	if err != nil {
		t.Fatal(err)
	}
	if err := closeTo(got, want, 0, 0); err != nil {
		t.Error(err)
	}
}

// TestMatmulSum_Frame checks a result of 64 KiB or more, which the kernel writes straight
// into its frame, against the plain product.
func TestMatmulSum_Frame(t *testing.T) {
	ctx := context.Background()
	a := randChunk[float64]([]int{100, 30}, []int{0, 0}, []int{100, 30}, 7)
	b := randChunk[float64]([]int{30, 120}, []int{0, 0}, []int{30, 120}, 8)
	res, err := matmulSum(ctx, []abi.Tensor{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := res.(frameResult); !ok && f64Kernel != nil {
		t.Errorf("result is a %T, want a frame", res)
	}
	want, err := matmulT[float64](ctx, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := closeTo(resultTensor(t, res), want, 0, 0); err != nil {
		t.Error(err)
	}
}
