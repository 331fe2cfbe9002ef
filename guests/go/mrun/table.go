package mrun

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// Tables are ext type 5 (ABI.md section 5.4): a header of the column count, zero flags and the
// row count, the columns' descriptors (type, name), then each column's values as one
// little-endian buffer starting 8-byte aligned in the payload (strings: offsets, then text).
// A Table keeps the buffers as bytes, so a numeric column's view is an unsafe.Slice over them,
// as a Tensor's is.

// extTable is the ext type of a table.
const extTable int8 = 5

// maxTableColumns is the largest number of columns a table may have.
const maxTableColumns = 1 << 16

// ColumnType is the type of a table [Column]; its value is the code of ABI.md section 5.4.
type ColumnType uint8

// The column types of ABI.md section 5.4.
const (
	ColInt64     ColumnType = 4  // 64-bit signed integers
	ColFloat64   ColumnType = 10 // IEEE 754 doubles
	ColBool      ColumnType = 11 // booleans
	ColString    ColumnType = 32 // UTF-8 text
	ColTimestamp ColumnType = 33 // nanoseconds since 1970-01-01 UTC, as an int64
)

// String returns the type's name: "int64", "float64", "bool", "string" or "timestamp".
func (t ColumnType) String() string {
	switch t {
	case ColInt64:
		return "int64"
	case ColFloat64:
		return "float64"
	case ColBool:
		return "bool"
	case ColString:
		return "string"
	case ColTimestamp:
		return "timestamp"
	}
	return "coltype(" + strconv.Itoa(int(t)) + ")"
}

// width is the size of one value of a fixed-width column, 0 for strings and unknown types.
func (t ColumnType) width() int {
	switch t {
	case ColInt64, ColFloat64, ColTimestamp:
		return 8
	case ColBool:
		return 1
	}
	return 0
}

// Column is one named, typed column of a [Table]. Make one with [Int64Column],
// [Float64Column], [BoolColumn], [StringColumn] or [TimestampColumn]; read it with the view of
// its type. Like a Tensor, a Column refers to its values: a column of a Table argument is
// valid only until the function returns ([Table.Clone] keeps one longer).
type Column struct {
	name string
	typ  ColumnType
	n    int
	data []byte // fixed-width values, aligned for their type; or the text of every string
	offs []byte // string columns: n+1 little-endian uint32 offsets into data
}

// Name returns the column's name.
func (c Column) Name() string { return c.name }

// Type returns the column's type.
func (c Column) Type() ColumnType { return c.typ }

// Len returns the number of values in the column: the table's number of rows.
func (c Column) Len() int { return c.n }

func fixedColumn[T int64 | float64 | bool](name string, typ ColumnType, v []T) Column {
	var zero T
	var b []byte
	if len(v) > 0 {
		b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*int(unsafe.Sizeof(zero)))
	}
	return Column{name: name, typ: typ, n: len(v), data: b}
}

// Int64Column returns a column of int64 values that shares v's memory.
func Int64Column(name string, v []int64) Column { return fixedColumn(name, ColInt64, v) }

// Float64Column returns a column of float64 values that shares v's memory.
func Float64Column(name string, v []float64) Column { return fixedColumn(name, ColFloat64, v) }

// BoolColumn returns a column of booleans that shares v's memory.
func BoolColumn(name string, v []bool) Column { return fixedColumn(name, ColBool, v) }

// TimestampColumn returns a column of instants, kept as nanoseconds since the Unix epoch
// (which holds the years 1678 to 2261; see time.Time.UnixNano).
func TimestampColumn(name string, v []time.Time) Column {
	ns := make([]int64, len(v))
	for i, t := range v {
		ns[i] = t.UnixNano()
	}
	return fixedColumn(name, ColTimestamp, ns)
}

