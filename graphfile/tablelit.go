package graphfile

import (
	"math"
	"time"
	"unicode/utf8"

	"github.com/mrun-dev/mrun/abi"
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
