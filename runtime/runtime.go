// Package runtime loads mrun guest modules with wazero and runs their functions in sandboxed,
// pooled instances.
//
// A Runtime compiles each distinct module once (identified by the SHA-256 of its bytes),
// validates it against the ABI without running it, and keeps a pool of ready instances per
// module. A module the compilation cache does not hold runs on wazero's interpreter until the
// compiler, working in the background, has compiled it (Config.WaitForCompiler). A call takes
// an instance from the pool, writes the argument frame into the instance's argument buffer,
// calls the function export once, copies the result frame out and returns the instance, unless
// the call trapped, was interrupted or returned a malformed result, in which case the instance
// is closed.
//
// Guests run with no filesystem, no environment, no arguments and no network; what they write
// to stdout and stderr is captured per call.
package runtime

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tetratelabs/wazero"
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
	// WaitForCompiler makes a load of a module the compilation cache does not hold compile
	// it with wazero's optimizing compiler before it returns. By default such a module is
	// translated for wazero's interpreter instead, which takes a fraction of the time, and its
	// first calls run there, under the same sandbox and limits but slower (a call that loops
	// takes about 20 times as long, and a call that starts there ends there), while the
	// compiler works in the background; new instances run the compiled code once it is ready,
	// and the compiled code lands in the compilation cache for the next process. Close waits
	// for a compilation still running when there is a cache to fill, and cancels it when
	// there is none. Module.WaitCompiled waits for the switch. Set WaitForCompiler when the
	// first calls are long.
	WaitForCompiler bool
}

// Runtime compiles modules and runs their functions. It is safe for concurrent use.
type Runtime struct {
	cfg   Config
	wz    wazero.Runtime
	cache wazero.CompilationCache
	mem   *memBudget // the linear memory of every instance

	// interp runs modules on wazero's interpreter while the compiler compiles them
	// (tiered.go); started on first use, under interpMu.
	interpMu sync.Mutex
	interp   wazero.Runtime
	// holdCompiler, set by tests, runs before a compilation in the background.
	holdCompiler func(*code)
	// abandon is closed when Close begins on a runtime without a compilation cache: the
	// compilations in the background then stop, as nothing would use their code.
	abandon    chan struct{}
	noCompiler bool // set by tests: modules stay on the interpreter

	mu      sync.Mutex
	modules map[[32]byte]*Module     // by Module.Identity
	loading map[[32]byte]*sync.Mutex // held while a module of that SHA-256 loads
	closed  bool

	// work counts the calls and loads running, plus closingBit once Close has begun; the
	// last one to end after that closes drained. stopping is closed when Close's context
	// ends with work still running: the calls left fail with ErrClosed (close.go).
	work      atomic.Int64
	drained   chan struct{}
	drainOnce sync.Once
	stopping  chan struct{}
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
	rt := &Runtime{cfg: cfg, abandon: make(chan struct{}), modules: map[[32]byte]*Module{}, drained: make(chan struct{}), stopping: make(chan struct{})}
	rt.mem = newMemBudget(rt, cfg.MemoryBudget)
	if cfg.CacheDir != "" {
		cache, err := wazero.NewCompilationCacheWithDir(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("runtime: compilation cache %s: %w", cfg.CacheDir, err)
		}
		rt.cache = cache
	}
	wz, err := rt.newWazero(ctx, false)
	if err != nil {
		return nil, err
	}
	rt.wz = wz
	return rt, nil
}

