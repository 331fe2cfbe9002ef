package table

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
)

// TestReadCSV_Types: types are inferred int64 → float64 → bool → string, or given; empty
// numbers are NaN; timestamps are RFC 3339.
func TestReadCSV_Types(t *testing.T) {
	data := "i,f,b,s,e,t,forced\n1,2,true,x,,2026-12-07T12:00:00.5Z,7\n-3,2.5,False,4,1.5,2026-12-07T13:00:00+01:00,8\n"
	f, err := readCSV([]byte(data), map[string]abi.ColumnType{"t": abi.ColTimestamp, "forced": abi.ColFloat64})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := f.table()
	if err != nil {
		t.Fatal(err)
	}
	if got := tb.String(); got != "table[2 rows: i int64, f float64, b bool, s string, e float64, t timestamp, forced float64]" {
		t.Errorf("types: %s", got)
	}
	e, _ := tb.Columns()[4].Float64s()
	ts, _ := tb.Columns()[5].Times()
	s, _ := tb.Columns()[3].Strings()
	if !math.IsNaN(e[0]) || e[1] != 1.5 || !ts[0].Equal(time.Date(2026, 12, 7, 12, 0, 0, 5e8, time.UTC)) ||
		!ts[1].Equal(time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)) || strings.Join(s, ",") != "x,4" {
		t.Errorf("values: e %v t %v s %q", e, ts, s)
	}
}

// TestReadCSV_Errors: a bad CSV is refused with the line and column that are wrong.
func TestReadCSV_Errors(t *testing.T) {
	for _, tc := range []struct {
		data  string
		types map[string]abi.ColumnType
		want  string
	}{
		{"", nil, "table: read_csv: the CSV is empty: it needs a header row"},
		{"a,b\n1,2\n3\n", nil, "table: read_csv: line 3 has 1 fields, the header has 2"},
		{"a,b\n1,\"x\"y\n", nil, "table: read_csv: line 2, column 5: extraneous or missing \" in quoted-field"},
		{"a,a\n1,2\n", nil, `table: read_csv: line 1: the header names column "a" twice`},
		{"a,b\n1,2\n3,x\n", map[string]abi.ColumnType{"b": abi.ColInt64}, `table: read_csv: line 3, column "b": "x" is not an int64`},
		{"a,t\n1,2026-12-07\n", map[string]abi.ColumnType{"t": abi.ColTimestamp}, `table: read_csv: line 2, column "t": "2026-12-07" is not an RFC 3339 timestamp (2026-12-07T12:00:00Z)`},
		{"a\n1\n", map[string]abi.ColumnType{"c": abi.ColInt64}, `table: read_csv: types names column "c", which the header (["a"]) does not have`},
	} {
		_, err := readCSV([]byte(tc.data), tc.types)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%q: got %v, want %s", tc.data, err, tc.want)
		}
	}
}

// TestCSVPieces: records are cut at newlines outside quotes, blank lines are not counted,
// and a tail of blank lines joins the last piece.
func TestCSVPieces(t *testing.T) {
	for _, tc := range []struct {
		data string
		rows int
		want []int
	}{
		{"h\n1\n2\n3\n", 2, []int{2, 6, 8}},
		{"h\n1\n2\n3", 1, []int{2, 4, 6, 7}},
		{"h\n\"a\nb\"\n2\n", 1, []int{2, 8, 10}},
		{"h\n\"a\"\"\nb\"\n2\n", 1, []int{2, 10, 12}},
		{"h\r\n1\r\n\r\n\n2\r\n", 1, []int{3, 6, 12}},
		{"h\n1\n\n\n", 1, []int{2, 6}},
		{"h\n", 3, []int{2, 2}},
	} {
		start := strings.IndexByte(tc.data, '\n') + 1
		if got := csvPieces([]byte(tc.data), start, tc.rows); !slices.Equal(got, tc.want) {
			t.Errorf("%q by %d: %v, want %v", tc.data, tc.rows, got, tc.want)
		}
	}
}
