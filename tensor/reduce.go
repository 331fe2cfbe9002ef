package tensor

import (
	"fmt"
	"math"
	"slices"

	"github.com/mrun-dev/mrun/abi"
)

// reduceOps are the reductions. Each runs in three stages: a partial over one chunk, a
// combine of partials (in a tree), and a final step that turns the last partial into the
// result. A partial is a list of tensors shaped like the chunk with the reduced axes kept
// at size 1:
//
//	sum:            [s]          s in float64, int64 or uint64 (by the input's kind)
//	mean:           [n, s]       float64 count and sum
//	var, std:       [n, m, m2]   float64 count, mean and sum of squared deviations
//	min, max:       [v]          the input's dtype (uint8 for bool)
//	argmin, argmax: [v, i]       the value and its int64 index (flat, or along the axis)
var reduceOps = []string{"sum", "mean", "var", "std", "min", "max", "argmin", "argmax"}

func isArg(op string) bool { return op == "argmin" || op == "argmax" }

// reduceSpec says what a reduction does to a chunk.
type reduceSpec struct {
	op       string
	axes     []int // the reduced axes, sorted; all of them for a full reduction
	off      []int // the chunk's offset in the whole tensor (for arg reductions)
	gshape   []int // the whole tensor's shape (for arg reductions)
	in       abi.DType
	ddof     int
	keepdims bool
}

// keepShape returns shape with the reduced axes set to 1.
func (r *reduceSpec) keepShape(shape []int) []int {
	k := append([]int{}, shape...)
	for _, ax := range r.axes {
		k[ax] = 1
	}
	return k
}

// reduceDType returns the dtype of a reduction of a tensor of dtype d.
func reduceDType(op string, d abi.DType) abi.DType {
	switch op {
	case "sum":
		return sumResult(d)
	case "mean", "var", "std":
		return floatResult(d)
	case "argmin", "argmax":
		return abi.Int64
	}
	return d
}

// sumResult is the dtype of a sum, as NumPy gives it on 64-bit platforms.
func sumResult(d abi.DType) abi.DType {
	switch {
	case isFloat(d):
		return d
	case isUnsigned(d):
		return abi.Uint64
	}
	return abi.Int64
}

// sumAcc is the dtype a sum accumulates in.
func sumAcc(d abi.DType) abi.DType {
	if isFloat(d) {
		return abi.Float64
	}
	return sumResult(d)
}

// cmpDType is the dtype min, max and their arg forms compare in.
func cmpDType(d abi.DType) abi.DType {
	if d == abi.Bool {
		return abi.Uint8
	}
	return d
}

// partial reduces one chunk to a partial.
func partial(r *reduceSpec, x abi.Tensor) ([]abi.Tensor, error) {
	for _, ax := range r.axes {
		if ax < 0 || ax >= len(x.Shape) {
			return nil, fmt.Errorf("tensor: %s over axis %d of a tensor of %d dimensions", r.op, ax, len(x.Shape))
		}
	}
	keep := r.keepShape(x.Shape)
	switch r.op {
	case "sum":
		x = cast(x, sumAcc(x.DType))
		switch x.DType {
		case abi.Float64:
			return []abi.Tensor{sumKeep[float64](x, keep)}, nil
		case abi.Int64:
			return []abi.Tensor{sumKeep[int64](x, keep)}, nil
		}
		return []abi.Tensor{sumKeep[uint64](x, keep)}, nil
	case "mean", "var", "std":
		x = cast(x, abi.Float64)
		s := sumKeep[float64](x, keep)
		n, ns := alloc[float64](keep)
		count := float64(x.Len() / max(product(keep), 1))
		for i := range ns {
			ns[i] = count
		}
		if r.op == "mean" {
			return []abi.Tensor{n, s}, nil
		}
		m, ms := alloc[float64](keep)
		for i, v := range view[float64](s) {
			ms[i] = v / count
		}
		m2, m2s := alloc[float64](keep)
		xs := view[float64](x)
		runs(x.Shape, [][]int{x.Shape, keep}, func(_ []int, o, n int, offs, steps []int) {
			j, dj := offs[1], steps[1]
			for _, v := range xs[o : o+n] {
				d := v - ms[j]
				m2s[j] += d * d
				j += dj
			}
		})
		return []abi.Tensor{n, m, m2}, nil
	case "min", "max", "argmin", "argmax":
		x = cast(x, cmpDType(x.DType))
		switch x.DType {
		case abi.Int8:
			return extremes[int8](r, x, keep)
		case abi.Int16:
			return extremes[int16](r, x, keep)
		case abi.Int32:
			return extremes[int32](r, x, keep)
		case abi.Int64:
			return extremes[int64](r, x, keep)
		case abi.Uint8:
			return extremes[uint8](r, x, keep)
		case abi.Uint16:
			return extremes[uint16](r, x, keep)
		case abi.Uint32:
			return extremes[uint32](r, x, keep)
		case abi.Uint64:
			return extremes[uint64](r, x, keep)
		case abi.Float32:
			return extremes[float32](r, x, keep)
		}
		return extremes[float64](r, x, keep)
	}
	return nil, fmt.Errorf("tensor: unknown reduction %q (want one of %v)", r.op, reduceOps)
}

