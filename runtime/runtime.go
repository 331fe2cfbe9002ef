// Package runtime loads mrun guest modules with wazero and runs their functions in sandboxed,
// pooled instances.
//
// A Runtime compiles each distinct module once (identified by the SHA-256 of its bytes),
// validates it against the ABI without running it, and keeps a pool of ready instances per
// module. A call takes an instance from the pool, writes the argument frame into the
// instance's argument buffer, calls the function export once, copies the result frame out and
// returns the instance, unless the call trapped, was interrupted or returned a malformed
// result, in which case the instance is closed.
//
// Guests run with no filesystem, no environment, no arguments and no network; what they write
// to stdout and stderr is captured per call.
package runtime

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
)

// Config configures a Runtime. The zero value is ready to use.
type Config struct {
	// MemoryLimitPages caps every instance's linear memory, in 64 KiB pages. Zero means the
	// WebAssembly maximum (4 GiB). A module whose declared minimum exceeds the cap fails to
	// load; growth beyond it fails inside the guest (memory.grow returns -1).
	MemoryLimitPages uint32
	// CacheDir, when set, persists compiled machine code there so later processes load the
	// same module much faster. Empty means compile in memory only.
	CacheDir string
	// MaxIdle is how many idle instances each module's pool keeps. Zero means
	// 2 × GOMAXPROCS, at least 4. Instances above the cap are closed when returned.
	MaxIdle int
	// MaxOutput caps what one call may write to stdout, and separately to stderr; the rest is
	// dropped. Zero means 1 MiB.
	MaxOutput int
	// MaxResult caps the size of one result frame, in bytes; a larger result fails the call
	// (the instance is kept). Zero means 256 MiB.
	MaxResult int
	// Uninterruptible compiles guests without the checks that let a cancelled or timed-out
	// context stop a running call. Loops then run many times faster (see RATIONALE.md), but a
	// call can no longer be interrupted: a guest that never returns holds its goroutine forever.
	// Only for trusted, terminating guests.
	Uninterruptible bool
	// CompileWorkers is how many goroutines compile the functions of one module at once. Zero
	// means GOMAXPROCS; 1 compiles them one after another.
	CompileWorkers int
	// MemoryBudget caps the linear memory of all the runtime's instances together, in bytes.
	// Growing memory past it fails inside the guest (memory.grow returns -1) once closing
	// idle pooled instances has not made room, and a new instance that would not fit fails to
	// start with an error wrapping ErrLimit. Zero means three quarters of the machine's
	// physical memory (MemTotal in /proc/meminfo, or the cgroup's memory limit when lower);
	// a negative value means no budget.
	MemoryBudget int64
}

// Runtime compiles modules and runs their functions. It is safe for concurrent use.
type Runtime struct {
	cfg   Config
	wz    wazero.Runtime
	cache wazero.CompilationCache
	mem   *memBudget // the linear memory of every instance

	mu      sync.Mutex
	modules map[[32]byte]*Module
	loading map[[32]byte]*sync.Mutex // held while the module of that SHA-256 compiles
	closed  bool
}

// New starts a Runtime: a wazero runtime with WASI preview 1 and the mrun host functions.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.MaxIdle <= 0 {
		cfg.MaxIdle = max(4, 2*goruntime.GOMAXPROCS(0))
	}
	if cfg.MaxOutput <= 0 {
		cfg.MaxOutput = 1 << 20
	}
	if cfg.CompileWorkers <= 0 {
		cfg.CompileWorkers = goruntime.GOMAXPROCS(0)
	}
	if cfg.MaxResult <= 0 {
		cfg.MaxResult = 256 << 20
	}
	if cfg.MemoryLimitPages > 65536 {
		return nil, fmt.Errorf("runtime: memory limit of %d pages exceeds the 4 GiB (65536 pages) WebAssembly maximum", cfg.MemoryLimitPages)
	}
	rt := &Runtime{cfg: cfg, modules: map[[32]byte]*Module{}}
	rt.mem = newMemBudget(rt, cfg.MemoryBudget)
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("runtime: compilation cache %s: %w", cfg.CacheDir, err)
		}
		rt.cache = cache
	}
	wz, err := rt.newWazero(ctx)
	if err != nil {
		return nil, err
	}
	rt.wz = wz
	return rt, nil
}

// newWazero starts a wazero runtime with the host modules, sharing the compilation cache.
// It sets no memory limit: the memory allocator enforces each module's (memory.go), so that it
// knows when a guest's memory.grow failed at the limit.
func (rt *Runtime) newWazero(ctx context.Context) (wazero.Runtime, error) {
	wcfg := wazero.NewRuntimeConfig().WithCloseOnContextDone(!rt.cfg.Uninterruptible)
	if rt.cache != nil {
		wcfg = wcfg.WithCompilationCache(rt.cache)
	}
	wz := wazero.NewRuntimeWithConfig(ctx, wcfg)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, wz); err != nil {
		wz.Close(ctx)
		return nil, fmt.Errorf("runtime: instantiate WASI: %w", err)
	}
	if err := instantiateHost(ctx, wz); err != nil {
		wz.Close(ctx)
		return nil, fmt.Errorf("runtime: instantiate host module: %w", err)
	}
	return wz, nil
}

