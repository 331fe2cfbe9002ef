package gosig_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/internal/gosig"
)

// FuzzFiles checks that any source that parses is described without a panic, and that every
// line written reads back as the same signature (what mrun sig add will do with it).
func FuzzFiles(f *testing.F) {
	f.Add(`package main

import "github.com/mrun-dev/mrun/guests/go/mrun"

//go:wasmexport mrun_fn_f
func fExport(p, n uint32) uint64 { return mrun.Call(p, n, f) }

// f does things.
//
//mrun:type xs list[int]
func f(xs []any, m map[string]*[3]byte, kw mrun.Kwargs) (a, b int, err error) {
	_, _ = mrun.Kwarg(kw, "k", 'x')
	_, _ = mrun.Kwarg(kw, "s", "\u00e9\n")
	_, _ = mrun.Kwarg(kw, "f", -1e300)
	return
}
`)
	f.Fuzz(func(t *testing.T, src string) {
		fset := token.NewFileSet()
		file, err := parser.ParseFile(fset, "f.go", src, parser.ParseComments)
		if err != nil {
			return
		}
		res, err := gosig.Files(fset, []*ast.File{file})
		if err != nil {
			return
		}
		for _, s := range res.Sigs {
			line := s.String()
			back, err := sig.ParseLine(line)
			if err != nil {
				t.Fatalf("%q does not read back: %v", line, err)
			}
			if back.String() != line {
				t.Fatalf("%q reads back as %q", line, back.String())
			}
		}
	})
}
