package table_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// TestEval_ReadParquet: read_parquet through the planner on the real engine: each row group
// is cut into chunks of at most chunk_rows rows (never joined with the next), and each chunk
// goes to a task of the operation that reads it.
func TestEval_ReadParquet(t *testing.T) {
	type sale struct {
		City   string  `parquet:"city,dict"`
		Amount int64   `parquet:"amount"`
		Price  float64 `parquet:"price"`
	}
	cities := []string{"Oslo", "Lima", "Pune"}
	var rows []sale
	for i := range 10 {
		rows = append(rows, sale{cities[i%3], int64(i), float64(i) / 2})
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[sale](&buf, parquet.MaxRowsPerRowGroup(4)) // 4, 4, 2 rows
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	src := map[string]any{"op": "read_parquet", "data": buf.Bytes(), "columns": []string{"city", "amount"}, "chunk_rows": 3}
	out, starts, err := counted(t, map[string]any{"op": "groupby", "x": src, "keys": "city", "aggs": []any{[]string{"amount", "sum"}}})
	if err != nil {
		t.Fatal(err)
	}
	// Chunks of 3 + 1, 3 + 1 and 2 rows: five partials and the combine that finishes.
	if want := map[string]int{"eval": 1, "groupby": 5, "combine": 1}; !equalCounts(starts, want) {
		t.Errorf("tasks started: %v, want %v", starts, want)
	}
	k, _ := out.Columns()[0].Strings()
	s, _ := out.Columns()[1].Int64s()
	if out.String() != "table[3 rows: city string, amount_sum int64]" || strings.Join(k, ",") != "Lima,Oslo,Pune" || !equalInts(s, []int64{12, 18, 15}) {
		t.Errorf("group-by: %s keys %q sums %v", out, k, s)
	}

	// Without an operation, eval returns the file's rows, in order, in one table.
	out, starts, err = counted(t, map[string]any{"op": "read_parquet", "data": buf.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := out.Columns()[2].Float64s()
	if out.String() != "table[10 rows: city string, amount int64, price float64]" || p[9] != 4.5 || !equalCounts(starts, map[string]int{"eval": 1}) {
		t.Errorf("read: %s prices %v tasks %v", out, p, starts)
	}

	eval := evalFunc(t)
	for _, tc := range []struct {
		x    map[string]any
		want string
	}{
		{map[string]any{"op": "read_parquet", "data": 7}, `table: expression (read_parquet): data must be the Parquet file's bytes, binary or a string, got an integer (read the file in the caller, or in a guest that mounts it, and pass its bytes)`},
		{map[string]any{"op": "read_parquet", "data": "city,amount\n"}, `table: read_parquet: the data is not a Parquet file: it must begin and end with "PAR1" (pass the file's bytes, not its path or its text)`},
		{map[string]any{"op": "read_parquet", "data": []byte("PAR1")}, `table: read_parquet: the data is not a Parquet file: it must begin and end with "PAR1" (pass the file's bytes, not its path or its text)`},
		{map[string]any{"op": "read_parquet", "data": buf.Bytes(), "columns": []string{}}, `table: expression (read_parquet): columns names no column (leave it out to read every column)`},
		{map[string]any{"op": "read_parquet", "data": buf.Bytes(), "chunk_rows": 0}, `table: expression (read_parquet): chunk_rows must be 1 or more, got 0`},
	} {
		_, err := run(t, eval, tc.x)
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("got %v\nwant …%s", err, tc.want)
		}
	}
}
