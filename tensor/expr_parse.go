package tensor

import (
	"fmt"
	"math"
	"slices"

	"github.com/mrun-dev/mrun/abi"
)

// TargetChunkBytes is the most bytes a chunk of the default chunk shape holds: starting from
// the whole tensor, the planner halves the largest chunk dimension until a chunk fits.
const TargetChunkBytes = 1 << 20

// FanIn is the most partials one combine task of a reduction tree takes (and the most
// block products one addn task of a matmul sums).
const FanIn = 8

// node is one operator of a parsed expression, with its shape, dtype and chunking.
type node struct {
	op     string
	shape  []int
	dtype  abi.DType
	chunks [][]int // per axis, the sizes of its chunks
	in     []*node

	weak  bool       // a bare number in the expression: takes its dtype from the other operand
	value any        // full and weak scalars: the value
	lit   abi.Tensor // tensor: the value
	p     *params    // the operator's map, for creation chunks
	axes  []int      // reductions: reduced axes (sorted); transpose: the permutation
	keep  bool       // reductions: keepdims
	ddof  int        // var, std
	start []int      // slice: per axis, the source index of element 0
	step  []int      // slice: per axis, the step
}

var elementwiseOps = slices.Concat(arithOps, compareOps, unaryOps, []string{"where", "astype"})

// Operators of the expression language, for error messages.
var exprOps = slices.Concat([]string{"rand", "zeros", "ones", "full", "arange", "linspace", "tensor"},
	elementwiseOps, reduceOps, []string{"matmul", "transpose", "slice", "concatenate", "reshape", "rechunk"})

// parser turns a decoded expression into nodes.
type parser struct{}

func (ps *parser) parse(v any, path string) (*node, error) {
	switch x := v.(type) {
	case abi.Tensor:
		return ps.literal(x, nil, path)
	case int64, uint64, float64, bool:
		d := abi.Float64
		switch x.(type) {
		case int64:
			d = abi.Int64
		case uint64:
			d = abi.Uint64
		case bool:
			d = abi.Bool
		}
		return &node{op: "scalar", shape: []int{}, dtype: d, chunks: [][]int{}, weak: true, value: x}, nil
	case map[string]any:
	default:
		return nil, fmt.Errorf("tensor: %s must be an expression (a map), a tensor or a number, got %s", path, typeName(v))
	}
	p := newParams(path, v)
	op := p.str("op", "")
	if p.err != nil {
		return nil, p.err
	}
	if op == "" {
		return nil, fmt.Errorf("tensor: %s has no \"op\" (want one of %v)", path, exprOps)
	}
	p.what = fmt.Sprintf("%s (%s)", path, op)
	n, err := ps.parseOp(op, p, path)
	if err != nil {
		if _, ok := err.(*pathError); !ok {
			err = &pathError{path: p.what, err: err}
		}
		return nil, err
	}
	if p.has("chunks") && !slices.Contains([]string{"rand", "zeros", "ones", "full", "arange", "linspace", "tensor", "rechunk"}, op) {
		ch, err := parseChunks(p, n.shape)
		if err != nil {
			return nil, &pathError{path: p.what, err: err}
		}
		n = rechunk(n, ch)
	}
	if err := checkNode(n); err != nil {
		return nil, &pathError{path: p.what, err: err}
	}
	return n, nil
}

// MaxChunks is the most chunks one tensor of an expression may have.
const MaxChunks = 1 << 18

// checkNode reports a tensor that is too big as a whole (the ABI's 2^32-1 elements), has too
// many chunks, or too big a chunk.
func checkNode(n *node) error {
	total, count, biggest := uint64(1), uint64(1), uint64(1)
	for ax, c := range n.chunks {
		total *= uint64(n.shape[ax])
		if total > math.MaxUint32 {
			return fmt.Errorf("%s%v has over 2^32-1 elements", n.dtype, n.shape)
		}
		count *= uint64(len(c))
		if count > MaxChunks {
			return fmt.Errorf("%s%v would have over %d chunks: use bigger chunks", n.dtype, n.shape, MaxChunks)
		}
		biggest *= uint64(slices.Max(append([]int{0}, c...)))
	}
	if total > 0 && biggest > MaxChunkElements {
		return fmt.Errorf("%s%v has chunks of %d elements, over the limit of %d: use smaller chunks", n.dtype, n.shape, biggest, MaxChunkElements)
	}
	return nil
}

