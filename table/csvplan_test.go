package table_test

import (
	"math"
	"strings"
	"testing"
)

// pieceCSV has a column whose pieces infer int64 and float64 (f), one of bools and an
// integer (b), one with an empty value in one piece only (e), and quoted fields with a
// newline and doubled quotes (q), blank lines and CRLF line ends.
const pieceCSV = "i,f,b,e,q\n1,1,true,1,\"x\ny\"\n2,2,false,,\"say \"\"hi\"\"\"\n\n3,2.5,1,3,z\r\n"

// TestEval_ReadCSVPieces: read_csv parses its records in tasks of chunk_rows records, and the
// columns' types are those of the whole CSV: a piece whose inferred types differ from the
// unified ones is parsed again with them.
func TestEval_ReadCSVPieces(t *testing.T) {
	for _, tc := range []struct {
		rows   int
		starts map[string]int
	}{
		{1000, map[string]int{"eval": 1, "read_csv": 1}},
		// Pieces of records 1-2 and 3 infer different types: each is parsed again.
		{2, map[string]int{"eval": 1, "read_csv": 4}},
		// Records 1 and 2 agree with the unified types on i and q only: all three again.
		{1, map[string]int{"eval": 1, "read_csv": 6}},
	} {
		out, starts, err := counted(t, map[string]any{"op": "read_csv", "data": pieceCSV, "chunk_rows": tc.rows})
		if err != nil {
			t.Fatal(err)
		}
		if out.String() != "table[3 rows: i int64, f float64, b string, e float64, q string]" {
			t.Fatalf("rows %d: %s", tc.rows, out)
		}
		i, _ := out.Columns()[0].Int64s()
		f, _ := out.Columns()[1].Float64s()
		b, _ := out.Columns()[2].Strings()
		e, _ := out.Columns()[3].Float64s()
		q, _ := out.Columns()[4].Strings()
		if !equalInts(i, []int64{1, 2, 3}) || !equalFloats(f, []float64{1, 2, 2.5}) || strings.Join(b, ",") != "true,false,1" ||
			e[0] != 1 || !math.IsNaN(e[1]) || e[2] != 3 || strings.Join(q, "|") != "x\ny|say \"hi\"|z" {
			t.Errorf("rows %d: i %v f %v b %q e %v q %q", tc.rows, i, f, b, e, q)
		}
		if !equalCounts(starts, tc.starts) {
			t.Errorf("rows %d: tasks started %v, want %v", tc.rows, starts, tc.starts)
		}
	}
}

// TestEval_ReadCSVErrors: a CSV parsed in pieces is refused with the line of the whole CSV
// that is wrong, and of two bad records the first is reported.
func TestEval_ReadCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		data  string
		types map[string]any
		want  string
	}{
		{"a,b\n1,2\n3,4\n5\n", nil, "table: read_csv: line 4 has 1 fields, the header has 2"},
		{"a,b\n1,\"x\ny\"\n3\n", nil, "table: read_csv: line 4 has 1 fields, the header has 2"},
		{"a,b\n1\n2\n", nil, "table: read_csv: line 2 has 1 fields, the header has 2"},
		{"a,b\n1,2\n3,\"x\"y\n", nil, "table: read_csv: line 3, column 5: extraneous or missing \" in quoted-field"},
		{"a,b\n1,2\n3,4\n5,x\n", map[string]any{"b": "int64"}, `table: read_csv: line 4, column "b": "x" is not an int64`},
		{"a\n1\n\n\nx,y\n", nil, "table: read_csv: line 5 has 2 fields, the header has 1"},
		{"a,a\n1,2\n", nil, `table: read_csv: line 1: the header names column "a" twice`},
		{"", nil, "table: read_csv: the CSV is empty: it needs a header row"},
	} {
		x := map[string]any{"op": "read_csv", "data": tc.data, "chunk_rows": 1}
		if tc.types != nil {
			x["types"] = tc.types
		}
		_, _, err := counted(t, x)
		if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
			t.Errorf("%q: got %v\nwant …%s", tc.data, err, tc.want)
		}
	}
	// No records: the header's columns, no task.
	out, starts, err := counted(t, map[string]any{"op": "read_csv", "data": "a,b\n", "chunk_rows": 1})
	if err != nil || out.String() != "table[0 rows: a string, b string]" || !equalCounts(starts, map[string]int{"eval": 1}) {
		t.Errorf("header only: %v %v %v", out, starts, err)
	}
}
