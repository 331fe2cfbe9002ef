package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// instance is one instantiated guest. It runs one call at a time.
type instance struct {
	mod   *Module
	guest api.Module
	mem   api.Memory
	alloc api.Function
	fns   []api.Function // per Module.funcs index, looked up on first use
	stack []uint64

	buf, bufCap uint32 // the argument buffer the guest handed over (ABI.md 1.3)

	stdout, stderr capBuffer
	errMsg         string // set by set_error during the current call
	failed         bool
	cause          error  // set by fail_with: the failed child the guest gave up on
	lastErr        string // message of the last failed nested-spawn import of the call
	cancelled      bool   // a nested-spawn import told the guest its call is being cancelled

	// effects is what the running call read of the world (effects.go), reset as it starts.
	// Only the goroutine running the call sets it: host functions run on it.
	effects Effects

	// What the running call cost, for Result.Guest and Result.Memory: reset as it starts and
	// set as its export returns. The times are measured when measure is set (WithUsage):
	// blocked is the time the guest spent waiting in the nested execute and fetch imports
	// (nested.go), which guestTime leaves out.
	measure            bool
	guestTime, blocked time.Duration
	memSize            uint64

	// call is the context of the running call (or of _initialize), nil between calls. The
	// guest's sleep watches it: wazero hands the sleep function no context, and the function
	// is fixed when the instance is made, while the instance serves many calls. Only the
	// goroutine running the call reads it (the sleep runs inside the call), so it needs no
	// synchronisation.
	call *callCtx

	roots []*os.Root // the mounts' directories, closed with the instance
}

// callCtx is the context of a running call: it carries the instance to the host functions.
// A fresh one is made per call, because wazero's interruption watchdog may still hold the
// previous call's context after the call returned.
type callCtx struct {
	context.Context
	inst *instance
}

type instanceKey struct{}

// Value returns the instance for instanceKey and defers everything else to the parent.
func (c *callCtx) Value(key any) any {
	if key == (instanceKey{}) {
		return c.inst
	}
	return c.Context.Value(key)
}

// instanceFrom returns the instance whose call is running in ctx, or nil.
func instanceFrom(ctx context.Context) *instance {
	inst, _ := ctx.Value(instanceKey{}).(*instance)
	return inst
}

// capBuffer keeps the first max bytes written to it and counts the rest.
type capBuffer struct {
	b       []byte
	max     int
	dropped int
}

func (c *capBuffer) Write(p []byte) (int, error) {
	room := c.max - len(c.b)
	if room >= len(p) {
		c.b = append(c.b, p...)
	} else {
		if room > 0 {
			c.b = append(c.b, p[:room]...)
		}
		c.dropped += len(p) - max(room, 0)
	}
	return len(p), nil
}

// take returns a copy of what was captured (nil when nothing was) and empties the buffer.
func (c *capBuffer) take() []byte {
	if len(c.b) == 0 && c.dropped == 0 {
		return nil
	}
	out := append([]byte(nil), c.b...)
	if c.dropped > 0 {
		out = fmt.Appendf(out, "\n[mrun: %d more bytes dropped]\n", c.dropped)
	}
	c.b, c.dropped = c.b[:0], 0
	return out
}

func (c *capBuffer) reset() { c.b, c.dropped = c.b[:0], 0 }

