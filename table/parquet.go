package table

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/mrun-dev/mrun/abi"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// maxParquetValues is the most values (rows times columns read) read_parquet reads from one
// file, and maxParquetPage the largest page it decompresses. Parquet compresses, so a small
// file may declare a table far larger than itself: these bound what one file can make the
// planner allocate. A variable, so the fuzz target can lower it.
var maxParquetValues, maxParquetPage int64 = 1 << 27, 1 << 26

// errNotParquet is returned for bytes that do not begin and end with Parquet's magic.
var errNotParquet = errors.New(`table: read_parquet: the data is not a Parquet file: it must begin and end with "PAR1" (pass the file's bytes, not its path or its text)`)

// lowerParquet plans a read_parquet source, whose fields p holds: it reads the Parquet bytes
// in data (only the columns named in columns, in that order, when given), one row group at a
// time, and cuts each row group into chunks of at most chunk_rows rows. A row group is never
// joined with the next, so a file written in row groups of chunk_rows rows or fewer gives one
// chunk per row group.
func lowerParquet(p *params, path string) ([]ref, error) {
	rows := p.int("chunk_rows", DefaultChunkRows)
	if p.err == nil && rows < 1 {
		p.fail("chunk_rows must be 1 or more, got %d", rows)
	}
	var columns []string
	if _, ok := p.get("columns", false); ok {
		if columns = p.strs("columns", true); p.err == nil && len(columns) == 0 {
			p.fail("columns names no column (leave it out to read every column)")
		}
	}
	data, _ := p.get("data", true)
	if p.err != nil {
		return nil, p.err
	}
	var b []byte
	switch x := data.(type) {
	case []byte:
		b = x
	case string: // a guest may return a file's bytes as a string
		b = []byte(x)
	default:
		return nil, fmt.Errorf("table: %s: data must be the Parquet file's bytes, binary or a string, got %s (read the file in the caller, or in a guest that mounts it, and pass its bytes)", path, typeName(data))
	}
	groups, err := readParquet(b, columns)
	if err != nil {
		return nil, err
	}
	var out []ref
	for _, g := range groups {
		c, err := chunks(g, int(rows))
		if err != nil {
			return nil, err
		}
		out = append(out, c...)
	}
	return out, nil
}

// parquetColumn is how one Parquet column is read into a table column.
type parquetColumn struct {
	name  string
	leaf  int // the column's index among the file's leaf columns
	kind  parquet.Kind
	typ   abi.ColumnType
	scale int64 // a timestamp's nanoseconds per unit
	uint  bool  // an unsigned integer
}

// readParquet reads Parquet bytes into one frame per row group (one empty frame when the file
// has no row group), column by column. With columns, it reads those columns in that order;
// otherwise every column of the file. INT32 and INT64 become int64 (unsigned ones too, up to
// the int64 maximum), FLOAT and DOUBLE float64, BOOLEAN bool, BYTE_ARRAY (plain, STRING, ENUM
// or JSON) string, and a TIMESTAMP in milliseconds, microseconds or nanoseconds a timestamp.
// Anything else is refused with the column it is in: a nested or repeated column, a type with
// no table column type (INT96, DATE, TIME, DECIMAL, FIXED_LEN_BYTE_ARRAY…), a null (tables
// have no nulls yet), text that is not UTF-8, a timestamp outside what a timestamp holds, a
// file of more than maxParquetValues values, and a damaged file (checked before the decoder
// sees it, as far as its allocations depend on it: see checkThrift, checkPages).
func readParquet(data []byte, columns []string) (out []*frame, err error) {
	if len(data) < 12 || string(data[:4]) != "PAR1" || string(data[len(data)-4:]) != "PAR1" {
		return nil, errNotParquet
	}
	footer := int64(binary.LittleEndian.Uint32(data[len(data)-8:]))
	if footer > int64(len(data))-12 {
		return nil, fmt.Errorf("table: read_parquet: the file is damaged: its footer of %d bytes does not fit in %d bytes", footer, len(data))
	}
	if _, err := checkThrift(data[int64(len(data))-8-footer : len(data)-8]); err != nil {
		return nil, fmt.Errorf("table: read_parquet: the file is damaged: its footer: %v", err)
	}
	// The decoder is a dependency that has panicked on damaged files; the host must not.
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("table: read_parquet: the file is damaged: %v", r)
		}
	}()
	f, err := parquet.OpenFile(bytes.NewReader(data), int64(len(data)), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return nil, fmt.Errorf("table: read_parquet: the file is damaged: %w", err)
	}
	cols, err := parquetColumns(f, columns)
	if err != nil {
		return nil, err
	}
	var total int64
	meta := f.Metadata()
	for g, rg := range f.RowGroups() {
		n := rg.NumRows()
		if n < 0 {
			return nil, fmt.Errorf("table: read_parquet: the file is damaged: row group %d has %d rows", g, n)
		}
		if total+n > math.MaxUint32 {
			return nil, fmt.Errorf("table: read_parquet: row group %d has %d rows, more than a table holds (fewer than 2^32 in all)", g, n)
		}
		if total += n; total*int64(len(cols)) > maxParquetValues {
			return nil, fmt.Errorf("table: read_parquet: the file has more than %d values (rows times columns read), the most read_parquet reads from one file: read fewer columns, or split the file", maxParquetValues)
		}
		if g >= len(meta.RowGroups) {
			return nil, fmt.Errorf("table: read_parquet: the file is damaged: %d row groups described, row group %d read", len(meta.RowGroups), g)
		}
		for _, c := range cols {
			if err := checkPages(data, meta.RowGroups[g].Columns, c, g, n); err != nil {
				return nil, err
			}
		}
		chunks := rg.ColumnChunks()
		fr := &frame{n: int(n)}
		for _, c := range cols {
			if c.leaf >= len(chunks) {
				return nil, fmt.Errorf("table: read_parquet: the file is damaged: row group %d has %d columns, the schema %d or more", g, len(chunks), c.leaf+1)
			}
			k, err := c.read(chunks[c.leaf], g, n)
			if err != nil {
				return nil, err
			}
			fr.cols = append(fr.cols, k)
		}
		out = append(out, fr)
	}
	if len(out) == 0 {
		fr := &frame{}
		for _, c := range cols {
			fr.cols = append(fr.cols, col{name: c.name, typ: c.typ, i: []int64{}, f: []float64{}, b: []bool{}, s: []string{}})
		}
		out = append(out, fr)
	}
	return out, nil
}

