package table_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/table"
)

// counted runs x on a new engine with one slot and returns the table and the tasks started
// by function.
func counted(t *testing.T, x any) (abi.Table, map[string]int, error) {
	t.Helper()
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
	o := dag.Spawn(eval, x)
	if err := e.Execute(ctx, o); err != nil {
		return abi.Table{}, starts, err
	}
	var out abi.Table
	if err := e.Fetch(ctx, o, &out); err != nil {
		t.Fatal(err)
	}
	return out, starts, nil
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestEval_Engine runs the planner on the real engine with one slot: it gives its slot back
// while its chunk tasks run, and spawns one task per chunk, a combine tree of fan-in 8 for a
// group-by, and a partition per chunk and a join per partition for a join.
func TestEval_Engine(t *testing.T) {
	n := 1000
	keys, vals := make([]int64, n), make([]float64, n)
	for i := range keys {
		keys[i], vals[i] = int64(i%7), float64(i)
	}
	tb, err := abi.NewTable(abi.Int64Column("key", keys), abi.Float64Column("v", vals))
	if err != nil {
		t.Fatal(err)
	}
	src := map[string]any{"op": "table", "value": tb, "chunk_rows": 10} // 100 chunks
	out, starts, err := counted(t, map[string]any{"op": "groupby", "x": src, "keys": []string{"key"},
		"aggs": []any{[]string{"v", "sum"}, []string{"v", "count", "n"}}})
	if err != nil {
		t.Fatal(err)
	}
	// 100 partials; 13 combines of 7 or 8, 2 of 6 or 7, then the final one.
	if want := map[string]int{"eval": 1, "groupby": 100, "combine": 16}; !equalCounts(starts, want) {
		t.Errorf("group-by tasks started: %v, want %v", starts, want)
	}
	k, _ := out.Columns()[0].Int64s()
	s, _ := out.Columns()[1].Float64s()
	c, _ := out.Columns()[2].Int64s()
	if out.String() != "table[7 rows: key int64, v_sum float64, n int64]" || k[0] != 0 || k[6] != 6 || s[0] != 71071 || c[0] != 143 || c[6] != 142 {
		t.Errorf("group-by: %s keys %v sums %v counts %v", out, k, s, c)
	}

	right, _ := abi.NewTable(abi.Int64Column("key", []int64{3, 5, 9}), abi.StringColumn("name", []string{"three", "five", "nine"}))
	out, starts, err = counted(t, map[string]any{"op": "join", "on": "key", "partitions": 4,
		"x": map[string]any{"op": "filter", "where": "v < 20", "x": src},
		"y": map[string]any{"op": "table", "value": right, "chunk_rows": 2}})
	if err != nil {
		t.Fatal(err)
	}
	// 100 filters; a partition per chunk (100 + 2); 4 joins; a sort, a split and a merge per
	// joined partition.
	if want := map[string]int{"eval": 1, "filter": 100, "partition": 102, "join": 4, "sort": 4, "split": 4, "merge": 4}; !equalCounts(starts, want) {
		t.Errorf("join tasks started: %v, want %v", starts, want)
	}
	k, _ = out.Columns()[0].Int64s()
	v, _ := out.Columns()[1].Float64s()
	names, _ := out.Columns()[2].Strings()
	if out.String() != "table[6 rows: key int64, v float64, name string]" || !equalInts(k, []int64{3, 3, 3, 5, 5, 5}) ||
		!equalFloats(v, []float64{3, 10, 17, 5, 12, 19}) || strings.Join(names, ",") != "three,three,three,five,five,five" {
		t.Errorf("join: %s keys %v v %v names %v", out, k, v, names)
	}

	// A sort of 100 chunks: a sort task per chunk (sampling its keys), a split of each into
	// 100 key ranges, and a merge per range.
	out, starts, err = counted(t, map[string]any{"op": "sort", "by": []string{"key", "v"}, "descending": []bool{true, false}, "x": src})
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"eval": 1, "sort": 100, "split": 100, "merge": 100}; !equalCounts(starts, want) {
		t.Errorf("sort tasks started: %v, want %v", starts, want)
	}
	k, _ = out.Columns()[0].Int64s()
	v, _ = out.Columns()[1].Float64s()
	for i := 1; i < len(k); i++ {
		if k[i] > k[i-1] || k[i] == k[i-1] && v[i] <= v[i-1] {
			t.Fatalf("sort: rows %d and %d are (%d, %v) and (%d, %v)", i-1, i, k[i-1], v[i-1], k[i], v[i])
		}
	}
	if len(k) != n || k[0] != 6 || v[0] != 6 || k[n-1] != 0 || v[n-1] != 994 {
		t.Errorf("sort: %d rows, first (%d, %v), last (%d, %v)", len(k), k[0], v[0], k[n-1], v[n-1])
	}
	// Every chunk empty: no samples, one merge.
	out, _, err = counted(t, map[string]any{"op": "sort", "by": "v", "x": map[string]any{"op": "filter", "where": "v < 0", "x": src}})
	if err != nil || out.String() != "table[0 rows: key int64, v float64]" {
		t.Errorf("sort of nothing: %v, %v", out, err)
	}

	_, _, err = counted(t, map[string]any{"op": "filter", "where": "v > 'x'", "x": src})
	if err == nil || !strings.HasSuffix(err.Error(), `table: expression "v > 'x'", at offset 2: > compares float64 with string: compare numbers with numbers, strings with strings, bools with bools, timestamps with timestamps`) {
		t.Errorf("a failing kernel: %v", err)
	}
	_, _, err = counted(t, map[string]any{"op": "filter", "where": "v >", "x": src})
	if err == nil || !strings.HasSuffix(err.Error(), `table: expression "v >", at offset 3: the expression ends where a value is expected`) {
		t.Errorf("a syntax error, found by the planner: %v", err)
	}
}