func (ps *parser) arg(p *params, key, path string) (*node, error) {
	v, ok := p.need(key)
	if !ok {
		return nil, p.err
	}
	return ps.parse(v, path+"."+key)
}

func (ps *parser) parseOp(op string, p *params, path string) (*node, error) {
	switch op {
	case "rand", "zeros", "ones", "full", "arange", "linspace":
		return ps.creation(op, p)
	case "tensor":
		v, _ := p.need("value")
		t, ok := v.(abi.Tensor)
		if p.err == nil && !ok {
			p.fail("field \"value\" must be a tensor, got %s", typeName(v))
		}
		if p.err != nil {
			return nil, p.err
		}
		return ps.literal(t, p, path)
	case "where":
		c, err := ps.arg(p, "cond", path)
		if err != nil {
			return nil, err
		}
		x, err := ps.arg(p, "x", path)
		if err != nil {
			return nil, err
		}
		y, err := ps.arg(p, "y", path)
		if err != nil {
			return nil, err
		}
		weakPair(x, y)
		if c.weak {
			c.dtype = abi.Bool
		}
		return elementwise(op, promote(x.dtype, y.dtype), c, x, y)
	case "astype":
		x, err := ps.arg(p, "x", path)
		if err != nil {
			return nil, err
		}
		d := p.dtype("dtype", 0)
		if p.err == nil && d == 0 {
			p.fail("field \"dtype\" is missing")
		}
		if p.err != nil {
			return nil, p.err
		}
		return elementwise(op, d, x)
	case "matmul":
		return ps.matmul(p, path)
	case "transpose", "reshape", "rechunk", "slice":
		x, err := ps.arg(p, "x", path)
		if err != nil {
			return nil, err
		}
		return ps.layout(op, x, p)
	case "concatenate":
		return ps.concatenate(p, path)
	}
	if slices.Contains(arithOps, op) || slices.Contains(compareOps, op) {
		x, err := ps.arg(p, "x", path)
		if err != nil {
			return nil, err
		}
		y, err := ps.arg(p, "y", path)
		if err != nil {
			return nil, err
		}
		weakPair(x, y)
		d, err := binaryDType(op, x.dtype, y.dtype)
		if err != nil {
			return nil, err
		}
		return elementwise(op, d, x, y)
	}
	if slices.Contains(unaryOps, op) {
		x, err := ps.arg(p, "x", path)
		if err != nil {
			return nil, err
		}
		d, err := unaryDType(op, x.dtype)
		if err != nil {
			return nil, err
		}
		return elementwise(op, d, x)
	}
	if slices.Contains(reduceOps, op) {
		x, err := ps.arg(p, "x", path)
		if err != nil {
			return nil, err
		}
		return ps.reduction(op, x, p)
	}
	return nil, fmt.Errorf("unknown op %q (want one of %v)", op, exprOps)
}

// weakPair gives a bare number the dtype NumPy 2 gives a Python scalar next to an array: the
// array's dtype when the number's kind fits it, else the default of the number's kind.
func weakPair(x, y *node) {
	if x.weak && !y.weak {
		x.dtype = weakDType(x.value, y.dtype)
	} else if y.weak && !x.weak {
		y.dtype = weakDType(y.value, x.dtype)
	}
}

func weakDType(v any, other abi.DType) abi.DType {
	switch v.(type) {
	case bool:
		return other
	case int64, uint64:
		if other == abi.Bool {
			return abi.Int64
		}
		return other
	}
	if isFloat(other) {
		return other
	}
	return abi.Float64
}

