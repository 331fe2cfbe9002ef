package tensor

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"unsafe"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/vmihailenco/msgpack/v5"
)

// ref is how the planner holds one chunk: the handle of the task that computes it, the chunk
// itself (cut from a literal), or a creation chunk's parameters, computed by whichever task
// uses it (so a rand chunk never travels between tasks).
type ref struct {
	h    uint32
	t    *abi.Tensor
	spec map[string]any
}

// handleArg encodes a handle (ABI.md section 5.1, ext type 2) in a spawn's argument frame:
// the engine gives the child the Object's value in its place.
type handleArg uint32

// EncodeMsgpack writes the handle as a fixext4 of type abi.ExtHandle.
func (h handleArg) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeExtHeader(abi.ExtHandle, 4); err != nil {
		return err
	}
	_, err := enc.Writer().Write(binary.BigEndian.AppendUint32(nil, uint32(h)))
	return err
}

func (r ref) arg() any {
	switch {
	case r.h != 0:
		return handleArg(r.h)
	case r.t != nil:
		return *r.t
	}
	return r.spec
}

// planner lowers an expression into chunk tasks spawned through a runtime.Nested.
type planner struct {
	n     runtime.Nested
	done  map[*node][]ref
	spawn int // tasks spawned
}

// task spawns kernel fn of this module with the given arguments and returns its chunk.
func (pl *planner) task(ctx context.Context, fn string, pos []any, kw map[string]any) (ref, error) {
	frame, err := abi.EncodeFrame(pos, kw)
	if err != nil {
		return ref{}, fmt.Errorf("tensor: encode the arguments of kernel %s: %w", fn, err)
	}
	h, err := pl.n.Spawn(ctx, ModuleName, fn, frame, 1, runtime.SpawnOptions{})
	if err != nil {
		return ref{}, fmt.Errorf("tensor: spawn kernel %s: %w", fn, err)
	}
	pl.spawn++
	return ref{h: h}, nil
}

// grid returns the number of chunks along each axis.
func grid(ch [][]int) []int {
	g := make([]int, len(ch))
	for ax, c := range ch {
		g[ax] = len(c)
	}
	return g
}

// positions calls f with each chunk position of a grid, in row-major order, and its flat
// index. f must not keep pos.
func positions(g []int, f func(pos []int, i int) error) error {
	if product(g) == 0 {
		return nil
	}
	pos := make([]int, len(g))
	for i := 0; ; i++ {
		if err := f(pos, i); err != nil {
			return err
		}
		ax := len(g) - 1
		for ; ax >= 0; ax-- {
			pos[ax]++
			if pos[ax] < g[ax] {
				break
			}
			pos[ax] = 0
		}
		if ax < 0 {
			return nil
		}
	}
}

// flat returns the row-major index of pos in grid g.
func flat(g, pos []int) int {
	i := 0
	for ax := range g {
		i = i*g[ax] + pos[ax]
	}
	return i
}

// box returns the offset and shape of the chunk at pos.
func box(ch [][]int, pos []int) (off, shape []int) {
	off, shape = make([]int, len(ch)), make([]int, len(ch))
	for ax, c := range ch {
		for _, s := range c[:pos[ax]] {
			off[ax] += s
		}
		shape[ax] = c[pos[ax]]
	}
	return off, shape
}

