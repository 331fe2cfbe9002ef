package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
)

// Tiered start (RATIONALE.md: why the first calls run on the interpreter): wazero's compiler
// compiles every function of a module before the first call, which takes seconds for a Go
// guest. Unless Config.WaitForCompiler is set or the compilation cache already holds the
// module, a load translates the module for wazero's interpreter instead, which is several
// times quicker, and the compiler works in the background. New instances run the compiled
// code once it is ready; instances already made keep running on the interpreter until they
// are discarded, and idle ones are closed at the switch.

// tier is a module compiled by one of the runtime's wazero runtimes.
type tier struct {
	wz          wazero.Runtime
	compiled    wazero.CompiledModule
	interpreted bool

	// use is read-locked while an instance is made from compiled; retired is set under its
	// write lock once the tier is replaced, then compiled is closed to free the
	// interpreter's code (the instances made from it hold on to what they run).
	use     sync.RWMutex
	retired bool
}

// code is what a module's new instances run. Modules loaded from the same bytes share it.
type code struct {
	cur  atomic.Pointer[tier]
	done chan struct{} // closed once the compiler finished (cur is then compiled) or failed
}

func newCode(t *tier) *code {
	c := &code{done: make(chan struct{})}
	c.cur.Store(t)
	if !t.interpreted {
		close(c.done)
	}
	return c
}

// tier returns the code the module's new instances run.
func (m *Module) tier() *tier { return m.code.cur.Load() }

// useTier returns the code the module's new instances run, read-locked so that it is not
// retired while an instance is made from it: the caller unlocks t.use.
func (m *Module) useTier() *tier {
	for {
		t := m.code.cur.Load()
		t.use.RLock()
		if !t.retired {
			return t
		}
		t.use.RUnlock()
	}
}

// stale reports whether inst runs code the module has since replaced, so that it should
// not go back to the pool.
func (m *Module) stale(inst *instance) bool {
	g, ok := inst.guest.(*guestModule)
	return ok && m.code != nil && g.tier != m.code.cur.Load()
}

// Interpreted reports whether the module's new instances run on wazero's interpreter,
// because the compiler is still compiling the module in the background (Config.WaitForCompiler).
func (m *Module) Interpreted() bool {
	if m.code == nil {
		return false
	}
	return m.tier().interpreted
}

// WaitCompiled waits until the module's new instances run compiled code, or the compiler
// gave up on the module (its instances then stay on the interpreter), or ctx ends, whose
// cause it then returns. It returns at once for a module that was compiled when it loaded.
func (m *Module) WaitCompiled(ctx context.Context) error {
	if m.code == nil {
		return nil
	}
	select {
	case <-m.code.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("module %s: wait for the compiler: %w", m.name, context.Cause(ctx))
	}
}

// sameOnEveryTier returns a trap's reason as the compiled code gives it, so that a guest fails
// with the same message whichever tier ran it: the interpreter reports a stack overflow as a
// "wasm error", the compiled code does not.
func sameOnEveryTier(reason string) string {
	if reason == "wasm error: stack overflow" {
		return "stack overflow"
	}
	return reason
}

// compile compiles wasm: with the compiler when the runtime waits for it or the compilation
// cache holds the module already, else on the interpreter, leaving the compiler to
// startCompiler.
func (rt *Runtime) compile(ctx context.Context, sum [32]byte, wasm []byte) (*code, error) {
	if rt.cfg.WaitForCompiler || rt.cached(sum) {
		compiled, err := rt.wz.CompileModule(experimental.WithCompilationWorkers(ctx, rt.cfg.CompileWorkers), wasm)
		if err != nil {
			return nil, err
		}
		rt.markCached(sum)
		return newCode(&tier{wz: rt.wz, compiled: compiled}), nil
	}
	wz, err := rt.interpreter(ctx)
	if err != nil {
		return nil, err
	}
	compiled, err := wz.CompileModule(ctx, wasm)
	if err != nil {
		return nil, err
	}
	return newCode(&tier{wz: wz, compiled: compiled, interpreted: true}), nil
}

// interpreter returns the runtime's interpreting wazero runtime, starting it on first use.
// It has the same host modules and settings as the compiling one.
func (rt *Runtime) interpreter(ctx context.Context) (wazero.Runtime, error) {
	rt.interpMu.Lock()
	defer rt.interpMu.Unlock()
	if rt.interp != nil {
		return rt.interp, nil
	}
	wz, err := rt.newWazero(ctx, true)
	if err != nil {
		return nil, err
	}
	rt.interp = wz
	return wz, nil
}

