package tensor

import (
	"context"
	"fmt"

	"github.com/mrun-dev/mrun/abi"
)

// rowStrides returns the row-major strides, in elements, of shape.
func rowStrides(shape []int) []int {
	st := make([]int, len(shape))
	acc := 1
	for ax := len(shape) - 1; ax >= 0; ax-- {
		st[ax] = acc
		acc *= shape[ax]
	}
	return st
}

// checkPerm reports whether axes is a permutation of 0..n-1.
func checkPerm(axes []int, n int) error {
	if len(axes) != n {
		return fmt.Errorf("tensor: transpose axes %v do not match a tensor of %d dimensions", axes, n)
	}
	seen := make([]bool, n)
	for _, a := range axes {
		if a < 0 || a >= n || seen[a] {
			return fmt.Errorf("tensor: transpose axes %v are not a permutation of 0..%d", axes, n-1)
		}
		seen[a] = true
	}
	return nil
}

// transpose permutes the axes of x: axis k of the result is axis axes[k] of x.
func transpose(x abi.Tensor, axes []int) (abi.Tensor, error) {
	if err := checkPerm(axes, len(x.Shape)); err != nil {
		return abi.Tensor{}, err
	}
	shape := make([]int, len(axes))
	src := rowStrides(x.Shape)
	strides := make([]int, len(axes)) // of x, in the result's axis order
	for k, a := range axes {
		shape[k], strides[k] = x.Shape[a], src[a]
	}
	size := x.DType.Size()
	out := abi.Tensor{DType: x.DType, Shape: shape, Data: make([]byte, len(x.Data))}
	runs(shape, nil, func(idx []int, o, n int, _, _ []int) {
		at := 0
		for ax := range idx {
			at += idx[ax] * strides[ax]
		}
		last := 1
		if len(strides) > 0 {
			last = strides[len(strides)-1]
		}
		copyStrided(out.Data, o, 1, x.Data, at, last, n, size)
	})
	return out, nil
}

// copyStrided copies n elements of size bytes from src (starting at element si, advancing
// ss elements) to dst (starting at di, advancing ds).
func copyStrided(dst []byte, di, ds int, src []byte, si, ss, n, size int) {
	if ds == 1 && ss == 1 {
		copy(dst[di*size:(di+n)*size], src[si*size:(si+n)*size])
		return
	}
	switch size {
	case 8:
		for k := 0; k < n; k++ {
			copy(dst[(di+k*ds)*8:(di+k*ds)*8+8], src[(si+k*ss)*8:(si+k*ss)*8+8])
		}
	default:
		for k := 0; k < n; k++ {
			copy(dst[(di+k*ds)*size:(di+k*ds+1)*size], src[(si+k*ss)*size:(si+k*ss+1)*size])
		}
	}
}

// floorDiv and ceilDiv divide rounding toward minus and plus infinity; b > 0.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int) int { return -floorDiv(-a, b) }

// gatherPiece is one source chunk of a gather: its elements and where it sits in the source.
type gatherPiece struct {
	t   abi.Tensor
	off []int
}

// gather builds a chunk of the given shape whose element i (a multi-index) is element
// start + step·i of a source tensor, taking elements from the pieces that cover them. It is
// the kernel of slicing and rechunking; every element of the result must be covered.
func gather(d abi.DType, shape, start, step []int, pieces []gatherPiece) (abi.Tensor, error) {
	nd := len(shape)
	if len(start) != nd || len(step) != nd {
		return abi.Tensor{}, fmt.Errorf("tensor: gather of shape %v needs start and step of %d axes, got %v and %v", shape, nd, start, step)
	}
	if err := checkSize(shape); err != nil {
		return abi.Tensor{}, err
	}
	out := abi.Tensor{DType: d, Shape: shape, Data: make([]byte, product(shape)*d.Size())}
	return out, gatherInto(out, start, step, pieces)
}

