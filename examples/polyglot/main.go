// Command polyglot runs one graph whose tasks are written in five languages, through the Go
// API: the same graph as examples/polyglot.yaml. Run it from the repository root:
//
//	go run ./examples/polyglot
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

func main() {
	if err := run(context.Background(), os.Stdout, "."); err != nil {
		fmt.Fprintln(os.Stderr, "polyglot:", err)
		os.Exit(1)
	}
}

// modules are the five languages' conformance modules, by the name the graph uses.
var modules = map[string]string{
	"go":   "testdata/seed.wasm",
	"c":    "testdata/c/conformance.wasm",
	"rust": "testdata/rust/conformance.wasm",
	"as":   "testdata/assemblyscript/conformance.wasm",
	"zig":  "testdata/zig/conformance.wasm",
}

// run builds the graph with the modules under root and prints its values to w.
func run(ctx context.Context, w io.Writer, root string) error {
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	fns := map[string]*runtime.Module{}
	for name, path := range modules {
		if fns[name], err = rt.LoadFile(ctx, root+"/"+path); err != nil {
			return err
		}
	}
	fn := func(lang, name string) (*runtime.Function, error) { return fns[lang].Func(name) }
	var errs []error
	must := func(lang, name string) *runtime.Function {
		f, err := fn(lang, name)
		errs = append(errs, err)
		return f
	}
	a, _ := abi.NewTensor([]int{2, 2}, []float64{1, 2, 3, 4})
	b, _ := abi.NewTensor([]int{2, 2}, []float64{5, 6, 7, 8})

	incs := make([]*dag.Object, 10) // C
	for i := range incs {
		incs[i] = dag.Spawn(must("c", "inc"), i)
	}
	total := dag.Spawn(must("rust", "sum_all"), incs)                 // Rust
	qr := dag.SpawnN(must("zig", "divmod"), 2, total, 7)              // Zig
	joined := dag.Spawn(must("as", "add"), qr[0], qr[1])              // AssemblyScript
	product := dag.Spawn(must("go", "matmul"), a, b)                  // Go
	summed := dag.Spawn(must("c", "tensor_sum"), product)             // C
	answer := dag.Spawn(must("go", "sum_all"), []any{joined, summed}) // Go
	name := dag.Spawn(must("zig", "concat"), "wasm", " world")        // Zig
	hello := dag.Call{Func: must("rust", "greet"), Args: []any{name}, // Rust
		Kwargs: map[string]any{"greeting": "hi"}}.Spawn()[0]
	for _, err := range errs {
		if err != nil {
			return err
		}
	}

	eng := dag.New(dag.Config{})
	outs := dag.Tuple{total, qr[0], qr[1], joined, product, summed, answer, hello}
	if err := eng.Execute(ctx, outs...); err != nil {
		return err
	}
	vals, err := eng.FetchAll(ctx, outs...)
	if err != nil {
		return err
	}
	p := vals[4].(abi.Tensor)
	elems, err := p.Float64s()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "total (Rust sum_all of 10 C incs): %v\n", vals[0])
	fmt.Fprintf(w, "divmod (Zig): %v %v\n", vals[1], vals[2])
	fmt.Fprintf(w, "joined (AssemblyScript add): %v\n", vals[3])
	fmt.Fprintf(w, "product (Go matmul): %v %v\n", p, elems)
	fmt.Fprintf(w, "summed (C tensor_sum): %v\n", vals[5])
	fmt.Fprintf(w, "answer (Go sum_all): %v\n", vals[6])
	fmt.Fprintf(w, "hello (Rust greet of a Zig concat): %v\n", vals[7])
	return nil
}