// parquetColumns checks the file's top-level columns (those named in names, in that order,
// when names is not nil) and says how each is read.
func parquetColumns(f *parquet.File, names []string) ([]parquetColumn, error) {
	top := f.Root().Columns()
	var all []string
	for _, c := range top {
		all = append(all, c.Name())
	}
	pick := top
	if names != nil {
		pick = nil
		for i, name := range names {
			if slices.Contains(names[:i], name) {
				return nil, fmt.Errorf("table: read_parquet: columns names %q twice", name)
			}
			k := slices.Index(all, name)
			if k < 0 {
				return nil, fmt.Errorf("table: read_parquet: no column %q (the file has %q)", name, all)
			}
			pick = append(pick, top[k])
		}
	}
	out := make([]parquetColumn, 0, len(pick))
	for _, c := range pick {
		name := c.Name()
		if n := countOf(all, name); n > 1 {
			return nil, fmt.Errorf("table: read_parquet: the file has %d columns named %q, and a table's names are distinct: leave them out with columns", n, name)
		}
		if !c.Leaf() {
			return nil, fmt.Errorf("table: read_parquet: column %q is nested (a group of %d fields), which a table column cannot hold: leave it out with columns", name, len(c.Columns()))
		}
		if c.Repeated() {
			return nil, fmt.Errorf("table: read_parquet: column %q is repeated (a list), which a table column cannot hold: leave it out with columns", name)
		}
		if name == "" || !utf8.ValidString(name) || len(name) > 65535 {
			return nil, fmt.Errorf("table: read_parquet: column %q: a table column's name is 1 to 65535 bytes of UTF-8", name)
		}
		pc := parquetColumn{name: name, leaf: c.Index(), kind: c.Type().Kind()}
		lt := c.Type().LogicalType()
		var logical format.LogicalTypeValue
		if lt != nil {
			logical = lt.Value
		}
		refuse := func() error {
			what := pc.kind.String()
			if logical != nil {
				what += " (" + logical.String() + ")"
			}
			return fmt.Errorf("table: read_parquet: column %q has Parquet type %s, which no table column type holds (INT32, INT64, FLOAT, DOUBLE, BOOLEAN, BYTE_ARRAY and TIMESTAMP are read): leave it out with columns", name, what)
		}
		switch pc.kind {
		case parquet.Int32, parquet.Int64:
			pc.typ = abi.ColInt64
			switch lt := logical.(type) {
			case nil:
			case *format.IntType:
				pc.uint = !lt.IsSigned
			case *format.TimestampType:
				if pc.kind != parquet.Int64 {
					return nil, refuse()
				}
				pc.typ = abi.ColTimestamp
				switch lt.Unit.Value.(type) {
				case *format.MilliSeconds:
					pc.scale = 1e6
				case *format.MicroSeconds:
					pc.scale = 1e3
				case *format.NanoSeconds:
					pc.scale = 1
				default:
					return nil, refuse()
				}
			default:
				return nil, refuse()
			}
		case parquet.Float, parquet.Double:
			if logical != nil {
				return nil, refuse()
			}
			pc.typ = abi.ColFloat64
		case parquet.Boolean:
			if logical != nil {
				return nil, refuse()
			}
			pc.typ = abi.ColBool
		case parquet.ByteArray:
			switch logical.(type) {
			case nil, *format.StringType, *format.EnumType, *format.JsonType:
			default:
				return nil, refuse()
			}
			pc.typ = abi.ColString
		default:
			return nil, refuse()
		}
		out = append(out, pc)
	}
	return out, nil
}

