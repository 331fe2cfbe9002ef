package tensor

import (
	"fmt"
	"math"
	"slices"

	"github.com/mrun-dev/mrun/abi"
)

// broadcastShapes returns the shape NumPy broadcasting gives operands of the given shapes.
func broadcastShapes(shapes ...[]int) ([]int, error) {
	nd := 0
	for _, s := range shapes {
		nd = max(nd, len(s))
	}
	out := make([]int, nd)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		for ax, d := range s {
			oa := nd - len(s) + ax
			switch {
			case d == out[oa] || d == 1:
			case out[oa] == 1:
				out[oa] = d
			default:
				return nil, fmt.Errorf("tensor: shapes %s do not broadcast: axis %d has sizes %d and %d", shapeList(shapes), oa, out[oa], d)
			}
		}
	}
	return out, nil
}

func shapeList(shapes [][]int) string {
	s := ""
	for i, sh := range shapes {
		if i > 0 {
			s += " and "
		}
		s += fmt.Sprint(sh)
	}
	return s
}

func product(shape []int) int {
	n := 1
	for _, s := range shape {
		n *= s
	}
	return n
}

// runs walks shape in row-major order one run at a time: a run is the n consecutive elements
// along the last axis that start at flat output offset o and at multi-index idx (last entry
// 0). operands are shapes right-aligned to shape that broadcast to it; operand k's run starts
// at its flat offset offs[k] and advances steps[k] (0 where it is broadcast) per element.
// f must not keep or modify idx, offs or steps.
func runs(shape []int, operands [][]int, f func(idx []int, o, n int, offs, steps []int)) {
	nd := len(shape)
	offs := make([]int, len(operands))
	steps := make([]int, len(operands))
	if product(shape) == 0 {
		return
	}
	if nd == 0 {
		f(nil, 0, 1, offs, steps)
		return
	}
	strides := make([][]int, len(operands))
	for k, s := range operands {
		st := make([]int, nd)
		acc := 1
		for ax := len(s) - 1; ax >= 0; ax-- {
			if s[ax] != 1 {
				st[nd-len(s)+ax] = acc
			}
			acc *= s[ax]
		}
		strides[k] = st
		steps[k] = st[nd-1]
	}
	last, n := nd-1, shape[nd-1]
	idx := make([]int, nd)
	for o := 0; ; o += n {
		f(idx, o, n, offs, steps)
		ax := last - 1
		for ; ax >= 0; ax-- {
			idx[ax]++
			for k := range offs {
				offs[k] += strides[k][ax]
			}
			if idx[ax] < shape[ax] {
				break
			}
			for k := range offs {
				offs[k] -= strides[k][ax] * shape[ax]
			}
			idx[ax] = 0
		}
		if ax < 0 {
			return
		}
	}
}

// Binary operators: arithmetic keeps the promoted dtype (true division gives a float),
// comparisons give bool.
var (
	arithOps   = []string{"add", "sub", "mul", "div", "pow"}
	compareOps = []string{"eq", "ne", "lt", "le", "gt", "ge"}
	unaryOps   = []string{"neg", "abs", "sqrt", "exp", "log"}
)

func isCompare(op string) bool { return slices.Contains(compareOps, op) }

// binaryDType returns the dtype of op applied to operands of dtypes a and b.
func binaryDType(op string, a, b abi.DType) (abi.DType, error) {
	d := promote(a, b)
	switch {
	case isCompare(op):
		return abi.Bool, nil
	case op == "div":
		return floatResult(d), nil
	case d == abi.Bool && op == "sub":
		return 0, fmt.Errorf("tensor: sub of two bool tensors is not supported (NumPy refuses it too): astype one of them to an integer first")
	case d == abi.Bool && op == "pow":
		return abi.Int8, nil
	}
	return d, nil
}