// Close closes every instance and compiled module. Calls running at the time fail.
func (rt *Runtime) Close(ctx context.Context) error {
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil
	}
	rt.closed = true
	var own []wazero.Runtime
	for _, m := range rt.modules {
		m.pool.close()
		if m.wz != rt.wz {
			own = append(own, m.wz)
		}
	}
	rt.mu.Unlock()
	// The instances left are running calls: their memory must stay mapped (memory.go).
	rt.mem.closing.Store(true)
	err := rt.wz.Close(ctx)
	for _, wz := range own {
		err = errors.Join(err, wz.Close(ctx))
	}
	if rt.cache != nil {
		err = errors.Join(err, rt.cache.Close(ctx))
	}
	return err
}

// LoadFile reads a module from path and loads it under the file's base name without the
// ".wasm" extension.
func (rt *Runtime) LoadFile(ctx context.Context, path string) (*Module, error) {
	name := strings.TrimSuffix(filepath.Base(path), ".wasm")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, &ModuleError{Module: name, Err: err}
	}
	return rt.Load(ctx, name, b)
}

// Load compiles and validates a module with no capabilities and the runtime's limits. Loading
// the same bytes again returns the Module already loaded (under its first name); the bytes are
// not retained.
func (rt *Runtime) Load(ctx context.Context, name string, wasm []byte) (*Module, error) {
	return rt.LoadWith(ctx, name, wasm, ModuleConfig{})
}

// LoadWith is Load with capabilities and limits for this module's instances. Loading bytes
// that are already loaded with a different ModuleConfig is an error.
func (rt *Runtime) LoadWith(ctx context.Context, name string, wasm []byte, mc ModuleConfig) (*Module, error) {
	if err := mc.check(); err != nil {
		return nil, &ModuleError{Module: name, Err: err}
	}
	sum := sha256.Sum256(wasm)
	// One load of the same bytes at a time: wazero shares compiled code between compilations
	// of one module, so a second compilation must not be made and then closed while the first
	// one's instances use that code. A concurrent Load waits, then finds the module loaded.
	rt.mu.Lock()
	if rt.loading == nil {
		rt.loading = map[[32]byte]*sync.Mutex{}
	}
	lock := rt.loading[sum]
	if lock == nil {
		lock = &sync.Mutex{}
		rt.loading[sum] = lock
	}
	rt.mu.Unlock()
	lock.Lock()
	defer lock.Unlock()
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return nil, &ModuleError{Module: name, Err: errors.New("runtime is closed")}
	}
	if m, ok := rt.modules[sum]; ok {
		rt.mu.Unlock()
		return m.sameConfig(mc)
	}
	rt.mu.Unlock()

	if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
		return nil, &ModuleError{Module: name, Err: fmt.Errorf("%w: missing the \\0asm magic number", ErrNotWasm)}
	}
	if err := precheck(wasm); err != nil {
		return nil, &ModuleError{Module: name, Err: fmt.Errorf("%w: %v", ErrNotWasm, err)}
	}
	wz, limit := rt.wz, rt.cfg.MemoryLimitPages
	if mc.MemoryLimitPages != 0 {
		limit = mc.MemoryLimitPages
	}
	closeOwn := func() {
		if wz != rt.wz {
			wz.Close(ctx)
		}
	}
	compiled, err := wz.CompileModule(experimental.WithCompilationWorkers(ctx, rt.cfg.CompileWorkers), wasm)
	if err != nil {
		closeOwn()
		return nil, &ModuleError{Module: name, Err: fmt.Errorf("%w: %v", ErrNotWasm, err)}
	}
	for _, mem := range compiled.ExportedMemories() {
		if limit > 0 && mem.Min() > limit {
			compiled.Close(ctx)
			closeOwn()
			return nil, &ModuleError{Module: name, Err: fmt.Errorf("%w (%d pages of 64 KiB): its memory starts at %d pages, over limit of %d pages", ErrMemoryLimit, limit, mem.Min(), limit)}
		}
	}
	m, err := newModule(rt, name, sum, len(wasm), compiled)
	if err != nil {
		compiled.Close(ctx)
		closeOwn()
		return nil, &ModuleError{Module: name, Err: err}
	}
	m.wz, m.config, m.bin = wz, mc.clone(), slices.Clone(wasm)

	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.modules[sum] = m // no other Load of these bytes ran meanwhile: it holds lock
	return m, nil
}

// Module returns the loaded module with the given SHA-256, if any.
func (rt *Runtime) Module(sum [32]byte) (*Module, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	m, ok := rt.modules[sum]
	return m, ok
}

// Lookup returns the loaded module whose name (as given to Load or LoadFile) or SHA-256 in hex
// is ref. A name shared by several modules is ambiguous: use the hash.
func (rt *Runtime) Lookup(ref string) (*Module, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var found *Module
	for _, m := range rt.modules {
		if m.SumHex() == ref {
			return m, nil
		}
		if m.name == ref {
			if found != nil {
				return nil, fmt.Errorf("module name %q is ambiguous: loaded from %s and %s; use the SHA-256", ref, found.SumHex(), m.SumHex())
			}
			found = m
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no module %q is loaded", ref)
	}
	return found, nil
}
