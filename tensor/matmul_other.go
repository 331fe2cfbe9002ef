//go:build !amd64

package tensor

// f64Kernel is nil: other architectures use the pure Go float64 kernel.
var f64Kernel microKernel

// namedKernel is a micro-kernel and its name in benchmarks.
type namedKernel struct {
	name string
	kern microKernel
}

// matmulKernels returns the assembly micro-kernels this CPU can run: none.
func matmulKernels() []namedKernel { return nil }
