package sig

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseLine_Canonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"inc(x: int) -> int  -- Adds one.", "inc(x: int) -> int  -- Adds one."},
		{"inc(x:int)->int--Adds one.  ", "inc(x: int) -> int  -- Adds one."},
		{"  now ( ) -> int impure", "now() -> int  impure"},
		{"triage(xs: list[float], *, cut: float = 0.5) -> (list[float], list[float])  -- Splits.",
			"triage(xs: list[float], *, cut: float = 0.5) -> (list[float], list[float])  -- Splits."},
		{"f(*, a: int, b: map = { \"k\" : [1, 2] }) -> any", `f(*, a: int, b: map = {"k":[1,2]}) -> any`},
		{"f(m: map[ str , list[ tensor[uint8] ] ]) -> table", "f(m: map[str, list[tensor[uint8]]]) -> table"},
		{"f(x: decimal[10, 2]) -> bytes", "f(x: decimal[10, 2]) -> bytes"},
		{"f(x: int, *, seed: int = null) -> tensor  impure  -- Random.", "f(x: int, *, seed: int = null) -> tensor  impure  -- Random."},
		{`"a b"(x: any) -> none`, `"a b"(x: any) -> none`},
		{"rev-bytes.v2(b: bytes) -> bytes", "rev-bytes.v2(b: bytes) -> bytes"},
		{"impure() -> int  impure", "impure() -> int  impure"},
		{"f() -> int  -- -- two dashes", "f() -> int  -- -- two dashes"},
		{"relay(module: str, fn: str, *args: any) -> any", "relay(module: str, fn: str, *args: any) -> any"},
		{"f( * xs : int , k : str = \"a\" ) -> int", `f(*xs: int, k: str = "a") -> int`},
	}
	for _, tt := range tests {
		s, err := ParseLine(tt.in)
		if err != nil {
			t.Errorf("ParseLine(%q): %v", tt.in, err)
			continue
		}
		if got := s.String(); got != tt.want {
			t.Errorf("ParseLine(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		again, err := ParseLine(s.String())
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Errorf("canonical line %q reads back as %+v, %v; want %+v", s.String(), again, err, s)
		}
	}
}

func TestParseLine_Structure(t *testing.T) {
	s, err := ParseLine(`triage(xs: list[float], *, cut: float = 0.5, mode: str) -> (list[float], list[float])  impure -- Splits xs.`)
	if err != nil {
		t.Fatal(err)
	}
	f := Type{Name: Float}
	lf := Type{Name: List, Elem: &f}
	want := &Signature{
		Name:    "triage",
		Params:  []Param{{Name: "xs", Type: lf}},
		Kwargs:  []Kwarg{{Name: "cut", Type: f, Default: []byte("0.5")}, {Name: "mode", Type: Type{Name: Str}}},
		Outputs: []Type{lf, lf},
		Doc:     "Splits xs.",
		Pure:    false,
	}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v\nwant %+v", s, want)
	}
	if s.NOutput() != 2 || s.Kwargs[0].Required() || !s.Kwargs[1].Required() {
		t.Fatalf("NOutput %d, cut required %v, mode required %v", s.NOutput(), s.Kwargs[0].Required(), s.Kwargs[1].Required())
	}
	if k, ok := s.Kwarg("mode"); !ok || k.Type.Name != Str {
		t.Fatalf("Kwarg(mode) = %+v, %v", k, ok)
	}
	if (Type{Name: "decimal", Args: "10, 2"}).Known() || !lf.Known() {
		t.Fatal("Known: decimal is not a known type, list[float] is")
	}
}

