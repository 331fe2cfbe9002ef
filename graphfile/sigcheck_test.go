package graphfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/runtime"
)

func mustType(t *testing.T, s string) *sig.Type {
	t.Helper()
	if s == "" {
		return nil
	}
	ty, err := sig.ParseType(s)
	if err != nil {
		t.Fatalf("ParseType(%q): %v", s, err)
	}
	return &ty
}

func TestAccepts(t *testing.T) {
	tests := []struct {
		want, have string // "" is a nil type: nothing known
		ok         bool
	}{
		{"int", "int", true},
		{"int", "str", false},
		{"float", "int", true},
		{"int", "float", false},
		{"str", "bytes", false},
		{"any", "str", true},
		{"str", "any", true},
		{"str", "", true},
		{"", "str", true},
		{"decimal[10, 2]", "str", true}, // a type of a later revision accepts anything
		{"list", "list[str]", true},
		{"list[float]", "list[int]", true},
		{"list[int]", "list[str]", false},
		{"list[int]", "list", true},
		{"list[list[int]]", "list[list[str]]", false},
		{"list[int]", "map[str, int]", false},
		{"map[str, int]", "map", true},
		{"map[str, int]", "map[str, str]", false},
		{"tensor[float64]", "tensor[float64]", true},
		{"tensor[float64]", "tensor[int32]", false},
		{"tensor", "tensor[int32]", true},
		{"tensor[float64]", "tensor", true},
		{"table", "table", true},
		{"table", "tensor", false},
		{"none", "none", true},
		{"int", "none", false},
	}
	for _, tt := range tests {
		if got := Accepts(mustType(t, tt.want), mustType(t, tt.have)); got != tt.ok {
			t.Errorf("Accepts(%q, %q) = %v, want %v", tt.want, tt.have, got, tt.ok)
		}
	}
}