func (pl *planner) lower(ctx context.Context, n *node) ([]ref, error) {
	if r, ok := pl.done[n]; ok {
		return r, nil
	}
	var ins [][]ref
	for _, x := range n.in {
		r, err := pl.lower(ctx, x)
		if err != nil {
			return nil, err
		}
		ins = append(ins, r)
	}
	g := grid(n.chunks)
	out := make([]ref, product(g))
	var err error
	switch {
	case n.op == "scalar":
		t, err := scalarTensor(n.value, n.dtype)
		if err != nil {
			return nil, err
		}
		out[0] = ref{t: &t}
	case n.op == "tensor":
		err = positions(g, func(pos []int, i int) error {
			off, shape := box(n.chunks, pos)
			t, err := gather(n.dtype, shape, off, ones(len(shape)), []gatherPiece{{t: n.lit, off: zeros(len(shape))}})
			out[i] = ref{t: &t}
			return err
		})
	case slices.Contains(creationOps, n.op):
		err = positions(g, func(pos []int, i int) error {
			out[i] = ref{spec: n.chunkSpec(pos)}
			return nil
		})
	case slices.Contains(elementwiseOps, n.op):
		err = positions(g, func(pos []int, i int) error {
			args := make([]any, len(n.in))
			for k, x := range n.in {
				xpos := make([]int, len(x.shape))
				for xa := range xpos {
					if ax := xa + len(n.shape) - len(x.shape); x.shape[xa] != 1 {
						xpos[xa] = pos[ax]
					}
				}
				args[k] = ins[k][flat(grid(x.chunks), xpos)].arg()
			}
			var kw map[string]any
			if n.op == "astype" {
				kw = map[string]any{"dtype": n.dtype.String()}
			}
			out[i], err = pl.task(ctx, n.op, args, kw)
			return err
		})
	case n.op == "rechunk" || n.op == "slice":
		err = pl.lowerGather(ctx, n, ins[0], out)
	case n.op == "transpose":
		x := n.in[0]
		err = positions(g, func(pos []int, i int) error {
			xpos := make([]int, len(pos))
			for k, a := range n.axes {
				xpos[a] = pos[k]
			}
			out[i], err = pl.task(ctx, "transpose", []any{ins[0][flat(grid(x.chunks), xpos)].arg()}, map[string]any{"axes": n.axes})
			return err
		})
	case n.op == "reshape":
		err = positions(g, func(pos []int, i int) error {
			_, shape := box(n.chunks, pos)
			out[i], err = pl.task(ctx, "reshape", []any{ins[0][i].arg()}, map[string]any{"shape": shape})
			return err
		})
	case n.op == "concatenate":
		ax := n.axes[0]
		err = positions(g, func(pos []int, i int) error {
			k, p := 0, pos[ax]
			for p >= len(n.in[k].chunks[ax]) {
				p -= len(n.in[k].chunks[ax])
				k++
			}
			xpos := slices.Clone(pos)
			xpos[ax] = p
			out[i] = ins[k][flat(grid(n.in[k].chunks), xpos)]
			return nil
		})
	case n.op == "matmul":
		a, b := n.in[0], n.in[1]
		err = positions(g, func(pos []int, i int) error {
			// One matmul task per group of block products, accumulating them in place.
			var prods []ref
			for _, grp := range matmulGroups(a.chunks[0][pos[0]], a.chunks[1], b.chunks[1][pos[1]]) {
				var pairs []any
				for k := grp[0]; k < grp[1]; k++ {
					pa := ins[0][flat(grid(a.chunks), []int{pos[0], k})]
					pb := ins[1][flat(grid(b.chunks), []int{k, pos[1]})]
					pairs = append(pairs, pa.arg(), pb.arg())
				}
				p, err := pl.task(ctx, "matmul", pairs, nil)
				if err != nil {
					return err
				}
				prods = append(prods, p)
			}
			if len(prods) == 1 {
				out[i] = prods[0]
				return nil
			}
			out[i], err = pl.tree(prods, func(group []ref, _ bool) (ref, error) {
				return pl.task(ctx, "addn", args(group), nil)
			})
			return err
		})
	case slices.Contains(reduceOps, n.op):
		err = pl.lowerReduce(ctx, n, ins[0], out)
	default:
		err = fmt.Errorf("tensor: the planner has no lowering for op %q", n.op)
	}
	if err != nil {
		return nil, err
	}
	pl.done[n] = out
	return out, nil
}

func ones(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 1
	}
	return out
}

func zeros(n int) []int { return make([]int, n) }

func args(rs []ref) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = r.arg()
	}
	return out
}

// chunkSpec returns the parameters of the creation chunk at pos (see create).
func (n *node) chunkSpec(pos []int) map[string]any {
	off, shape := box(n.chunks, pos)
	m := map[string]any{"op": n.op, "shape": shape, "dtype": n.dtype.String()}
	switch n.op {
	case "rand":
		m["offset"], m["gshape"], m["seed"] = off, n.shape, n.p.int("seed", 0)
	case "full":
		m["value"] = n.value
	case "arange":
		m["offset"] = off[0]
		for _, k := range []string{"start", "step"} {
			if v, ok := n.p.m[k]; ok {
				m[k] = v
			}
		}
	case "linspace":
		m["offset"] = off[0]
		for _, k := range []string{"start", "stop", "num", "endpoint"} {
			if v, ok := n.p.m[k]; ok {
				m[k] = v
			}
		}
	}
	return m
}

