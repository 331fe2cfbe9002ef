package guests_test

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/runtime"
)

// conformanceSigs are the signatures, without docs, of the functions of CONFORMANCE.md: the
// C, Rust and WAT conformance modules describe each of them the same way.
var conformanceSigs = []string{
	"inc(x: int) -> int",
	"add(a: int, b: int) -> int",
	"sum_all(xs: list) -> any",
	"triage(xs: list[float]) -> (list[float], list[float])",
	"identity(v: any) -> any",
	"concat(a: str, b: str) -> str",
	"rev_bytes(b: bytes) -> bytes",
	"ints(i: int, u: int) -> list[int]",
	"fdiv(a: float, b: float) -> float",
	`greet(name: str, *, greeting: str = "hello", punct: str = "!") -> str`,
	"nothing() -> none",
	"empties() -> list[any]",
	"fail(msg: str) -> none",
	"driver() -> list[int]",
	"divmod(a: int, b: int) -> (int, int)",
	"nested_split(a: int, b: int) -> list[int]",
	"parent_fail(msg: str) -> none",
	"tensor_sum(t: tensor[float64]) -> float",
	"matmul(a: tensor[float64], b: tensor[float64]) -> tensor[float64]",
	"rand_matrix(r: int, c: int) -> tensor[float64]  impure",
	"driver2() -> float  impure",
}

// sigModules are the modules that carry signatures, with the functions each has beyond
// CONFORMANCE.md and their signatures.
var sigModules = []struct {
	name, module string
	extra        []string
}{
	{name: "c", module: "testdata/c/conformance.wasm", extra: []string{
		"driver2_tensor(seed: int) -> float",
		"tensor_exprs() -> list[map[str, any]]",
		"table_stats(t: table) -> map[str, any]",
		"table_echo(t: table) -> table",
		"table_share(col: str, t: table) -> table",
		"table_groupby_sum(key: str, col: str, t: table) -> table",
	}},
	{name: "rust", module: "testdata/rust/conformance.wasm", extra: []string{
		"rand_sums(n: int) -> list[float]  impure",
		"driver2_tensor(seed: int) -> float",
		"mt_matmul(seed: int) -> tensor[float64]",
		"mt_bad_shapes() -> float",
		"mt_exprs() -> list[map[str, any]]",
		"table_stats(t: table) -> map[str, any]",
		"table_echo(t: table) -> table",
		"table_head(t: table, n: int) -> table",
		"table_totals(t: table) -> table",
	}},
	{name: "wat", module: "testdata/wat/conformance.wasm"},
	{name: "zig", module: "testdata/zig/conformance.wasm"},
	{name: "assemblyscript", module: "testdata/assemblyscript/conformance.wasm", extra: []string{
		"driver2_tensor(seed: int) -> float",
	}},
	{name: "go", module: "testdata/seed.wasm", extra: []string{
		"trap() -> none",
		"burn(n: int) -> int",
		"pow(x: float, *, exp: float = 2.0) -> float",
		"hello(name: str) -> str",
		"driver_n(m: int) -> list[int]",
		"fib(n: int) -> int",
		"fanout(n: int) -> int",
		"catch(msg: str) -> str",
		"forward(obj: any, n: int) -> list[int]",
		"bogus(h: int) -> str",
		"bomb(n: int) -> int",
		"deep(n: int) -> int",
		"again(x: int) -> any",
		"getenv(name: str) -> list[any]",
		"readfile(path: str) -> str  impure",
		"writefile(path: str, contents: str) -> none",
		"clock() -> list[any]  impure",
		"driver2_tensor(seed: int) -> float",
		"sample_clocks(n: int) -> list[int]  impure",
		"relay(module: str, fn: str, *args: any) -> any",
	}},
}

// withoutDoc returns a copy of s without what may differ between equal signatures: the doc
// and the line it was read from.
func withoutDoc(s *sig.Signature) sig.Signature {
	c := *s
	c.Doc, c.Line = "", 0
	return c
}

// TestSignatures_conformanceModules loads the conformance modules whose SDKs write the
// mrun.signatures section (C with MRUN_SIG, Rust with mrun::signature!, WAT with mrun sig add,
// Zig with mrun.signature, AssemblyScript with its compiler transform, Go with mrun sig go)
// and checks that every exported function is described, as the table says.
func TestSignatures_conformanceModules(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range sigModules {
		t.Run(m.name, func(t *testing.T) {
			want := map[string]sig.Signature{}
			for _, line := range append(slices.Clone(conformanceSigs), m.extra...) {
				s, err := sig.ParseLine(line)
				if err != nil {
					t.Fatalf("the table's line %q: %v", line, err)
				}
				want[s.Name] = withoutDoc(s)
			}

			ctx := context.Background()
			rt, err := runtime.New(ctx, runtime.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close(ctx)
			mod, err := rt.LoadFile(ctx, filepath.Join(root, m.module))
			if err != nil {
				t.Fatalf("loading %s: %v", m.module, err)
			}

			var exported []string
			for _, f := range mod.Functions() {
				exported = append(exported, f.Name())
				s := f.Signature()
				if s == nil {
					t.Errorf("%s: function %s has no signature", m.module, f.Name())
					continue
				}
				if s.Doc == "" {
					t.Errorf("%s: the signature of %s has no doc", m.module, f.Name())
				}
				w, ok := want[f.Name()]
				if !ok {
					t.Errorf("%s: function %s is not in the table: %s", m.module, f.Name(), s)
					continue
				}
				if got := withoutDoc(s); !reflect.DeepEqual(got, w) {
					t.Errorf("%s: %s\n got %s\nwant %s", m.module, f.Name(), got.Call(), w.Call())
				}
			}
			slices.Sort(exported)
			var names []string
			for n := range want {
				names = append(names, n)
			}
			slices.Sort(names)
			if !slices.Equal(exported, names) {
				t.Errorf("%s exports %v\nwant %v", m.module, exported, names)
			}
		})
	}
}
