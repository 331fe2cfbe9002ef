// Package guests_test holds the conformance suite: one table of cases (CONFORMANCE.md) run
// against the example module of every guest language, through the same engine a user has.
package guests_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

var update = flag.Bool("update", false, "rewrite the support table in README.md from the known failures")

// language is one guest language and its conformance module.
type language struct {
	name   string // directory under guests/, and the subtest name
	title  string // how the README names it
	module string // path from the repository root
	// known lists the cases this language does not pass, with the reason. The suite fails if
	// a known case starts passing, so the list (and the README table made from it) stays exact.
	known map[string]string
}

var languages = []language{
	{name: "go", title: "Go", module: "testdata/seed.wasm"},
	{name: "c", title: "C", module: "testdata/c/conformance.wasm"},
	{name: "rust", title: "Rust", module: "testdata/rust/conformance.wasm"},
	{name: "assemblyscript", title: "AssemblyScript", module: "testdata/assemblyscript/conformance.wasm"},
	{name: "zig", title: "Zig", module: "testdata/zig/conformance.wasm"},
	{name: "wat", title: "WAT", module: "testdata/wat/conformance.wasm"},
}

// tcase is one row of the table: a call and what it must give.
type tcase struct {
	name   string
	group  string // seed, values, kwargs, errors, nested, tensors
	fn     string
	args   []any
	kwargs map[string]any
	nOut   int
	want   any                          // the value (a []any of outputs when nOut ≥ 2)
	check  func(got any) error          // instead of want, for values that are not fixed
	err    func(err error) error        // the call must fail; checks the error
	direct bool                         // call the function itself, not through the engine
	graph  func(f fns) (dag.Tuple, any) // a graph of several calls instead of one, and its values
}

// fns looks functions up in the module under test.
type fns func(name string) *runtime.Function

func tensor[T abi.Element](shape []int, data []T) abi.Tensor {
	t, err := abi.NewTensor(shape, data)
	if err != nil {
		panic(err)
	}
	return t
}

