package mrun

import (
	"fmt"
	"math"
	"reflect"
	"unsafe"
)

// Calling a function through reflect.Value.Call costs about 3 µs in a Go wasm guest, twenty
// times a whole host→guest round trip, and msgpack's Decoder costs about 1 µs for a frame like
// inc(41). Functions of the commonest shapes are therefore called directly:
//
//	func(A) R, func(A) (R, error), func(A), func(A) error,
//	func() R,  func() (R, error),  func(),  func() error
//
// for A and R among int, float64, string, bool, any and []any, and, for keyword arguments,
//
//	func(A, Kwargs) (A, error)
//
// For each such func type a generic invoker asserts fn to its exact type and calls it; the
// argument and the result travel through per-plan slots that non-generic slot codecs read and
// write, and the keyword arguments are decoded only when the function reads them. Every other
// function takes the reflective path, which behaves the same, only slower: reflect.Value.Call
// alone costs about 5 µs in wasm, and allocates its frame and results.
//
// Each invoker adds about 3 KB to a wasm module (104 of them, ~310 KB), which is why the set of
// types is small; adding a type T to it means a slotTypes entry and an add...[T] line in each
// list below.

// A slotCodec reads a value into a slot of its Go type and writes a slot's value out. Writing
// takes the value: it zeroes the slot, so a plan's slots hold no references between calls.
type slotCodec struct {
	read  func(c *codec, p unsafe.Pointer) error
	write func(c *codec, p unsafe.Pointer) error
}

// An invoker calls fn with the argument in slot a (if any), and kw if fn's last parameter is
// Kwargs, and stores the result in slot r (if any); it returns fn's error result, if it has one.
type invoker func(fn any, a, r unsafe.Pointer, kw Kwargs) error

// fastCall is the direct call path of one func type.
type fastCall struct {
	arg, res *slotCodec // nil without parameter or result
	invoke   invoker
	argType  reflect.Type
	resType  reflect.Type
}

var (
	intType      = reflect.TypeFor[int]()
	float64Type  = reflect.TypeFor[float64]()
	boolType     = reflect.TypeFor[bool]()
	anyType      = reflect.TypeFor[any]()
	anySliceType = reflect.TypeFor[[]any]()
	anyMapType   = reflect.TypeFor[map[string]any]()
	float64sType = reflect.TypeFor[[]float64]()
)

// slotTypes are the parameter and result types of the direct call path, plus map[string]any and
// []float64 and Tensor, whose slot codecs serve the reflective path (see slotDecoder). Tensor
// has no invokers: a function of tensors does work in proportion to their elements, next to
// which the reflective call's few microseconds are small, and each invoker's code and data
// also make every instance's memory larger.
var slotTypes = map[reflect.Type]*slotCodec{
	intType: {
		read: func(c *codec, p unsafe.Pointer) error {
			// A small non-negative integer is the commonest argument of all.
			if c.off < len(c.in) && c.in[c.off] <= 0x7f {
				*(*int)(p) = int(c.in[c.off])
				c.off++
				return nil
			}
			n, err := c.readInt(intType, math.MinInt, math.MaxInt)
			*(*int)(p) = int(n)
			return err
		},
		write: func(c *codec, p unsafe.Pointer) error { c.writeInt(int64(*(*int)(p))); return nil },
	},
	float64Type: {
		read: func(c *codec, p unsafe.Pointer) (err error) {
			*(*float64)(p), err = c.readFloat(float64Type)
			return err
		},
		write: func(c *codec, p unsafe.Pointer) error { c.writeFloat64(*(*float64)(p)); return nil },
	},
	boolType: {
		read: func(c *codec, p unsafe.Pointer) (err error) {
			*(*bool)(p), err = c.readBool(boolType)
			return err
		},
		write: func(c *codec, p unsafe.Pointer) error { c.writeBool(*(*bool)(p)); return nil },
	},
	stringType: {
		read: func(c *codec, p unsafe.Pointer) (err error) {
			*(*string)(p), err = c.readString(stringType)
			return err
		},
		write: func(c *codec, p unsafe.Pointer) error {
			c.writeString(*(*string)(p))
			*(*string)(p) = ""
			return nil
		},
	},
	anyType: {
		read: func(c *codec, p unsafe.Pointer) (err error) {
			*(*any)(p), err = c.decodeAny()
			return err
		},
		write: func(c *codec, p unsafe.Pointer) error {
			x := *(*any)(p)
			*(*any)(p) = nil
			return c.encodeAny(x)
		},
	},
	anySliceType: {
		read: func(c *codec, p unsafe.Pointer) (err error) {
			*(*[]any)(p), err = c.readAnySlice()
			return err
		},
		write: func(c *codec, p unsafe.Pointer) error {
			x := *(*[]any)(p)
			*(*[]any)(p) = nil
			return c.encodeAny(x)
		},
	},
	anyMapType: {
		read: func(c *codec, p unsafe.Pointer) (err error) {
			*(*map[string]any)(p), err = c.readAnyMap()
			return err
		},
		write: func(c *codec, p unsafe.Pointer) error {
			x := *(*map[string]any)(p)
			*(*map[string]any)(p) = nil
			return c.encodeAny(x)
		},
	},
	tensorType: {
		read: func(c *codec, p unsafe.Pointer) (err error) {
			*(*Tensor)(p), err = c.readTensor()
			return err
		},
		write: func(c *codec, p unsafe.Pointer) error {
			x := *(*Tensor)(p)
			*(*Tensor)(p) = Tensor{}
			return c.writeTensor(x)
		},
	},
	float64sType: {
		read: func(c *codec, p unsafe.Pointer) (err error) {
			*(*[]float64)(p), err = c.readFloat64s()
			return err
		},
		write: func(c *codec, p unsafe.Pointer) error {
			x := *(*[]float64)(p)
			*(*[]float64)(p) = nil
			c.writeFloat64s(x)
			return nil
		},
	},
}

