package table_test

import (
	"context"
	"fmt"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/mrun-dev/mrun/table"
)

// Function eval of mrun:table takes an expression, a map, and returns the table. Here CSV
// bytes are read in chunks of two rows, filtered, and grouped by city: a filter task and a
// partial group-by task per chunk, and a combine of the partials.
func ExampleModule() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)
	m, err := table.Register(ctx, rt)
	if err != nil {
		panic(err)
	}
	eval, _ := m.Func("eval")
	csv := "city,amount\nOslo,10\nLima,4\nOslo,5\nPune,7\nLima,8\n"
	expr := map[string]any{
		"op":   "groupby",
		"keys": []string{"city"},
		"aggs": []any{[]string{"amount", "sum"}, []string{"amount", "mean"}},
		"x": map[string]any{
			"op":    "filter",
			"where": "amount > 4",
			"x":     map[string]any{"op": "read_csv", "data": csv, "chunk_rows": 2},
		},
	}
	e := dag.New(dag.Config{})
	o := dag.Spawn(eval, expr)
	if err := e.Execute(ctx, o); err != nil {
		panic(err)
	}
	var t abi.Table
	if err := e.Fetch(ctx, o, &t); err != nil {
		panic(err)
	}
	city, _ := t.Columns()[0].Strings()
	sum, _ := t.Columns()[1].Int64s()
	mean, _ := t.Columns()[2].Float64s()
	fmt.Println(t)
	fmt.Println(city, sum, mean)
	// Output:
	// table[3 rows: city string, amount_sum int64, amount_mean float64]
	// [Lima Oslo Pune] [8 15 7] [8 7.5 7]
}

// A chunks source takes a table that is already in the engine as chunks, each the value of
// a task: passed by reference (dag.Ref), the planner gets the Objects' handles and passes
// them on to a partial per chunk, never reading their bytes itself.
func ExampleModule_chunks() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)
	m, err := table.Register(ctx, rt)
	if err != nil {
		panic(err)
	}
	eval, _ := m.Func("eval")
	e := dag.New(dag.Config{})
	var chunks []any
	for _, csv := range []string{"city,amount\nOslo,10\nLima,4\n", "city,amount\nOslo,5\nPune,7\nLima,8\n"} {
		o := dag.Spawn(eval, map[string]any{"op": "read_csv", "data": csv})
		if err := e.Execute(ctx, o); err != nil { // the chunk is stored in the engine
			panic(err)
		}
		chunks = append(chunks, dag.Ref(o))
	}
	o := dag.Spawn(eval, map[string]any{
		"op":   "groupby",
		"keys": "city",
		"aggs": []any{[]string{"amount", "sum"}},
		"x":    map[string]any{"op": "chunks", "chunks": chunks},
	})
	if err := e.Execute(ctx, o); err != nil {
		panic(err)
	}
	var t abi.Table
	if err := e.Fetch(ctx, o, &t); err != nil {
		panic(err)
	}
	city, _ := t.Columns()[0].Strings()
	sum, _ := t.Columns()[1].Int64s()
	fmt.Println(city, sum)
	// Output:
	// [Lima Oslo Pune] [12 15 7]
}
