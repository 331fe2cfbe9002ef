//go:build amd64

package tensor

import (
	"context"
	"math"
	"slices"
	"testing"

	"golang.org/x/sys/cpu"
)

// asmKernels are the assembly micro-kernels this CPU can run, by name.
func asmKernels(t testing.TB) map[string]microKernel {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		t.Skip("the CPU has no AVX2 and FMA: the assembly kernels are never used here")
	}
	return map[string]microKernel{"fma": kernel6x8FMA, "muladd": kernel6x8MulAdd}
}

// TestMatmulPacked_SameAsGeneric checks both assembly kernels, through the packing driver,
// against the plain loop on every m, n, k from 1 to 17 (every ragged edge of the 6 × 8
// tiles), on shapes past the contraction block kc, and with empty dimensions. The
// multiply-add kernel rounds as the loop does, so it must agree exactly; the fused one rounds
// once per step, so it agrees to a few ulps of the sum of |a|·|b|.
func TestMatmulPacked_SameAsGeneric(t *testing.T) {
	ctx := context.Background()
	var shapes [][3]int
	for m := 1; m <= 17; m++ {
		for k := 1; k <= 17; k++ {
			for n := 1; n <= 17; n++ {
				shapes = append(shapes, [3]int{m, k, n})
			}
		}
	}
	shapes = append(shapes, [3]int{0, 3, 4}, [3]int{4, 0, 3}, [3]int{4, 3, 0},
		[3]int{250, 500, 500}, [3]int{7, kc, 9}, [3]int{13, kc + 1, 17}, [3]int{37, 3*kc - 5, 41}, [3]int{1, 1000, 1})
	for name, kern := range asmKernels(t) {
		for _, s := range shapes {
			m, k, n := s[0], s[1], s[2]
			a := randChunk[float64]([]int{m, k}, []int{0, 0}, []int{m, k}, int64(m*1000+k))
			b := randChunk[float64]([]int{k, n}, []int{0, 0}, []int{k, n}, int64(n*1000+k+1))
			// Signs too, so that sums cancel.
			for i, v := range view[float64](a) {
				if i%3 == 0 {
					view[float64](a)[i] = -v
				}
			}
			got, err := matmulWith(ctx, a, b, kern)
			if err != nil {
				t.Fatal(err)
			}
			want, err := matmulT[float64](ctx, a, b)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Shape, want.Shape) {
				t.Fatalf("%s: %d × %d times %d × %d: shape %v, want %v", name, m, k, k, n, got.Shape, want.Shape)
			}
			g, w := view[float64](got), view[float64](want)
			if name == "muladd" {
				if !slices.Equal(g, w) {
					t.Fatalf("%s: %d × %d times %d × %d: got %v, want %v", name, m, k, k, n, g, w)
				}
				continue
			}
			x, y := view[float64](a), view[float64](b)
			for i := range m {
				for j := range n {
					var mag float64 // Σ|a|·|b|: the scale of the rounding errors
					for p := range k {
						mag += math.Abs(x[i*k+p] * y[p*n+j])
					}
					if d := math.Abs(g[i*n+j] - w[i*n+j]); d > float64(k)*0x1p-52*mag {
						t.Fatalf("%s: %d × %d times %d × %d: element (%d, %d) is %v, want %v", name, m, k, k, n, i, j, g[i*n+j], w[i*n+j])
					}
				}
			}
		}
	}
}

// TestMatmulPacked_NaNInf checks that NaN and infinities reach exactly the elements they
// should, and that the zeros padding the packed edges do not turn an infinity into a NaN in
// a neighbouring element.
func TestMatmulPacked_NaNInf(t *testing.T) {
	ctx := context.Background()
	inf, nan := math.Inf(1), math.NaN()
	for name, kern := range asmKernels(t) {
		for _, s := range [][3]int{{1, 1, 1}, {5, 3, 7}, {7, 9, 9}, {13, 4, 17}} {
			m, k, n := s[0], s[1], s[2]
			a := randChunk[float64]([]int{m, k}, []int{0, 0}, []int{m, k}, 3)
			b := randChunk[float64]([]int{k, n}, []int{0, 0}, []int{k, n}, 4)
			x, y := view[float64](a), view[float64](b)
			x[(m-1)*k] = inf      // last row: +Inf where b is positive
			y[(k-1)*n+n-1] = -inf // last column: -Inf
			x[0] = nan            // first row: NaN
			got, err := matmulWith(ctx, a, b, kern)
			if err != nil {
				t.Fatal(err)
			}
			want, err := matmulT[float64](ctx, a, b)
			if err != nil {
				t.Fatal(err)
			}
			g, w := view[float64](got), view[float64](want)
			for i := range g {
				switch {
				case math.IsNaN(w[i]) != math.IsNaN(g[i]),
					math.IsInf(w[i], 0) && g[i] != w[i],
					!math.IsNaN(w[i]) && !math.IsInf(w[i], 0) && math.Abs(g[i]-w[i]) > 1e-12*math.Abs(w[i]):
					t.Fatalf("%s: %d × %d times %d × %d: element %d is %v, want %v", name, m, k, k, n, i, g[i], w[i])
				}
			}
			if m > 1 && k > 1 && !math.IsInf(g[(m-1)*n], 1) {
				t.Errorf("%s: %d × %d: element (%d, 0) is %v, want +Inf", name, m, k, m-1, g[(m-1)*n])
			}
		}
	}
}

// TestMatmulPacked_StopsWhenCancelled checks that the packed product stops between panels of
// rows when its context ends, with the plain kernel's error.
func TestMatmulPacked_StopsWhenCancelled(t *testing.T) {
	for name, kern := range asmKernels(t) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		a := randChunk[float64]([]int{20, 20}, []int{0, 0}, []int{20, 20}, 1)
		_, err := matmulWith(ctx, a, a, kern)
		if err == nil || err.Error() != "tensor: matmul stopped after 0 of 20 rows: context canceled" {
			t.Errorf("%s: matmul with a cancelled context: %v", name, err)
		}
	}
}

// BenchmarkMatmulTile runs the assembly micro-kernels alone on one contraction block of
// panels already in the L1 cache: the arithmetic without packing or memory. GFLOP/cpu-s
// counts 2·6·8·kc operations per call per second of the process's CPU time.
func BenchmarkMatmulTile(b *testing.B) {
	a, p := make([]float64, kc*mr), make([]float64, kc*nr)
	for i := range a {
		a[i] = 1e-3
	}
	for i := range p {
		p[i] = 1e-3
	}
	var c [mr * nr]float64
	for name, kern := range asmKernels(b) {
		b.Run(name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				kern(kc, &a[0], &p[0], &c[0])
			}
			flops := 2 * mr * nr * kc * float64(b.N)
			b.ReportMetric(flops/float64(b.Elapsed().Nanoseconds()), "GFLOP/s")
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(flops/float64(cpu.Nanoseconds()), "GFLOP/cpu-s")
			}
		})
	}
}