// newInstance instantiates m's compiled module in the sandbox and runs _initialize.
func newInstance(ctx context.Context, m *Module) (*instance, error) {
	inst := &instance{mod: m, fns: make([]api.Function, len(m.funcs)), stack: make([]uint64, 2)}
	inst.stdout.max = m.rt.cfg.MaxOutput
	inst.stderr.max = m.rt.cfg.MaxOutput
	cfg := wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module coexist
		WithStartFunctions().
		WithStdin(strings.NewReader("")).
		WithStdout(&inst.stdout).
		WithStderr(&inst.stderr)
	if !m.config.Deterministic {
		// Deterministic instances keep wazero's fake clocks, randomness and sleep, which
		// returns at once. The wall clock and randomness mark the running call's Effects; the
		// monotonic clock does not (effects.go).
		cfg = cfg.WithWalltime(inst.walltime, walltimeResolution).WithSysNanotime().
			WithNanosleep(inst.sleep).WithRandSource(randomReader{inst})
	}
	cfg, roots, err := m.config.apply(cfg, &inst.effects)
	if err != nil {
		return nil, err
	}
	inst.roots = roots
	guest, err := m.instantiate(ctx, cfg)
	if err != nil {
		closeRoots(roots)
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	inst.guest = guest
	inst.mem = guest.Memory()
	inst.alloc = guest.ExportedFunction(abi.ExportAlloc)
	if m.hasInit {
		cctx := &callCtx{Context: ctx, inst: inst}
		inst.call = cctx
		_, err := guest.ExportedFunction(abi.ExportInitialize).Call(cctx)
		inst.call = nil
		inst.errMsg, inst.failed, inst.cancelled = "", false, false
		if err != nil {
			inst.close()
			return nil, fmt.Errorf("%s: %w", abi.ExportInitialize, classify(ctx, err, &inst.stderr))
		}
	}
	inst.stdout.reset()
	inst.stderr.reset()
	return inst, nil
}

func (inst *instance) close() {
	inst.guest.Close(context.Background())
	closeRoots(inst.roots)
}

// callFailure is a failed call; discard says the instance must not be reused.
type callFailure struct {
	err     error
	discard bool
}

// run calls function f with an argument frame of n bytes that fill writes. On success it
// returns a copy of the result frame.
func (inst *instance) run(ctx context.Context, f *Function, n int, fill func([]byte)) ([]byte, *callFailure) {
	if uint64(n) > 1<<32-1 {
		return nil, &callFailure{err: fmt.Errorf("argument frame of %d bytes exceeds the 4 GiB address space", n)}
	}
	// A cancellable ctx arms wazero's per-call watchdog (WithCloseOnContextDone), which stops
	// the guest at its next loop check (RATIONALE.md: why guests are interruptible).
	cctx := &callCtx{Context: ctx, inst: inst}
	inst.call = cctx
	defer func() { inst.call = nil }()
	inst.effects = 0 // reads made while the instance started or by earlier calls are not this call's
	inst.guestTime, inst.blocked, inst.memSize = 0, 0, 0
	inst.measure = measured(ctx)
	if uint32(n) > inst.bufCap || inst.bufCap == 0 {
		want := max(uint32(n), 256)
		inst.stack[0] = uint64(want)
		if err := inst.alloc.CallWithStack(cctx, inst.stack); err != nil {
			return nil, &callFailure{err: fmt.Errorf("%s: %w", abi.ExportAlloc, inst.callError(ctx, err)), discard: true}
		}
		ptr := uint32(inst.stack[0])
		if ptr == 0 {
			return nil, &callFailure{err: fmt.Errorf("%w: %s(%d) returned 0: the guest is out of memory", ErrAlloc, abi.ExportAlloc, want), discard: true}
		}
		// Read checks the bounds in 64 bits, so no size or address can wrap around.
		if _, ok := inst.mem.Read(ptr, want); !ok {
			return nil, &callFailure{err: fmt.Errorf("%w: %s(%d) returned %d: the region [%d, %d) lies outside guest memory of %d bytes", ErrAlloc, abi.ExportAlloc, want, ptr, ptr, uint64(ptr)+uint64(want), inst.mem.Size()), discard: true}
		}
		inst.buf, inst.bufCap = ptr, want
	}
	dst, _ := inst.mem.Read(inst.buf, uint32(n)) // in bounds: checked when the buffer was handed over
	fill(dst)

	fn := inst.fns[f.index]
	if fn == nil {
		fn = inst.guest.ExportedFunction(f.export)
		inst.fns[f.index] = fn
	}
	inst.errMsg, inst.failed, inst.cause, inst.lastErr, inst.cancelled = "", false, nil, "", false
	inst.stack[0], inst.stack[1] = uint64(inst.buf), uint64(n)
	var began time.Duration
	if inst.measure {
		began = monotonic()
	}
	err := fn.CallWithStack(cctx, inst.stack)
	if inst.measure {
		inst.guestTime = max(monotonic()-began-inst.blocked, 0)
	}
	inst.memSize = uint64(inst.mem.Size())
	if err != nil {
		return nil, &callFailure{err: inst.callError(ctx, err), discard: true}
	}
	if inst.cancelled && ctx.Err() != nil {
		// The guest returned because a nested-spawn import told it the call was ending
		// (code -5): what it returned is not a result. wazero's watchdog, had it closed the
		// module first, would have failed the call the same way.
		return nil, &callFailure{err: fmt.Errorf("%w: %w", ErrInterrupted, context.Cause(ctx)), discard: true}
	}
	if inst.failed {
		return nil, &callFailure{err: &GuestError{Message: inst.errMsg, Cause: inst.cause}}
	}
	packed := inst.stack[0]
	ptr, size := uint32(packed>>32), uint32(packed)
	view, ok := inst.mem.Read(ptr, size)
	if !ok {
		return nil, &callFailure{err: fmt.Errorf("%w: frame [%d, %d) lies outside guest memory of %d bytes", ErrMalformedResult, ptr, uint64(ptr)+uint64(size), inst.mem.Size()), discard: true}
	}
	if limit := inst.mod.rt.cfg.MaxResult; uint64(size) > uint64(limit) {
		return nil, &callFailure{err: fmt.Errorf("%w: result of %d bytes is over the limit of %d bytes (raise it with runtime.Config.MaxResult)", ErrLimit, size, limit)}
	}
	if err := abi.ValidateResult(view); err != nil {
		return nil, &callFailure{err: fmt.Errorf("%w: %w", ErrMalformedResult, err), discard: true}
	}
	return append([]byte(nil), view...), nil
}

// callError classifies an error returned by a call into the guest, adding to a trap the
// likely reason when memory had reached its cap.
func (inst *instance) callError(ctx context.Context, err error) error {
	err = classify(ctx, err, &inst.stderr)
	if te, ok := err.(*TrapError); ok {
		inst.noteMemoryLimit(te)
		if inst.failed {
			te.Message = inst.errMsg
		}
	}
	return err
}

// classify turns an error from a guest call into an interruption or a *TrapError.
// outOfMemory reports whether a guest's stderr says that an allocation failed.
func outOfMemory(stderr []byte) bool {
	return bytes.Contains(stderr, []byte("out of memory")) || bytes.Contains(stderr, []byte("memory allocation of "))
}

func classify(ctx context.Context, err error, stderr *capBuffer) error {
	var exit *sys.ExitError
	if errors.As(err, &exit) {
		switch exit.ExitCode() {
		case sys.ExitCodeContextCanceled, sys.ExitCodeDeadlineExceeded:
			if cause := context.Cause(ctx); cause != nil {
				return fmt.Errorf("%w: %w", ErrInterrupted, cause)
			}
			return fmt.Errorf("%w: %v", ErrInterrupted, err)
		}
		return &TrapError{Exited: true, ExitCode: exit.ExitCode(), Reason: err.Error()}
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrInterrupted, context.Cause(ctx))
	}
	reason := err.Error()
	if i := strings.Index(reason, "\nwasm stack trace:"); i >= 0 {
		reason = reason[:i]
	}
	return &TrapError{Reason: sameOnEveryTier(reason)}
}

