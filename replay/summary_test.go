package replay_test

import (
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/replay"
)

func TestSummarize(t *testing.T) {
	frame := func(args []any, kwargs map[string]any) []byte {
		t.Helper()
		b, err := abi.EncodeFrame(args, kwargs)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tensor, err := abi.NewTensor([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		frame []byte
		want  string
	}{
		{"none", frame(nil, nil), ""},
		{"values", frame([]any{41, "x", nil, true, 1.5}, nil), `41, "x", None, True, 1.5`},
		{"keywords sorted", frame([]any{[]any{1, 2}}, map[string]any{"exp": 10, "b": map[string]any{"k": "v"}}), `[1, 2], b={"k": "v"}, exp=10`},
		{"bytes and tensors by size", frame([]any{[]byte("abc"), tensor}, nil), "<3 bytes>, <tensor float64 [2 3]>"},
		{"not a frame", []byte{0xc1}, "(1 bytes that do not decode: "},
	} {
		got := replay.Summarize(tt.frame)
		if got != tt.want && !(strings.HasSuffix(tt.want, ": ") && strings.HasPrefix(got, tt.want)) {
			t.Errorf("%s: Summarize = %q, want %q", tt.name, got, tt.want)
		}
	}
	long := make([]any, 1000)
	for i := range long {
		long[i] = i
	}
	got := replay.Summarize(frame([]any{long}, nil))
	if !strings.HasPrefix(got, "[0, 1, 2, 3") || !strings.HasSuffix(got, "…") || len(got) > replay.SummaryLimit+len("…") {
		t.Errorf("a long list is summarised as %q (%d bytes), want at most %d bytes ending in …", got, len(got), replay.SummaryLimit+len("…"))
	}
	got = replay.Summarize(frame([]any{strings.Repeat("é", 300)}, nil))
	if !strings.HasSuffix(got, "é…") {
		t.Errorf("a long string is cut inside a character: %q", got[len(got)-8:])
	}
}
