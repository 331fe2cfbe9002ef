package table_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/table"
)

// BenchmarkGroupBy10M groups 10,000,000 rows (an int64 key of 1,000 distinct values, a
// float64 value) into 1,000 groups with a sum and a mean of the value, through the planner
// and the engine in process (dag.New with its default slots): the table is an argument of
// eval, cut into chunks of DefaultChunkRows rows, one partial task per chunk and a combine
// tree. testdata/gen.sh times pandas on the same group-by.
func BenchmarkGroupBy10M(b *testing.B) {
	const n, groups = 10_000_000, 1000
	r := rand.New(rand.NewPCG(1, 2))
	keys, vals := make([]int64, n), make([]float64, n)
	for i := range keys {
		keys[i], vals[i] = r.Int64N(groups), r.Float64()
	}
	tb, err := abi.NewTable(abi.Int64Column("key", keys), abi.Float64Column("value", vals))
	if err != nil {
		b.Fatal(err)
	}
	eval := evalFunc(b)
	x := map[string]any{"op": "groupby", "keys": []string{"key"},
		"aggs": []any{[]string{"value", "sum"}, []string{"value", "mean"}},
		"x":    map[string]any{"op": "table", "value": tb}}
	b.SetBytes(n * 16)
	for b.Loop() {
		e := dag.New(dag.Config{})
		o := dag.Spawn(eval, x)
		ctx := context.Background()
		if err := e.Execute(ctx, o); err != nil {
			b.Fatal(err)
		}
		var out abi.Table
		if err := e.Fetch(ctx, o, &out); err != nil {
			b.Fatal(err)
		}
		if out.Rows() != groups {
			b.Fatalf("%d groups, want %d", out.Rows(), groups)
		}
	}
}

// BenchmarkGroupBy10MChunks is BenchmarkGroupBy10M on a table already stored in the engine as
// chunks of DefaultChunkRows rows (the values of select tasks, made before the clock), given
// to the group-by as a chunks source of Objects passed by reference. Each round names its
// aggregations afresh, so that its tasks have keys of their own and nothing is reused from
// the round before.
func BenchmarkGroupBy10MChunks(b *testing.B) {
	const n, groups = 10_000_000, 1000
	eval := evalFunc(b)
	sel, err := eval.Module().Func("select")
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	var objs []*dag.Object
	for lo := 0; lo < n; lo += table.DefaultChunkRows {
		m := min(table.DefaultChunkRows, n-lo)
		keys, vals := make([]int64, m), make([]float64, m)
		for i := range keys {
			keys[i], vals[i] = r.Int64N(groups), r.Float64()
		}
		tb, err := abi.NewTable(abi.Int64Column("key", keys), abi.Float64Column("value", vals))
		if err != nil {
			b.Fatal(err)
		}
		objs = append(objs, dag.Spawn(sel, tb, dag.Kwargs{"columns": []string{"key", "value"}}))
	}
	e := dag.New(dag.Config{})
	ctx := context.Background()
	if err := e.Execute(ctx, objs...); err != nil {
		b.Fatal(err)
	}
	chunks := make([]any, len(objs))
	for i, o := range objs {
		chunks[i] = dag.Ref(o)
	}
	b.SetBytes(n * 16)
	round := 0
	for b.Loop() {
		round++
		x := map[string]any{"op": "groupby", "keys": []string{"key"},
			"aggs": []any{[]any{"value", "sum", fmt.Sprint("sum", round)}, []any{"value", "mean", fmt.Sprint("mean", round)}},
			"x":    map[string]any{"op": "chunks", "chunks": chunks}}
		o := dag.Spawn(eval, x)
		if err := e.Execute(ctx, o); err != nil {
			b.Fatal(err)
		}
		var out abi.Table
		if err := e.Fetch(ctx, o, &out); err != nil {
			b.Fatal(err)
		}
		if out.Rows() != groups {
			b.Fatalf("%d groups, want %d", out.Rows(), groups)
		}
	}
}

// BenchmarkReadCSV1M groups a CSV of 1,000,000 rows (an int64 key of 1,000 values, a float64
// value written with 6 decimals, 13 MB) by the key with a sum of the value, through the
// planner and the engine in process: the CSV is eval's argument, and read_csv's chunks are
// parsed by read_csv tasks, one per DefaultChunkRows records.
func BenchmarkReadCSV1M(b *testing.B) {
	const n, groups = 1_000_000, 1000
	r := rand.New(rand.NewPCG(1, 2))
	buf := []byte("key,value\n")
	for range n {
		buf = fmt.Appendf(buf, "%d,%.6f\n", r.Int64N(groups), r.Float64())
	}
	eval := evalFunc(b)
	x := map[string]any{"op": "groupby", "keys": []string{"key"}, "aggs": []any{[]string{"value", "sum"}},
		"x": map[string]any{"op": "read_csv", "data": buf}}
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		e := dag.New(dag.Config{})
		o := dag.Spawn(eval, x)
		ctx := context.Background()
		if err := e.Execute(ctx, o); err != nil {
			b.Fatal(err)
		}
		var out abi.Table
		if err := e.Fetch(ctx, o, &out); err != nil {
			b.Fatal(err)
		}
		if out.Rows() != groups {
			b.Fatalf("%d groups, want %d", out.Rows(), groups)
		}
	}
}
