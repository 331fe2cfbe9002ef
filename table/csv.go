package table

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/mrun-dev/mrun/abi"
)

// readCSV parses CSV bytes with a header row into a frame. Columns named in types take that
// type; the others are inferred from their values: int64 when every value is an integer,
// else float64 when every value is a number or empty (an empty value is NaN), else bool when
// every value is true or false (in any of pandas' spellings), else string. A timestamp column
// must be named in types; its values are RFC 3339 instants.
func readCSV(data []byte, types map[string]abi.ColumnType) (*frame, error) {
	return readCSVAt(data, types, 0)
}

// readCSVAt is readCSV for a part of a CSV: data is the header and some of the records,
// which begin lineOffset lines later in the whole CSV than in data, so errors name the
// whole's lines.
func readCSVAt(data []byte, types map[string]abi.ColumnType, lineOffset int) (*frame, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = false
	header, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("table: read_csv: the CSV is empty: it needs a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("table: read_csv: %w", err)
	}
	seen := map[string]bool{}
	for k, h := range header {
		if h == "" {
			return nil, fmt.Errorf("table: read_csv: line 1, column %d: the header has an empty column name", k+1)
		}
		if seen[h] {
			return nil, fmt.Errorf("table: read_csv: line 1: the header names column %q twice", h)
		}
		seen[h] = true
	}
	for name := range types {
		if !seen[name] {
			return nil, fmt.Errorf("table: read_csv: types names column %q, which the header (%q) does not have", name, header)
		}
	}
	var rows [][]string
	var lines []int // the line of each record
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				return nil, fmt.Errorf("table: read_csv: line %d has %d fields, the header has %d", pe.StartLine+lineOffset, len(rec), len(header))
			}
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("table: read_csv: line %d, column %d: %w", pe.Line+lineOffset, pe.Column, pe.Err)
			}
			return nil, fmt.Errorf("table: read_csv: %w", err)
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, rec)
		lines = append(lines, line+lineOffset)
	}
	f := &frame{n: len(rows)}
	for k, name := range header {
		typ, given := types[name]
		if !given {
			typ = inferType(rows, k)
		}
		c := col{name: name, typ: typ}
		bad := func(i int, what string) error {
			return fmt.Errorf("table: read_csv: line %d, column %q: %q is not %s", lines[i], name, rows[i][k], what)
		}
		switch typ {
		case abi.ColInt64:
			c.i = make([]int64, len(rows))
			for i, rec := range rows {
				if c.i[i], err = strconv.ParseInt(rec[k], 10, 64); err != nil {
					return nil, bad(i, "an int64")
				}
			}
		case abi.ColFloat64:
			c.f = make([]float64, len(rows))
			for i, rec := range rows {
				var ok bool
				if c.f[i], ok = parseFloat(rec[k]); !ok {
					return nil, bad(i, "a float64")
				}
			}
		case abi.ColBool:
			c.b = make([]bool, len(rows))
			for i, rec := range rows {
				var ok bool
				if c.b[i], ok = parseBool(rec[k]); !ok {
					return nil, bad(i, "a bool (true or false)")
				}
			}
		case abi.ColTimestamp:
			c.i = make([]int64, len(rows))
			for i, rec := range rows {
				t, err := time.Parse(time.RFC3339Nano, rec[k])
				if err != nil {
					return nil, bad(i, "an RFC 3339 timestamp (2026-12-07T12:00:00Z)")
				}
				c.i[i] = t.UnixNano()
			}
		case abi.ColString:
			c.s = make([]string, len(rows))
			for i, rec := range rows {
				c.s[i] = rec[k]
			}
		default:
			return nil, fmt.Errorf("table: read_csv: column %q: type %s cannot be read from CSV", name, typ)
		}
		f.cols = append(f.cols, c)
	}
	return f, nil
}

