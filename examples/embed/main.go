// Command embed runs the examples of the Mars remote API guide on the in-process mrun engine,
// through the Go API: it is what a Go service embedding mrun does.
//
//	go run ./examples/embed [testdata/seed.wasm]
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

func main() {
	path := "testdata/seed.wasm"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if err := run(context.Background(), path); err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string) error {
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		return err
	}
	defer rt.Close(ctx)
	mod, err := rt.LoadFile(ctx, path)
	if err != nil {
		return err
	}
	fn := func(name string) *runtime.Function {
		f, err := mod.Func(name)
		if err != nil {
			panic(err) // the seed module has all of these
		}
		return f
	}
	inc, sumAll, triage := fn("inc"), fn("sum_all"), fn("triage")
	eng := dag.New(dag.Config{})

	// result = spawn(inc, args=(0,)); result.execute().fetch()
	result := dag.Spawn(inc, 0)
	fmt.Println(result)
	if err := show(ctx, eng, "inc(0)", result); err != nil {
		return err
	}

	// ExecutableTuple([spawn(inc, args=(i,)) for i in range(10)]).execute().fetch()
	results := make(dag.Tuple, 10)
	for i := range results {
		results[i] = dag.Spawn(inc, i)
	}
	if err := show(ctx, eng, "ten incs", results...); err != nil {
		return err
	}

	// spawn(sum_all, args=(results,)).execute().fetch()
	if err := show(ctx, eng, "sum_all(incs)", dag.Spawn(sumAll, results)); err != nil {
		return err
	}

	// la, lb = spawn(triage, args=(l,), n_output=2); two sum_all; execute both
	parts := dag.SpawnN(triage, 2, []float64{0.4, 0.7, 0.2, 0.8})
	sa, sb := dag.Spawn(sumAll, parts[0]), dag.Spawn(sumAll, parts[1])
	return show(ctx, eng, "triage sums", sa, sb)
}

func show(ctx context.Context, eng *dag.Engine, label string, objs ...*dag.Object) error {
	if err := eng.Execute(ctx, objs...); err != nil {
		return err
	}
	vals, err := eng.FetchAll(ctx, objs...)
	if err != nil {
		return err
	}
	if len(vals) == 1 {
		fmt.Printf("%-14s %v\n", label+":", vals[0])
	} else {
		fmt.Printf("%-14s %v\n", label+":", vals)
	}
	return nil
}
