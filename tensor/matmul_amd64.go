//go:build amd64

package tensor

import "golang.org/x/sys/cpu"

// kernel6x8FMA and kernel6x8MulAdd are the AVX2 micro-kernels of matmul_amd64.s: the first
// with fused multiply-adds, the second with a multiply and an add per step, rounding as the
// pure Go kernels do.
//
//go:noescape
func kernel6x8FMA(k int, a, b, c *float64)

//go:noescape
func kernel6x8MulAdd(k int, a, b, c *float64)

// f64Kernel is the micro-kernel of float64 products on this CPU, or nil for the pure Go one.
var f64Kernel microKernel

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		f64Kernel = kernel6x8MulAdd
	}
}

// namedKernel is a micro-kernel and its name in benchmarks.
type namedKernel struct {
	name string
	kern microKernel
}

// matmulKernels returns the assembly micro-kernels this CPU can run.
func matmulKernels() []namedKernel {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return nil
	}
	return []namedKernel{{"avx2-fma", kernel6x8FMA}, {"avx2-muladd", kernel6x8MulAdd}}
}
