// Package graphfile reads mrun's graph files (YAML or JSON, docs/graph-format.md): it parses
// a file into a tree that keeps the place of every value, checks everything that can be
// checked before a task runs, with messages of the form file:line:column, and plans the file
// into dag Objects once its modules are loaded. mrun's run and graph commands are thin layers
// over it; a Go service uses it the same way:
//
//	g, err := graphfile.Parse("g.yaml", src, ".", graphfile.DefaultMaxCalls)
//	mods := map[string]*runtime.Module{"seed": seed} // loaded as g.Modules() describe
//	objs, err := g.Plan(mods, nil)
//	err = eng.Execute(ctx, objs...)
//	outs, err := g.Outputs(fetch) // fetch: the engine's Fetch
//
// Checking happens in three steps, each reporting the first problem as an *Error at its
// place: Parse checks the file on its own, Check checks it against the loaded modules, and
// the calls check their arguments when they run. Example shows the whole round.
package graphfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/internal/bytesize"
	"strings"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// Pos is a place in a graph file: a line and a column in characters, both from 1. The zero
// Pos means the file as a whole.
type Pos struct{ Line, Col int }

func (p pos) export() Pos { return Pos{p.line, p.col} }

// File returns the name of the file the problem is in, as given to Parse.
func (e *Error) File() string { return e.file }

// Pos returns the place of the problem; the zero Pos for the file as a whole.
func (e *Error) Pos() Pos { return e.pos.export() }

// Msg returns the problem without its place.
func (e *Error) Msg() string { return e.msg }

// Module is one entry of a graph file's modules: the module file (or native module) a name
// stands for, with the capabilities and limits of the long form.
type Module struct {
	Name string
	// Path is the path as written: relative paths are relative to the graph's Dir.
	Path string
	Pos  Pos
	// Env, Mounts, Deterministic, MemoryPages and Spawns are the long form's fields; the
	// path form sets none.
	Env           map[string]string
	Mounts        []Mount
	Deterministic bool
	MemoryPages   uint32 // 0: no limit of its own
	Spawns        []string
}

// Mount is one entry of a module's mounts: a host directory the guest may read at Guest.
type Mount struct {
	Guest string
	Host  string // as written: relative to the graph's Dir
	Pos   Pos    // of the host directory
}

// ParseModules parses src, the bytes of a graph file, and reads its top level and its
// modules only: enough to load the modules and, with Sum, to look its outputs up in a result
// cache before planning. ParseTasks reads the rest. name names the file in messages; dir is
// the directory module paths are relative to.
func ParseModules(name string, src []byte, dir string) (*Graph, error) {
	g, root, err := parseModules(name, src, dir)
	if err != nil {
		return nil, err
	}
	g.root = root
	return g, nil
}

// ParseTasks reads and checks the tasks and outputs of a graph that ParseModules returned,
// refusing a file that expands to more than maxCalls calls or outputs.
func (g *Graph) ParseTasks(maxCalls int) error {
	if g.root == nil {
		return errors.New("graphfile: ParseTasks called twice or on a graph ParseModules did not return")
	}
	root := g.root
	g.root = nil
	return g.parseTasks(root, maxCalls)
}

// Parse parses and checks a graph file: ParseModules, then ParseTasks. Every problem it
// reports is an *Error at its place in the file.
func Parse(name string, src []byte, dir string, maxCalls int) (*Graph, error) {
	return parseGraphLimit(name, src, dir, maxCalls)
}

// Name returns the file's name as given to Parse, as messages print it.
func (g *Graph) Name() string { return g.file }

// Dir returns the directory the file's module paths and mounts are relative to.
func (g *Graph) Dir() string { return g.dir }

// Sum returns the SHA-256 of the file's bytes.
func (g *Graph) Sum() [32]byte { return g.sum }

// Modules returns the file's modules in file order.
func (g *Graph) Modules() []Module {
	out := make([]Module, len(g.modules))
	for i, m := range g.modules {
		mounts := make([]Mount, len(m.mounts))
		for j, mt := range m.mounts {
			mounts[j] = Mount{Guest: mt.guest, Host: mt.host, Pos: mt.pos.export()}
		}
		out[i] = Module{Name: m.name, Path: m.path, Pos: m.pos.export(), Env: m.env, Mounts: mounts,
			Deterministic: m.deterministic, MemoryPages: m.memoryPages, Spawns: m.spawns}
	}
	return out
}

// Errorf returns an *Error at p in the file, for problems found outside this package (a
// module that does not load, say), so that they print as the package's own.
func (g *Graph) Errorf(p Pos, format string, args ...any) error {
	return g.errorf(pos{p.Line, p.Col}, format, args...)
}

