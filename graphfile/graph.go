package graphfile

import (
	"crypto/sha256"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/internal/suggest"
	"github.com/mrun-dev/mrun/runtime"
)

// This file reads a graph file into a Graph: modules, tasks expanded into calls, outputs,
// with every reference resolved. It checks everything that can be checked without loading a
// module; docs/graph-format.md is the user's description of the same rules.

// Graph is a graph file, parsed and checked: its modules, its tasks expanded into calls, and
// its outputs, every reference resolved. Parse returns one; Plan spawns its calls.
type Graph struct {
	file    string // the file as the user named it, for messages
	dir     string // module paths are relative to it
	modules []*moduleSpec
	tasks   []*taskSpec // file order
	order   []*taskSpec // dependencies before dependents
	outputs []*outputSpec
	calls   int // task instances in all
	// maxCalls is the most calls the file may expand to (--max-calls).
	maxCalls int
	// sum is the SHA-256 of the file's bytes: with its modules' identities, the key of its
	// outputs in the result cache.
	sum [32]byte

	root  *vnode                          // between ParseModules and ParseTasks
	funcs map[*taskSpec]*runtime.Function // each task's function, once Check found it
	sigs  map[*taskSpec]*sig.Signature    // each checked task's signature, nil if undescribed
}

// moduleSpec is one entry of modules:.
type moduleSpec struct {
	name, path string
	pos        pos
	// The capabilities and limits of the long form; the path form has none.
	env           map[string]string
	mounts        []mountSpec
	deterministic bool
	memoryPages   uint32
	// spawns names the modules of the graph whose functions this module's guests may spawn
	// although those modules hold capabilities this one lacks (runtime.ModuleConfig.MaySpawn).
	spawns    []string
	spawnsPos []pos
}

// mountSpec is one entry of a module's mounts: a host directory the guest may read.
type mountSpec struct {
	guest, host string // host as written: relative to the graph file's directory
	pos         pos    // of the host directory, which is what can be wrong when loading
}

// taskSpec is one entry of tasks:.
type taskSpec struct {
	name     string
	pos      pos
	module   *moduleSpec
	function string
	callPos  pos
	args     *vnode // a vList, or nil
	kwargs   *vnode // a vMap, or nil
	nOutput  int
	nOutPos  pos    // of n_output, when the task sets it
	foreach  *vnode // nil when the task is a single call
	deps     []*taskSpec
	timeout  time.Duration // 0: the engine's (--task-timeout)
	retries  int           // dag.Call.Retries: 0 is the engine's (--retries), -1 never
	impure   bool          // pure: false

	insts []*Call // one per foreach element, or one
	count int     // len(insts), known before they are made (see countCalls)
	shape sval    // what $name means: see instShape
}

// Call is one call of a planned graph: a task itself, or one element of its foreach.
type Call struct {
	task   *taskSpec
	index  int
	args   []sval
	kwargs sval // a vMap, or the zero sval when the task has none

	objs dag.Tuple // the call's outputs, once spawned
}

// Label names the call in messages, progress and traces: incs[3], or sum.
func (c *Call) Label() string {
	if c.task.foreach == nil {
		return c.task.name
	}
	return fmt.Sprintf("%s[%d]", c.task.name, c.index)
}

// outputSpec is one entry of outputs:.
type outputSpec struct {
	name  string
	pos   pos
	value sval
}

// sval is a resolved value: a literal, a list, a map, or one output of a call.
type sval struct {
	kind  vkind
	lit   any
	items []sval   // vList items; vMap values
	keys  []string // vMap keys
	call  *Call
	out   int // the output of call, or -1 when the call has a single output
}

var (
	topFields    = []string{"modules", "tasks", "outputs"}
	taskFields   = []string{"call", "args", "kwargs", "n_output", "foreach", "timeout", "retries", "pure"}
	moduleFields = []string{"path", "env", "mounts", "deterministic", "memory_limit", "spawns"}
	// loopNames are the references a foreach task's arguments may use besides task names.
	loopNames = []string{"item", "index"}
)

