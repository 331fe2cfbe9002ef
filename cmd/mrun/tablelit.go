package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/internal/termsafe"
)

// tableColumnsJSON returns the values of every column of t as JSON-ready values, column by
// column: numbers, booleans, strings, timestamps as RFC 3339 text in UTC, and the floats JSON
// has no numbers for as "NaN", "Infinity" and "-Infinity".
func tableColumnsJSON(t abi.Table) ([][]any, error) {
	out := make([][]any, len(t.Columns()))
	for i, c := range t.Columns() {
		var vals []any
		switch c.Type {
		case abi.ColInt64:
			xs, err := c.Int64s()
			if err != nil {
				return nil, err
			}
			vals = anys(xs)
		case abi.ColFloat64:
			xs, err := c.Float64s()
			if err != nil {
				return nil, err
			}
			vals = make([]any, len(xs))
			for k, x := range xs {
				vals[k] = jsonFloat(x)
			}
		case abi.ColBool:
			xs, err := c.Bools()
			if err != nil {
				return nil, err
			}
			vals = anys(xs)
		case abi.ColString:
			xs, err := c.Strings()
			if err != nil {
				return nil, err
			}
			vals = anys(xs)
		case abi.ColTimestamp:
			xs, err := c.Times()
			if err != nil {
				return nil, err
			}
			vals = make([]any, len(xs))
			for k, x := range xs {
				vals[k] = x.Format(time.RFC3339Nano)
			}
		default:
			return nil, fmt.Errorf("column %q has unknown type %s", c.Name, c.Type)
		}
		out[i] = vals
	}
	return out, nil
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// jsonFloat returns f, or the string that stands for it when JSON has no number for it.
func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return f
}

// tableJSON prints a table as {"$table": {"columns": [{"name", "type", "data"}, ...]}}, the
// form tableLiteral reads.
func tableJSON(t abi.Table) (any, error) {
	vals, err := tableColumnsJSON(t)
	if err != nil {
		return nil, err
	}
	cols := make([]any, len(vals))
	for i, c := range t.Columns() {
		o := &jsonObject{done: true}
		o.add("name", c.Name)
		o.add("type", c.Type.String())
		o.add("data", vals[i])
		cols[i] = o
	}
	inner := &jsonObject{done: true}
	inner.add("columns", cols)
	o := &jsonObject{done: true}
	o.add("$table", inner)
	return o, nil
}

// tableRows prints a table as a list of rows, each an object of the columns in order.
func tableRows(t abi.Table) (any, error) {
	vals, err := tableColumnsJSON(t)
	if err != nil {
		return nil, err
	}
	rows := make([]any, t.Rows())
	for r := range rows {
		o := &jsonObject{}
		for i, c := range t.Columns() {
			o.add(c.Name, vals[i][r])
		}
		o.done = len(t.Columns()) != 1 // a row of one column named $tensor gets its escape
		rows[r] = o
	}
	return rows, nil
}

// textTableRows is how many rows a text table shows: longer tables show their first and last
// textTableRows/2 rows around a line of dots.
const textTableRows = 40

// textTable prints t as aligned text for a terminal: a header of column names, one line per
// row, numbers aligned right, and a last line that counts the rows. Text is made safe for the
// terminal, with line breaks and tabs shown as \n and \t.
func textTable(t abi.Table) (string, error) {
	vals, err := tableColumnsJSON(t)
	if err != nil {
		return "", err
	}
	n, half := t.Rows(), textTableRows/2
	elided := n > textTableRows
	rows := make([]int, 0, min(n, textTableRows))
	for r := range min(n, half) {
		rows = append(rows, r)
	}
	for r := max(half, n-half); r < n; r++ {
		rows = append(rows, r)
	}
	cols := t.Columns()
	cells := make([][]string, len(cols))
	width := make([]int, len(cols))
	for i, c := range cols {
		cells[i] = make([]string, len(rows))
		width[i] = utf8.RuneCountInString(cellText(c.Name))
		if elided {
			width[i] = max(width[i], len("..."))
		}
		for k, r := range rows {
			s := cellText(vals[i][r])
			cells[i][k] = s
			width[i] = max(width[i], utf8.RuneCountInString(s))
		}
	}
	var b strings.Builder
	line := func(cell func(i int) string) {
		var l strings.Builder
		for i, c := range cols {
			if i > 0 {
				l.WriteString("  ")
			}
			s := cell(i)
			pad := strings.Repeat(" ", max(0, width[i]-utf8.RuneCountInString(s)))
			if c.Type == abi.ColInt64 || c.Type == abi.ColFloat64 {
				l.WriteString(pad + s)
			} else {
				l.WriteString(s + pad)
			}
		}
		b.WriteString(strings.TrimRight(l.String(), " ") + "\n")
	}
	if len(cols) > 0 {
		line(func(i int) string { return cellText(cols[i].Name) })
		for k := range rows {
			if elided && k == half {
				line(func(int) string { return "..." })
			}
			line(func(i int) string { return cells[i][k] })
		}
	}
	switch t.Rows() {
	case 1:
		b.WriteString("(1 row)\n")
	default:
		fmt.Fprintf(&b, "(%d rows)\n", t.Rows())
	}
	return b.String(), nil
}

// cellText shows one value of a text table.
func cellText(v any) string {
	switch v := v.(type) {
	case string:
		s := termsafe.String(v)
		return strings.NewReplacer("\n", `\n`, "\t", `\t`, "\r", `\r`).Replace(s)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}