// tree combines refs in a tree of fan-in at most FanIn: one call of level per group, the
// last (final) call taking every remaining ref.
func (pl *planner) tree(refs []ref, level func(group []ref, final bool) (ref, error)) (ref, error) {
	for len(refs) > FanIn {
		groups := (len(refs) + FanIn - 1) / FanIn
		next := make([]ref, groups)
		for gi := range next {
			lo, hi := gi*len(refs)/groups, (gi+1)*len(refs)/groups
			var err error
			if next[gi], err = level(refs[lo:hi], false); err != nil {
				return ref{}, err
			}
		}
		refs = next
	}
	return level(refs, true)
}

// lowerGather makes each chunk of a rechunk or a slice from the input chunks it overlaps.
func (pl *planner) lowerGather(ctx context.Context, n *node, in []ref, out []ref) error {
	x := n.in[0]
	xoffs := make([][]int, len(x.chunks))
	for ax, c := range x.chunks {
		xoffs[ax] = offsets(c)
	}
	return positions(grid(n.chunks), func(pos []int, i int) error {
		off, shape := box(n.chunks, pos)
		start := make([]int, len(pos))
		// The input chunks each axis needs: those holding a source index of the chunk.
		need := make([][]int, len(pos))
		for ax := range pos {
			start[ax] = n.start[ax] + n.step[ax]*off[ax]
			// The chunks between the ones holding the first and the last source index; with
			// a step over 1 some of them may hold none.
			last := start[ax] + n.step[ax]*(shape[ax]-1)
			first, final := chunkOf(xoffs[ax], min(start[ax], last)), chunkOf(xoffs[ax], max(start[ax], last))
			for c := first; c <= final; c++ {
				o := xoffs[ax][c]
				if lo, hi := cover(o, o+x.chunks[ax][c], start[ax], n.step[ax], shape[ax]); hi > lo {
					need[ax] = append(need[ax], c)
				}
			}
		}
		var pieces []any
		var poffs []any
		single := true
		err := positions(lens(need), func(k []int, _ int) error {
			xpos := make([]int, len(k))
			for ax := range k {
				xpos[ax] = need[ax][k[ax]]
			}
			xoff, xshape := box(x.chunks, xpos)
			single = single && slices.Equal(xoff, start) && slices.Equal(xshape, shape)
			pieces = append(pieces, in[flat(grid(x.chunks), xpos)].arg())
			poffs = append(poffs, xoff)
			return nil
		})
		if err != nil {
			return err
		}
		if len(pieces) == 1 && single && !slices.ContainsFunc(n.step, func(s int) bool { return s != 1 }) {
			out[i] = in[flat(grid(x.chunks), firstPos(need))]
			return nil
		}
		out[i], err = pl.task(ctx, "gather", pieces, map[string]any{
			"shape": shape, "start": start, "step": n.step, "offsets": poffs})
		return err
	})
}

// chunkOf returns the chunk holding index i, given the chunks' offsets.
func chunkOf(offs []int, i int) int {
	return sort.Search(len(offs), func(c int) bool { return c+1 == len(offs) || offs[c+1] > i })
}

func lens(need [][]int) []int {
	g := make([]int, len(need))
	for ax, c := range need {
		g[ax] = len(c)
	}
	return g
}

func firstPos(need [][]int) []int {
	p := make([]int, len(need))
	for ax, c := range need {
		p[ax] = c[0]
	}
	return p
}

