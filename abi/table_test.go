package abi

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func exampleTable(t testing.TB) Table {
	tb, err := NewTable(Int64Column("a", []int64{1, 2}), StringColumn("b", []string{"x", "yz"}))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// The example of ABI.md section 5.4, byte for byte.
func TestTableWireFormat(t *testing.T) {
	got, err := AppendTable(nil, exampleTable(t))
	if err != nil {
		t.Fatal(err)
	}
	want := "c74805" +
		"0200000000000000" + "0200000000000000" + // 2 columns, no flags; 2 rows
		"0400010061" + "2000010062" + "000000000000" + // a int64, b string, padding
		"0100000000000000" + "0200000000000000" + // a
		"000000000100000003000000" + "00000000" + // b's offsets, padding
		"78797a" + "0000000000" // b's bytes, padding
	if hex.EncodeToString(got) != want {
		t.Fatalf("AppendTable:\n got %x\nwant %s", got, want)
	}
	frame, err := EncodeFrame([]any{exampleTable(t)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(frame[2:len(frame)-1], got) {
		t.Fatalf("EncodeFrame wrote %x, want 9291, %x, 80", frame, got)
	}
	if err := ValidateResult(got); err != nil {
		t.Fatalf("ValidateResult: %v", err)
	}
	if c, err := Canonical(got); err != nil || !bytes.Equal(c, got) {
		t.Fatalf("Canonical changed the table: %x, %v", c, err)
	}
}

func TestTable_roundTrip(t *testing.T) {
	ts := []time.Time{time.Date(2026, 12, 7, 16, 29, 27, 123456789, time.UTC), time.Unix(0, 0).UTC(), time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)}
	tb, err := NewTable(
		Int64Column("id", []int64{math.MinInt64, 0, math.MaxInt64}),
		Float64Column("x", []float64{1.5, math.Inf(-1), math.Copysign(0, -1)}),
		BoolColumn("ok", []bool{true, false, true}),
		StringColumn("name", []string{"", "héllo", "a\x00b"}),
		TimestampColumn("at", ts),
	)
	if err != nil {
		t.Fatal(err)
	}
	if tb.String() != "table[3 rows: id int64, x float64, ok bool, name string, at timestamp]" {
		t.Errorf("String = %s", tb)
	}
	b, err := AppendTable(nil, tb)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := v.(Table)
	if !ok || got.Rows() != 3 || len(got.Columns()) != 5 {
		t.Fatalf("Decode gave %v (%T)", v, v)
	}
	col := func(name string) Column {
		c, ok := got.Column(name)
		if !ok {
			t.Fatalf("no column %q", name)
		}
		return c
	}
	if xs, err := col("id").Int64s(); err != nil || !reflect.DeepEqual(xs, []int64{math.MinInt64, 0, math.MaxInt64}) {
		t.Errorf("id = %v, %v", xs, err)
	}
	if xs, err := col("x").Float64s(); err != nil || xs[0] != 1.5 || !math.IsInf(xs[1], -1) || !math.Signbit(xs[2]) {
		t.Errorf("x = %v, %v", xs, err)
	}
	if xs, err := col("ok").Bools(); err != nil || !reflect.DeepEqual(xs, []bool{true, false, true}) {
		t.Errorf("ok = %v, %v", xs, err)
	}
	if xs, err := col("name").Strings(); err != nil || !reflect.DeepEqual(xs, []string{"", "héllo", "a\x00b"}) {
		t.Errorf("name = %q, %v", xs, err)
	}
	if xs, err := col("at").Times(); err != nil || !reflect.DeepEqual(xs, ts) {
		t.Errorf("at = %v, %v", xs, err)
	}
	if _, err := col("name").Int64s(); err == nil || err.Error() != `abi: column "name" holds string, not int64` {
		t.Errorf("Int64s of a string column: %v", err)
	}
	if _, ok := got.Column("nope"); ok {
		t.Error("Column found a column that is not there")
	}
	// msgpack's decoder gives the same table for a Table target, and re-encodes the same bytes.
	var direct Table
	if err := Unmarshal(b, &direct); err != nil {
		t.Fatal(err)
	}
	again, err := AppendTable(nil, direct)
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoding a decoded table: %x, %v", again, err)
	}
	// A decoded table owns its bytes: changing the frame does not change it.
	for i := range b {
		b[i] = 0
	}
	if xs, _ := col("name").Strings(); xs[1] != "héllo" {
		t.Errorf("the decoded table shares the frame's bytes: %q", xs)
	}
}

func TestTable_empty(t *testing.T) {
	for _, tb := range []Table{{}, exampleTableEmptyRows(t)} {
		b, err := AppendTable(nil, tb)
		if err != nil {
			t.Fatal(err)
		}
		v, err := Decode(b)
		if err != nil {
			t.Fatalf("%v: %v", tb, err)
		}
		if got := v.(Table); got.Rows() != 0 || len(got.Columns()) != len(tb.Columns()) {
			t.Errorf("%v decoded as %v", tb, got)
		}
	}
}

func exampleTableEmptyRows(t *testing.T) Table {
	tb, err := NewTable(StringColumn("s", nil), BoolColumn("b", nil))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestNewTable_errors(t *testing.T) {
	for _, tc := range []struct {
		cols []Column
		want string
	}{
		{[]Column{Int64Column("a", []int64{1}), Int64Column("a", []int64{2})}, `abi: table has two columns named "a"`},
		{[]Column{Int64Column("a", []int64{1}), BoolColumn("b", nil)}, `abi: table column "b" has 0 values, column "a" has 1`},
		{[]Column{Int64Column("", nil)}, "abi: table column 0: a name must be 1 to 65535 bytes of UTF-8"},
		{[]Column{Int64Column("\xff", nil)}, "abi: table column 0: a name must be 1 to 65535 bytes of UTF-8"},
		{[]Column{StringColumn("s", []string{"ok", "\xc3"})}, `abi: table string column "s": value 1 is not valid UTF-8`},
		{[]Column{{Name: "z", Type: 7}}, `abi: table column "z" has unknown type code 7`},
		{[]Column{{Name: "f", Type: ColFloat64, n: 2, data: make([]byte, 8)}}, `abi: table column "f" of 2 float64 values needs 16 bytes, has 8`},
	} {
		if _, err := NewTable(tc.cols...); err == nil || err.Error() != tc.want {
			t.Errorf("NewTable: %v, want %q", err, tc.want)
		}
	}
	bad := Table{cols: []Column{{Name: "b", Type: ColBool, n: 1, data: []byte{2}}}}
	if _, err := EncodeFrame([]any{bad}, nil); err == nil || !strings.Contains(err.Error(), `table column "b" value 0 is byte 2, not 0 or 1`) {
		t.Errorf("encoding a bad table: %v", err)
	}
	if _, err := ParseColumnType("decimal"); err == nil || err.Error() != `abi: unknown column type "decimal" (want int64, float64, bool, string or timestamp)` {
		t.Errorf("ParseColumnType: %v", err)
	}
	for _, s := range []string{"int", "int64", "float", "float64", "bool", "string", "timestamp"} {
		if c, err := ParseColumnType(s); err != nil || !strings.HasPrefix(c.String(), s) {
			t.Errorf("ParseColumnType(%q) = %v, %v", s, c, err)
		}
	}
}

// tablePayload returns the payload of the example table (no ext header).
func tablePayload(t testing.TB) []byte {
	b, err := AppendTable(nil, exampleTable(t))
	if err != nil {
		t.Fatal(err)
	}
	return b[3:]
}

func TestTable_malformed(t *testing.T) {
	payload := tablePayload(t)
	mutate := func(f func(p []byte) []byte) []byte {
		p := f(bytes.Clone(payload))
		return append(appendLenHeader(nil, kExt, uint64(len(p)), ExtTable), p...)
	}
	le := binary.LittleEndian
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"short", mutate(func(p []byte) []byte { return p[:15] }), "table payload of 15 bytes is shorter than its 16-byte header"},
		{"flags", mutate(func(p []byte) []byte { p[4] = 1; return p }), "table header flags are not zero"},
		{"many columns", mutate(func(p []byte) []byte { le.PutUint32(p, 1<<16+1); return p }), "table has 65537 columns, at most 65536 are allowed"},
		{"columns past the end", mutate(func(p []byte) []byte { le.PutUint32(p, 1000); return p }), "table payload of 72 bytes cannot hold 1000 column descriptors"},
		{"rows", mutate(func(p []byte) []byte { le.PutUint64(p[8:], 1<<32); return p }), "table has 4294967296 rows, over 2^32-1"},
		{"rows past the end", mutate(func(p []byte) []byte { le.PutUint64(p[8:], 1<<32-1); return p }), `table column "a" data needs 34359738360 bytes, the payload has 40 left`},
		{"rows without columns", mutate(func(p []byte) []byte { le.PutUint32(p, 0); return p[:16] }), "table has 2 rows but no columns"},
		{"type", mutate(func(p []byte) []byte { p[16] = 9; return p }), `table column "a" has unknown type code 9`},
		{"descriptor padding", mutate(func(p []byte) []byte { p[17] = 1; return p }), "table column descriptor 0 padding is not zero"},
		{"name past the end", mutate(func(p []byte) []byte { le.PutUint16(p[23:], 60000); return p }), "table column 1 name of 60000 bytes runs past the payload"},
		{"padding after descriptors", mutate(func(p []byte) []byte { p[31] = 1; return p }), "table padding after its column descriptors is not zero"},
		{"duplicate name", mutate(func(p []byte) []byte { p[25] = 'a'; return p }), `table has two columns named "a"`},
		{"first offset", mutate(func(p []byte) []byte { p[48] = 1; return p }), `table string column "b": the first offset is 1, not 0`},
		{"offset backwards", mutate(func(p []byte) []byte { le.PutUint32(p[52:], 4); return p }), `table string column "b": offset 1 is 4, outside 0…3`},
		{"offset padding", mutate(func(p []byte) []byte { p[63] = 1; return p }), `table column "b" padding is not zero`},
		{"text cut", mutate(func(p []byte) []byte { return p[:66] }), `table column "b" text needs 3 bytes, the payload has 2 left`},
		{"text padding missing", mutate(func(p []byte) []byte { return p[:68] }), `table column "b" text needs 3 bytes, the payload has 4 left`},
		{"text not UTF-8", mutate(func(p []byte) []byte { p[65] = 0xff; return p }), `table string column "b": value 1 is not valid UTF-8`},
		{"trailing", mutate(func(p []byte) []byte { return append(p, make([]byte, 8)...) }), "table payload has 8 bytes after its last column"},
		{"bool", append(appendLenHeader(nil, kExt, 32, ExtTable), boolPayload(2)...), `table column "b" value 0 is byte 2, not 0 or 1`},
	} {
		for name, check := range map[string]func([]byte) error{"Validate": Validate, "ValidateResult": ValidateResult} {
			err := check(tc.b)
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s %s: %v, want %q", name, tc.name, err, tc.want)
			}
		}
		if _, err := Decode(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Decode %s: %v", tc.name, err)
		}
		if _, err := Canonical(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Canonical %s: %v", tc.name, err)
		}
		var tb Table
		if err := Unmarshal(tc.b, &tb); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Unmarshal %s: %v", tc.name, err)
		}
	}
}