// parseModules reads the top level and the modules of a graph file, and returns the file's
// root for the rest of the reading: all a run needs to find the file's outputs in the result
// cache.
func parseModules(file string, src []byte, dir string) (*Graph, *vnode, error) {
	root, err := parseYAML(file, src)
	if err != nil {
		return nil, nil, err
	}
	g := &Graph{file: file, dir: dir, sum: sha256.Sum256(src)}
	if root.kind != vMap {
		return nil, nil, g.errorf(root.pos, "a graph file is a mapping with the keys modules, tasks and outputs")
	}
	for i, k := range root.keys {
		if !slices.Contains(topFields, k) {
			return nil, nil, g.errorf(root.keyPos[i], "unknown key %q%s (a graph file has %s)", k, didYouMean(k, topFields), strings.Join(topFields, ", "))
		}
	}
	if err := g.readModules(root); err != nil {
		return nil, nil, err
	}
	return g, root, nil
}

// parseGraph reads and checks a graph file. dir is the directory module paths are relative to.
func parseGraph(file string, src []byte, dir string) (*Graph, error) {
	return parseGraphLimit(file, src, dir, maxCalls)
}

// parseGraphLimit is parseGraph for a file that may expand to at most limit calls.
func parseGraphLimit(file string, src []byte, dir string, limit int) (*Graph, error) {
	g, root, err := parseModules(file, src, dir)
	if err != nil {
		return nil, err
	}
	return g, g.parseTasks(root, limit)
}

// parseTasks reads the tasks and outputs of the graph file whose root parseModules returned,
// for at most limit calls.
func (g *Graph) parseTasks(root *vnode, limit int) error {
	g.maxCalls = limit
	if err := g.readTasks(root); err != nil {
		return err
	}
	if err := g.link(); err != nil {
		return err
	}
	if err := g.sort(); err != nil {
		return err
	}
	if err := g.countCalls(); err != nil {
		return err
	}
	if err := g.expand(); err != nil {
		return err
	}
	if err := g.readOutputs(root); err != nil {
		return err
	}
	return nil
}

func (g *Graph) errorf(p pos, format string, args ...any) error {
	return &Error{file: g.file, pos: p, msg: fmt.Sprintf(format, args...)}
}

func (g *Graph) module(name string) *moduleSpec {
	for _, m := range g.modules {
		if m.name == name {
			return m
		}
	}
	return nil
}

func (g *Graph) task(name string) *taskSpec {
	for _, t := range g.tasks {
		if t.name == name {
			return t
		}
	}
	return nil
}

func (g *Graph) readModules(root *vnode) error {
	mods := root.get("modules")
	if mods == nil {
		return g.errorf(root.pos, "no modules: name the WebAssembly modules the tasks call, as in modules: {seed: seed.wasm}")
	}
	if mods.kind != vMap || len(mods.keys) == 0 {
		return g.errorf(mods.pos, "modules must map names to module files, as in modules: {seed: seed.wasm}")
	}
	for i, name := range mods.keys {
		p := mods.keyPos[i]
		if !refName.MatchString(name) {
			return g.errorf(p, "module name %q: use letters, digits, _ and - (tasks call MODULE.FUNCTION)", name)
		}
		m, err := g.readModule(name, p, mods.items[i])
		if err != nil {
			return err
		}
		g.modules = append(g.modules, m)
	}
	for _, m := range g.modules {
		for i, name := range m.spawns {
			if g.module(name) == nil {
				return g.errorf(m.spawnsPos[i], "module %q: spawns: unknown module %q%s (modules: %s)", m.name, name, didYouMean(name, g.moduleList()), g.moduleNames())
			}
		}
	}
	return nil
}

