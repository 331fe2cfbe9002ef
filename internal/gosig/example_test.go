package gosig_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/internal/gosig"
)

func ExampleFiles() {
	const src = `package main

import "github.com/mrun-dev/mrun/guests/go/mrun"

//go:wasmexport mrun_fn_greet
func greetExport(p, n uint32) uint64 { return mrun.Call(p, n, greet) }

// greet returns greeting + ", " + name + "!". The greeting is a keyword argument.
func greet(name string, kw mrun.Kwargs) (string, error) {
	greeting, err := mrun.Kwarg(kw, "greeting", "hello")
	return greeting + ", " + name + "!", err
}
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "greet.go", src, parser.ParseComments)
	if err != nil {
		panic(err)
	}
	res, err := gosig.Files(fset, []*ast.File{f})
	if err != nil {
		panic(err)
	}
	fmt.Print(string(sig.Format(res.Sigs)))
	// Output:
	// greet(name: str, *, greeting: str = "hello") -> str  -- greet returns greeting + ", " + name + "!".
}
