package tensor

import (
	"context"
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

// BenchmarkSum10k sums a 10,000 × 10,000 float64 tensor (800 MB) of rand in 1000 × 1000
// chunks: through the planner and the fake engine (100 reduce tasks, each making its rand
// chunk, and a combine tree), and directly through the kernels with no frames at all.
// MB/s counts the tensor's 800 MB.
func BenchmarkSum10k(b *testing.B) {
	const n, c = 10000, 1000
	b.Run("engine", func(b *testing.B) {
		e := Rand(1, n, n).WithChunks(c, c).Sum(nil)
		raw, err := e.MarshalMsgpack()
		if err != nil {
			b.Fatal(err)
		}
		v, err := abi.Decode(raw)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(n * n * 8)
		for b.Loop() {
			if _, _, err := eval(context.Background(), newFakeEngine(), v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kernels", func(b *testing.B) {
		b.SetBytes(n * n * 8)
		for b.Loop() {
			var parts [][]abi.Tensor
			for i := 0; i < n/c; i++ {
				for j := 0; j < n/c; j++ {
					chunk := randChunk[float64]([]int{c, c}, []int{i * c, j * c}, []int{n, n}, 1)
					p, err := partial(&reduceSpec{op: "sum", axes: []int{0, 1}, in: abi.Float64}, chunk)
					if err != nil {
						b.Fatal(err)
					}
					parts = append(parts, p)
				}
			}
			if _, err := combine("sum", parts); err != nil {
				b.Fatal(err)
			}
		}
	})
	// The sum kernel alone, over one chunk made once: the kernels' share of the time above.
	b.Run("sum-kernel-only", func(b *testing.B) {
		chunk := randChunk[float64]([]int{c, c}, []int{0, 0}, []int{n, n}, 1)
		r := &reduceSpec{op: "sum", axes: []int{0, 1}, in: abi.Float64}
		b.SetBytes(n * n * 8)
		for b.Loop() {
			for k := 0; k < (n/c)*(n/c); k++ {
				if _, err := partial(r, chunk); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// BenchmarkAdd adds two 1000 × 1000 float64 chunks, and a chunk and a row (broadcast).
// MB/s counts the 8 MB of the result.
func BenchmarkAdd(b *testing.B) {
	x := randChunk[float64]([]int{1000, 1000}, []int{0, 0}, []int{1000, 1000}, 1)
	y := randChunk[float64]([]int{1000, 1000}, []int{0, 0}, []int{1000, 1000}, 2)
	row := randChunk[float64]([]int{1000}, []int{0}, []int{1000}, 3)
	for _, tc := range []struct {
		name string
		y    abi.Tensor
	}{{"same-shape", y}, {"row", row}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(8e6)
			for b.Loop() {
				if _, err := binaryOp("add", x, tc.y); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMatmul multiplies two 500 × 500 float64 blocks with each float64 kernel: the
// packed product with the AVX2 micro-kernels (fused multiply-adds, and a multiply and an add
// per step) where the CPU has them, the pure Go blocked kernel that other CPUs use, and the
// plain loop. GFLOP/s counts 2·500³ operations per second of wall clock, GFLOP/cpu-s per
// second of the process's CPU time (on Linux), which a loaded machine disturbs less.
func BenchmarkMatmul(b *testing.B) {
	const n = 500
	x := randChunk[float64]([]int{n, n}, []int{0, 0}, []int{n, n}, 1)
	y := randChunk[float64]([]int{n, n}, []int{0, 0}, []int{n, n}, 2)
	type kernel struct {
		name string
		f    func(context.Context, abi.Tensor, abi.Tensor) (abi.Tensor, error)
	}
	var kernels []kernel
	for _, k := range matmulKernels() {
		kernels = append(kernels, kernel{k.name, func(ctx context.Context, a, b abi.Tensor) (abi.Tensor, error) {
			return matmulWith(ctx, a, b, k.kern)
		}})
	}
	kernels = append(kernels, kernel{"blocked", matmulF64}, kernel{"plain", matmulT[float64]})
	for _, tc := range kernels {
		b.Run(tc.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				if _, err := tc.f(context.Background(), x, y); err != nil {
					b.Fatal(err)
				}
			}
			flops := 2 * n * n * n * float64(b.N)
			b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(flops/float64(cpu.Nanoseconds()), "GFLOP/cpu-s")
			}
		})
	}
}