// StringColumn returns a column of strings, copied.
func StringColumn(name string, v []string) Column {
	total := 0
	for _, s := range v {
		total += len(s)
	}
	c := Column{name: name, typ: ColString, n: len(v), data: make([]byte, 0, total), offs: make([]byte, 4, 4*(len(v)+1))}
	for _, s := range v {
		c.data = append(c.data, s...)
		o := uint32(len(c.data))
		c.offs = append(c.offs, byte(o), byte(o>>8), byte(o>>16), byte(o>>24))
	}
	if uint64(total) > math.MaxUint32 {
		c.offs = nil // NewTable reports it
	}
	return c
}

func (c Column) view(want ColumnType) {
	if c.typ != want && !(want == ColInt64 && c.typ == ColTimestamp) {
		panic("mrun: " + want.String() + "s of the " + c.typ.String() + " column " + strconv.Quote(c.name) + ": check Column.Type first")
	}
}

// The typed views return a column's values as a slice that shares the column's memory,
// without copying or decoding them. Each panics if the column's type is not its own, like
// the Tensor views: check [Column.Type] first.

// Int64s returns the values of an int64 column, or the nanoseconds of a timestamp column.
func (c Column) Int64s() []int64 { c.view(ColInt64); return view[int64](c.data) }

// Float64s returns the values of a float64 column.
func (c Column) Float64s() []float64 { c.view(ColFloat64); return view[float64](c.data) }

// Bools returns the values of a bool column.
func (c Column) Bools() []bool { c.view(ColBool); return view[bool](c.data) }

// Times returns the values of a timestamp column as instants in UTC, copied.
func (c Column) Times() []time.Time {
	c.view(ColTimestamp)
	ns := view[int64](c.data)
	out := make([]time.Time, len(ns))
	for i, x := range ns {
		out[i] = time.Unix(0, x).UTC()
	}
	return out
}

// StringAt returns value i of a string column, copied into a Go string; it panics if i is
// out of range.
func (c Column) StringAt(i int) string {
	c.view(ColString)
	if i < 0 || i >= c.n {
		panic("mrun: StringAt(" + strconv.Itoa(i) + ") of a column of " + strconv.Itoa(c.n) + " values")
	}
	return string(c.BytesAt(i))
}

// BytesAt returns value i of a string column as bytes that share the column's memory.
func (c Column) BytesAt(i int) []byte {
	c.view(ColString)
	return c.data[leUint32(c.offs[4*i:]):leUint32(c.offs[4*i+4:])]
}

// Strings returns the values of a string column, copied into Go strings.
func (c Column) Strings() []string {
	c.view(ColString)
	out := make([]string, c.n)
	for i := range out {
		out[i] = string(c.BytesAt(i))
	}
	return out
}

func leUint32(p []byte) uint32 {
	_ = p[3]
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

// Table is a set of named, typed columns of one length, like a data frame: the value of ext
// type 5 (ABI.md section 5.4). A function takes a table as a parameter of type Table, returns
// one as a result, passes it to [Spawn], and receives one in an any parameter as a Table.
//
//	func total(t mrun.Table) (float64, error) {
//		c, ok := t.Column("amount")
//		if !ok || c.Type() != mrun.ColFloat64 {
//			return 0, errors.New("want a float64 column amount")
//		}
//		s := 0.0
//		for _, x := range c.Float64s() {
//			s += x
//		}
//		return s, nil
//	}
//
// Lifetime: as for a [Tensor], a Table argument is valid only until the function returns.
// The zero Table has no columns and no rows.
type Table struct {
	cols []Column
}

var tableType = reflect.TypeFor[Table]()

// NewTable returns a table of the given columns, which must have distinct, non-empty UTF-8
// names and the same length.
func NewTable(cols ...Column) (Table, error) {
	t := Table{cols: slices.Clone(cols)}
	if err := t.check(); err != nil {
		return Table{}, fmt.Errorf("mrun: %w", err)
	}
	return t, nil
}

// Rows returns the number of rows.
func (t Table) Rows() int {
	if len(t.cols) == 0 {
		return 0
	}
	return t.cols[0].n
}

// Columns returns the table's columns in order; the slice must not be modified.
func (t Table) Columns() []Column { return t.cols }

// Column returns the column named name.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.cols {
		if c.name == name {
			return c, true
		}
	}
	return Column{}, false
}