// lowerReduce spawns one reduce task per input chunk and, for each output chunk, a tree of
// combine tasks over the partials of the input chunks it gathers.
func (pl *planner) lowerReduce(ctx context.Context, n *node, in []ref, out []ref) error {
	x := n.in[0]
	xg := grid(x.chunks)
	kw := func(final bool) map[string]any {
		return map[string]any{"op": n.op, "axes": n.axes, "dtype": x.dtype.String(), "ddof": n.ddof,
			"keepdims": n.keep, "final": final, "gshape": x.shape}
	}
	// Group the input chunks by the output chunk they reduce into.
	groups := make([][]int, len(out))
	og := grid(n.chunks)
	err := positions(xg, func(pos []int, i int) error {
		opos := []int{}
		for ax, p := range pos {
			switch {
			case !slices.Contains(n.axes, ax):
				opos = append(opos, p)
			case n.keep:
				opos = append(opos, 0)
			}
		}
		o := flat(og, opos)
		groups[o] = append(groups[o], i)
		return nil
	})
	if err != nil {
		return err
	}
	for o, group := range groups {
		parts := make([]ref, len(group))
		for k, i := range group {
			xpos := unflat(xg, i)
			off, _ := box(x.chunks, xpos)
			m := kw(len(group) == 1)
			m["offset"] = off
			if parts[k], err = pl.task(ctx, "reduce", []any{in[i].arg()}, m); err != nil {
				return err
			}
		}
		if len(group) == 1 {
			out[o] = parts[0]
			continue
		}
		if out[o], err = pl.tree(parts, func(g []ref, final bool) (ref, error) {
			return pl.task(ctx, "combine", args(g), kw(final))
		}); err != nil {
			return err
		}
	}
	return nil
}

func unflat(g []int, i int) []int {
	pos := make([]int, len(g))
	for ax := len(g) - 1; ax >= 0; ax-- {
		pos[ax] = i % g[ax]
		i /= g[ax]
	}
	return pos
}

// errNoEngine is returned by eval when it runs outside an engine.
var errNoEngine = errors.New("tensor: eval spawns chunk tasks, so it must run as a task of an engine (spawn mrun:tensor eval), not as a bare call")

// evalFunc is the planner: its one positional argument is an expression; it returns the
// value (a tensor, or a scalar for a 0-dimensional result).
func evalFunc(ctx context.Context, args []byte) ([]byte, error) {
	if !littleEndian {
		return nil, errBigEndian
	}
	n, ok := runtime.NestedFrom(ctx)
	if !ok {
		return nil, errNoEngine
	}
	pos, _, err := decodeFrame(args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 {
		return nil, fmt.Errorf("tensor: eval takes one expression, got %d arguments", len(pos))
	}
	root, pieces, _, err := evalPieces(ctx, n, pos[0])
	if err != nil {
		return nil, err
	}
	if len(root.shape) == 0 || len(pieces) == 1 && slices.Equal(pieces[0].t.Shape, root.shape) {
		return encodeValue(pieces[0].t)
	}
	frame, out, err := tensorFrame(root.dtype, root.shape)
	if err != nil {
		return nil, err
	}
	if frame == nil { // small: gather, then encode
		t, err := gather(root.dtype, root.shape, zeros(len(root.shape)), ones(len(root.shape)), pieces)
		if err != nil {
			return nil, err
		}
		return encodeValue(t)
	}
	// Gather the chunks straight into the result frame: a result may be hundreds of MB, and
	// a separate copy for the encoding would cost as much again.
	if err := gatherInto(out, zeros(len(root.shape)), ones(len(root.shape)), pieces); err != nil {
		return nil, err
	}
	return frame, nil
}

// tensorFrame returns the encoding of a tensor of dtype d and shape (abi.AppendTensor's
// bytes), with its elements zero, and the tensor whose Data is the elements' part of it.
// It returns a nil frame for a tensor of less than 64 KiB, which is simply encoded.
func tensorFrame(d abi.DType, shape []int) ([]byte, abi.Tensor, error) {
	if err := checkSize(shape); err != nil {
		return nil, abi.Tensor{}, err
	}
	n := product(shape) * d.Size()
	payload := 8 + 8*len(shape) + n // header: dtype, ndim, 6 zero bytes; then the shape
	if payload <= math.MaxUint16 {
		return nil, abi.Tensor{}, nil
	}
	if uint64(payload) > math.MaxUint32 {
		return nil, abi.Tensor{}, fmt.Errorf("tensor: result of %d bytes is over the 4 GiB one value holds: evaluate it in slices", payload)
	}
	// ext 32: 0xc9, the payload's length (big-endian), the extension type. The frame starts 2
	// bytes into 8-aligned memory, so that its elements (after 14 + 8·ndim bytes of headers)
	// are 8-aligned and kernels can write them through a typed view.
	words := make([]uint64, (2+6+payload+7)/8)
	frame := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)[2 : 2+6+payload : 2+6+payload]
	frame[0] = 0xc9
	binary.BigEndian.PutUint32(frame[1:5], uint32(payload))
	frame[5] = byte(abi.ExtTensor)
	frame[6], frame[7] = byte(d), byte(len(shape))
	for i, s := range shape {
		binary.LittleEndian.PutUint64(frame[14+8*i:], uint64(s))
	}
	data := frame[6+8+8*len(shape):]
	return frame, abi.Tensor{DType: d, Shape: shape, Data: data}, nil
}