// sumKeep sums x over the axes where keep has size 1 and x does not.
func sumKeep[T number](x abi.Tensor, keep []int) abi.Tensor {
	xs := view[T](x)
	out, acc := alloc[T](keep)
	runs(x.Shape, [][]int{x.Shape, keep}, func(_ []int, o, n int, offs, steps []int) {
		j := offs[1]
		if steps[1] == 0 {
			acc[j] += sumRun(xs[o : o+n])
			return
		}
		for k, v := range xs[o : o+n] {
			acc[j+k] += v
		}
	})
	return out
}

// sumRun sums xs with four accumulators: faster than one, and no less accurate.
func sumRun[T number](xs []T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		s0 += xs[i]
		s1 += xs[i+1]
		s2 += xs[i+2]
		s3 += xs[i+3]
	}
	for ; i < len(xs); i++ {
		s0 += xs[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// lowest and highest are the start values of max and min.
func lowest[T number]() T {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return T(math.Inf(-1))
	case int8:
		m := int64(math.MinInt8)
		return T(m)
	case int16:
		m := int64(math.MinInt16)
		return T(m)
	case int32:
		m := int64(math.MinInt32)
		return T(m)
	case int64:
		m := int64(math.MinInt64)
		return T(m)
	}
	return 0
}

func highest[T number]() T {
	var z T
	switch any(z).(type) {
	case float32, float64:
		return T(math.Inf(1))
	case int8:
		m := int64(math.MaxInt8)
		return T(m)
	case int16:
		m := int64(math.MaxInt16)
		return T(m)
	case int32:
		m := int64(math.MaxInt32)
		return T(m)
	case int64:
		m := int64(math.MaxInt64)
		return T(m)
	case uint8:
		m := uint64(math.MaxUint8)
		return T(m)
	case uint16:
		m := uint64(math.MaxUint16)
		return T(m)
	case uint32:
		m := uint64(math.MaxUint32)
		return T(m)
	}
	m := uint64(math.MaxUint64)
	return T(m)
}

// beats reports whether candidate (v, i) replaces the current best (b, bi) of an arg
// reduction: the first NaN wins, then the larger (argmax) or smaller (argmin) value, then
// the smaller index. bi < 0 means there is no best yet.
func beats[T number](isMax bool, v T, i int64, b T, bi int64) bool {
	switch {
	case bi < 0:
		return true
	case b != b: // NaN
		return v != v && i < bi
	case v != v:
		return true
	case v == b:
		return i < bi
	case isMax:
		return v > b
	}
	return v < b
}

// pick returns the result of min or max of a and b: NaN if either is NaN.
func pick[T number](isMax bool, a, b T) T {
	switch {
	case a != a:
		return a
	case b != b:
		return b
	case isMax == (b > a):
		return b
	}
	return a
}

func extremes[T number](r *reduceSpec, x abi.Tensor, keep []int) ([]abi.Tensor, error) {
	xs := view[T](x)
	isMax := r.op == "max" || r.op == "argmax"
	out, acc := alloc[T](keep)
	start := highest[T]()
	if isMax {
		start = lowest[T]()
	}
	for i := range acc {
		acc[i] = start
	}
	if !isArg(r.op) {
		runs(x.Shape, [][]int{x.Shape, keep}, func(_ []int, o, n int, offs, steps []int) {
			j, dj := offs[1], steps[1]
			for _, v := range xs[o : o+n] {
				acc[j] = pick(isMax, acc[j], v)
				j += dj
			}
		})
		return []abi.Tensor{out}, nil
	}
	if len(r.off) != len(x.Shape) || len(r.gshape) != len(x.Shape) {
		return nil, fmt.Errorf("tensor: %s of chunk %s needs its offset and the whole tensor's shape, got %v and %v", r.op, x, r.off, r.gshape)
	}
	if len(r.axes) != 1 && len(r.axes) != len(x.Shape) {
		return nil, fmt.Errorf("tensor: %s reduces over one axis or all of them, not axes %v", r.op, r.axes)
	}
	idxT, idx := alloc[int64](keep)
	for i := range idx {
		idx[i] = -1
	}
	full := len(r.axes) == len(x.Shape)
	gstride := rowStrides(r.gshape)
	last := len(x.Shape) - 1
	runs(x.Shape, [][]int{x.Shape, keep}, func(at []int, o, n int, offs, steps []int) {
		var g, dg int64 // the index of the run's first element, and its step
		if full {
			for ax := range at {
				g += int64((r.off[ax] + at[ax]) * gstride[ax])
			}
			if last >= 0 {
				dg = 1
			}
		} else {
			ax := r.axes[0]
			g = int64(r.off[ax] + at[ax])
			if ax == last {
				dg = 1
			}
		}
		j, dj := offs[1], steps[1]
		for _, v := range xs[o : o+n] {
			if beats(isMax, v, g, acc[j], idx[j]) {
				acc[j], idx[j] = v, g
			}
			j, g = j+dj, g+dg
		}
	})
	return []abi.Tensor{out, idxT}, nil
}

// checkPartial reports a partial whose dtypes are not the ones partial makes for op.
func checkPartial(op string, p []abi.Tensor) error {
	ok := true
	switch op {
	case "sum":
		ok = p[0].DType == abi.Float64 || p[0].DType == abi.Int64 || p[0].DType == abi.Uint64
	case "mean", "var", "std":
		for _, t := range p {
			ok = ok && t.DType == abi.Float64
		}
	case "min", "max":
		ok = p[0].DType != abi.Bool
	case "argmin", "argmax":
		ok = p[0].DType != abi.Bool && p[1].DType == abi.Int64
	}
	if !ok {
		var ds []string
		for _, t := range p {
			ds = append(ds, t.DType.String())
		}
		return fmt.Errorf("tensor: combine of %s got a partial of %v, which kernel reduce never makes: pass partials from reduce or combine", op, ds)
	}
	return nil
}

// combine merges partials of one reduction, all of the same shape, into one.
func combine(op string, parts [][]abi.Tensor) ([]abi.Tensor, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("tensor: combine of %s needs at least one partial", op)
	}
	want := map[string]int{"sum": 1, "mean": 2, "var": 3, "std": 3, "min": 1, "max": 1, "argmin": 2, "argmax": 2}[op]
	if want == 0 {
		return nil, fmt.Errorf("tensor: unknown reduction %q (want one of %v)", op, reduceOps)
	}
	first := parts[0]
	for i, p := range parts {
		if len(p) != want {
			return nil, fmt.Errorf("tensor: partial %d of %s has %d tensors, want %d", i, op, len(p), want)
		}
		for k, t := range p {
			if !slices.Equal(t.Shape, p[0].Shape) {
				return nil, fmt.Errorf("tensor: partial %d of %s holds %s and %s: the tensors of a partial have one shape", i, op, p[0], t)
			}
			if t.DType != first[k].DType || !slices.Equal(t.Shape, first[k].Shape) {
				return nil, fmt.Errorf("tensor: partial %d of %s holds %s, want %s like the first", i, op, t, first[k])
			}
		}
	}
	if err := checkPartial(op, first); err != nil {
		return nil, err
	}
	if len(parts) == 1 {
		return first, nil
	}
	switch op {
	case "sum", "mean":
		out := make([]abi.Tensor, want)
		for k := range out {
			ts := make([]abi.Tensor, len(parts))
			for i, p := range parts {
				ts[i] = p[k]
			}
			var err error
			if out[k], err = addAll(ts); err != nil {
				return nil, err
			}
		}
		return out, nil
	case "var", "std": // Chan, Golub and LeVeque's pairwise update
		n, ns := alloc[float64](first[0].Shape)
		m, ms := alloc[float64](first[0].Shape)
		m2, m2s := alloc[float64](first[0].Shape)
		for _, p := range parts {
			pn, pm, pm2 := view[float64](p[0]), view[float64](p[1]), view[float64](p[2])
			for j := range ns {
				nb := pn[j]
				if nb == 0 {
					continue
				}
				na := ns[j]
				tot := na + nb
				d := pm[j] - ms[j]
				ms[j] += d * nb / tot
				m2s[j] += pm2[j] + d*d*na*nb/tot
				ns[j] = tot
			}
		}
		return []abi.Tensor{n, m, m2}, nil
	}
	switch first[0].DType {
	case abi.Int8:
		return combineExtremes[int8](op, parts), nil
	case abi.Int16:
		return combineExtremes[int16](op, parts), nil
	case abi.Int32:
		return combineExtremes[int32](op, parts), nil
	case abi.Int64:
		return combineExtremes[int64](op, parts), nil
	case abi.Uint8:
		return combineExtremes[uint8](op, parts), nil
	case abi.Uint16:
		return combineExtremes[uint16](op, parts), nil
	case abi.Uint32:
		return combineExtremes[uint32](op, parts), nil
	case abi.Uint64:
		return combineExtremes[uint64](op, parts), nil
	case abi.Float32:
		return combineExtremes[float32](op, parts), nil
	}
	return combineExtremes[float64](op, parts), nil
}

