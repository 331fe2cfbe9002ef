package tensor

import (
	"fmt"

	"github.com/mrun-dev/mrun/abi"
)

// creationOps are the operators that make a tensor from nothing; one chunk of each is a pure
// function of its parameters, so the planner may compute it inside the task that uses it.
var creationOps = []string{"rand", "full", "arange", "linspace"}

// mix is SplitMix64's output function: a bijection of uint64 with good avalanche.
func mix(x uint64) uint64 {
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

const golden = 0x9e3779b97f4a7c15

// randBits returns the random bits of element g (its row-major index in the whole tensor)
// of the tensor seeded with seed: element g of a SplitMix64 stream. Each element depends
// only on (seed, g), never on how the tensor is chunked.
func randBits(seed int64, g uint64) uint64 {
	return mix(mix(uint64(seed)+golden) + (g+1)*golden)
}

// create computes one chunk of a creation operator. p holds the chunk's parameters:
//
//	rand:     shape, offset, gshape (the whole tensor's shape), seed, dtype (float64 or float32)
//	full:     shape, value, dtype
//	arange:   shape (one axis), offset, start, step, dtype
//	linspace: shape (one axis), offset, start, stop, num, endpoint, dtype
func create(op string, p *params) (abi.Tensor, error) {
	shape := p.shape("shape")
	d := p.dtype("dtype", abi.Float64)
	if p.err != nil {
		return abi.Tensor{}, p.err
	}
	if err := checkSize(shape); err != nil {
		return abi.Tensor{}, err
	}
	switch op {
	case "full":
		v := p.scalar("value")
		if p.err != nil {
			return abi.Tensor{}, p.err
		}
		if !p.has("dtype") {
			d = valueDType(v)
		}
		one, err := scalarTensor(v, d)
		if err != nil {
			return abi.Tensor{}, err
		}
		n := product(shape)
		t := abi.Tensor{DType: d, Shape: shape, Data: make([]byte, n*d.Size())}
		for i := 0; i < n; i++ {
			copy(t.Data[i*d.Size():], one.Data)
		}
		return t, nil
	case "rand":
		off, gshape, seed := p.ints("offset", false), p.shape("gshape"), p.needInt("seed")
		if p.err != nil {
			return abi.Tensor{}, p.err
		}
		if len(off) != len(shape) || len(gshape) != len(shape) {
			return abi.Tensor{}, fmt.Errorf("tensor: rand chunk of shape %v needs an offset and a gshape of %d axes, got %v and %v", shape, len(shape), off, gshape)
		}
		switch d {
		case abi.Float64:
			return randChunk[float64](shape, off, gshape, seed), nil
		case abi.Float32:
			return randChunk[float32](shape, off, gshape, seed), nil
		}
		return abi.Tensor{}, fmt.Errorf("tensor: rand makes float64 or float32 tensors, not %s", d)
	case "arange", "linspace":
		if len(shape) != 1 {
			return abi.Tensor{}, fmt.Errorf("tensor: %s makes one-dimensional tensors, not shape %v", op, shape)
		}
		off := p.int("offset", 0)
		start := p.float("start", 0)
		var at func(i int64) float64
		if op == "arange" {
			step := p.float("step", 1)
			if isInt(d) && p.err == nil { // exact integer arithmetic, as NumPy does for integers
				s, st := p.int("start", 0), p.int("step", 1)
				if p.err == nil {
					out, xs := alloc[int64](shape)
					for i := range xs {
						xs[i] = s + (off+int64(i))*st
					}
					return cast(out, d), nil
				}
				p.err = nil
			}
			at = func(i int64) float64 { return start + float64(i)*step }
		} else {
			stop, num, endpoint := p.float("stop", 0), p.needInt("num"), p.bool("endpoint", true)
			div := num
			if endpoint {
				div = num - 1
			}
			step := 0.0
			if div > 0 {
				step = (stop - start) / float64(div)
			}
			at = func(i int64) float64 {
				if endpoint && i == num-1 && num > 1 {
					return stop
				}
				return start + float64(i)*step
			}
		}
		if p.err != nil {
			return abi.Tensor{}, p.err
		}
		out, xs := alloc[float64](shape)
		for i := range xs {
			xs[i] = at(off + int64(i))
		}
		return cast(out, d), nil
	}
	return abi.Tensor{}, fmt.Errorf("tensor: unknown creation operator %q (want one of %v)", op, creationOps)
}

// randChunk makes a chunk of rand: float64s take the top 53 random bits, float32s the top 24,
// as a fraction of 2^53 or 2^24, so every value is in [0, 1).
// valueDType is the dtype full gives a value when none is named: int64 for an integer,
// uint64 for one above 2^63-1, bool for a bool, float64 for a float.
func valueDType(v any) abi.DType {
	switch v.(type) {
	case int64:
		return abi.Int64
	case uint64:
		return abi.Uint64
	case bool:
		return abi.Bool
	}
	return abi.Float64
}

func randChunk[T float32 | float64](shape, off, gshape []int, seed int64) abi.Tensor {
	var zero T
	_, f32 := any(zero).(float32)
	out, xs := alloc[T](shape)
	gstride := make([]int, len(gshape))
	acc := 1
	for ax := len(gshape) - 1; ax >= 0; ax-- {
		gstride[ax] = acc
		acc *= gshape[ax]
	}
	base := mix(uint64(seed) + golden) // randBits, with the seed's part hoisted out of the loop
	runs(shape, nil, func(idx []int, o, n int, _, _ []int) {
		g := 0
		for ax := range idx {
			g += (off[ax] + idx[ax]) * gstride[ax]
		}
		x := base + uint64(g+1)*golden
		out := xs[o : o+n]
		if f32 {
			for k := range out {
				out[k] = T(float32(mix(x)>>40) * 0x1p-24)
				x += golden
			}
			return
		}
		for k := range out {
			out[k] = T(float64(mix(x)>>11) * 0x1p-53)
			x += golden
		}
	})
	return out
}
