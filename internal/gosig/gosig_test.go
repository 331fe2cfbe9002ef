package gosig_test

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/internal/gosig"
)

// describe runs the analysis on one file made of the SDK import, the given declarations and
// an export for each name in exports (mrun_fn_<name> calling <name>).
func describe(t *testing.T, decls string, exports ...string) (*gosig.Result, error) {
	t.Helper()
	var b strings.Builder
	b.WriteString("package main\n\nimport \"github.com/mrun-dev/mrun/guests/go/mrun\"\n\n")
	for _, e := range exports {
		fmt.Fprintf(&b, "//go:wasmexport mrun_fn_%s\nfunc %sExport(p, n uint32) uint64 { return mrun.Call(p, n, %s) }\n\n", e, e, e)
	}
	b.WriteString(decls)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "m.go", b.String(), parser.ParseComments)
	if err != nil {
		t.Fatalf("the fixture does not parse: %v\n%s", err, b.String())
	}
	return gosig.Files(fset, []*ast.File{f})
}

// lines returns the canonical lines of res's signatures and its notes, without positions.
func lines(res *gosig.Result) (sigs, notes []string) {
	for _, s := range res.Sigs {
		sigs = append(sigs, s.String())
	}
	for _, n := range res.Notes {
		notes = append(notes, n.Func+": "+n.Msg)
	}
	return sigs, notes
}

func TestFiles_types(t *testing.T) {
	tests := []struct {
		name, decl string
		want       string
		notes      []string
	}{
		{"ints", "// f adds.\nfunc f(a int, b int8, c int16, d int32, e int64, g uint, h uint8, i uint16, j uint32, k uint64, l uintptr, m byte, n rune) int { return 0 }",
			"f(a: int, b: int, c: int, d: int, e: int, g: int, h: int, i: int, j: int, k: int, l: int, m: int, n: int) -> int  -- f adds.", nil},
		{"scalars", "// f is f.\nfunc f(x float32, y float64, ok bool, s string) float64 { return 0 }",
			"f(x: float, y: float, ok: bool, s: str) -> float  -- f is f.", nil},
		{"bytes", "// f is f.\nfunc f(b []byte, c []uint8, d [4]byte) []byte { return b }",
			"f(b: bytes, c: bytes, d: bytes) -> bytes  -- f is f.", nil},
		{"lists", "// f is f.\nfunc f(xs []float64, ys [][]string, zs [3]int, as []any) [][]byte { return nil }",
			"f(xs: list[float], ys: list[list[str]], zs: list[int], as: list[any]) -> list[bytes]  -- f is f.", nil},
		{"maps", "// f is f.\nfunc f(m map[string]int, n map[string][]any, o map[string]any) map[string]float64 { return nil }",
			"f(m: map[str, int], n: map[str, list[any]], o: map[str, any]) -> map[str, float]  -- f is f.", nil},
		{"any", "// f is f.\nfunc f(a any, b interface{}) any { return a }",
			"f(a: any, b: any) -> any  -- f is f.", nil},
		{"sdk types", "// f is f.\nfunc f(t mrun.Tensor, tb mrun.Table, o mrun.Object, r mrun.Raw, ref mrun.Ref, tu mrun.Tuple) mrun.Tensor { return t }",
			"f(t: tensor, tb: table, o: any, r: any, ref: any, tu: list[any]) -> tensor  -- f is f.", nil},
		{"struct and pointer", "// f is f.\nfunc f(p struct{ X int }, q *int, r *[]string) *struct{} { return nil }",
			"f(p: map, q: int, r: list[str]) -> map  -- f is f.", nil},
		{"local types", "type point struct{ X, Y float64 }\ntype ids []int64\ntype alias = map[string]ids\ntype tree []tree\n// f is f.\nfunc f(p point, i ids, a alias, t tree) ids { return i }",
			"f(p: map, i: list[int], a: map[str, list[int]], t: list[any]) -> list[int]  -- f is f.", nil},
		{"unknown types", "// f is f.\nfunc f(c chan int, g func(), tm time.Time, m map[int]string, i interface{ M() }, cx complex128) error { return nil }",
			"f(c: any, g: any, tm: any, m: any, i: any, cx: any) -> none  -- f is f.", []string{
				"f: parameter c: chan int is not a type the SDK maps to a value, written as any",
				"f: parameter g: func(...) is not a type the SDK maps to a value, written as any",
				"f: parameter tm: type time.Time is not one the SDK maps to a value, written as any",
				"f: parameter m: map keys of type int are not str, written as any",
				"f: parameter i: interface{...} is not a type the SDK maps to a value, written as any",
				"f: parameter cx: type complex128 is not one the SDK maps to a value, written as any",
			}},
		{"unnamed parameters", "// f is f.\nfunc f(int, string) {}",
			"f(arg1: int, arg2: str) -> none  -- f is f.", []string{
				"f: parameter 1 of f has no name: called arg1",
				"f: parameter 2 of f has no name: called arg2",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := describe(t, tt.decl, "f")
			if err != nil {
				t.Fatal(err)
			}
			sigs, notes := lines(res)
			if !slices.Equal(sigs, []string{tt.want}) {
				t.Errorf("got  %q\nwant %q", sigs, tt.want)
			}
			if !slices.Equal(notes, tt.notes) {
				t.Errorf("notes %q\nwant  %q", notes, tt.notes)
			}
		})
	}
}

