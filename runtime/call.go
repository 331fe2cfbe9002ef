package runtime

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mrun-dev/mrun/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Result is what a successful call produced.
type Result struct {
	// Value is the result frame: exactly one well-formed MessagePack value, owned by the caller.
	Value []byte
	// Stdout and Stderr hold what the call wrote to those streams (nil when nothing, capped).
	Stdout, Stderr []byte
	// Effects says what the call read of the world besides its arguments: the wall clock,
	// randomness, files under its mounts. Zero means the result depends on the arguments
	// (and the module's bytes and ModuleConfig) alone, so it may be cached or shared.
	Effects Effects
	// Guest is how long the guest's code ran during the call, when the call's context asked
	// for it (WithUsage; zero otherwise): the call of the function's export, less the time the
	// guest spent blocked in the host waiting for nested executes and fetches (ABI.md section
	// 2.2). Taking an instance from the pool or making one, allocating the argument buffer and
	// copying the argument frame in are not counted; time the guest spent asleep (it asked for
	// it) is. Zero for a native function.
	Guest time.Duration
	// Memory is the size in bytes of the linear memory of the instance that ran the call, as
	// the call returned. Linear memory never shrinks, so it is the largest size the instance
	// reached: in this call, or in an earlier call that ran on the same pooled instance. Zero
	// for a native function.
	Memory uint64
}

// Call runs f with the given argument frame (ABI.md section 3) in a pooled instance.
// Errors are *CallError; the frame is not retained. A call made once Runtime.Close has begun
// fails with an error wrapping ErrClosed.
func (f *Function) Call(ctx context.Context, frame []byte) (Result, error) {
	return f.CallFill(ctx, len(frame), func(dst []byte) { copy(dst, frame) })
}

// CallFill is Call for callers that build the argument frame in place: fill receives a slice
// of exactly n bytes inside the guest's argument buffer and must write the whole frame into it
// without keeping the slice. This saves a copy when a frame is assembled from several pieces.
func (f *Function) CallFill(ctx context.Context, n int, fill func(dst []byte)) (Result, error) {
	m := f.mod
	if err := ctx.Err(); err != nil {
		return Result{}, &CallError{Module: m.name, Function: f.name, Err: interrupted(ctx)}
	}
	if err := m.rt.begin(ctx); err != nil {
		return Result{}, &CallError{Module: m.name, Function: f.name, Err: err}
	}
	defer m.rt.end()
	if f.native != nil {
		return f.callNative(ctx, n, fill)
	}
	inst, err := m.pool.get(ctx)
	if err != nil {
		return Result{}, &CallError{Module: m.name, Function: f.name, Err: m.rt.closing(err)}
	}
	value, fail := inst.run(ctx, f, n, fill)
	res := Result{Value: value, Stdout: inst.stdout.take(), Stderr: inst.stderr.take(), Effects: inst.effects,
		Guest: inst.guestTime, Memory: inst.memSize}
	if fail == nil {
		m.pool.put(inst)
		return res, nil
	}
	if fail.discard {
		inst.close()
	} else {
		m.pool.put(inst)
	}
	return Result{}, &CallError{Module: m.name, Function: f.name, Err: m.rt.closing(fail.err), Stdout: res.Stdout, Stderr: res.Stderr, Effects: res.Effects,
		Guest: res.Guest, Memory: res.Memory}
}

func interrupted(ctx context.Context) error {
	return &interruptError{cause: context.Cause(ctx)}
}

type interruptError struct{ cause error }

func (e *interruptError) Error() string   { return ErrInterrupted.Error() + ": " + e.cause.Error() }
func (e *interruptError) Unwrap() []error { return []error{ErrInterrupted, e.cause} }

// instantiateHost defines module "mrun" with the host functions of ABI.md section 2.
func instantiateHost(ctx context.Context, wz wazero.Runtime) error {
	b := wz.NewHostModuleBuilder(abi.ImportModule)
	b.NewFunctionBuilder().
		WithGoModuleFunction(api.GoModuleFunc(setError), []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}, nil).
		WithParameterNames("msg_ptr", "msg_len").
		Export(abi.ImportSetError)
	for _, imp := range nestedImports {
		b.NewFunctionBuilder().WithGoModuleFunction(imp.fn, imp.params, imp.results).Export(imp.name)
	}
	_, err := b.Instantiate(ctx)
	return err
}

// setError implements mrun.set_error: it records the message of the running call.
func setError(ctx context.Context, mod api.Module, stack []uint64) {
	inst := instanceFrom(ctx)
	if inst == nil {
		return // outside a call, e.g. from _initialize: ignored by the ABI
	}
	ptr, n := uint32(stack[0]), uint32(stack[1])
	keep := min(n, abi.MaxErrorMessage)
	msg, ok := mod.Memory().Read(ptr, keep)
	inst.failed = true
	if !ok {
		inst.errMsg = "set_error: message lies outside guest memory"
		return
	}
	s := string(msg)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	inst.errMsg = s
}
