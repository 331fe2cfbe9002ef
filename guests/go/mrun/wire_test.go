package mrun

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

func TestCodec_writeInt(t *testing.T) {
	ints := []int64{0, 1, 127, 128, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64}
	for _, n := range ints {
		c := newCodec()
		c.writeInt(n)
		if want := encode(t, n); !bytes.Equal(c.out.b, want) {
			t.Errorf("writeInt(%d) = %x, want %x", n, c.out.b, want)
		}
	}
	c := newCodec()
	c.writeUint(math.MaxUint64)
	if want := encode(t, uint64(math.MaxUint64)); !bytes.Equal(c.out.b, want) {
		t.Errorf("writeUint(max) = %x, want %x", c.out.b, want)
	}
}

func TestCodec_writeHeader(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 31, 32, 255, 256, 65535, 65536} {
		values := map[family]any{
			famStr:   strings.Repeat("x", n),
			famBin:   bytes.Repeat([]byte{1}, n),
			famArray: make([]any, n),
		}
		m := make(map[string]any, n)
		for i := range n {
			m[fmt.Sprintf("%06d", i)] = nil
		}
		values[famMap] = m
		for f, v := range values {
			c := newCodec()
			if err := c.encodeAny(v); err != nil {
				t.Fatal(err)
			}
			if want := encode(t, v); !bytes.Equal(c.out.b, want) {
				t.Errorf("%s of %d: header %x, want %x", f, n, c.out.b[:min(8, len(c.out.b))], want[:min(8, len(want))])
			}
		}
	}
}

// TestCodec_encodeMaps checks that maps encode with their entries in the canonical order,
// whatever Go's iteration order, at any depth.
func TestCodec_encodeMaps(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{map[string]int{"b": 1, "aa": 2, "a": 3}, "83" + "a16103" + "a16201" + "a2616102"},
		{map[string]any{"b": 1, "aa": 2, "a": 3}, "83" + "a16103" + "a16201" + "a2616102"},
		{map[any]any{"a": 1, int64(-1): 2, int64(1): 3}, "83" + "0103" + "a16101" + "ff02"},
		{[]map[int]bool{{2: true, 1: false}}, "91" + "82" + "01c2" + "02c3"},
		{&map[string]int{"y": 1, "x": 2}, "82" + "a17802" + "a17901"},
	}
	for _, tt := range tests {
		for range 20 {
			c := newCodec()
			if err := c.encodeAny(tt.v); err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(c.out.b); got != tt.want {
				t.Fatalf("encode %v = %s, want %s", tt.v, got, tt.want)
			}
		}
	}
}

// values covers every MessagePack family, in several formats.
var values = []any{
	nil, true, false, 0, 127, 128, -1, -33, 1 << 40, -1 << 40, uint64(math.MaxUint64),
	0.5, float32(1.5), "", "s", strings.Repeat("long", 100), []byte{}, []byte{1, 2},
	[]any{}, []any{1, []any{2, "x"}, map[string]any{"k": nil}}, make([]any, 20),
	map[string]any{}, map[string]any{"a": 1, "b": []any{true}},
	time.Unix(1700000000, 5).UTC(), msgpack.RawMessage{0xd4, 0x05, 0x01}, msgpack.RawMessage{0xc7, 0x03, 0x07, 1, 2, 3},
}

func TestCodec_skip(t *testing.T) {
	for _, v := range values {
		b := encode(t, v)
		c := newCodec()
		c.in = append(b, 0xc0)
		if err := c.skip(); err != nil || c.off != len(b) {
			t.Errorf("skip(%x) stopped at %d of %d: %v", b, c.off, len(b), err)
		}
		for i := range b {
			c.in, c.off = b[:i], 0
			if err := c.skip(); err == nil {
				t.Errorf("skip(%x) accepted a value cut at %d", b, i)
			}
		}
	}
}

func TestCodec_decodeAny(t *testing.T) {
	tests := []struct {
		in   any
		want any
	}{
		{nil, nil},
		{true, true},
		{5, int64(5)},
		{200, int64(200)}, // uint8 format: still int64
		{-200, int64(-200)},
		{uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{float32(1.5), 1.5},
		{0.25, 0.25},
		{"s", "s"},
		{[]byte{1}, []byte{1}},
		{[]any{1, "a"}, []any{int64(1), "a"}},
		{map[string]any{"a": 1}, map[string]any{"a": int64(1)}},
		{map[any]any{"a": 1, int64(2): "b"}, map[any]any{"a": int64(1), int64(2): "b"}},
		{time.Unix(1, 2).UTC(), time.Unix(1, 2).UTC()},
	}
	for _, tt := range tests {
		c := newCodec()
		c.in = encode(t, tt.in)
		got, err := c.decodeAny()
		if tm, ok := got.(time.Time); ok && tm.Equal(tt.want.(time.Time)) {
			got = tt.want // msgpack decodes timestamps in the local zone
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) || c.off != len(c.in) {
			t.Errorf("decodeAny(%#v) = %#v (%T), %v; want %#v", tt.in, got, got, err, tt.want)
		}
	}
}

// wellFormed reports whether b is exactly one MessagePack value.
func wellFormed(b []byte) bool {
	c := newCodec()
	c.in = b
	return c.skip() == nil && c.off == len(b)
}

// FuzzCodec_call feeds arbitrary frames to functions of every path: none may panic, a success
// must be one well-formed value, and the direct and reflective paths must agree.
func FuzzCodec_call(f *testing.F) {
	for _, v := range values {
		f.Add(frame(f, []any{v}, nil))
		f.Add(frame(f, []any{v, v}, map[string]any{"exp": v}))
	}
	m, _ := NewTensor([]int{2, 2}, []float64{1, 2, 3, 4})
	f.Add(frame(f, []any{m}, nil))
	f.Add(frame(f, []any{[]any{m, m}}, map[string]any{"exp": m}))
	for _, s := range []string{"92910080", "9291d4050180", "92ddffffffff80", "929100dfffffffff", "9291c180", "9291826230a1623780"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	type slowAny func(any) any
	fns := []any{inc, identity, rawID, rawIn, floats, swap, powKw, join, sumMap, narrow, nested, unix, divmod, tensorSum, maybe, weighted}
	f.Fuzz(func(t *testing.T, fr []byte) {
		c := newCodec()
		for _, fn := range fns {
			res, err := c.call(fr, fn)
			if err == nil && !wellFormed(res) {
				t.Fatalf("%T(%x) returned a malformed result %x", fn, fr, res)
			}
		}
		want, wantErr := c.call(fr, slowAny(identity))
		want = bytes.Clone(want)
		got, err := c.call(fr, identity)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) || !bytes.Equal(got, want) {
			t.Fatalf("identity(%x): direct %x, %v; reflective %x, %v", fr, got, err, want, wantErr)
		}
	})
}
