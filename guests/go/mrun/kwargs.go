package mrun

import (
	"fmt"
	"reflect"
	"slices"
)

// Kwargs holds the keyword arguments of a call. A function receives them by declaring a final
// parameter of type Kwargs; a function without one fails when called with keywords.
//
// Values are decoded on access, with the same rules as positional parameters, into the type
// the function asks for. The zero Kwargs has no keywords. A Kwargs may be kept after the call
// and read later by the goroutine that runs the functions (it shares their decoder).
type Kwargs struct {
	kw *kwargs
}

type kwargs struct {
	fn   string    // function name, for messages
	c    *codec    // decodes values on access (idle while the function runs)
	raw  []byte    // the keyword map's entries, copied out of the frame
	args []keyword // in frame order (mrun sorts them)
}

// keyword is one keyword argument: its name, and where its value is in raw.
type keyword struct {
	name       string
	start, end int
}

// Len returns the number of keyword arguments.
func (k Kwargs) Len() int {
	if k.kw == nil {
		return 0
	}
	return len(k.kw.args)
}

// Names returns the keywords, in the order of the frame (ascending byte order from mrun).
// Use it to reject keywords the function does not know.
func (k Kwargs) Names() []string {
	if k.kw == nil {
		return nil
	}
	names := make([]string, len(k.kw.args))
	for i, a := range k.kw.args {
		names[i] = a.name
	}
	return names
}

// Has reports whether the keyword argument name was passed.
func (k Kwargs) Has(name string) bool { return k.index(name) >= 0 }

func (k Kwargs) index(name string) int {
	if k.kw == nil {
		return -1
	}
	return slices.IndexFunc(k.kw.args, func(a keyword) bool { return a.name == name })
}

// Get decodes the keyword argument name into the value ptr points to, as a positional
// parameter of that type would be decoded. It reports whether name was passed; when it was not,
// *ptr is left unchanged. A value that does not fit is an error naming the function and the
// keyword, e.g. `pow: keyword argument "exp": cannot decode string into float64`.
func (k Kwargs) Get(name string, ptr any) (bool, error) {
	i := k.index(name)
	if i < 0 {
		return false, nil
	}
	rv := reflect.ValueOf(ptr)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return true, fmt.Errorf("mrun: Kwargs.Get needs a non-nil pointer, got %T", ptr)
	}
	c, a := k.kw.c, k.kw.args[i]
	dec := c.decoderFor(rv.Elem().Type())
	if dec == nil {
		return true, fmt.Errorf("mrun: Kwargs.Get cannot decode into %s", rv.Elem().Type())
	}
	in, off, src := c.in, c.off, c.src
	c.in, c.off, c.src = k.kw.raw[a.start:a.end], 0, inputCall
	err := dec(c, rv.Elem())
	c.in, c.off, c.src = in, off, src
	if err != nil {
		path, msg := splitPath(err)
		return true, fmt.Errorf("%s: keyword argument %q%s: %s", k.kw.fn, name, path, msg)
	}
	return true, nil
}

// Kwarg returns the keyword argument name decoded as a T, or def when it was not passed.
// T is usually inferred from def, so write 2.0, not 2, for a float:
//
//	exp, err := mrun.Kwarg(kw, "exp", 2.0)
func Kwarg[T any](kw Kwargs, name string, def T) (T, error) {
	v := def
	if _, err := kw.Get(name, &v); err != nil {
		return def, err
	}
	return v, nil
}
