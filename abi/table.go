package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vmihailenco/msgpack/v5"
)

// ExtTable is the MessagePack extension type of a table: named, typed columns of one length
// (ABI.md section 5.4).
const ExtTable int8 = 5

// MaxTableColumns is the largest number of columns a table may have.
const MaxTableColumns = 1 << 16

// MaxColumnName is the longest column name, in bytes.
const MaxColumnName = 1<<16 - 1

// tableHeader is the size of a table payload's fixed header, before its column descriptors.
const tableHeader = 16

// ColumnType is the type of a table column; its value is the code ABI.md section 5.4 assigns.
// The numeric codes are the tensor dtype codes of the same element type.
type ColumnType uint8

// The column types of ABI.md section 5.4.
const (
	ColInt64     ColumnType = ColumnType(Int64)   // 64-bit signed integers
	ColFloat64   ColumnType = ColumnType(Float64) // IEEE 754 doubles
	ColBool      ColumnType = ColumnType(Bool)    // one byte each, 0 or 1
	ColString    ColumnType = 32                  // UTF-8 text: offsets and bytes
	ColTimestamp ColumnType = 33                  // int64 nanoseconds since 1970-01-01 UTC
)

var columnTypeNames = map[ColumnType]string{ColInt64: "int64", ColFloat64: "float64", ColBool: "bool",
	ColString: "string", ColTimestamp: "timestamp"}

// Valid reports whether c is one of the column types ABI.md defines.
func (c ColumnType) Valid() bool { _, ok := columnTypeNames[c]; return ok }

// String returns the name of c ("int64", "string", "timestamp", …), or "coltype(N)" for an
// unknown code.
func (c ColumnType) String() string {
	if s, ok := columnTypeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("coltype(%d)", uint8(c))
}

// width returns the bytes one value takes in a fixed-width column, 0 for strings.
func (c ColumnType) width() int {
	switch c {
	case ColBool:
		return 1
	case ColString:
		return 0
	}
	return 8
}

// ParseColumnType returns the ColumnType named s: int64, float64, bool, string or timestamp;
// "int" and "float" are accepted for int64 and float64.
func ParseColumnType(s string) (ColumnType, error) {
	switch s {
	case "int", "int64":
		return ColInt64, nil
	case "float", "float64":
		return ColFloat64, nil
	case "bool":
		return ColBool, nil
	case "string":
		return ColString, nil
	case "timestamp":
		return ColTimestamp, nil
	}
	return 0, fmt.Errorf("abi: unknown column type %q (want int64, float64, bool, string or timestamp)", s)
}

// Column is one named, typed column of a Table. Make one with Int64Column, Float64Column,
// BoolColumn, StringColumn or TimestampColumn; read it with the accessor of its type. A
// column decoded from a frame shares the frame's bytes.
type Column struct {
	Name string
	Type ColumnType
	n    int    // values
	data []byte // fixed-width values little-endian, or the bytes of every string
	offs []byte // string columns: n+1 little-endian uint32 offsets into data
}

// Len returns the number of values in c.
func (c Column) Len() int { return c.n }

// Int64Column returns a column of int64 values, copied.
func Int64Column(name string, v []int64) Column { return fixedColumn(name, ColInt64, v) }

// Float64Column returns a column of float64 values, copied.
func Float64Column(name string, v []float64) Column { return fixedColumn(name, ColFloat64, v) }

// BoolColumn returns a column of booleans, copied.
func BoolColumn(name string, v []bool) Column { return fixedColumn(name, ColBool, v) }

// TimestampColumn returns a column of instants, stored as nanoseconds since the Unix epoch
// in UTC. Only instants from the years 1678 to 2261 fit (see time.Time.UnixNano).
func TimestampColumn(name string, v []time.Time) Column {
	ns := make([]int64, len(v))
	for i, t := range v {
		ns[i] = t.UnixNano()
	}
	return fixedColumn(name, ColTimestamp, ns)
}

// TimestampNanosColumn returns a timestamp column of nanoseconds since the Unix epoch, UTC.
func TimestampNanosColumn(name string, ns []int64) Column {
	return fixedColumn(name, ColTimestamp, ns)
}

