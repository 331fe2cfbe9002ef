package runtime

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mrun-dev/mrun/abi"
	"github.com/tetratelabs/wazero/api"
)

// Nested is what a running call uses to spawn, execute and fetch tasks of its own (ABI.md
// section 2.2). The engine implements it, one value per running task, and hands it to the call
// through its context with WithNested; the runtime only moves bytes between guest memory and
// these methods. Handles are the guest's names for Objects and are scoped to the task.
//
// Errors should wrap one of ErrInvalid, ErrTaskFailed, ErrNotReady, ErrLimit or a context
// error: that decides the code the guest sees. Anything else is reported as ErrInvalid.
type Nested interface {
	// Spawn creates a lazy task of function fn in module mod ("" for the caller's module) with
	// an argument frame written by the guest, and returns the handle of its first output.
	Spawn(ctx context.Context, mod, fn string, frame []byte, nOutput int, opts SpawnOptions) (uint32, error)
	// Execute runs the Objects of handles and their dependencies, and reports whether every one
	// of them has a value.
	Execute(ctx context.Context, handles []uint32) (ok bool, err error)
	// Fetch returns the value of the Object of handle.
	Fetch(ctx context.Context, handle uint32) ([]byte, error)
	// Cause returns the error of the Object of handle if it failed, else nil.
	Cause(handle uint32) error
}

// SpawnOptions are the options a guest sets on a nested spawn (ABI.md section 2.2).
type SpawnOptions struct {
	// Impure says the call's result may differ from run to run with the same arguments (it
	// reads the clock, randomness or files): each spawn of it is a task of its own, and its
	// value is never shared with other spawns or cached.
	Impure bool
}

// The bits of spawn's n_output argument (ABI.md section 2.2): the output count in the low 24
// bits, and option flags above it. Other bits must be zero.
const (
	SpawnCountMask  = 1<<24 - 1 // the number of outputs
	SpawnFlagImpure = 1 << 30   // the task is impure: see SpawnOptions.Impure
)

// Errors a Nested implementation wraps to choose the code a guest receives.
var (
	ErrInvalid    = errors.New("invalid request")         // code -1
	ErrTaskFailed = errors.New("task failed")             // code -2
	ErrNotReady   = errors.New("object has no value yet") // code -3: execute it first
	ErrLimit      = errors.New("limit exceeded")          // code -4
)

// Return codes of the nested-spawn imports (ABI.md section 2.2).
const (
	codeInvalid     int32 = -1
	codeFailed      int32 = -2
	codeNotReady    int32 = -3
	codeLimit       int32 = -4
	codeCancelled   int32 = -5
	codeUnsupported int32 = -6
)

// i32result encodes v as an i32 result on the wazero stack.
func i32result(v int32) uint64 { return uint64(uint32(v)) }

// i64result encodes v as an i64 result on the wazero stack.
func i64result(v int64) uint64 { return uint64(v) }

type nestedKey struct{}

// WithNested returns a context whose calls can spawn nested tasks through n.
func WithNested(ctx context.Context, n Nested) context.Context {
	return context.WithValue(ctx, nestedKey{}, n)
}

func nestedFrom(ctx context.Context) Nested {
	n, _ := ctx.Value(nestedKey{}).(Nested)
	return n
}

// maxHandlesPerExecute bounds one execute request (16 MiB of handles).
const maxHandlesPerExecute = 1 << 22

var (
	i32 = api.ValueTypeI32
	i64 = api.ValueTypeI64
)

// nestedImports are the host functions of ABI.md section 2.2, with their types.
var nestedImports = []struct {
	name            string
	params, results []api.ValueType
	fn              api.GoModuleFunc
}{
	{"fail_with", []api.ValueType{i32, i32, i32}, nil, hostFailWith},
	{"spawn", []api.ValueType{i32, i32, i32, i32, i32, i32, i32}, []api.ValueType{i32}, hostSpawn},
	{"execute", []api.ValueType{i32, i32}, []api.ValueType{i32}, hostExecute},
	{"fetch", []api.ValueType{i32, i32, i32}, []api.ValueType{i64}, hostFetch},
	{"last_error", []api.ValueType{i32, i32}, []api.ValueType{i32}, hostLastError},
}

// fail records err as the call's last nested error and returns the code for it.
func (inst *instance) fail(ctx context.Context, err error) int32 {
	inst.lastErr = err.Error()
	switch {
	case ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		inst.cancelled = true
		return codeCancelled
	case errors.Is(err, ErrTaskFailed):
		return codeFailed
	case errors.Is(err, ErrNotReady):
		return codeNotReady
	case errors.Is(err, ErrLimit):
		return codeLimit
	}
	return codeInvalid
}

// nestedCall returns the running call's instance and engine, or records why there are none.
// When there are none, the import returns codeUnsupported.
func nestedCall(ctx context.Context) (*instance, Nested, bool) {
	inst := instanceFrom(ctx)
	if inst == nil {
		return nil, nil, false
	}
	n := nestedFrom(ctx)
	if n == nil {
		inst.lastErr = "nested spawn needs an engine: this call was not started by one"
		return nil, nil, false
	}
	return inst, n, true
}

func readString(mem api.Memory, ptr, n uint32, what string) (string, error) {
	b, ok := mem.Read(ptr, n)
	if !ok {
		return "", fmt.Errorf("%w: %s [%d, %d) lies outside guest memory", ErrInvalid, what, ptr, uint64(ptr)+uint64(n))
	}
	if !utf8.Valid(b) {
		return "", fmt.Errorf("%w: %s is not UTF-8", ErrInvalid, what)
	}
	return string(b), nil
}

