package sig_test

import (
	"slices"
	"testing"

	"github.com/mrun-dev/mrun/abi/sig"
)

// UnknownTypes names each type a signature uses that this version does not know, once, in
// the order written, inside lists and maps too; known types, dtypes and plain containers are
// not named.
func TestSignature_UnknownTypes(t *testing.T) {
	for _, tc := range []struct {
		line string
		want []string
	}{
		{"inc(x: int) -> int", nil},
		{"f(a: list[float], b: map[str, tensor[float64]], *, c: table = null) -> (map, list)", nil},
		{"f(x: flaot, y: list[flaot], *, z: flaot = 1) -> date", []string{"flaot", "list[flaot]", "date"}},
		{"f(x: map[str, decimal[10, 2]]) -> (int, uuid)", []string{"map[str, decimal[10, 2]]", "uuid"}},
	} {
		s, err := sig.ParseLine(tc.line)
		if err != nil {
			t.Fatalf("%s: %v", tc.line, err)
		}
		if got := s.UnknownTypes(); !slices.Equal(got, tc.want) {
			t.Errorf("%s: UnknownTypes() = %q, want %q", tc.line, got, tc.want)
		}
	}
}