// readModule reads a module's path, or the long form {path: ..., env: ..., mounts: ...,
// deterministic: ..., memory_limit: ..., spawns: [...]}.
func (g *Graph) readModule(name string, p pos, v *vnode) (*moduleSpec, error) {
	m := &moduleSpec{name: name, pos: p}
	if v.kind != vMap {
		path, ok := v.lit.(string)
		if v.kind != vLit || !ok || path == "" {
			return nil, g.errorf(v.pos, "module %q: the value must be the path of a .wasm file, or a mapping with path and optionally %s", name, strings.Join(moduleFields[1:], ", "))
		}
		m.path = path
		return m, nil
	}
	for i, k := range v.keys {
		if !slices.Contains(moduleFields, k) {
			return nil, g.errorf(v.keyPos[i], "module %q: unknown field %q%s (a module has %s)", name, k, didYouMean(k, moduleFields), strings.Join(moduleFields, ", "))
		}
	}
	path := v.get("path")
	if path == nil {
		return nil, g.errorf(v.pos, "module %q: missing path: the .wasm file", name)
	}
	if s, ok := path.lit.(string); path.kind == vLit && ok && s != "" {
		m.path = s
	} else {
		return nil, g.errorf(path.pos, "module %q: path must be the path of a .wasm file", name)
	}
	if env := v.get("env"); env != nil {
		if env.kind != vMap {
			return nil, g.errorf(env.pos, "module %q: env must map variable names to values, as in env: {HOME: /home/ann}", name)
		}
		m.env = make(map[string]string, len(env.keys))
		for i, k := range env.keys {
			if strings.ContainsAny(k, "=\x00") {
				return nil, g.errorf(env.keyPos[i], "module %q: env: %q is not a variable name", name, k)
			}
			x := env.items[i]
			val, ok := "", x.kind == vLit
			switch lit := x.lit.(type) {
			case string:
				val = lit
			case int64, uint64, bool:
				val = fmt.Sprint(lit)
			default:
				ok = false
			}
			if !ok {
				return nil, g.errorf(x.pos, "module %q: env %s: the value must be a string", name, k)
			}
			m.env[k] = val
		}
	}
	if mounts := v.get("mounts"); mounts != nil {
		if mounts.kind != vMap {
			return nil, g.errorf(mounts.pos, "module %q: mounts must map guest paths to host directories, as in mounts: {/data: ./data}", name)
		}
		for i, guest := range mounts.keys {
			if !strings.HasPrefix(guest, "/") {
				return nil, g.errorf(mounts.keyPos[i], "module %q: mount %q: the guest path must be absolute, as in /data", name, guest)
			}
			x := mounts.items[i]
			host, ok := x.lit.(string)
			if x.kind != vLit || !ok || host == "" {
				return nil, g.errorf(x.pos, "module %q: mount %s: the value must be a host directory", name, guest)
			}
			m.mounts = append(m.mounts, mountSpec{guest: guest, host: host, pos: x.pos})
		}
	}
	if d := v.get("deterministic"); d != nil {
		b, ok := d.lit.(bool)
		if d.kind != vLit || !ok {
			return nil, g.errorf(d.pos, "module %q: deterministic must be true or false", name)
		}
		m.deterministic = b
	}
	if ml := v.get("memory_limit"); ml != nil {
		var pages uint32
		err := fmt.Errorf("the value must be a size like 64MiB or 1GiB")
		switch lit := ml.lit.(type) {
		case string:
			pages, err = MemoryPages(lit)
		case int64:
			pages, err = MemoryPages(fmt.Sprint(lit))
		}
		if ml.kind != vLit || err != nil {
			return nil, g.errorf(ml.pos, "module %q: memory_limit: %v", name, err)
		}
		m.memoryPages = pages
	}
	if sp := v.get("spawns"); sp != nil {
		if sp.kind != vList {
			return nil, g.errorf(sp.pos, "module %q: spawns must list the modules its guests may spawn into, as in spawns: [priv]", name)
		}
		for _, x := range sp.items {
			s, ok := x.lit.(string)
			if x.kind != vLit || !ok || s == "" {
				return nil, g.errorf(x.pos, "module %q: spawns: each entry must be the name of a module of this file", name)
			}
			m.spawns = append(m.spawns, s)
			m.spawnsPos = append(m.spawnsPos, x.pos)
		}
	}
	return m, nil
}