func TestFiles_results(t *testing.T) {
	tests := []struct{ decl, want string }{
		{"func f() {}", "f() -> none"},
		{"func f() error { return nil }", "f() -> none"},
		{"func f() int { return 0 }", "f() -> int"},
		{"func f() (string, error) { return \"\", nil }", "f() -> str"},
		{"func f() ([]float64, []float64) { return nil, nil }", "f() -> (list[float], list[float])"},
		{"func f() (q, r int, err error) { return }", "f() -> (int, int)"},
		{"func f() (int, bool, string, error) { return 0, false, \"\", nil }", "f() -> (int, bool, str)"},
		{"func f() (error, int) { return nil, 0 }", "f() -> (any, int)"},
	}
	for _, tt := range tests {
		res, err := describe(t, "// f is f.\n"+tt.decl, "f")
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Sigs[0].Call(); got != tt.want {
			t.Errorf("%s\n got %s\nwant %s", tt.decl, got, tt.want)
		}
	}
}

func TestFiles_keywords(t *testing.T) {
	const decls = `
const unit = "cm"
const scale = 2.5

// f reads keywords.
func f(x float64, kw mrun.Kwargs) (float64, error) {
	a, _ := mrun.Kwarg(kw, "a", 2.0)
	b, _ := mrun.Kwarg(kw, "b", -3)
	c, _ := mrun.Kwarg(kw, "c", "<b> & \"q\"")
	d, _ := mrun.Kwarg(kw, "d", true)
	e, _ := mrun.Kwarg(kw, "e", 'A')
	g, _ := mrun.Kwarg[float64](kw, "g", 1)
	h, _ := mrun.Kwarg(kw, "h", unit)
	i, _ := mrun.Kwarg(kw, "i", scale)
	j, _ := mrun.Kwarg(kw, "j", []string{"x"})
	k, _ := mrun.Kwarg[[]int](kw, "k", nil)
	a, _ = mrun.Kwarg(kw, "a", 2.0)
	var limit int
	kw.Get("limit", &limit)
	if kw.Has("verbose") && kw.Len() > 0 {
		x++
	}
	_, _, _, _, _, _, _, _, _, _ = a, b, c, d, e, g, h, i, j, k
	return x, nil
}

// big takes a large default.
func big(kw mrun.Kwargs) uint64 {
	n, _ := mrun.Kwarg(kw, "n", uint64(18446744073709551615))
	m, _ := mrun.Kwarg(kw, "m", 18446744073709551615)
	return n + uint64(m)
}

// ignores has a Kwargs it does not name.
func ignores(x int, _ mrun.Kwargs) int { return x }

// passes hands its keywords on.
func passes(kw mrun.Kwargs) int { return helper(kw) }

// computed reads keywords by computed names.
func computed(kw mrun.Kwargs) int {
	var name string
	_, _ = kw.Get("n" + "ame", &name)
	v, _ := mrun.Kwarg(kw, name, 1)
	return v
}

// lists reads every keyword.
func lists(kw mrun.Kwargs) int { return len(kw.Names()) }

// copies keeps its keywords for later.
func copies(kw mrun.Kwargs) int { saved = kw; return 0 }
`
	res, err := describe(t, decls, "f", "big", "ignores", "passes", "computed", "lists", "copies")
	if err != nil {
		t.Fatal(err)
	}
	sigs, notes := lines(res)
	want := []string{
		`f(x: float, *, a: float = 2.0, b: int = -3, c: str = "<b> & \"q\"", d: bool = true, e: int = 65, g: float = 1, h: str = "cm", i: float = 2.5, j: any = null, k: list[int] = null, limit: int = null, verbose: any = null) -> float  -- f reads keywords.`,
		`big(*, n: any = null, m: int = 18446744073709551615) -> int  -- big takes a large default.`,
		`ignores(x: int) -> int  -- ignores has a Kwargs it does not name.`,
	}
	if !slices.Equal(sigs, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(sigs, "\n"), strings.Join(want, "\n"))
	}
	const none = ": no signature, which would refuse keywords the function takes (describe it with //mrun:sig)"
	wantNotes := []string{
		`f: keyword "j": its default is not a literal: described with the default null`,
		`big: keyword "n": its default is not a literal: described with the default null`,
		`passes: kw is passed to helper, which may read keywords the source here does not name` + none,
		`computed: kw.Get reads a keyword whose name is not a constant string` + none,
		`computed: mrun.Kwarg reads a keyword whose name is not a constant string` + none,
		`lists: kw.Names lists keywords the source does not name` + none,
		`copies: kw is used other than by mrun.Kwarg, Get, Has and Len, so keywords may be read where the source here does not name them` + none,
	}
	if !slices.Equal(notes, wantNotes) {
		t.Errorf("notes\n%s\nwant\n%s", strings.Join(notes, "\n"), strings.Join(wantNotes, "\n"))
	}
	for _, line := range sigs {
		if _, err := sig.ParseLine(line); err != nil {
			t.Errorf("%q does not read back: %v", line, err)
		}
	}
}