// binaryOp applies op elementwise to a and b with NumPy broadcasting and type promotion.
func binaryOp(op string, a, b abi.Tensor) (abi.Tensor, error) {
	shape, err := broadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return abi.Tensor{}, err
	}
	rd, err := binaryDType(op, a.DType, b.DType)
	if err != nil {
		return abi.Tensor{}, err
	}
	if err := checkSize(shape); err != nil {
		return abi.Tensor{}, err
	}
	cd := rd // the dtype the operation computes in
	if rd == abi.Bool {
		cd = promote(a.DType, b.DType)
	}
	a, b = cast(a, cd), cast(b, cd)
	if cd == abi.Bool { // add is or, mul is and; comparisons order false before true
		a, b = cast(a, abi.Uint8), cast(b, abi.Uint8)
		out, err := binaryNum[uint8](op, shape, a, b)
		if err != nil || rd == abi.Bool && !isCompare(op) {
			return cast(out, abi.Bool), err
		}
		return out, nil
	}
	switch cd {
	case abi.Int8:
		return binaryNum[int8](op, shape, a, b)
	case abi.Int16:
		return binaryNum[int16](op, shape, a, b)
	case abi.Int32:
		return binaryNum[int32](op, shape, a, b)
	case abi.Int64:
		return binaryNum[int64](op, shape, a, b)
	case abi.Uint8:
		return binaryNum[uint8](op, shape, a, b)
	case abi.Uint16:
		return binaryNum[uint16](op, shape, a, b)
	case abi.Uint32:
		return binaryNum[uint32](op, shape, a, b)
	case abi.Uint64:
		return binaryNum[uint64](op, shape, a, b)
	case abi.Float32:
		return binaryNum[float32](op, shape, a, b)
	}
	return binaryNum[float64](op, shape, a, b)
}

func binaryNum[T number](op string, shape []int, a, b abi.Tensor) (abi.Tensor, error) {
	x, y := view[T](a), view[T](b)
	operands := [][]int{a.Shape, b.Shape}
	if isCompare(op) {
		var f func(p, q T) bool
		switch op {
		case "eq":
			f = func(p, q T) bool { return p == q }
		case "ne":
			f = func(p, q T) bool { return p != q }
		case "lt":
			f = func(p, q T) bool { return p < q }
		case "le":
			f = func(p, q T) bool { return p <= q }
		case "gt":
			f = func(p, q T) bool { return p > q }
		default:
			f = func(p, q T) bool { return p >= q }
		}
		out, z := alloc[bool](shape)
		runs(shape, operands, func(_ []int, o, n int, offs, steps []int) {
			i, j, di, dj := offs[0], offs[1], steps[0], steps[1]
			for k := o; k < o+n; k++ {
				z[k] = f(x[i], y[j])
				i, j = i+di, j+dj
			}
		})
		return out, nil
	}
	var f func(p, q T) T
	switch op {
	case "add":
		f = func(p, q T) T { return p + q }
	case "sub":
		f = func(p, q T) T { return p - q }
	case "mul":
		f = func(p, q T) T { return p * q }
	case "div": // only for floats: binaryDType makes integer division a float one
		f = func(p, q T) T { return p / q }
	case "pow":
		if isFloat(a.DType) {
			f = func(p, q T) T { return T(math.Pow(float64(p), float64(q))) }
		} else {
			for _, q := range y {
				if q < 0 {
					return abi.Tensor{}, fmt.Errorf("tensor: integers to negative integer powers are not allowed (exponent %v): astype the base to a float first", q)
				}
			}
			f = ipow[T]
		}
	default:
		return abi.Tensor{}, fmt.Errorf("tensor: unknown binary operator %q (want one of %v or %v)", op, arithOps, compareOps)
	}
	out, z := alloc[T](shape)
	runs(shape, operands, func(_ []int, o, n int, offs, steps []int) {
		i, j, di, dj := offs[0], offs[1], steps[0], steps[1]
		if op != "pow" && (di == 1 || di == 0) && (dj == 1 || dj == 0) {
			arithRun(op, z[o:o+n], x[i:i+1+(n-1)*di], y[j:j+1+(n-1)*dj])
			return
		}
		if di == 1 && dj == 1 {
			xs, ys, zs := x[i:i+n], y[j:j+n], z[o:o+n]
			for k := range zs {
				zs[k] = f(xs[k], ys[k])
			}
			return
		}
		for k := o; k < o+n; k++ {
			z[k] = f(x[i], y[j])
			i, j = i+di, j+dj
		}
	})
	return out, nil
}

