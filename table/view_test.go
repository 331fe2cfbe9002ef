package table

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/mrun-dev/mrun/abi"
)

// viewFrames returns argument frames of every column type, with 0, 1, 5 and 10,000 rows.
func viewFrames(t testing.TB) []viewCase {
	t.Helper()
	var out []viewCase
	for _, n := range []int{0, 1, 5, 10000} { // 10,000 rows: over 64 KiB, an ext 32
		i, f, b, s, ts := make([]int64, n), make([]float64, n), make([]bool, n), make([]string, n), make([]time.Time, n)
		for r := range n {
			i[r], f[r], b[r], s[r] = int64(r)-2, float64(r)/3, r%2 == 1, strings.Repeat("é", r%3)
			ts[r] = time.Unix(int64(r), 5).UTC()
		}
		if n > 0 {
			f[0] = math.NaN()
		}
		t1, err := abi.NewTable(abi.Int64Column("i", i), abi.Float64Column("f", f), abi.BoolColumn("b", b),
			abi.StringColumn("s", s), abi.TimestampColumn("t", ts))
		if err != nil {
			t.Fatal(err)
		}
		t2, _ := abi.NewTable(abi.BoolColumn("b", b), abi.Float64Column("f", f))
		for _, pos := range [][]any{{t1}, {t2, t1}, {}} {
			frame, err := abi.EncodeFrame(pos, map[string]any{"n": n})
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, viewCase{frame, n})
		}
	}
	empty, _ := abi.NewTable()
	frame, _ := abi.EncodeFrame([]any{empty}, nil)
	return append(out, viewCase{frame, -1})
}

// viewCase is an argument frame whose keyword n is n (-1: none).
type viewCase struct {
	frame []byte
	n     int
}

// sameFrames reports whether a and b have equal columns (NaN equal to NaN).
func sameFrames(a, b []*frame) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if a[k].n != b[k].n || len(a[k].cols) != len(b[k].cols) {
			return false
		}
		for j, x := range a[k].cols {
			y := b[k].cols[j]
			if x.name != y.name || x.typ != y.typ || !reflect.DeepEqual(x.i, y.i) && len(x.i)+len(y.i) > 0 ||
				!reflect.DeepEqual(x.b, y.b) && len(x.b)+len(y.b) > 0 || !reflect.DeepEqual(x.s, y.s) && len(x.s)+len(y.s) > 0 {
				return false
			}
			if len(x.f) != len(y.f) {
				return false
			}
			for r := range x.f {
				if math.Float64bits(x.f[r]) != math.Float64bits(y.f[r]) {
					return false
				}
			}
		}
	}
	return true
}

// slowTables decodes a frame the way kernels did before reading tables in place.
func slowTables(args []byte) ([]*frame, error) {
	pos, _, err := decodeFrame(args)
	if err != nil {
		return nil, err
	}
	out := make([]*frame, len(pos))
	for i, v := range pos {
		t, ok := v.(abi.Table)
		if !ok {
			return nil, nil
		}
		if out[i], err = fromTable(t); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// TestDecodeTables: tables read in place equal tables decoded and copied, whether the frame
// is aligned (numeric columns are then views of it) or not (copies), and a frame of another
// shape gives decodeFrame's errors.
func TestDecodeTables(t *testing.T) {
	for _, vc := range viewFrames(t) {
		fr := vc.frame
		want, err := slowTables(fr)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, len(fr)+8)
		for _, shift := range []int{0, 1} {
			b := buf[shift : shift+len(fr)]
			copy(b, fr)
			got, kw, err := decodeTables(b)
			if err != nil || !sameFrames(got, want) || kw.int("n", -1) != int64(vc.n) {
				t.Fatalf("shift %d: got %v, %v, want %v", shift, got, err, want)
			}
			if shift == 0 && len(got) == 1 && got[0].n > 0 && got[0].cols[0].name == "i" {
				// The payload follows 0x92 0x91 and an ext header of 6 (ext 32), 4 or 3 bytes.
				hdr := map[byte]int{0xc9: 6, 0xc8: 4, 0xc7: 3}[b[2]]
				at, lo := uintptr(unsafe.Pointer(&got[0].cols[0].i[0])), uintptr(unsafe.Pointer(&b[0]))
				if inPlace, aligned := at >= lo && at < lo+uintptr(len(b)), (lo+2+uintptr(hdr))%8 == 0; inPlace != aligned {
					t.Fatalf("%d rows: int64 column read in place %v, its payload aligned %v", got[0].n, inPlace, aligned)
				}
			}
		}
	}
	str, _ := abi.EncodeFrame([]any{"x"}, nil)
	for _, tc := range []struct {
		frame []byte
		want  string
	}{
		{str, `table: argument 0 must be a table, got a string`},
		{[]byte{0x92, 0x91, 0xd4, 9, 1, 0x80}, `table: argument 0 must be a table, got an extension value of type 9`},
		{[]byte{0x92, 0x91, 0xc7, 16, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x80}, `table: argument frame: malformed msgpack at byte 2: table has 1 rows but no columns`},
	} {
		if _, _, err := decodeTables(tc.frame); err == nil || err.Error() != tc.want {
			t.Errorf("% x: got %v, want %s", tc.frame, err, tc.want)
		}
	}
}

// FuzzDecodeTables: any bytes give the tables decodeFrame gives, or an error; never a panic.
func FuzzDecodeTables(f *testing.F) {
	for _, vc := range viewFrames(f) {
		f.Add(vc.frame)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, _, err := decodeTables(b)
		want, werr := slowTables(b)
		if err == nil && werr == nil && want != nil && !sameFrames(got, want) {
			t.Fatalf("in place %v, decoded %v", got, want)
		}
	})
}