func hostSpawn(ctx context.Context, mod api.Module, stack []uint64) {
	inst, n, ok := nestedCall(ctx)
	if !ok {
		stack[0] = i32result(codeUnsupported)
		return
	}
	mem := mod.Memory()
	ret := func(v int32) { stack[0] = i32result(v) }
	// Errors name the operation first, then the kind, as the Nested implementation's do:
	// "spawn inc: invalid request: …".
	modName, err := readString(mem, uint32(stack[0]), uint32(stack[1]), "module name")
	if err != nil {
		ret(inst.fail(ctx, fmt.Errorf("spawn: %w", err)))
		return
	}
	fnName, err := readString(mem, uint32(stack[2]), uint32(stack[3]), "function name")
	if err != nil {
		ret(inst.fail(ctx, fmt.Errorf("spawn: %w", err)))
		return
	}
	what := fnName
	if modName != "" {
		what = modName + "." + fnName
	}
	view, ok := mem.Read(uint32(stack[4]), uint32(stack[5]))
	if !ok {
		ret(inst.fail(ctx, fmt.Errorf("spawn %s: %w: argument frame lies outside guest memory", what, ErrInvalid)))
		return
	}
	raw := uint32(stack[6])
	if extra := raw &^ (SpawnCountMask | SpawnFlagImpure); extra != 0 {
		ret(inst.fail(ctx, fmt.Errorf("spawn %s: %w: n_output %#x sets bits that mean nothing (%#x): the count is in the low 24 bits, 1<<30 marks the task impure", what, ErrInvalid, raw, extra)))
		return
	}
	nOut := int(raw & SpawnCountMask)
	if nOut < 1 {
		ret(inst.fail(ctx, fmt.Errorf("spawn %s: %w: n_output must be at least 1, got %d", what, ErrInvalid, nOut)))
		return
	}
	opts := SpawnOptions{Impure: raw&SpawnFlagImpure != 0}
	h, err := n.Spawn(ctx, modName, fnName, append([]byte(nil), view...), nOut, opts)
	if err != nil {
		ret(inst.fail(ctx, err))
		return
	}
	ret(int32(h))
}

func hostExecute(ctx context.Context, mod api.Module, stack []uint64) {
	inst, n, ok := nestedCall(ctx)
	if !ok {
		stack[0] = i32result(codeUnsupported)
		return
	}
	ret := func(v int32) { stack[0] = i32result(v) }
	ptr, count := uint32(stack[0]), uint32(stack[1])
	if count > maxHandlesPerExecute {
		ret(inst.fail(ctx, fmt.Errorf("%w: execute of %d handles exceeds the limit of %d", ErrInvalid, count, maxHandlesPerExecute)))
		return
	}
	raw, ok := mod.Memory().Read(ptr, 4*count)
	if !ok {
		ret(inst.fail(ctx, fmt.Errorf("%w: handle array lies outside guest memory", ErrInvalid)))
		return
	}
	handles := make([]uint32, count)
	for i := range handles {
		handles[i] = binary.LittleEndian.Uint32(raw[4*i:])
	}
	began := inst.clock()
	allOK, err := n.Execute(ctx, handles)
	inst.blocked += inst.clock() - began
	switch {
	case err != nil:
		ret(inst.fail(ctx, err))
	case allOK:
		ret(0)
	default:
		ret(1)
	}
}

func hostFetch(ctx context.Context, mod api.Module, stack []uint64) {
	inst, n, ok := nestedCall(ctx)
	if !ok {
		stack[0] = i64result(int64(codeUnsupported))
		return
	}
	ret := func(v int64) { stack[0] = i64result(v) }
	handle, ptr, capacity := uint32(stack[0]), uint32(stack[1]), uint32(stack[2])
	began := inst.clock()
	v, err := n.Fetch(ctx, handle)
	inst.blocked += inst.clock() - began
	if err != nil {
		ret(int64(inst.fail(ctx, err)))
		return
	}
	if uint64(len(v)) <= uint64(capacity) && !mod.Memory().Write(ptr, v) {
		ret(int64(inst.fail(ctx, fmt.Errorf("%w: fetch buffer [%d, %d) lies outside guest memory", ErrInvalid, ptr, uint64(ptr)+uint64(capacity)))))
		return
	}
	ret(int64(len(v)))
}

func hostLastError(ctx context.Context, mod api.Module, stack []uint64) {
	inst := instanceFrom(ctx)
	if inst == nil {
		stack[0] = 0
		return
	}
	msg := inst.lastErr
	if uint32(len(msg)) <= uint32(stack[1]) {
		mod.Memory().Write(uint32(stack[0]), []byte(msg))
	}
	stack[0] = uint64(uint32(len(msg)))
}

func hostFailWith(ctx context.Context, mod api.Module, stack []uint64) {
	inst := instanceFrom(ctx)
	if inst == nil {
		return
	}
	handle := uint32(stack[0])
	setError(ctx, mod, stack[1:])
	inst.cause = nil
	if n := nestedFrom(ctx); n != nil {
		inst.cause = n.Cause(handle)
	}
}

// importsNested reports whether a module imports any nested-spawn function.
func importsNested(imports []string) bool {
	for _, imp := range imports {
		name, ok := strings.CutPrefix(imp, abi.ImportModule+".")
		if ok && name != abi.ImportSetError {
			return true
		}
	}
	return false
}