// startCompiler compiles the module of c in the background, unless it is compiled already
// or the runtime is closing, and switches c to the compiled code when done. Close waits for
// it (it counts as work) and cancels it when Close's context ends, or at once when there is
// no compilation cache to fill.
func (rt *Runtime) startCompiler(c *code, sum [32]byte, wasm []byte) {
	if !c.cur.Load().interpreted {
		return
	}
	if rt.noCompiler {
		close(c.done)
		return
	}
	if rt.work.Add(1)&closingBit != 0 {
		rt.end()
		close(c.done) // no compiler will come: WaitCompiled must not wait for one
		return
	}
	go func() {
		defer rt.end()
		defer close(c.done)
		if rt.holdCompiler != nil {
			rt.holdCompiler(c) // tests: keep the module on the interpreter for now
		}
		select {
		case <-rt.stopping:
			return
		case <-rt.abandon:
			return
		default:
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-rt.stopping:
				cancel()
			case <-rt.abandon:
				cancel()
			case <-ctx.Done():
			}
		}()
		compiled, err := rt.wz.CompileModule(experimental.WithCompilationWorkers(ctx, rt.cfg.CompileWorkers), wasm)
		if err != nil {
			return // the module's instances stay on the interpreter, which accepted it
		}
		rt.markCached(sum)
		old := c.cur.Swap(&tier{wz: rt.wz, compiled: compiled})
		rt.dropStale(c)
		old.use.Lock()
		old.retired = true
		old.use.Unlock()
		old.compiled.Close(context.Background())
	}()
}

// abandonCompilers stops the compilations in the background when Close begins, unless their
// code would land in the compilation cache for the next process: then Close waits for them,
// as long as its context allows.
func (rt *Runtime) abandonCompilers() {
	if rt.cache == nil {
		close(rt.abandon)
	}
}

// dropStale closes the idle instances of the modules that run c but were made from the code
// it replaced.
func (rt *Runtime) dropStale(c *code) {
	rt.mu.Lock()
	var mods []*Module
	for _, m := range rt.modules {
		if m.code == c {
			mods = append(mods, m)
		}
	}
	rt.mu.Unlock()
	for _, m := range mods {
		p := m.pool
		p.mu.Lock()
		var stale []*instance
		keep := p.idle[:0]
		for _, inst := range p.idle {
			if m.stale(inst) {
				stale = append(stale, inst)
			} else {
				keep = append(keep, inst)
			}
		}
		clear(p.idle[len(keep):])
		p.idle = keep
		p.mu.Unlock()
		for _, inst := range stale {
			inst.close()
		}
	}
}

// cached reports whether a process of this build has compiled the module into the
// compilation cache, as far as its marker says. wazero does not tell whether its cache holds
// a module, and the cache's keys are its own; a marker that is wrong costs time, not
// correctness.
func (rt *Runtime) cached(sum [32]byte) bool {
	p := rt.cacheMarker(sum)
	if p == "" {
		return false
	}
	_, err := os.Stat(p)
	return err == nil
}

// markCached records that the compilation cache holds the module. Failing to is harmless:
// the next process then starts on the interpreter again.
func (rt *Runtime) markCached(sum [32]byte) {
	p := rt.cacheMarker(sum)
	if p == "" {
		return
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
		_ = os.WriteFile(p, nil, 0o644)
	}
}

// cacheMarker returns the path of the marker of a module in the compilation cache, "" when
// there is no cache. It depends on what the compiled code depends on: the module's bytes, the
// wazero version and platform, and whether the code checks for interruption.
func (rt *Runtime) cacheMarker(sum [32]byte) string {
	if rt.cfg.CacheDir == "" {
		return ""
	}
	h := sha256.New()
	h.Write(sum[:])
	fmt.Fprintf(h, "\x00%s\x00%s/%s\x00%v", wazeroVersion(), goruntime.GOOS, goruntime.GOARCH, rt.cfg.Uninterruptible)
	return filepath.Join(rt.cfg.CacheDir, "mrun-compiled", hex.EncodeToString(h.Sum(nil)[:16]))
}

// wazeroVersion is the version of wazero this binary was built with, "" when unknown.
var wazeroVersion = sync.OnceValue(func() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/tetratelabs/wazero" {
			if d.Replace != nil {
				return d.Replace.Path + "@" + d.Replace.Version
			}
			return d.Version
		}
	}
	return ""
})