func TestParse_Errors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"inc(x: int) -> int\ninc(y: int) -> int", `line 2, column 1: function "inc" is described twice (first on line 1)`},
		{"inc(x int) -> int", `line 1, column 7: want ":", found 'i'`},
		{"inc(x: int)", `line 1, column 12: want "->", found the end of the line`},
		{"inc(x: int) -> ", `line 1, column 16: want a type (a letter or _, then letters, digits or _), found the end of the line`},
		{"inc(x: int = 1) -> int", `line 1, column 12: a positional parameter has no default: put keyword parameters after "*"`},
		{"f(*) -> int", `line 1, column 4: "*" must be followed by keyword parameters`},
		{"f(*, a: int, *, b: int) -> int", `line 1, column 14: a second "*"`},
		{"f(a: int, *xs: list[int], *, k: int) -> int", `line 1, column 27: a second "*"`},
		{"f(*xs: int = 1) -> int", `line 1, column 12: *xs takes the remaining positional arguments and has no default`},
		{"f(x: int, *x: int) -> int", `line 1, column 12: parameter "x" is described twice`},
		{"f(a: int, a: str) -> int", `line 1, column 11: parameter "a" is described twice`},
		{"f(*, a: int = 1.5) -> int", `line 1, column 15: default 1.5 is not an int`},
		{`f(*, a: bytes = "x") -> int`, `line 1, column 17: default "x" is not a bytes`},
		{"f(*, a: int = ) -> int", `line 1, column 15: want a JSON literal as the default, found ')'`},
		{"f(*, a: int = 'x') -> int", `line 1, column 15: want a JSON literal as the default, found '\''`},
		{"f(x: tensor[f64]) -> int", `line 1, column 13: unknown dtype "f64" (want one of int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, bool)`},
		{"f(x: map[int, str]) -> int", `line 1, column 10: map keys are str, not int`},
		{"f(x: int[8]) -> int", `line 1, column 6: type int takes no parameters`},
		{"f(x: list[int) -> int", `line 1, column 14: want "]", found ')'`},
		{"f(x: vec[int) -> int", `line 1, column 21: want "]", found the end of the line`},
		{"f() -> (int)", `line 1, column 8: a list of outputs has at least two types; write one output without parentheses`},
		{"f() -> int pure", `line 1, column 12: want "impure", "--" and a doc, or the end of the line; found 'p'`},
		{"f() -> int\n\nok() -> int\nbad() -> int \x01", `line 4, column 14: control character '\x01'`},
		{"f() -> int -- caf\xe9", `line 1, column 18: invalid UTF-8`},
		{"(x: int) -> int", `line 1, column 1: want a function name, found '('`},
		{`"a\u0000"() -> int`, `line 1, column 1: function name contains NUL`},
		{strings.Repeat("n", 129) + "() -> int", `line 1, column 1: function name is 129 bytes, over the limit of 128`},
		{"f(x: " + strings.Repeat("list[", 40) + "int" + strings.Repeat("]", 40) + ") -> int", `line 1, column 166: types nested over 32 deep`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.in))
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) || err.Error() != tt.want {
			t.Errorf("Parse(%q) = %v\nwant            %s", tt.in, err, tt.want)
		}
	}
}

func TestParse_Section(t *testing.T) {
	text := "# conformance\r\n\ninc(x: int) -> int  -- Adds one.\r\n   \nnow() -> int  impure"
	sigs, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if len(sigs) != 2 || sigs[0].Line != 3 || sigs[1].Line != 5 {
		t.Fatalf("got %d signatures, lines %v", len(sigs), sigs)
	}
	want := "inc(x: int) -> int  -- Adds one.\nnow() -> int  impure\n"
	if got := string(Format(sigs)); got != want {
		t.Fatalf("Format = %q, want %q", got, want)
	}
	if sigs, err := Parse(nil); err != nil || len(sigs) != 0 {
		t.Fatalf("Parse(nil) = %v, %v; want no signatures", sigs, err)
	}
}

func FuzzSignatures(f *testing.F) {
	for _, s := range []string{
		"inc(x: int) -> int  -- Adds one.",
		"triage(xs: list[float], *, cut: float = 0.5) -> (list[float], list[float])  -- Splits.",
		"now() -> int  impure\n# comment\n",
		`f(*, a: map[str, any] = {"k": [1, 2.5e3, null]}, b: str = "\u00e9") -> x[y[z]]`,
		`"q\"uote"(m: tensor[bool]) -> table`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, text []byte) {
		sigs, err := Parse(text)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line < 1 || se.Column < 1 {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		// The canonical text reads back to the same signatures.
		canon := Format(sigs)
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical text %q: %v", canon, err)
		}
		if len(again) != len(sigs) {
			t.Fatalf("canonical text %q: %d signatures, want %d", canon, len(again), len(sigs))
		}
		for i := range sigs {
			again[i].Line = sigs[i].Line
			if !reflect.DeepEqual(again[i], sigs[i]) {
				t.Fatalf("line %q reads back as %+v, want %+v", sigs[i].String(), again[i], sigs[i])
			}
		}
		if string(Format(again)) != string(canon) {
			t.Fatalf("Format is not stable: %q then %q", canon, Format(again))
		}
	})
}

// BenchmarkParse parses the conformance module's 21 signatures, the work a load adds.
func BenchmarkParse(b *testing.B) {
	text, err := os.ReadFile("../../guests/wat/conformance.sigs")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(text); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSignature_JSON(t *testing.T) {
	s, err := ParseLine(`triage(xs: list[float], *, cut: float = 0.5, mode: str) -> (list[float], map[str, int])  impure  -- Splits.`)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"name":"triage","params":[{"name":"xs","type":"list[float]"}],"kwargs":[{"name":"cut","type":"float","default":0.5,"required":false},{"name":"mode","type":"str","required":true}],"outputs":["list[float]","map[str, int]"],"doc":"Splits.","pure":false}`
	if string(b) != want {
		t.Fatalf("JSON\n got %s\nwant %s", b, want)
	}
	var back Signature
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(&back, s) {
		t.Fatalf("JSON reads back as %+v, want %+v", back, s)
	}
	if _, err := ParseType("list[int] x"); err == nil || err.Error() != `line 1, column 11: unexpected 'x' after the type` {
		t.Fatalf("ParseType = %v", err)
	}
}
