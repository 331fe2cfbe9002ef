package runtime

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/mrun-dev/mrun/abi"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Module is a compiled, validated guest module. It is safe for concurrent use.
type Module struct {
	rt       *Runtime
	name     string
	sum      [32]byte
	identity [32]byte // sum, or sum with the ModuleConfig (identity.go)
	size     int
	bin      []byte // the module's bytes, for executors that ship it to other machines
	compiled wazero.CompiledModule
	funcs    []*Function // sorted by name
	byName   map[string]*Function
	imports  []string // "module.name" of every imported function
	memMin   uint32
	memMax   uint32
	hasMax   bool
	hasInit  bool
	nested   bool           // imports nested-spawn host functions
	wz       wazero.Runtime // the runtime that compiled it: its own when it has its own memory cap
	code     *code          // what new instances run (tiered.go); nil for a native module
	config   ModuleConfig
	pool     *pool
	native   bool   // its functions are Go code (native.go)
	version  string // of a native module
}

// Function is one user function of a Module.
type Function struct {
	mod    *Module
	name   string
	export string
	index  int // position in Module.funcs, used to cache api.Function per instance
	native NativeFunc
	sig    *Signature // nil when the module does not describe the function
}

// Name returns the function's name (the export name without the "mrun_fn_" prefix).
func (f *Function) Name() string { return f.name }

// Module returns the module the function belongs to.
func (f *Function) Module() *Module { return f.mod }

// Name returns the name the module was loaded under.
func (m *Module) Name() string { return m.name }

// Sum returns the SHA-256 of the module's bytes. Modules loaded from the same bytes with
// different ModuleConfigs share it; Identity tells them apart.
func (m *Module) Sum() [32]byte { return m.sum }

// SumHex returns Sum as 64 lowercase hex digits.
func (m *Module) SumHex() string { return hex.EncodeToString(m.sum[:]) }

// Bytes returns the module's WebAssembly bytes. They must not be modified.
func (m *Module) Bytes() []byte { return m.bin }

// Size returns the length of the module's bytes.
func (m *Module) Size() int { return m.size }

// ABIVersion returns the ABI version the module declares.
func (m *Module) ABIVersion() int { return abi.Version }

// Nested reports whether the module imports the nested-spawn host functions, so that its
// calls can spawn tasks of their own.
func (m *Module) Nested() bool { return m.nested }

// Runtime returns the runtime the module was loaded in.
func (m *Module) Runtime() *Runtime { return m.rt }

// Imports returns the functions the module imports, as "module.name", in declaration order.
func (m *Module) Imports() []string { return slices.Clone(m.imports) }

// Memory returns the declared minimum and, when declared, maximum of the module's memory in
// 64 KiB pages.
func (m *Module) Memory() (min, max uint32, hasMax bool) { return m.memMin, m.memMax, m.hasMax }

// Functions returns the module's user functions sorted by name.
func (m *Module) Functions() []*Function { return slices.Clone(m.funcs) }

// Func returns the user function called name, or an error wrapping ErrUnknownFunction that
// lists the functions the module has.
func (m *Module) Func(name string) (*Function, error) {
	if f, ok := m.byName[name]; ok {
		return f, nil
	}
	names := make([]string, len(m.funcs))
	for i, f := range m.funcs {
		names[i] = f.name
	}
	have := "it exports none"
	if len(names) > 0 {
		have = "it has: " + strings.Join(names, ", ")
	}
	return nil, fmt.Errorf("module %s: %w %q (%s)", m.name, ErrUnknownFunction, name, have)
}

var (
	sigFn    = []api.ValueType{api.ValueTypeI32, api.ValueTypeI32}
	sigFnRes = []api.ValueType{api.ValueTypeI64}
	sigI32   = []api.ValueType{api.ValueTypeI32}
)

// hostImports lists the functions of module "mrun" the host provides, with their types.
var hostImports = func() map[string][2][]api.ValueType {
	m := map[string][2][]api.ValueType{abi.ImportSetError: {sigFn, nil}}
	for _, imp := range nestedImports {
		m[imp.name] = [2][]api.ValueType{imp.params, imp.results}
	}
	return m
}()

