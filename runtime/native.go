package runtime

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/bits"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/mrun-dev/mrun/abi"
)

// This file runs native modules: modules whose functions are Go code built into the host,
// registered under a name that starts with NativePrefix. A task of a native function is
// keyed, scheduled, cached and spawned like a task of a guest's, and a guest spawns one by
// module name as it spawns into any module; only the call differs: no instance, no sandbox,
// no linear memory, the argument frame handed over as a byte slice. RATIONALE.md, "Why are
// tensor kernels and the planner native modules?", says why.

// NativePrefix starts the name of every native module. The prefix is reserved: a WebAssembly
// module may not be loaded under a name that starts with it.
const NativePrefix = "mrun:"

// NativeFunc is a function of a native module. args is the call's argument frame exactly as a
// guest would receive it (ABI.md section 3): dependencies already replaced by their values,
// by-reference dependencies as ext-2 handles. args is the function's own until it returns (it
// may even compute in it), and the runtime reuses its memory afterwards: nothing may keep it,
// or a part of it, past the return, except the result. It returns the result frame's value,
// MessagePack-encoded (for n_output k: an array of k values); the runtime takes the slice
// over (copying it when it lies in args), and checks it as it checks a guest's result. An
// error fails the task as a guest's error does: its text is the message the caller sees, and
// errors.Is and errors.As reach it (and what it wraps) through the call's *CallError. A
// NativeFunc must not panic: a panic is recovered and fails the call as a trap. ctx carries the call's deadline and, through
// NestedFrom, the engine's Nested for spawns; Runtime.Close does not stop a running NativeFunc
// (its call fails once it returns), so it should return when ctx ends. A NativeFunc must be a
// function of its arguments alone: its results are shared between equal calls and cached.
type NativeFunc func(ctx context.Context, args []byte) ([]byte, error)

// NativeModule describes a module whose functions are Go code.
type NativeModule struct {
	// Name is the module's name: NativePrefix followed by one or more ASCII letters, digits,
	// '_', '-' and '.', as in "mrun:tensor".
	Name string
	// Version is part of the module's identity (its Sum), so task keys change with it: bump
	// it whenever a function may return something else for the same arguments.
	Version string
	// Funcs are the module's functions by name (abi.CheckFuncName rules).
	Funcs map[string]NativeFunc
}

// Sum returns the SHA-256 of "native:"+Name+"@"+Version: the Sum and Identity of the module
// LoadNative makes of m, known without a runtime.
func (m NativeModule) Sum() [32]byte {
	return sha256.Sum256([]byte("native:" + m.Name + "@" + m.Version))
}

// check validates m as LoadNative does.
func (m NativeModule) check() error {
	rest, ok := strings.CutPrefix(m.Name, NativePrefix)
	if !ok {
		return fmt.Errorf("a native module's name must start with %q, as in %q", NativePrefix, NativePrefix+"tensor")
	}
	if rest == "" || strings.IndexFunc(rest, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}) >= 0 {
		return fmt.Errorf("native module name %q: after %q use one or more letters, digits, '_', '-' and '.'", m.Name, NativePrefix)
	}
	if m.Version == "" || !utf8.ValidString(m.Version) || strings.ContainsFunc(m.Version, func(r rune) bool { return r < ' ' }) {
		return fmt.Errorf("native module %s: version %q must be a non-empty printable string", m.Name, m.Version)
	}
	for name, fn := range m.Funcs {
		if err := abi.CheckFuncName(name); err != nil {
			return fmt.Errorf("native module %s: %w", m.Name, err)
		}
		if fn == nil {
			return fmt.Errorf("native module %s: function %q is nil", m.Name, name)
		}
	}
	return nil
}