// pool keeps idle instances of one module.
type pool struct {
	mod     *Module
	maxIdle int
	mu      sync.Mutex
	idle    []*instance
	closed  bool
}

func newPool(m *Module, maxIdle int) *pool { return &pool{mod: m, maxIdle: maxIdle} }

func (p *pool) get(ctx context.Context) (*instance, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		inst := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return inst, nil
	}
	p.mu.Unlock()
	return newInstance(ctx, p.mod)
}

// put gives inst back for the next call, or closes it. Instances of a Deterministic module are
// never reused: a call on one would see the clock and random stream where the previous call
// left them, and whatever state the guest kept, so its outcome would depend on its history.
// Nor are instances of the interpreter's code once the module runs compiled (tiered.go).
func (p *pool) put(inst *instance) {
	p.mu.Lock()
	if !p.closed && len(p.idle) < p.maxIdle && !p.mod.config.Deterministic && !p.mod.stale(inst) {
		p.idle = append(p.idle, inst)
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	inst.close()
}

func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, inst := range p.idle {
		inst.close()
	}
	p.idle = nil
}

// Idle returns how many ready instances the module's pool holds.
func (m *Module) Idle() int {
	m.pool.mu.Lock()
	defer m.pool.mu.Unlock()
	return len(m.pool.idle)
}