func fixedColumn[T Element](name string, c ColumnType, v []T) Column {
	t, _ := NewTensor([]int{len(v)}, v) // over 2^32-1 values it fails: Validate reports the length
	return Column{Name: name, Type: c, n: len(v), data: t.Data}
}

// StringColumn returns a column of strings, copied. Every string must be valid UTF-8 and the
// strings together under 4 GiB, or Validate (and NewTable) reports it.
func StringColumn(name string, v []string) Column {
	total := 0
	for _, s := range v {
		total += len(s)
	}
	c := Column{Name: name, Type: ColString, n: len(v), data: make([]byte, 0, total), offs: make([]byte, 4, 4*(len(v)+1))}
	for _, s := range v {
		c.data = append(c.data, s...)
		c.offs = binary.LittleEndian.AppendUint32(c.offs, uint32(len(c.data))) // checked by Validate
	}
	if total > math.MaxUint32 {
		c.offs = nil
	}
	return c
}

// errTable is wrapped by every complaint about a table.
var errTable = errors.New("table")

// check reports whether c is a well-formed column.
func (c Column) check() error {
	if c.n < 0 || uint64(c.n) > math.MaxUint32 {
		return fmt.Errorf("%w column %q has %d values, over 2^32-1", errTable, c.Name, c.n)
	}
	if w := c.Type.width(); w > 0 {
		if len(c.data) != c.n*w {
			return fmt.Errorf("%w column %q of %d %s values needs %d bytes, has %d", errTable, c.Name, c.n, c.Type, c.n*w, len(c.data))
		}
		if c.Type == ColBool {
			for i, b := range c.data {
				if b > 1 {
					return fmt.Errorf("%w column %q value %d is byte %d, not 0 or 1", errTable, c.Name, i, b)
				}
			}
		}
		return nil
	}
	if c.Type != ColString {
		return fmt.Errorf("%w column %q has unknown type code %d", errTable, c.Name, uint8(c.Type))
	}
	if len(c.offs) != 4*(c.n+1) {
		return fmt.Errorf("%w string column %q of %d values needs %d offsets", errTable, c.Name, c.n, c.n+1)
	}
	prev := binary.LittleEndian.Uint32(c.offs)
	if prev != 0 {
		return fmt.Errorf("%w string column %q: the first offset is %d, not 0", errTable, c.Name, prev)
	}
	// The text as a whole is valid UTF-8 and no offset cuts a character, so every value is
	// valid UTF-8: one pass over the text instead of one call per value.
	valid := utf8.Valid(c.data)
	for i := 1; i <= c.n; i++ {
		o := binary.LittleEndian.Uint32(c.offs[4*i:])
		if o < prev || uint64(o) > uint64(len(c.data)) {
			return fmt.Errorf("%w string column %q: offset %d is %d, outside %d…%d", errTable, c.Name, i, o, prev, len(c.data))
		}
		if !valid && !utf8.Valid(c.data[prev:o]) || int(o) < len(c.data) && !utf8.RuneStart(c.data[o]) {
			return fmt.Errorf("%w string column %q: value %d is not valid UTF-8", errTable, c.Name, i-1)
		}
		prev = o
	}
	if uint64(prev) != uint64(len(c.data)) {
		return fmt.Errorf("%w string column %q: the last offset is %d, but it has %d bytes", errTable, c.Name, prev, len(c.data))
	}
	return nil
}

// Int64s returns the values of an int64 column, or the nanoseconds of a timestamp column.
// The slice shares the column's bytes when the host is little-endian and they are aligned.
func (c Column) Int64s() ([]int64, error) {
	if c.Type != ColInt64 && c.Type != ColTimestamp {
		return nil, c.typeError(ColInt64)
	}
	return Elements[int64](Tensor{DType: Int64, Shape: []int{c.n}, Data: c.data})
}

// Float64s returns the values of a float64 column; see Int64s.
func (c Column) Float64s() ([]float64, error) {
	if c.Type != ColFloat64 {
		return nil, c.typeError(ColFloat64)
	}
	return Elements[float64](Tensor{DType: Float64, Shape: []int{c.n}, Data: c.data})
}

