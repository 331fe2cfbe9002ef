package replay

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// Options configure Replay. The zero value is ready to use.
type Options struct {
	// CacheDir is the runtime's compilation cache (runtime.Config.CacheDir); empty compiles
	// in memory.
	CacheDir string
	// MemoryBudget caps the linear memory of all the replay's instances together
	// (runtime.Config.MemoryBudget).
	MemoryBudget int64
}

// Replay runs the call of b again, once, in a fresh runtime and a fresh engine (so that the
// tasks a spawning guest spawns run too), under the limits and capabilities it ran with, and
// returns what the call returned: its Result, or its error, a *runtime.CallError (OutcomeOf
// makes an Outcome of them). An error of any other type is not the call's: it says why the
// call could not be run again (a module kept by path changed, a module does not load, the
// function is gone). A module kept by path whose file no longer has the recorded SHA-256 is
// refused with an error wrapping ErrModuleChanged.
//
// Whether the outcome is the same (Outcome.Diff) depends on the call: a call that reads the
// clock or randomness (Outcome.Effects) differs from run to run unless its module is
// deterministic (runtime.ModuleConfig.Deterministic: each call on a fresh instance, with the
// clock and random stream at their start, as in the replay).
func (b *Bundle) Replay(ctx context.Context, opts Options) (runtime.Result, error) {
	rt, err := runtime.New(ctx, runtime.Config{
		MemoryLimitPages: b.Limits.MemoryLimitPages, MaxResult: b.Limits.MaxResult, MaxOutput: b.Limits.MaxOutput,
		CacheDir: opts.CacheDir, MemoryBudget: opts.MemoryBudget,
	})
	if err != nil {
		return runtime.Result{}, fmt.Errorf("replay: %w", err)
	}
	defer rt.Close(context.Background())
	var called *runtime.Module
	for _, m := range b.Modules {
		wasm, err := m.load()
		if err != nil {
			return runtime.Result{}, fmt.Errorf("replay: %w", err)
		}
		mod, err := rt.LoadWith(ctx, m.Name, wasm, m.Config)
		if err != nil {
			return runtime.Result{}, fmt.Errorf("replay: %w", err)
		}
		if m.Name == b.Module {
			called = mod
		}
	}
	if called == nil {
		return runtime.Result{}, fmt.Errorf("replay: module %q, the called function's, is not in the bundle", b.Module)
	}
	fn, err := called.Func(b.Function)
	if err != nil {
		return runtime.Result{}, fmt.Errorf("replay: %w", err)
	}
	if called.Nested() {
		eng := dag.New(dag.Config{MaxDepth: b.Limits.MaxDepth, MaxTasks: b.Limits.MaxTasks, MaxWaiting: b.Limits.MaxWaiting, MaxArgument: b.Limits.MaxArgument})
		n, release := eng.Nested(b.Key, fn, 0, noSlot{}, nil)
		defer release()
		ctx = runtime.WithNested(ctx, n)
	}
	if b.Limits.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, b.Limits.Timeout, &dag.TimeoutError{Timeout: b.Limits.Timeout})
		defer cancel()
	}
	return fn.Call(ctx, b.Frame)
}

// OutcomeOf returns the Outcome of a call that returned res and err.
func OutcomeOf(res runtime.Result, err error) Outcome {
	if err == nil {
		return Outcome{Stdout: res.Stdout, Stderr: res.Stderr, Result: res.Value, Effects: res.Effects}
	}
	o := Outcome{Failed: true, Err: err.Error()}
	var ce *runtime.CallError
	if errors.As(err, &ce) {
		o.Stdout, o.Stderr, o.Effects = ce.Stdout, ce.Stderr, ce.Effects
	}
	return o
}

// load returns the module's bytes: those the bundle holds, or its file's, which must have the
// recorded SHA-256.
func (m Module) load() ([]byte, error) {
	if m.Bytes != nil {
		return m.Bytes, nil
	}
	wasm, err := os.ReadFile(m.Path)
	if err != nil {
		return nil, fmt.Errorf("module %s: the bundle refers to %s, which cannot be read: %w", m.Name, m.Path, err)
	}
	if sum := sha256.Sum256(wasm); sum != m.SHA256 {
		return nil, fmt.Errorf("module %s: %w: %s has SHA-256 %x, the bundle recorded %x: put the recorded build back at that path, or record the call again", m.Name, ErrModuleChanged, m.Path, sum, m.SHA256)
	}
	return wasm, nil
}

// noSlot is the slot of a replayed call: it runs outside any engine's workers, so waiting on
// its spawns frees nothing.
type noSlot struct{}

func (noSlot) Release()                      {}
func (noSlot) Acquire(context.Context) error { return nil }
