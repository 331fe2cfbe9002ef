package abi

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// EncodeTemplate's direct path for scalar arguments writes exactly what the general encoder
// and canonicaliser write, so a call has one key whichever path built its frame.
func TestEncodeTemplateMatchesGeneralPath(t *testing.T) {
	cases := [][]any{
		{}, {0}, {1}, {-1}, {127}, {128}, {-32}, {-33}, {255}, {256}, {65535}, {65536}, {-129},
		{int64(math.MaxInt64)}, {int64(math.MinInt64)}, {uint64(math.MaxUint64)}, {uint32(7)}, {uint(1 << 40)},
		{int32(-70000)}, {1.5}, {math.NaN()}, {math.Inf(-1)}, {"", "héllo", string([]byte{0xff, 0xfe})},
		{strings.Repeat("x", 31)}, {strings.Repeat("x", 32)}, {strings.Repeat("y", 300)}, {strings.Repeat("z", 70000)},
		{true, false, nil}, {1, "two", 3.0, nil, true},
		make([]any, 16), make([]any, 300),
	}
	for _, args := range cases {
		fast, err := EncodeTemplate(args, nil)
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		frame, err := EncodeFrame(args, nil)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := NewTemplate(frame)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(fast.frame, slow.frame) {
			t.Errorf("%.60v: direct path %x, general path %x", args, fast.frame, slow.frame)
		}
	}
	// Anything else takes the general path: the same template as NewTemplate's.
	k := Key{1}
	for _, args := range [][]any{{float32(1.5)}, {int8(3)}, {[]any{1}}, {NewRef(k)}, {map[string]any{"a": 1}}} {
		fast, err := EncodeTemplate(args, map[string]any{"k": 1})
		if err != nil {
			t.Fatal(err)
		}
		frame, _ := EncodeFrame(args, map[string]any{"k": 1})
		slow, _ := NewTemplate(frame)
		if !bytes.Equal(fast.frame, slow.frame) || len(fast.holes) != len(slow.holes) {
			t.Errorf("%v: %x vs %x", args, fast.frame, slow.frame)
		}
	}
}

func BenchmarkTaskKey(b *testing.B) {
	tmpl, _ := EncodeTemplate([]any{41}, nil)
	var m [32]byte
	b.ReportAllocs()
	for b.Loop() {
		TaskKey(m, "inc", 1, tmpl)
	}
}