func (g *Graph) readTasks(root *vnode) error {
	tasks := root.get("tasks")
	if tasks == nil {
		return g.errorf(root.pos, "no tasks: a graph file needs tasks:")
	}
	if tasks.kind != vMap || len(tasks.keys) == 0 {
		return g.errorf(tasks.pos, "tasks must map task names to tasks, as in tasks: {one: {call: seed.inc, args: [0]}}")
	}
	for i, name := range tasks.keys {
		p := tasks.keyPos[i]
		switch {
		case slices.Contains(loopNames, name):
			return g.errorf(p, "task name %q is reserved: $%s means the current foreach element", name, name)
		case !refName.MatchString(name):
			return g.errorf(p, "task name %q: use letters, digits, _ and -, starting with a letter or _", name)
		}
		t, err := g.readTask(name, p, tasks.items[i])
		if err != nil {
			return err
		}
		g.tasks = append(g.tasks, t)
	}
	return nil
}

func (g *Graph) readTask(name string, p pos, v *vnode) (*taskSpec, error) {
	t := &taskSpec{name: name, pos: p, nOutput: 1}
	if v.kind != vMap {
		return nil, g.errorf(v.pos, "task %q: a task is a mapping with call and optionally args, kwargs, n_output, foreach, timeout, retries, pure", name)
	}
	for i, k := range v.keys {
		if !slices.Contains(taskFields, k) {
			return nil, g.errorf(v.keyPos[i], "task %q: unknown field %q%s (a task has %s)", name, k, didYouMean(k, taskFields), strings.Join(taskFields, ", "))
		}
	}
	call := v.get("call")
	if call == nil {
		return nil, g.errorf(p, "task %q: missing call: MODULE.FUNCTION", name)
	}
	t.callPos = call.pos
	s, ok := call.lit.(string)
	if call.kind != vLit || !ok {
		return nil, g.errorf(call.pos, "task %q: call must be a string MODULE.FUNCTION", name)
	}
	modName, fn, ok := strings.Cut(s, ".")
	if !ok || modName == "" || fn == "" {
		return nil, g.errorf(call.pos, "task %q: call %q must name MODULE.FUNCTION (modules: %s)", name, s, g.moduleNames())
	}
	if t.module = g.module(modName); t.module == nil {
		return nil, g.errorf(call.pos, "task %q: unknown module %q in call %q%s (modules: %s)", name, modName, s, didYouMean(modName, g.moduleList()), g.moduleNames())
	}
	t.function = fn
	if t.args = v.get("args"); t.args != nil && t.args.kind != vList {
		return nil, g.errorf(t.args.pos, "task %q: args must be a list", name)
	}
	if t.kwargs = v.get("kwargs"); t.kwargs != nil && t.kwargs.kind != vMap {
		return nil, g.errorf(t.kwargs.pos, "task %q: kwargs must be a mapping of names to values", name)
	}
	if n := v.get("n_output"); n != nil {
		k, ok := n.lit.(int64)
		if n.kind != vLit || !ok || k < 1 || k > 1<<20 {
			return nil, g.errorf(n.pos, "task %q: n_output must be a whole number from 1 to %d", name, 1<<20)
		}
		t.nOutput = int(k)
		t.nOutPos = n.pos
	}
	t.foreach = v.get("foreach")
	if to := v.get("timeout"); to != nil {
		s, _ := to.lit.(string)
		d, err := time.ParseDuration(s)
		switch {
		case to.kind != vLit || s == "" || err != nil:
			return nil, g.errorf(to.pos, "task %q: timeout must be a duration with a unit, as in 500ms, 30s or 5m", name)
		case d <= 0:
			return nil, g.errorf(to.pos, "task %q: timeout must be more than 0, got %s", name, s)
		}
		t.timeout = d
	}
	if r := v.get("retries"); r != nil {
		k, ok := r.lit.(int64)
		if r.kind != vLit || !ok || k < 0 || k > 1000 {
			return nil, g.errorf(r.pos, "task %q: retries must be a whole number from 0 to 1000", name)
		}
		t.retries = int(k)
		if k == 0 { // none, whatever --retries says
			t.retries = -1
		}
	}
	if p := v.get("pure"); p != nil {
		b, ok := p.lit.(bool)
		if p.kind != vLit || !ok {
			return nil, g.errorf(p.pos, "task %q: pure must be true or false (false: the call's result may differ from run to run; each call runs, and nothing is cached)", name)
		}
		t.impure = !b
	}
	return t, nil
}

