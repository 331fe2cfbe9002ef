package abi

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/vmihailenco/msgpack/v5"
)

// Ref is an Object reference as it travels inside arguments: MessagePack extension type ExtRef
// whose payload is the Object's key. Host types that stand for Objects embed a Ref so that
// encoding them as arguments writes a reference.
type Ref struct {
	key Key
}

// NewRef returns a reference to the Object with key k.
func NewRef(k Key) Ref { return Ref{key: k} }

// Key returns the key of the referenced Object.
func (r Ref) Key() Key { return r.key }

// EncodeMsgpack writes r as a fixext16 of type ExtRef.
func (r Ref) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeExtHeader(ExtRef, KeySize); err != nil {
		return err
	}
	_, err := enc.Writer().Write(r.key[:])
	return err
}

// ByRef is an Object passed by reference (ext type ExtByRef with the Object's key): the
// callee receives a handle it can fetch or pass on, not the value.
type ByRef struct {
	key Key
}

// NewByRef returns a by-reference argument for the Object with key k.
func NewByRef(k Key) ByRef { return ByRef{key: k} }

// Key returns the key of the referenced Object.
func (r ByRef) Key() Key { return r.key }

// EncodeMsgpack writes r as a fixext16 of type ExtByRef.
func (r ByRef) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeExtHeader(ExtByRef, KeySize); err != nil {
		return err
	}
	_, err := enc.Writer().Write(r.key[:])
	return err
}

var encPool = sync.Pool{New: func() any {
	buf := new(bytes.Buffer)
	enc := msgpack.NewEncoder(buf)
	enc.UseCompactInts(true) // Canonical fixes map order and integer widths anyway
	return &encoder{buf: buf, enc: enc}
}}

type encoder struct {
	buf *bytes.Buffer
	enc *msgpack.Encoder
}

// EncodeFrame encodes an argument frame [positional, keyword] (ABI.md section 3) in canonical
// form. A nil keyword map is written as an empty map.
func EncodeFrame(args []any, kwargs map[string]any) ([]byte, error) {
	e := encPool.Get().(*encoder)
	defer encPool.Put(e)
	e.buf.Reset()
	if err := e.enc.EncodeArrayLen(2); err != nil {
		return nil, err
	}
	if err := e.enc.EncodeArrayLen(len(args)); err != nil {
		return nil, err
	}
	for i, a := range args {
		if err := e.enc.Encode(a); err != nil {
			return nil, fmt.Errorf("argument %d: %w", i, err)
		}
	}
	if err := e.enc.EncodeMapLen(len(kwargs)); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(kwargs) {
		if err := e.enc.EncodeString(k); err != nil {
			return nil, err
		}
		if err := e.enc.Encode(kwargs[k]); err != nil {
			return nil, fmt.Errorf("keyword argument %q: %w", k, err)
		}
	}
	return Canonical(e.buf.Bytes())
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Canonical orders map entries by their encoded bytes; sorting here only makes the first
	// keyword argument that fails to encode the same from run to run.
	slices.Sort(keys)
	return keys
}

// Unmarshal decodes the single MessagePack value in b into v, which must be a pointer.
// Decoding into an interface (a *any) gives nil, bool, int64 (uint64 above MaxInt64),
// float64, string, []byte, []any, map[string]any (map[any]any when a key is not a string),
// Ref for Object references, Tensor for tensors, Table for tables, and Ext for other extension values. Other targets are decoded
// with msgpack's rules for Go types.
func Unmarshal(b []byte, v any) error {
	if p, ok := v.(*any); ok {
		x, err := Decode(b)
		if err == nil {
			*p = x
		}
		return err
	}
	if err := Validate(b); err != nil {
		return err
	}
	dec := msgpack.NewDecoder(bytes.NewReader(b))
	return dec.Decode(v)
}

// Decode decodes the single MessagePack value in b into its generic Go form (see Unmarshal).
func Decode(b []byte) (any, error) {
	v, end, err := decodeAny(b, 0, 0)
	if err != nil {
		return nil, err
	}
	if end != len(b) {
		return nil, malformed(end, "%d trailing bytes after the value", len(b)-end)
	}
	return v, nil
}

func init() {
	msgpack.RegisterExtDecoder(ExtRef, Ref{}, func(dec *msgpack.Decoder, v reflect.Value, extLen int) error {
		if extLen != KeySize {
			return fmt.Errorf("%w: object reference of %d bytes, want %d", ErrMalformed, extLen, KeySize)
		}
		var k Key
		if err := dec.ReadFull(k[:]); err != nil {
			return err
		}
		v.Set(reflect.ValueOf(Ref{key: k}))
		return nil
	})
}