func equalInts(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestEval_NoEngine: eval called outside an engine says how to call it.
func TestEval_NoEngine(t *testing.T) {
	frame, err := abi.EncodeFrame([]any{map[string]any{"op": "read_csv", "data": "a\n1\n"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = evalFunc(t).Call(context.Background(), frame)
	if err == nil || !strings.HasSuffix(err.Error(), "table: eval spawns chunk tasks, so it must run as a task of an engine (spawn mrun:table eval), not as a bare call") {
		t.Errorf("bare call: %v", err)
	}
	if table.ModuleName != "mrun:table" {
		t.Errorf("ModuleName = %q", table.ModuleName)
	}
}

// TestEval_Errors: a bad expression fails eval with the path of the part that is wrong.
func TestEval_Errors(t *testing.T) {
	eval := evalFunc(t)
	csv := map[string]any{"op": "read_csv", "data": "a,b\n1,x\n"}
	for _, tc := range []struct {
		x    any
		want string
	}{
		{map[string]any{"op": "pivot", "x": csv}, `table: expression (pivot): unknown op "pivot" (want one of ["table" "read_csv" "read_parquet" "chunks" "select" "filter" "assign" "head" "sort" "groupby" "join"])`},
		{map[string]any{"op": "select", "x": csv}, `table: expression (select): field "columns" is missing`},
		{map[string]any{"op": "select", "x": csv, "columns": []string{}}, `table: expression (select): columns names no column`},
		{map[string]any{"op": "head", "x": map[string]any{"op": "read_csv", "data": 3}}, `table: expression (head).x (read_csv): data must be the CSV's bytes, a string or binary, got an integer (read a file in the caller, or in a guest that mounts it, and pass its bytes)`},
		{map[string]any{"op": "read_csv", "data": "a\n1\n", "chunk_rows": 0}, `table: expression (read_csv): chunk_rows must be 1 or more, got 0`},
		{map[string]any{"op": "read_csv", "data": "a\n1\n", "types": map[string]any{"a": "int32"}}, `table: expression (read_csv): types of column "a": abi: unknown column type "int32" (want int64, float64, bool, string or timestamp)`},
		{map[string]any{"op": "groupby", "x": csv, "keys": "a", "aggs": []any{[]string{"b", "median"}}}, `table: groupby: aggregation 0: unknown function "median" (want one of ["sum" "mean" "count" "min" "max"])`},
		{map[string]any{"op": "groupby", "x": csv, "keys": "a", "aggs": []any{[]string{"b", "sum"}}}, `table: groupby: sum of column "b", of type string, is not defined`},
		{map[string]any{"op": "sort", "x": csv, "by": "c"}, `table: sort: no column "c" (the table has ["a" "b"])`},
		{map[string]any{"op": "join", "x": csv, "y": map[string]any{"op": "read_csv", "data": "a\n1.5\n"}, "on": "a"}, `table: join: key "a" is int64 on the left and float64 on the right: make them one type (assign)`},
	} {
		_, err := run(t, eval, tc.x)
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("got %v\nwant …%s", err, tc.want)
		}
	}
}
