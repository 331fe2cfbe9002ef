package dag_test

import (
	"context"
	"fmt"
	"log"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// Example embeds the engine in a Go program: load a module, spawn calls lazily, execute them
// together, and fetch their values.
func Example() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.LoadFile(ctx, "../testdata/seed.wasm")
	if err != nil {
		log.Fatal(err)
	}
	inc, _ := mod.Func("inc")
	sumAll, _ := mod.Func("sum_all")

	// Ten independent calls, and one that depends on all of them. Nothing runs yet.
	incs := make(dag.Tuple, 10)
	for i := range incs {
		incs[i] = dag.Spawn(inc, i)
	}
	total := dag.Spawn(sumAll, incs)

	eng := dag.New(dag.Config{})
	if err := eng.Execute(ctx, total); err != nil {
		log.Fatal(err)
	}
	values, _ := eng.FetchAll(ctx, incs...)
	var sum int
	if err := eng.Fetch(ctx, total, &sum); err != nil {
		log.Fatal(err)
	}
	fmt.Println(values)
	fmt.Println(sum)
	// Output:
	// [1 2 3 4 5 6 7 8 9 10]
	// 55
}

// ExampleSpawnN splits one call's result into two Objects that feed different calls.
func ExampleSpawnN() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.LoadFile(ctx, "../testdata/seed.wasm")
	if err != nil {
		log.Fatal(err)
	}
	triage, _ := mod.Func("triage")
	sumAll, _ := mod.Func("sum_all")

	parts := dag.SpawnN(triage, 2, []float64{0.4, 0.7, 0.2, 0.8})
	sa, sb := dag.Spawn(sumAll, parts[0]), dag.Spawn(sumAll, parts[1])

	eng := dag.New(dag.Config{})
	if err := eng.Execute(ctx, sa, sb); err != nil {
		log.Fatal(err)
	}
	values, _ := eng.FetchAll(ctx, sa, sb)
	fmt.Println(values)
	// Output: [0.6000000000000001 1.5]
}

// ExampleEngine_Run serves one request the way a long-running service does: the Execution
// holds the values it computed until it is released, and Get decodes one into a Go type.
func ExampleEngine_Run() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.LoadFile(ctx, "../testdata/wat/fixtures.wasm")
	if err != nil {
		log.Fatal(err)
	}
	echo, _ := mod.Func("echo") // returns [args, kwargs]
	eng := dag.New(dag.Config{})

	reply := dag.Spawn(echo, 1, "two", dag.Kwargs{"three": 3.0})
	x, err := eng.Run(dag.WithLabel(ctx, "request-1"), reply)
	defer x.Release() // also when Run failed: it holds what did succeed
	if err != nil {
		log.Fatal(dag.RootCause(err))
	}
	v, err := dag.Get[[]any](ctx, x, reply)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v)
	// Output: [[1 two] map[three:3]]
}
