package mrun

import (
	"bytes"
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/vmihailenco/msgpack/v5"
)

// Results are encoded by the codec itself, with integers in their shortest form and map
// entries sorted by the bytes of their encoded keys (the ABI's canonical order), so that a value
// always encodes to the same bytes. Structs and types with their own encoding methods are left
// to msgpack's Encoder, which sorts only maps of type map[string]any, map[string]string and
// map[string]bool, and by plain string order.

// An encodeFunc appends the encoding of v to the codec's output.
type encodeFunc func(c *codec, v reflect.Value) error

var (
	customEncoderType = reflect.TypeFor[msgpack.CustomEncoder]()
	marshalerType     = reflect.TypeFor[msgpack.Marshaler]()
)

// encoderFor returns the encoder for values of type t, or nil if t cannot be encoded
// (channels, functions, complex numbers, unsafe pointers). Encoders are cached per codec.
func (c *codec) encoderFor(t reflect.Type) encodeFunc {
	if e, ok := c.encoders[t]; ok {
		return e
	}
	// A recursive type (type Tree []Tree) finds this forwarder while its encoder is built.
	var e encodeFunc
	c.encoders[t] = func(c *codec, v reflect.Value) error { return e(c, v) }
	e = c.buildEncoder(t)
	if e == nil {
		delete(c.encoders, t)
		return nil
	}
	c.encoders[t] = e
	return e
}

func (c *codec) buildEncoder(t reflect.Type) encodeFunc {
	switch t {
	case objectType:
		return func(c *codec, v reflect.Value) error { return c.writeObject(valueOf[Object](v), extHandle) }
	case refType:
		return func(c *codec, v reflect.Value) error { return c.writeObject(valueOf[Ref](v).obj, extByRef) }
	case tensorType:
		return func(c *codec, v reflect.Value) error { return c.writeTensor(valueOf[Tensor](v)) }
	case tableType:
		return func(c *codec, v reflect.Value) error { return c.writeTable(valueOf[Table](v)) }
	}
	if t == rawType || t == timeType || t.Implements(customEncoderType) || t.Implements(marshalerType) {
		return encodeReflect
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(c *codec, v reflect.Value) error { c.writeBool(v.Bool()); return nil }
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(c *codec, v reflect.Value) error { c.writeInt(v.Int()); return nil }
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(c *codec, v reflect.Value) error { c.writeUint(v.Uint()); return nil }
	case reflect.Float32:
		return func(c *codec, v reflect.Value) error { c.writeFloat32(float32(v.Float())); return nil }
	case reflect.Float64:
		return func(c *codec, v reflect.Value) error { c.writeFloat64(v.Float()); return nil }
	case reflect.String:
		return func(c *codec, v reflect.Value) error { c.writeString(v.String()); return nil }
	case reflect.Interface:
		return func(c *codec, v reflect.Value) error { return c.encodeAny(v.Interface()) }
	case reflect.Pointer:
		elem := c.encoderFor(t.Elem())
		if elem == nil {
			return nil
		}
		return func(c *codec, v reflect.Value) error {
			if v.IsNil() {
				c.writeNil()
				return nil
			}
			return elem(c, v.Elem())
		}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 && !t.Elem().Implements(customEncoderType) && !t.Elem().Implements(marshalerType) {
			return func(c *codec, v reflect.Value) error {
				if v.IsNil() {
					c.writeNil()
				} else {
					c.writeBin(v.Bytes())
				}
				return nil
			}
		}
		elem := c.encoderFor(t.Elem())
		if elem == nil {
			return nil
		}
		return func(c *codec, v reflect.Value) error {
			if v.IsNil() {
				c.writeNil()
				return nil
			}
			n := v.Len()
			c.writeHeader(famArray, n)
			for i := range n {
				if err := elem(c, v.Index(i)); err != nil {
					return err
				}
			}
			return nil
		}
	case reflect.Map:
		key, val := c.encoderFor(t.Key()), c.encoderFor(t.Elem())
		if key == nil || val == nil {
			return nil
		}
		return mapEncoder(key, val)
	case reflect.Struct, reflect.Array:
		return encodeReflect
	}
	return nil // chan, func, complex, unsafe.Pointer
}