// arithRun computes zs = xs op ys for add, sub, mul and div, where xs and ys are as long as
// zs or hold one element that broadcasts. The operators are written out so that they
// compile to plain loops: a call through a function value per element is several times
// slower.
func arithRun[T number](op string, zs, xs, ys []T) {
	switch {
	case len(xs) == len(zs) && len(ys) == len(zs):
		xs, ys = xs[:len(zs)], ys[:len(zs)]
		switch op {
		case "add":
			for k := range zs {
				zs[k] = xs[k] + ys[k]
			}
		case "sub":
			for k := range zs {
				zs[k] = xs[k] - ys[k]
			}
		case "mul":
			for k := range zs {
				zs[k] = xs[k] * ys[k]
			}
		default:
			for k := range zs {
				zs[k] = xs[k] / ys[k]
			}
		}
	case len(ys) == 1 && len(xs) == len(zs):
		y := ys[0]
		xs = xs[:len(zs)]
		switch op {
		case "add":
			for k := range zs {
				zs[k] = xs[k] + y
			}
		case "sub":
			for k := range zs {
				zs[k] = xs[k] - y
			}
		case "mul":
			for k := range zs {
				zs[k] = xs[k] * y
			}
		default:
			for k := range zs {
				zs[k] = xs[k] / y
			}
		}
	default: // len(xs) == 1 (len(zs) == 1 falls in the cases above)
		x := xs[0]
		ys = ys[:len(zs)]
		switch op {
		case "add":
			for k := range zs {
				zs[k] = x + ys[k]
			}
		case "sub":
			for k := range zs {
				zs[k] = x - ys[k]
			}
		case "mul":
			for k := range zs {
				zs[k] = x * ys[k]
			}
		default:
			for k := range zs {
				zs[k] = x / ys[k]
			}
		}
	}
}

// ipow raises an integer to a non-negative integer power, wrapping on overflow like NumPy.
func ipow[T number](p, q T) T {
	r := T(1)
	for q > 0 {
		if uint64(q)&1 == 1 {
			r *= p
		}
		p *= p
		q = T(uint64(q) >> 1)
	}
	return r
}

// unaryDType returns the dtype of op applied to a tensor of dtype d.
func unaryDType(op string, d abi.DType) (abi.DType, error) {
	switch op {
	case "neg":
		if d == abi.Bool {
			return 0, fmt.Errorf("tensor: neg of a bool tensor is not supported (NumPy refuses it too): use eq with false, or astype first")
		}
		return d, nil
	case "abs":
		return d, nil
	case "sqrt", "exp", "log":
		return floatResult(d), nil
	}
	return 0, fmt.Errorf("tensor: unknown unary operator %q (want one of %v)", op, unaryOps)
}

// unary applies op elementwise to x.
func unary(op string, x abi.Tensor) (abi.Tensor, error) {
	d, err := unaryDType(op, x.DType)
	if err != nil {
		return abi.Tensor{}, err
	}
	x = cast(x, d)
	switch d {
	case abi.Bool: // abs
		return cast(x, abi.Bool), nil
	case abi.Int8:
		return unaryNum[int8](op, x), nil
	case abi.Int16:
		return unaryNum[int16](op, x), nil
	case abi.Int32:
		return unaryNum[int32](op, x), nil
	case abi.Int64:
		return unaryNum[int64](op, x), nil
	case abi.Uint8:
		return unaryNum[uint8](op, x), nil
	case abi.Uint16:
		return unaryNum[uint16](op, x), nil
	case abi.Uint32:
		return unaryNum[uint32](op, x), nil
	case abi.Uint64:
		return unaryNum[uint64](op, x), nil
	case abi.Float32:
		return unaryNum[float32](op, x), nil
	}
	return unaryNum[float64](op, x), nil
}

