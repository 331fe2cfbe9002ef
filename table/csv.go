package table

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
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
				return nil, fmt.Errorf("table: read_csv: line %d has %d fields, the header has %d", pe.StartLine, len(rec), len(header))
			}
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("table: read_csv: line %d, column %d: %w", pe.Line, pe.Column, pe.Err)
			}
			return nil, fmt.Errorf("table: read_csv: %w", err)
		}
		line, _ := r.FieldPos(0)
		rows = append(rows, rec)
		lines = append(lines, line)
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