// newModule validates compiled against the ABI (ABI.md sections 1 and 2) without running it.
func newModule(rt *Runtime, name string, sum [32]byte, wasm []byte, compiled wazero.CompiledModule) (*Module, error) {
	m := &Module{rt: rt, name: name, sum: sum, size: len(wasm), compiled: compiled, byName: map[string]*Function{}}
	exports := compiled.ExportedFunctions()

	var markers []string
	for n := range exports {
		if strings.HasPrefix(n, abi.MarkerPrefix) {
			markers = append(markers, n)
		}
	}
	slices.Sort(markers)
	switch {
	case len(markers) == 0:
		return nil, fmt.Errorf("%w: it does not export the ABI marker function %q", ErrNotMrun, abi.Marker())
	case len(markers) > 1:
		return nil, fmt.Errorf("%w: it exports %d ABI markers (%s), want one", ErrBadExport, len(markers), strings.Join(markers, ", "))
	}
	v, err := strconv.Atoi(strings.TrimPrefix(markers[0], abi.MarkerPrefix))
	if err != nil {
		return nil, fmt.Errorf("%w: marker %q does not end in a version number", ErrBadExport, markers[0])
	}
	if v != abi.Version {
		return nil, fmt.Errorf("%w %d (this host implements version %d)", ErrVersion, v, abi.Version)
	}

	mem, ok := compiled.ExportedMemories()[abi.ExportMemory]
	if !ok {
		return nil, fmt.Errorf("%w: the module must export its memory as %q", ErrNoMemory, abi.ExportMemory)
	}
	m.memMin = mem.Min()
	m.memMax, m.hasMax = mem.Max()

	alloc, ok := exports[abi.ExportAlloc]
	if !ok {
		return nil, fmt.Errorf("%w: the module must export %q (i32) -> i32", ErrNoAlloc, abi.ExportAlloc)
	}
	if !sameSig(alloc, sigI32, sigI32) {
		return nil, fmt.Errorf("%w: %q has type %s, want (i32) -> i32", ErrBadExport, abi.ExportAlloc, sigString(alloc))
	}
	if init, ok := exports[abi.ExportInitialize]; ok {
		if !sameSig(init, nil, nil) {
			return nil, fmt.Errorf("%w: %q has type %s, want () -> ()", ErrBadExport, abi.ExportInitialize, sigString(init))
		}
		m.hasInit = true
	}
	if err := checkGoCommand(wasm, compiled); err != nil {
		return nil, err
	}

	for export, def := range exports {
		fn, ok := strings.CutPrefix(export, abi.FuncPrefix)
		if !ok {
			continue
		}
		if err := abi.CheckFuncName(fn); err != nil {
			return nil, fmt.Errorf("%w: export %q: %v", ErrBadExport, export, err)
		}
		if !sameSig(def, sigFn, sigFnRes) {
			return nil, fmt.Errorf("%w: function %q has type %s, want (i32, i32) -> i64", ErrBadExport, fn, sigString(def))
		}
		f := &Function{mod: m, name: fn, export: export}
		m.funcs = append(m.funcs, f)
		m.byName[fn] = f
	}
	slices.SortFunc(m.funcs, func(a, b *Function) int { return strings.Compare(a.name, b.name) })
	for i, f := range m.funcs {
		f.index = i
	}
	if err := m.readSignatures(wasm); err != nil {
		return nil, err
	}

	for _, def := range compiled.ImportedFunctions() {
		mod, n, _ := def.Import()
		m.imports = append(m.imports, mod+"."+n)
		switch mod {
		case abi.ImportModule:
			sig, ok := hostImports[n]
			if !ok {
				if slices.Contains(abi.ReservedImports, n) {
					return nil, fmt.Errorf("%w: %s.%s is reserved for a later revision of the ABI", ErrBadImport, mod, n)
				}
				return nil, fmt.Errorf("%w: %s.%s is not a host function", ErrBadImport, mod, n)
			}
			if !sameSig(def, sig[0], sig[1]) {
				return nil, fmt.Errorf("%w: %s.%s imported with type %s, want %s", ErrBadImport, mod, n, sigString(def), sigText(sig[0], sig[1]))
			}
		case "wasi_snapshot_preview1":
		default:
			return nil, fmt.Errorf("%w: function %s.%s (the host provides modules %q and \"wasi_snapshot_preview1\")", ErrBadImport, mod, n, abi.ImportModule)
		}
	}
	if mems := compiled.ImportedMemories(); len(mems) > 0 {
		mod, n, _ := mems[0].Import()
		return nil, fmt.Errorf("%w: memory %s.%s (a guest must define and export its own memory)", ErrBadImport, mod, n)
	}
	m.nested = importsNested(m.imports)
	m.pool = newPool(m, rt.cfg.MaxIdle)
	return m, nil
}

func sameSig(def api.FunctionDefinition, params, results []api.ValueType) bool {
	return slices.Equal(def.ParamTypes(), params) && slices.Equal(def.ResultTypes(), results)
}

func sigString(def api.FunctionDefinition) string {
	return sigText(def.ParamTypes(), def.ResultTypes())
}

func sigText(params, results []api.ValueType) string {
	names := func(ts []api.ValueType) string {
		s := make([]string, len(ts))
		for i, t := range ts {
			s[i] = api.ValueTypeName(t)
		}
		return "(" + strings.Join(s, ", ") + ")"
	}
	return names(params) + " -> " + names(results)
}

// withName returns a module of the same compiled code as m, loaded under name, with its own
// functions and pool; the caller sets its config and identity.
func (m *Module) withName(name string) *Module {
	c := &Module{rt: m.rt, name: name, sum: m.sum, size: m.size, bin: m.bin, compiled: m.compiled,
		byName: make(map[string]*Function, len(m.funcs)), imports: m.imports, memMin: m.memMin,
		memMax: m.memMax, hasMax: m.hasMax, hasInit: m.hasInit, nested: m.nested, wz: m.wz, code: m.code}
	c.funcs = make([]*Function, len(m.funcs))
	for i, f := range m.funcs {
		g := &Function{mod: c, name: f.name, export: f.export, index: f.index, sig: f.sig}
		c.funcs[i] = g
		c.byName[g.name] = g
	}
	c.pool = newPool(c, m.rt.cfg.MaxIdle)
	return c
}