func (g *Graph) moduleList() []string {
	names := make([]string, len(g.modules))
	for i, m := range g.modules {
		names[i] = m.name
	}
	return names
}

func (g *Graph) moduleNames() string { return strings.Join(g.moduleList(), ", ") }

func (g *Graph) taskNames() []string {
	names := make([]string, len(g.tasks))
	for i, t := range g.tasks {
		names[i] = t.name
	}
	return names
}

// link finds each task's dependencies and rejects references to unknown tasks and loop
// names used outside a foreach task's arguments.
func (g *Graph) link() error {
	for _, t := range g.tasks {
		seen := map[*taskSpec]bool{}
		visit := func(n *vnode, loop bool) error {
			return walkRefs(n, func(r *vnode) error {
				if slices.Contains(loopNames, r.ref.name) {
					if !loop {
						return g.errorf(r.pos, "task %q: $%s is only defined in the args and kwargs of a task with foreach", t.name, r.ref.name)
					}
					return nil
				}
				d := g.task(r.ref.name)
				if d == nil {
					return g.errorf(r.pos, "task %q: %s: no task named %q%s", t.name, r.ref.raw, r.ref.name, didYouMean(r.ref.name, g.taskNames()))
				}
				if !seen[d] {
					seen[d] = true
					t.deps = append(t.deps, d)
				}
				return nil
			})
		}
		if err := visit(t.foreach, false); err != nil {
			return err
		}
		if err := visit(t.args, t.foreach != nil); err != nil {
			return err
		}
		if err := visit(t.kwargs, t.foreach != nil); err != nil {
			return err
		}
	}
	return nil
}

