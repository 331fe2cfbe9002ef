package table

import (
	"bytes"
	"encoding/csv"
	"slices"
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

// FuzzReadCSVPieces: a CSV cut into pieces of rows records (csvPieces), each parsed on its
// own, with the types unified and the pieces that differ parsed again, gives what parsing the
// whole gives; the first piece that fails gives the whole's error.
func FuzzReadCSVPieces(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n3,4.5\n", "a\n\"x\ny\"\n\n1\n", "i,f\n1,\n2,2.5\ntrue,x\n", "a,b\n1\n", "a\r\n1\r\n\r\nTrue\r\n", "a,b\n1,\"x\"y\n"} {
		for rows := range 4 {
			f.Add([]byte(s), uint8(rows+1))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, rows uint8) {
		if rows == 0 {
			return
		}
		whole, werr := readCSV(data, nil)
		r := csv.NewReader(bytes.NewReader(data))
		if _, err := r.Read(); err != nil {
			if werr == nil {
				t.Fatalf("the header fails alone (%v), not in the whole", err)
			}
			return
		}
		hdrEnd := int(r.InputOffset())
		if _, err := readCSV(data[:hdrEnd], nil); err != nil {
			if werr == nil || err.Error() != werr.Error() {
				t.Fatalf("header: %v, whole: %v", err, werr)
			}
			return
		}
		bounds := csvPieces(data, hdrEnd, int(rows))
		var parts []*frame
		var types [][]abi.ColumnType
		var pieces [][]byte
		var offs []int
		for i := 0; i+1 < len(bounds); i++ {
			piece := append(append([]byte{}, data[:hdrEnd]...), data[bounds[i]:bounds[i+1]]...)
			off := bytes.Count(data[:bounds[i]], []byte{'\n'}) - bytes.Count(data[:hdrEnd], []byte{'\n'})
			p, err := readCSVAt(piece, nil, off)
			if err != nil {
				if werr == nil || err.Error() != werr.Error() {
					t.Fatalf("piece %d %q: %v, whole: %v", i, piece, err, werr)
				}
				return
			}
			var ts []abi.ColumnType
			for _, c := range p.cols {
				if p.n > 0 {
					ts = append(ts, c.typ)
				}
			}
			parts, types, pieces, offs = append(parts, p), append(types, ts), append(pieces, piece), append(offs, off)
		}
		if werr != nil {
			t.Fatalf("every piece parses, the whole fails: %v", werr)
		}
		head, _ := readCSV(data[:hdrEnd], nil)
		var none []abi.ColumnType
		for _, c := range head.cols {
			none = append(none, c.typ)
		}
		unified := unifyTypes(none, types)
		given := map[string]abi.ColumnType{}
		for k, c := range parts[0].cols {
			given[c.name] = unified[k]
		}
		for i := range parts {
			if !slices.Equal(types[i], unified) {
				var err error
				if parts[i], err = readCSVAt(pieces[i], given, offs[i]); err != nil {
					t.Fatalf("piece %d again as %v: %v", i, unified, err)
				}
			}
		}
		got, err := concat(parts)
		if err != nil {
			t.Fatal(err)
		}
		if !sameFrames([]*frame{got}, []*frame{whole}) {
			t.Fatalf("pieces of %d: %+v, whole: %+v", rows, got, whole)
		}
	})
}