// LoadNative registers m with rt and returns it as a *Module: Lookup(m.Name) finds it, as do
// Lookup and Module by its Sum, Func works, Sum() and Identity() are NativeModule.Sum,
// Nested() is true, Native() is true, Bytes() is nil, and it holds no capabilities (any module
// may spawn its functions). Loading a module of the same name and version again returns the
// Module already loaded; a runtime holds one version of each native module, so another
// version of a loaded name is an error. The Funcs map is copied.
func (rt *Runtime) LoadNative(ctx context.Context, m NativeModule) (*Module, error) {
	if err := m.check(); err != nil {
		return nil, &ModuleError{Module: m.Name, Err: err}
	}
	if err := rt.begin(ctx); err != nil {
		return nil, &ModuleError{Module: m.Name, Err: err}
	}
	defer rt.end()
	sum := m.Sum()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, old := range rt.modules {
		if old.name != m.Name {
			continue
		}
		if old.version == m.Version {
			return old, nil
		}
		return nil, &ModuleError{Module: m.Name, Err: fmt.Errorf("version %s is loaded already, not %s: a runtime holds one version of a native module", old.version, m.Version)}
	}
	mod := &Module{rt: rt, name: m.Name, sum: sum, identity: sum, byName: make(map[string]*Function, len(m.Funcs)),
		nested: true, native: true, version: m.Version}
	for name, fn := range m.Funcs {
		f := &Function{mod: mod, name: name, native: fn}
		mod.funcs = append(mod.funcs, f)
		mod.byName[name] = f
	}
	slices.SortFunc(mod.funcs, func(a, b *Function) int { return strings.Compare(a.name, b.name) })
	for i, f := range mod.funcs {
		f.index = i
	}
	mod.pool = newPool(mod, 0) // stays empty: Idle, Close and the memory budget find nothing in it
	rt.modules[sum] = mod
	return mod, nil
}

// Native reports whether the module's functions are Go code (LoadNative) rather than a
// WebAssembly guest's.
func (m *Module) Native() bool { return m.native }

// Version returns the version of a native module, or "" for a WebAssembly module.
func (m *Module) Version() string { return m.version }

// nativeKey marks the context of a running native call with the Runtime that runs it.
type nativeKey struct{}

// nativeRuntime returns the runtime whose native call ctx belongs to, or nil.
func nativeRuntime(ctx context.Context) *Runtime {
	rt, _ := ctx.Value(nativeKey{}).(*Runtime)
	return rt
}

// NestedFrom returns the Nested of the running call ctx belongs to, if any: the engine that
// started the call handed it over with WithNested. A native function spawns, executes and
// fetches tasks through it exactly as a guest does through the imports of ABI.md section 2.2,
// and, as for a guest, its slot is free for other tasks while it waits in Execute. Spawn
// copies the frame it is given, so the caller may reuse it at once (a part of its own args
// included); the values Fetch returns are the engine's own: read them, never modify them.
func NestedFrom(ctx context.Context) (Nested, bool) {
	n := nestedFrom(ctx)
	if n == nil {
		return nil, false
	}
	return copyingNested{n}, true
}

// copyingNested is the Nested a native function sees: its Spawn copies the frame, as the
// spawn import copies a guest's out of guest memory.
type copyingNested struct{ Nested }

// Spawn implements Nested.
func (n copyingNested) Spawn(ctx context.Context, mod, fn string, frame []byte, nOutput int, opts SpawnOptions) (uint32, error) {
	return n.Nested.Spawn(ctx, mod, fn, slices.Clone(frame), nOutput, opts)
}