// Check checks the parsed graph against its loaded modules, mods by module name: that each
// module is there and exports the functions its tasks call, and, for a function its module
// describes (abi/ABI.md section 10), that each task's arguments and n_output fit the
// function's signature. Plan runs it first.
func (g *Graph) Check(mods map[string]*runtime.Module) error {
	if g.funcs == nil {
		g.funcs = make(map[*taskSpec]*runtime.Function, len(g.order))
		g.sigs = make(map[*taskSpec]*sig.Signature, len(g.order))
	}
	for _, t := range g.order {
		if g.funcs[t] != nil {
			continue
		}
		mod := mods[t.module.name]
		if mod == nil {
			return g.errorf(t.module.pos, "module %q is not loaded", t.module.name)
		}
		fn, err := mod.Func(t.function)
		if err != nil {
			return g.errorf(t.callPos, "task %q: %v", t.name, err)
		}
		if err := g.checkSignature(t, fn.Signature()); err != nil {
			return err
		}
		g.funcs[t] = fn
		g.sigs[t] = fn.Signature()
	}
	return nil
}

// CheckSignatures checks the tasks' arguments and n_output against signatures alone, sigs by
// module name (as sig.Read gives them from a module's bytes), without loaded modules: what
// mrun graph checks. Tasks of a module missing from sigs, and calls of functions their module
// does not describe, are not checked. Check does all this and more once modules are loaded.
func (g *Graph) CheckSignatures(sigs map[string][]*sig.Signature) error {
	byName := map[string]map[string]*sig.Signature{}
	for mod, list := range sigs {
		m := make(map[string]*sig.Signature, len(list))
		for _, s := range list {
			m[s.Name] = s
		}
		byName[mod] = m
	}
	if g.sigs == nil {
		g.sigs = make(map[*taskSpec]*sig.Signature, len(g.order))
	}
	for _, t := range g.order {
		s := byName[t.module.name][t.function]
		if err := g.checkSignature(t, s); err != nil {
			return err
		}
		g.sigs[t] = s
	}
	return nil
}

// Plan checks the graph against mods (see Check) and spawns every call, dependencies first.
// It returns the Objects to run: the outputs, and the calls of the tasks nothing else uses,
// so that running them runs every call. spawned, when not nil, is told each call and its
// Objects as it is made. A graph is planned once.
func (g *Graph) Plan(mods map[string]*runtime.Module, spawned func(c *Call, objs dag.Tuple)) ([]*dag.Object, error) {
	if err := g.Check(mods); err != nil {
		return nil, err
	}
	// The runner asks for the outputs, and for the calls of tasks nothing else uses: that
	// runs every call, and tells the engine which values are wanted (it keeps those in the
	// result cache, not the intermediate ones).
	used := map[*taskSpec]bool{}
	for _, t := range g.order {
		for _, d := range t.deps {
			used[d] = true
		}
	}
	var objs []*dag.Object
	for _, t := range g.order {
		fn := g.funcs[t]
		for _, c := range t.insts {
			if c.objs != nil {
				return nil, fmt.Errorf("graphfile: %s is planned already", g.file)
			}
			args := make([]any, len(c.args))
			for i, a := range c.args {
				args[i] = a.goValue()
			}
			var kwargs map[string]any
			if c.kwargs.kind == vMap {
				kwargs, _ = c.kwargs.goValue().(map[string]any)
			}
			c.objs = dag.Call{Func: fn, Args: args, Kwargs: kwargs, NOutput: t.nOutput, Timeout: t.timeout, Retries: t.retries, Impure: t.impure}.Spawn()
			if err := c.objs[0].Err(); err != nil {
				return nil, g.errorf(t.pos, "task %q: %v", c.Label(), err)
			}
			if spawned != nil {
				spawned(c, c.objs)
			}
			if !used[t] { // the others run as dependencies of these
				objs = append(objs, c.objs...)
			}
			// The call's template holds its arguments now: let a large literal go before
			// anything runs, rather than keep it twice.
			c.args, c.kwargs = nil, sval{}
		}
		t.args, t.kwargs = nil, nil
	}
	return append(objs, g.OutputObjects()...), nil
}

// OutputObjects returns the Objects the planned graph's outputs are made of, in the order of
// the outputs.
func (g *Graph) OutputObjects() []*dag.Object {
	var objs []*dag.Object
	for _, o := range g.outputs {
		objs = o.value.appendObjects(objs)
	}
	return objs
}

// Output is one output of a graph file, with its value.
type Output struct {
	Name string
	// Value is the output's value: a literal, the value of a call, or []any and *Map of them.
	Value any
}

// Map is a mapping of a graph file's outputs, with its keys in file order.
type Map struct {
	Keys   []string
	Values []any
}

