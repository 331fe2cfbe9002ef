// Package nativetest is a small native module, "mrun:demo", for the tests of the packages that
// run native modules (runtime, dag, dag/cluster, cmd/mrun). It is not part of any binary.
package nativetest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/vmihailenco/msgpack/v5"
)

// Name and Version identify the module.
const (
	Name    = "mrun:demo"
	Version = "1"
)

// Module returns "mrun:demo". Its functions:
//
//	add(a, b)           a + b (integers)
//	inc(a)              a + 1
//	sum_all(xs)         the sum of a list of integers
//	tensor_sum(t)       the sum of a float64 tensor's elements, in row-major order
//	pair(a)             [a, a+1]: for n_output 2
//	fanout(n)           spawns add(i, 1) for i in 0..n-1 as nested tasks, executes them and
//	                    returns the sum of their values, n(n+1)/2
//	relay(mod, fn, a…)  spawns mod.fn(a…), executes it and returns its value
//	fail(msg)           fails with msg
//	malformed()         returns bytes that are not one MessagePack value
//	panic()             panics
//	block()             returns once its context ends
func Module() runtime.NativeModule {
	return runtime.NativeModule{Name: Name, Version: Version, Funcs: map[string]runtime.NativeFunc{
		"add":        add,
		"inc":        inc,
		"sum_all":    sumAll,
		"tensor_sum": tensorSum,
		"pair":       pair,
		"fanout":     fanout,
		"relay":      relay,
		"fail":       fail,
		"malformed":  func(context.Context, []byte) ([]byte, error) { return []byte{0x01, 0x02}, nil },
		"panic":      func(context.Context, []byte) ([]byte, error) { panic("demo panics") },
		"block": func(ctx context.Context, _ []byte) ([]byte, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		},
	}}
}

// positional decodes the positional arguments of an argument frame.
func positional(args []byte) ([]msgpack.RawMessage, error) {
	var frame []msgpack.RawMessage
	if err := msgpack.Unmarshal(args, &frame); err != nil || len(frame) != 2 {
		return nil, fmt.Errorf("%w: the argument frame is not [positional, keyword]", runtime.ErrInvalid)
	}
	var pos []msgpack.RawMessage
	if err := msgpack.Unmarshal(frame[0], &pos); err != nil {
		return nil, fmt.Errorf("%w: positional arguments: %v", runtime.ErrInvalid, err)
	}
	return pos, nil
}

// ints decodes exactly n integer arguments.
func ints(args []byte, n int) ([]int64, error) {
	pos, err := positional(args)
	if err != nil {
		return nil, err
	}
	if len(pos) != n {
		return nil, fmt.Errorf("%w: want %d integer arguments, got %d", runtime.ErrInvalid, n, len(pos))
	}
	out := make([]int64, n)
	for i, p := range pos {
		if err := msgpack.Unmarshal(p, &out[i]); err != nil {
			return nil, fmt.Errorf("%w: argument %d is not an integer", runtime.ErrInvalid, i)
		}
	}
	return out, nil
}

func add(_ context.Context, args []byte) ([]byte, error) {
	x, err := ints(args, 2)
	if err != nil {
		return nil, err
	}
	return encode(x[0] + x[1])
}

func inc(_ context.Context, args []byte) ([]byte, error) {
	x, err := ints(args, 1)
	if err != nil {
		return nil, err
	}
	return encode(x[0] + 1)
}

func sumAll(_ context.Context, args []byte) ([]byte, error) {
	pos, err := positional(args)
	if err != nil {
		return nil, err
	}
	var xs []int64
	if len(pos) != 1 || msgpack.Unmarshal(pos[0], &xs) != nil {
		return nil, fmt.Errorf("%w: sum_all wants one list of integers", runtime.ErrInvalid)
	}
	var sum int64
	for _, x := range xs {
		sum += x
	}
	return encode(sum)
}

