package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mrun-dev/mrun/graphfile"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/mrun-dev/mrun/table"
	"github.com/mrun-dev/mrun/tensor"
)

// nativeModules are the native modules built into mrun (runtime.LoadNative): Go code that
// guests, graph files and cluster workers reach by a module name that starts with "mrun:".
// A package adds its module with one entry, its function that returns the module.
var nativeModules = []func() runtime.NativeModule{tensor.Module, table.Module}

// registerNative loads the native modules built into mrun into rt. Every runtime the command
// starts calls it (newRuntime: run, call, worker, inspect), so that every mrun process and
// every worker has the same native modules, as the cluster expects.
var registerNative = func(ctx context.Context, rt *runtime.Runtime) error {
	for _, native := range nativeModules {
		m := native()
		if _, err := rt.LoadNative(ctx, m); err != nil {
			return fmt.Errorf("register native module %s: %w", m.Name, err)
		}
	}
	return nil
}

// isNativeRef reports whether a graph file's module path names a native module ("mrun:NAME")
// rather than a file.
func isNativeRef(path string) bool { return strings.HasPrefix(path, runtime.NativePrefix) }

// nativeFile resolves module m of a graph file whose path names a native module. A native
// module is trusted host code: it takes none of the capabilities and limits of the long form.
func nativeFile(g *graphfile.Graph, m graphfile.Module) (moduleFile, error) {
	var fields []string
	if len(m.Env) > 0 {
		fields = append(fields, "env")
	}
	if len(m.Mounts) > 0 {
		fields = append(fields, "mounts")
	}
	if m.Deterministic {
		fields = append(fields, "deterministic")
	}
	if m.MemoryPages > 0 {
		fields = append(fields, "memory_limit")
	}
	if len(m.Spawns) > 0 {
		fields = append(fields, "spawns")
	}
	if len(fields) > 0 {
		return moduleFile{}, g.Errorf(m.Pos, "module %q: %s is a native module, built into mrun: it takes no %s", m.Name, m.Path, strings.Join(fields, ", "))
	}
	var names []string
	for _, native := range nativeModules {
		nm := native()
		if nm.Name == m.Path {
			return moduleFile{path: m.Path, native: &nm}, nil
		}
		names = append(names, nm.Name)
	}
	slices.Sort(names)
	have := "it has none"
	if len(names) > 0 {
		have = "it has " + strings.Join(names, ", ")
	}
	return moduleFile{}, g.Errorf(m.Pos, "module %q: no native module %s is built into this mrun (%s)", m.Name, m.Path, have)
}

// identity is the Identity the module of f has once loaded: the graph's plan key is made of
// these.
func (f moduleFile) identity() ([32]byte, error) {
	if f.native != nil {
		return f.native.Sum(), nil
	}
	return runtime.IdentityOf(f.bytes, f.config)
}

// load loads the module of f into rt under name; a native module keeps its own name, which
// is how guests spawn into it.
func (f moduleFile) load(ctx context.Context, rt *runtime.Runtime, name string) (*runtime.Module, error) {
	if f.native != nil {
		return rt.LoadNative(ctx, *f.native)
	}
	return rt.LoadWith(ctx, name, f.bytes, f.config)
}

// loadInspected loads the module inspect shows: a file, or a native module by its name.
func loadInspected(ctx context.Context, rt *runtime.Runtime, path string) (*runtime.Module, error) {
	if isNativeRef(path) {
		if m, err := rt.Lookup(path); err == nil && m.Native() {
			return m, nil
		}
		return nil, fmt.Errorf("no native module %s is built into this mrun", path)
	}
	return rt.LoadFile(ctx, path)
}