// gatherInto is gather writing into out, whose shape and dtype it takes and whose data it
// overwrites.
func gatherInto(out abi.Tensor, start, step []int, pieces []gatherPiece) error {
	d, shape := out.DType, out.Shape
	nd, size := len(shape), d.Size()
	covered := 0
	for pi, p := range pieces {
		if p.t.DType != d || len(p.t.Shape) != nd || len(p.off) != nd {
			return fmt.Errorf("tensor: gather piece %d is %s at offset %v, want a %s tensor of %d axes", pi, p.t, p.off, d, nd)
		}
		lo, hi := make([]int, nd), make([]int, nd) // the result's box this piece covers
		empty := false
		for ax := 0; ax < nd; ax++ {
			a, b := p.off[ax], p.off[ax]+p.t.Shape[ax] // source range [a, b)
			s, st := start[ax], step[ax]
			switch {
			case st > 0: // s + st·i in [a, b)
				lo[ax], hi[ax] = ceilDiv(a-s, st), ceilDiv(b-s, st)
			case st < 0: // s - |st|·i in [a, b)  ⇔  i in ((s-b)/|st|, (s-a)/|st|]
				lo[ax], hi[ax] = floorDiv(s-b, -st)+1, floorDiv(s-a, -st)+1
			default:
				return fmt.Errorf("tensor: gather step of axis %d is zero", ax)
			}
			lo[ax], hi[ax] = max(lo[ax], 0), min(hi[ax], shape[ax])
			if lo[ax] >= hi[ax] {
				empty = true
			}
		}
		if empty {
			continue
		}
		box := make([]int, nd)
		for ax := range box {
			box[ax] = hi[ax] - lo[ax]
		}
		covered += product(box)
		ostride, pstride := rowStrides(shape), rowStrides(p.t.Shape)
		runs(box, nil, func(idx []int, _, n int, _, _ []int) {
			o, at := 0, 0
			for ax := range idx {
				i := lo[ax] + idx[ax]
				o += i * ostride[ax]
				at += (start[ax] + step[ax]*i - p.off[ax]) * pstride[ax]
			}
			ss := 1
			if nd > 0 {
				ss = step[nd-1]
			}
			copyStrided(out.Data, o, 1, p.t.Data, at, ss, n, size)
		})
	}
	if covered != product(shape) {
		return fmt.Errorf("tensor: gather of shape %v: the pieces cover %d of its %d elements (overlapping or missing pieces)", shape, covered, product(shape))
	}
	return nil
}

// reshape gives x a new shape with the same number of elements.
func reshape(x abi.Tensor, shape []int) (abi.Tensor, error) {
	if product(shape) != x.Len() {
		return abi.Tensor{}, fmt.Errorf("tensor: cannot reshape %s of %d elements into shape %v", x, x.Len(), shape)
	}
	return abi.Tensor{DType: x.DType, Shape: append([]int{}, shape...), Data: x.Data}, nil
}

// matmulDType returns the dtype of the matrix product of a and b.
func matmulDType(a, b abi.DType) (abi.DType, error) {
	d := promote(a, b)
	if d == abi.Bool {
		return 0, fmt.Errorf("tensor: matmul of bool tensors is not supported: astype them to a number first")
	}
	return d, nil
}

// MaxMatmulWork is the most multiply-adds one matmul kernel does (m·k·n): about 1600 × 1600
// blocks. A bigger block product fails, asking for smaller chunks, rather than running for
// minutes in one task.
const MaxMatmulWork = 1 << 32

// matmul multiplies two matrices. It stops early, with ctx's error, when ctx ends.
func matmul(ctx context.Context, a, b abi.Tensor) (abi.Tensor, error) {
	if len(a.Shape) != 2 || len(b.Shape) != 2 || a.Shape[1] != b.Shape[0] {
		return abi.Tensor{}, fmt.Errorf("tensor: matmul needs matrices of shapes [m k] and [k n], got %v and %v", a.Shape, b.Shape)
	}
	d, err := matmulDType(a.DType, b.DType)
	if err != nil {
		return abi.Tensor{}, err
	}
	if err := checkSize([]int{a.Shape[0], b.Shape[1]}); err != nil {
		return abi.Tensor{}, err
	}
	if work := uint64(a.Shape[0]) * uint64(a.Shape[1]) * uint64(b.Shape[1]); work > MaxMatmulWork {
		return abi.Tensor{}, fmt.Errorf("tensor: a block product of %v and %v is %d multiply-adds, over the limit of %d: use smaller chunks", a.Shape, b.Shape, work, uint64(MaxMatmulWork))
	}
	a, b = cast(a, d), cast(b, d)
	switch d {
	case abi.Float64:
		return matmulFloat64(ctx, a, b)
	case abi.Float32:
		return matmulT[float32](ctx, a, b)
	case abi.Int8:
		return matmulT[int8](ctx, a, b)
	case abi.Int16:
		return matmulT[int16](ctx, a, b)
	case abi.Int32:
		return matmulT[int32](ctx, a, b)
	case abi.Int64:
		return matmulT[int64](ctx, a, b)
	case abi.Uint8:
		return matmulT[uint8](ctx, a, b)
	case abi.Uint16:
		return matmulT[uint16](ctx, a, b)
	case abi.Uint32:
		return matmulT[uint32](ctx, a, b)
	}
	return matmulT[uint64](ctx, a, b)
}

