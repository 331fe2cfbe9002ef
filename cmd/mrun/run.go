package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/spf13/cobra"
)

type runOptions struct {
	io     streams
	global *globalOptions
	exec   execOptions
	graph  string // path of the graph file, or - for stdin
	// maxCalls is the most calls the graph file may expand to.
	maxCalls int
}

func newRunCmd(g *globalOptions, io streams) *cobra.Command {
	o := &runOptions{io: io, global: g}
	cmd := &cobra.Command{
		Use:   "run GRAPH",
		Short: "Run a graph of tasks from a YAML or JSON file and print its outputs as JSON",
		Long: `Run the tasks of a graph file and print its outputs as one JSON object.

A graph file (YAML or JSON; - reads it from stdin) names WebAssembly modules and
tasks that call their functions. An argument "$name" is the value of another
task, anywhere inside lists and maps: that task runs first. foreach turns a task
into one call per element of a list or range. See docs/graph-format.md.

The whole file is checked, and its modules loaded, before any task runs;
mistakes are reported as FILE:LINE:COLUMN. Independent tasks run in parallel.
If a task fails, the tasks that depend on it do not run, the others finish, and
mrun exits with status 1 naming the first failed task (in file order).

Two different clocks: --timeout stops the whole command, --task-timeout
interrupts any one attempt of a task (a task's timeout: in the file overrides
it). With --retries N, or a task's retries:, a failed attempt runs again up to
N more times; the task fails only when the last attempt does.`,
		Example: `  # the seed examples: ten incs, their sum, triage of a list
  mrun run examples/seed.yaml

  # 100,000 tasks with a progress line and a trace for ui.perfetto.dev
  mrun run examples/fanout.yaml --progress --trace fanout.trace.json

  # two workers, no guest output, give up after a minute
  mrun run --workers 2 --quiet --timeout 1m examples/pipeline.yaml

  # no task may run longer than 10s; a failed one gets two more tries
  mrun run --task-timeout 10s --retries 2 examples/pipeline.yaml

  # a graph on stdin
  echo '{"modules": {"seed": "testdata/seed.wasm"},
         "tasks": {"x": {"call": "seed.inc", "args": [41]}}}' | mrun run -`,
		Args:              oneArg("a GRAPH file"),
		ValidArgsFunction: completeFiles("yaml", "yml", "json"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.graph = args[0]
			if err := o.exec.parsed(cmd); err != nil {
				return err
			}
			if o.maxCalls < 1 {
				return usagef("--max-calls must be at least 1, got %d", o.maxCalls)
			}
			return runRun(cmd.Context(), o)
		},
	}
	cmd.Flags().IntVar(&o.maxCalls, "max-calls", maxCalls, "refuse a graph file that expands to more than `N` calls (each takes about "+bytesText(callBytes)+" while planned and run)")
	o.exec.addFlags(cmd.Flags())
	return cmd
}

func runRun(ctx context.Context, o *runOptions) error {
	src, name, dir, err := readGraphSource(o.graph, o.io.In)
	if err != nil {
		return err
	}
	o.exec.resultCache = o.global.resultCache
	x := newExecution(&o.exec, o.io, true, "mrun run "+o.graph)
	// The outputs of a graph file run before may be in the result cache: the file's bytes and
	// its modules' identities say which, before its tasks are even read.
	g, root, err := parseModules(name, src, dir)
	if err != nil {
		return err
	}
	files, err := g.readModuleFiles(o.exec.memoryLimit.pages)
	if err != nil {
		return err
	}
	plan, planned, err := x.planKey(g, files)
	if err != nil {
		return err
	}
	if out := x.cachedOutputs(plan, planned); out != nil {
		return writeResultJSON(o.io, out)
	}
	if err := g.parseTasks(root, o.maxCalls); err != nil {
		return err
	}
	rt, err := newRuntime(ctx, o.global, o.exec.runtimeConfig())
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	if x.opts.cluster.url != "" {
		if err := g.checkClusterable(); err != nil {
			return err
		}
	}
	if err := x.connect(ctx); err != nil {
		return err
	}
	defer x.close()
	objs, err := g.spawn(ctx, rt, x, files)
	if err != nil {
		return err
	}
	eng, err := x.execute(ctx, objs)
	if err != nil {
		return err
	}
	out, err := g.collect(eng)
	if err != nil {
		return err
	}
	x.keepOutputs(g, plan, planned, out)
	return writeResult(o.io, out)
}

// loadGraph reads and checks the graph file at path, or stdin when path is -.
func loadGraph(path string, stdin io.Reader) (*graphSpec, error) {
	return loadGraphLimit(path, stdin, maxCalls)
}

// loadGraphLimit is loadGraph for a file that may expand to at most limit calls.
func loadGraphLimit(path string, stdin io.Reader, limit int) (*graphSpec, error) {
	src, name, dir, err := readGraphSource(path, stdin)
	if err != nil {
		return nil, err
	}
	return parseGraphLimit(name, src, dir, limit)
}

// readGraphSource reads the graph file at path, or stdin when path is -, and returns its bytes,
// its name for messages and the directory module paths are relative to.
func readGraphSource(path string, stdin io.Reader) (src []byte, name, dir string, err error) {
	name, dir = path, filepath.Dir(path)
	if path == "-" {
		name, dir = "<stdin>", "."
		src, err = io.ReadAll(stdin)
	} else {
		src, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, "", "", &usageError{err}
	}
	return src, name, dir, nil
}