// tensorSum reads the tensor in place in the argument frame, as a guest reads it in its
// argument buffer: a kernel needs no copy of its input.
func tensorSum(_ context.Context, args []byte) ([]byte, error) {
	bad := fmt.Errorf("%w: tensor_sum wants one float64 tensor", runtime.ErrInvalid)
	r := bytes.NewReader(args)
	dec := msgpack.NewDecoder(r)
	if n, err := dec.DecodeArrayLen(); err != nil || n != 2 {
		return nil, bad
	}
	if n, err := dec.DecodeArrayLen(); err != nil || n != 1 {
		return nil, bad
	}
	ext, size, err := dec.DecodeExtHeader()
	if err != nil || ext != abi.ExtTensor || size < 8 {
		return nil, bad
	}
	p := args[len(args)-r.Len():][:size]
	ndim := int(p[1])
	if abi.DType(p[0]) != abi.Float64 || len(p) < 8+8*ndim {
		return nil, bad
	}
	data := p[8+8*ndim:]
	var sum float64
	for i := 0; i+8 <= len(data); i += 8 {
		sum += math.Float64frombits(binary.LittleEndian.Uint64(data[i:]))
	}
	return encode(sum)
}

func pair(_ context.Context, args []byte) ([]byte, error) {
	x, err := ints(args, 1)
	if err != nil {
		return nil, err
	}
	return encode([]int64{x[0], x[0] + 1})
}

func fanout(ctx context.Context, args []byte) ([]byte, error) {
	x, err := ints(args, 1)
	if err != nil {
		return nil, err
	}
	n, ok := runtime.NestedFrom(ctx)
	if !ok {
		return nil, errors.New("fanout needs an engine: spawn it as a task")
	}
	handles := make([]uint32, x[0])
	for i := range handles {
		frame, err := abi.EncodeFrame([]any{i, 1}, nil)
		if err != nil {
			return nil, err
		}
		if handles[i], err = n.Spawn(ctx, "", "add", frame, 1, runtime.SpawnOptions{}); err != nil {
			return nil, fmt.Errorf("fanout: %w", err)
		}
	}
	if ok, err := n.Execute(ctx, handles); err != nil || !ok {
		return nil, fmt.Errorf("fanout: execute: ok %v, %w", ok, err)
	}
	var sum int64
	for _, h := range handles {
		v, err := n.Fetch(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("fanout: %w", err)
		}
		var k int64
		if err := msgpack.Unmarshal(v, &k); err != nil {
			return nil, fmt.Errorf("fanout: child value: %w", err)
		}
		sum += k
	}
	return encode(sum)
}

func relay(ctx context.Context, args []byte) ([]byte, error) {
	pos, err := positional(args)
	if err != nil {
		return nil, err
	}
	var mod, fn string
	if len(pos) < 2 || msgpack.Unmarshal(pos[0], &mod) != nil || msgpack.Unmarshal(pos[1], &fn) != nil {
		return nil, fmt.Errorf("%w: relay wants (mod, fn, args...)", runtime.ErrInvalid)
	}
	rest := make([]any, len(pos)-2)
	for i, p := range pos[2:] {
		rest[i] = p
	}
	frame, err := abi.EncodeFrame(rest, nil)
	if err != nil {
		return nil, err
	}
	n, ok := runtime.NestedFrom(ctx)
	if !ok {
		return nil, errors.New("relay needs an engine: spawn it as a task")
	}
	h, err := n.Spawn(ctx, mod, fn, frame, 1, runtime.SpawnOptions{})
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	if _, err := n.Execute(ctx, []uint32{h}); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	v, err := n.Fetch(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	return v, nil
}

func fail(_ context.Context, args []byte) ([]byte, error) {
	pos, err := positional(args)
	if err != nil {
		return nil, err
	}
	var msg string
	if len(pos) != 1 || msgpack.Unmarshal(pos[0], &msg) != nil {
		return nil, fmt.Errorf("%w: fail wants one string", runtime.ErrInvalid)
	}
	return nil, errors.New(msg)
}

// encode encodes v in canonical form (integers in their shortest encoding).
func encode(v any) ([]byte, error) {
	b, err := msgpack.Marshal(v)
	if err != nil {
		return nil, err
	}
	return abi.Canonical(b)
}