func TestFiles_directives(t *testing.T) {
	const decls = `
// rnd returns a random matrix.
//
//mrun:impure
//mrun:type result tensor[float64]
func rnd(r, c int) mrun.Tensor { return mrun.Tensor{} }

// split splits.
//
//mrun:type result.2 list[int]
//mrun:type xs list[int]
func split(xs []any) ([]any, []any) { return nil, nil }

// scale scales.
//
//mrun:type by float
func scale(t mrun.Tensor, kw mrun.Kwargs) mrun.Tensor {
	_, _ = mrun.Kwarg[any](kw, "by", nil)
	return t
}

// fail fails with msg. The call without arguments is not described.
//
//mrun:sig fail(msg: str) -> none
//mrun:impure
func fail(msg ...string) error { return nil }

// own has a doc of its own in its line.
//
//mrun:sig own() -> int  -- Returns 1.
func own() int { return 1 }
`
	res, err := describe(t, decls, "rnd", "split", "scale", "fail", "own")
	if err != nil {
		t.Fatal(err)
	}
	sigs, notes := lines(res)
	want := []string{
		"rnd(r: int, c: int) -> tensor[float64]  impure  -- rnd returns a random matrix.",
		"split(xs: list[int]) -> (list[any], list[int])  -- split splits.",
		"scale(t: tensor, *, by: float = null) -> tensor  -- scale scales.",
		"fail(msg: str) -> none  impure  -- fail fails with msg.",
		"own() -> int  -- Returns 1.",
	}
	if !slices.Equal(sigs, want) || len(notes) != 0 {
		t.Errorf("got\n%s\nnotes %q\nwant\n%s", strings.Join(sigs, "\n"), notes, strings.Join(want, "\n"))
	}
}