func combineExtremes[T number](op string, parts [][]abi.Tensor) []abi.Tensor {
	isMax := op == "max" || op == "argmax"
	out, acc := alloc[T](parts[0][0].Shape)
	copy(acc, view[T](parts[0][0]))
	if !isArg(op) {
		for _, p := range parts[1:] {
			for j, v := range view[T](p[0]) {
				acc[j] = pick(isMax, acc[j], v)
			}
		}
		return []abi.Tensor{out}
	}
	idxT, idx := alloc[int64](parts[0][1].Shape)
	copy(idx, view[int64](parts[0][1]))
	for _, p := range parts[1:] {
		pi := view[int64](p[1])
		for j, v := range view[T](p[0]) {
			if pi[j] >= 0 && beats(isMax, v, pi[j], acc[j], idx[j]) {
				acc[j], idx[j] = v, pi[j]
			}
		}
	}
	return []abi.Tensor{out, idxT}
}

// finish turns the last partial of a reduction into its result, dropping the reduced axes
// unless r.keepdims.
func finish(r *reduceSpec, part []abi.Tensor) (abi.Tensor, error) {
	var out abi.Tensor
	switch r.op {
	case "sum":
		out = cast(part[0], sumResult(r.in))
	case "mean":
		res, xs := alloc[float64](part[0].Shape)
		ns, ss := view[float64](part[0]), view[float64](part[1])
		for j := range xs {
			xs[j] = ss[j] / ns[j]
		}
		out = cast(res, floatResult(r.in))
	case "var", "std":
		res, xs := alloc[float64](part[0].Shape)
		ns, m2s := view[float64](part[0]), view[float64](part[2])
		for j := range xs {
			xs[j] = m2s[j] / math.Max(ns[j]-float64(r.ddof), 0)
			if r.op == "std" {
				xs[j] = math.Sqrt(xs[j])
			}
		}
		out = cast(res, floatResult(r.in))
	case "min", "max":
		out = cast(part[0], r.in)
	case "argmin", "argmax":
		out = part[1]
	default:
		return abi.Tensor{}, fmt.Errorf("tensor: unknown reduction %q (want one of %v)", r.op, reduceOps)
	}
	if r.keepdims {
		return out, nil
	}
	shape := make([]int, 0, len(out.Shape))
	for ax, d := range out.Shape {
		if !slices.Contains(r.axes, ax) {
			shape = append(shape, d)
		}
	}
	return reshape(out, shape)
}