func encodeReflect(c *codec, v reflect.Value) error { return c.enc.EncodeValue(v) }

// valueOf returns the T that v holds, without boxing it when v is addressable.
func valueOf[T any](v reflect.Value) T {
	if v.CanAddr() {
		return *(*T)(v.Addr().UnsafePointer())
	}
	return v.Interface().(T)
}

// mapEncoder writes a map with its entries sorted by their encoded keys.
func mapEncoder(key, val encodeFunc) encodeFunc {
	return func(c *codec, v reflect.Value) error {
		if v.IsNil() {
			c.writeNil()
			return nil
		}
		type entry struct {
			key [2]int // in keys
			val reflect.Value
		}
		// Encode the keys after the output, to sort by them, then write the entries in order.
		start := len(c.out.b)
		entries := make([]entry, 0, v.Len())
		for it := v.MapRange(); it.Next(); {
			from := len(c.out.b)
			if err := key(c, it.Key()); err != nil {
				return err
			}
			entries = append(entries, entry{[2]int{from - start, len(c.out.b) - start}, it.Value()})
		}
		keys := bytes.Clone(c.out.b[start:])
		c.out.b = c.out.b[:start]
		slices.SortFunc(entries, func(a, b entry) int {
			return bytes.Compare(keys[a.key[0]:a.key[1]], keys[b.key[0]:b.key[1]])
		})
		c.writeHeader(famMap, len(entries))
		for _, e := range entries {
			c.out.b = append(c.out.b, keys[e.key[0]:e.key[1]]...)
			if err := val(c, e.val); err != nil {
				return err
			}
		}
		return nil
	}
}

// compareKeys orders strings as their encodings do: by length, then by bytes.
func compareKeys(a, b string) int {
	if n := cmp.Compare(len(a), len(b)); n != 0 {
		return n
	}
	return strings.Compare(a, b)
}

// encodeAny writes the types decodeAny produces itself, and the others through encoderFor.
func (c *codec) encodeAny(x any) error {
	switch x := x.(type) {
	case nil:
		c.writeNil()
	case bool:
		c.writeBool(x)
	case int64:
		c.writeInt(x)
	case int:
		c.writeInt(int64(x))
	case uint64:
		c.writeUint(x)
	case float64:
		c.writeFloat64(x)
	case string:
		c.writeString(x)
	case []byte:
		if x == nil {
			c.writeNil()
		} else {
			c.writeBin(x)
		}
	case []any:
		if x == nil {
			c.writeNil()
			return nil
		}
		c.writeHeader(famArray, len(x))
		for _, e := range x {
			if err := c.encodeAny(e); err != nil {
				return err
			}
		}
	case map[string]any:
		if x == nil {
			c.writeNil()
			return nil
		}
		c.writeHeader(famMap, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareKeys)
		for _, k := range keys {
			c.writeString(k)
			if err := c.encodeAny(x[k]); err != nil {
				return err
			}
		}
	case Raw:
		if len(x) == 0 {
			c.writeNil()
		} else {
			c.out.b = append(c.out.b, x...)
		}
	case Table:
		return c.writeTable(x)
	case Tensor:
		return c.writeTensor(x)
	case *Tensor:
		if x == nil {
			c.writeNil()
			return nil
		}
		return c.writeTensor(*x)
	case Object:
		return c.writeObject(x, extHandle)
	case Ref:
		return c.writeObject(x.obj, extByRef)
	case Tuple:
		if x == nil {
			c.writeNil()
			return nil
		}
		c.writeHeader(famArray, len(x))
		for _, o := range x {
			if err := c.writeObject(o, extHandle); err != nil {
				return err
			}
		}
	default:
		t := reflect.TypeOf(x)
		e := c.encoderFor(t)
		if e == nil {
			return fmt.Errorf("cannot encode %s", typeString(t))
		}
		return e(c, reflect.ValueOf(x))
	}
	return nil
}