// Bools returns the values of a bool column; see Int64s.
func (c Column) Bools() ([]bool, error) {
	if c.Type != ColBool {
		return nil, c.typeError(ColBool)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return Elements[bool](Tensor{DType: Bool, Shape: []int{c.n}, Data: c.data})
}

// Strings returns the values of a string column, copied into Go strings.
func (c Column) Strings() ([]string, error) {
	if c.Type != ColString {
		return nil, c.typeError(ColString)
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	out := make([]string, c.n)
	for i := range out {
		out[i] = string(c.data[binary.LittleEndian.Uint32(c.offs[4*i:]):binary.LittleEndian.Uint32(c.offs[4*i+4:])])
	}
	return out, nil
}

// Times returns the values of a timestamp column as instants in UTC.
func (c Column) Times() ([]time.Time, error) {
	if c.Type != ColTimestamp {
		return nil, c.typeError(ColTimestamp)
	}
	ns, err := c.Int64s()
	if err != nil {
		return nil, err
	}
	out := make([]time.Time, len(ns))
	for i, x := range ns {
		out[i] = time.Unix(0, x).UTC()
	}
	return out, nil
}

func (c Column) typeError(want ColumnType) error {
	return fmt.Errorf("abi: column %q holds %s, not %s", c.Name, c.Type, want)
}

// Table is a set of named, typed columns of one length: the value of MessagePack extension
// type ExtTable (ABI.md section 5.4). A Table passed as an argument is encoded as one
// extension value, and a task's table result decodes to a Table; a decoded Table shares the
// bytes it was decoded from.
type Table struct {
	cols []Column
}

// NewTable returns a table of the given columns, which must have distinct, non-empty UTF-8
// names of at most MaxColumnName bytes and the same length.
func NewTable(cols ...Column) (Table, error) {
	t := Table{cols: append([]Column(nil), cols...)}
	if err := t.Validate(); err != nil {
		return Table{}, err
	}
	return t, nil
}

// Rows returns the number of rows: the length of every column, 0 without columns.
func (t Table) Rows() int {
	if len(t.cols) == 0 {
		return 0
	}
	return t.cols[0].n
}

// Columns returns the table's columns in order. The slice must not be modified.
func (t Table) Columns() []Column { return t.cols }

// Column returns the column named name.
func (t Table) Column(name string) (Column, bool) {
	for _, c := range t.cols {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

// String describes t without its data: "table[3 rows: a int64, b string]".
func (t Table) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "table[%d rows", t.Rows())
	for i, c := range t.cols {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %s", c.Name, c.Type)
	}
	b.WriteByte(']')
	return b.String()
}

// Validate reports whether t is a well-formed table: at most MaxTableColumns columns with
// distinct, non-empty UTF-8 names of at most MaxColumnName bytes, known types, one length
// under 2^32, booleans stored as 0 or 1, and string offsets that start at 0, never decrease,
// end at the column's byte count and cut valid UTF-8.
func (t Table) Validate() error {
	if err := t.check(); err != nil {
		return fmt.Errorf("abi: %w", err)
	}
	return nil
}

func (t Table) check() error {
	if len(t.cols) > MaxTableColumns {
		return fmt.Errorf("%w has %d columns, at most %d are allowed", errTable, len(t.cols), MaxTableColumns)
	}
	seen := make(map[string]bool, len(t.cols))
	for i, c := range t.cols {
		if c.Name == "" || len(c.Name) > MaxColumnName || !utf8.ValidString(c.Name) {
			return fmt.Errorf("%w column %d: a name must be 1 to %d bytes of UTF-8", errTable, i, MaxColumnName)
		}
		if seen[c.Name] {
			return fmt.Errorf("%w has two columns named %q", errTable, c.Name)
		}
		seen[c.Name] = true
		if !c.Type.Valid() {
			return fmt.Errorf("%w column %q has unknown type code %d", errTable, c.Name, uint8(c.Type))
		}
		if c.n != t.cols[0].n {
			return fmt.Errorf("%w column %q has %d values, column %q has %d", errTable, c.Name, c.n, t.cols[0].Name, t.cols[0].n)
		}
		if err := c.check(); err != nil {
			return err
		}
	}
	return nil
}

// pad8 returns the zero bytes that bring n up to a multiple of 8.
func pad8(n int) int { return -n & 7 }

var zeros [8]byte

// payloadSize returns the length of t's payload; t must be valid.
func (t Table) payloadSize() uint64 {
	n := uint64(tableHeader)
	desc := 0
	for _, c := range t.cols {
		desc += 4 + len(c.Name)
	}
	n += uint64(desc + pad8(desc))
	for _, c := range t.cols {
		if c.Type == ColString {
			n += uint64(len(c.offs) + pad8(len(c.offs)))
		}
		n += uint64(len(c.data) + pad8(len(c.data)))
	}
	return n
}

// writePayload writes t's payload (ABI.md section 5.4) as a sequence of pieces.
func (t Table) writePayload(w func([]byte) error) error {
	var hdr [tableHeader]byte
	binary.LittleEndian.PutUint32(hdr[0:], uint32(len(t.cols)))
	binary.LittleEndian.PutUint64(hdr[8:], uint64(t.Rows()))
	desc := hdr[:]
	for _, c := range t.cols {
		desc = append(desc, byte(c.Type), 0)
		desc = binary.LittleEndian.AppendUint16(desc, uint16(len(c.Name)))
		desc = append(desc, c.Name...)
	}
	desc = append(desc, zeros[:pad8(len(desc))]...)
	if err := w(desc); err != nil {
		return err
	}
	for _, c := range t.cols {
		parts := [][]byte{c.data}
		if c.Type == ColString {
			parts = [][]byte{c.offs, c.data}
		}
		for _, p := range parts {
			if err := w(p); err != nil {
				return err
			}
			if err := w(zeros[:pad8(len(p))]); err != nil {
				return err
			}
		}
	}
	return nil
}

// EncodeMsgpack writes t as one extension value of type ExtTable.
func (t Table) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := t.Validate(); err != nil {
		return err
	}
	size := t.payloadSize()
	if size > math.MaxUint32 {
		return fmt.Errorf("abi: table of %d bytes is over the 4 GiB a MessagePack extension holds", size)
	}
	if err := enc.EncodeExtHeader(ExtTable, int(size)); err != nil {
		return err
	}
	wr := enc.Writer()
	return t.writePayload(func(b []byte) error { _, err := wr.Write(b); return err })
}

// AppendTable appends t to dst as one MessagePack extension value, in canonical form.
func AppendTable(dst []byte, t Table) ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	size := t.payloadSize()
	if size > math.MaxUint32 {
		return nil, fmt.Errorf("abi: table of %d bytes is over the 4 GiB a MessagePack extension holds", size)
	}
	dst = appendLenHeader(dst, kExt, size, ExtTable)
	_ = t.writePayload(func(b []byte) error { dst = append(dst, b...); return nil })
	return dst, nil
}