// boolPayload is a one-row table with one bool column "b" holding byte v.
func boolPayload(v byte) []byte {
	p := binary.LittleEndian.AppendUint32(nil, 1)
	p = append(p, 0, 0, 0, 0)
	p = binary.LittleEndian.AppendUint64(p, 1)
	p = append(p, byte(ColBool), 0, 1, 0, 'b', 0, 0, 0)
	return append(p, v, 0, 0, 0, 0, 0, 0, 0)
}

// A table is a value in argument and result frames: a malformed one is refused wherever it
// sits, and a good one is passed through as it is.
func TestTable_inFrame(t *testing.T) {
	good, _ := AppendTable(nil, exampleTable(t))
	bad := append(appendLenHeader(nil, kExt, 32, ExtTable), boolPayload(7)...)
	frame := func(v []byte) []byte { // [[1, {"t": v}], {}]
		b := append([]byte{0x92, 0x92, 0x01, 0x81, 0xa1, 't'}, v...)
		return append(b, 0x80)
	}
	if err := ValidateResult(frame(good)); err != nil {
		t.Errorf("ValidateResult of a frame holding a table: %v", err)
	}
	tpl, err := NewTemplate(frame(good))
	if err != nil || !bytes.Equal(tpl.Frame(), frame(good)) || len(tpl.Deps()) != 0 {
		t.Errorf("NewTemplate of a frame holding a table: %v", err)
	}
	keyOf := func(uint32) (Key, error) { return Key{}, nil }
	if r, err := ResolveHandles(frame(good), keyOf); err != nil || !bytes.Equal(r, frame(good)) {
		t.Errorf("ResolveHandles of a frame holding a table: %x, %v", r, err)
	}
	const want = `malformed msgpack at byte 6: table column "b" value 0 is byte 7, not 0 or 1`
	for name, f := range map[string]func([]byte) error{
		"Validate":       Validate,
		"ValidateResult": ValidateResult,
		"NewTemplate":    func(b []byte) error { _, err := NewTemplate(b); return err },
		"ResolveHandles": func(b []byte) error { _, err := ResolveHandles(b, keyOf); return err },
		"Canonical":      func(b []byte) error { _, err := Canonical(b); return err },
		"Decode":         func(b []byte) error { _, err := Decode(b); return err },
	} {
		if err := f(frame(bad)); err == nil || err.Error() != want {
			t.Errorf("%s of a frame holding a malformed table: %v, want %q", name, err, want)
		}
	}
}