// walkRefs calls f for every reference in n.
func walkRefs(n *vnode, f func(*vnode) error) error {
	if n == nil {
		return nil
	}
	switch n.kind {
	case vRef:
		return f(n)
	case vList, vMap:
		for _, x := range n.items {
			if err := walkRefs(x, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// sort orders the tasks dependencies first, keeping file order where the graph allows, and
// reports the first cycle it finds.
func (g *Graph) sort() error {
	const (
		unseen = iota
		active
		done
	)
	state := make(map[*taskSpec]int, len(g.tasks))
	var stack []*taskSpec
	var visit func(t *taskSpec) error
	visit = func(t *taskSpec) error {
		switch state[t] {
		case done:
			return nil
		case active:
			i := slices.Index(stack, t)
			path := make([]string, 0, len(stack)-i+1)
			for _, s := range stack[i:] {
				path = append(path, s.name)
			}
			path = append(path, t.name)
			return g.errorf(t.pos, "task %q: dependency cycle: %s", t.name, strings.Join(path, " -> "))
		}
		state[t] = active
		stack = append(stack, t)
		for _, d := range t.deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		state[t] = done
		g.order = append(g.order, t)
		return nil
	}
	for _, t := range g.tasks {
		if err := visit(t); err != nil {
			return err
		}
	}
	return nil
}

// loopEnv holds the current element of a foreach.
type loopEnv struct {
	item  sval
	index int
}

// expand turns each task into its calls, dependencies first, resolving every reference.
func (g *Graph) expand() error {
	for _, t := range g.order {
		owner := fmt.Sprintf("task %q", t.name)
		var items []sval
		n := 1
		if t.foreach != nil {
			var err error
			if items, err = g.foreachItems(t); err != nil {
				return err
			}
			n = len(items)
		}
		if g.calls += n; g.calls > g.maxCalls || n*t.nOutput > g.maxCalls { // countCalls checked this already
			return g.errorf(t.pos, "task %q: the graph expands to more than %d calls or outputs", t.name, g.maxCalls)
		}
		t.insts = make([]*Call, n)
		for i := range n {
			c := &Call{task: t, index: i}
			var env *loopEnv
			if t.foreach != nil {
				env = &loopEnv{item: items[i], index: i}
			}
			if t.args != nil {
				c.args = make([]sval, len(t.args.items))
				for j, a := range t.args.items {
					v, err := g.resolve(a, owner, env)
					if err != nil {
						return err
					}
					c.args[j] = v
				}
			}
			if t.kwargs != nil {
				v, err := g.resolve(t.kwargs, owner, env)
				if err != nil {
					return err
				}
				c.kwargs = v
			}
			t.insts[i] = c
		}
		if t.foreach != nil {
			t.shape = sval{kind: vList, items: make([]sval, n)}
			for i, c := range t.insts {
				t.shape.items[i] = callShape(c)
			}
		} else {
			t.shape = callShape(t.insts[0])
		}
	}
	return nil
}

// CallBytes is about how much memory one call of a graph file takes, planned and run: its
// parsed form, its spawned Object and the engine's record of it, and their share of the garbage
// collector's headroom (measured by TestPlanMemory; docs/graph-format.md).
const CallBytes = 1600

// countCalls computes how many calls each task expands to from the file alone, before any
// is made, and refuses a graph that expands to more than g.maxCalls calls or outputs: a
// graph over the limit must fail at once, not after planning has used the memory the limit
// protects. A foreach whose length cannot be told here (a mistake expand reports) counts 1.
func (g *Graph) countCalls() error {
	total, over := 0, (*taskSpec)(nil)
	for _, t := range g.order {
		t.count = 1
		if t.foreach != nil {
			if n, ok := g.foreachLen(t); ok {
				t.count = n
			}
		}
		if t.nOutput > 1 && t.count > g.maxCalls/t.nOutput {
			return g.errorf(t.pos, "task %q: %d calls of n_output %d make more than %d outputs, the limit (raise it with --max-calls; each output takes about %s)",
				t.name, t.count, t.nOutput, g.maxCalls, bytesText(CallBytes))
		}
		total = min(total+t.count, math.MaxInt/2) // t.count is at most MaxInt64/2: no overflow
		if total > g.maxCalls && over == nil {
			over = t
		}
	}
	if over != nil {
		return g.errorf(over.pos, "task %q: the graph expands to %d calls, more than the limit of %d (raise it with --max-calls; each call takes about %s)",
			over.name, total, g.maxCalls, bytesText(CallBytes))
	}
	return nil
}

// foreachLen returns how many elements t's foreach has, computed from the file and the
// counts of the tasks before t, or false when that takes more than counting (expand then
// reports what is wrong).
func (g *Graph) foreachLen(t *taskSpec) (int, bool) {
	f := t.foreach
	switch f.kind {
	case vList:
		return len(f.items), true
	case vMap:
		if len(f.keys) != 1 || f.keys[0] != "range" {
			return 0, false
		}
		_, _, n, err := g.rangeBounds(t, f.items[0])
		if err != nil {
			return 0, false
		}
		return int(min(n, math.MaxInt64/2)), true
	case vRef:
		d := g.task(f.ref.name)
		if d == nil {
			return 0, false
		}
		// The list levels a reference to d has: its foreach instances, then its outputs.
		var levels []int
		if d.foreach != nil {
			levels = append(levels, d.count)
		}
		if d.nOutput > 1 {
			levels = append(levels, d.nOutput)
		}
		for _, step := range f.ref.steps {
			switch {
			case len(levels) == 0:
				return 0, false
			case step < 0: // [*] keeps this level as the list's length
				return levels[0], true
			case step >= levels[0]:
				return 0, false
			}
			levels = levels[1:]
		}
		if len(levels) == 0 {
			return 0, false
		}
		return levels[0], true
	}
	return 0, false
}

// callShape is what a reference to one call means: its single output, or the list of its
// n_output outputs.
func callShape(c *Call) sval {
	if c.task.nOutput == 1 {
		return sval{kind: vRef, call: c, out: -1}
	}
	s := sval{kind: vList, items: make([]sval, c.task.nOutput)}
	for i := range s.items {
		s.items[i] = sval{kind: vRef, call: c, out: i}
	}
	return s
}

// foreachItems returns the elements a foreach task iterates over.
func (g *Graph) foreachItems(t *taskSpec) ([]sval, error) {
	f := t.foreach
	if f.kind == vMap {
		if len(f.keys) != 1 || f.keys[0] != "range" {
			return nil, g.errorf(f.pos, "task %q: foreach takes a list, a reference, or {range: N} / {range: [START, STOP, STEP]}", t.name)
		}
		return g.rangeItems(t, f.items[0])
	}
	v, err := g.resolve(f, fmt.Sprintf("task %q", t.name), nil)
	if err != nil {
		return nil, err
	}
	if v.kind != vList {
		what := "a single value"
		if f.kind == vRef {
			what = f.ref.raw + " is one value"
			if d := g.task(f.ref.name); d != nil && len(f.ref.steps) == 0 {
				what = fmt.Sprintf("%s is one value (task %q has no foreach and one output)", f.ref.raw, d.name)
			}
		}
		if k, ok := f.lit.(int64); f.kind == vLit && ok && k > 0 {
			return nil, g.errorf(f.pos, "task %q: foreach needs a list, and %d is a single value: for the numbers 0 to %d, write foreach: {range: %d}", t.name, k, k-1, k)
		}
		return nil, g.errorf(f.pos, "task %q: foreach needs a list, and %s", t.name, what)
	}
	return v.items, nil
}

func (g *Graph) rangeItems(t *taskSpec, r *vnode) ([]sval, error) {
	start, step, n, err := g.rangeBounds(t, r)
	if err != nil {
		return nil, err
	}
	if n < 0 || n > int64(g.maxCalls) {
		return nil, g.errorf(r.pos, "task %q: the range has more than %d elements (raise the limit with --max-calls)", t.name, g.maxCalls)
	}
	items := make([]sval, n)
	for i := range items {
		items[i] = sval{kind: vLit, lit: start + int64(i)*step}
	}
	return items, nil
}

// rangeBounds reads {range: N}, {range: [START, STOP]} or {range: [START, STOP, STEP]}: the
// first element, the step and the number of elements.
func (g *Graph) rangeBounds(t *taskSpec, r *vnode) (start, step, n int64, err error) {
	bad := g.errorf(r.pos, "task %q: range takes N, [START, STOP] or [START, STOP, STEP], whole numbers", t.name)
	var stop int64
	step = 1
	switch r.kind {
	case vLit:
		k, ok := r.lit.(int64)
		if !ok {
			return 0, 0, 0, bad
		}
		stop = k
	case vList:
		if len(r.items) < 2 || len(r.items) > 3 {
			return 0, 0, 0, bad
		}
		var xs [3]int64
		for i, x := range r.items {
			k, ok := x.lit.(int64)
			if x.kind != vLit || !ok {
				return 0, 0, 0, bad
			}
			xs[i] = k
		}
		start, stop = xs[0], xs[1]
		if len(r.items) == 3 {
			step = xs[2]
		}
	default:
		return 0, 0, 0, bad
	}
	if step == 0 {
		return 0, 0, 0, g.errorf(r.pos, "task %q: range step must not be 0", t.name)
	}
	switch {
	case step > 0 && stop > start:
		n = (stop-start-1)/step + 1
	case step < 0 && stop < start:
		n = (start-stop-1)/(-step) + 1
	}
	if n < 0 { // stop-start overflowed
		n = math.MaxInt64
	}
	return start, step, n, nil
}

// resolve turns a value of the file into an sval. owner names the task or output it belongs
// to, for messages; env is the current foreach element, or nil.
func (g *Graph) resolve(n *vnode, owner string, env *loopEnv) (sval, error) {
	switch n.kind {
	case vLit:
		return sval{kind: vLit, lit: n.lit}, nil
	case vList, vMap:
		if n.cache != nil { // a value without references is resolved once, however many calls share it
			return *n.cache, nil
		}
		s := sval{kind: n.kind, keys: n.keys, items: make([]sval, len(n.items))}
		for i, x := range n.items {
			v, err := g.resolve(x, owner, env)
			if err != nil {
				return sval{}, err
			}
			s.items[i] = v
		}
		if !n.hasRef {
			n.cache = &s
		}
		return s, nil
	}
	r := n.ref
	switch r.name {
	case "item", "index":
		if env == nil {
			return sval{}, g.errorf(n.pos, "%s: $%s is only defined in the args and kwargs of a task with foreach", owner, r.name)
		}
		base := env.item
		if r.name == "index" {
			base = sval{kind: vLit, lit: int64(env.index)}
		}
		return g.index(n, owner, base, r.steps, nil, 0)
	}
	t := g.task(r.name)
	if t == nil { // link reported these for tasks; outputs get here
		return sval{}, g.errorf(n.pos, "%s: %s: no task named %q%s", owner, r.raw, r.name, didYouMean(r.name, g.taskNames()))
	}
	return g.index(n, owner, t.shape, r.steps, t, 0)
}

// index applies the index steps of reference n to v. When the reference names a task t, level
// is how many of its levels (foreach instances, then outputs) have been indexed already.
func (g *Graph) index(n *vnode, owner string, v sval, steps []int, t *taskSpec, level int) (sval, error) {
	if len(steps) == 0 {
		return v, nil
	}
	what := func() string { // what the list at this level holds
		if t == nil {
			return fmt.Sprintf("$%s has %s", n.ref.name, plural(len(v.items), "element"))
		}
		levels := taskLevels(t)
		if level < len(levels) && levels[level] == "instances" {
			return fmt.Sprintf("task %q has %s (foreach)", t.name, plural(len(v.items), "instance"))
		}
		return fmt.Sprintf("task %q has %s (n_output: %d)", t.name, plural(len(v.items), "output"), t.nOutput)
	}
	if v.kind != vList {
		msg := fmt.Sprintf("$%s is not a list", n.ref.name)
		if t != nil {
			switch levels := taskLevels(t); {
			case len(levels) == 0:
				msg = fmt.Sprintf("task %q has one output and no foreach (to split its result into outputs, give it n_output); indexes select outputs and foreach instances, not parts of a value", t.name)
			default:
				what := strings.NewReplacer("instances", "foreach instance", "outputs", "output").Replace(strings.Join(levels, ", then "))
				msg = fmt.Sprintf("too many indexes: task %q takes %d (%s); indexes select outputs and foreach instances, not parts of a value", t.name, len(levels), what)
			}
		}
		return sval{}, g.errorf(n.pos, "%s: %s: %s", owner, n.ref.raw, msg)
	}
	if steps[0] < 0 { // [*]: apply the rest to every element
		out := sval{kind: vList, items: make([]sval, len(v.items))}
		for i, x := range v.items {
			y, err := g.index(n, owner, x, steps[1:], t, level+1)
			if err != nil {
				return sval{}, err
			}
			out.items[i] = y
		}
		return out, nil
	}
	if steps[0] >= len(v.items) {
		return sval{}, g.errorf(n.pos, "%s: %s: index %d out of range: %s", owner, n.ref.raw, steps[0], what())
	}
	return g.index(n, owner, v.items[steps[0]], steps[1:], t, level+1)
}

// taskLevels names the list levels a reference to t has: its foreach instances, then its
// outputs.
func taskLevels(t *taskSpec) []string {
	var l []string
	if t.foreach != nil {
		l = append(l, "instances")
	}
	if t.nOutput > 1 {
		l = append(l, "outputs")
	}
	return l
}

func (g *Graph) readOutputs(root *vnode) error {
	outs := root.get("outputs")
	if outs == nil { // every task is an output
		for _, t := range g.tasks {
			g.outputs = append(g.outputs, &outputSpec{name: t.name, pos: t.pos, value: t.shape})
		}
		return nil
	}
	if outs.kind != vMap {
		return g.errorf(outs.pos, "outputs must map names to values, as in outputs: {total: $total}")
	}
	for i, name := range outs.keys {
		v, err := g.resolve(outs.items[i], fmt.Sprintf("output %q", name), nil)
		if err != nil {
			return err
		}
		g.outputs = append(g.outputs, &outputSpec{name: name, pos: outs.keyPos[i], value: v})
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// didYouMean returns ` (did you mean "x"?)` when one of names is close to s.
func didYouMean(s string, names []string) string {
	best := suggest.Closest(s, names)
	if best == "" || best == s {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}