// spawn loads the graph's modules and spawns every call, dependencies first. It returns the
// Objects to execute, and tells x the label of each call.
func (g *graphSpec) spawn(ctx context.Context, rt *runtime.Runtime, x *execution, files []moduleFile) ([]*dag.Object, error) {
	mods := make(map[*moduleSpec]*runtime.Module, len(g.modules))
	for i, m := range g.modules {
		path := files[i].path
		mod, err := files[i].load(ctx, rt, m.name) // native.go
		if err != nil {
			var me *runtime.ModuleError
			if errors.As(err, &me) {
				err = me.Err
			}
			return nil, g.errorf(m.pos, "module %q (%s): %v", m.name, path, err)
		}
		mods[m] = mod
	}
	// The execution asks for the outputs, and for the calls of tasks nothing else uses: that
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
		fn, err := mods[t.module].Func(t.function)
		if err != nil {
			return nil, g.errorf(t.callPos, "task %q: %v", t.name, err)
		}
		for _, c := range t.insts {
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
				return nil, g.errorf(t.pos, "task %q: %v", c.label(), err)
			}
			x.add(c, "", c.objs)
			if !used[t] { // the others run as dependencies of these
				objs = append(objs, c.objs...)
			}
			// The call's template holds its arguments now: let a large literal go before
			// anything runs, rather than keep it twice.
			c.args, c.kwargs = nil, sval{}
		}
		t.args, t.kwargs = nil, nil
	}
	for _, o := range g.outputs {
		objs = o.value.appendObjects(objs)
	}
	return objs, nil
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

// checkClusterable refuses the module capabilities a cluster cannot give its calls yet: the
// workers would run them without, and that must not pass unnoticed.
func (g *graphSpec) checkClusterable() error {
	for _, m := range g.modules {
		var caps []string
		if len(m.env) > 0 {
			caps = append(caps, "env")
		}
		if len(m.mounts) > 0 {
			caps = append(caps, "mounts")
		}
		if m.deterministic {
			caps = append(caps, "deterministic")
		}
		if m.memoryPages > 0 {
			caps = append(caps, "memory_limit")
		}
		if len(caps) > 0 {
			return g.errorf(m.pos, "module %q sets %s: a cluster cannot give its workers' calls module capabilities yet; run it without --cluster", m.name, strings.Join(caps, ", "))
		}
	}
	return nil
}

// moduleFile is a module of a graph file as read from disk, with its capabilities.
type moduleFile struct {
	path   string
	bytes  []byte
	config runtime.ModuleConfig
	native *runtime.NativeModule // a native module instead (native.go): no bytes, no config
}

// readModuleFiles reads the graph's module files, in the order of g.modules, and resolves their
// mounts.
// memoryLimit, --memory-limit, is the limit of the modules without memory_limit: as the
// module's, it is part of the module's identity, since a call can return another value under
// another limit.
func (g *graphSpec) readModuleFiles(memoryLimit uint32) ([]moduleFile, error) {
	files := make([]moduleFile, len(g.modules))
	for i, m := range g.modules {
		if isNativeRef(m.path) { // built in, not a file (native.go)
			f, err := g.nativeFile(m)
			if err != nil {
				return nil, err
			}
			files[i] = f
			continue
		}
		path := m.path
		if !filepath.IsAbs(path) {
			path = filepath.Join(g.dir, path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, g.errorf(m.pos, "module %q: %v", m.name, err)
		}
		mc := runtime.ModuleConfig{Env: m.env, Deterministic: m.deterministic, MemoryLimitPages: m.memoryPages, MaySpawn: m.spawns}
		if mc.MemoryLimitPages == 0 { // --memory-limit: see readModuleFiles
			mc.MemoryLimitPages = memoryLimit
		}
		for _, mt := range m.mounts {
			host := mt.host
			if !filepath.IsAbs(host) {
				host = filepath.Join(g.dir, host)
			}
			if err := checkDir(host); err != nil {
				return nil, g.errorf(mt.pos, "module %q: mount %s: %v", m.name, mt.guest, err)
			}
			mc.Mounts = append(mc.Mounts, runtime.Mount{HostDir: host, GuestPath: mt.guest})
		}
		files[i] = moduleFile{path: path, bytes: b, config: mc}
	}
	return files, nil
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

// collect fetches the graph's outputs into one JSON object, in file order.
func (g *graphSpec) collect(eng *dag.Engine) (*jsonObject, error) {
	return g.collectWith(func(o *dag.Object) (any, error) {
		var v any
		err := eng.Fetch(context.Background(), o, &v)
		return v, err
	}, nil)
}

// collectWith builds the outputs with the value of each reference from value, or, when objs
// is nil, from values: the values of the references in the order appendObjects lists them.
func (g *graphSpec) collectWith(value func(*dag.Object) (any, error), values []any) (*jsonObject, error) {
	next := func(s sval) (any, error) {
		if value != nil {
			return value(s.call.objs[max(s.out, 0)])
		}
		if len(values) == 0 {
			return nil, errors.New("fewer values than outputs")
		}
		v := values[0]
		values = values[1:]
		return v, nil
	}
	out := &jsonObject{}
	for _, o := range g.outputs {
		v, err := o.value.fetch(next)
		if err == nil {
			v, err = toJSON(v)
		}
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", o.name, err)
		}
		out.add(o.name, v)
	}
	return out, nil
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
		m := &jsonObject{}
		for i, x := range s.items {
			v, err := x.fetch(leaf)
			if err != nil {
				return nil, err
			}
			m.add(s.keys[i], v)
		}
		return m, nil
	case vRef:
		return leaf(s)
	}
	return s.lit, nil
}

// completeFiles completes file names with the given extensions.
func completeFiles(exts ...string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return exts, cobra.ShellCompDirectiveFilterFileExt
	}
}