// inferType returns the type of column k of rows: see readCSV.
func inferType(rows [][]string, k int) abi.ColumnType {
	isInt, isFloat, isBool := true, true, true
	for _, rec := range rows {
		v := rec[k]
		if isInt {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				isInt = false
			}
		}
		if isFloat {
			if _, ok := parseFloat(v); !ok {
				isFloat = false
			}
		}
		if isBool {
			if _, ok := parseBool(v); !ok {
				isBool = false
			}
		}
		if !isInt && !isFloat && !isBool {
			return abi.ColString
		}
	}
	switch {
	case len(rows) == 0:
		return abi.ColString // pandas makes an empty column object
	case isInt:
		return abi.ColInt64
	case isFloat:
		return abi.ColFloat64
	case isBool:
		return abi.ColBool
	}
	return abi.ColString
}

// parseFloat reads a float64 as pandas does: a number, an empty field or one of the NaN
// spellings (NaN), inf and -inf.
func parseFloat(s string) (float64, bool) {
	switch s {
	case "", "NaN", "nan", "NA", "N/A", "null":
		return math.NaN(), true
	}
	x, err := strconv.ParseFloat(s, 64)
	return x, err == nil
}

func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	return false, false
}

// csvPieces cuts the records of a CSV, from byte start (just after the header), into pieces
// of rows records each (the last one what remains) and returns where each piece starts, then
// len(data). A record ends at a newline outside double quotes; empty lines, which
// encoding/csv skips, are not counted. A CSV with misplaced quotes may be cut elsewhere than
// at record ends: the piece that holds the misplaced quote then fails to parse, with the line
// and column encoding/csv gives for the whole.
func csvPieces(data []byte, start, rows int) []int {
	bounds := []int{start}
	i, count := start, 0
	for i < len(data) {
		if data[i] == '\n' {
			i++
			continue
		}
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i += 2
			continue
		}
		i = recordEnd(data, i)
		if count++; count == rows && i < len(data) {
			bounds, count = append(bounds, i), 0
		}
	}
	if count == 0 && len(bounds) > 1 { // the last piece would hold only empty lines
		bounds = bounds[:len(bounds)-1]
	}
	return append(bounds, len(data))
}

// recordEnd returns where the record starting at data[i] ends: after its newline, or at the
// end of data.
func recordEnd(data []byte, i int) int {
	for {
		nl := bytes.IndexByte(data[i:], '\n')
		if nl < 0 {
			return len(data)
		}
		line := data[i : i+nl]
		if bytes.Count(line, quote)%2 == 0 {
			return i + nl + 1
		}
		// An odd number of quotes: the newline is inside a quoted field; find the closing
		// quote and go on from there.
		q := bytes.IndexByte(data[i+nl+1:], '"')
		if q < 0 {
			return len(data)
		}
		i += nl + 1 + q + 1
	}
}

var quote = []byte{'"'}

// csvParams reads the fields data and types of a read_csv expression or kernel.
func csvParams(p *params) ([]byte, map[string]abi.ColumnType, error) {
	types := map[string]abi.ColumnType{}
	if tv, ok := p.get("types", false); ok {
		tm, ok := tv.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("table: %s: types must be a map of column names to types, got %s", p.what, typeName(tv))
		}
		for name, x := range tm {
			s, _ := x.(string)
			var err error
			if types[name], err = abi.ParseColumnType(s); err != nil {
				return nil, nil, fmt.Errorf("table: %s: types of column %q: %w", p.what, name, err)
			}
		}
	}
	data, _ := p.get("data", true)
	if p.err != nil {
		return nil, nil, p.err
	}
	switch x := data.(type) {
	case string:
		return []byte(x), types, nil
	case []byte:
		return x, types, nil
	}
	return nil, nil, fmt.Errorf("table: %s: data must be the CSV's bytes, a string or binary, got %s (read a file in the caller, or in a guest that mounts it, and pass its bytes)", p.what, typeName(data))
}

