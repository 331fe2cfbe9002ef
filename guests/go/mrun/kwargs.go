package mrun

import (
	"encoding/binary"
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
// keeps them in the struct itself, which comes from a slab (codec.newKwargs): no allocation for
// most calls, none for the names, which are strings over the copy, and few pointer writes
// (each costs a write barrier while the garbage collector runs).
type kwargs struct {
	p *plan  // the function's, for messages
	c *codec // decodes values on access (idle while the function runs)

	n, size    uint32    // the number of keywords, and of bytes of the map's entries
	argsExt    []keyword // the keywords, when more than fit in inlineArgs
	rawExt     []byte    // the entries, when more than fit in inlineRaw
	inlineArgs [2]keyword
	inlineRaw  [32]byte
}

// args returns the keywords, in frame order (mrun sorts them).
func (kw *kwargs) args() []keyword {
	if kw.argsExt != nil {
		return kw.argsExt
	}
	return kw.inlineArgs[:kw.n]
}

// raw returns the keyword map's entries.
func (kw *kwargs) raw() []byte {
	if kw.rawExt != nil {
		return kw.rawExt
	}
	return kw.inlineRaw[:kw.size]
}

// kwargsSlab is how many kwargs newKwargs allocates at once: 4 KB of them.
const kwargsSlab = 4096 / unsafe.Sizeof(kwargs{})

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
	return unsafe.String(&kw.raw()[a.nameAt], a.start-a.nameAt)
}

// Len returns the number of keyword arguments.
func (k Kwargs) Len() int {
	if k.kw == nil {
		return 0
	}
	return int(k.kw.n)
}

// Names returns the keywords, in the order of the frame (ascending byte order from mrun).
// Use it to reject keywords the function does not know.
func (k Kwargs) Names() []string {
	if k.kw == nil {
		return nil
	}
	names := make([]string, k.kw.n)
	for i, a := range k.kw.args() {
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
	raw := k.kw.raw()
	for i, a := range k.kw.args() {
		if string(raw[a.nameAt:a.start]) == name {
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
// not escape, so Kwarg keeps its value on the stack. The formats callers send most (fixstr,
// fixint, float64, bool) are read in place; the others through the codec.
func (k Kwargs) getDirect(i int, ptr any) (ok bool, err error) {
	a := k.kw.args()[i]
	v := k.kw.raw()[a.start:a.end] // a whole value: decodeKwargs skipped over it
	b := v[0]
	fixint := b <= 0x7f || b >= 0xe0
	switch p := ptr.(type) {
	case *string:
		if p == nil {
			return false, nil
		}
		if b >= 0xa0 && b <= 0xbf {
			*p = ""
			if len(v) > 1 {
				*p = unsafe.String(&v[1], len(v)-1) // raw is never written again
			}
			return true, nil
		}
		var s string
		err = k.decode(i, func(c *codec) (err error) {
			p, err := c.strBytes(stringType)
			if len(p) > 0 {
				s = unsafe.String(&p[0], len(p))
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
		err = getInt(k, i, p, intType, math.MinInt, math.MaxInt)
	case *int64:
		if p == nil {
			return false, nil
		}
		err = getInt(k, i, p, int64Type, math.MinInt64, math.MaxInt64)
	case *float64:
		if p == nil {
			return false, nil
		}
		switch {
		case b == 0xcb:
			*p = math.Float64frombits(binary.BigEndian.Uint64(v[1:]))
			return true, nil
		case fixint:
			*p = float64(int8(b))
			return true, nil
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
		if b == 0xc2 || b == 0xc3 {
			*p = b == 0xc3
			return true, nil
		}
		err = k.decode(i, func(c *codec) error {
			_, err := c.readBool(boolType)
			return err // not a bool: a mismatch
		})
	default:
		return false, nil
	}
	return true, err
}

// getInt decodes keyword i into *p as an integer of type t within [lo, hi], reading a fixint
// in place; it writes *p only on success.
func getInt[T int | int64](k Kwargs, i int, p *T, t reflect.Type, lo, hi int64) error {
	a := k.kw.args()[i]
	if b := k.kw.raw()[a.start]; b <= 0x7f || b >= 0xe0 {
		*p = T(int8(b))
		return nil
	}
	var n int64
	err := k.decode(i, func(c *codec) (err error) {
		n, err = c.readInt(t, lo, hi)
		return err
	})
	if err == nil {
		*p = T(n)
	}
	return err
}

// decode runs read on the value of keyword i, with the codec's input switched to it, and names
// the function and the keyword in its error.
func (k Kwargs) decode(i int, read func(c *codec) error) error {
	c, a := k.kw.c, k.kw.args()[i]
	in, off, src := c.in, c.off, c.src
	c.in, c.off, c.src = k.kw.raw()[a.start:a.end], 0, inputCall
	err := read(c)
	c.in, c.off, c.src = in, off, src
	if err != nil {
		path, msg := splitPath(err)
		return fmt.Errorf("%s: keyword argument %q%s: %s", k.kw.p.name, k.kw.name(a), path, msg)
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
