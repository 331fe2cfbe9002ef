package mrun

import (
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// tableHex is the example of ABI.md section 5.4: a = [1, 2] (int64), b = ["x", "yz"] (string).
const tableHex = "c74805" +
	"0200000000000000" + "0200000000000000" +
	"0400010061" + "2000010062" + "000000000000" +
	"0100000000000000" + "0200000000000000" +
	"000000000100000003000000" + "00000000" +
	"78797a" + "0000000000"

func exampleTable(t testing.TB) Table {
	tb, err := NewTable(Int64Column("a", []int64{1, 2}), StringColumn("b", []string{"x", "yz"}))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestTable_wireFormat(t *testing.T) {
	b, err := appendTable(nil, exampleTable(t))
	if err != nil || hex.EncodeToString(b) != tableHex {
		t.Fatalf("appendTable:\n got %x, %v\nwant %s", b, err, tableHex)
	}
	if got := exampleTable(t).String(); got != "table of 2 rows: a int64, b string" {
		t.Errorf("String() = %q", got)
	}
}

// tableSum adds the int64 column "a" of a table.
func tableSum(t Table) (int64, error) {
	c, ok := t.Column("a")
	if !ok || c.Type() != ColInt64 {
		return 0, errors.New("want an int64 column a")
	}
	var s int64
	for _, x := range c.Int64s() {
		s += x
	}
	return s, nil
}

// tableUpper returns the table with its string column b in upper case and a column of lengths.
func tableUpper(t Table) (Table, error) {
	c, _ := t.Column("b")
	up := make([]string, c.Len())
	n := make([]int64, c.Len())
	for i := range up {
		up[i] = strings.ToUpper(c.StringAt(i))
		n[i] = int64(len(c.BytesAt(i)))
	}
	return NewTable(StringColumn("b", up), Int64Column("len", n))
}

func TestCodec_call_table(t *testing.T) {
	table := mustHex(t, tableHex)
	upper, _ := NewTable(StringColumn("b", []string{"X", "YZ"}), Int64Column("len", []int64{1, 2}))
	upperHex, _ := appendTable(nil, upper)
	for _, tt := range []struct {
		name string
		fn   any
		fr   []byte
		want string
	}{
		{"a column's sum", tableSum, tensorFrame(table), "03"},
		{"a table result", tableUpper, tensorFrame(table), hex.EncodeToString(upperHex)},
		{"identity keeps the bytes", identity, tensorFrame(table), tableHex},
		{"identity in a list", identity, tensorFrame(append([]byte{0x92}, append(table, table...)...)), "92" + tableHex + tableHex},
		{"an empty table", identity, tensorFrame(mustHex(t, "d805"+"00000000000000000000000000000000")), "d805" + "00000000000000000000000000000000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := newCodec().call(tt.fr, tt.fn)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if hex.EncodeToString(got) != tt.want {
				t.Errorf("got  %x\nwant %s", got, tt.want)
			}
		})
	}
}

// boolTable is a one-row table with a bool column "b" holding the byte v.
func boolTable(v byte) []byte {
	return mustHexNoT("c72005" + "0100000000000000" + "0100000000000000" + "0b00010062000000" + hex.EncodeToString([]byte{v}) + "00000000000000")
}

