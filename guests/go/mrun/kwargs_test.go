package mrun

import (
	"reflect"
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