// checkPages walks the page headers of column c's chunk of row group g (of n rows) before
// the decoder reads it: the decoder allocates what a header declares before it reads the
// bytes, so every page must lie within the chunk, and the chunk within the file.
func checkPages(data []byte, chunks []format.ColumnChunk, c parquetColumn, g int, n int64) error {
	damaged := func(format string, args ...any) error {
		return fmt.Errorf("table: read_parquet: the file is damaged: column %q, row group %d: %s", c.name, g, fmt.Sprintf(format, args...))
	}
	if c.leaf >= len(chunks) {
		return damaged("the row group describes %d columns", len(chunks))
	}
	if chunks[c.leaf].FilePath != "" {
		return damaged("the column's data is in another file, %q", chunks[c.leaf].FilePath)
	}
	m := chunks[c.leaf].MetaData
	base := m.DataPageOffset
	if m.DictionaryPageOffset != 0 {
		base = m.DictionaryPageOffset
	}
	size := int64(len(data))
	if base < 4 || base > size || m.TotalCompressedSize < 0 || m.TotalCompressedSize > size-base {
		return damaged("its %d bytes at offset %d are not within the file's %d bytes", m.TotalCompressedSize, base, size)
	}
	region := data[base : base+m.TotalCompressedSize]
	for off := 0; off < len(region); {
		if _, err := checkThrift(region[off:]); err != nil {
			return damaged("the page header at offset %d: %v", base+int64(off), err)
		}
		r := (&thrift.CompactProtocol{}).NewReaderFromBytes(region[off:])
		var h format.PageHeader
		if err := thrift.NewDecoder(r).Decode(&h); err != nil {
			return damaged("the page header at offset %d: %v", base+int64(off), err)
		}
		off += r.BytesRead()
		values := int64(0)
		switch {
		case h.DataPageHeader.Valid:
			values = int64(h.DataPageHeader.V.NumValues)
		case h.DataPageHeaderV2.Valid:
			values = int64(h.DataPageHeaderV2.V.NumValues)
		}
		switch {
		case h.CompressedPageSize < 0 || int(h.CompressedPageSize) > len(region)-off:
			return damaged("a page of %d bytes at offset %d, where %d remain", h.CompressedPageSize, base+int64(off), len(region)-off)
		case h.UncompressedPageSize < 0 || int64(h.UncompressedPageSize) > maxParquetPage:
			return damaged("a page of %d bytes uncompressed, more than %d", h.UncompressedPageSize, maxParquetPage)
		case h.DictionaryPageHeader.Valid && (h.DictionaryPageHeader.V.NumValues < 0 || h.DictionaryPageHeader.V.NumValues > h.UncompressedPageSize):
			return damaged("a dictionary of %d values in %d bytes", h.DictionaryPageHeader.V.NumValues, h.UncompressedPageSize)
		case values < 0 || values > n:
			return damaged("a page of %d values in a row group of %d rows", values, n)
		}
		page, size := region[off:off+int(h.CompressedPageSize)], int64(h.UncompressedPageSize)
		if v2 := h.DataPageHeaderV2; v2.Valid {
			levels := int64(v2.V.RepetitionLevelsByteLength) + int64(v2.V.DefinitionLevelsByteLength)
			if levels > int64(len(page)) || levels > size {
				return damaged("a page with %d bytes of levels in %d bytes", levels, len(page))
			}
			if v2.V.IsCompressed.Valid && !v2.V.IsCompressed.V {
				page = nil
			} else {
				page, size = page[levels:], size-levels
			}
		}
		if page != nil {
			if err := checkCompressed(m.Codec, page, size); err != nil {
				return damaged("the page at offset %d: %v", base+int64(off), err)
			}
		}
		off += int(h.CompressedPageSize)
	}
	return nil
}

