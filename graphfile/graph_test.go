package graphfile

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const graphHead = "modules: {seed: seed.wasm}\ntasks:\n"

func TestParseGraph_Errors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"empty", "", "g.yaml: the graph file is empty"},
		{"two documents", "a: 1\n---\nb: 2\n", "g.yaml:3:2: the graph file holds 2 YAML documents; want one"},
		{"not a mapping", "- 1\n", "g.yaml:1:1: a graph file is a mapping with the keys modules, tasks and outputs"},
		{"syntax", graphHead + "  a: {call: seed.inc, args: [1, 2\n", "g.yaml:3:29: sequence end token ']' not found"},
		{"duplicate task", graphHead + "  a: {call: seed.inc}\n  a: {call: seed.inc}\n", `g.yaml:4:3: mapping key "a" already defined at [3:3]`},
		{"unknown top-level key", graphHead + "  a: {call: seed.inc}\noutput: {}\n", `g.yaml:4:1: unknown key "output" (did you mean "outputs"?) (a graph file has modules, tasks, outputs)`},
		{"no modules", "tasks: {a: {call: seed.inc}}\n", "g.yaml:1:1: no modules: name the WebAssembly modules the tasks call, as in modules: {seed: seed.wasm}"},
		{"no tasks", "modules: {seed: seed.wasm}\n", "g.yaml:1:1: no tasks: a graph file needs tasks:"},
		{"module path", "modules: {seed: 3}\ntasks: {a: {call: seed.inc}}\n", `g.yaml:1:17: module "seed": the value must be the path of a .wasm file, or a mapping with path and optionally env, mounts, deterministic, memory_limit, spawns`},
		{"module name", "modules: {se.ed: seed.wasm}\ntasks: {a: {call: seed.inc}}\n", `g.yaml:1:11: module name "se.ed": use letters, digits, _ and - (tasks call MODULE.FUNCTION)`},
		{"reserved task name", graphHead + "  item: {call: seed.inc}\n", `g.yaml:3:3: task name "item" is reserved: $item means the current foreach element`},
		{"bad task name", graphHead + "  a.b: {call: seed.inc}\n", `g.yaml:3:3: task name "a.b": use letters, digits, _ and -, starting with a letter or _`},
		{"task not a mapping", graphHead + "  a: seed.inc\n", `g.yaml:3:6: task "a": a task is a mapping with call and optionally args, kwargs, n_output, foreach, timeout, retries, pure`},
		{"unknown field", graphHead + "  a: {call: seed.inc, arg: [1]}\n", `g.yaml:3:23: task "a": unknown field "arg" (did you mean "args"?) (a task has call, args, kwargs, n_output, foreach, timeout, retries, pure)`},
		{"timeout without unit", graphHead + "  a: {call: seed.inc, timeout: 30}\n", `g.yaml:3:32: task "a": timeout must be a duration with a unit, as in 500ms, 30s or 5m`},
		{"negative timeout", graphHead + "  a: {call: seed.inc, timeout: -1s}\n", `g.yaml:3:32: task "a": timeout must be more than 0, got -1s`},
		{"negative retries", graphHead + "  a: {call: seed.inc, retries: -1}\n", `g.yaml:3:32: task "a": retries must be a whole number from 0 to 1000`},
		{"module unknown field", "modules: {seed: {path: s.wasm, mount: {}}}\ntasks: {a: {call: seed.inc}}\n", `g.yaml:1:32: module "seed": unknown field "mount" (did you mean "mounts"?) (a module has path, env, mounts, deterministic, memory_limit, spawns)`},
		{"module env reference", "modules: {seed: {path: s.wasm, env: {A: $b}}}\ntasks: {a: {call: seed.inc}}\n", `g.yaml:1:41: module "seed": env A: the value must be a string`},
		{"module mount guest path", "modules: {seed: {path: s.wasm, mounts: {data: d}}}\ntasks: {a: {call: seed.inc}}\n", `g.yaml:1:41: module "seed": mount "data": the guest path must be absolute, as in /data`},
		{"module memory limit", "modules: {seed: {path: s.wasm, memory_limit: 0}}\ntasks: {a: {call: seed.inc}}\n", `g.yaml:1:46: module "seed": memory_limit: 0 is less than one 64KiB page`},
		{"missing call", graphHead + "  a: {args: [1]}\n", `g.yaml:3:3: task "a": missing call: MODULE.FUNCTION`},
		{"call without module", graphHead + "  a: {call: inc}\n", `g.yaml:3:13: task "a": call "inc" must name MODULE.FUNCTION (modules: seed)`},
		{"unknown module", graphHead + "  a: {call: sed.inc}\n", `g.yaml:3:13: task "a": unknown module "sed" in call "sed.inc" (did you mean "seed"?) (modules: seed)`},
		{"args not a list", graphHead + "  a: {call: seed.inc, args: 1}\n", `g.yaml:3:29: task "a": args must be a list`},
		{"kwargs not a map", graphHead + "  a: {call: seed.inc, kwargs: [1]}\n", `g.yaml:3:31: task "a": kwargs must be a mapping of names to values`},
		{"n_output zero", graphHead + "  a: {call: seed.inc, n_output: 0}\n", `g.yaml:3:33: task "a": n_output must be a whole number from 1 to 1048576`},
		{"unknown task", graphHead + "  a: {call: seed.inc, args: [1]}\n  b: {call: seed.sum_all, args: [[$a, $c]]}\n", `g.yaml:4:39: task "b": $c: no task named "c"`},
		{"cycle", graphHead + "  a: {call: seed.inc, args: [$b]}\n  b: {call: seed.inc, args: [$c]}\n  c: {call: seed.inc, args: [$a]}\n", `g.yaml:3:3: task "a": dependency cycle: a -> b -> c -> a`},
		{"self cycle", graphHead + "  a: {call: seed.inc, args: [$a]}\n", `g.yaml:3:3: task "a": dependency cycle: a -> a`},
		{"cycle through foreach", graphHead + "  a: {call: seed.inc, foreach: $b, args: [$item]}\n  b: {call: seed.inc, foreach: $a, args: [$item]}\n", `g.yaml:3:3: task "a": dependency cycle: a -> b -> a`},
		{"bad reference", graphHead + "  a: {call: seed.inc, args: [$ a]}\n", `g.yaml:3:30: bad reference "$ a": a reference is $ and a task name (letters, digits, _ and -), and $$ starts a string that begins with $`},
		{"bad index", graphHead + "  a: {call: seed.inc, args: [1]}\n  b: {call: seed.inc, args: [$a.x]}\n", `g.yaml:4:30: bad reference "$a.x": index "x" is not a whole number or *`},
		{"output index out of range", graphHead + "  t: {call: seed.triage, n_output: 2, args: [[0.1]]}\n  s: {call: seed.sum_all, args: [$t.2]}\n", `g.yaml:4:34: task "s": $t.2: index 2 out of range: task "t" has 2 outputs (n_output: 2)`},
		{"instance index out of range", graphHead + "  t: {call: seed.inc, foreach: {range: 3}, args: [$item]}\n  s: {call: seed.sum_all, args: [\"$t[3]\"]}\n", `g.yaml:4:34: task "s": $t[3]: index 3 out of range: task "t" has 3 instances (foreach)`},
		{"index into one output", graphHead + "  t: {call: seed.inc, args: [1]}\n  s: {call: seed.sum_all, args: [$t.0]}\n", `g.yaml:4:34: task "s": $t.0: task "t" has one output and no foreach (to split its result into outputs, give it n_output); indexes select outputs and foreach instances, not parts of a value`},
		{"too many indexes", graphHead + "  t: {call: seed.triage, n_output: 2, args: [[1]], foreach: {range: 3}}\n  s: {call: seed.sum_all, args: [$t.1.0.0]}\n", `g.yaml:4:34: task "s": $t.1.0.0: too many indexes: task "t" takes 2 (foreach instance, then output); indexes select outputs and foreach instances, not parts of a value`},
		{"item outside foreach", graphHead + "  a: {call: seed.inc, args: [$item]}\n", `g.yaml:3:30: task "a": $item is only defined in the args and kwargs of a task with foreach`},
		{"item in foreach", graphHead + "  a: {call: seed.inc, foreach: $item}\n", `g.yaml:3:32: task "a": $item is only defined in the args and kwargs of a task with foreach`},
		{"index of an int item", graphHead + "  a: {call: seed.inc, foreach: {range: 2}, args: [$item.0]}\n", `g.yaml:3:51: task "a": $item.0: $item is not a list`},
		{"item index out of range", graphHead + "  a: {call: seed.inc, foreach: [[1], [2, 3]], args: [$item.1]}\n", `g.yaml:3:54: task "a": $item.1: index 1 out of range: $item has 1 element`},
		{"foreach over one value", graphHead + "  t: {call: seed.inc, args: [1]}\n  u: {call: seed.inc, foreach: $t, args: [$item]}\n", `g.yaml:4:32: task "u": foreach needs a list, and $t is one value (task "t" has no foreach and one output)`},
		{"foreach mapping", graphHead + "  u: {call: seed.inc, foreach: {x: 1}}\n", `g.yaml:3:33: task "u": foreach takes a list, a reference, or {range: N} / {range: [START, STOP, STEP]}`},
		{"bad range", graphHead + "  u: {call: seed.inc, foreach: {range: 1.5}}\n", `g.yaml:3:40: task "u": range takes N, [START, STOP] or [START, STOP, STEP], whole numbers`},
		{"zero step", graphHead + "  u: {call: seed.inc, foreach: {range: [0, 5, 0]}}\n", `g.yaml:3:40: task "u": range step must not be 0`},
		{"huge range", graphHead + "  u: {call: seed.inc, foreach: {range: 100000000000}}\n", fmt.Sprintf(`g.yaml:3:3: task "u": the graph expands to 100000000000 calls, more than the limit of %d (raise it with --max-calls; each call takes about 1.6 KiB)`, maxCalls)},
		{"unknown output task", graphHead + "  t: {call: seed.inc, args: [1]}\noutputs: {x: $q}\n", `g.yaml:4:14: output "x": $q: no task named "q"`},
		{"item in outputs", graphHead + "  t: {call: seed.inc, args: [1]}\noutputs: {x: $item}\n", `g.yaml:4:14: output "x": $item is only defined in the args and kwargs of a task with foreach`},
		{"outputs not a map", graphHead + "  t: {call: seed.inc, args: [1]}\noutputs: [$t]\n", `g.yaml:4:10: outputs must map names to values, as in outputs: {total: $total}`},
		{"unknown alias", graphHead + "  t: {call: seed.inc, args: *nope}\n", `g.yaml:3:29: unknown YAML alias *nope`},
		{"unknown tag", graphHead + "  t: {call: seed.inc, args: [!thing 1]}\n", `g.yaml:3:30: unsupported YAML tag !thing (mrun knows !tensor, !!binary and !!str)`},
		{"json trailing garbage", `{"modules": {"seed": "seed.wasm"}, "tasks": {"a": {"call": "seed.inc", "args": [1}}}`, `g.yaml:1:82: ',' or ']' must be specified`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseGraph("g.yaml", []byte(tt.src), ".")
			if err == nil {
				t.Fatalf("no error, want %q", tt.want)
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Errorf("error %T is not a *Error", err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

// plain turns an sval into something comparable: literals, lists, maps, and "label.out"
// strings for references.
func plain(s sval) any {
	switch s.kind {
	case vList:
		l := []any{}
		for _, x := range s.items {
			l = append(l, plain(x))
		}
		return l
	case vMap:
		m := map[string]any{}
		for i, x := range s.items {
			m[s.keys[i]] = plain(x)
		}
		return m
	case vRef:
		if s.out < 0 {
			return "->" + s.call.Label()
		}
		return "->" + s.call.Label() + "." + string(rune('0'+s.out))
	}
	return s.lit
}

func TestParseGraph_Expand(t *testing.T) {
	src := `
modules: {f: f.wasm}
common: &common {call: f.echo}   # not a task field: rejected below if used as a key
`
	if _, err := parseGraph("g.yaml", []byte(src), "."); err == nil || !strings.Contains(err.Error(), `unknown key "common"`) {
		t.Fatalf("got %v", err)
	}
	src = `
modules: {f: f.wasm}
tasks:
  pairs: {call: f.pair, n_output: 2, foreach: {range: [1, 7, 3]}, args: [$item, $index]}
  firsts: {call: f.echo, args: [$pairs.*.0]}
  each: {call: f.echo, foreach: $pairs.1, args: [$item], kwargs: {i: $index, all: $pairs}}
  base: &base {call: f.echo, args: [1e3, -0.5, 18446744073709551615, yes, null, "$$x", !!str $y, !!binary aGk=]}
  merged: {<<: *base, kwargs: {k: "v"}}
outputs:
  p: $pairs.0
  nested: {a: [$firsts, {b: $each.1}]}
`
	g, err := parseGraph("g.yaml", []byte(src), ".")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{}
	for _, task := range g.tasks {
		var calls []any
		for _, c := range task.insts {
			calls = append(calls, []any{c.Label(), plain(sval{kind: vList, items: c.args}), plain(c.kwargs)})
		}
		got[task.name] = calls
	}
	want := map[string]any{
		"pairs": []any{
			[]any{"pairs[0]", []any{int64(1), int64(0)}, nil},
			[]any{"pairs[1]", []any{int64(4), int64(1)}, nil},
		},
		"firsts": []any{[]any{"firsts", []any{[]any{"->pairs[0].0", "->pairs[1].0"}}, nil}},
		"each": []any{
			[]any{"each[0]", []any{"->pairs[1].0"}, map[string]any{"i": int64(0), "all": []any{[]any{"->pairs[0].0", "->pairs[0].1"}, []any{"->pairs[1].0", "->pairs[1].1"}}}},
			[]any{"each[1]", []any{"->pairs[1].1"}, map[string]any{"i": int64(1), "all": []any{[]any{"->pairs[0].0", "->pairs[0].1"}, []any{"->pairs[1].0", "->pairs[1].1"}}}},
		},
		"base":   []any{[]any{"base", []any{1000.0, -0.5, uint64(18446744073709551615), "yes", nil, "$x", "$y", []byte("hi")}, nil}},
		"merged": []any{[]any{"merged", []any{1000.0, -0.5, uint64(18446744073709551615), "yes", nil, "$x", "$y", []byte("hi")}, map[string]any{"k": "v"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("calls\n%#v\nwant\n%#v", got, want)
	}
	var order []string
	for _, task := range g.order {
		order = append(order, task.name)
	}
	if want := []string{"pairs", "firsts", "each", "base", "merged"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	outs := map[string]any{}
	for _, o := range g.outputs {
		outs[o.name] = plain(o.value)
	}
	wantOuts := map[string]any{
		"p":      []any{"->pairs[0].0", "->pairs[0].1"},
		"nested": map[string]any{"a": []any{"->firsts", map[string]any{"b": "->each[1]"}}},
	}
	if !reflect.DeepEqual(outs, wantOuts) {
		t.Errorf("outputs\n%#v\nwant\n%#v", outs, wantOuts)
	}
	if g.calls != 7 {
		t.Errorf("%d calls, want 7", g.calls)
	}
}

// The JSON and YAML forms of the seed example describe the same graph.
func TestParseGraph_ExamplesAgree(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		g, err := parseGraph(name, b, ".")
		if err != nil {
			t.Fatal(err)
		}
		var b2 strings.Builder
		fmt.Fprint(&b2, g.Nodes(true))
		for _, o := range g.outputs {
			b2.WriteString(o.name + " ")
		}
		return b2.String()
	}
	if y, j := read("seed.yaml"), read("seed.json"); y != j {
		t.Errorf("seed.yaml and seed.json differ:\n%s\n%s", y, j)
	}
}

// FuzzParseGraph checks that no graph file makes the parser panic, and that every problem is
// reported as a *Error.
func FuzzParseGraph(f *testing.F) {
	for _, name := range []string{"seed.yaml", "seed.json", "fanout.yaml", "pipeline.yaml"} {
		if b, err := os.ReadFile(filepath.Join("..", "examples", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(graphHead + "  a: {call: seed.inc, foreach: [[1], [2, 3]], args: [$item.1, $a.*.0]}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	maxCalls = 10_000 // keep huge ranges from exhausting memory
	f.Fuzz(func(t *testing.T, src []byte) {
		g, err := parseGraph("f.yaml", src, ".")
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *Error: %v", err, err)
			}
			return
		}
		g.Nodes(true)
		g.Nodes(false)
	})
}

func TestParseGraph_Capabilities(t *testing.T) {
	src := `modules:
  seed: {path: s.wasm, env: {A: x, N: 3, B: true}, mounts: {/data: d, /abs: /tmp}, deterministic: true, memory_limit: 1MiB}
  plain: p.wasm
tasks:
  a: {call: seed.inc, timeout: 1.5s, retries: 2}
  b: {call: plain.inc, retries: 0}
  c: {call: plain.dec}
`
	g, err := parseGraph("g.yaml", []byte(src), ".")
	if err != nil {
		t.Fatal(err)
	}
	m := g.modules[0]
	if m.path != "s.wasm" || !m.deterministic || m.memoryPages != 16 ||
		!maps.Equal(m.env, map[string]string{"A": "x", "N": "3", "B": "true"}) ||
		!slices.Equal(m.mounts, []mountSpec{{guest: "/data", host: "d", pos: pos{2, 68}}, {guest: "/abs", host: "/tmp", pos: pos{2, 77}}}) {
		t.Errorf("module seed = %+v", m)
	}
	if p := g.modules[1]; p.path != "p.wasm" || p.env != nil || p.mounts != nil || p.deterministic || p.memoryPages != 0 {
		t.Errorf("module plain = %+v", p)
	}
	for i, want := range []struct {
		timeout time.Duration
		retries int
	}{{1500 * time.Millisecond, 2}, {0, -1}, {0, 0}} {
		if tk := g.tasks[i]; tk.timeout != want.timeout || tk.retries != want.retries {
			t.Errorf("task %s: timeout %v, retries %d; want %v, %d", tk.name, tk.timeout, tk.retries, want.timeout, want.retries)
		}
	}
}
