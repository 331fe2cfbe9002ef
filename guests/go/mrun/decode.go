package mrun

import (
	"encoding"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// decodeError is a decoding failure at a path inside one argument, such as "[2]" or `["k"][0]`.
type decodeError struct {
	path string
	msg  string
}

func (e *decodeError) Error() string { return e.path + ": " + e.msg }

// inside prefixes seg to the path of a decoding error.
func inside(err error, seg string) error {
	var de *decodeError
	if errors.As(err, &de) {
		de.path = seg + de.path
		return de
	}
	return &decodeError{path: seg, msg: wireMessage(err)}
}

// wireMessage turns a low-level decoding error into a short message.
func wireMessage(err error) string {
	var de *decodeError
	switch {
	case errors.As(err, &de):
		return de.msg
	case errors.Is(err, errTruncated), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errTruncated.Error()
	}
	return strings.TrimPrefix(err.Error(), "msgpack: ")
}

// splitPath returns the path and message of err, for "argument 1[2]: message" reports.
func splitPath(err error) (path, msg string) {
	var de *decodeError
	if errors.As(err, &de) {
		return de.path, de.msg
	}
	return "", wireMessage(err)
}

func mismatch(b byte, t reflect.Type) error {
	return &decodeError{msg: fmt.Sprintf("cannot decode %s into %s", families[b], typeString(t))}
}

// typeString is t as Go source would write it today: []any, not []interface {}.
func typeString(t reflect.Type) string {
	return strings.ReplaceAll(t.String(), "interface {}", "any")
}

// A decodeFunc decodes the next value of the codec's input into v, which is settable.
// It replaces v entirely, so v may hold a previous call's value.
type decodeFunc func(c *codec, v reflect.Value) error

var (
	rawType    = reflect.TypeFor[Raw]()
	kwargsType = reflect.TypeFor[Kwargs]()
	errorType  = reflect.TypeFor[error]()
	timeType   = reflect.TypeFor[time.Time]()
	stringType = reflect.TypeFor[string]()
	int64Type  = reflect.TypeFor[int64]()

	customDecoderType     = reflect.TypeFor[msgpack.CustomDecoder]()
	unmarshalerType       = reflect.TypeFor[msgpack.Unmarshaler]()
	binaryUnmarshalerType = reflect.TypeFor[encoding.BinaryUnmarshaler]()
	textUnmarshalerType   = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// customDecoding reports whether msgpack gives t (or *t) a decoding of its own, which the SDK
// must leave to msgpack.
func customDecoding(t reflect.Type) bool {
	for _, it := range []reflect.Type{customDecoderType, unmarshalerType, binaryUnmarshalerType, textUnmarshalerType} {
		if t.Implements(it) || reflect.PointerTo(t).Implements(it) {
			return true
		}
	}
	return false
}

// decoderFor returns the decoder for values of type t, or nil if t cannot hold a decoded value
// (channels, functions, non-empty interfaces, ...). Decoders are cached per codec.
func (c *codec) decoderFor(t reflect.Type) decodeFunc {
	if f, ok := c.decoders[t]; ok {
		return f
	}
	// A recursive type (type Tree []Tree) finds this forwarder while its decoder is built.
	var f decodeFunc
	c.decoders[t] = func(c *codec, v reflect.Value) error { return f(c, v) }
	f = c.buildDecoder(t)
	if f == nil {
		delete(c.decoders, t)
		return nil
	}
	c.decoders[t] = f
	return f
}

func (c *codec) buildDecoder(t reflect.Type) decodeFunc {
	switch t {
	case rawType:
		return decodeRaw
	case objectType:
		return decodeObject
	case tensorType:
		return slotDecoder(slotTypes[t])
	case tableType:
		return decodeTable
	}
	if t == timeType || customDecoding(t) {
		return msgpackDecoder(t)
	}
	switch t.Kind() {
	case reflect.Bool:
		return decodeBool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return intDecoder(t)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return uintDecoder(t)
	case reflect.Float32, reflect.Float64:
		return decodeFloat
	case reflect.String:
		return decodeString
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return nil
		}
		return decodeInterface
	case reflect.Slice:
		if t == anySliceType || t == float64sType {
			return slotDecoder(slotTypes[t])
		}
		if t.Elem().Kind() == reflect.Uint8 && !customDecoding(t.Elem()) {
			return decodeBytes
		}
		elem := c.decoderFor(t.Elem())
		if elem == nil {
			return nil
		}
		return sliceDecoder(t, elem)
	case reflect.Map:
		if t == anyMapType {
			return slotDecoder(slotTypes[t])
		}
		if t.Key().Kind() != reflect.String || customDecoding(t.Key()) {
			return msgpackDecoder(t)
		}
		elem := c.decoderFor(t.Elem())
		if elem == nil {
			return nil
		}
		return mapDecoder(t, elem)
	case reflect.Pointer:
		elem := c.decoderFor(t.Elem())
		if elem == nil {
			return nil
		}
		return pointerDecoder(t, elem)
	case reflect.Struct, reflect.Array:
		return msgpackDecoder(t)
	}
	return nil // chan, func, complex, unsafe.Pointer
}

func intDecoder(t reflect.Type) decodeFunc {
	bits := t.Bits()
	lo, hi := int64(-1)<<(bits-1), int64(uint64(1)<<(bits-1)-1)
	return func(c *codec, v reflect.Value) error {
		n, err := c.readInt(t, lo, hi)
		if err != nil {
			return err
		}
		v.SetInt(n)
		return nil
	}
}

func uintDecoder(t reflect.Type) decodeFunc {
	hi := uint64(math.MaxUint64) >> (64 - t.Bits())
	return func(c *codec, v reflect.Value) error {
		u, err := c.readUint(t, hi)
		if err != nil {
			return err
		}
		v.SetUint(u)
		return nil
	}
}

func decodeFloat(c *codec, v reflect.Value) error {
	f, err := c.readFloat(v.Type())
	if err != nil {
		return err
	}
	v.SetFloat(f)
	return nil
}

func decodeBool(c *codec, v reflect.Value) error {
	b, err := c.readBool(v.Type())
	if err != nil {
		return err
	}
	v.SetBool(b)
	return nil
}

func decodeString(c *codec, v reflect.Value) error {
	s, err := c.readString(v.Type())
	if err != nil {
		return err
	}
	v.SetString(s)
	return nil
}

// nilNext consumes a nil if one comes next.
func (c *codec) nilNext() bool {
	if c.off < len(c.in) && c.in[c.off] == 0xc0 {
		c.off++
		return true
	}
	return false
}

func decodeBytes(c *codec, v reflect.Value) error {
	if c.nilNext() {
		v.SetZero()
		return nil
	}
	p, err := c.readBytes(v.Type())
	if err != nil {
		return err
	}
	v.SetBytes(p)
	return nil
}

// decodeRaw copies the next value's encoding, whatever it is.
func decodeRaw(c *codec, v reflect.Value) error {
	start := c.off
	if err := c.skip(); err != nil {
		return err
	}
	v.SetBytes(append([]byte{}, c.in[start:c.off]...))
	return nil
}

func decodeInterface(c *codec, v reflect.Value) error {
	x, err := c.decodeAny()
	if err != nil {
		return err
	}
	if x == nil {
		v.SetZero()
	} else {
		v.Set(reflect.ValueOf(x))
	}
	return nil
}

// containerNext checks that an array or map (of family f) comes next; it reports ok=false after
// consuming a nil.
func (c *codec) containerNext(f family, t reflect.Type) (ok bool, err error) {
	b, err := c.peek()
	if err != nil {
		return false, err
	}
	switch families[b] {
	case famNil:
		c.off++
		return false, nil
	case f:
		return true, nil
	}
	return false, mismatch(b, t)
}

func sliceDecoder(t reflect.Type, elem decodeFunc) decodeFunc {
	return func(c *codec, v reflect.Value) error {
		ok, err := c.containerNext(famArray, t)
		if err != nil || !ok {
			v.SetZero()
			return err
		}
		n, err := c.containerLen()
		if err != nil {
			return err
		}
		s := reflect.MakeSlice(t, n, n)
		for i := range n {
			if err := elem(c, s.Index(i)); err != nil {
				return inside(err, fmt.Sprintf("[%d]", i))
			}
		}
		v.Set(s)
		return nil
	}
}

func mapDecoder(t reflect.Type, elem decodeFunc) decodeFunc {
	return func(c *codec, v reflect.Value) error {
		ok, err := c.containerNext(famMap, t)
		if err != nil || !ok {
			v.SetZero()
			return err
		}
		n, err := c.containerLen()
		if err != nil {
			return err
		}
		m := reflect.MakeMapWithSize(t, n)
		key := reflect.New(t.Key()).Elem()
		val := reflect.New(t.Elem()).Elem()
		for range n {
			if err := decodeString(c, key); err != nil {
				return inside(err, " (map key)")
			}
			if err := elem(c, val); err != nil {
				return inside(err, fmt.Sprintf("[%q]", key.String()))
			}
			m.SetMapIndex(key, val)
		}
		v.Set(m)
		return nil
	}
}

func pointerDecoder(t reflect.Type, elem decodeFunc) decodeFunc {
	return func(c *codec, v reflect.Value) error {
		if c.nilNext() {
			v.SetZero()
			return nil
		}
		p := reflect.New(t.Elem())
		if err := elem(c, p.Elem()); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
}

// msgpackDecoder leaves the value to msgpack's reflection (structs, arrays, maps with
// non-string keys, time.Time, types with their own msgpack or encoding methods). nil is refused
// for types that cannot be nil, rather than turned into a zero value (and msgpack v5.4.1 panics
// on nil for a struct with a decoder of its own, such as time.Time).
func msgpackDecoder(t reflect.Type) decodeFunc {
	var nilOK bool
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		nilOK = true
	}
	return func(c *codec, v reflect.Value) error {
		b, err := c.peek()
		if err != nil {
			return err
		}
		if !nilOK && families[b] == famNil {
			return mismatch(b, t)
		}
		v.SetZero()
		err = c.viaMsgpack(func(d *msgpack.Decoder) error { return d.DecodeValue(v) })
		if err != nil {
			return &decodeError{msg: fmt.Sprintf("cannot decode into %s: %s", typeString(t), wireMessage(err))}
		}
		return nil
	}
}

// decodeAny decodes the next value into the types documented for an any parameter: nil, bool,
// int64 (uint64 only above math.MaxInt64), float64, string, []byte, []any, map[string]any
// (map[any]any when a key is not a string), time.Time, and Object for a handle (an Object
// passed by reference).
func (c *codec) decodeAny() (any, error) {
	b, err := c.peek()
	if err != nil {
		return nil, err
	}
	switch families[b] {
	case famNil:
		c.off++
		return nil, nil
	case famBool:
		c.off++
		return b == 0xc3, nil
	case famInt:
		i, u, signed, err := c.integer()
		switch {
		case err != nil:
			return nil, err
		case signed:
			return i, nil
		case u <= math.MaxInt64:
			return int64(u), nil
		}
		return u, nil
	case famFloat:
		return c.readFloat(nil)
	case famStr:
		return c.readString(nil)
	case famBin:
		return c.readBytes(nil)
	case famArray:
		return c.decodeAnyArray()
	case famMap:
		return c.decodeAnyMap()
	case famExt:
		start := c.off
		id, _, err := c.extHeader()
		c.off = start
		if err != nil {
			return nil, err
		}
		switch id {
		case extHandle:
			return c.readObject()
		case extTensor:
			return c.readTensor()
		case extTable:
			return c.readTable()
		}
		if id != -1 {
			return nil, &decodeError{msg: fmt.Sprintf("cannot decode ext type %d into a Go value (declare the parameter as mrun.Raw to pass it through)", id)}
		}
		var t time.Time
		err = c.viaMsgpack(func(d *msgpack.Decoder) (err error) { t, err = d.DecodeTime(); return err })
		return t, err
	}
	return nil, &decodeError{msg: "reserved byte 0xc1"}
}

// decodeAnyArray decodes an array (the caller has checked the family) to []any.
func (c *codec) decodeAnyArray() ([]any, error) {
	n, err := c.containerLen()
	if err != nil {
		return nil, err
	}
	s := make([]any, n)
	for i := range s {
		if s[i], err = c.decodeAny(); err != nil {
			return nil, inside(err, fmt.Sprintf("[%d]", i))
		}
	}
	return s, nil
}

// decodeAnyMap decodes a map to map[string]any, or to map[any]any when a key is not a string.
func (c *codec) decodeAnyMap() (any, error) {
	n, err := c.containerLen()
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, n)
	for i := range n {
		if b, err := c.peek(); err != nil {
			return nil, err
		} else if families[b] != famStr {
			return c.decodeAnyMapTail(m, n-i)
		}
		k, err := c.readString(nil)
		if err != nil {
			return nil, err
		}
		if m[k], err = c.decodeAny(); err != nil {
			return nil, inside(err, fmt.Sprintf("[%q]", k))
		}
	}
	return m, nil
}

// decodeAnyMapTail finishes a map whose keys turned out not to be all strings.
func (c *codec) decodeAnyMapTail(head map[string]any, left int) (map[any]any, error) {
	m := make(map[any]any, len(head)+left)
	for k, v := range head {
		m[k] = v
	}
	for range left {
		k, err := c.decodeAny()
		if err != nil {
			return nil, inside(err, " (map key)")
		}
		if k != nil && !reflect.TypeOf(k).Comparable() {
			return nil, &decodeError{path: " (map key)", msg: fmt.Sprintf("%s cannot be a map key", typeString(reflect.TypeOf(k)))}
		}
		if m[k], err = c.decodeAny(); err != nil {
			return nil, inside(err, fmt.Sprintf("[%v]", k))
		}
	}
	return m, nil
}