// read reads the column's chunk of row group g, which has n rows, page by page.
func (pc *parquetColumn) read(cc parquet.ColumnChunk, g int, n int64) (col, error) {
	k := col{name: pc.name, typ: pc.typ}
	at := func(row int64, format string, args ...any) error {
		return fmt.Errorf("table: read_parquet: column %q, row group %d, row %d: %s", pc.name, g, row, fmt.Sprintf(format, args...))
	}
	damaged := func(err error) error {
		return fmt.Errorf("table: read_parquet: the file is damaged: column %q, row group %d: %w", pc.name, g, err)
	}
	pages := cc.Pages()
	defer pages.Close()
	buf := make([]parquet.Value, 1024)
	var row int64
	for {
		page, err := pages.ReadPage()
		if err == io.EOF {
			break
		}
		if err != nil {
			return col{}, damaged(err)
		}
		values := page.Values()
		if page.NumNulls() == 0 && !pc.uint { // the common columns have typed readers, much faster
			var done bool
			switch r := values.(type) {
			case parquet.Int64Reader:
				if done = pc.typ == abi.ColInt64; done {
					k.i, row, err = readAll(k.i, r.ReadInt64s, row, n)
				}
			case parquet.DoubleReader:
				if done = pc.typ == abi.ColFloat64; done {
					k.f, row, err = readAll(k.f, r.ReadDoubles, row, n)
				}
			}
			if err != nil {
				return col{}, damaged(err)
			}
			if done {
				continue
			}
		}
		for {
			m, err := values.ReadValues(buf)
			if row+int64(m) > n {
				return col{}, damaged(fmt.Errorf("more values than the row group's %d rows", n))
			}
			for _, v := range buf[:m] {
				if v.IsNull() {
					return col{}, at(row, "a null, which a table cannot hold (tables have no nulls yet): fill it in before writing the file, or leave the column out with columns")
				}
				switch pc.typ {
				case abi.ColInt64:
					var x int64
					if pc.kind == parquet.Int32 {
						x = int64(v.Int32())
						if pc.uint {
							x = int64(uint32(v.Int32()))
						}
					} else {
						x = v.Int64()
						if pc.uint && x < 0 {
							return col{}, at(row, "%d is more than an int64 holds", uint64(x))
						}
					}
					k.i = append(k.i, x)
				case abi.ColTimestamp:
					x := v.Int64()
					if x > math.MaxInt64/pc.scale || x < math.MinInt64/pc.scale {
						return col{}, at(row, "%d × %d ns is outside what a timestamp holds (the years 1678 to 2262)", x, pc.scale)
					}
					k.i = append(k.i, x*pc.scale)
				case abi.ColFloat64:
					if pc.kind == parquet.Float {
						k.f = append(k.f, float64(v.Float()))
					} else {
						k.f = append(k.f, v.Double())
					}
				case abi.ColBool:
					k.b = append(k.b, v.Boolean())
				case abi.ColString:
					s := v.ByteArray()
					if !utf8.Valid(s) {
						return col{}, at(row, "the text is not UTF-8, which a table's strings are")
					}
					k.s = append(k.s, string(s))
				}
				row++
			}
			if err == io.EOF {
				break
			}
			if err != nil {
				return col{}, damaged(err)
			}
			if m == 0 {
				return col{}, damaged(errors.New("a page's values do not advance"))
			}
		}
	}
	if row != n {
		return col{}, damaged(fmt.Errorf("%d values for the row group's %d rows", row, n))
	}
	switch pc.typ { // an empty column is an empty slice, as the other sources make
	case abi.ColInt64, abi.ColTimestamp:
		k.i = nonNil(k.i)
	case abi.ColFloat64:
		k.f = nonNil(k.f)
	case abi.ColBool:
		k.b = nonNil(k.b)
	case abi.ColString:
		k.s = nonNil(k.s)
	}
	return k, nil
}

// readAll appends the values read to dst, for a row group of n rows of which row are read.
func readAll[T any](dst []T, read func([]T) (int, error), row, n int64) ([]T, int64, error) {
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, 4096)
		}
		m, err := read(dst[len(dst):cap(dst)])
		if row+int64(m) > n {
			return nil, row, fmt.Errorf("more values than the row group's %d rows", n)
		}
		dst, row = dst[:len(dst)+m], row+int64(m)
		if err == io.EOF {
			return dst, row, nil
		}
		if err != nil {
			return nil, row, err
		}
		if m == 0 {
			return nil, row, errors.New("a page's values do not advance")
		}
	}
}

func countOf(names []string, name string) int {
	n := 0
	for _, x := range names {
		if x == name {
			n++
		}
	}
	return n
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