// String describes t without its values, as in "table of 3 rows: a int64, b string".
func (t Table) String() string {
	var b strings.Builder
	b.WriteString("table of " + strconv.Itoa(t.Rows()) + " rows")
	for i, c := range t.cols {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(c.name + " " + c.typ.String())
	}
	return b.String()
}

// Clone returns a copy of t that shares no memory with it.
func (t Table) Clone() Table {
	out := Table{cols: make([]Column, len(t.cols))}
	for i, c := range t.cols {
		if c.typ.width() > 0 {
			c.data = alignedCopy(c.data)
		} else {
			c.data, c.offs = slices.Clone(c.data), slices.Clone(c.offs)
		}
		out.cols[i] = c
	}
	return out
}

// tableError is a malformed table.
func tableError(format string, a ...any) error {
	return &decodeError{msg: "malformed table: " + fmt.Sprintf(format, a...)}
}

// check reports what makes t break ABI.md section 5.4, if anything.
func (t Table) check() error {
	if len(t.cols) > maxTableColumns {
		return fmt.Errorf("a table has at most %d columns, got %d", maxTableColumns, len(t.cols))
	}
	for i, c := range t.cols {
		if c.name == "" || len(c.name) > math.MaxUint16 || !utf8.ValidString(c.name) {
			return fmt.Errorf("column %d: a name is 1 to 65535 bytes of UTF-8", i)
		}
		for _, d := range t.cols[:i] {
			if d.name == c.name {
				return fmt.Errorf("two columns are named %q", c.name)
			}
		}
		if c.n != t.cols[0].n || uint64(c.n) > math.MaxUint32 {
			return fmt.Errorf("column %q has %d values, column %q has %d", c.name, c.n, t.cols[0].name, t.cols[0].n)
		}
		if w := c.typ.width(); w > 0 {
			if len(c.data) != w*c.n {
				return fmt.Errorf("column %q needs %d bytes, has %d", c.name, w*c.n, len(c.data))
			}
			if c.typ == ColBool && !boolBytes(c.data) {
				return fmt.Errorf("bool column %q holds a byte other than 0 and 1", c.name)
			}
			continue
		}
		if c.typ != ColString {
			return fmt.Errorf("column %q has unknown type %d", c.name, uint8(c.typ))
		}
		if len(c.offs) != 4*(c.n+1) || leUint32(c.offs) != 0 {
			return fmt.Errorf("string column %q: its offsets are not n+1 offsets from 0", c.name)
		}
		// Valid text that no offset cuts inside a character holds valid values.
		valid := utf8.Valid(c.data)
		for k := range c.n {
			lo, hi := leUint32(c.offs[4*k:]), leUint32(c.offs[4*k+4:])
			if hi < lo || uint64(hi) > uint64(len(c.data)) || !valid && !utf8.Valid(c.data[lo:hi]) ||
				int(hi) < len(c.data) && !utf8.RuneStart(c.data[hi]) {
				return fmt.Errorf("string column %q: value %d is out of order, out of range or not UTF-8", c.name, k)
			}
		}
		if uint64(leUint32(c.offs[4*c.n:])) != uint64(len(c.data)) {
			return fmt.Errorf("string column %q: the last offset is not its length", c.name)
		}
	}
	return nil
}

func pad8(n int) int { return -n & 7 }

