package graphfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/runtime"
)

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