func (ps *parser) creation(op string, p *params) (*node, error) {
	n := &node{op: op, p: p, dtype: p.dtype("dtype", abi.Float64)}
	switch op {
	case "rand", "zeros", "ones", "full":
		n.shape = p.shape("shape")
		if op == "full" {
			n.value = p.scalar("value")
			if !p.has("dtype") {
				n.dtype = valueDType(n.value)
			}
		}
		if op == "rand" {
			p.needInt("seed")
			if p.err == nil && n.dtype != abi.Float64 && n.dtype != abi.Float32 {
				p.fail("rand makes float64 or float32 tensors, not %s", n.dtype)
			}
		}
	case "arange":
		start, stop, step := p.float("start", 0), p.float("stop", math.NaN()), p.float("step", 1)
		if p.err == nil && math.IsNaN(stop) {
			p.fail("field \"stop\" is missing")
		}
		if p.err == nil && step == 0 {
			p.fail("step must not be zero")
		}
		if !p.has("dtype") {
			n.dtype = abi.Int64
			for _, k := range []string{"start", "stop", "step"} {
				if v, ok := p.m[k]; ok {
					if _, isF := v.(float64); isF {
						n.dtype = abi.Float64
					}
				}
			}
		}
		length := math.Ceil((stop - start) / step)
		if p.err == nil && length > math.MaxUint32 {
			p.fail("arange from %v to %v by %v has over 2^32-1 elements", start, stop, step)
		}
		n.shape = []int{max(0, int(length))}
	case "linspace":
		p.float("start", 0)
		p.float("stop", 0)
		num := p.needInt("num")
		if p.err == nil && (num < 0 || num > math.MaxUint32) {
			p.fail("num must be between 0 and 2^32-1, got %d", num)
		}
		n.shape = []int{int(num)}
	}
	if p.err != nil {
		return nil, p.err
	}
	var err error
	if n.chunks, err = parseChunks(p, n.shape); err != nil {
		return nil, err
	}
	if n.chunks == nil {
		n.chunks = defaultChunks(n.shape, n.dtype)
	}
	if op == "zeros" || op == "ones" {
		n.op, n.value = "full", int64(0)
		if op == "ones" {
			n.value = int64(1)
		}
	}
	return n, nil
}

func (ps *parser) literal(t abi.Tensor, p *params, path string) (*node, error) {
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("%w", err)
	}
	n := &node{op: "tensor", shape: t.Shape, dtype: t.DType, lit: t}
	if p == nil {
		p = newParams(path, map[string]any{})
	}
	var err error
	if n.chunks, err = parseChunks(p, n.shape); err != nil {
		return nil, err
	}
	if n.chunks == nil {
		n.chunks = defaultChunks(n.shape, n.dtype)
	}
	return n, nil
}

// elementwise makes a node of an elementwise operator of dtype d over operands, rechunking
// operands whose chunks do not line up with the first one that spans each axis.
func elementwise(op string, d abi.DType, ins ...*node) (*node, error) {
	shapes := make([][]int, len(ins))
	for i, x := range ins {
		shapes[i] = x.shape
	}
	shape, err := broadcastShapes(shapes...)
	if err != nil {
		return nil, err
	}
	nd := len(shape)
	chunks := make([][]int, nd)
	for ax := range chunks {
		chunks[ax] = []int{shape[ax]}
		for _, x := range ins {
			xa := ax - (nd - len(x.shape))
			if xa >= 0 && x.shape[xa] == shape[ax] && shape[ax] != 1 {
				chunks[ax] = x.chunks[xa]
				break
			}
		}
		if shape[ax] == 0 {
			chunks[ax] = []int{}
		}
	}
	n := &node{op: op, shape: shape, dtype: d, chunks: chunks}
	for _, x := range ins {
		want := make([][]int, len(x.shape))
		for xa := range want {
			want[xa] = x.chunks[xa]
			if ax := xa + nd - len(x.shape); x.shape[xa] != 1 {
				want[xa] = chunks[ax]
			}
		}
		n.in = append(n.in, rechunk(x, want))
	}
	return n, nil
}

// rechunk returns x with the given chunks: x itself when it has them already.
func rechunk(x *node, chunks [][]int) *node {
	if equalChunks(x.chunks, chunks) {
		return x
	}
	start, step := make([]int, len(x.shape)), make([]int, len(x.shape))
	for ax := range step {
		step[ax] = 1
	}
	return &node{op: "rechunk", shape: x.shape, dtype: x.dtype, chunks: chunks, in: []*node{x}, start: start, step: step}
}

func equalChunks(a, b [][]int) bool {
	return slices.EqualFunc(a, b, func(x, y []int) bool { return slices.Equal(x, y) })
}