// eval plans expression v, runs its chunk tasks through n and assembles the result. It also
// returns how many tasks it spawned.
func eval(ctx context.Context, n runtime.Nested, v any) (abi.Tensor, int, error) {
	root, pieces, spawned, err := evalPieces(ctx, n, v)
	if err != nil {
		return abi.Tensor{}, spawned, err
	}
	if len(pieces) == 1 && slices.Equal(pieces[0].t.Shape, root.shape) {
		return pieces[0].t, spawned, nil
	}
	t, err := gather(root.dtype, root.shape, zeros(len(root.shape)), ones(len(root.shape)), pieces)
	return t, spawned, err
}

// evalPieces plans expression v, runs its chunk tasks through n and returns the result's
// node and chunks, and how many tasks it spawned.
func evalPieces(ctx context.Context, n runtime.Nested, v any) (*node, []gatherPiece, int, error) {
	root, err := (&parser{}).parse(v, "expression")
	if err != nil {
		return nil, nil, 0, err
	}
	pl := &planner{n: n, done: map[*node][]ref{}}
	refs, err := pl.lower(ctx, root)
	if err != nil {
		return nil, nil, pl.spawn, err
	}
	var handles []uint32
	for i, r := range refs {
		if r.spec != nil { // the result is a creation chunk: compute it in a task of its own
			if refs[i], err = pl.task(ctx, r.spec["op"].(string), nil, r.spec); err != nil {
				return nil, nil, pl.spawn, err
			}
		}
		if refs[i].h != 0 {
			handles = append(handles, refs[i].h)
		}
	}
	if len(handles) > 0 {
		if _, err := n.Execute(ctx, handles); err != nil {
			return nil, nil, pl.spawn, fmt.Errorf("tensor: execute %d chunk tasks: %w", pl.spawn, err)
		}
	}
	g := grid(root.chunks)
	pieces := make([]gatherPiece, len(refs))
	err = positions(g, func(pos []int, i int) error {
		off, _ := box(root.chunks, pos)
		t := refs[i].t
		if t == nil {
			b, err := n.Fetch(ctx, refs[i].h)
			if err != nil {
				return fmt.Errorf("tensor: chunk %v of the result: %w", pos, err)
			}
			var c abi.Tensor
			if err := abi.Unmarshal(b, &c); err != nil {
				return fmt.Errorf("tensor: chunk %v of the result is not a tensor: %w", pos, err)
			}
			t = &c
		}
		pieces[i] = gatherPiece{t: *t, off: off}
		return nil
	})
	if err != nil {
		return nil, nil, pl.spawn, err
	}
	return root, pieces, pl.spawn, nil
}

// encodeValue encodes a result: a 0-dimensional tensor as a MessagePack scalar, anything
// else as a tensor.
func encodeValue(t abi.Tensor) ([]byte, error) {
	if len(t.Shape) > 0 {
		return abi.AppendTensor(nil, t)
	}
	var v any
	switch t.DType {
	case abi.Float32:
		v = math.Float32frombits(binary.LittleEndian.Uint32(t.Data))
	case abi.Float64:
		v = math.Float64frombits(binary.LittleEndian.Uint64(t.Data))
	case abi.Bool:
		v = t.Data[0] != 0
	default:
		if isUnsigned(t.DType) {
			v = view[uint64](cast(t, abi.Uint64))[0]
		} else {
			v = view[int64](cast(t, abi.Int64))[0]
		}
	}
	return msgpack.Marshal(v)
}