// Outputs returns the planned graph's outputs in file order, the value of each call they
// refer to from value (typically the engine's Fetch, once the Objects Plan returned have run).
func (g *Graph) Outputs(value func(*dag.Object) (any, error)) ([]Output, error) {
	leaf := func(s sval) (any, error) { return value(s.call.objs[max(s.out, 0)]) }
	out := make([]Output, len(g.outputs))
	for i, o := range g.outputs {
		v, err := o.value.fetch(leaf)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", o.name, err)
		}
		out[i] = Output{Name: o.name, Value: v}
	}
	return out, nil
}

// Node is a node of a graph file's drawing: a task, or one call of it (see Nodes).
type Node struct {
	// Name is the task's name, or the call's label (incs[3]) when expanded.
	Name string
	// Func is the function called: MODULE.FUNCTION.
	Func string
	// Instances is the number of calls of a foreach task, 0 for a task without foreach or
	// when expanded.
	Instances int
	// NOutput is the task's n_output.
	NOutput int
	// Deps are the indexes of the nodes it depends on.
	Deps []int
}

// Nodes lists the graph's tasks in file order or, when expand is set, their calls.
func (g *Graph) Nodes(expand bool) []Node {
	var nodes []Node
	if !expand {
		index := map[*taskSpec]int{}
		for i, t := range g.tasks {
			index[t] = i
		}
		for _, t := range g.tasks {
			n := Node{Name: t.name, Func: t.module.name + "." + t.function, NOutput: t.nOutput}
			if t.foreach != nil {
				n.Instances = len(t.insts)
			}
			for _, d := range t.deps {
				n.Deps = append(n.Deps, index[d])
			}
			nodes = append(nodes, n)
		}
		return nodes
	}
	index := map[*Call]int{}
	for _, t := range g.tasks {
		for _, c := range t.insts {
			index[c] = len(index)
		}
	}
	for _, t := range g.tasks {
		for _, c := range t.insts {
			n := Node{Name: c.Label(), Func: t.module.name + "." + t.function, NOutput: t.nOutput}
			seen := map[int]bool{}
			var visit func(s sval)
			visit = func(s sval) {
				switch s.kind {
				case vRef:
					if i := index[s.call]; !seen[i] {
						seen[i] = true
						n.Deps = append(n.Deps, i)
					}
				case vList, vMap:
					for _, x := range s.items {
						visit(x)
					}
				}
			}
			for _, a := range c.args {
				visit(a)
			}
			visit(c.kwargs)
			nodes = append(nodes, n)
		}
	}
	return nodes
}

// appendObjects appends the Objects s refers to.
func (s sval) appendObjects(objs []*dag.Object) []*dag.Object {
	switch s.kind {
	case vList, vMap:
		for _, x := range s.items {
			objs = x.appendObjects(objs)
		}
	case vRef:
		objs = append(objs, s.call.objs[max(s.out, 0)])
	}
	return objs
}

// goValue is the value to spawn with: Objects in place of references.
func (s sval) goValue() any {
	switch s.kind {
	case vList:
		l := make([]any, len(s.items))
		for i, x := range s.items {
			l[i] = x.goValue()
		}
		return l
	case vMap:
		m := make(map[string]any, len(s.items))
		for i, x := range s.items {
			m[s.keys[i]] = x.goValue()
		}
		return m
	case vRef:
		return s.call.objs[max(s.out, 0)]
	}
	return s.lit
}

func (s sval) fetch(leaf func(sval) (any, error)) (any, error) {
	switch s.kind {
	case vList:
		l := make([]any, len(s.items))
		for i, x := range s.items {
			v, err := x.fetch(leaf)
			if err != nil {
				return nil, err
			}
			l[i] = v
		}
		return l, nil
	case vMap:
		m := &Map{Keys: s.keys, Values: make([]any, len(s.items))}
		for i, x := range s.items {
			v, err := x.fetch(leaf)
			if err != nil {
				return nil, err
			}
			m.Values[i] = v
		}
		return m, nil
	case vRef:
		return leaf(s)
	}
	return s.lit, nil
}

// MemoryPages parses a memory limit like 65536, 512KiB, 64MiB or 4GiB into whole 64 KiB
// pages, rounding down, as a module's memory_limit (and mrun's --memory-limit) reads it.
func MemoryPages(s string) (uint32, error) {
	n, err := bytesize.Parse(s)
	if err != nil {
		return 0, err
	}
	pages := n / pageSize
	if pages == 0 {
		return 0, fmt.Errorf("%s is less than one 64KiB page", s)
	}
	return uint32(pages), nil
}

const pageSize = 64 << 10

// bytesText prints a size in binary units with one decimal: 4.1 MiB.
func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

// MarshalJSON writes the map as a JSON object with its keys in file order.
func (m *Map) MarshalJSON() ([]byte, error) {
	var b []byte
	b = append(b, '{')
	for i, k := range m.Keys {
		if i > 0 {
			b = append(b, ',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(m.Values[i])
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, kb...), ':'), vb...)
	}
	return append(b, '}'), nil
}