func unaryNum[T number](op string, x abi.Tensor) abi.Tensor {
	xs := view[T](x)
	out, z := alloc[T](x.Shape)
	switch op {
	case "neg":
		for i, v := range xs {
			z[i] = -v
		}
	case "abs":
		for i, v := range xs {
			if v < 0 {
				v = -v
			}
			z[i] = v
		}
	case "sqrt":
		for i, v := range xs {
			z[i] = T(math.Sqrt(float64(v)))
		}
	case "exp":
		for i, v := range xs {
			z[i] = T(math.Exp(float64(v)))
		}
	case "log":
		for i, v := range xs {
			z[i] = T(math.Log(float64(v)))
		}
	}
	return out
}

// where picks x where cond is true and y elsewhere, broadcasting all three.
func where(cond, x, y abi.Tensor) (abi.Tensor, error) {
	shape, err := broadcastShapes(cond.Shape, x.Shape, y.Shape)
	if err != nil {
		return abi.Tensor{}, err
	}
	d := promote(x.DType, y.DType)
	if err := checkSize(shape); err != nil {
		return abi.Tensor{}, err
	}
	c := bools(cast(cond, abi.Bool))
	x, y = cast(x, d), cast(y, d)
	size := d.Size()
	out := abi.Tensor{DType: d, Shape: shape, Data: make([]byte, product(shape)*size)}
	runs(shape, [][]int{cond.Shape, x.Shape, y.Shape}, func(_ []int, o, n int, offs, steps []int) {
		ci, xi, yi := offs[0], offs[1], offs[2]
		for k := o; k < o+n; k++ {
			src, at := y.Data, yi
			if c[ci] {
				src, at = x.Data, xi
			}
			copy(out.Data[k*size:(k+1)*size], src[at*size:(at+1)*size])
			ci, xi, yi = ci+steps[0], xi+steps[1], yi+steps[2]
		}
	})
	return out, nil
}

// binaryResult is the result of kernel op: add, sub, mul and div of two float tensors of one
// dtype of 64 KiB or more are computed straight into their result frame (a frameResult),
// which saves the copy abi.AppendTensor would make of every chunk; anything else is
// binaryOp's tensor.
func binaryResult(op string, a, b abi.Tensor) (any, error) {
	if op == "pow" || !slices.Contains(arithOps, op) || a.DType != b.DType || a.DType != abi.Float64 && a.DType != abi.Float32 {
		return binaryOp(op, a, b)
	}
	shape, err := broadcastShapes(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	frame, out, err := tensorFrame(a.DType, shape)
	if err != nil || frame == nil {
		return binaryOp(op, a, b)
	}
	if a.DType == abi.Float64 {
		arithInto[float64](op, out, a, b)
	} else {
		arithInto[float32](op, out, a, b)
	}
	return frameResult(frame), nil
}

// arithInto sets out = a op b for add, sub, mul and div, broadcasting; out's data is
// 8-aligned, so the typed view writes it in place.
func arithInto[T float32 | float64](op string, out, a, b abi.Tensor) {
	x, y, z := view[T](a), view[T](b), view[T](out)
	runs(out.Shape, [][]int{a.Shape, b.Shape}, func(_ []int, o, n int, offs, steps []int) {
		i, j, di, dj := offs[0], offs[1], steps[0], steps[1]
		if di <= 1 && dj <= 1 { // the last axis is contiguous or broadcast: always, for runs
			arithRun(op, z[o:o+n], x[i:i+1+(n-1)*di], y[j:j+1+(n-1)*dj])
			return
		}
		var f func(p, q T) T
		switch op {
		case "add":
			f = func(p, q T) T { return p + q }
		case "sub":
			f = func(p, q T) T { return p - q }
		case "mul":
			f = func(p, q T) T { return p * q }
		default:
			f = func(p, q T) T { return p / q }
		}
		for k := o; k < o+n; k++ {
			z[k] = f(x[i], y[j])
			i, j = i+di, j+dj
		}
	})
}
