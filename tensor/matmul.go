package tensor

import (
	"context"
	"fmt"

	"github.com/mrun-dev/mrun/abi"
)

// The packed float64 product: a micro-kernel computes a tile of mr × nr elements of the
// result from A packed in panels of mr rows and B in panels of nr columns, each interleaved
// along the contraction so the kernel reads both sequentially. Edges are padded with zeros
// in the packed copies, and only the tile's valid part is copied out, so the kernel sees
// whole tiles only.
const (
	mr = 6 // rows of a tile
	nr = 8 // columns of a tile
	// kc is the contraction block: a tile is accumulated over k in blocks of kc steps, so
	// the kernel's B panel (kc·nr float64, 16 KiB) stays in the L1 cache while the A panels
	// stream past it.
	kc = 256
)

// microKernel adds to the row-major mr × nr tile at c the product of k steps of a packed
// A panel (a[p*mr+r]) and a packed B panel (b[p*nr+j]), in ascending p.
type microKernel func(k int, a, b, c *float64)

// matmulFloat64 multiplies two float64 matrices with the fastest kernel this CPU has.
func matmulFloat64(ctx context.Context, a, b abi.Tensor) (abi.Tensor, error) {
	if f64Kernel != nil {
		return matmulPacked(ctx, a, b, f64Kernel)
	}
	return matmulF64(ctx, a, b)
}

// matmulPacked is matmulF64 with kern computing the tiles. Each element of the result is
// the sum over p in ascending order, starting from zero, as in matmulT.
func matmulPacked(ctx context.Context, a, b abi.Tensor, kern microKernel) (abi.Tensor, error) {
	m, k, n := a.Shape[0], a.Shape[1], b.Shape[1]
	x, y := view[float64](a), view[float64](b)
	out, z := alloc[float64]([]int{m, n})
	if m == 0 || n == 0 {
		return out, nil
	}
	np := (n + nr - 1) / nr
	// B packed by contraction block, then by panel: block p0 (of kb = min(kc, k-p0) steps)
	// starts at p0*np*nr, its panel q at p0*np*nr + q*kb*nr, element (p, j) at p*nr + j.
	bp := make([]float64, k*np*nr)
	for p0 := 0; p0 < k; p0 += kc {
		kb := min(kc, k-p0)
		for q := range np {
			j0, cols := q*nr, min(nr, n-q*nr)
			panel := bp[p0*np*nr+q*kb*nr : p0*np*nr+(q+1)*kb*nr]
			for p := range kb {
				copy(panel[p*nr:p*nr+cols], y[(p0+p)*n+j0:(p0+p)*n+j0+cols])
			}
		}
	}
	ap := make([]float64, kc*mr) // one contraction block of one A panel, element (p, r) at p*mr + r
	tiles := make([]float64, np*mr*nr)
	for i0 := 0; i0 < m; i0 += mr {
		if err := ctx.Err(); err != nil {
			return abi.Tensor{}, fmt.Errorf("tensor: matmul stopped after %d of %d rows: %w", i0, m, err)
		}
		rows := min(mr, m-i0)
		clear(tiles)
		for p0 := 0; p0 < k; p0 += kc {
			kb := min(kc, k-p0)
			clear(ap[:kb*mr])
			for r := range rows {
				src := x[(i0+r)*k+p0 : (i0+r)*k+p0+kb]
				for p, v := range src {
					ap[p*mr+r] = v
				}
			}
			for q := range np {
				kern(kb, &ap[0], &bp[p0*np*nr+q*kb*nr], &tiles[q*mr*nr])
			}
		}
		for q := range np {
			j0, cols := q*nr, min(nr, n-q*nr)
			for r := range rows {
				copy(z[(i0+r)*n+j0:(i0+r)*n+j0+cols], tiles[q*mr*nr+r*nr:q*mr*nr+r*nr+cols])
			}
		}
	}
	return out, nil
}