// callNative runs native function f with an argument frame of n bytes that fill writes. The
// caller has counted the call with begin.
func (f *Function) callNative(ctx context.Context, n int, fill func(dst []byte)) (Result, error) {
	m := f.mod
	fail := func(err error, stderr []byte) (Result, error) {
		return Result{}, &CallError{Module: m.name, Function: f.name, Err: m.rt.closing(err), Stderr: stderr}
	}
	args := takeArgs(n)
	fill(args)
	value, stack, err := runNative(context.WithValue(ctx, nativeKey{}, m.rt), f.native, args)
	if overlaps(args, value) { // a result that is part of the arguments outlives their buffer
		value = append([]byte(nil), value...)
	}
	giveArgs(args)
	switch {
	case m.rt.stopped():
		// Close interrupted the calls still running: a native function is not stopped (it
		// ends when it returns, or when its ctx ends), but what it returns is not a result,
		// as with an uninterruptible guest.
		return fail(errStopped, nil)
	case stack != nil:
		return fail(err, capStack(stack, m.rt.cfg.MaxOutput))
	case err != nil && ctx.Err() != nil:
		// Cut short by its deadline or cancellation, as a guest is interrupted: the error
		// says so, whatever the function made of its context ending.
		return fail(interrupted(ctx), nil)
	case err != nil:
		return fail(&GuestError{Message: nativeMessage(err), Cause: err}, nil)
	}
	if limit := m.rt.cfg.MaxResult; len(value) > limit {
		return fail(fmt.Errorf("%w: result of %d bytes is over the limit of %d bytes (raise it with runtime.Config.MaxResult)", ErrLimit, len(value), limit), nil)
	}
	if err := abi.ValidateResult(value); err != nil {
		return fail(fmt.Errorf("%w: %w", ErrMalformedResult, err), nil)
	}
	return Result{Value: value}, nil
}

// runNative calls fn, turning a panic into a trap; stack is the panicking goroutine's stack,
// or nil when fn returned.
func runNative(ctx context.Context, fn NativeFunc, args []byte) (value, stack []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			value, stack = nil, debug.Stack()
			err = &TrapError{Reason: fmt.Sprintf("native function panicked: %v", p)}
		}
	}()
	value, err = fn(ctx, args)
	return value, nil, err
}

// capStack keeps the first max bytes of a panic's stack, for the call's stderr.
func capStack(stack []byte, max int) []byte {
	if len(stack) > max {
		stack = append(stack[:max:max], fmt.Sprintf("\n[mrun: %d more bytes dropped]\n", len(stack)-max)...)
	}
	return stack
}

// nativeMessage is the message of a native function's error, capped like a guest's.
func nativeMessage(err error) string {
	s := err.Error()
	if len(s) > abi.MaxErrorMessage {
		s = strings.ToValidUTF8(s[:abi.MaxErrorMessage], "")
	}
	return s
}

// errNativeName refuses a WebAssembly module loaded under a native module's name.
var errNativeName = errors.New("names that start with \"" + NativePrefix + "\" are reserved for native modules (runtime.LoadNative): load a WebAssembly module under another name")

// Argument frames of minPooledArgs bytes and more are built in buffers that are reused, one
// pool per power of two: a large frame (a tensor chunk) then costs a copy into memory already
// in use, instead of fresh memory to zero and fault in on every call.
const minPooledArgs = 64 << 10

var argPools [bits.UintSize]sync.Pool // by bits.Len of capacity-1: pool c holds capacity 1<<c

// takeArgs returns a buffer of n bytes for an argument frame.
func takeArgs(n int) []byte {
	if n < minPooledArgs {
		return make([]byte, n)
	}
	c := bits.Len(uint(n - 1))
	if p, ok := argPools[c].Get().(*[]byte); ok {
		return (*p)[:n]
	}
	return make([]byte, n, 1<<c)
}

// giveArgs returns a buffer takeArgs made, once the call is over.
func giveArgs(b []byte) {
	if c := cap(b); c >= minPooledArgs && c&(c-1) == 0 {
		p := new([]byte) // not &b: that would move b to the heap on every call
		*p = b
		argPools[bits.Len(uint(c-1))].Put(p)
	}
}

// overlaps reports whether b lies, even in part, in the memory of buf.
func overlaps(buf, b []byte) bool {
	if cap(buf) == 0 || len(b) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(buf)))
	hi := lo + uintptr(cap(buf))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return p < hi && lo < p+uintptr(len(b))
}