// fastCalls maps each func type with a direct call path to it.
var fastCalls = func() map[reflect.Type]fastCall {
	m := make(map[reflect.Type]fastCall)
	addNoParam(m)
	addParam[int](m)
	addParam[float64](m)
	addParam[bool](m)
	addParam[string](m)
	addParam[any](m)
	addParam[[]any](m)
	addParamKwargs[int](m)
	addParamKwargs[float64](m)
	addParamKwargs[bool](m)
	addParamKwargs[string](m)
	addParamKwargs[any](m)
	addParamKwargs[[]any](m)
	return m
}()

// Each generic function below holds only the invokers it adds: a generic body is compiled once
// per type combination, so a shared switch over shapes would multiply the code.

// addNoParam adds the func types without parameter.
func addNoParam(m map[reflect.Type]fastCall) {
	m[reflect.TypeFor[func()]()] = fastCall{invoke: func(fn any, _, _ unsafe.Pointer, _ Kwargs) error {
		fn.(func())()
		return nil
	}}
	m[reflect.TypeFor[func() error]()] = fastCall{invoke: func(fn any, _, _ unsafe.Pointer, _ Kwargs) error {
		return fn.(func() error)()
	}}
	addResult[int](m)
	addResult[float64](m)
	addResult[bool](m)
	addResult[string](m)
	addResult[any](m)
	addResult[[]any](m)
}

// addResult adds func() R and func() (R, error).
func addResult[R any](m map[reflect.Type]fastCall) {
	rt := reflect.TypeFor[R]()
	m[reflect.TypeFor[func() R]()] = fastCall{res: slotTypes[rt], resType: rt,
		invoke: func(fn any, _, r unsafe.Pointer, _ Kwargs) error {
			*(*R)(r) = fn.(func() R)()
			return nil
		}}
	m[reflect.TypeFor[func() (R, error)]()] = fastCall{res: slotTypes[rt], resType: rt,
		invoke: func(fn any, _, r unsafe.Pointer, _ Kwargs) (err error) {
			*(*R)(r), err = fn.(func() (R, error))()
			return err
		}}
}

// addParam adds the func types with one parameter of type A.
func addParam[A any](m map[reflect.Type]fastCall) {
	at := reflect.TypeFor[A]()
	m[reflect.TypeFor[func(A)]()] = fastCall{arg: slotTypes[at], argType: at,
		invoke: func(fn any, a, _ unsafe.Pointer, _ Kwargs) error {
			fn.(func(A))(take[A](a))
			return nil
		}}
	m[reflect.TypeFor[func(A) error]()] = fastCall{arg: slotTypes[at], argType: at,
		invoke: func(fn any, a, _ unsafe.Pointer, _ Kwargs) error {
			return fn.(func(A) error)(take[A](a))
		}}
	addParamResult[A, int](m)
	addParamResult[A, float64](m)
	addParamResult[A, bool](m)
	addParamResult[A, string](m)
	addParamResult[A, any](m)
	addParamResult[A, []any](m)
}

// addParamResult adds func(A) R and func(A) (R, error).
func addParamResult[A, R any](m map[reflect.Type]fastCall) {
	at, rt := reflect.TypeFor[A](), reflect.TypeFor[R]()
	m[reflect.TypeFor[func(A) R]()] = fastCall{arg: slotTypes[at], res: slotTypes[rt], argType: at, resType: rt,
		invoke: func(fn any, a, r unsafe.Pointer, _ Kwargs) error {
			*(*R)(r) = fn.(func(A) R)(take[A](a))
			return nil
		}}
	m[reflect.TypeFor[func(A) (R, error)]()] = fastCall{arg: slotTypes[at], res: slotTypes[rt], argType: at, resType: rt,
		invoke: func(fn any, a, r unsafe.Pointer, _ Kwargs) (err error) {
			*(*R)(r), err = fn.(func(A) (R, error))(take[A](a))
			return err
		}}
}

