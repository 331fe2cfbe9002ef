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
