package table

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"

	"github.com/mrun-dev/mrun/abi"
)

// col is a column in a form kernels compute on: one typed slice set, by the column's type
// (int64 and timestamp columns use i).
type col struct {
	name string
	typ  abi.ColumnType
	i    []int64
	f    []float64
	b    []bool
	s    []string
}

// frame is a table as kernels see it: columns of one length.
type frame struct {
	cols []col
	n    int
}

func (c *col) len() int {
	switch c.typ {
	case abi.ColFloat64:
		return len(c.f)
	case abi.ColBool:
		return len(c.b)
	case abi.ColString:
		return len(c.s)
	}
	return len(c.i)
}

// fromTable converts t; numeric columns may share t's bytes, so the frame is read-only.
func fromTable(t abi.Table) (*frame, error) {
	f := &frame{n: t.Rows()}
	for _, c := range t.Columns() {
		k := col{name: c.Name, typ: c.Type}
		var err error
		switch c.Type {
		case abi.ColInt64, abi.ColTimestamp:
			k.i, err = c.Int64s()
		case abi.ColFloat64:
			k.f, err = c.Float64s()
		case abi.ColBool:
			k.b, err = c.Bools()
		case abi.ColString:
			k.s, err = c.Strings()
		default:
			err = fmt.Errorf("table: column %q has type %s, which this version cannot compute on", c.Name, c.Type)
		}
		if err != nil {
			return nil, err
		}
		f.cols = append(f.cols, k)
	}
	return f, nil
}

// table converts f to a table value.
func (f *frame) table() (abi.Table, error) {
	cols := make([]abi.Column, len(f.cols))
	for k, c := range f.cols {
		switch c.typ {
		case abi.ColInt64:
			cols[k] = abi.Int64Column(c.name, c.i)
		case abi.ColTimestamp:
			cols[k] = abi.TimestampNanosColumn(c.name, c.i)
		case abi.ColFloat64:
			cols[k] = abi.Float64Column(c.name, c.f)
		case abi.ColBool:
			cols[k] = abi.BoolColumn(c.name, c.b)
		case abi.ColString:
			cols[k] = abi.StringColumn(c.name, c.s)
		}
	}
	t, err := abi.NewTable(cols...)
	if err != nil {
		return abi.Table{}, fmt.Errorf("table: %w", err)
	}
	return t, nil
}

// column returns the column named name, or an error listing the columns there are.
func (f *frame) column(name string) (*col, error) {
	for k := range f.cols {
		if f.cols[k].name == name {
			return &f.cols[k], nil
		}
	}
	names := make([]string, len(f.cols))
	for k, c := range f.cols {
		names[k] = c.name
	}
	return nil, fmt.Errorf("table: no column %q (the table has %q)", name, names)
}

// take returns the rows of c at idx, in that order.
func (c *col) take(idx []int) col {
	out := col{name: c.name, typ: c.typ}
	switch c.typ {
	case abi.ColFloat64:
		out.f = make([]float64, len(idx))
		for k, i := range idx {
			out.f[k] = c.f[i]
		}
	case abi.ColBool:
		out.b = make([]bool, len(idx))
		for k, i := range idx {
			out.b[k] = c.b[i]
		}
	case abi.ColString:
		out.s = make([]string, len(idx))
		for k, i := range idx {
			out.s[k] = c.s[i]
		}
	default:
		out.i = make([]int64, len(idx))
		for k, i := range idx {
			out.i[k] = c.i[i]
		}
	}
	return out
}

// slice returns rows lo to hi of c, sharing its memory.
func (c *col) slice(lo, hi int) col {
	out := col{name: c.name, typ: c.typ}
	switch c.typ {
	case abi.ColFloat64:
		out.f = c.f[lo:hi]
	case abi.ColBool:
		out.b = c.b[lo:hi]
	case abi.ColString:
		out.s = c.s[lo:hi]
	default:
		out.i = c.i[lo:hi]
	}
	return out
}

func (f *frame) take(idx []int) *frame {
	out := &frame{n: len(idx), cols: make([]col, len(f.cols))}
	for k := range f.cols {
		out.cols[k] = f.cols[k].take(idx)
	}
	return out
}

func (f *frame) slice(lo, hi int) *frame {
	out := &frame{n: hi - lo, cols: make([]col, len(f.cols))}
	for k := range f.cols {
		out.cols[k] = f.cols[k].slice(lo, hi)
	}
	return out
}

// concat appends the rows of fs, which must have the same columns (names and types) in the
// same order.
func concat(fs []*frame) (*frame, error) {
	if len(fs) == 0 {
		return &frame{}, nil
	}
	out := &frame{cols: make([]col, len(fs[0].cols))}
	for k, c := range fs[0].cols {
		out.cols[k] = col{name: c.name, typ: c.typ}
	}
	for p, f := range fs {
		if len(f.cols) != len(out.cols) {
			return nil, fmt.Errorf("table: chunk %d has %d columns, chunk 0 has %d", p, len(f.cols), len(out.cols))
		}
		for k := range f.cols {
			c, o := &f.cols[k], &out.cols[k]
			if c.name != o.name || c.typ != o.typ {
				return nil, fmt.Errorf("table: chunk %d column %d is %q %s, chunk 0 has %q %s", p, k, c.name, c.typ, o.name, o.typ)
			}
			o.i = append(o.i, c.i...)
			o.f = append(o.f, c.f...)
			o.b = append(o.b, c.b...)
			o.s = append(o.s, c.s...)
		}
		out.n += f.n
	}
	return out, nil
}

// compare orders rows i of c and j of d (columns of one type): NaN after every number, in
// either direction, as pandas places missing values last.
func compareAt(c *col, i int, d *col, j int, desc bool) int {
	var r int
	switch c.typ {
	case abi.ColFloat64:
		x, y := c.f[i], d.f[j]
		xn, yn := math.IsNaN(x), math.IsNaN(y)
		switch {
		case xn && yn:
			return 0
		case xn:
			return 1
		case yn:
			return -1
		}
		r = cmpOrdered(x, y)
	case abi.ColBool:
		r = cmpBool(c.b[i], d.b[j])
	case abi.ColString:
		r = cmpOrdered(c.s[i], d.s[j])
	default:
		r = cmpOrdered(c.i[i], d.i[j])
	}
	if desc {
		return -r
	}
	return r
}

func cmpOrdered[T int64 | float64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// appendKey appends an encoding of row i of c to dst that is equal for equal values only:
// the key of hash tables in group-bys and joins.
func appendKey(dst []byte, c *col, i int) []byte {
	switch c.typ {
	case abi.ColFloat64:
		x := c.f[i]
		if x == 0 {
			x = 0 // -0 and +0 are one key
		}
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(x))
	case abi.ColBool:
		if c.b[i] {
			return append(dst, 1)
		}
		return append(dst, 0)
	case abi.ColString:
		dst = binary.AppendUvarint(dst, uint64(len(c.s[i])))
		return append(dst, c.s[i]...)
	}
	return binary.LittleEndian.AppendUint64(dst, uint64(c.i[i]))
}

// names returns the names of f's columns.
func (f *frame) names() []string {
	out := make([]string, len(f.cols))
	for k, c := range f.cols {
		out[k] = c.name
	}
	return out
}

var _ = slices.Contains[[]string]