// Functions that take keyword arguments return an error (Kwarg does), and most transform a
// value under some options, like greet or pow; so the direct path takes a final Kwargs
// parameter in one shape per type, func(A, Kwargs) (A, error). Shapes cost module size and,
// past a point, memory in every instance: the seed module's instances need no more pages with
// these six, but needed 12 more (768 KB) with all 49 shapes of A, R and error.

// addParamKwargs adds func(A, Kwargs) (A, error).
func addParamKwargs[A any](m map[reflect.Type]fastCall) {
	at := reflect.TypeFor[A]()
	m[reflect.TypeFor[func(A, Kwargs) (A, error)]()] = fastCall{arg: slotTypes[at], res: slotTypes[at], argType: at, resType: at,
		invoke: func(fn any, a, r unsafe.Pointer, kw Kwargs) (err error) {
			*(*A)(r), err = fn.(func(A, Kwargs) (A, error))(take[A](a), kw)
			return err
		}}
}

// take returns the value in slot p and zeroes the slot.
func take[T any](p unsafe.Pointer) T {
	x := *(*T)(p)
	var zero T
	*(*T)(p) = zero
	return x
}

// callFast runs a function of a fast shape: read the argument into its slot, call, write the
// result from its slot.
func (c *codec) callFast(p *plan, fn any) error {
	f := &p.fast
	if f.arg != nil {
		if err := f.arg.read(c, p.argSlot); err != nil {
			// Drop what the failed read may have stored, such as a string.
			reflect.NewAt(f.argType, p.argSlot).Elem().SetZero()
			return p.argError(0, err)
		}
	}
	if err := p.endArgs(c); err != nil {
		if f.arg != nil {
			reflect.NewAt(f.argType, p.argSlot).Elem().SetZero()
		}
		if p.kwargs {
			*(*Kwargs)(p.kwSlot) = Kwargs{}
		}
		return err
	}
	var kw Kwargs
	if p.kwargs {
		kw = take[Kwargs](p.kwSlot)
	}
	if err := f.invoke(fn, p.argSlot, p.resSlot, kw); err != nil {
		if f.res != nil {
			reflect.NewAt(f.resType, p.resSlot).Elem().SetZero()
		}
		return err
	}
	if f.res == nil {
		c.writeNil()
		return nil
	}
	return p.result(f.res.write(c, p.resSlot))
}

// readAnySlice reads an array into []any, or nil.
func (c *codec) readAnySlice() ([]any, error) {
	ok, err := c.containerNext(famArray, anySliceType)
	if err != nil || !ok {
		return nil, err
	}
	return c.decodeAnyArray()
}

// readAnyMap reads a map with string keys into map[string]any, or nil.
func (c *codec) readAnyMap() (map[string]any, error) {
	ok, err := c.containerNext(famMap, anyMapType)
	if err != nil || !ok {
		return nil, err
	}
	x, err := c.decodeAnyMap()
	if err != nil {
		return nil, err
	}
	m, ok := x.(map[string]any)
	if !ok {
		return nil, &decodeError{msg: fmt.Sprintf("cannot decode a map with non-string keys into %s", typeString(anyMapType))}
	}
	return m, nil
}

// readFloat64s reads an array of numbers into []float64, or nil.
func (c *codec) readFloat64s() ([]float64, error) {
	ok, err := c.containerNext(famArray, float64sType)
	if err != nil || !ok {
		return nil, err
	}
	n, err := c.containerLen()
	if err != nil {
		return nil, err
	}
	s := make([]float64, n)
	for i := range s {
		if s[i], err = c.readFloat(float64Type); err != nil {
			return nil, inside(err, fmt.Sprintf("[%d]", i))
		}
	}
	return s, nil
}

func (c *codec) writeFloat64s(s []float64) {
	if s == nil {
		c.writeNil()
		return
	}
	c.writeHeader(famArray, len(s))
	for _, f := range s {
		c.writeFloat64(f)
	}
}

// slotDecoder adapts a slot codec to the reflective path, so a []any or []float64 nested in
// another parameter type (a [][]any, a *[]float64) avoids per-element reflection too.
func slotDecoder(s *slotCodec) decodeFunc {
	return func(c *codec, v reflect.Value) error {
		return s.read(c, v.Addr().UnsafePointer()) // every value the codec decodes into is addressable
	}
}
