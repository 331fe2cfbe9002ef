package main

import (
	"fmt"
	"math/rand/v2"

	"github.com/mrun-dev/mrun/guests/go/mrun"
	"github.com/mrun-dev/mrun/guests/go/mrun/mt"
)

// Tensors (ABI.md section 5.3): n-dimensional arrays that cross the boundary as raw
// little-endian elements and are read in place.

// maxElements bounds the tensors rand_matrix and matmul make, so that a huge shape is an
// error rather than an out-of-memory trap: 2^26 float64s are 512 MiB.
const maxElements = 1 << 26

// tensor_sum returns the sum of the elements of a float64 tensor of any shape, added in
// row-major order. Float64s reads the elements where they are, without copying them.
//
//mrun:type t tensor[float64]
func tensor_sum(t mrun.Tensor) (float64, error) {
	if t.DType() != mrun.Float64 {
		return 0, fmt.Errorf("tensor_sum: want a float64 tensor, got a %s", t)
	}
	var sum float64
	for _, x := range t.Float64s() {
		sum += x
	}
	return sum, nil
}

// matmul returns the matrix product a·b of an m×k and a k×n float64 matrix, an m×n float64
// matrix.
//
//mrun:type a tensor[float64]
//mrun:type b tensor[float64]
//mrun:type result tensor[float64]
func matmul(a, b mrun.Tensor) (mrun.Tensor, error) {
	if a.DType() != mrun.Float64 || b.DType() != mrun.Float64 || a.NDim() != 2 || b.NDim() != 2 {
		return mrun.Tensor{}, fmt.Errorf("matmul: want two float64 matrices, got a %s and a %s", a, b)
	}
	m, k, n := a.Dim(0), a.Dim(1), b.Dim(1)
	if b.Dim(0) != k {
		return mrun.Tensor{}, fmt.Errorf("matmul: shapes %v and %v do not fit: %d columns against %d rows", a.Shape(), b.Shape(), k, b.Dim(0))
	}
	if n != 0 && m > maxElements/n {
		return mrun.Tensor{}, fmt.Errorf("matmul: a %d×%d result is over %d elements", m, n, maxElements)
	}
	x, y, out := a.Float64s(), b.Float64s(), make([]float64, m*n)
	for i := range m {
		row := out[i*n : (i+1)*n]
		for p, xip := range x[i*k : (i+1)*k] {
			for j, ypj := range y[p*n : (p+1)*n] {
				row[j] += xip * ypj
			}
		}
	}
	return mrun.NewTensor([]int{m, n}, out)
}

// rand_matrix returns an r×c float64 matrix of pseudo-random numbers in [0, 1).
//
//mrun:type result tensor[float64]
//mrun:impure
func rand_matrix(r, c int) (mrun.Tensor, error) {
	if r < 0 || c < 0 || (c != 0 && r > maxElements/c) {
		return mrun.Tensor{}, fmt.Errorf("rand_matrix: want 0 ≤ r×c ≤ %d, got %d×%d", maxElements, r, c)
	}
	data := make([]float64, r*c)
	for i := range data {
		data[i] = rand.Float64()
	}
	return mrun.NewTensor([]int{r, c}, data)
}

// driver2_tensor is driver2 on the tensor planner, as Mars writes it:
// mt.random.rand(10, 10).sum() inside a spawned function. It spawns eval of the native module
// mrun:tensor with the expression and returns the sum. The planner's rand is a function of its
// seed, so the seed is an argument: the same seed gives the same sum, on any chunks.
func driver2_tensor(seed int64) (float64, error) {
	return mt.Rand(seed, 10, 10).Sum(nil).Float64()
}

// driver2 is the seed's mt.random.rand(10, 10).sum(): it spawns rand_matrix(10, 10) and
// tensor_sum over it (the matrix's Object as the argument: a dependency), executes the sum
// and returns it. rand_matrix is spawned impure, as random numbers must be: a pure spawn would
// be one task shared by every driver2, and every driver2 would return the same sum.
//
//mrun:impure
func driver2() (float64, error) {
	matrix := mrun.Task{Func: "rand_matrix", Args: []any{10, 10}, Impure: true}.Spawn()[0]
	sum := mrun.Spawn("tensor_sum", matrix)
	if err := sum.Execute(); err != nil {
		return 0, err
	}
	var total float64
	err := sum.Fetch(&total)
	return total, err
}
