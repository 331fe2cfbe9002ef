package table_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/tensor"
)

// chunkTables cuts keys 0..n-1 (mod 4) and values 0..n-1 into tables of rows rows.
func chunkTables(t *testing.T, n, rows int) []abi.Table {
	t.Helper()
	var out []abi.Table
	for lo := 0; lo < n; lo += rows {
		var k []int64
		var v []float64
		for i := lo; i < min(lo+rows, n); i++ {
			k, v = append(k, int64(i%4)), append(v, float64(i))
		}
		tb, err := abi.NewTable(abi.Int64Column("key", k), abi.Float64Column("v", v))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tb)
	}
	return out
}

// TestEval_Chunks: a chunks source takes its chunks as they are, given as tables, as Objects
// (their values) or as Objects passed by reference (the planner passes the handles on), and
// a group-by over it is one partial per chunk and a combine.
func TestEval_Chunks(t *testing.T) {
	eval := evalFunc(t)
	var mu sync.Mutex
	starts := map[string]int{}
	e := dag.New(dag.Config{Slots: 1, Events: func(ev dag.Event) {
		if ev.Kind == dag.EventStart {
			mu.Lock()
			starts[ev.Func.Name()]++
			mu.Unlock()
		}
	}})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tables := chunkTables(t, 10, 4) // 4 + 4 + 2 rows
	objs := make([]*dag.Object, len(tables))
	for i, tb := range tables {
		objs[i] = dag.Spawn(eval, map[string]any{"op": "table", "value": tb})
	}
	if err := e.Execute(ctx, objs...); err != nil {
		t.Fatal(err)
	}
	byRef, byValue, literal := make([]any, len(objs)), make([]any, len(objs)), make([]any, len(objs))
	for i, o := range objs {
		byRef[i], byValue[i], literal[i] = dag.Ref(o), o, tables[i]
	}
	// Tables and Objects' values give the partials the same keys (their arguments are the
	// same tables), so the third group-by reuses the second's; by reference, a partial's key
	// names the Object.
	full := map[string]int{"eval": 1, "groupby": 3, "combine": 1}
	for _, tc := range []struct {
		name   string
		chunks []any
		starts map[string]int
	}{{"by reference", byRef, full}, {"by value", byValue, full}, {"tables", literal, map[string]int{"eval": 1}}} {
		clear(starts)
		o := dag.Spawn(eval, map[string]any{"op": "groupby", "keys": "key",
			"aggs": []any{[]string{"v", "sum"}, []string{"v", "count", "n"}},
			"x":    map[string]any{"op": "chunks", "chunks": tc.chunks}})
		if err := e.Execute(ctx, o); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var out abi.Table
		if err := e.Fetch(ctx, o, &out); err != nil {
			t.Fatal(err)
		}
		k, _ := out.Columns()[0].Int64s()
		s, _ := out.Columns()[1].Float64s()
		c, _ := out.Columns()[2].Int64s()
		if out.String() != "table[4 rows: key int64, v_sum float64, n int64]" || !equalInts(k, []int64{0, 1, 2, 3}) ||
			!equalFloats(s, []float64{0 + 4 + 8, 1 + 5 + 9, 2 + 6, 3 + 7}) || !equalInts(c, []int64{3, 3, 2, 2}) {
			t.Errorf("%s: %s keys %v sums %v counts %v", tc.name, out, k, s, c)
		}
		mu.Lock()
		if !equalCounts(starts, tc.starts) {
			t.Errorf("%s: tasks started: %v, want %v", tc.name, starts, tc.starts)
		}
		mu.Unlock()
	}

	// The planner reads the column descriptors of a chunk behind a handle, and only those.
	odd, _ := abi.NewTable(abi.Int64Column("key", []int64{1}), abi.Int64Column("v", []int64{7}))
	oddObj := dag.Spawn(eval, map[string]any{"op": "table", "value": odd})
	tm, err := tensor.Register(ctx, eval.Module().Runtime())
	if err != nil {
		t.Fatal(err)
	}
	teval, _ := tm.Func("eval")
	sum := dag.Spawn(teval, tensor.Rand(1, 4).Sum(nil)) // a float, not a table
	for _, tc := range []struct {
		chunks []any
		want   string
	}{
		{[]any{byRef[0], dag.Ref(oddObj)}, `table: expression (groupby).x (chunks): chunk 1 has columns ["key" int64, "v" int64], chunk 0 has ["key" int64, "v" float64]: every chunk must have the same columns`},
		{[]any{tables[0], dag.Ref(oddObj)}, `table: expression (groupby).x (chunks): chunk 1 has columns ["key" int64, "v" int64], chunk 0 has ["key" int64, "v" float64]: every chunk must have the same columns`},
		{[]any{byRef[0], dag.Ref(sum)}, `table: expression (groupby).x (chunks): chunk 1 is an Object whose value is not a table: it is a float`},
		{[]any{dag.Ref(oddObj), tables[0]}, `table: expression (groupby).x (chunks): chunk 1 has columns ["key" int64, "v" float64], chunk 0 has ["key" int64, "v" int64]: every chunk must have the same columns`},
	} {
		o := dag.Spawn(eval, map[string]any{"op": "groupby", "keys": "key", "aggs": []any{[]string{"v", "sum"}},
			"x": map[string]any{"op": "chunks", "chunks": tc.chunks}})
		if err := e.Execute(ctx, o); err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("got %v\nwant …%s", err, tc.want)
		}
	}

	// The source alone is its chunks joined.
	o := dag.Spawn(eval, map[string]any{"op": "chunks", "chunks": byRef})
	var out abi.Table
	if err := e.Execute(ctx, o); err != nil {
		t.Fatal(err)
	}
	if err := e.Fetch(ctx, o, &out); err != nil {
		t.Fatal(err)
	}
	v, _ := out.Columns()[1].Float64s()
	if out.String() != "table[10 rows: key int64, v float64]" || !equalFloats(v, []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
		t.Errorf("chunks alone: %s %v", out, v)
	}
}

// TestEval_ChunksErrors: a chunks source that is not a list of tables fails eval with what
// is wrong.
func TestEval_ChunksErrors(t *testing.T) {
	eval := evalFunc(t)
	tables := chunkTables(t, 3, 2)
	other, _ := abi.NewTable(abi.Int64Column("key", []int64{1}), abi.StringColumn("v", []string{"x"}))
	for _, tc := range []struct {
		x    any
		want string
	}{
		{map[string]any{"op": "chunks"}, `table: expression (chunks): field "chunks" is missing`},
		{map[string]any{"op": "chunks", "chunks": tables[0]}, `table: expression (chunks): chunks must be an array of tables or Objects passed by reference, got a table`},
		{map[string]any{"op": "chunks", "chunks": []any{}}, `table: expression (chunks): chunks lists no chunk`},
		{map[string]any{"op": "head", "x": map[string]any{"op": "chunks", "chunks": []any{tables[0], "t.csv"}}}, `table: expression (head).x (chunks): chunk 1 must be a table or an Object passed by reference, got a string`},
		{map[string]any{"op": "chunks", "chunks": []any{tables[0], tables[1], other}}, `table: expression (chunks): chunk 2 has columns ["key" int64, "v" string], chunk 0 has ["key" int64, "v" float64]: every chunk must have the same columns`},
	} {
		_, err := run(t, eval, tc.x)
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("got %v\nwant …%s", err, tc.want)
		}
	}
}