func TestTypeOf(t *testing.T) {
	tensor, err := abi.NewTensor([]int{2}, []int32{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		v    any
		want string
	}{
		{int64(1), "int"},
		{uint64(1 << 63), "int"},
		{1.5, "float"},
		{true, "bool"},
		{"a", "str"},
		{[]byte("a"), "bytes"},
		{nil, "none"},
		{[]any{int64(1), int64(2)}, "list[int]"},
		{[]any{int64(1), "a"}, "list"},
		{[]any{}, "list"},
		{[]any{[]any{1.5}}, "list[list[float]]"},
		{map[string]any{"a": "x", "b": "y"}, "map[str, str]"},
		{map[string]any{"a": "x", "b": int64(1)}, "map"},
		{tensor, "tensor[int32]"},
	}
	for _, tt := range tests {
		if got := TypeOf(tt.v).String(); got != tt.want {
			t.Errorf("TypeOf(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestCheckCall(t *testing.T) {
	s, err := sig.ParseLine(`f(x: int, xs: list[float], *, mode: str, t: tensor[float64] = null) -> (int, str)`)
	if err != nil {
		t.Fatal(err)
	}
	f32, _ := abi.NewTensor([]int{1}, []float32{1})
	f64, _ := abi.NewTensor([]int{1}, []float64{1})
	ok := []any{int64(1), []any{int64(1), 2.5}}
	tests := []struct {
		name    string
		args    []any
		kwargs  map[string]any
		nOutput int
		want    string
	}{
		{"fits", ok, map[string]any{"mode": "a", "t": f64}, 2, ""},
		{"too many", []any{int64(1), []any{}, int64(3)}, map[string]any{"mode": "a"}, 2, "f takes 2 positional arguments (x: int, xs: list[float]), got 3"},
		{"too few", nil, map[string]any{"mode": "a"}, 2, "f takes 2 positional arguments (x: int, xs: list[float]), got 0"},
		{"n_output", ok, map[string]any{"mode": "a"}, 1, "n_output is 1, but f returns 2 outputs (int, str)"},
		{"literal type", []any{"1", []any{}}, map[string]any{"mode": "a"}, 2, `f argument x must be int, got str "1"`},
		{"element type", []any{int64(1), []any{1.5, true}}, map[string]any{"mode": "a"}, 2, "f argument xs[1] must be float, got bool true"},
		{"misspelled keyword", ok, map[string]any{"mdoe": "a"}, 2, `f has no keyword argument "mdoe"; did you mean "mode"?`},
		{"unknown keyword", ok, map[string]any{"mode": "a", "verbose": true}, 2, `f has no keyword argument "verbose" (it takes mode, t)`},
		{"missing keyword", ok, nil, 2, `f needs keyword argument "mode" (mode: str)`},
		{"keyword type", ok, map[string]any{"mode": int64(3)}, 2, "f keyword argument mode must be str, got int 3"},
		{"dtype", ok, map[string]any{"mode": "a", "t": f32}, 2, "f keyword argument t must be tensor[float64], got tensor[float32]"},
	}
	for _, tt := range tests {
		err := CheckCall(s, tt.args, tt.kwargs, tt.nOutput)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: CheckCall = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCheckCall_NOutput(t *testing.T) {
	tests := []struct {
		line    string
		nOutput int
		want    string
	}{
		{"f() -> list[int]", 3, ""},
		{"f() -> any", 3, ""},
		{"f() -> decimal[1]", 3, ""},
		{"f() -> int", 1, ""},
		{"f() -> int", 2, "n_output is 2, but f returns one int"},
		{"f() -> (int, int)", 2, ""},
	}
	for _, tt := range tests {
		s, err := sig.ParseLine(tt.line)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if err := CheckCall(s, nil, nil, tt.nOutput); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s with n_output %d: %q, want %q", tt.line, tt.nOutput, got, tt.want)
		}
	}
}

// TestCheck_Signatures checks graph files against the conformance module's signatures.
func TestCheck_Signatures(t *testing.T) {
	wasm, err := os.ReadFile(filepath.Join("..", "testdata", "wat", "conformance.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.Load(ctx, "c", wasm)
	if err != nil {
		t.Fatal(err)
	}
	mods := map[string]*runtime.Module{"c": mod}
	const head = "modules: {c: c.wasm}\ntasks:\n"
	tests := []struct {
		name, tasks, want string
	}{
		{"fits", "  a: {call: c.inc, args: [1]}\n  b: {call: c.add, args: [$a, 2]}\n  h: {call: c.greet, args: [x], kwargs: {punct: '?'}}\n", ""},
		{"reference of a foreach", "  a: {call: c.inc, foreach: [1, 2], args: [$item]}\n  s: {call: c.sum_all, args: [$a]}\n  t: {call: c.triage, args: [$a], n_output: 2}\n", ""},
		{"foreach item from a list result", "  t: {call: c.triage, args: [[0.1]], n_output: 2}\n  n: {call: c.inc, foreach: $t, args: [$item]}\n",
			`g.yaml:4:40: task "n": inc argument x must be int, got list[float] $item`},
		{"output of divmod", "  d: {call: c.divmod, args: [7, 2], n_output: 2}\n  s: {call: c.concat, args: [$d.1, x]}\n",
			`g.yaml:4:30: task "s": concat argument a must be str, got int $d.1`},
		{"all outputs", "  d: {call: c.divmod, args: [7, 2], n_output: 2}\n  s: {call: c.triage, args: [$d], n_output: 2}\n", ""},
		{"undescribed result", "  e: {call: c.identity, args: [1]}\n  s: {call: c.concat, args: [$e, x]}\n", ""},
		{"tensor dtype", "  m: {call: c.tensor_sum, args: [{$tensor: {dtype: int32, shape: [1], data: [1]}}]}\n",
			`g.yaml:3:35: task "m": tensor_sum argument t must be tensor[float64], got tensor[int32]`},
		{"index item", "  s: {call: c.concat, foreach: {range: 2}, args: [$index, x]}\n",
			`g.yaml:3:51: task "s": concat argument a must be str, got int $index`},
	}
	for _, tt := range tests {
		g, err := Parse("g.yaml", []byte(head+tt.tasks), ".", DefaultMaxCalls)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := ""
		if err := g.Check(mods); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: Check = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// BenchmarkCheckSignature measures the signature check of a task whose argument is a literal
// list of 100,000 floats, the case that walks the most values.
func BenchmarkCheckSignature(b *testing.B) {
	var src []byte
	src = append(src, "modules: {c: c.wasm}\ntasks:\n  t: {call: c.triage, n_output: 2, args: [["...)
	for i := range 100000 {
		if i > 0 {
			src = append(src, ", "...)
		}
		src = append(src, "0.5"...)
	}
	src = append(src, "]]}\n"...)
	g, err := Parse("g.yaml", src, ".", DefaultMaxCalls)
	if err != nil {
		b.Fatal(err)
	}
	s, err := sig.ParseLine("triage(xs: list[float]) -> (list[float], list[float])")
	if err != nil {
		b.Fatal(err)
	}
	t := g.tasks[0]
	for b.Loop() {
		if err := g.checkSignature(t, s); err != nil {
			b.Fatal(err)
		}
	}
}