// parseTable checks a table payload (ABI.md section 5.4) and returns the table; its columns
// alias p. It allocates only the column list and names, bounded by len(p).
func parseTable(p []byte) (Table, error) {
	if len(p) < tableHeader {
		return Table{}, fmt.Errorf("%w payload of %d bytes is shorter than its %d-byte header", errTable, len(p), tableHeader)
	}
	ncols := binary.LittleEndian.Uint32(p[0:])
	if binary.LittleEndian.Uint32(p[4:]) != 0 {
		return Table{}, fmt.Errorf("%w header flags are not zero", errTable)
	}
	nrows := binary.LittleEndian.Uint64(p[8:])
	if ncols > MaxTableColumns {
		return Table{}, fmt.Errorf("%w has %d columns, at most %d are allowed", errTable, ncols, MaxTableColumns)
	}
	if nrows > math.MaxUint32 {
		return Table{}, fmt.Errorf("%w has %d rows, over 2^32-1", errTable, nrows)
	}
	if ncols == 0 && nrows != 0 {
		return Table{}, fmt.Errorf("%w has %d rows but no columns", errTable, nrows)
	}
	// Every descriptor takes at least 5 bytes: check before allocating the column list.
	if uint64(ncols)*5 > uint64(len(p)-tableHeader) {
		return Table{}, fmt.Errorf("%w payload of %d bytes cannot hold %d column descriptors", errTable, len(p), ncols)
	}
	t := Table{cols: make([]Column, ncols)}
	off := tableHeader
	for i := range t.cols {
		if len(p)-off < 4 {
			return Table{}, fmt.Errorf("%w payload ends inside column descriptor %d", errTable, i)
		}
		typ, pad, nl := ColumnType(p[off]), p[off+1], int(binary.LittleEndian.Uint16(p[off+2:]))
		off += 4
		if pad != 0 {
			return Table{}, fmt.Errorf("%w column descriptor %d padding is not zero", errTable, i)
		}
		if nl > len(p)-off {
			return Table{}, fmt.Errorf("%w column %d name of %d bytes runs past the payload", errTable, i, nl)
		}
		t.cols[i] = Column{Name: string(p[off : off+nl]), Type: typ, n: int(nrows)}
		off += nl
	}
	take := func(n uint64, what string, c *Column) ([]byte, error) {
		left := uint64(len(p) - off)
		if n > left || n+uint64(pad8(int(n&7))) > left {
			return nil, fmt.Errorf("%w column %q %s needs %d bytes, the payload has %d left", errTable, c.Name, what, n, left)
		}
		b := p[off : off+int(n) : off+int(n)]
		off += int(n)
		for k := pad8(int(n & 7)); k > 0; k-- {
			if p[off] != 0 {
				return nil, fmt.Errorf("%w column %q padding is not zero", errTable, c.Name)
			}
			off++
		}
		return b, nil
	}
	if err := zeroPad(p, &off, "column descriptors"); err != nil {
		return Table{}, err
	}
	var err error
	for i := range t.cols {
		c := &t.cols[i]
		if !c.Type.Valid() { // before its data, whose size depends on it
			return Table{}, fmt.Errorf("%w column %q has unknown type code %d", errTable, c.Name, uint8(c.Type))
		}
		if w := c.Type.width(); w > 0 {
			if c.data, err = take(nrows*uint64(w), "data", c); err != nil {
				return Table{}, err
			}
			continue
		}
		if c.offs, err = take(4*(nrows+1), "offsets", c); err != nil {
			return Table{}, err
		}
		last := binary.LittleEndian.Uint32(c.offs[4*nrows:])
		if c.data, err = take(uint64(last), "text", c); err != nil {
			return Table{}, err
		}
	}
	if off != len(p) {
		return Table{}, fmt.Errorf("%w payload has %d bytes after its last column", errTable, len(p)-off)
	}
	if err := t.check(); err != nil {
		return Table{}, err
	}
	return t, nil
}

// zeroPad moves *off past the zero padding that brings it to a multiple of 8.
func zeroPad(p []byte, off *int, after string) error {
	n := pad8(*off)
	if n > len(p)-*off {
		return fmt.Errorf("%w payload ends inside the padding after its %s", errTable, after)
	}
	for _, c := range p[*off : *off+n] {
		if c != 0 {
			return fmt.Errorf("%w padding after its %s is not zero", errTable, after)
		}
	}
	*off += n
	return nil
}

// clone returns a copy of t that shares no bytes with what it was decoded from.
func (t Table) clone() Table {
	out := Table{cols: make([]Column, len(t.cols))}
	for i, c := range t.cols {
		c.data = append([]byte{}, c.data...)
		if c.offs != nil {
			c.offs = append([]byte{}, c.offs...)
		}
		out.cols[i] = c
	}
	return out
}

func init() {
	msgpack.RegisterExtDecoder(ExtTable, Table{}, func(dec *msgpack.Decoder, v reflect.Value, extLen int) error {
		p := make([]byte, extLen)
		if err := dec.ReadFull(p); err != nil {
			return err
		}
		t, err := parseTable(p)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		v.Set(reflect.ValueOf(t))
		return nil
	})
}