// newWazero starts a wazero runtime with the host modules: a compiling one sharing the
// compilation cache, or an interpreting one. It sets no memory limit: the memory allocator
// enforces each module's (memory.go), so that it knows when a guest's memory.grow failed at
// the limit.
func (rt *Runtime) newWazero(ctx context.Context, interpreted bool) (wazero.Runtime, error) {
	wcfg := wazero.NewRuntimeConfig()
	if interpreted {
		wcfg = wazero.NewRuntimeConfigInterpreter()
	}
	wcfg = wcfg.WithCloseOnContextDone(!rt.cfg.Uninterruptible)
	if rt.cache != nil && !interpreted {
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
// not retained. A name that starts with NativePrefix is refused: it is reserved for native
// modules (LoadNative).
func (rt *Runtime) Load(ctx context.Context, name string, wasm []byte) (*Module, error) {
	return rt.LoadWith(ctx, name, wasm, ModuleConfig{})
}

// LoadWith is Load with capabilities and limits for this module's instances. Loading bytes
// that are already loaded with an equal ModuleConfig (equal Identity and MaySpawn) returns the
// Module already loaded; loading them with other capabilities or limits gives another Module,
// with its own Identity and pool, that shares the compiled code. Loading them with the same
// capabilities and limits but another MaySpawn is an error: those two would share an Identity.
func (rt *Runtime) LoadWith(ctx context.Context, name string, wasm []byte, mc ModuleConfig) (*Module, error) {
	if strings.HasPrefix(name, NativePrefix) {
		return nil, &ModuleError{Module: name, Err: errNativeName}
	}
	if err := mc.check(); err != nil {
		return nil, &ModuleError{Module: name, Err: err}
	}
	sum := sha256.Sum256(wasm)
	id, err := identity(sum, mc)
	if err != nil {
		return nil, &ModuleError{Module: name, Err: err}
	}
	if err := rt.begin(ctx); err != nil {
		return nil, &ModuleError{Module: name, Err: err}
	}
	defer rt.end()
	// One load of the same bytes at a time: wazero shares compiled code between compilations
	// of one module, so a second compilation must not be made and then closed while the first
	// one's instances use that code. A concurrent Load waits, then finds the module loaded,
	// or one of the same bytes whose compiled code it shares.
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
	if m, ok := rt.modules[id]; ok && !m.native {
		rt.mu.Unlock()
		return m.sameConfig(mc)
	}
	var base *Module // a module of the same bytes with other capabilities
	for _, m := range rt.modules {
		if m.sum == sum && !m.native {
			base = m
			break
		}
	}
	rt.mu.Unlock()

	limit := rt.cfg.MemoryLimitPages
	if mc.MemoryLimitPages != 0 {
		limit = mc.MemoryLimitPages
	}
	var compiled wazero.CompiledModule
	var cd *code
	if base != nil {
		compiled, cd = base.compiled, base.code
	} else {
		if len(wasm) < 8 || string(wasm[:4]) != "\x00asm" {
			return nil, &ModuleError{Module: name, Err: fmt.Errorf("%w: missing the \\0asm magic number", ErrNotWasm)}
		}
		if err := precheck(wasm); err != nil {
			return nil, &ModuleError{Module: name, Err: fmt.Errorf("%w: %v", ErrNotWasm, err)}
		}
		cd, err = rt.compile(ctx, sum, wasm)
		if err != nil {
			return nil, &ModuleError{Module: name, Err: rt.closing(fmt.Errorf("%w: %v", ErrNotWasm, err))}
		}
		compiled = cd.cur.Load().compiled
	}
	closeOwn := func() {
		if base == nil {
			compiled.Close(ctx)
		}
	}
	for _, mem := range compiled.ExportedMemories() {
		if limit > 0 && mem.Min() > limit {
			closeOwn()
			return nil, &ModuleError{Module: name, Err: fmt.Errorf("%w (%d pages of 64 KiB): its memory starts at %d pages, over limit of %d pages", ErrMemoryLimit, limit, mem.Min(), limit)}
		}
		if mem.Min() > maxMemory/wasmPage {
			// Exactly 4 GiB: wazero's compiled code would read the memory's length as 0.
			closeOwn()
			return nil, &ModuleError{Module: name, Err: fmt.Errorf("%w: its memory starts at %d pages (4 GiB), over the most an instance can have, %d pages (4 GiB less one page): declare a smaller minimum where the module is built", ErrMemoryLimit, mem.Min(), maxMemory/wasmPage)}
		}
	}
	var m *Module
	if base != nil {
		m = base.withName(name)
	} else {
		m, err = newModule(rt, name, sum, wasm, compiled)
		if err != nil {
			closeOwn()
			return nil, &ModuleError{Module: name, Err: err}
		}
		m.wz, m.bin, m.code = rt.wz, slices.Clone(wasm), cd
		rt.startCompiler(cd, sum, m.bin)
	}
	m.config, m.identity = mc.clone(), id

	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.modules[id] = m // no other Load of these bytes ran meanwhile: it holds lock
	return m, nil
}

// Module returns the loaded module whose Identity is id, if any. For a module loaded without
// capabilities or limits of its own, that is its SHA-256 (Module.Sum).
func (rt *Runtime) Module(id [32]byte) (*Module, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	m, ok := rt.modules[id]
	return m, ok
}

// Lookup returns the loaded module that ref names: its Identity in hex, its SHA-256 in hex, or
// the name it was loaded under (Load, LoadFile, LoadNative). An Identity names one module. The
// SHA-256 of a module loaded without capabilities is its Identity, so it names that module even
// when the same bytes are also loaded with capabilities; a SHA-256 of bytes loaded only with
// several other ModuleConfigs is ambiguous and an error, as is a name shared by several modules.
func (rt *Runtime) Lookup(ref string) (*Module, error) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	var byName, bySum []*Module
	for _, m := range rt.modules {
		if m.IdentityHex() == ref {
			return m, nil
		}
		if m.SumHex() == ref {
			bySum = append(bySum, m)
		}
		if m.name == ref {
			byName = append(byName, m)
		}
	}
	sortModules := func(ms []*Module) {
		slices.SortFunc(ms, func(a, b *Module) int { return strings.Compare(a.IdentityHex(), b.IdentityHex()) })
	}
	switch {
	case len(bySum) == 1:
		return bySum[0], nil
	case len(bySum) > 1:
		sortModules(bySum)
		loaded := make([]string, len(bySum))
		for i, m := range bySum {
			loaded[i] = fmt.Sprintf("%s (identity %s)", m.name, m.IdentityHex())
		}
		return nil, fmt.Errorf("module SHA-256 %s is ambiguous: those bytes are loaded with %d different ModuleConfigs, as %s; name one by its identity", ref, len(bySum), strings.Join(loaded, ", "))
	case len(byName) == 1:
		return byName[0], nil
	case len(byName) > 1:
		sortModules(byName)
		ids := make([]string, len(byName))
		for i, m := range byName {
			ids[i] = m.IdentityHex()
		}
		return nil, fmt.Errorf("module name %q is ambiguous: loaded as the modules of identity %s; use one of those hashes", ref, strings.Join(ids, " and "))
	}
	return nil, fmt.Errorf("no module %q is loaded", ref)
}