func FuzzTable(f *testing.F) {
	f.Add(tablePayload(f))
	f.Add(boolPayload(1))
	f.Add(make([]byte, 16))
	tb, _ := NewTable(StringColumn("s", []string{"", "ü"}), Float64Column("f", []float64{1, 2}), TimestampNanosColumn("t", []int64{-1, 1}))
	b, _ := AppendTable(nil, tb)
	f.Add(b[3:])
	f.Fuzz(func(t *testing.T, p []byte) {
		tb, err := parseTable(p)
		if err != nil {
			return
		}
		// Anything accepted re-encodes to the same bytes: the valid form is the canonical one.
		b, err := AppendTable(nil, tb)
		if err != nil {
			t.Fatalf("AppendTable of a parsed table: %v", err)
		}
		if !bytes.Equal(b[len(b)-len(p):], p) {
			t.Fatalf("re-encoded %x, parsed %x", b, p)
		}
		if err := ValidateResult(b); err != nil {
			t.Fatal(err)
		}
		for _, c := range tb.Columns() {
			switch c.Type {
			case ColString:
				var xs []string
				xs, err = c.Strings()
				for _, x := range xs {
					if !utf8.ValidString(x) {
						t.Fatalf("column %q holds %q, which is not UTF-8", c.Name, x)
					}
				}
			case ColBool:
				_, err = c.Bools()
			case ColFloat64:
				_, err = c.Float64s()
			default:
				_, err = c.Int64s()
			}
			if err != nil {
				t.Fatalf("column %q: %v", c.Name, err)
			}
		}
	})
}

// BenchmarkTable_validate measures the check every table in a frame gets, for a table of 1M
// rows of an int64, a float64 and a short string column.
func BenchmarkTable_validate(b *testing.B) {
	const n = 1 << 20
	ints, floats, strs := make([]int64, n), make([]float64, n), make([]string, n)
	for i := range ints {
		ints[i], floats[i], strs[i] = int64(i), float64(i)/3, "row-"+strings.Repeat("x", i%16)
	}
	tb, err := NewTable(Int64Column("i", ints), Float64Column("f", floats), StringColumn("s", strs))
	if err != nil {
		b.Fatal(err)
	}
	v, _ := AppendTable(nil, tb)
	b.SetBytes(int64(len(v)))
	b.ResetTimer()
	for range b.N {
		if err := Validate(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTable_numericValidate is the same check for the numeric columns alone.
func BenchmarkTable_numericValidate(b *testing.B) {
	const n = 1 << 20
	tb, _ := NewTable(Int64Column("i", make([]int64, n)), Float64Column("f", make([]float64, n)))
	v, _ := AppendTable(nil, tb)
	b.SetBytes(int64(len(v)))
	b.ResetTimer()
	for range b.N {
		if err := Validate(v); err != nil {
			b.Fatal(err)
		}
	}
}
