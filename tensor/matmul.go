package tensor

import (
	"context"
	"fmt"
	"sync"

	"github.com/mrun-dev/mrun/abi"
)

// The packed float64 product: a micro-kernel computes a tile of mr × nr elements of the
// result from A packed in panels of mr rows and B in panels of nr columns, each interleaved
// along the contraction so that the kernel reads both sequentially. Edges are padded with
// zeros in the packed copies and only a tile's valid part is copied out, so the kernel sees
// whole tiles only.
const (
	mr = 6 // rows of a tile
	nr = 8 // columns of a tile
	// kc is the contraction block: a tile is accumulated over k in blocks of kc steps, so
	// that a kernel call's B panel (kc·nr float64, 16 KiB) and A panel (12 KiB) stay in the
	// L1 cache.
	kc = 256
)

// maxMatmulInput is the most elements the matrices of one matmul task hold together: two
// chunks of the largest size, as for a single block product.
const maxMatmulInput = 2 * MaxChunkElements

// microKernel adds to the row-major mr × nr tile at c the product of k steps of a packed
// A panel (a[p*mr+r]) and a packed B panel (b[p*nr+j]), in ascending p.
type microKernel func(k int, a, b, c *float64)

// matmulSum returns a₁·b₁ + a₂·b₂ + … for ts = a₁, b₁, a₂, b₂, …, matrices of shapes
// [m kᵢ] and [kᵢ n]: the product of the row block (a₁ a₂ …) and the column block
// (b₁; b₂; …), each element summed over the whole contraction in ascending order, so the
// result does not depend on how the contraction is split into pairs. It is the kernel
// "matmul"; a float64 result is written straight into its frame.
func matmulSum(ctx context.Context, ts []abi.Tensor) (any, error) {
	if len(ts) == 0 || len(ts)%2 != 0 {
		return nil, fmt.Errorf("tensor: matmul takes pairs of matrices a₁, b₁, a₂, b₂, …, got %d tensors", len(ts))
	}
	a0, b0 := ts[0], ts[1]
	if len(a0.Shape) != 2 || len(b0.Shape) != 2 || a0.Shape[1] != b0.Shape[0] {
		return nil, fmt.Errorf("tensor: matmul needs matrices of shapes [m k] and [k n], got %v and %v", a0.Shape, b0.Shape)
	}
	m, n := a0.Shape[0], b0.Shape[1]
	d, err := matmulDType(a0.DType, b0.DType)
	if err != nil {
		return nil, err
	}
	var k, elems uint64
	for i := 0; i < len(ts); i += 2 {
		a, b := ts[i], ts[i+1]
		if len(a.Shape) != 2 || len(b.Shape) != 2 || a.Shape[0] != m || b.Shape[1] != n || a.Shape[1] != b.Shape[0] {
			return nil, fmt.Errorf("tensor: matmul pair %d has shapes %v and %v, want [%d k] and [k %d] as pair 0", i/2, a.Shape, b.Shape, m, n)
		}
		if d, err = matmulDType(d, promote(a.DType, b.DType)); err != nil {
			return nil, err
		}
		k += uint64(a.Shape[1])
		elems += uint64(a.Len()) + uint64(b.Len())
	}
	if err := checkSize([]int{m, n}); err != nil {
		return nil, err
	}
	if work := uint64(m) * k * uint64(n); work > MaxMatmulWork {
		return nil, fmt.Errorf("tensor: a block product of [%d %d] and [%d %d] is %d multiply-adds, over the limit of %d: use smaller chunks", m, k, k, n, work, uint64(MaxMatmulWork))
	}
	if elems > maxMatmulInput {
		return nil, fmt.Errorf("tensor: matmul of %d pairs holding %d elements is over the limit of %d: pass fewer pairs", len(ts)/2, elems, uint64(maxMatmulInput))
	}
	if len(ts) == 2 && (d != abi.Float64 || f64Kernel == nil) {
		return matmul(ctx, a0, b0)
	}
	if d != abi.Float64 || f64Kernel == nil {
		// Other dtypes and CPUs: one product of the concatenated blocks.
		a, b := concatPairs(ts, d, m, int(k), n)
		return matmul(ctx, a, b)
	}
	as, bs := make([][]float64, len(ts)/2), make([][]float64, len(ts)/2)
	for i := range as {
		as[i], bs[i] = view[float64](cast(ts[2*i], d)), view[float64](cast(ts[2*i+1], d))
	}
	frame, out, err := tensorFrame(abi.Float64, []int{m, n})
	if err != nil {
		return nil, err
	}
	if frame == nil {
		out, _ = alloc[float64]([]int{m, n})
	}
	if err := matmulPacked(ctx, as, bs, m, int(k), n, view[float64](out), f64Kernel); err != nil {
		return nil, err
	}
	if frame != nil {
		return frameResult(frame), nil
	}
	return out, nil
}

// concatPairs returns the row block (a₁ a₂ …) and the column block (b₁; b₂; …) of the pairs
// in ts, in dtype d.
func concatPairs(ts []abi.Tensor, d abi.DType, m, k, n int) (abi.Tensor, abi.Tensor) {
	size := d.Size()
	a := abi.Tensor{DType: d, Shape: []int{m, k}, Data: make([]byte, m*k*size)}
	b := abi.Tensor{DType: d, Shape: []int{k, n}, Data: make([]byte, 0, k*n*size)}
	col := 0
	for i := 0; i < len(ts); i += 2 {
		ai, bi := cast(ts[i], d), cast(ts[i+1], d)
		ki := ai.Shape[1]
		for r := range m {
			copy(a.Data[(r*k+col)*size:(r*k+col+ki)*size], ai.Data[r*ki*size:(r+1)*ki*size])
		}
		b.Data = append(b.Data, bi.Data...)
		col += ki
	}
	return a, b
}

