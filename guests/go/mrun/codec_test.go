package mrun

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// encode is the canonical encoding of v, the way mrun's host writes frames.
func encode(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := msgpack.NewEncoder(&b)
	enc.UseCompactInts(true)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("encode %#v: %v", v, err)
	}
	return b.Bytes()
}

// frame is the argument frame [args, kw].
func frame(t testing.TB, args []any, kw map[string]any) []byte {
	t.Helper()
	if args == nil {
		args = []any{}
	}
	if kw == nil {
		kw = map[string]any{}
	}
	return encode(t, []any{args, kw})
}

// Functions under test. inc, identity and the like take the direct path; the others, the
// reflective one.

func identity(x any) any { return x }

func add(a, b int) int { return a + b }

func join(parts ...string) string { return strings.Join(parts, "+") }

func divmod(a, b int) (int, int, error) {
	if b == 0 {
		return 0, 0, errors.New("divmod: division by zero")
	}
	return a / b, a % b, nil
}

func nothing(int) {}

func failWith(msg string) error { return errors.New(msg) }

func powKw(x float64, kw Kwargs) (float64, error) {
	exp, err := Kwarg(kw, "exp", 2.0)
	return math.Pow(x, exp), err
}

type point struct {
	X, Y int
	Tag  any `msgpack:"tag"`
}

func swap(p point) point { return point{X: p.Y, Y: p.X, Tag: p.Tag} }

func deref(p *int) string {
	if p == nil {
		return "nil"
	}
	return fmt.Sprint(*p)
}

func sumMap(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func narrow(a int8, b uint8, f float32) []any { return []any{a, b, f} }

func size(b []byte) int { return len(b) }

func rawID(r Raw) Raw { return r }

func rawIn(x []Raw) []Raw { return x }

func nested(x [][]int) int { return len(x) }

func unix(t time.Time) int64 { return t.Unix() }

type celsius float64

func warm(c celsius) celsius { return c + 1 }

func floats(xs []float64) []float64 { return xs }

func twoNil() ([]float64, map[string]any) { return nil, nil }

func badResult() any { return make(chan int) }

func TestCodec_call(t *testing.T) {
	n := 7
	tests := []struct {
		name string
		fn   any
		args []any
		kw   map[string]any
		want any
	}{
		{"fast int", inc, []any{41}, nil, 42},
		{"fast int compact", inc, []any{200}, nil, 201},
		{"fast int negative", inc, []any{-100}, nil, -99},
		{"fast int64 range", inc, []any{int64(math.MaxInt64 - 1)}, nil, int64(math.MaxInt64)},
		{"fast any nested", identity, []any{[]any{map[string]any{"b": 1, "a": []any{0.5, "s", nil, true}}}}, nil,
			[]any{map[string]any{"a": []any{0.5, "s", nil, true}, "b": 1}}},
		{"fast any big uint", identity, []any{uint64(math.MaxUint64)}, nil, uint64(math.MaxUint64)},
		{"fast any bytes", identity, []any{[]byte{1, 2}}, nil, []byte{1, 2}},
		{"fast any int keys", identity, []any{map[any]any{int64(1): "one"}}, nil, map[any]any{int64(1): "one"}},
		{"fast no params", func() string { return "x" }, nil, nil, "x"},
		{"fast no results", func(int) {}, []any{1}, nil, nil},
		{"fast only error", func() error { return nil }, nil, nil, nil},
		{"two params", add, []any{2, 3}, nil, 5},
		{"variadic none", join, nil, nil, ""},
		{"variadic some", join, []any{"a", "b", "c"}, nil, "a+b+c"},
		{"results as array", divmod, []any{7, 2}, nil, []any{3, 1}},
		{"nothing is nil", nothing, []any{1}, nil, nil},
		{"error nil", func(string) error { return nil }, []any{""}, nil, nil},
		{"kwargs default", powKw, []any{3}, nil, 9.0},
		{"kwargs given", powKw, []any{2}, map[string]any{"exp": 10}, 1024.0},
		{"kwargs float", powKw, []any{4}, map[string]any{"exp": 0.5}, 2.0},
		{"struct", swap, []any{map[string]any{"X": 1, "Y": 2, "tag": map[string]any{"k": 300}}}, nil,
			point{X: 2, Y: 1, Tag: map[string]any{"k": 300}}},
		{"pointer nil", deref, []any{nil}, nil, "nil"},
		{"pointer", deref, []any{5}, nil, "5"},
		{"map", sumMap, []any{map[string]any{"a": 1, "b": 2}}, nil, 3},
		{"narrow ints and float32", narrow, []any{-128, 255, 1.5}, nil, []any{-128, 255, float32(1.5)}},
		{"bytes from bin", size, []any{[]byte{1, 2, 3}}, nil, 3},
		{"bytes from str", size, []any{"abcd"}, nil, 4},
		{"time", unix, []any{time.Unix(1700000000, 0)}, nil, 1700000000},
		{"named float", warm, []any{20}, nil, 21.0},
		{"nested slices", nested, []any{[]any{[]any{1}, []any{2, 3}}}, nil, 2},
		{"float64s accept ints", floats, []any{[]any{1, 0.5}}, nil, []any{1.0, 0.5}},
		{"float64s nil", floats, []any{nil}, nil, nil},
		{"nil slices and maps are nil", twoNil, nil, nil, []any{nil, nil}},
		{"closure", func(x int) int { return x * n }, []any{6}, nil, 42},
		{"method value", time.Duration.String, []any{int64(time.Second)}, nil, "1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCodec()
			got, err := c.call(frame(t, tt.args, tt.kw), tt.fn)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if want := encode(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("got %s, want %s", hex.EncodeToString(got), hex.EncodeToString(want))
			}
		})
	}
}

