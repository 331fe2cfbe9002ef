package tensor

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
)

// fakeEngine is a tiny in-memory runtime.Nested: it runs the kernels of Module() directly,
// one task at a time, passing values to consumers the way the engine does (each ext-2
// handle in a spawn's frame replaced by its Object's value).
type fakeEngine struct {
	funcs  map[string]runtime.NativeFunc
	tasks  []*fakeTask // handle h names tasks[h-1]
	spawns map[string]int
	runs   int
	// maxArg is the largest argument frame a kernel received, in bytes.
	maxArg int
	// calls records each kernel call when record is set.
	record bool
	calls  []kernelCall
}

type kernelCall struct {
	fn    string
	frame []byte
}

type fakeTask struct {
	fn   string
	tmpl *abi.Template
	deps []uint32
	val  []byte
	err  error
	done bool
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{funcs: Module().Funcs, spawns: map[string]int{}}
}

var _ runtime.Nested = (*fakeEngine)(nil)

func handleKey(h uint32) abi.Key {
	var k abi.Key
	binary.BigEndian.PutUint32(k[:], h)
	k[15] = 1 // never the zero key
	return k
}

func (e *fakeEngine) Spawn(ctx context.Context, mod, fn string, frame []byte, nOutput int, opts runtime.SpawnOptions) (uint32, error) {
	if mod != ModuleName || nOutput != 1 {
		return 0, fmt.Errorf("%w: fake engine runs only %s with one output, got %q n_output %d", runtime.ErrInvalid, ModuleName, mod, nOutput)
	}
	if _, ok := e.funcs[fn]; !ok {
		return 0, fmt.Errorf("%w: module %s has no function %q", runtime.ErrInvalid, mod, fn)
	}
	var deps []uint32
	resolved, err := abi.ResolveHandles(frame, func(h uint32) (abi.Key, error) {
		if h == 0 || int(h) > len(e.tasks) {
			return abi.Key{}, fmt.Errorf("%w: no handle %d", runtime.ErrInvalid, h)
		}
		deps = append(deps, h)
		return handleKey(h), nil
	})
	if err != nil {
		return 0, err
	}
	tmpl, err := abi.NewTemplate(resolved)
	if err != nil {
		return 0, err
	}
	// The template lists dependencies in frame order, canonical order may differ: map keys.
	byKey := map[abi.Key]uint32{}
	for _, h := range deps {
		byKey[handleKey(h)] = h
	}
	deps = deps[:0]
	for _, k := range tmpl.Deps() {
		deps = append(deps, byKey[k])
	}
	e.tasks = append(e.tasks, &fakeTask{fn: fn, tmpl: tmpl, deps: deps})
	e.spawns[fn]++
	return uint32(len(e.tasks)), nil
}

func (e *fakeEngine) run(ctx context.Context, h uint32) error {
	t := e.tasks[h-1]
	if t.done {
		return t.err
	}
	vals := make([][]byte, len(t.deps))
	for i, d := range t.deps {
		if err := e.run(ctx, d); err != nil {
			t.done, t.err = true, fmt.Errorf("dependency %s failed: %w", e.tasks[d-1].fn, err)
			return t.err
		}
		vals[i] = e.tasks[d-1].val
	}
	frame := t.tmpl.AppendFrame(nil, vals)
	e.maxArg = max(e.maxArg, len(frame))
	if e.record {
		e.calls = append(e.calls, kernelCall{t.fn, frame})
	}
	e.runs++
	t.val, t.err = e.funcs[t.fn](ctx, frame)
	t.done = true
	if t.err == nil {
		if err := abi.ValidateResult(t.val); err != nil {
			t.err = fmt.Errorf("kernel %s returned a malformed result: %w", t.fn, err)
		}
	}
	return t.err
}

func (e *fakeEngine) Execute(ctx context.Context, handles []uint32) (bool, error) {
	ok := true
	for _, h := range handles {
		if int(h) > len(e.tasks) || h == 0 {
			return false, fmt.Errorf("%w: no handle %d", runtime.ErrInvalid, h)
		}
		if e.run(ctx, h) != nil {
			ok = false
		}
	}
	return ok, nil
}

func (e *fakeEngine) Fetch(ctx context.Context, h uint32) ([]byte, error) {
	t := e.tasks[h-1]
	switch {
	case !t.done:
		return nil, runtime.ErrNotReady
	case t.err != nil:
		return nil, fmt.Errorf("%w: %s: %w", runtime.ErrTaskFailed, t.fn, t.err)
	}
	return t.val, nil
}

func (e *fakeEngine) Cause(h uint32) error { return e.tasks[h-1].err }

// evalExpr evaluates x through a fresh fake engine.
func evalExpr(t testing.TB, x Expr) (abi.Tensor, *fakeEngine) {
	t.Helper()
	b, err := x.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	v, err := abi.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	eng := newFakeEngine()
	out, _, err := eval(context.Background(), eng, v)
	if err != nil {
		t.Fatal(err)
	}
	return out, eng
}
