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
	"github.com/mrun-dev/mrun/graphfile"
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
	// deterministic makes every module of the graph deterministic, as deterministic: true.
	deterministic bool
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
			return lingerDashboard(cmd.Context(), &o.exec.dashboard, o.io, runRun(cmd.Context(), o))
		},
	}
	cmd.Flags().IntVar(&o.maxCalls, "max-calls", graphfile.DefaultMaxCalls, "refuse a graph file that expands to more than `N` calls (each takes about "+bytesText(graphfile.CallBytes)+" while planned and run)")
	o.exec.addFlags(cmd.Flags())
	o.exec.replay.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.exec.stats, "stats", false, statsUsage)
	cmd.Flags().BoolVar(&o.deterministic, "deterministic", false, "give every module a fixed clock and seeded randomness, as deterministic: true in the graph file does")
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
	g, err := graphfile.ParseModules(name, src, dir)
	if err != nil {
		return err
	}
	files, err := readModuleFiles(g, o.exec.memoryLimit.pages, o.deterministic)
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
	if err := g.ParseTasks(o.maxCalls); err != nil {
		return err
	}
	rt, err := newRuntime(ctx, o.global, o.exec.runtimeConfig())
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	if x.opts.cluster.url != "" {
		if err := checkClusterable(g); err != nil {
			return err
		}
		if o.deterministic {
			return usagef("--deterministic: a cluster cannot give its workers' calls module capabilities yet; run it without --cluster")
		}
	}
	if err := x.connect(ctx); err != nil {
		return err
	}
	defer x.close()
	objs, err := spawn(ctx, g, rt, x, files)
	if err != nil {
		return err
	}
	x.dashboardPlan(g) // dashboard.go
	eng, err := x.execute(ctx, objs)
	if err != nil {
		return err
	}
	out, err := collect(g, eng)
	if err != nil {
		return err
	}
	x.keepOutputs(g, plan, planned, out)
	return writeResult(o.io, out)
}

// loadGraph reads and checks the graph file at path, or stdin when path is -.
func loadGraph(path string, stdin io.Reader) (*graphfile.Graph, error) {
	return loadGraphLimit(path, stdin, graphfile.DefaultMaxCalls)
}

// loadGraphLimit is loadGraph for a file that may expand to at most limit calls.
func loadGraphLimit(path string, stdin io.Reader, limit int) (*graphfile.Graph, error) {
	src, name, dir, err := readGraphSource(path, stdin)
	if err != nil {
		return nil, err
	}
	return graphfile.Parse(name, src, dir, limit)
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

// spawn loads the graph's modules and plans every call. It returns the Objects to execute,
// and tells x the label of each call.
func spawn(ctx context.Context, g *graphfile.Graph, rt *runtime.Runtime, x *execution, files []moduleFile) ([]*dag.Object, error) {
	mods := make(map[string]*runtime.Module, len(files))
	for i, m := range g.Modules() {
		path := files[i].path
		mod, err := files[i].load(ctx, rt, m.Name) // native.go
		if err != nil {
			var me *runtime.ModuleError
			if errors.As(err, &me) {
				err = me.Err
			}
			return nil, g.Errorf(m.Pos, "module %q (%s): %v", m.Name, path, err)
		}
		mods[m.Name] = mod
	}
	return g.Plan(mods, func(c *graphfile.Call, objs dag.Tuple) { x.add(c, "", objs) })
}

// checkClusterable refuses the module capabilities a cluster cannot give its calls yet: the
// workers would run them without, and that must not pass unnoticed.
func checkClusterable(g *graphfile.Graph) error {
	for _, m := range g.Modules() {
		var caps []string
		if len(m.Env) > 0 {
			caps = append(caps, "env")
		}
		if len(m.Mounts) > 0 {
			caps = append(caps, "mounts")
		}
		if m.Deterministic {
			caps = append(caps, "deterministic")
		}
		if m.MemoryPages > 0 {
			caps = append(caps, "memory_limit")
		}
		if len(caps) > 0 {
			return g.Errorf(m.Pos, "module %q sets %s: a cluster cannot give its workers' calls module capabilities yet; run it without --cluster", m.Name, strings.Join(caps, ", "))
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
// another limit. deterministic, --deterministic, makes every module deterministic.
func readModuleFiles(g *graphfile.Graph, memoryLimit uint32, deterministic bool) ([]moduleFile, error) {
	mods := g.Modules()
	files := make([]moduleFile, len(mods))
	for i, m := range mods {
		if isNativeRef(m.Path) { // built in, not a file (native.go)
			f, err := nativeFile(g, m)
			if err != nil {
				return nil, err
			}
			files[i] = f
			continue
		}
		path := m.Path
		if !filepath.IsAbs(path) {
			path = filepath.Join(g.Dir(), path)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, g.Errorf(m.Pos, "module %q: %v", m.Name, err)
		}
		mc := runtime.ModuleConfig{Env: m.Env, Deterministic: m.Deterministic || deterministic, MemoryLimitPages: m.MemoryPages, MaySpawn: m.Spawns}
		if mc.MemoryLimitPages == 0 { // --memory-limit: see readModuleFiles
			mc.MemoryLimitPages = memoryLimit
		}
		for _, mt := range m.Mounts {
			host := mt.Host
			if !filepath.IsAbs(host) {
				host = filepath.Join(g.Dir(), host)
			}
			if err := checkDir(host); err != nil {
				return nil, g.Errorf(mt.Pos, "module %q: mount %s: %v", m.Name, mt.Guest, err)
			}
			mc.Mounts = append(mc.Mounts, runtime.Mount{HostDir: host, GuestPath: mt.Guest})
		}
		files[i] = moduleFile{path: path, bytes: b, config: mc}
	}
	return files, nil
}

// collect fetches the graph's outputs into one JSON object, in file order.
func collect(g *graphfile.Graph, eng *dag.Engine) (*jsonObject, error) {
	outs, err := g.Outputs(func(o *dag.Object) (any, error) {
		var v any
		err := eng.Fetch(context.Background(), o, &v)
		return v, err
	})
	if err != nil {
		return nil, err
	}
	out := &jsonObject{}
	for _, o := range outs {
		v, err := toJSON(o.Value)
		if err != nil {
			return nil, fmt.Errorf("output %q: %w", o.Name, err)
		}
		out.add(o.Name, v)
	}
	return out, nil
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
