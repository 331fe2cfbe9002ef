package table

import (
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

// FuzzReadCSV: any bytes give a frame that converts to a valid table, or an error; never a
// panic.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a\n\"x\ny\"\n", "i,f\n1,\n2,2.5\n", "a,b\n1\n", "\xff\n\xfe\n", "t\n2026-12-07T00:00:00Z\n"} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, ts bool) {
		var types map[string]abi.ColumnType
		if ts {
			types = map[string]abi.ColumnType{"t": abi.ColTimestamp}
		}
		fr, err := readCSV(data, types)
		if err != nil {
			return
		}
		tb, err := fr.table()
		if err != nil {
			return // invalid UTF-8: refused when the table is made
		}
		if tb.Rows() != fr.n {
			t.Fatalf("%d rows, frame has %d", tb.Rows(), fr.n)
		}
	})
}

// FuzzExpr: any source parses and evaluates to a column of the frame's length, or an error;
// never a panic.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{"a + 2 * 3", "a > 1 and s != 'q' or not b", "`two words` / x", "t < '1970-01-01T00:00:01Z'", "((a", "-x - -a", "1e", "'\\"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := parseExpr(src)
		if err != nil {
			return
		}
		c, err := evalExpr(src, n, testFrame())
		if err == nil && c.len() != 3 {
			t.Fatalf("%q: %d values, want 3", src, c.len())
		}
	})
}
