package tensor

import (
	"context"
	"fmt"
	"slices"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/vmihailenco/msgpack/v5"
)

// ModuleName is the name the module is registered under; guests and graph files spawn its
// functions with it.
const ModuleName = "mrun:tensor"

// Version is the module's version, part of its identity: task keys change when it does, so
// cached chunks from an older planner or kernels are never reused.
const Version = "2"

// Module returns the native module "mrun:tensor": the planner (function eval) and the
// kernels, each computing one chunk.
func Module() runtime.NativeModule {
	funcs := map[string]runtime.NativeFunc{
		"eval":      evalFunc,
		"where":     kernel(kWhere),
		"astype":    kernel(kAstype),
		"gather":    kernel(kGather),
		"reshape":   kernel(kReshape),
		"matmul":    kernel(kMatmul),
		"addn":      kernel(kAddn),
		"reduce":    kernel(kReduce),
		"combine":   kernel(kCombine),
		"transpose": kernel(kTranspose),
	}
	for _, op := range creationOps {
		funcs[op] = kernel(func(_ context.Context, _ []any, kw *params) (any, error) { return create(op, kw) })
	}
	for _, op := range slices.Concat(arithOps, compareOps) {
		funcs[op] = kernel(func(_ context.Context, pos []any, _ *params) (any, error) {
			ts, err := tensorArgs(op, pos, 2, 2)
			if err != nil {
				return nil, err
			}
			return binaryResult(op, ts[0], ts[1])
		})
	}
	for _, op := range unaryOps {
		funcs[op] = kernel(func(_ context.Context, pos []any, _ *params) (any, error) {
			ts, err := tensorArgs(op, pos, 1, 1)
			if err != nil {
				return nil, err
			}
			return unary(op, ts[0])
		})
	}
	return runtime.NativeModule{Name: ModuleName, Version: Version, Funcs: funcs}
}

// Register loads Module into rt (cmd/mrun and embedders call it).
func Register(ctx context.Context, rt *runtime.Runtime) (*runtime.Module, error) {
	m, err := rt.LoadNative(ctx, Module())
	if err != nil {
		return nil, fmt.Errorf("tensor: register %s: %w", ModuleName, err)
	}
	return m, nil
}

// kernel adapts a kernel to a NativeFunc: it decodes the argument frame [positional,
// keyword] and encodes the result, a tensor or a partial ([]abi.Tensor).
func kernel(f func(ctx context.Context, pos []any, kw *params) (any, error)) runtime.NativeFunc {
	return func(ctx context.Context, args []byte) ([]byte, error) {
		if !littleEndian {
			return nil, errBigEndian
		}
		pos, kw, err := decodeFrame(args)
		if err != nil {
			return nil, err
		}
		v, err := f(ctx, pos, kw)
		if err != nil {
			return nil, err
		}
		return encodeResult(v)
	}
}

// decodeFrame splits an argument frame (ABI.md section 3) into its positional arguments
// and its keyword arguments.
func decodeFrame(args []byte) ([]any, *params, error) {
	v, err := abi.Decode(args)
	if err != nil {
		return nil, nil, fmt.Errorf("tensor: argument frame: %w", err)
	}
	frame, ok := v.([]any)
	if !ok || len(frame) != 2 {
		return nil, nil, fmt.Errorf("tensor: argument frame must be [positional, keyword], got %s", typeName(v))
	}
	pos, ok := frame[0].([]any)
	if !ok {
		return nil, nil, fmt.Errorf("tensor: positional arguments must be an array, got %s", typeName(frame[0]))
	}
	kw := newParams("keyword arguments", frame[1])
	return pos, kw, kw.err
}

// frameResult is a kernel's result already encoded, written in place by the kernel.
type frameResult []byte