// Mistakes in directives fail the analysis, naming the function and the line.
func TestFiles_directiveErrors(t *testing.T) {
	tests := []struct{ decl, want string }{
		{"//mrun:type x str\nfunc f(x int) int { return x }",
			"m.go:10:1: f: //mrun:type x str: the Go type says int, which str does not narrow"},
		{"//mrun:type t tensor[int8]\nfunc f(t mrun.Tensor) {}\n//mrun:type u tensor[float64]\nfunc g(u mrun.Tensor) {}",
			""}, // tensor narrows to any dtype
		{"//mrun:type y int\nfunc f(x int) int { return x }",
			`m.go:10:1: f: //mrun:type y: no parameter, keyword or result is called y (results are "result", or "result.1" to "result.2" for outputs)`},
		{"//mrun:type result.3 int\nfunc f() (int, int) { return 0, 0 }",
			`m.go:10:1: f: //mrun:type result.3: no parameter, keyword or result is called result.3 (results are "result", or "result.1" to "result.2" for outputs)`},
		{"//mrun:type x flist[int\nfunc f(x []int) {}",
			`m.go:10:1: f: //mrun:type x: line 1, column 10: want "]", found the end of the line`},
		{"//mrun:type x\nfunc f(x int) {}",
			`m.go:10:1: f: want //mrun:type NAME TYPE, as in //mrun:type t tensor[float64]; found "//mrun:type x"`},
		{"//mrun:pure\nfunc f() {}",
			"m.go:10:1: f: unknown directive //mrun:pure (want //mrun:impure, //mrun:type or //mrun:sig)"},
		{"//mrun:impure yes\nfunc f() {}",
			`m.go:10:1: f: //mrun:impure takes nothing after it, found "yes"`},
		{"//mrun:sig g() -> none\nfunc f() {}",
			"m.go:10:1: f: //mrun:sig describes g, but the export is mrun_fn_f"},
		{"//mrun:sig f( -> none\nfunc f() {}",
			`m.go:10:1: f: //mrun:sig: line 1, column 4: want a parameter name (a letter or _, then letters, digits or _), found '-'`},
		{"//mrun:sig f() -> none\n//mrun:type x int\nfunc f(x int) {}",
			"m.go:10:1: f: //mrun:sig gives the whole signature: drop the //mrun:type lines"},
	}
	for _, tt := range tests {
		_, err := describe(t, "// f is f.\n//\n"+tt.decl, "f")
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.decl, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, gosig.ErrSource) || err.Error() != "cannot describe the Go source: "+tt.want {
			t.Errorf("%s:\n got error %v\nwant %s", tt.decl, err, tt.want)
		}
	}
}

