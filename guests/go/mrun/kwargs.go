package mrun

import (
	"fmt"
	"math"
	"reflect"
	"unsafe"
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

// kwargs is the keyword map of one call, copied out of the frame (the host reuses the argument
// buffer) and decoded only when the function asks for a value. A call with a few short keywords
// keeps them in the struct itself: one allocation per call, and none for the names, which are
// strings over the copy.
type kwargs struct {
	fn   string    // function name, for messages
	c    *codec    // decodes values on access (idle while the function runs)
	raw  []byte    // the keyword map's entries
	args []keyword // in frame order (mrun sorts them)

	inlineArgs [2]keyword
	inlineRaw  [40]byte
}

// keyword is one keyword argument: where its name and its value are in raw. The name's bytes
// end where the value starts.
type keyword struct {
	nameAt, start, end uint32
}

// name returns the name of keyword a, a string over raw (which is never written again).
func (kw *kwargs) name(a keyword) string {
	if a.nameAt == a.start {
		return ""
	}
	return unsafe.String(&kw.raw[a.nameAt], a.start-a.nameAt)
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
		names[i] = k.kw.name(a)
	}
	return names
}

// Has reports whether the keyword argument name was passed.
func (k Kwargs) Has(name string) bool { return k.index(name) >= 0 }

func (k Kwargs) index(name string) int {
	if k.kw == nil {
		return -1
	}
	for i, a := range k.kw.args {
		if string(k.kw.raw[a.nameAt:a.start]) == name {
			return i
		}
	}
	return -1
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
	if ok, err := k.getDirect(i, ptr); ok {
		return true, err
	}
	rv := reflect.ValueOf(ptr)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return true, fmt.Errorf("mrun: Kwargs.Get needs a non-nil pointer, got %T", ptr)
	}
	dec := k.kw.c.decoderFor(rv.Elem().Type())
	if dec == nil {
		return true, fmt.Errorf("mrun: Kwargs.Get cannot decode into %s", rv.Elem().Type())
	}
	return true, k.decode(i, func(c *codec) error { return dec(c, rv.Elem()) })
}

// getDirect decodes keyword i into *ptr without reflection when ptr is a non-nil pointer to one
// of the commonest types, and reports whether it was; it writes *ptr only on success. ptr does
// not escape, so Kwarg keeps its value on the stack.
func (k Kwargs) getDirect(i int, ptr any) (ok bool, err error) {
	switch p := ptr.(type) {
	case *string:
		if p == nil {
			return false, nil
		}
		var s string
		err = k.decode(i, func(c *codec) (err error) {
			b, err := c.strBytes(stringType)
			if len(b) > 0 {
				s = unsafe.String(&b[0], len(b)) // raw is never written again
			}
			return err
		})
		if err == nil {
			*p = s
		}
	case *int:
		if p == nil {
			return false, nil
		}
		var n int64
		err = k.decode(i, func(c *codec) (err error) {
			n, err = c.readInt(intType, math.MinInt, math.MaxInt)
			return err
		})
		if err == nil {
			*p = int(n)
		}
	case *int64:
		if p == nil {
			return false, nil
		}
		var n int64
		err = k.decode(i, func(c *codec) (err error) {
			n, err = c.readInt(int64Type, math.MinInt64, math.MaxInt64)
			return err
		})
		if err == nil {
			*p = n
		}
	case *float64:
		if p == nil {
			return false, nil
		}
		var f float64
		err = k.decode(i, func(c *codec) (err error) {
			f, err = c.readFloat(float64Type)
			return err
		})
		if err == nil {
			*p = f
		}
	case *bool:
		if p == nil {
			return false, nil
		}
		var b bool
		err = k.decode(i, func(c *codec) (err error) {
			b, err = c.readBool(boolType)
			return err
		})
		if err == nil {
			*p = b
		}
	default:
		return false, nil
	}
	return true, err
}

// decode runs read on the value of keyword i, with the codec's input switched to it, and names
// the function and the keyword in its error.
func (k Kwargs) decode(i int, read func(c *codec) error) error {
	c, a := k.kw.c, k.kw.args[i]
	in, off, src := c.in, c.off, c.src
	c.in, c.off, c.src = k.kw.raw[a.start:a.end], 0, inputCall
	err := read(c)
	c.in, c.off, c.src = in, off, src
	if err != nil {
		path, msg := splitPath(err)
		return fmt.Errorf("%s: keyword argument %q%s: %s", k.kw.fn, k.kw.name(a), path, msg)
	}
	return nil
}

// Kwarg returns the keyword argument name decoded as a T, or def when it was not passed.
// T is usually inferred from def, so write 2.0, not 2, for a float:
//
//	exp, err := mrun.Kwarg(kw, "exp", 2.0)
func Kwarg[T any](kw Kwargs, name string, def T) (T, error) {
	i := kw.index(name)
	if i < 0 {
		return def, nil
	}
	v := def
	if ok, err := kw.getDirect(i, &v); ok {
		if err != nil {
			return def, err
		}
		return v, nil
	}
	p := new(T)
	*p = def
	if _, err := kw.Get(name, p); err != nil {
		return def, err
	}
	return *p, nil
}