func TestCodec_call_raw(t *testing.T) {
	tests := []struct {
		name  string
		fn    any
		frame string // hex
		want  string // hex
	}{
		{"ABI example inc(0)", inc, "92910080", "01"},
		{"raw passes ext through", rawID, "9291d40501" + "80", "d40501"},
		{"raw passes bin through", rawID, "9291c4020102" + "80", "c4020102"},
		{"raw keeps float32 width", rawID, "9291ca3fc00000" + "80", "ca3fc00000"},
		{"raw keeps non-canonical ints", rawID, "9291cd0001" + "80", "cd0001"},
		{"raw nested in results", rawIn, "929192d40501c0" + "80", "92d40501c0"},
		{"empty raw is nil", func() Raw { return nil }, "929080", "c0"},
		{"array16 positional", inc, "92dc00010580", "06"},
		{"int8-encoded positive", inc, "9291d00580", "06"},
		{"uint64-encoded small", inc, "9291cf000000000000000580", "06"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr, _ := hex.DecodeString(tt.frame)
			got, err := newCodec().call(fr, tt.fn)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if hex.EncodeToString(got) != tt.want {
				t.Errorf("got %x, want %s", got, tt.want)
			}
		})
	}
}

var funcLit = regexp.MustCompile(`TestCodec_call_errors\.func\d+`)

