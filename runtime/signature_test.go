package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mrun-dev/mrun/abi/wasmsection"
	"github.com/mrun-dev/mrun/runtime"
)

func TestFunction_Signature(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "conformance")
	tests := []struct{ fn, want string }{
		{"inc", "inc(x: int) -> int  -- Returns x + 1."},
		{"greet", `greet(name: str, *, greeting: str = "hello", punct: str = "!") -> str  -- Returns greeting + ", " + name + punct.`},
		{"triage", "triage(xs: list[float]) -> (list[float], list[float])  -- Splits xs into the elements below 0.5 and the others."},
		{"rand_matrix", "rand_matrix(r: int, c: int) -> tensor[float64]  impure  -- Returns an r x c matrix of uniform numbers in [0, 1)."},
	}
	for _, tt := range tests {
		s := fn(t, m, tt.fn).Signature()
		if s == nil || s.String() != tt.want {
			t.Errorf("%s: Signature() = %v, want %s", tt.fn, s, tt.want)
		}
	}
	for _, f := range m.Functions() {
		if f.Signature() == nil {
			t.Errorf("conformance describes every function, not %s", f.Name())
		}
	}
	// The same bytes under other capabilities share the signatures.
	again, err := rt.LoadWith(context.Background(), "c2", m.Bytes(), runtime.ModuleConfig{MemoryLimitPages: 100})
	if err != nil {
		t.Fatal(err)
	}
	if s := fn(t, again, "inc").Signature(); s == nil || s.Doc != "Returns x + 1." {
		t.Fatalf("the second module's inc has signature %v", s)
	}
	// A module without the section loads as before: its functions have no signature.
	if s := fn(t, load(t, rt, "abi_example"), "inc").Signature(); s != nil {
		t.Fatalf("abi_example's inc has signature %v, want nil", s)
	}
}

func TestLoad_BadSignature(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("..", "testdata", "wat", "abi_example.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	with := func(sections ...string) []byte {
		b := slices.Clone(base)
		for i, s := range sections {
			if i == 0 {
				var err error
				if b, err = wasmsection.Set(b, "mrun.signatures", []byte(s)); err != nil {
					t.Fatal(err)
				}
				continue
			}
			// Set replaces a section of the same name: append the second one by hand.
			b = append(b, 0, byte(16+len(s)), 15)
			b = append(b, "mrun.signatures"+s...)
		}
		return b
	}
	tests := []struct {
		name string
		wasm []byte
		msg  string
	}{
		{"malformed", with("inc(x: int) -> int\ninc(x int) -> int\n"),
			`module m: invalid signature: mrun.signatures line 2, column 7: want ":", found 'i'`},
		{"twice", with("inc(x: int) -> int\n\ninc(y: int) -> int\n"),
			`module m: invalid signature: mrun.signatures line 3, column 1: function "inc" is described twice (first on line 1)`},
		{"not exported", with("# the module has inc only\ninc(x: int) -> int\ndec(x: int) -> int\n"),
			`module m: invalid signature: mrun.signatures line 3 describes function "dec", which the module does not export as "mrun_fn_dec" (it exports inc)`},
		{"two sections", with("inc(x: int) -> int\n", "inc(x: int) -> int\n"),
			`module m: invalid signature: the module has 2 "mrun.signatures" custom sections, want at most one`},
		{"not UTF-8", with("inc(x: int) -> int  -- \xff\n"),
			`module m: invalid signature: mrun.signatures line 1, column 24: invalid UTF-8`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newRuntime(t, runtime.Config{})
			_, err := rt.Load(context.Background(), "m", tt.wasm)
			if !errors.Is(err, runtime.ErrBadSignature) || err.Error() != tt.msg {
				t.Fatalf("Load = %v\nwant %s", err, tt.msg)
			}
		})
	}
	// A section of comments describes nothing.
	rt := newRuntime(t, runtime.Config{})
	m, err := rt.Load(context.Background(), "m", with("# no signatures yet\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s := fn(t, m, "inc").Signature(); s != nil {
		t.Fatalf("inc has signature %v, want nil", s)
	}
}