func mustHexNoT(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestCodec_call_tableErrors(t *testing.T) {
	mutate := func(i int, v byte) []byte {
		b := mustHex(t, tableHex)
		b[3+i] = v
		return b
	}
	for _, tt := range []struct {
		name string
		fn   any
		fr   []byte
		want string
	}{
		{"not a table", tableSum, tensorFrame([]byte{0x01}), "tableSum: argument 1: cannot decode integer into mrun.Table"},
		{"a tensor", tableSum, tensorFrame(mustHex(t, matrixHex)), "tableSum: argument 1: cannot decode ext type 4 into mrun.Table"},
		{"short", tableSum, tensorFrame(mustHex(t, "d40500")), "tableSum: argument 1: malformed table: a payload of 1 bytes is shorter than the 16-byte header"},
		{"flags", tableSum, tensorFrame(mutate(4, 1)), "tableSum: argument 1: malformed table: the flags are not zero"},
		{"columns", tableSum, tensorFrame(mutate(1, 1)), "tableSum: argument 1: malformed table: a payload of 72 bytes cannot hold 258 columns"},
		{"rows", tableSum, tensorFrame(mutate(8, 3)), `tableSum: argument 1: malformed table: string column "b": its offsets are not n+1 offsets from 0`},
		{"rows past the end", tableSum, tensorFrame(mutate(8, 9)), `tableSum: argument 1: malformed table: column "a" runs past the payload or its padding is not zero`},
		{"huge rows", tableSum, tensorFrame(mutate(12, 1)), "tableSum: argument 1: malformed table: 4294967298 rows, more than 2^32-1"},
		{"type", tableSum, tensorFrame(mutate(16, 9)), `tableSum: argument 1: malformed table: column "a" has unknown type 9`},
		{"descriptor padding", tableSum, tensorFrame(mutate(17, 1)), "tableSum: argument 1: malformed table: column descriptor 0 is cut short or its padding is not zero"},
		{"padding", tableSum, tensorFrame(mutate(30, 1)), "tableSum: argument 1: malformed table: the column descriptors' padding is cut short or not zero"},
		{"same names", tableSum, tensorFrame(mutate(25, 'a')), `tableSum: argument 1: malformed table: two columns are named "a"`},
		{"offsets", tableSum, tensorFrame(mutate(52, 9)), `tableSum: argument 1: malformed table: string column "b": value 0 is out of order, out of range or not UTF-8`},
		{"text past the end", tableSum, tensorFrame(mutate(56, 9)), `tableSum: argument 1: malformed table: column "b" runs past the payload or its padding is not zero`},
		{"text", tableSum, tensorFrame(mutate(65, 0xff)), `tableSum: argument 1: malformed table: string column "b": value 1 is out of order, out of range or not UTF-8`},
		{"bool", tableSum, tensorFrame(boolTable(2)), `tableSum: argument 1: malformed table: bool column "b" holds a byte other than 0 and 1`},
		{"in an any", identity, tensorFrame(boolTable(2)), `identity: argument 1: malformed table: bool column "b" holds a byte other than 0 and 1`},
		{"the function's error", tableSum, tensorFrame(boolTable(1)), "want an int64 column a"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newCodec().call(tt.fr, tt.fn)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestTable_views(t *testing.T) {
	at := []time.Time{time.Date(2026, 12, 7, 16, 29, 27, 5, time.UTC), time.Unix(0, 0).UTC()}
	f := []float64{1.5, math.NaN()}
	tb, err := NewTable(Float64Column("f", f), BoolColumn("ok", []bool{true, false}), TimestampColumn("at", at), StringColumn("s", []string{"", "é"}))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := tb.Column("f")
	if v := c.Float64s(); &v[0] != &f[0] {
		t.Error("Float64s copied the values of Float64Column")
	}
	if c, _ := tb.Column("at"); !reflect.DeepEqual(c.Times(), at) || c.Int64s()[0] != at[0].UnixNano() {
		t.Errorf("timestamps: %v", c.Times())
	}
	if c, _ := tb.Column("s"); !reflect.DeepEqual(c.Strings(), []string{"", "é"}) {
		t.Errorf("strings: %q", c.Strings())
	}
	if _, ok := tb.Column("nope"); ok {
		t.Error("Column found a column that is not there")
	}
	// Through the SDK's codec and through msgpack, the table comes back with every view.
	b, err := appendTable(nil, tb)
	if err != nil {
		t.Fatal(err)
	}
	var back Table
	if err := msgpack.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	again, _ := appendTable(nil, back)
	if hex.EncodeToString(again) != hex.EncodeToString(b) {
		t.Errorf("msgpack round trip:\n got %x\nwant %x", again, b)
	}
	if c, _ := back.Column("ok"); !reflect.DeepEqual(c.Bools(), []bool{true, false}) {
		t.Errorf("bools: %v", c.Bools())
	}
	viaMsgpack, err := msgpack.Marshal(tb)
	if err != nil || hex.EncodeToString(viaMsgpack) != hex.EncodeToString(b) {
		t.Errorf("EncodeMsgpack: %x, %v", viaMsgpack, err)
	}
	cl := back.Clone()
	if c, _ := back.Column("f"); true {
		c.Float64s()[0] = 99
	}
	if c, _ := cl.Column("f"); c.Float64s()[0] != 1.5 {
		t.Error("Clone shares memory")
	}

	for _, tt := range []struct {
		cols []Column
		want string
	}{
		{[]Column{Int64Column("a", []int64{1}), BoolColumn("b", nil)}, `mrun: column "b" has 0 values, column "a" has 1`},
		{[]Column{Int64Column("a", nil), Int64Column("a", nil)}, `mrun: two columns are named "a"`},
		{[]Column{Int64Column("", nil)}, "mrun: column 0: a name is 1 to 65535 bytes of UTF-8"},
		{[]Column{StringColumn("s", []string{"\xff"})}, `mrun: string column "s": value 0 is out of order, out of range or not UTF-8`},
	} {
		if _, err := NewTable(tt.cols...); err == nil || err.Error() != tt.want {
			t.Errorf("NewTable: %v, want %q", err, tt.want)
		}
	}
	defer func() {
		if r := recover(); r == nil || r.(string) != `mrun: float64s of the string column "s": check Column.Type first` {
			t.Errorf("Float64s of a string column: recovered %v", r)
		}
	}()
	c, _ = tb.Column("s")
	c.Float64s()
}

// A numeric column of an argument is read where the host wrote it when it is aligned there,
// and copied once when it is not.
func TestCodec_call_tableInPlace(t *testing.T) {
	table := mustHex(t, tableHex)
	for pad := range 8 {
		fr := alignedBytes(128)[:0]
		fr = append(fr, 0x92, 0x90|byte(pad+1))
		for range pad {
			fr = append(fr, 0xc0)
		}
		fr = append(fr, table...)
		fr = append(fr, 0x80)
		var seen []int64
		_, err := newCodec().call(fr, func(xs ...any) int64 {
			c, _ := xs[pad].(Table).Column("a")
			seen = c.Int64s()
			return seen[1]
		})
		if err != nil || !reflect.DeepEqual(seen, []int64{1, 2}) {
			t.Fatalf("pad %d: %v, %v", pad, seen, err)
		}
	}
}