func seq(n int, f func(i int) float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// guestError checks that err is a guest error (not a trap) whose message is exactly msg.
func guestError(msg string) func(error) error {
	return func(err error) error {
		var ge *runtime.GuestError
		if !errors.As(err, &ge) {
			return fmt.Errorf("want a guest error %q, got %v", msg, err)
		}
		if ge.Message != msg {
			return fmt.Errorf("guest error %q, want %q", ge.Message, msg)
		}
		return nil
	}
}

// guestErrorNaming checks that err is a guest error whose message contains word.
func guestErrorNaming(word string) func(error) error {
	return func(err error) error {
		var ge *runtime.GuestError
		if !errors.As(err, &ge) {
			return fmt.Errorf("want a guest error naming %q, got %v", word, err)
		}
		if !strings.Contains(ge.Message, word) {
			return fmt.Errorf("guest error %q does not name %q", ge.Message, word)
		}
		return nil
	}
}

// signatureOrGuestError checks err of a spawn of fn with arguments that do not fit: the engine
// refuses it with msg when the module describes fn, the guest names fn when it does not.
func signatureOrGuestError(fn, msg string) func(error) error {
	return func(err error) error {
		if errors.Is(err, sig.ErrArgs) {
			if err.Error() != msg {
				return fmt.Errorf("got %q, want %q", err, msg)
			}
			return nil
		}
		return guestErrorNaming(fn)(err)
	}
}

func cases() []tcase {
	ints := func(lo, hi int) []any {
		out := []any{}
		for i := lo; i <= hi; i++ {
			out = append(out, int64(i))
		}
		return out
	}
	nested := map[string]any{"a": []any{int64(1), map[string]any{"b": []any{nil, "x", 2.5}}}, "c": map[string]any{"d": map[string]any{}}}
	deep := any("bottom")
	for range 100 {
		deep = []any{deep}
	}
	m22 := tensor([]int{2, 2}, []float64{1, 2, 3, 4})
	big := tensor([]int{200, 200}, seq(40000, func(i int) float64 { return float64(i % 7) }))
	mid := tensor([]int{40, 40}, seq(1600, func(i int) float64 { return 0.5 }))
	return []tcase{
		// The Mars guide's functions and graphs.
		{name: "inc", group: "seed", fn: "inc", args: []any{0}, want: int64(1)},
		{name: "inc/negative", group: "seed", fn: "inc", args: []any{-5}, want: int64(-4)},
		{name: "inc/large", group: "seed", fn: "inc", args: []any{int64(1) << 40}, want: int64(1)<<40 + 1},
		{name: "add", group: "seed", fn: "add", args: []any{2, 3}, want: int64(5)},
		{name: "sum_all/ints", group: "seed", fn: "sum_all", args: []any{ints(1, 10)}, want: int64(55)},
		{name: "sum_all/floats", group: "seed", fn: "sum_all", args: []any{[]any{0.4, 0.2}}, want: 0.6000000000000001},
		{name: "sum_all/empty", group: "seed", fn: "sum_all", args: []any{[]any{}}, want: int64(0)},
		{name: "triage", group: "seed", fn: "triage", nOut: 2, args: []any{[]any{0.4, 0.7, 0.2, 0.8}},
			want: []any{[]any{0.4, 0.2}, []any{0.7, 0.8}}},
		{name: "triage/empty", group: "seed", fn: "triage", nOut: 2, args: []any{[]any{}}, want: []any{[]any{}, []any{}}},
		{name: "graph/sum_of_incs", group: "seed", graph: func(f fns) (dag.Tuple, any) {
			incs := make([]*dag.Object, 10)
			for i := range incs {
				incs[i] = dag.Spawn(f("inc"), i)
			}
			return dag.Tuple{dag.Spawn(f("sum_all"), incs)}, []any{int64(55)}
		}},
		{name: "graph/triage_sums", group: "seed", graph: func(f fns) (dag.Tuple, any) {
			la := dag.SpawnN(f("triage"), 2, []any{0.4, 0.7, 0.2, 0.8})
			return dag.Tuple{dag.Spawn(f("sum_all"), la[0]), dag.Spawn(f("sum_all"), la[1])}, []any{0.6000000000000001, 1.5}
		}},

		// Values through the SDK's generic value type and its typed parameters.
		{name: "identity/nil", group: "values", fn: "identity", args: []any{nil}, want: nil},
		{name: "identity/bools", group: "values", fn: "identity", args: []any{[]any{true, false}}, want: []any{true, false}},
		{name: "identity/int64_extremes", group: "values", fn: "identity",
			args: []any{[]any{int64(0), int64(-1), int64(math.MinInt64), int64(math.MaxInt64), int64(-33), int64(200)}},
			want: []any{int64(0), int64(-1), int64(math.MinInt64), int64(math.MaxInt64), int64(-33), int64(200)}},
		{name: "identity/uint64_max", group: "values", fn: "identity", args: []any{uint64(math.MaxUint64)}, want: uint64(math.MaxUint64)},
		{name: "identity/floats", group: "values", fn: "identity", args: []any{[]any{1.5, -0.25, math.MaxFloat64, math.SmallestNonzeroFloat64}},
			want: []any{1.5, -0.25, math.MaxFloat64, math.SmallestNonzeroFloat64}},
		{name: "identity/nan_inf", group: "values", fn: "identity", args: []any{[]any{math.NaN(), math.Inf(1), math.Inf(-1)}},
			want: []any{math.NaN(), math.Inf(1), math.Inf(-1)}},
		{name: "identity/unicode", group: "values", fn: "identity", args: []any{"héllo, 世界 🌍 \u0000 end"}, want: "héllo, 世界 🌍 \u0000 end"},
		{name: "identity/long_string", group: "values", fn: "identity", args: []any{strings.Repeat("ab€", 30000)}, want: strings.Repeat("ab€", 30000)},
		{name: "identity/bytes", group: "values", fn: "identity", args: []any{[]byte{0, 1, 0xc1, 0xff}}, want: []byte{0, 1, 0xc1, 0xff}},
		{name: "identity/empties", group: "values", fn: "identity", args: []any{[]any{"", []byte{}, []any{}, map[string]any{}}},
			want: []any{"", []byte{}, []any{}, map[string]any{}}},
		{name: "identity/nested", group: "values", fn: "identity", args: []any{nested}, want: nested},
		{name: "identity/deep", group: "values", fn: "identity", args: []any{deep}, want: deep},
		{name: "concat", group: "values", fn: "concat", args: []any{"héllo, ", "世界 🌍"}, want: "héllo, 世界 🌍"},
		{name: "concat/empty", group: "values", fn: "concat", args: []any{"", ""}, want: ""},
		{name: "rev_bytes", group: "values", fn: "rev_bytes", args: []any{[]byte{1, 2, 3, 0xff}}, want: []byte{0xff, 3, 2, 1}},
		{name: "rev_bytes/empty", group: "values", fn: "rev_bytes", args: []any{[]byte{}}, want: []byte{}},
		{name: "ints/extremes", group: "values", fn: "ints", args: []any{int64(math.MinInt64), uint64(math.MaxUint64)},
			want: []any{int64(math.MinInt64), uint64(math.MaxUint64)}},
		{name: "ints/small", group: "values", fn: "ints", args: []any{int64(-1), uint64(1) << 63},
			want: []any{int64(-1), uint64(1) << 63}},
		{name: "fdiv", group: "values", fn: "fdiv", args: []any{7.0, 2.0}, want: 3.5},
		{name: "fdiv/inf", group: "values", fn: "fdiv", args: []any{1.0, 0.0}, want: math.Inf(1)},
		{name: "fdiv/neg_inf", group: "values", fn: "fdiv", args: []any{-1.0, 0.0}, want: math.Inf(-1)},
		{name: "fdiv/nan", group: "values", fn: "fdiv", args: []any{0.0, 0.0}, want: math.NaN()},
		{name: "nothing", group: "values", fn: "nothing", want: nil},
		{name: "empties", group: "values", fn: "empties", want: []any{"", []byte{}, []any{}, map[string]any{}}},

		// Keyword arguments.
		{name: "greet/defaults", group: "kwargs", fn: "greet", args: []any{"bob"}, want: "hello, bob!"},
		{name: "greet/one", group: "kwargs", fn: "greet", args: []any{"bob"}, kwargs: map[string]any{"greeting": "hi"}, want: "hi, bob!"},
		{name: "greet/both", group: "kwargs", fn: "greet", args: []any{"世界"},
			kwargs: map[string]any{"punct": "。", "greeting": "こんにちは"}, want: "こんにちは, 世界。"},

		// Errors.
		{name: "fail", group: "errors", fn: "fail", args: []any{"boom: ünïcode ✗"}, err: guestError("boom: ünïcode ✗")},
		// The guest checks its arguments itself (a nested spawn, a module without signatures):
		// called directly, past the engine's check.
		{name: "bad_argument", group: "errors", fn: "inc", args: []any{"x"}, direct: true, err: guestErrorNaming("inc")},
		// A spawn through the engine is checked against the signature first, nothing runs.
		{name: "bad_argument_spawned", group: "errors", fn: "inc", args: []any{"x"}, err: signatureOrGuestError("inc", `cannot spawn inc: inc argument x must be int, got str "x"`)},

		// Nested spawn.
		{name: "driver", group: "nested", fn: "driver", want: ints(1, 10)},
		{name: "divmod", group: "nested", fn: "divmod", nOut: 2, args: []any{17, 5}, want: []any{int64(3), int64(2)}},
		{name: "nested_split", group: "nested", fn: "nested_split", args: []any{17, 5}, want: []any{int64(3), int64(2), int64(5)}},
		{name: "parent_fail", group: "nested", fn: "parent_fail", args: []any{"disk on fire"}, err: func(err error) error {
			var parent *runtime.GuestError
			if !errors.As(err, &parent) {
				return fmt.Errorf("want a guest error, got %v", err)
			}
			if !strings.HasPrefix(parent.Message, "parent_fail: task fail (key ") || !strings.HasSuffix(parent.Message, "): disk on fire") {
				return fmt.Errorf("parent's message %q, want \"parent_fail: task fail (key …): disk on fire\"", parent.Message)
			}
			var child *runtime.GuestError
			if parent.Cause == nil || !errors.As(parent.Cause, &child) || child.Message != "disk on fire" {
				return fmt.Errorf("parent's cause %v, want the child's guest error \"disk on fire\" (fail_with)", parent.Cause)
			}
			return nil
		}},

		// Tensors.
		{name: "tensor_sum", group: "tensors", fn: "tensor_sum", args: []any{m22}, want: 10.0},
		{name: "tensor_sum/mid", group: "tensors", fn: "tensor_sum", args: []any{mid}, want: 800.0},
		{name: "tensor_sum/large", group: "tensors", fn: "tensor_sum", args: []any{big}, want: 119995.0},
		{name: "tensor_sum/empty", group: "tensors", fn: "tensor_sum", args: []any{tensor([]int{0}, []float64{})}, want: 0.0},
		{name: "matmul", group: "tensors", fn: "matmul", args: []any{m22, tensor([]int{2, 2}, []float64{5, 6, 7, 8})},
			want: tensor([]int{2, 2}, []float64{19, 22, 43, 50})},
		{name: "matmul/rect", group: "tensors", fn: "matmul",
			args: []any{tensor([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6}), tensor([]int{3, 1}, []float64{1, 0, -1})},
			want: tensor([]int{2, 1}, []float64{-2, -2})},
		{name: "matmul/mismatch", group: "tensors", fn: "matmul", args: []any{m22, tensor([]int{3, 1}, []float64{1, 2, 3})},
			err: guestErrorNaming("matmul")},
		{name: "rand_matrix", group: "tensors", fn: "rand_matrix", args: []any{3, 4}, check: func(got any) error {
			t, ok := got.(abi.Tensor)
			if !ok || t.DType != abi.Float64 || !slices.Equal(t.Shape, []int{3, 4}) {
				return fmt.Errorf("got %v, want a float64 tensor of shape [3 4]", got)
			}
			xs, _ := t.Float64s()
			for _, x := range xs {
				if !(x >= 0 && x < 1) {
					return fmt.Errorf("element %v is outside [0, 1)", x)
				}
			}
			if slices.Min(xs) == slices.Max(xs) {
				return fmt.Errorf("all 12 elements are %v", xs[0])
			}
			return nil
		}},
		{name: "driver2", group: "tensors", fn: "driver2", check: func(got any) error {
			s, ok := got.(float64)
			if !ok || !(s > 20 && s < 80) { // the sum of 100 uniform numbers: mean 50, sd 2.9
				return fmt.Errorf("got %#v, want a float64 near 50", got)
			}
			return nil
		}},
	}
}

func TestConformance(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range languages {
		t.Run(lang.name, func(t *testing.T) {
			ctx := context.Background()
			rt, err := runtime.New(ctx, runtime.Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer rt.Close(ctx)
			mod, err := rt.LoadFile(ctx, filepath.Join(root, lang.module))
			if err != nil {
				t.Fatalf("loading the %s conformance module: %v", lang.title, err)
			}
			eng := dag.New(dag.Config{Slots: 2})
			lookup := func(name string) *runtime.Function {
				f, err := mod.Func(name)
				if err != nil {
					t.Fatalf("the %s module lacks %s: %v", lang.title, name, err)
				}
				return f
			}
			for _, c := range cases() {
				t.Run(c.name, func(t *testing.T) {
					err := c.run(ctx, eng, mod, lookup)
					reason, known := lang.known[c.name]
					switch {
					case err == nil && known:
						t.Fatalf("passes now, but is listed as failing (%s): remove it from known", reason)
					case err != nil && known:
						t.Skipf("known failure: %s (got: %v)", reason, err)
					case err != nil:
						t.Fatal(err)
					}
				})
			}
		})
	}
}

// run performs the case against mod and returns what is wrong, or nil.
func (c tcase) run(ctx context.Context, eng *dag.Engine, mod *runtime.Module, lookup fns) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var objs dag.Tuple
	var want any
	switch {
	case c.graph != nil:
		objs, want = c.graph(lookup)
	case c.direct:
		tmpl, err := abi.EncodeTemplate(c.args, c.kwargs)
		if err != nil {
			return err
		}
		if _, err := lookup(c.fn).Call(ctx, tmpl.Frame()); c.err != nil {
			if err == nil {
				return errors.New("succeeded, want an error")
			}
			return c.err(err)
		} else if err != nil {
			return err
		}
		return errors.New("a direct case must expect an error")
	default:
		if _, err := mod.Func(c.fn); err != nil {
			return fmt.Errorf("the module does not export %s", c.fn)
		}
		objs = dag.Call{Func: lookup(c.fn), Args: c.args, Kwargs: c.kwargs, NOutput: c.nOut}.Spawn()
		want = c.want
		if c.nOut < 2 {
			want = []any{want}
		}
	}
	err := eng.Execute(ctx, objs...)
	if c.err != nil {
		if err == nil {
			got, _ := eng.FetchAll(ctx, objs...)
			return fmt.Errorf("succeeded with %#v, want an error", got)
		}
		return c.err(err)
	}
	if err != nil {
		return err
	}
	got, err := eng.FetchAll(ctx, objs...)
	if err != nil {
		return err
	}
	if c.check != nil {
		return c.check(got[0])
	}
	if !same(got, want) {
		return fmt.Errorf("got  %s\nwant %s", show(got), show(want))
	}
	return nil
}

// same compares decoded values exactly: types matter (int64, uint64 and float64 differ, and so
// do str and bytes), NaN equals NaN, map order does not matter.
func same(a, b any) bool {
	switch a := a.(type) {
	case float64:
		b, ok := b.(float64)
		return ok && (a == b && math.Signbit(a) == math.Signbit(b) || math.IsNaN(a) && math.IsNaN(b))
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !same(a[i], b[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, x := range a {
			y, ok := b[k]
			if !ok || !same(x, y) {
				return false
			}
		}
		return true
	case []byte:
		b, ok := b.([]byte)
		return ok && bytes.Equal(a, b)
	case abi.Tensor:
		b, ok := b.(abi.Tensor)
		return ok && a.DType == b.DType && slices.Equal(a.Shape, b.Shape) && bytes.Equal(a.Data, b.Data)
	}
	return reflect.DeepEqual(a, b)
}

// show prints a decoded value with its Go types, shortening long strings.
func show(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// TestSupportTable keeps the support table in README.md equal to what the suite finds: every
// case passes in every language except the known failures listed above.
func TestSupportTable(t *testing.T) {
	var b strings.Builder
	b.WriteString("| language | SDK and guide | conformance cases passed | not passing, and why |\n|---|---|---|---|\n")
	all := cases()
	for _, lang := range languages {
		guide := fmt.Sprintf("[guests/%s](guests/%s/README.md)", lang.name, lang.name)
		if lang.name == "wat" {
			guide = "[guests/wat](guests/wat/README.md) (no SDK: hand-written)"
		}
		var notes []string
		for _, c := range all {
			if r, ok := lang.known[c.name]; ok {
				notes = append(notes, fmt.Sprintf("`%s`: %s", c.name, r))
			}
		}
		if len(notes) == 0 {
			notes = []string{"—"}
		}
		fmt.Fprintf(&b, "| %s | %s | %d of %d | %s |\n", lang.title, guide, len(all)-len(lang.known), len(all), strings.Join(notes, "; "))
	}
	table := b.String()
	const begin, end = "<!-- conformance table: generated by go test ./guests -update -->\n", "<!-- end of conformance table -->"
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(readme, []byte(begin)), bytes.Index(readme, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("README.md has no conformance table between %q and %q", begin, end)
	}
	current := string(readme[i+len(begin) : j])
	if current == table {
		return
	}
	if *update {
		out := append(append(append([]byte{}, readme[:i+len(begin)]...), table...), readme[j:]...)
		if err := os.WriteFile("../README.md", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's conformance table is stale; run go test ./guests -run TestSupportTable -update\n got:\n%s\nwant:\n%s", current, table)
}