// readCSV plans a CSV source: the planner reads the header (and checks it and types), cuts
// the records into pieces of rows records (csvPieces: a scan for newlines and quotes, not a
// parse), and a read_csv task per piece parses it, inferring its columns' types. The planner
// then reads each piece's types (a table of no rows) and unifies them as inference over the
// whole would have: a column that is int64 in some pieces and float64 in others is float64,
// one of any other mix is string. A piece whose types differ from the unified ones is parsed
// again with them given. The chunks are the pieces.
func (pl *planner) readCSV(ctx context.Context, data []byte, types map[string]abi.ColumnType, rows int) ([]ref, error) {
	r := csv.NewReader(bytes.NewReader(data))
	if _, err := r.Read(); err != nil {
		_, err = readCSV(data, types) // the same error, said as the whole's parse says it
		return nil, err
	}
	hdrEnd := int(r.InputOffset())
	head, err := readCSV(data[:hdrEnd], types)
	if err != nil {
		return nil, err
	}
	bounds := csvPieces(data, hdrEnd, rows)
	if bounds[0] == bounds[1] { // no records
		return chunks(head, rows)
	}
	given := map[string]any{}
	for name, t := range types {
		given[name] = t.String()
	}
	hdrLines := bytes.Count(data[:hdrEnd], newline)
	lines := hdrLines
	pieces := make([][]byte, len(bounds)-1)
	offsets := make([]int, len(pieces))
	first := make([]ref, len(pieces))
	for i := range pieces {
		lo, hi := bounds[i], bounds[i+1]
		if i > 0 {
			lines += bytes.Count(data[bounds[i-1]:lo], newline)
		}
		pieces[i] = append(append(make([]byte, 0, hdrEnd+hi-lo), data[:hdrEnd]...), data[lo:hi]...)
		offsets[i] = lines - hdrLines
		if first[i], err = pl.task(ctx, "read_csv", nil, map[string]any{"data": pieces[i], "types": given, "line": offsets[i]}, 2); err != nil {
			return nil, err
		}
	}
	handles := make([]uint32, len(first))
	for i, f := range first {
		handles[i] = f.h + 1
	}
	if _, err := pl.n.Execute(ctx, handles); err != nil {
		return nil, fmt.Errorf("table: execute %d read_csv tasks: %w", len(handles), err)
	}
	schemas := make([][]abi.ColumnType, len(handles))
	for i, h := range handles { // in order, so that the first bad record is the one reported
		b, err := pl.n.Fetch(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("table: parse the CSV: %w", err)
		}
		var t abi.Table
		if err := abi.Unmarshal(b, &t); err != nil || len(t.Columns()) != len(head.cols) && len(t.Columns()) != 0 {
			return nil, fmt.Errorf("table: the column types of read_csv piece %d are not a table of %d columns", i, len(head.cols))
		}
		for _, c := range t.Columns() { // none when the piece has no records
			schemas[i] = append(schemas[i], c.Type)
		}
	}
	var unified []abi.ColumnType
	for _, c := range head.cols {
		unified = append(unified, c.typ)
	}
	unified = unifyTypes(unified, schemas)
	all := map[string]any{}
	for k, c := range head.cols {
		all[c.name] = unified[k].String()
	}
	for i, s := range schemas {
		if !slices.Equal(s, unified) {
			if first[i], err = pl.task(ctx, "read_csv", nil, map[string]any{"data": pieces[i], "types": all, "line": offsets[i]}, 2); err != nil {
				return nil, err
			}
		}
	}
	return first, nil
}

var newline = []byte{'\n'}

// unifyTypes returns the column types that inference over the whole CSV gives, from those it
// gave for each piece (nil for a piece of no records, which has no say): a type that every
// piece has; float64 for a mix of int64 and float64 (every value is a number or empty);
// string for any other mix; none when no piece has records.
func unifyTypes(none []abi.ColumnType, pieces [][]abi.ColumnType) []abi.ColumnType {
	var unified []abi.ColumnType
	for _, s := range pieces {
		if s == nil {
			continue
		}
		if unified == nil {
			unified = slices.Clone(s)
			continue
		}
		for k, t := range s {
			if u := unified[k]; u != t {
				if (u == abi.ColInt64 || u == abi.ColFloat64) && (t == abi.ColInt64 || t == abi.ColFloat64) {
					unified[k] = abi.ColFloat64
				} else {
					unified[k] = abi.ColString
				}
			}
		}
	}
	if unified == nil {
		return none
	}
	return unified
}