func matmulT[T number](ctx context.Context, a, b abi.Tensor) (abi.Tensor, error) {
	m, k, n := a.Shape[0], a.Shape[1], b.Shape[1]
	x, y := view[T](a), view[T](b)
	out, z := alloc[T]([]int{m, n})
	for i := 0; i < m; i++ {
		if err := ctx.Err(); err != nil {
			return abi.Tensor{}, fmt.Errorf("tensor: matmul stopped after %d of %d rows: %w", i, m, err)
		}
		row := z[i*n : (i+1)*n]
		for p := 0; p < k; p++ {
			v := x[i*k+p]
			col := y[p*n : (p+1)*n]
			for j := range row {
				row[j] += v * col[j]
			}
		}
	}
	return out, nil
}

// matmulF64 is matmulT for float64, blocked for registers: b is packed into panels of 4
// columns (each k × 4, contiguous) and a into pairs of rows interleaved along k, so the inner
// loop reads both sequentially and keeps a 2 × 4 block of the result in registers. Each
// element is still the sum over p in ascending order, as in matmulT.
func matmulF64(ctx context.Context, a, b abi.Tensor) (abi.Tensor, error) {
	m, k, n := a.Shape[0], a.Shape[1], b.Shape[1]
	x, y := view[float64](a), view[float64](b)
	out, z := alloc[float64]([]int{m, n})
	if m == 0 || n == 0 {
		return out, nil
	}
	n4 := n / 4 * 4
	bp := make([]float64, n4*k) // panel q: bp[q*4*k:], element (p, c) at p*4 + c
	for q := 0; q < n4/4; q++ {
		panel := bp[q*4*k : (q+1)*4*k]
		for p := 0; p < k; p++ {
			src, dst := y[p*n+q*4:p*n+q*4+4:p*n+q*4+4], panel[p*4:p*4+4:p*4+4]
			dst[0], dst[1], dst[2], dst[3] = src[0], src[1], src[2], src[3]
		}
	}
	ap := make([]float64, 2*k) // rows i and i+1 interleaved: (p, r) at p*2 + r
	for i := 0; i < m; i += 2 {
		if err := ctx.Err(); err != nil {
			return abi.Tensor{}, fmt.Errorf("tensor: matmul stopped after %d of %d rows: %w", i, m, err)
		}
		if i+1 == m { // the last row of an odd m
			matmulRow(x[i*k:(i+1)*k], y, z[i*n:(i+1)*n], n)
			break
		}
		r0, r1 := x[i*k:(i+1)*k], x[(i+1)*k:(i+2)*k]
		for p := range k {
			ap[2*p], ap[2*p+1] = r0[p], r1[p]
		}
		z0, z1 := z[i*n:(i+1)*n], z[(i+1)*n:(i+2)*n]
		for q := 0; q < n4/4; q++ {
			panel := bp[q*4*k : (q+1)*4*k]
			var c00, c01, c02, c03, c10, c11, c12, c13 float64
			for p := range k {
				bb := panel[p*4 : p*4+4 : p*4+4]
				aa := ap[p*2 : p*2+2 : p*2+2]
				a0, a1 := aa[0], aa[1]
				b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
			}
			j := q * 4
			z0[j], z0[j+1], z0[j+2], z0[j+3] = c00, c01, c02, c03
			z1[j], z1[j+1], z1[j+2], z1[j+3] = c10, c11, c12, c13
		}
		for j := n4; j < n; j++ { // the last columns when n is not a multiple of 4
			var c0, c1 float64
			for p := range k {
				c0 += r0[p] * y[p*n+j]
				c1 += r1[p] * y[p*n+j]
			}
			z0[j], z1[j] = c0, c1
		}
	}
	return out, nil
}

// matmulRow sets row = xrow · y for a row of m × k and y of k × n.
func matmulRow(xrow, y, row []float64, n int) {
	for p, v := range xrow {
		col := y[p*n : (p+1)*n]
		for j := range row {
			row[j] += v * col[j]
		}
	}
}

// addAll returns the elementwise sum of tensors of one shape and dtype.
func addAll(ts []abi.Tensor) (abi.Tensor, error) {
	if len(ts) == 0 {
		return abi.Tensor{}, fmt.Errorf("tensor: addn needs at least one tensor")
	}
	acc := ts[0]
	for i, t := range ts[1:] {
		if t.DType != acc.DType || fmt.Sprint(t.Shape) != fmt.Sprint(acc.Shape) {
			return abi.Tensor{}, fmt.Errorf("tensor: addn operand %d is %s, want %s", i+1, t, acc)
		}
		var err error
		if acc, err = binaryOp("add", acc, t); err != nil {
			return abi.Tensor{}, err
		}
	}
	return acc, nil
}