func encodeResult(v any) ([]byte, error) {
	switch x := v.(type) {
	case frameResult:
		return x, nil
	case abi.Tensor:
		return abi.AppendTensor(nil, x)
	case []abi.Tensor:
		out := appendArrayHeader(nil, len(x))
		for _, t := range x {
			var err error
			if out, err = abi.AppendTensor(out, t); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return msgpack.Marshal(v)
}

func appendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n < 1<<16:
		return append(dst, 0xdc, byte(n>>8), byte(n))
	}
	return append(dst, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// tensorArg returns argument v as a tensor: a tensor value, or a creation chunk (a map
// {"op": "rand", …} of create's parameters) computed here.
func tensorArg(v any) (abi.Tensor, error) {
	switch x := v.(type) {
	case abi.Tensor:
		return x, nil
	case map[string]any:
		p := newParams("creation chunk", x)
		op := p.str("op", "")
		if p.err != nil {
			return abi.Tensor{}, p.err
		}
		if !slices.Contains(creationOps, op) {
			return abi.Tensor{}, fmt.Errorf("tensor: creation chunk has op %q, want one of %v", op, creationOps)
		}
		return create(op, p)
	}
	return abi.Tensor{}, fmt.Errorf("tensor: argument must be a tensor or a creation chunk, got %s", typeName(v))
}

// tensorArgs returns the positional arguments of kernel fn as tensors, checking there are
// between lo and hi of them (hi < 0: no limit).
func tensorArgs(fn string, pos []any, lo, hi int) ([]abi.Tensor, error) {
	if len(pos) < lo || hi >= 0 && len(pos) > hi {
		want := fmt.Sprint(lo)
		if hi != lo {
			want = fmt.Sprintf("%d or more", lo)
		}
		return nil, fmt.Errorf("tensor: kernel %s takes %s tensors, got %d arguments", fn, want, len(pos))
	}
	ts := make([]abi.Tensor, len(pos))
	for i, v := range pos {
		var err error
		if ts[i], err = tensorArg(v); err != nil {
			return nil, fmt.Errorf("tensor: kernel %s, argument %d: %w", fn, i, err)
		}
	}
	return ts, nil
}

func kWhere(_ context.Context, pos []any, _ *params) (any, error) {
	ts, err := tensorArgs("where", pos, 3, 3)
	if err != nil {
		return nil, err
	}
	return where(ts[0], ts[1], ts[2])
}

func kAstype(_ context.Context, pos []any, kw *params) (any, error) {
	ts, err := tensorArgs("astype", pos, 1, 1)
	if err != nil {
		return nil, err
	}
	d := kw.dtype("dtype", 0)
	if kw.err == nil && d == 0 {
		kw.fail("field %q is missing", "dtype")
	}
	if kw.err != nil {
		return nil, kw.err
	}
	return cast(ts[0], d), nil
}

func kTranspose(_ context.Context, pos []any, kw *params) (any, error) {
	ts, err := tensorArgs("transpose", pos, 1, 1)
	if err != nil {
		return nil, err
	}
	axes := kw.ints("axes", false)
	if kw.err != nil {
		return nil, kw.err
	}
	return transpose(ts[0], axes)
}

func kReshape(_ context.Context, pos []any, kw *params) (any, error) {
	ts, err := tensorArgs("reshape", pos, 1, 1)
	if err != nil {
		return nil, err
	}
	shape := kw.shape("shape")
	if kw.err != nil {
		return nil, kw.err
	}
	return reshape(ts[0], shape)
}

func kMatmul(ctx context.Context, pos []any, _ *params) (any, error) {
	ts, err := tensorArgs("matmul", pos, 2, 2*FanIn)
	if err != nil {
		return nil, err
	}
	return matmulSum(ctx, ts)
}

func kAddn(_ context.Context, pos []any, _ *params) (any, error) {
	ts, err := tensorArgs("addn", pos, 1, -1)
	if err != nil {
		return nil, err
	}
	return addAll(ts)
}

// kGather: positional arguments are the pieces; keyword arguments shape, start, step (one
// entry per axis), offsets (one array per piece) and dtype.
func kGather(_ context.Context, pos []any, kw *params) (any, error) {
	ts, err := tensorArgs("gather", pos, 1, -1)
	if err != nil {
		return nil, err
	}
	shape, start, step := kw.shape("shape"), kw.ints("start", false), kw.ints("step", false)
	offs, _ := kw.need("offsets")
	if kw.err != nil {
		return nil, kw.err
	}
	list, ok := offs.([]any)
	if !ok || len(list) != len(ts) {
		return nil, fmt.Errorf("tensor: kernel gather needs one offset per piece (%d), got %s", len(ts), typeName(offs))
	}
	pieces := make([]gatherPiece, len(ts))
	for i, t := range ts {
		p := newParams("gather offsets", map[string]any{"o": list[i]})
		pieces[i] = gatherPiece{t: t, off: p.ints("o", false)}
		if p.err != nil {
			return nil, p.err
		}
	}
	return gather(ts[0].DType, shape, start, step, pieces)
}

// reduceParams reads the keyword arguments of reduce and combine: op, axes, offset, gshape,
// dtype (the input's), ddof, keepdims and final.
func reduceParams(kw *params) (*reduceSpec, bool, error) {
	r := &reduceSpec{
		op:       kw.str("op", ""),
		axes:     kw.ints("axes", false),
		off:      kw.ints("offset", false),
		gshape:   kw.ints("gshape", false),
		in:       kw.dtype("dtype", abi.Float64),
		ddof:     int(kw.int("ddof", 0)),
		keepdims: kw.bool("keepdims", false),
	}
	final := kw.bool("final", false)
	if kw.err == nil && !slices.Contains(reduceOps, r.op) {
		kw.fail("unknown reduction %q (want one of %v)", r.op, reduceOps)
	}
	return r, final, kw.err
}

// kReduce: the partial of one chunk (positional: the chunk), or its result when final.
func kReduce(_ context.Context, pos []any, kw *params) (any, error) {
	ts, err := tensorArgs("reduce", pos, 1, 1)
	if err != nil {
		return nil, err
	}
	r, final, err := reduceParams(kw)
	if err != nil {
		return nil, err
	}
	r.in = ts[0].DType
	part, err := partial(r, ts[0])
	if err != nil || !final {
		return part, err
	}
	return finish(r, part)
}

// kCombine: positional arguments are partials (arrays of tensors).
func kCombine(_ context.Context, pos []any, kw *params) (any, error) {
	r, final, err := reduceParams(kw)
	if err != nil {
		return nil, err
	}
	parts := make([][]abi.Tensor, len(pos))
	for i, v := range pos {
		list, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("tensor: kernel combine, argument %d must be a partial (an array of tensors), got %s", i, typeName(v))
		}
		parts[i] = make([]abi.Tensor, len(list))
		for k, t := range list {
			if parts[i][k], ok = t.(abi.Tensor); !ok {
				return nil, fmt.Errorf("tensor: kernel combine, argument %d, element %d must be a tensor, got %s", i, k, typeName(t))
			}
		}
	}
	part, err := combine(r.op, parts)
	if err != nil || !final {
		return part, err
	}
	return finish(r, part)
}
