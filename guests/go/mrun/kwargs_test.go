package mrun

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// kwargsOf calls a function that returns its Kwargs, so the test can use them after the call.
func kwargsOf(t *testing.T, kw map[string]any) Kwargs {
	t.Helper()
	var got Kwargs
	_, err := newCodec().call(frame(t, nil, kw), func(kw Kwargs) { got = kw })
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestKwargs(t *testing.T) {
	kw := kwargsOf(t, map[string]any{"exp": 10, "name": "x", "opts": map[string]any{"X": 1}, "xs": []any{1.5}})
	if kw.Len() != 4 || !reflect.DeepEqual(kw.Names(), []string{"exp", "name", "opts", "xs"}) {
		t.Errorf("Len, Names = %d, %v", kw.Len(), kw.Names())
	}
	if !kw.Has("exp") || kw.Has("nope") {
		t.Error("Has")
	}
	if v, err := Kwarg(kw, "exp", 2.0); v != 10 || err != nil {
		t.Errorf("Kwarg(exp, 2.0) = %v, %v", v, err)
	}
	if v, err := Kwarg(kw, "exp", 2); v != 10 || err != nil {
		t.Errorf("Kwarg(exp, 2) = %v, %v", v, err)
	}
	if v, err := Kwarg(kw, "nope", "def"); v != "def" || err != nil {
		t.Errorf("Kwarg(nope) = %v, %v", v, err)
	}
	if v, err := Kwarg(kw, "xs", []float64(nil)); len(v) != 1 || v[0] != 1.5 || err != nil {
		t.Errorf("Kwarg(xs) = %v, %v", v, err)
	}
	var p point
	if ok, err := kw.Get("opts", &p); !ok || err != nil || p.X != 1 {
		t.Errorf("Get(opts) = %v, %v, %+v", ok, err, p)
	}
	var a any
	if ok, err := kw.Get("xs", &a); !ok || err != nil || !reflect.DeepEqual(a, []any{1.5}) {
		t.Errorf("Get(xs, any) = %v, %v, %#v", ok, err, a)
	}
	v, err := Kwarg(kw, "name", 2.0)
	if want := `kwargsOf.func1: keyword argument "name": cannot decode string into float64`; err == nil || err.Error() != want || v != 2.0 {
		t.Errorf("Kwarg(name, 2.0) = %v, %v; want the default and %q", v, err, want)
	}
	if _, err := kw.Get("exp", 3); err == nil {
		t.Error("Get with a non-pointer succeeded")
	}
	if _, err := kw.Get("exp", new(chan int)); err == nil {
		t.Error("Get into a chan succeeded")
	}
}

func TestKwargs_zero(t *testing.T) {
	for _, kw := range []Kwargs{{}, kwargsOf(t, nil)} {
		if kw.Len() != 0 || kw.Names() != nil || kw.Has("x") {
			t.Errorf("%+v is not empty", kw)
		}
		if v, err := Kwarg(kw, "x", 7); v != 7 || err != nil {
			t.Errorf("Kwarg on empty = %v, %v", v, err)
		}
	}
}

// TestKwarg_direct checks that Kwarg, which reads the commonest types without reflection and
// their commonest formats in place, decodes every format as a positional parameter does.
func TestKwarg_direct(t *testing.T) {
	values := [][]byte{
		{0x05}, {0x7f}, {0xff}, {0xe0}, {0xcc, 0xc8}, {0xd0, 0x80}, {0xcd, 0x01, 0x2c},
		{0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0},
		{0xca, 0x3f, 0xc0, 0, 0}, {0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0}, {0xc2}, {0xc3}, {0xc0},
		{0xa0}, {0xa2, 'h', 'i'}, {0xd9, 0x03, 'a', 'b', 'c'}, {0x90}, {0x80},
	}
	for _, v := range values {
		checkKwarg(t, v, "")
		checkKwarg(t, v, 0)
		checkKwarg(t, v, int64(0))
		checkKwarg(t, v, 0.0)
		checkKwarg(t, v, false)
	}
}

// checkKwarg decodes the encoded value v as the keyword argument "v" with Kwarg, and as the
// positional argument of a func(T), and compares the values or the messages.
func checkKwarg[T comparable](t *testing.T, v []byte, def T) {
	t.Helper()
	var kwGot, posGot T
	var kwErr error
	kwFrame := append([]byte{0x92, 0x90, 0x81, 0xa1, 'v'}, v...)
	_, err := newCodec().call(kwFrame, func(kw Kwargs) { kwGot, kwErr = Kwarg(kw, "v", def) })
	if err != nil {
		t.Fatal(err)
	}
	posFrame := append(append([]byte{0x92, 0x91}, v...), 0x80)
	_, posErr := newCodec().call(posFrame, func(x T) { posGot = x })
	name := fmt.Sprintf("%x as %T", v, def)
	switch {
	case kwErr == nil && posErr == nil:
		if kwGot != posGot {
			t.Errorf("%s: Kwarg gives %v, a parameter %v", name, kwGot, posGot)
		}
	case kwErr != nil && posErr != nil:
		_, kwMsg, _ := strings.Cut(kwErr.Error(), `keyword argument "v"`)
		_, posMsg, _ := strings.Cut(posErr.Error(), "argument 1")
		if kwMsg != posMsg {
			t.Errorf("%s: Kwarg fails with %q, a parameter with %q", name, kwErr, posErr)
		}
		if kwGot != def {
			t.Errorf("%s: Kwarg failed but returned %v, not the default", name, kwGot)
		}
	default:
		t.Errorf("%s: Kwarg gives %v, %v; a parameter %v, %v", name, kwGot, kwErr, posGot, posErr)
	}
}
