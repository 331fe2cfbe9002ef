package graphfile_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"path/filepath"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/graphfile"
	"github.com/mrun-dev/mrun/runtime"
)

// Example reads a graph file from bytes, loads the modules it names, plans it into Objects,
// runs them on an in-process engine and prints its outputs.
func Example() {
	src := []byte(`
modules: {seed: seed.wasm}
tasks:
  incs: {call: seed.inc, foreach: {range: 4}, args: [$item]}
  total: {call: seed.sum_all, args: [$incs]}
outputs:
  total: $total
  both: {first: $incs.0, last: $incs.3}
`)
	g, err := graphfile.Parse("g.yaml", src, "../testdata", graphfile.DefaultMaxCalls)
	if err != nil {
		log.Fatal(err) // g.yaml:LINE:COLUMN: what is wrong
	}

	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close(ctx)
	mods := map[string]*runtime.Module{}
	for _, m := range g.Modules() {
		mod, err := rt.LoadFile(ctx, filepath.Join(g.Dir(), m.Path))
		if err != nil {
			log.Fatal(g.Errorf(m.Pos, "module %q: %v", m.Name, err))
		}
		mods[m.Name] = mod
	}
	objs, err := g.Plan(mods, nil)
	if err != nil {
		log.Fatal(err)
	}

	eng := dag.New(dag.Config{})
	if err := eng.Execute(ctx, objs...); err != nil {
		log.Fatal(err)
	}
	outs, err := g.Outputs(func(o *dag.Object) (any, error) {
		var v any
		err := eng.Fetch(ctx, o, &v)
		return v, err
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, o := range outs {
		b, _ := json.Marshal(o.Value)
		fmt.Printf("%s: %s\n", o.Name, b)
	}
	// Output:
	// total: 10
	// both: {"first":1,"last":4}
}

// ExampleParse shows a problem Parse reports: an *Error at its place in the file.
func ExampleParse() {
	src := []byte("modules: {seed: seed.wasm}\ntasks:\n  a: {call: seed.inc, foreach: 5, args: [$item]}\n")
	_, err := graphfile.Parse("g.yaml", src, ".", graphfile.DefaultMaxCalls)
	var fe *graphfile.Error
	if errors.As(err, &fe) {
		fmt.Printf("line %d, column %d\n", fe.Pos().Line, fe.Pos().Col)
	}
	fmt.Println(err)
	// Output:
	// line 3, column 32
	// g.yaml:3:32: task "a": foreach needs a list, and 5 is a single value: for the numbers 0 to 4, write foreach: {range: 5}
}