// Exports the analysis cannot follow get no signature and a note saying why and what to do.
func TestFiles_undescribed(t *testing.T) {
	const src = `package main

import (
	m "github.com/mrun-dev/mrun/guests/go/mrun"
	"strings"
)

//go:wasmexport mrun_fn_ok
func okExport(p, n uint32) uint64 { return m.Call(p, n, ok) }

//go:wasmexport mrun_fn_lit
func litExport(p, n uint32) uint64 { return m.Call(p, n, func(x int) int { return x }) }

//go:wasmexport mrun_fn_other
func otherExport(p, n uint32) uint64 { return m.Call(p, n, strings.ToUpper) }

//go:wasmexport mrun_fn_var
func varExport(p, n uint32) uint64 { return m.Call(p, n, fv) }

//go:wasmexport mrun_fn_body
func bodyExport(p, n uint32) uint64 {
	x := m.Call(p, n, ok)
	return x
}

//go:wasmexport mrun_fn_notcall
func notcallExport(p, n uint32) uint64 { return 0 }

//go:wasmexport mrun_fn_variadic
func variadicExport(p, n uint32) uint64 { return m.Call(p, n, variadic) }

//go:wasmexport mrun_fn_generic
func genericExport(p, n uint32) uint64 { return m.Call(p, n, generic[int]) }

//go:wasmexport mrun_fn_nodoc
func nodocExport(p, n uint32) uint64 { return m.Call(p, n, nodoc) }

//go:wasmexport other_name
func otherNameExport(p, n uint32) uint64 { return m.Call(p, n, ok) }

// ok is fine.
func ok(x int) int { return x }

var fv = ok

// variadic takes any number of ints.
func variadic(xs ...int) int { return 0 }

// generic is generic.
func generic[T any](x T) T { return x }

func nodoc() {}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "u.go", src, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gosig.Files(fset, []*ast.File{f})
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, n := range res.Notes {
		notes = append(notes, n.String())
	}
	want := []string{
		"u.go:12:58: lit: mrun.Call is given a function literal, whose doc and name the source does not give: no signature (declare it as a named function of this package)",
		"u.go:15:60: other: mrun.Call is given strings.ToUpper, from another package or a method value: no signature (wrap it in a named function of this package)",
		"u.go:18:58: var: fv is not a function declared in this package: no signature (pass a named function to mrun.Call)",
		`u.go:21:1: body: the body of bodyExport is not "return mrun.Call(p, n, f)" with f a function of this package: no signature`,
		`u.go:27:1: notcall: the body of notcallExport is not "return mrun.Call(p, n, f)" with f a function of this package: no signature`,
		"u.go:50:1: generic: generic is generic: no signature (mrun.Call needs an instance; describe it with //mrun:sig)",
		`u.go:52:1: nodoc: nodoc has no doc comment: the signature has no doc (write one, starting with "nodoc ")`,
	}
	if !slices.Equal(notes, want) {
		t.Errorf("notes\n%s\nwant\n%s", strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
	var got []string
	for _, s := range res.Sigs {
		got = append(got, s.String())
	}
	// A final ...T is *name: T.
	if w := []string{"ok(x: int) -> int  -- ok is fine.", "variadic(*xs: int) -> int  -- variadic takes any number of ints.", "nodoc() -> none"}; !slices.Equal(got, w) {
		t.Errorf("got %q\nwant %q", got, w)
	}
}

func TestFiles_duplicateExport(t *testing.T) {
	_, err := describe(t, "// f is f.\nfunc f() {}\n//go:wasmexport mrun_fn_f\nfunc again(p, n uint32) uint64 { return mrun.Call(p, n, f) }", "f")
	const want = "cannot describe the Go source: m.go:11:1: function f is exported twice (first at m.go:6:1)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// Dir reads the files a wasip1 build compiles: not tests, not other platforms'.
func TestDir(t *testing.T) {
	res, err := gosig.Dir("testdata/ok")
	if err != nil {
		t.Fatal(err)
	}
	if got := string(sig.Format(res.Sigs)); got != "inc(x: int) -> int  -- inc returns x + 1.\n" || len(res.Notes) != 0 {
		t.Errorf("got %q, notes %v", got, res.Notes)
	}
}

func TestDir_errors(t *testing.T) {
	// A source that does not parse is written here, not committed: gofmt -l would stop at it.
	broken := t.TempDir()
	src := "package main\n\nimport \"github.com/mrun-dev/mrun/guests/go/mrun\"\n\n//go:wasmexport mrun_fn_inc\nfunc incExport(p, n uint32) uint64 { return mrun.Call(p, n, inc }\n"
	if err := os.WriteFile(filepath.Join(broken, "broken.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ dir, want string }{
		{broken, "cannot describe the Go source: " + filepath.Join(broken, "broken.go") + ":6:65: missing ',' in argument list"},
		{"testdata", "cannot describe the Go source: testdata has no Go files for GOOS=wasip1 GOARCH=wasm"},
	}
	for _, tt := range tests {
		_, err := gosig.Dir(tt.dir)
		if err == nil || !errors.Is(err, gosig.ErrSource) || err.Error() != tt.want {
			t.Errorf("Dir(%q): got %v\nwant %s", tt.dir, err, tt.want)
		}
	}
}

// The seed module of guests/go, which build.sh describes, has no note: every function is
// described, relay (a variadic function) with *args.
func TestDir_seed(t *testing.T) {
	res, err := gosig.Dir("../../guests/go/examples/seed")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range res.Notes {
		t.Errorf("note: %s: %s", n.Func, n.Msg)
	}
	if len(res.Sigs) != 41 {
		t.Errorf("%d signatures, want 41", len(res.Sigs))
	}
	for _, s := range res.Sigs {
		if s.Name == "relay" && s.Call() != "relay(module: str, fn: str, *args: any) -> any" {
			t.Errorf("relay: %s", s.Call())
		}
	}
}

// Names a signature cannot hold leave the function without one, with a note, rather than
// write a line mrun sig add refuses.
func TestFiles_badNames(t *testing.T) {
	const decls = `
// café takes a non-ASCII parameter name.
func cafe(crème int) int { return crème }

// empty reads a keyword with an empty name.
func empty(kw mrun.Kwargs) int { n, _ := mrun.Kwarg(kw, "", 1); return n }

// twice has x as a parameter and a keyword.
func twice(x int, kw mrun.Kwargs) int { y, _ := mrun.Kwarg(kw, "x", 1); return x + y }
`
	res, err := describe(t, decls, "cafe", "empty", "twice")
	if err != nil {
		t.Fatal(err)
	}
	sigs, notes := lines(res)
	want := []string{
		`cafe: parameter or keyword "crème" is not an ASCII identifier, which a signature needs: no signature (rename it, or describe the function with //mrun:sig)`,
		`empty: parameter or keyword "" is not an ASCII identifier, which a signature needs: no signature (rename it, or describe the function with //mrun:sig)`,
		`twice: "x" is both a parameter and a keyword: no signature (rename one)`,
	}
	if len(sigs) != 0 || !slices.Equal(notes, want) {
		t.Errorf("sigs %q\nnotes\n%s\nwant\n%s", sigs, strings.Join(notes, "\n"), strings.Join(want, "\n"))
	}
}