// parseAxes reads field "axis": null for every axis, an integer or an array of them,
// negative counting from the end. It returns the sorted axes.
func parseAxes(p *params, nd int) []int {
	axes := p.ints("axis", true)
	if !p.has("axis") {
		axes = make([]int, nd)
		for i := range axes {
			axes[i] = i
		}
		return axes
	}
	out := make([]int, 0, len(axes))
	for _, a := range axes {
		if a < -nd || a >= nd {
			p.fail("axis %d is out of bounds for a tensor of %d dimensions", a, nd)
			return nil
		}
		if a < 0 {
			a += nd
		}
		if slices.Contains(out, a) {
			p.fail("axis %d is repeated", a)
			return nil
		}
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

func (ps *parser) reduction(op string, x *node, p *params) (*node, error) {
	n := &node{op: op, in: []*node{x}, dtype: reduceDType(op, x.dtype)}
	n.axes = parseAxes(p, len(x.shape))
	n.keep = p.bool("keepdims", false)
	n.ddof = int(p.int("ddof", 0))
	if p.err == nil && product(x.shape) == 0 {
		p.fail("%s of an empty tensor (shape %v) is not supported", op, x.shape)
	}
	if p.err == nil && isArg(op) && len(n.axes) != 1 && len(n.axes) != len(x.shape) {
		p.fail("%s takes one axis or none, not %d", op, len(n.axes))
	}
	if p.err == nil && isArg(op) && n.keep && len(n.axes) != 1 && len(x.shape) > 1 {
		p.fail("%s with keepdims needs an axis", op)
	}
	if p.err != nil {
		return nil, p.err
	}
	for ax := range x.shape {
		switch {
		case !slices.Contains(n.axes, ax):
			n.shape = append(n.shape, x.shape[ax])
			n.chunks = append(n.chunks, x.chunks[ax])
		case n.keep:
			n.shape = append(n.shape, 1)
			n.chunks = append(n.chunks, []int{1})
		}
	}
	if n.shape == nil {
		n.shape, n.chunks = []int{}, [][]int{}
	}
	return n, nil
}

func (ps *parser) matmul(p *params, path string) (*node, error) {
	a, err := ps.arg(p, "x", path)
	if err != nil {
		return nil, err
	}
	b, err := ps.arg(p, "y", path)
	if err != nil {
		return nil, err
	}
	if len(a.shape) != 2 || len(b.shape) != 2 || a.shape[1] != b.shape[0] {
		return nil, fmt.Errorf("matmul needs matrices of shapes [m k] and [k n], got %v and %v", a.shape, b.shape)
	}
	d, err := matmulDType(a.dtype, b.dtype)
	if err != nil {
		return nil, err
	}
	if bc := [][]int{a.chunks[1], b.chunks[1]}; slices.Contains(creationOps, b.op) && !slices.EqualFunc(b.chunks, bc, slices.Equal) {
		// A creation is made in place in any chunks: no gather tasks.
		c := *b
		c.chunks = bc
		b = &c
	} else {
		b = rechunk(b, bc)
	}
	big := func(c []int) uint64 { return uint64(slices.Max(append([]int{0}, c...))) }
	if work := big(a.chunks[0]) * big(a.chunks[1]) * big(b.chunks[1]); work > MaxMatmulWork {
		return nil, fmt.Errorf("block products of %d × %d by %d × %d chunks are %d multiply-adds each, over the limit of %d: use smaller chunks", big(a.chunks[0]), big(a.chunks[1]), big(a.chunks[1]), big(b.chunks[1]), work, uint64(MaxMatmulWork))
	}
	return &node{op: "matmul", shape: []int{a.shape[0], b.shape[1]}, dtype: d,
		chunks: [][]int{a.chunks[0], b.chunks[1]}, in: []*node{a, b}}, nil
}

func (ps *parser) concatenate(p *params, path string) (*node, error) {
	v, _ := p.need("xs")
	list, ok := v.([]any)
	if p.err == nil && (!ok || len(list) == 0) {
		p.fail("field \"xs\" must be a non-empty array of expressions, got %s", typeName(v))
	}
	if p.err != nil {
		return nil, p.err
	}
	ins := make([]*node, len(list))
	for i, v := range list {
		var err error
		if ins[i], err = ps.parse(v, fmt.Sprintf("%s.xs[%d]", path, i)); err != nil {
			return nil, err
		}
	}
	first := ins[0]
	nd := len(first.shape)
	axis := int(p.int("axis", 0))
	if p.err == nil && (nd == 0 || axis < -nd || axis >= nd) {
		p.fail("axis %d is out of bounds for tensors of %d dimensions", axis, nd)
	}
	if p.err != nil {
		return nil, p.err
	}
	if axis < 0 {
		axis += nd
	}
	n := &node{op: "concatenate", dtype: first.dtype, shape: append([]int{}, first.shape...), axes: []int{axis}}
	n.shape[axis] = 0
	for i, x := range ins {
		n.dtype = promote(n.dtype, x.dtype)
		if len(x.shape) != nd {
			return nil, fmt.Errorf("concatenate of tensors of %d and %d dimensions (xs[%d] is %v)", nd, len(x.shape), i, x.shape)
		}
		for ax := range x.shape {
			if ax != axis && x.shape[ax] != first.shape[ax] {
				return nil, fmt.Errorf("concatenate along axis %d: xs[%d] has shape %v, xs[0] %v", axis, i, x.shape, first.shape)
			}
		}
		n.shape[axis] += x.shape[axis]
	}
	n.chunks = slices.Clone(first.chunks)
	n.chunks[axis] = nil
	for _, x := range ins {
		if x.dtype != n.dtype {
			x = &node{op: "astype", shape: x.shape, dtype: n.dtype, chunks: x.chunks, in: []*node{x}}
		}
		want := slices.Clone(first.chunks)
		want[axis] = x.chunks[axis]
		n.in = append(n.in, rechunk(x, want))
		n.chunks[axis] = append(n.chunks[axis], x.chunks[axis]...)
	}
	return n, nil
}

func (ps *parser) layout(op string, x *node, p *params) (*node, error) {
	nd := len(x.shape)
	switch op {
	case "rechunk":
		ch, err := parseChunks(p, x.shape)
		if err != nil {
			return nil, err
		}
		if ch == nil {
			ch = defaultChunks(x.shape, x.dtype)
		}
		return rechunk(x, ch), nil
	case "transpose":
		axes := p.ints("axes", false)
		if p.err != nil {
			return nil, p.err
		}
		if axes == nil {
			for ax := nd - 1; ax >= 0; ax-- {
				axes = append(axes, ax)
			}
		}
		for i, a := range axes {
			if a < 0 {
				axes[i] = a + nd
			}
		}
		if err := checkPerm(axes, nd); err != nil {
			return nil, err
		}
		n := &node{op: op, dtype: x.dtype, in: []*node{x}, axes: axes, shape: []int{}, chunks: [][]int{}}
		for _, a := range axes {
			n.shape = append(n.shape, x.shape[a])
			n.chunks = append(n.chunks, x.chunks[a])
		}
		return n, nil
	case "slice":
		return sliceNode(x, p)
	}
	return reshapeNode(x, p)
}

// sliceNode is basic slicing: field "index" holds one [start, stop, step] per leading axis,
// each entry null or an integer with Python's meaning.
func sliceNode(x *node, p *params) (*node, error) {
	v, _ := p.need("index")
	list, ok := v.([]any)
	if p.err == nil && !ok {
		p.fail("field \"index\" must be an array of [start, stop, step], got %s", typeName(v))
	}
	if p.err == nil && len(list) > len(x.shape) {
		p.fail("%d indices for a tensor of %d dimensions", len(list), len(x.shape))
	}
	if p.err != nil {
		return nil, p.err
	}
	nd := len(x.shape)
	n := &node{op: "slice", dtype: x.dtype, in: []*node{x}, shape: make([]int, nd), chunks: make([][]int, nd),
		start: make([]int, nd), step: make([]int, nd)}
	for ax := 0; ax < nd; ax++ {
		var sl []any
		if ax < len(list) {
			if sl, ok = list[ax].([]any); !ok || len(sl) > 3 {
				p.fail("index %d must be [start, stop, step] (entries may be null), got %s", ax, typeName(list[ax]))
				return nil, p.err
			}
		}
		get := func(i int) (int, bool) {
			if i >= len(sl) || sl[i] == nil {
				return 0, false
			}
			v, ok := asInt(sl[i])
			if !ok {
				p.fail("index %d: entry %d must be an integer or null, got %s", ax, i, typeName(sl[i]))
			}
			return int(v), true
		}
		start, hasStart := get(0)
		stop, hasStop := get(1)
		step, hasStep := get(2)
		if !hasStep {
			step = 1
		}
		if p.err == nil && step == 0 {
			p.fail("index %d: step must not be zero", ax)
		}
		if p.err != nil {
			return nil, p.err
		}
		dim := x.shape[ax]
		start, length := sliceIndices(dim, start, hasStart, stop, hasStop, step)
		n.shape[ax], n.start[ax], n.step[ax] = length, start, step
		// One output chunk per input chunk the slice touches, in the order the slice visits them.
		offs := offsets(x.chunks[ax])
		order := make([]int, len(x.chunks[ax]))
		for i := range order {
			order[i] = i
		}
		if step < 0 {
			slices.Reverse(order)
		}
		n.chunks[ax] = []int{}
		for _, c := range order {
			lo, hi := cover(offs[c], offs[c]+x.chunks[ax][c], start, step, length)
			if hi > lo {
				n.chunks[ax] = append(n.chunks[ax], hi-lo)
			}
		}
	}
	return n, nil
}

// sliceIndices is Python's slice.indices for a dimension of size dim: it returns the first
// index and the number of elements.
func sliceIndices(dim, start int, hasStart bool, stop int, hasStop bool, step int) (int, int) {
	clamp := func(i, lo, hi int) int { return min(max(i, lo), hi) }
	norm := func(i int, has bool, def, lo, hi int) int {
		if !has {
			return def
		}
		if i < 0 {
			i += dim
		}
		return clamp(i, lo, hi)
	}
	var length int
	if step > 0 {
		start = norm(start, hasStart, 0, 0, dim)
		stop = norm(stop, hasStop, dim, 0, dim)
		length = max(0, ceilDiv(stop-start, step))
	} else {
		start = norm(start, hasStart, dim-1, -1, dim-1)
		stop = norm(stop, hasStop, -1, -1, dim-1)
		length = max(0, ceilDiv(start-stop, -step))
	}
	return start, length
}

// cover returns the range [lo, hi) of output indices i < length whose source index
// start + step·i falls in [a, b).
func cover(a, b, start, step, length int) (int, int) {
	var lo, hi int
	if step > 0 {
		lo, hi = ceilDiv(a-start, step), ceilDiv(b-start, step)
	} else {
		lo, hi = floorDiv(start-b, -step)+1, floorDiv(start-a, -step)+1
	}
	return max(lo, 0), min(hi, length)
}

// offsets returns the start of each chunk along an axis.
func offsets(sizes []int) []int {
	out := make([]int, len(sizes))
	at := 0
	for i, s := range sizes {
		out[i] = at
		at += s
	}
	return out
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// reshapeNode reshapes chunk by chunk. That works when x is split along axis 0 only and
// every chunk holds whole rows of the result (its boundaries fall on multiples of the
// result's row size); otherwise the error says how to rechunk x.
func reshapeNode(x *node, p *params) (*node, error) {
	shape := p.ints("shape", true)
	if p.err != nil {
		return nil, p.err
	}
	infer := -1
	known := 1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			return nil, fmt.Errorf("tensor: reshape to %v: sizes must be non-negative, with at most one -1", shape)
		default:
			known *= d
		}
	}
	total := product(x.shape)
	if infer >= 0 && known > 0 && total%known == 0 {
		shape[infer] = total / known
	}
	if product(shape) != total || slices.Contains(shape, -1) {
		return nil, fmt.Errorf("tensor: cannot reshape %s%v of %d elements into shape %v", x.dtype, x.shape, total, shape)
	}
	n := &node{op: "reshape", dtype: x.dtype, shape: shape, in: []*node{x}, chunks: make([][]int, len(shape))}
	for ax := range shape {
		n.chunks[ax] = []int{shape[ax]}
	}
	split := false
	for ax := 1; ax < len(x.shape); ax++ {
		split = split || len(x.chunks[ax]) > 1
	}
	if len(x.shape) == 0 || len(shape) == 0 || total == 0 {
		if numChunks(x.chunks) > 1 {
			return nil, fmt.Errorf("tensor: cannot reshape %s%v in %d chunks into shape %v: rechunk it into one chunk first", x.dtype, x.shape, numChunks(x.chunks), shape)
		}
		return n, nil
	}
	rowIn, rowOut := product(x.shape[1:]), product(shape[1:])
	unit := rowOut / gcd(rowIn, rowOut) // input rows per whole group of output rows
	ok := !split
	var rows []int
	for _, c := range x.chunks[0] {
		if c%unit != 0 {
			ok = false
		}
		rows = append(rows, c*rowIn/rowOut)
	}
	if !ok {
		sug := append([]int{max(unit, x.chunks[0][0]/unit*unit)}, x.shape[1:]...)
		return nil, fmt.Errorf("tensor: cannot reshape %s%v in chunks %v into shape %v chunk by chunk: each chunk must be split along axis 0 only, in multiples of %d rows; rechunk it first, e.g. to %v", x.dtype, x.shape, chunkDesc(x.chunks), shape, unit, sug)
	}
	n.chunks[0] = rows
	return n, nil
}

func numChunks(ch [][]int) int {
	n := 1
	for _, c := range ch {
		n *= len(c)
	}
	return n
}

// chunkDesc describes chunks by their first size per axis: [1000 1000].
func chunkDesc(ch [][]int) []int {
	out := make([]int, len(ch))
	for ax, c := range ch {
		if len(c) > 0 {
			out[ax] = c[0]
		}
	}
	return out
}

// parseChunks reads field "chunks" for a tensor of the given shape: absent or null for the
// default chunks (about TargetChunkBytes each), an integer for that size along every axis,
// or one entry per axis: an integer size (-1 or null for the whole axis) or an array of the
// chunk sizes along it.
func parseChunks(p *params, shape []int) ([][]int, error) {
	v, ok := p.get("chunks")
	if p.err != nil {
		return nil, p.err
	}
	if !ok {
		return nil, nil // filled in by the caller's dtype: see defaultChunks
	}
	nd := len(shape)
	entries := make([]any, nd)
	if n, isInt := asInt(v); isInt {
		for i := range entries {
			entries[i] = n
		}
	} else if list, isList := v.([]any); isList && len(list) == nd {
		entries = list
	} else {
		return nil, fmt.Errorf("chunks must be an integer or an array of %d entries, got %s", nd, typeName(v))
	}
	out := make([][]int, nd)
	for ax, e := range entries {
		dim := shape[ax]
		if e == nil {
			out[ax] = uniform(dim, dim)
			continue
		}
		if n, isInt := asInt(e); isInt {
			if n == -1 {
				n = int64(dim)
			}
			if n <= 0 && dim > 0 {
				return nil, fmt.Errorf("chunk size %d of axis %d must be positive", n, ax)
			}
			if n > 0 && (int64(dim)+n-1)/n > MaxChunks {
				return nil, fmt.Errorf("chunk size %d splits axis %d of size %d into over %d chunks: use bigger chunks", n, ax, dim, MaxChunks)
			}
			out[ax] = uniform(dim, int(n))
			continue
		}
		sp := newParams(p.what, map[string]any{"chunks": e})
		if list, _ := e.([]any); len(list) > MaxChunks {
			return nil, fmt.Errorf("over %d chunks along axis %d", MaxChunks, ax)
		}
		sizes := sp.ints("chunks", false)
		if sp.err != nil {
			return nil, fmt.Errorf("chunks of axis %d must be a size or an array of sizes, got %s", ax, typeName(e))
		}
		sum := 0
		for _, s := range sizes {
			if s <= 0 {
				return nil, fmt.Errorf("chunk sizes %v of axis %d must be positive", sizes, ax)
			}
			sum += s
		}
		if sum != dim {
			return nil, fmt.Errorf("chunk sizes %v of axis %d add up to %d, not its size %d", sizes, ax, sum, dim)
		}
		out[ax] = sizes
	}
	return out, nil
}

// uniform splits dim into chunks of size c, the last one ragged.
func uniform(dim, c int) []int {
	out := []int{}
	if c <= 0 {
		c = dim
	}
	for at := 0; at < dim; at += c {
		out = append(out, min(c, dim-at))
	}
	return out
}

// defaultChunks splits shape into chunks of about TargetChunkBytes: starting from the whole
// tensor, it halves the largest chunk dimension until a chunk fits.
func defaultChunks(shape []int, d abi.DType) [][]int {
	size := append([]int{}, shape...)
	for {
		big, at := 1, -1
		for ax, s := range size {
			if s > big {
				big, at = s, ax
			}
		}
		if at < 0 || product(size)*d.Size() <= TargetChunkBytes {
			break
		}
		size[at] = (size[at] + 1) / 2
	}
	out := make([][]int, len(shape))
	for ax := range shape {
		out[ax] = uniform(shape[ax], size[ax])
	}
	return out
}