func TestCodec_call_errors(t *testing.T) {
	var nilFn func(int) int
	tests := []struct {
		name string
		fn   any
		args []any
		kw   map[string]any
		want string
	}{
		{"string into int", inc, []any{"x"}, nil, "inc: argument 1: cannot decode string into int"},
		{"float into int", inc, []any{1.5}, nil, "inc: argument 1: cannot decode float into int"},
		{"nil into int", inc, []any{nil}, nil, "inc: argument 1: cannot decode nil into int"},
		{"overflow int8", narrow, []any{128, 0, 0}, nil, "narrow: argument 1: integer 128 overflows int8"},
		{"negative into uint8", narrow, []any{0, -1, 0}, nil, "narrow: argument 2: integer -1 overflows uint8"},
		{"overflow int", inc, []any{uint64(math.MaxUint64)}, nil, "inc: argument 1: integer 18446744073709551615 overflows int"},
		{"second argument", add, []any{1, "2"}, nil, "add: argument 2: cannot decode string into int"},
		{"element path", floats, []any{[]any{0.1, "x"}}, nil, "floats: argument 1[1]: cannot decode string into float64"},
		{"nested element path", nested, []any{[]any{[]any{1}, []any{2, "x"}}}, nil, "nested: argument 1[1][1]: cannot decode string into int"},
		{"map value path", sumMap, []any{map[string]any{"a": 1, "b": true}}, nil, `sumMap: argument 1["b"]: cannot decode bool into int`},
		{"list into map", sumMap, []any{[]any{}}, nil, "sumMap: argument 1: cannot decode array into map[string]int"},
		{"int into []any", func(xs []any) int { return len(xs) }, []any{5}, nil, "func1: argument 1: cannot decode integer into []any"},
		{"struct from string", swap, []any{"p"}, nil, "swap: argument 1: cannot decode into mrun.point: unexpected code=a1 decoding map length"},
		{"struct from nil", swap, []any{nil}, nil, "swap: argument 1: cannot decode nil into mrun.point"},
		{"variadic element", join, []any{"a", 2}, nil, "join: argument 2: cannot decode integer into string"},
		{"too few", add, []any{1}, nil, "add: takes 2 positional arguments but 1 was given"},
		{"too many", inc, []any{1, 2}, nil, "inc: takes 1 positional argument but 2 were given"},
		{"none expected", func() {}, []any{1}, nil, "func1: takes no positional arguments but 1 was given"},
		{"variadic too few", func(a int, b ...int) {}, nil, nil, "func1: takes at least 1 positional argument but 0 were given"},
		{"unexpected keyword", inc, []any{1}, map[string]any{"y": 2}, `inc: unexpected keyword argument "y"`},
		{"unexpected keywords", add, []any{1, 2}, map[string]any{"b": 1, "a": 2}, `add: unexpected keyword arguments "a", "b"`},
		{"bad keyword value", powKw, []any{2}, map[string]any{"exp": "x"}, `powKw: keyword argument "exp": cannot decode string into float64`},
		{"error verbatim", failWith, []any{"Boom: exact text\n"}, nil, "Boom: exact text\n"},
		{"error from results", divmod, []any{1, 0}, nil, "divmod: division by zero"},
		{"unencodable result", badResult, nil, nil, "badResult: cannot encode the result: cannot encode chan int"},
		{"not a function", 42, nil, nil, "mrun: Call needs a function, got int"},
		{"nil function", nilFn, nil, nil, "mrun: Call with a nil func(int) int"},
		{"chan parameter", func(chan int) {}, nil, nil, "mrun: cannot call func1 (func(chan int)): cannot decode argument 1 into chan int"},
		{"error not last", func() (error, int) { return nil, 0 }, nil, nil, "mrun: cannot call func1 (func() (error, int)): error must be the last result"},
		{"kwargs not last", func(Kwargs, int) {}, nil, nil, "mrun: cannot call func1 (func(mrun.Kwargs, int)): mrun.Kwargs must be the last parameter"},
		{"chan result", func() chan int { return nil }, nil, nil, "mrun: cannot call func1 (func() chan int): cannot encode result 1 of type chan int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newCodec().call(frame(t, tt.args, tt.kw), tt.fn)
			if err == nil {
				t.Fatal("call succeeded")
			}
			// Function literals are named after their enclosing function and a number.
			got := funcLit.ReplaceAllString(err.Error(), "func1")
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestCodec_call_malformed(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  string
	}{
		{"empty", "", "inc: malformed argument frame: want an array [positional, keyword]"},
		{"not a pair", "91910080", "inc: malformed argument frame: want an array [positional, keyword]"},
		{"positional not array", "920080", "inc: malformed argument frame: positional arguments are not an array"},
		{"keywords not map", "92910090", "inc: malformed argument frame: keyword arguments are not a map"},
		{"keywords missing", "929100", "inc: malformed argument frame: keyword arguments are not a map"},
		{"trailing bytes", "9291008000", "inc: malformed argument frame: 1 bytes after the keyword arguments"},
		{"truncated argument", "9291cd01", "inc: argument 1: frame ends inside a value"},
		{"huge array", "92ddffffffff80", "inc: malformed argument frame: array of 4294967295 elements overruns the frame"},
		{"huge keyword map", "929100dfffffffff", "inc: malformed argument frame: map of 4294967295 elements overruns the frame"},
		{"keyword not string", "9291008101c0", "inc: malformed argument frame: keyword: cannot decode integer into string"},
		{"keyword value truncated", "92910081a178cd", "inc: malformed argument frame: frame ends inside a value"},
		{"reserved byte", "9291c180", "inc: argument 1: cannot decode reserved byte 0xc1 into int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr, _ := hex.DecodeString(tt.frame)
			_, err := newCodec().call(fr, inc)
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
	t.Run("ext into any", func(t *testing.T) {
		fr, _ := hex.DecodeString("9291d4070180")
		_, err := newCodec().call(fr, identity)
		want := "identity: argument 1: cannot decode ext type 7 into a Go value (declare the parameter as mrun.Raw to pass it through)"
		if err == nil || err.Error() != want {
			t.Errorf("got  %v\nwant %s", err, want)
		}
	})
}

// times returns a closure; all of them share one function literal.
//
//go:noinline
func times(k int) func(int) int { return func(x int) int { return x * k } }

// slowInc has inc's signature under a named type, which has no direct call path.
type slowInc func(int) int

// TestCodec_call_fastMatchesReflect checks that the direct and reflective paths agree, on
// results and on errors.
func TestCodec_call_fastMatchesReflect(t *testing.T) {
	type slowAny func(any) any
	type slowSlice func([]any) (string, error)
	sliceFn := func(xs []any) (string, error) {
		if len(xs) == 3 {
			return "", errors.New("three")
		}
		return fmt.Sprint(xs...), nil
	}
	frames := []struct {
		args []any
		kw   map[string]any
	}{
		{[]any{1}, nil}, {[]any{-1}, nil}, {[]any{1 << 40}, nil}, {[]any{uint64(1) << 63}, nil},
		{[]any{"x"}, nil}, {[]any{nil}, nil}, {[]any{1.0}, nil}, {[]any{[]any{1, "a", nil}}, nil},
		{[]any{[]any{1, 2}}, nil}, {nil, nil}, {[]any{1, 2}, nil}, {[]any{1}, map[string]any{"k": 1}},
		{[]any{map[string]any{"a": []any{}}}, nil}, {[]any{true}, nil},
	}
	pairs := []struct{ fast, slow any }{
		{inc, slowInc(inc)},
		{identity, slowAny(identity)},
		{sliceFn, slowSlice(sliceFn)},
	}
	c := newCodec()
	for _, pair := range pairs {
		if c.planFor(pair.fast).fast.invoke == nil || c.planFor(pair.slow).fast.invoke != nil {
			t.Fatalf("%T: paths not as expected", pair.fast)
		}
		for _, f := range frames {
			fr := frame(t, f.args, f.kw)
			want, wantErr := c.call(fr, pair.slow)
			want = bytes.Clone(want)
			got, err := c.call(fr, pair.fast)
			if fmt.Sprint(err) != fmt.Sprint(wantErr) || !bytes.Equal(got, want) {
				t.Errorf("%T%v: direct %x, %v; reflective %x, %v", pair.fast, f.args, got, err, want, wantErr)
			}
		}
	}
}

func TestCodec_planFor(t *testing.T) {
	c := newCodec()
	double, triple := times(2), times(3)
	if c.planFor(double) != c.planFor(triple) {
		t.Error("closures of one literal should share a plan")
	}
	for _, f := range []func(int) int{double, triple} {
		got, err := c.call(frame(t, []any{5}, nil), f)
		if err != nil {
			t.Fatal(err)
		}
		if want := encode(t, f(5)); !bytes.Equal(got, want) {
			t.Errorf("got %x, want %x: a shared plan must call the closure it is given", got, want)
		}
	}
	if c.planFor(inc) == c.planFor(slowInc(inc)) {
		t.Error("the same code under another func type needs its own plan")
	}
	// reflect.MakeFunc functions share one code pointer across types.
	mk := func(typ any) any {
		ft := reflect.TypeOf(typ)
		return reflect.MakeFunc(ft, func(in []reflect.Value) []reflect.Value { return in }).Interface()
	}
	f1, f2 := mk(func(int) int { return 0 }), mk(func(string) string { return "" })
	for _, tt := range []struct {
		fn   any
		arg  any
		want string
	}{{f1, 3, "03"}, {f2, "a", "a161"}, {f1, 4, "04"}} {
		got, err := c.call(frame(t, []any{tt.arg}, nil), tt.fn)
		if err != nil || hex.EncodeToString(got) != tt.want {
			t.Errorf("MakeFunc %T(%v) = %x, %v; want %s", tt.fn, tt.arg, got, err, tt.want)
		}
	}
}

func TestCodec_call_resultBuffer(t *testing.T) {
	c := newCodec()
	first, _ := c.call(frame(t, []any{1}, nil), inc)
	if first[0] != 2 {
		t.Fatalf("first = %x", first)
	}
	second, _ := c.call(frame(t, []any{5}, nil), inc)
	if &first[0] != &second[0] {
		t.Error("the result buffer should be reused")
	}
	big := strings.Repeat("x", maxKeptResult+1)
	if _, err := c.call(frame(t, []any{big}, nil), identity); err != nil {
		t.Fatal(err)
	}
	got, _ := c.call(frame(t, []any{1}, nil), inc)
	if cap(got) > maxKeptResult {
		t.Errorf("a result buffer of %d bytes was kept", cap(got))
	}
}

// TestCodec_call_releases checks that a call keeps no reference to its arguments or results.
func TestCodec_call_releases(t *testing.T) {
	c := newCodec()
	for _, fn := range []any{identity, join, swap} {
		var args []any
		switch fn.(type) {
		case func(any) any:
			args = []any{[]any{"big"}}
		case func(...string) string:
			args = []any{"a", "b"}
		default:
			args = []any{map[string]any{"X": 1, "tag": "t"}}
		}
		if _, err := c.call(frame(t, args, nil), fn); err != nil {
			t.Fatal(err)
		}
		p := c.planFor(fn)
		for i, a := range p.args {
			if !a.IsZero() {
				t.Errorf("%s: argument %d still holds %v", p.name, i, a)
			}
		}
		for _, slot := range []struct {
			p   unsafe.Pointer
			typ reflect.Type
		}{{p.argSlot, p.fast.argType}, {p.resSlot, p.fast.resType}} {
			if slot.p != nil && !reflect.NewAt(slot.typ, slot.p).Elem().IsZero() {
				t.Errorf("%s: a slot still holds a value", p.name)
			}
		}
	}
}

// TestCodec_call_anyInStruct checks that a map in a struct field of type any decodes like an
// any parameter (int64, not msgpack's uint64), that decoding goes on after it, and what an
// array in such a field gives: msgpack's loose decoding.
func TestCodec_call_anyInStruct(t *testing.T) {
	type rec struct {
		Tag  any
		List any
		Next int
	}
	var got rec
	fn := func(r rec) { got = r }
	arg := map[string]any{"Tag": map[string]any{"k": 300, "l": []any{200}}, "List": []any{200}, "Next": 7}
	if _, err := newCodec().call(frame(t, []any{arg}, nil), fn); err != nil {
		t.Fatal(err)
	}
	want := rec{Tag: map[string]any{"k": int64(300), "l": []any{int64(200)}}, List: []any{uint64(200)}, Next: 7}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %#v\nwant %#v", got, want)
	}
}