// parseTable checks an ext-5 payload against ABI.md section 5.4 and returns its table, whose
// buffers are still in p: place puts the fixed-width ones where they are aligned.
func parseTable(p []byte, place func(data []byte, t ColumnType) []byte) (Table, error) {
	if len(p) < 16 {
		return Table{}, tableError("a payload of %d bytes is shorter than the 16-byte header", len(p))
	}
	ncols, nrows := uint64(leUint32(p)), leUint64(p[8:])
	switch {
	case leUint32(p[4:]) != 0:
		return Table{}, tableError("the flags are not zero")
	case ncols > maxTableColumns:
		return Table{}, tableError("%d columns, more than %d", ncols, maxTableColumns)
	case nrows > math.MaxUint32:
		return Table{}, tableError("%d rows, more than 2^32-1", nrows)
	case ncols == 0 && nrows != 0:
		return Table{}, tableError("%d rows but no columns", nrows)
	case ncols*5 > uint64(len(p)-16):
		return Table{}, tableError("a payload of %d bytes cannot hold %d columns", len(p), ncols)
	}
	t := Table{cols: make([]Column, ncols)}
	off := 16
	for i := range t.cols {
		if len(p)-off < 4 || p[off+1] != 0 {
			return Table{}, tableError("column descriptor %d is cut short or its padding is not zero", i)
		}
		typ, nl := ColumnType(p[off]), int(p[off+2])|int(p[off+3])<<8
		off += 4
		if nl > len(p)-off {
			return Table{}, tableError("the name of column %d runs past the payload", i)
		}
		t.cols[i] = Column{name: string(p[off : off+nl]), typ: typ, n: int(nrows)}
		off += nl
	}
	take := func(n uint64) ([]byte, bool) {
		padded := n + uint64(pad8(int(n&7)))
		if padded < n || padded > uint64(len(p)-off) {
			return nil, false
		}
		b := p[off : off+int(n) : off+int(n)]
		for _, z := range p[off+int(n) : off+int(padded)] {
			if z != 0 {
				return nil, false
			}
		}
		off += int(padded)
		return b, true
	}
	// The descriptors end with zero bytes up to a multiple of 8.
	if pad := pad8(off); pad > len(p)-off || !slices.Equal(p[off:off+pad], make([]byte, pad)) {
		return Table{}, tableError("the column descriptors' padding is cut short or not zero")
	} else {
		off += pad
	}
	for i := range t.cols {
		c := &t.cols[i]
		var ok bool
		switch w := c.typ.width(); {
		case w > 0:
			c.data, ok = take(nrows * uint64(w))
		case c.typ == ColString:
			if c.offs, ok = take(4 * (nrows + 1)); ok {
				c.data, ok = take(uint64(leUint32(c.offs[4*nrows:])))
			}
		default:
			return Table{}, tableError("column %q has unknown type %d", c.name, uint8(c.typ))
		}
		if !ok {
			return Table{}, tableError("column %q runs past the payload or its padding is not zero", c.name)
		}
	}
	if off != len(p) {
		return Table{}, tableError("%d bytes after the last column", len(p)-off)
	}
	if err := t.check(); err != nil {
		return Table{}, tableError("%v", err)
	}
	for i, c := range t.cols {
		if c.typ.width() > 0 {
			t.cols[i].data = place(c.data, c.typ)
		}
	}
	return t, nil
}

// placeDType is the tensor dtype whose alignment a fixed-width column needs.
func placeDType(t ColumnType) DType {
	if t == ColBool {
		return Bool
	}
	return Int64
}

// readTable consumes a table; its buffers are placed as a tensor's elements are (see
// tensorData).
func (c *codec) readTable() (Table, error) {
	b, err := c.peek()
	if err != nil {
		return Table{}, err
	}
	if families[b] != famExt {
		return Table{}, mismatch(b, tableType)
	}
	start := c.off
	id, n, err := c.extHeader()
	if err != nil {
		return Table{}, err
	}
	if id != extTable {
		c.off = start
		return Table{}, &decodeError{msg: fmt.Sprintf("cannot decode ext type %d into mrun.Table", id)}
	}
	p, err := c.take(n)
	if err != nil {
		return Table{}, err
	}
	return parseTable(p, func(data []byte, t ColumnType) []byte { return c.tensorData(data, placeDType(t)) })
}