// matmulFloat64 multiplies two float64 matrices with the fastest kernel this CPU has.
func matmulFloat64(ctx context.Context, a, b abi.Tensor) (abi.Tensor, error) {
	if f64Kernel == nil {
		return matmulF64(ctx, a, b)
	}
	return matmulWith(ctx, a, b, f64Kernel)
}

// matmulWith is the packed product of two float64 matrices with kern computing the tiles.
func matmulWith(ctx context.Context, a, b abi.Tensor, kern microKernel) (abi.Tensor, error) {
	m, k, n := a.Shape[0], a.Shape[1], b.Shape[1]
	out, z := alloc[float64]([]int{m, n})
	if err := matmulPacked(ctx, [][]float64{view[float64](a)}, [][]float64{view[float64](b)}, m, k, n, z, kern); err != nil {
		return abi.Tensor{}, err
	}
	return out, nil
}

// packPool recycles the packed copies of B: on this machine, writing megabytes of freshly
// allocated memory costs more than the copying itself.
var packPool sync.Pool

// getPacked returns a slice of n float64 from packPool, its contents undefined.
func getPacked(n int) *[]float64 {
	if p, ok := packPool.Get().(*[]float64); ok && cap(*p) >= n {
		*p = (*p)[:n]
		return p
	}
	s := make([]float64, n)
	return &s
}

// segments calls f for each part of the contraction range [lo, lo+kb) that lies in one pair:
// pair i, its local steps [plo, phi), and where they start in the range.
func segments(ks []int, lo, kb int, f func(i, plo, phi, at int)) {
	start := 0
	for i, ki := range ks {
		if s, e := max(lo, start), min(lo+kb, start+ki); s < e {
			f(i, s-start, e-start, s-lo)
		}
		start += ki
	}
}

// matmulPacked sets z (m × n, row-major) to Σᵢ asᵢ·bsᵢ, the pairs of m × kᵢ and kᵢ × n
// matrices with Σkᵢ = k, with kern computing the tiles. Each element is the sum over the
// whole contraction in ascending order, starting from zero, as in matmulT. It stops between
// panels of rows, with ctx's error, when ctx ends.
func matmulPacked(ctx context.Context, as, bs [][]float64, m, k, n int, z []float64, kern microKernel) error {
	if m == 0 || n == 0 {
		return nil
	}
	ks := make([]int, len(as))
	for i, x := range as {
		ks[i] = len(x) / m
	}
	np := (n + nr - 1) / nr
	// B packed by contraction block, then by panel: block p0 (of kb = min(kc, k-p0) steps)
	// starts at p0*np*nr, its panel q at p0*np*nr + q*kb*nr, element (p, j) at p*nr + j.
	bpp := getPacked(k * np * nr)
	defer packPool.Put(bpp)
	bp := *bpp
	for p0 := 0; p0 < k; p0 += kc {
		kb := min(kc, k-p0)
		block := bp[p0*np*nr : (p0+kb)*np*nr]
		if n%nr != 0 {
			clear(block[(np-1)*kb*nr:]) // the padding of the last panel
		}
		segments(ks, p0, kb, func(i, plo, phi, at int) {
			y := bs[i]
			for p := plo; p < phi; p++ {
				row := y[p*n : (p+1)*n]
				for q := range np {
					j0 := q * nr
					copy(block[q*kb*nr+(at+p-plo)*nr:q*kb*nr+(at+p-plo+1)*nr], row[j0:min(j0+nr, n)])
				}
			}
		})
	}
	var ap [kc * mr]float64 // one contraction block of one A panel, element (p, r) at p*mr + r
	tiles := make([]float64, np*mr*nr)
	for i0 := 0; i0 < m; i0 += mr {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("tensor: matmul stopped after %d of %d rows: %w", i0, m, err)
		}
		rows := min(mr, m-i0)
		clear(tiles)
		for p0 := 0; p0 < k; p0 += kc {
			kb := min(kc, k-p0)
			if rows < mr {
				clear(ap[:kb*mr])
			}
			segments(ks, p0, kb, func(i, plo, phi, at int) {
				x, ki := as[i], ks[i]
				for r := range rows {
					for p, v := range x[(i0+r)*ki+plo : (i0+r)*ki+phi] {
						ap[(at+p)*mr+r] = v
					}
				}
			})
			block := bp[p0*np*nr:]
			for q := range np {
				kern(kb, &ap[0], &block[q*kb*nr], &tiles[q*mr*nr])
			}
		}
		for q := range np {
			j0, cols := q*nr, min(nr, n-q*nr)
			for r := range rows {
				copy(z[(i0+r)*n+j0:(i0+r)*n+j0+cols], tiles[q*mr*nr+r*nr:q*mr*nr+r*nr+cols])
			}
		}
	}
	return nil
}

// matmulGroups splits the contraction chunks ks of an output chunk of m × n into groups of
// consecutive chunks [lo, hi), each the block products of one matmul task: at most FanIn
// pairs, MaxMatmulWork multiply-adds and maxMatmulInput elements per task. The planner has
// checked that one block product fits.
func matmulGroups(m int, ks []int, n int) [][2]int {
	var groups [][2]int
	lo, k := 0, 0
	for i, ki := range ks {
		if i > lo && (i-lo == FanIn || uint64(m)*uint64(k+ki)*uint64(n) > MaxMatmulWork || uint64(m+n)*uint64(k+ki) > maxMatmulInput) {
			groups = append(groups, [2]int{lo, i})
			lo, k = i, 0
		}
		k += ki
	}
	return append(groups, [2]int{lo, len(ks)})
}
