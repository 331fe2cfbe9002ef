package sig_test

import (
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/abi/sig"
)

func mustType(t *testing.T, s string) *sig.Type {
	t.Helper()
	if s == "" {
		return nil
	}
	ty, err := sig.ParseType(s)
	if err != nil {
		t.Fatalf("sig.ParseType(%q): %v", s, err)
	}
	return &ty
}

func TestAccepts(t *testing.T) {
	tests := []struct {
		want, have string // "" is a nil type: nothing known
		ok         bool
	}{
		{"int", "int", true},
		{"int", "str", false},
		{"float", "int", true},
		{"int", "float", false},
		{"str", "bytes", false},
		{"any", "str", true},
		{"str", "any", true},
		{"str", "", true},
		{"", "str", true},
		{"decimal[10, 2]", "str", true}, // a type of a later revision accepts anything
		{"list", "list[str]", true},
		{"list[float]", "list[int]", true},
		{"list[int]", "list[str]", false},
		{"list[int]", "list", true},
		{"list[list[int]]", "list[list[str]]", false},
		{"list[int]", "map[str, int]", false},
		{"map[str, int]", "map", true},
		{"map[str, int]", "map[str, str]", false},
		{"tensor[float64]", "tensor[float64]", true},
		{"tensor[float64]", "tensor[int32]", false},
		{"tensor", "tensor[int32]", true},
		{"tensor[float64]", "tensor", true},
		{"table", "table", true},
		{"table", "tensor", false},
		{"none", "none", true},
		{"int", "none", false},
	}
	for _, tt := range tests {
		if got := sig.Accepts(mustType(t, tt.want), mustType(t, tt.have)); got != tt.ok {
			t.Errorf("sig.Accepts(%q, %q) = %v, want %v", tt.want, tt.have, got, tt.ok)
		}
	}
}

func TestTypeOf(t *testing.T) {
	tensor, err := abi.NewTensor([]int{2}, []int32{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		v    any
		want string
	}{
		{int64(1), "int"},
		{uint64(1 << 63), "int"},
		{1.5, "float"},
		{true, "bool"},
		{"a", "str"},
		{[]byte("a"), "bytes"},
		{nil, "none"},
		{[]any{int64(1), int64(2)}, "list[int]"},
		{[]any{int64(1), "a"}, "list"},
		{[]any{}, "list"},
		{[]any{[]any{1.5}}, "list[list[float]]"},
		{map[string]any{"a": "x", "b": "y"}, "map[str, str]"},
		{map[string]any{"a": "x", "b": int64(1)}, "map"},
		{tensor, "tensor[int32]"},
	}
	for _, tt := range tests {
		if got := sig.TypeOf(tt.v).String(); got != tt.want {
			t.Errorf("sig.TypeOf(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}

func TestCheckCall(t *testing.T) {
	s, err := sig.ParseLine(`f(x: int, xs: list[float], *, mode: str, t: tensor[float64] = null) -> (int, str)`)
	if err != nil {
		t.Fatal(err)
	}
	f32, _ := abi.NewTensor([]int{1}, []float32{1})
	f64, _ := abi.NewTensor([]int{1}, []float64{1})
	ok := []any{int64(1), []any{int64(1), 2.5}}
	tests := []struct {
		name    string
		args    []any
		kwargs  map[string]any
		nOutput int
		want    string
	}{
		{"fits", ok, map[string]any{"mode": "a", "t": f64}, 2, ""},
		{"too many", []any{int64(1), []any{}, int64(3)}, map[string]any{"mode": "a"}, 2, "f takes 2 positional arguments (x: int, xs: list[float]), got 3"},
		{"too few", nil, map[string]any{"mode": "a"}, 2, "f takes 2 positional arguments (x: int, xs: list[float]), got 0"},
		{"n_output", ok, map[string]any{"mode": "a"}, 1, "n_output is 1, but f returns 2 outputs (int, str)"},
		{"literal type", []any{"1", []any{}}, map[string]any{"mode": "a"}, 2, `f argument x must be int, got str "1"`},
		{"element type", []any{int64(1), []any{1.5, true}}, map[string]any{"mode": "a"}, 2, "f argument xs[1] must be float, got bool true"},
		{"misspelled keyword", ok, map[string]any{"mdoe": "a"}, 2, `f has no keyword argument "mdoe"; did you mean "mode"?`},
		{"unknown keyword", ok, map[string]any{"mode": "a", "verbose": true}, 2, `f has no keyword argument "verbose" (it takes mode, t)`},
		{"missing keyword", ok, nil, 2, `f needs keyword argument "mode" (mode: str)`},
		{"keyword type", ok, map[string]any{"mode": int64(3)}, 2, "f keyword argument mode must be str, got int 3"},
		{"dtype", ok, map[string]any{"mode": "a", "t": f32}, 2, "f keyword argument t must be tensor[float64], got tensor[float32]"},
	}
	for _, tt := range tests {
		err := s.CheckCall(tt.args, tt.kwargs, tt.nOutput)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s: CheckCall = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestCheckCall_Variadic: *args takes any number of further positional arguments, each of
// its type, named by their index in it.
func TestCheckCall_Variadic(t *testing.T) {
	s, err := sig.ParseLine(`relay(module: str, *args: int, scale: float = 1) -> any`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args   []any
		kwargs map[string]any
		want   string
	}{
		{[]any{"m"}, nil, ""},
		{[]any{"m", int64(1), int64(2)}, map[string]any{"scale": 2.0}, ""},
		{nil, nil, "relay takes at least 1 positional argument (module: str, *args: int), got 0"},
		{[]any{"m", int64(1), "two"}, nil, `relay argument args[1] must be int, got str "two"`},
		{[]any{"m"}, map[string]any{"scael": 1.0}, `relay has no keyword argument "scael"; did you mean "scale"?`},
	}
	for _, tt := range tests {
		err := s.CheckCall(tt.args, tt.kwargs, 1)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("CheckCall(%v, %v) = %q, want %q", tt.args, tt.kwargs, got, tt.want)
		}
	}
}

func TestCheckCall_NOutput(t *testing.T) {
	tests := []struct {
		line    string
		nOutput int
		want    string
	}{
		{"f() -> list[int]", 3, ""},
		{"f() -> any", 3, ""},
		{"f() -> decimal[1]", 3, ""},
		{"f() -> int", 1, ""},
		{"f() -> int", 2, "n_output is 2, but f returns one int"},
		{"f() -> (int, int)", 2, ""},
	}
	for _, tt := range tests {
		s, err := sig.ParseLine(tt.line)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		if err := s.CheckCall(nil, nil, tt.nOutput); err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("%s with n_output %d: %q, want %q", tt.line, tt.nOutput, got, tt.want)
		}
	}
}
