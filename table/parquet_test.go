package table

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress"
)

// writeParquet writes rows with parquet-go, in row groups of at most perGroup rows.
func writeParquet[T any](t testing.TB, rows []T, perGroup int64, opts ...parquet.WriterOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[T](&buf, append([]parquet.WriterOption{parquet.MaxRowsPerRowGroup(perGroup)}, opts...)...)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// allTypes has a column of every Parquet type read_parquet maps.
type allTypes struct {
	I32 int32     `parquet:"i32"`
	I64 int64     `parquet:"i64"`
	U32 uint32    `parquet:"u32"`
	U64 uint64    `parquet:"u64"`
	F32 float32   `parquet:"f32"`
	F64 float64   `parquet:"f64"`
	B   bool      `parquet:"b"`
	S   string    `parquet:"s,dict"`
	Bin []byte    `parquet:"bin"`
	Ms  time.Time `parquet:"ms,timestamp(millisecond)"`
	Us  int64     `parquet:"us,timestamp(microsecond)"`
	Ns  time.Time `parquet:"ns,timestamp(nanosecond)"`
	Loc int64     `parquet:"local,timestamp(microsecond:local)"`
	Opt *int64    `parquet:"opt,optional"`
}

// allTypesRows returns n rows of allTypes, with extremes in the first rows.
func allTypesRows(n int) []allTypes {
	base := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	words := []string{"Oslo", "Lima", "Pune", "Zürich", ""}
	rows := make([]allTypes, n)
	for i := range rows {
		v := int64(i)
		rows[i] = allTypes{
			I32: int32(i*1000 - 3), I64: v*1_000_000_007 - 5, U32: uint32(i) * 7, U64: uint64(i) * 11,
			F32: float32(i) + 0.25, F64: float64(i) / 8, B: i%3 == 0, S: words[i%len(words)],
			Bin: []byte{'b', byte('0' + i%10)},
			Ms:  base.Add(time.Duration(i) * 1500 * time.Millisecond), Us: base.UnixMicro() + v*3,
			Ns: base.Add(time.Duration(i) * 7), Loc: v * 1_000_000, Opt: &rows[i].I64,
		}
	}
	rows[0].I32, rows[0].I64, rows[0].U32 = math.MinInt32, math.MinInt64, math.MaxUint32
	rows[0].U64, rows[0].F64 = math.MaxInt64, math.Inf(-1)
	rows[1].I32, rows[1].I64, rows[1].F32, rows[1].F64 = math.MaxInt32, math.MaxInt64, float32(math.NaN()), math.NaN()
	return rows
}

// wantAllTypes is the table read from rows of allTypes.
func wantAllTypes(rows []allTypes) *frame {
	f := &frame{n: len(rows), cols: make([]col, 0, 14)} // add's pointers stay valid
	add := func(name string, typ abi.ColumnType) *col {
		f.cols = append(f.cols, col{name: name, typ: typ})
		return &f.cols[len(f.cols)-1]
	}
	cols := []*col{add("i32", abi.ColInt64), add("i64", abi.ColInt64), add("u32", abi.ColInt64), add("u64", abi.ColInt64),
		add("f32", abi.ColFloat64), add("f64", abi.ColFloat64), add("b", abi.ColBool), add("s", abi.ColString),
		add("bin", abi.ColString), add("ms", abi.ColTimestamp), add("us", abi.ColTimestamp), add("ns", abi.ColTimestamp),
		add("local", abi.ColTimestamp), add("opt", abi.ColInt64)}
	for _, r := range rows {
		cols[0].i = append(cols[0].i, int64(r.I32))
		cols[1].i = append(cols[1].i, r.I64)
		cols[2].i = append(cols[2].i, int64(r.U32))
		cols[3].i = append(cols[3].i, int64(r.U64))
		cols[4].f = append(cols[4].f, float64(r.F32))
		cols[5].f = append(cols[5].f, r.F64)
		cols[6].b = append(cols[6].b, r.B)
		cols[7].s = append(cols[7].s, r.S)
		cols[8].s = append(cols[8].s, string(r.Bin))
		cols[9].i = append(cols[9].i, r.Ms.UnixNano())
		cols[10].i = append(cols[10].i, r.Us*1000)
		cols[11].i = append(cols[11].i, r.Ns.UnixNano())
		cols[12].i = append(cols[12].i, r.Loc*1000)
		cols[13].i = append(cols[13].i, *r.Opt)
	}
	return f
}

// sameFrame reports how a and b differ: names, types, order and values exactly (NaN equals
// NaN, and its bits are compared).
func sameFrame(a, b *frame) string {
	if a.n != b.n || len(a.cols) != len(b.cols) {
		return "shape"
	}
	for k := range a.cols {
		x, y := a.cols[k], b.cols[k]
		if x.name != y.name || x.typ != y.typ {
			return "column " + x.name + " name or type"
		}
		if x.len() != a.n || y.len() != b.n {
			return "column " + x.name + " length"
		}
		ok := true
		switch x.typ {
		case abi.ColFloat64:
			for i := range x.f {
				ok = ok && math.Float64bits(x.f[i]) == math.Float64bits(y.f[i])
			}
		case abi.ColBool:
			ok = slices.Equal(x.b, y.b)
		case abi.ColString:
			ok = slices.Equal(x.s, y.s)
		default:
			ok = slices.Equal(x.i, y.i)
		}
		if !ok {
			return "column " + x.name + " values"
		}
	}
	return ""
}

// TestReadParquet_Types: a file of every mapped type in three row groups reads back exactly,
// one frame per row group, with the names, types and order of the file's columns.
func TestReadParquet_Types(t *testing.T) {
	rows := allTypesRows(10)
	data := writeParquet(t, rows, 4)
	groups, err := readParquet(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 3 || groups[0].n != 4 || groups[1].n != 4 || groups[2].n != 2 {
		t.Fatalf("%d row groups, want 3 of 4, 4, 2 rows", len(groups))
	}
	all, err := concat(groups)
	if err != nil {
		t.Fatal(err)
	}
	if d := sameFrame(all, wantAllTypes(rows)); d != "" {
		t.Errorf("differs in %s:\ngot  %+v\nwant %+v", d, all.cols, wantAllTypes(rows).cols)
	}
	tb, err := all.table()
	if err != nil {
		t.Fatal(err)
	}
	if got := tb.String(); got != "table[10 rows: i32 int64, i64 int64, u32 int64, u64 int64, f32 float64, f64 float64, b bool, s string, bin string, ms timestamp, us timestamp, ns timestamp, local timestamp, opt int64]" {
		t.Errorf("table: %s", got)
	}
}

// TestReadParquet_Columns: columns picks columns in its order, and a column that cannot be
// read is no obstacle when it is left out.
func TestReadParquet_Columns(t *testing.T) {
	type withList struct {
		A    int64   `parquet:"a"`
		Tags []int64 `parquet:"tags"`
		Name string  `parquet:"name"`
	}
	data := writeParquet(t, []withList{{1, []int64{1, 2}, "x"}, {2, nil, "y"}}, 10)
	groups, err := readParquet(data, []string{"name", "a"})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := groups[0].table()
	if err != nil {
		t.Fatal(err)
	}
	s, _ := tb.Columns()[0].Strings()
	a, _ := tb.Columns()[1].Int64s()
	if got := tb.String(); got != "table[2 rows: name string, a int64]" || strings.Join(s, ",") != "x,y" || a[0] != 1 || a[1] != 2 {
		t.Errorf("got %s %q %v", got, s, a)
	}
}

// TestReadParquet_Empty: a file without rows gives one empty frame with the file's columns.
func TestReadParquet_Empty(t *testing.T) {
	groups, err := readParquet(writeParquet[allTypes](t, nil, 4), []string{"s", "ns"})
	if err != nil {
		t.Fatal(err)
	}
	tb, err := groups[0].table()
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 1 || tb.String() != "table[0 rows: s string, ns timestamp]" {
		t.Errorf("%d frames, %s", len(groups), tb.String())
	}
}

// TestReadParquet_Errors: what does not map is refused with the column (and the row group and
// row of a value) it is in.
func TestReadParquet_Errors(t *testing.T) {
	type nested struct {
		A     int64 `parquet:"a"`
		Place struct {
			City string `parquet:"city"`
			Zip  int32  `parquet:"zip"`
		} `parquet:"place"`
	}
	type list struct {
		Tags []string `parquet:"tags"`
	}
	type nullable struct {
		A *int64 `parquet:"a,optional"`
	}
	type date struct {
		D int32 `parquet:"d,date"`
	}
	type big struct {
		U uint64 `parquet:"u"`
	}
	type ts struct {
		T int64 `parquet:"t,timestamp(millisecond)"`
	}
	type text struct {
		B []byte `parquet:"b"`
	}
	one := int64(1)
	good := writeParquet(t, allTypesRows(3), 4)
	for _, tc := range []struct {
		name    string
		data    []byte
		columns []string
		want    string
	}{
		{"csv", []byte("a,b\n1,2\n"), nil, `table: read_parquet: the data is not a Parquet file: it must begin and end with "PAR1" (pass the file's bytes, not its path or its text)`},
		{"empty", nil, nil, `table: read_parquet: the data is not a Parquet file: it must begin and end with "PAR1" (pass the file's bytes, not its path or its text)`},
		{"truncated", good[:len(good)-1], nil, `table: read_parquet: the data is not a Parquet file: it must begin and end with "PAR1" (pass the file's bytes, not its path or its text)`},
		{"nested", writeParquet(t, []nested{{A: 1}}, 4), nil, `table: read_parquet: column "place" is nested (a group of 2 fields), which a table column cannot hold: leave it out with columns`},
		{"list", writeParquet(t, []list{{[]string{"a"}}}, 4), nil, `table: read_parquet: column "tags" is repeated (a list), which a table column cannot hold: leave it out with columns`},
		{"null", writeParquet(t, []nullable{{&one}, {&one}, {&one}, {nil}}, 2), nil, `table: read_parquet: column "a", row group 1, row 1: a null, which a table cannot hold (tables have no nulls yet): fill it in before writing the file, or leave the column out with columns`},
		{"date", writeParquet(t, []date{{1}}, 4), nil, `table: read_parquet: column "d" has Parquet type INT32 (DATE), which no table column type holds (INT32, INT64, FLOAT, DOUBLE, BOOLEAN, BYTE_ARRAY and TIMESTAMP are read): leave it out with columns`},
		{"uint64", writeParquet(t, []big{{1}, {math.MaxUint64}}, 4), nil, `table: read_parquet: column "u", row group 0, row 1: 18446744073709551615 is more than an int64 holds`},
		{"timestamp", writeParquet(t, []ts{{0}, {math.MaxInt64 / 1000}}, 4), nil, `table: read_parquet: column "t", row group 0, row 1: 9223372036854775 × 1000000 ns is outside what a timestamp holds (the years 1678 to 2262)`},
		{"utf8", writeParquet(t, []text{{[]byte("ok")}, {[]byte{0xff}}}, 4), nil, `table: read_parquet: column "b", row group 0, row 1: the text is not UTF-8, which a table's strings are`},
		{"unknown", good, []string{"i32", "price"}, `table: read_parquet: no column "price" (the file has ["i32" "i64" "u32" "u64" "f32" "f64" "b" "s" "bin" "ms" "us" "ns" "local" "opt"])`},
		{"twice", good, []string{"s", "s"}, `table: read_parquet: columns names "s" twice`},
	} {
		_, err := readParquet(tc.data, tc.columns)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v\nwant %s", tc.name, err, tc.want)
		}
	}
}

// TestReadParquet_Damaged: a damaged file is an error, never a panic.
func TestReadParquet_Damaged(t *testing.T) {
	good := writeParquet(t, allTypesRows(10), 4)
	for _, at := range []int{4, 20, 100, len(good) / 2, len(good) - 30, len(good) - 8} {
		bad := bytes.Clone(good)
		for i := at; i < min(at+8, len(bad)-4); i++ {
			bad[i] ^= 0x5a
		}
		if _, err := readParquet(bad, nil); err != nil && !strings.HasPrefix(err.Error(), "table: read_parquet: ") {
			t.Errorf("damaged at %d: %v", at, err)
		}
	}
}

// TestReadParquet_Fixture reads testdata/types.parquet, written by testdata/gen_parquet.sh in
// the layout common writers use (data pages v1, Snappy, dictionaries), and compares it with
// the rows it was written from, testdata/types.json; and the same rows written by pandas
// (pyarrow), testdata/types_pandas.parquet, when gen_parquet.sh could write it.
func TestReadParquet_Fixture(t *testing.T) {
	want, err := os.ReadFile("testdata/types.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"testdata/types.parquet", "testdata/types_pandas.parquet"} {
		data, err := os.ReadFile(name)
		if errors.Is(err, fs.ErrNotExist) && name != "testdata/types.parquet" {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		groups, err := readParquet(data, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := fixtureJSON(groups)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s reads as\n%s\nwant (testdata/types.json)\n%s", name, got, want)
		}
	}
}

// TestReadParquet_PageSize: a damaged page header that declares a page larger than the bytes
// left is refused before anything that size is allocated (the decoder allocates what a header
// declares before reading it: here 201 MB, from a file of 5.9 kB).
func TestReadParquet_PageSize(t *testing.T) {
	data, err := os.ReadFile("testdata/damaged_page_size.parquet")
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = readParquet(data, nil)
	runtime.ReadMemStats(&after)
	want := `table: read_parquet: the file is damaged: column "i64", row group 1: a page of 201458358 bytes at offset 1483, where 27 remain`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 16<<20 {
		t.Errorf("reading a 5.9 kB file allocated %d bytes", got)
	}
}

// TestReadParquet_TooLarge: a file that declares more values than read_parquet reads from one
// file is refused before they are read (here with the bound lowered to 40: 4 rows of 14
// columns in the first row group).
func TestReadParquet_TooLarge(t *testing.T) {
	old := maxParquetValues
	maxParquetValues = 40
	t.Cleanup(func() { maxParquetValues = old })
	_, err := readParquet(writeParquet(t, allTypesRows(10), 4), nil)
	want := `table: read_parquet: the file has more than 40 values (rows times columns read), the most read_parquet reads from one file: read fewer columns, or split the file`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	if _, err := readParquet(writeParquet(t, allTypesRows(10), 4), []string{"i64", "s", "ns", "b"}); err != nil {
		t.Errorf("40 values of 4 columns: %v", err)
	}
}

// TestReadParquet_Codecs: every compression codec parquet-go writes reads back exactly, in
// data pages of both versions.
func TestReadParquet_Codecs(t *testing.T) {
	rows := allTypesRows(10)
	for _, codec := range []compress.Codec{&parquet.Uncompressed, &parquet.Snappy, &parquet.Gzip, &parquet.Zstd, &parquet.Brotli, &parquet.Lz4Raw} {
		for _, v := range []int{1, 2} {
			groups, err := readParquet(writeParquet(t, rows, 4, parquet.Compression(codec), parquet.DataPageVersion(v)), nil)
			if err != nil {
				t.Errorf("%s, pages v%d: %v", codec, v, err)
				continue
			}
			all, err := concat(groups)
			if err != nil {
				t.Fatal(err)
			}
			if d := sameFrame(all, wantAllTypes(rows)); d != "" {
				t.Errorf("%s, pages v%d: differs in %s", codec, v, d)
			}
		}
	}
}