func decodeTable(c *codec, v reflect.Value) error {
	t, err := c.readTable()
	if err == nil {
		*(*Table)(v.Addr().UnsafePointer()) = t // the codec decodes into addressable values
	}
	return err
}

// appendTable appends t as one ext-5 value with the shortest ext header.
func appendTable(b []byte, t Table) ([]byte, error) {
	if err := t.check(); err != nil {
		return b, fmt.Errorf("mrun: %w", err)
	}
	desc := 0
	for _, c := range t.cols {
		desc += 4 + len(c.name)
	}
	n := uint64(16 + desc + pad8(desc))
	for _, c := range t.cols {
		n += uint64(len(c.offs) + pad8(len(c.offs)) + len(c.data) + pad8(len(c.data)))
	}
	switch {
	case n == 16:
		b = append(b, 0xd8, byte(extTable))
	case n <= math.MaxUint8:
		b = append(b, 0xc7, byte(n), byte(extTable))
	case n <= math.MaxUint16:
		b = append(b, 0xc8, byte(n>>8), byte(n), byte(extTable))
	case n <= math.MaxUint32:
		b = append(b, 0xc9, byte(n>>24), byte(n>>16), byte(n>>8), byte(n), byte(extTable))
	default:
		return b, fmt.Errorf("a %s of %d bytes is too large for one value", t, n)
	}
	b = slices.Grow(b, int(n))
	nc, nr := uint32(len(t.cols)), uint64(t.Rows())
	b = append(b, byte(nc), byte(nc>>8), byte(nc>>16), byte(nc>>24), 0, 0, 0, 0)
	b = append(b, byte(nr), byte(nr>>8), byte(nr>>16), byte(nr>>24), byte(nr>>32), byte(nr>>40), byte(nr>>48), byte(nr>>56))
	for _, c := range t.cols {
		b = append(b, byte(c.typ), 0, byte(len(c.name)), byte(len(c.name)>>8))
		b = append(b, c.name...)
	}
	var zeros [8]byte
	b = append(b, zeros[:pad8(desc)]...)
	for _, c := range t.cols {
		if c.typ == ColString {
			b = append(append(b, c.offs...), zeros[:pad8(len(c.offs))]...)
		}
		b = append(append(b, c.data...), zeros[:pad8(len(c.data))]...)
	}
	return b, nil
}

// writeTable appends t as one ext-5 value.
func (c *codec) writeTable(t Table) error {
	b, err := appendTable(c.out.b, t)
	c.out.b = b
	return err
}

// EncodeMsgpack writes t as ext type 5; it makes Table a msgpack.CustomEncoder, so that a
// Table inside a struct is encoded too.
func (t Table) EncodeMsgpack(enc *msgpack.Encoder) error {
	b, err := appendTable(nil, t)
	if err != nil {
		return err
	}
	_, err = enc.Writer().Write(b)
	return err
}

// DecodeMsgpack reads a table (ext type 5) into t, copying it; it makes *Table a
// msgpack.CustomDecoder, so that a Table inside a struct parameter decodes too.
func (t *Table) DecodeMsgpack(dec *msgpack.Decoder) error {
	id, n, err := dec.DecodeExtHeader()
	if err != nil {
		return err
	}
	if id != extTable {
		return fmt.Errorf("cannot decode ext type %d into mrun.Table", id)
	}
	p := make([]byte, n)
	if err := dec.ReadFull(p); err != nil {
		return err
	}
	x, err := parseTable(p, func(data []byte, typ ColumnType) []byte {
		if len(data) == 0 || isAligned(data, placeDType(typ)) {
			return data
		}
		return alignedCopy(data)
	})
	if err != nil {
		return err
	}
	*t = x
	return nil
}
