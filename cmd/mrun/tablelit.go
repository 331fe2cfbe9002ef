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

// tableLiteral builds the table that {"$table": {"columns": [...]}} writes, each column
// {"name": "a", "type": "int64", "data": [1, 2]}. The types are int64 (or int), float64 (or
// float), bool, string and timestamp; a float may be "NaN", "Infinity" or "-Infinity", and a
// timestamp is an RFC 3339 time ("2026-12-07T16:29:27.5Z") or an integer of nanoseconds since
// 1970 UTC.
func tableLiteral(v *vnode) (abi.Table, error) {
	if v.kind != vMap {
		return abi.Table{}, litErrorf(v, `$table must be a map {"columns": [...]}`)
	}
	var colsNode *vnode
	for i, k := range v.keys {
		if k != "columns" {
			return abi.Table{}, litErrorf(v.items[i], "$table has no field %q (it has columns)", k)
		}
		colsNode = v.items[i]
	}
	if colsNode == nil || colsNode.kind != vList {
		return abi.Table{}, litErrorf(v, `$table needs "columns", a list of {"name", "type", "data"}`)
	}
	cols := make([]abi.Column, 0, len(colsNode.items))
	for i, c := range colsNode.items {
		col, err := columnLiteral(c, i)
		if err != nil {
			return abi.Table{}, err
		}
		if i > 0 && col.Len() != cols[0].Len() {
			return abi.Table{}, litErrorf(c, "$table column %q has %d values, column %q has %d", col.Name, col.Len(), cols[0].Name, cols[0].Len())
		}
		cols = append(cols, col)
	}
	t, err := abi.NewTable(cols...)
	if err != nil {
		return abi.Table{}, litErrorf(colsNode, "$%s", trimPkg(err))
	}
	return t, nil
}

// columnLiteral builds column i of a $table.
func columnLiteral(c *vnode, i int) (abi.Column, error) {
	if c.kind != vMap {
		return abi.Column{}, litErrorf(c, `$table column %d must be a map {"name", "type", "data"}`, i)
	}
	var name string
	var typ abi.ColumnType
	var data *vnode
	for k, key := range c.keys {
		x := c.items[k]
		switch key {
		case "name":
			s, ok := x.lit.(string)
			if x.kind != vLit || !ok || s == "" {
				return abi.Column{}, litErrorf(x, "$table column %d: name must be a non-empty string", i)
			}
			name = s
		case "type":
			s, _ := x.lit.(string)
			t, err := abi.ParseColumnType(s)
			if x.kind != vLit || err != nil {
				return abi.Column{}, litErrorf(x, "$table column %d: %s", i, trimPkg(err))
			}
			typ = t
		case "data":
			if x.kind != vList {
				return abi.Column{}, litErrorf(x, "$table column %d: data must be a list", i)
			}
			data = x
		default:
			return abi.Column{}, litErrorf(x, "$table column %d has no field %q (it has name, type and data)", i, key)
		}
	}
	switch {
	case name == "":
		return abi.Column{}, litErrorf(c, "$table column %d needs a name", i)
	case typ == 0:
		return abi.Column{}, litErrorf(c, "$table column %q needs a type: int64, float64, bool, string or timestamp", name)
	case data == nil:
		return abi.Column{}, litErrorf(c, "$table column %q needs data", name)
	}
	bad := func(x *vnode, k int, want string) error {
		return litErrorf(x, "$table column %q value %d: %s is not %s", name, k, litText(x.lit), want)
	}
	items := data.items
	for k, x := range items {
		if x.kind != vLit {
			return abi.Column{}, litErrorf(x, "$table column %q value %d: a column holds scalars, not lists or maps", name, k)
		}
	}
	switch typ {
	case abi.ColInt64:
		v := make([]int64, len(items))
		for k, x := range items {
			n, ok := wholeNumber(x.lit)
			if !ok {
				return abi.Column{}, bad(x, k, "an int64")
			}
			v[k] = n
		}
		return abi.Int64Column(name, v), nil
	case abi.ColFloat64:
		v := make([]float64, len(items))
		for k, x := range items {
			switch f := x.lit.(type) {
			case int64:
				v[k] = float64(f)
			case uint64:
				v[k] = float64(f)
			case float64:
				v[k] = f
			case string:
				g, ok := jsonFloatName[f]
				if !ok {
					return abi.Column{}, bad(x, k, `a number (or "NaN", "Infinity", "-Infinity")`)
				}
				v[k] = g
			default:
				return abi.Column{}, bad(x, k, "a number")
			}
		}
		return abi.Float64Column(name, v), nil
	case abi.ColBool:
		v := make([]bool, len(items))
		for k, x := range items {
			b, ok := x.lit.(bool)
			if !ok {
				return abi.Column{}, bad(x, k, "true or false")
			}
			v[k] = b
		}
		return abi.BoolColumn(name, v), nil
	case abi.ColString:
		v := make([]string, len(items))
		for k, x := range items {
			s, ok := x.lit.(string)
			if !ok || !utf8.ValidString(s) {
				return abi.Column{}, bad(x, k, "a string")
			}
			v[k] = s
		}
		return abi.StringColumn(name, v), nil
	}
	v := make([]int64, len(items)) // timestamp
	for k, x := range items {
		if n, ok := wholeNumber(x.lit); ok {
			v[k] = n
			continue
		}
		s, ok := x.lit.(string)
		if !ok {
			return abi.Column{}, bad(x, k, "a timestamp (an RFC 3339 time or nanoseconds since 1970)")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return abi.Column{}, bad(x, k, "an RFC 3339 time such as 2026-12-07T16:29:27.5Z")
		}
		if ns := t.UnixNano(); !time.Unix(0, ns).Equal(t) {
			return abi.Column{}, litErrorf(x, "$table column %q value %d: %s is outside the years 1678 to 2262 that a timestamp holds", name, k, litText(s))
		}
		v[k] = t.UnixNano()
	}
	return abi.TimestampNanosColumn(name, v), nil
}

// wholeNumber returns x as an int64 when it is an integer that fits one.
func wholeNumber(x any) (int64, bool) {
	switch x := x.(type) {
	case int64:
		return x, true
	case float64:
		if x == math.Trunc(x) && x >= math.MinInt64 && x < math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

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
