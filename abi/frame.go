package abi

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
)

// Template is a canonical argument frame whose Object references are holes to be filled with
// the values of the Objects they name (ext 1), or with handles for Objects passed by reference
// (ext 3). It is built once, when a call is spawned, and filled each time the call runs, by
// copying bytes: values are never decoded on the way.
type Template struct {
	frame []byte
	holes []hole
}

// hole is one reference in a Template's frame. Its key is not copied out: it is the last
// KeySize bytes of frame[start:end], so that a fan-in over a million Objects keeps 12 bytes a
// reference besides its frame instead of 28.
type hole struct {
	start, end uint32 // the reference's bytes in frame (frames are below 4 GiB)
	byRef      bool
}

// key returns the key of reference h in frame.
func (h hole) key(frame []byte) (k Key) {
	copy(k[:], frame[h.end-KeySize:h.end])
	return k
}

// Hole describes one Object reference in a Template.
type Hole struct {
	Key   Key  // the referenced Object
	ByRef bool // the callee receives a handle (ext 2) instead of the value
}

// EncodeTemplate encodes the argument frame [args, kwargs] in canonical form (see EncodeFrame)
// and returns its Template, walking the encoding once. Calls whose arguments are all scalars
// (integers, floats, strings, bools, nil) and have no keyword arguments take a path that
// writes the canonical bytes directly.
func EncodeTemplate(args []any, kwargs map[string]any) (*Template, error) {
	if len(kwargs) == 0 {
		if frame, ok := appendScalarFrame(make([]byte, 0, 3+9*len(args)), args); ok {
			return &Template{frame: frame}, nil
		}
	}
	frame, err := EncodeFrame(args, kwargs)
	if err != nil {
		return nil, err
	}
	t := &Template{frame: frame}
	if err := t.scan(); err != nil {
		return nil, err
	}
	return t, nil
}

// appendScalarFrame appends the canonical frame [args, {}] when every argument is a scalar
// it can write directly, and reports whether it could.
func appendScalarFrame(dst []byte, args []any) ([]byte, bool) {
	dst = append(dst, 0x92)
	dst = appendLenHeader(dst, kArray, uint64(len(args)), 0)
	for _, a := range args {
		switch v := a.(type) {
		case int:
			dst = appendInt(dst, int64(v))
		case int64:
			dst = appendInt(dst, v)
		case int32:
			dst = appendInt(dst, int64(v))
		case uint64:
			dst = appendUint(dst, v)
		case uint32:
			dst = appendUint(dst, uint64(v))
		case uint:
			dst = appendUint(dst, uint64(v))
		case float64:
			dst = binary.BigEndian.AppendUint64(append(dst, 0xcb), math.Float64bits(v))
		case string:
			dst = append(appendLenHeader(dst, kStr, uint64(len(v)), 0), v...)
		case bool:
			if v {
				dst = append(dst, 0xc3)
			} else {
				dst = append(dst, 0xc2)
			}
		case nil:
			dst = append(dst, 0xc0)
		default:
			return nil, false
		}
	}
	return append(dst, 0x80), true
}

func appendInt(dst []byte, v int64) []byte {
	if v >= 0 {
		return appendUint(dst, uint64(v))
	}
	return appendNegInt(dst, v)
}

// NewTemplate canonicalises frame, which must be an argument frame [positional, keyword], and
// records where its Object references are.
func NewTemplate(frame []byte) (*Template, error) {
	c, err := Canonical(frame)
	if err != nil {
		return nil, err
	}
	if err := checkFrameShape(c); err != nil {
		return nil, err
	}
	t := &Template{frame: c}
	if err := t.scan(); err != nil {
		return nil, err
	}
	return t, nil
}

// checkFrameShape reports whether b (one valid value) is an array of an array and a map.
func checkFrameShape(b []byte) error {
	h, _ := readHeader(b, 0)
	if h.kind != kArray || h.n != 2 {
		return malformed(0, "argument frame must be an array [positional, keyword]")
	}
	p, _ := readHeader(b, h.size)
	if p.kind != kArray {
		return malformed(h.size, "positional arguments must be an array")
	}
	end, _ := skip(b, h.size, 1, false)
	if k, _ := readHeader(b, end); k.kind != kMap {
		return malformed(end, "keyword arguments must be a map")
	}
	return nil
}

// scan records the frame's references; a frame must fit a guest's 32-bit memory.
func (t *Template) scan() error {
	if uint64(len(t.frame)) > 1<<32-1 {
		return fmt.Errorf("argument frame of %d bytes exceeds the 4 GiB a guest can address", len(t.frame))
	}
	return t.findRefs(0, 0)
}

func (t *Template) findRefs(i, depth int) error {
	b := t.frame
	h, err := readHeader(b, i)
	if err != nil {
		return err
	}
	j := i + h.size
	switch h.kind {
	case kExt:
		end := j + int(h.n)
		switch {
		case h.ext == ExtRef || h.ext == ExtByRef:
			if h.n != KeySize {
				return malformed(i, "object reference of %d bytes, want %d", h.n, KeySize)
			}
			t.holes = append(t.holes, hole{start: uint32(i), end: uint32(end), byRef: h.ext == ExtByRef})
		case h.ext == ExtTensor || h.ext == ExtTable:
			if _, err := payloadEnd(b, i, h); err != nil {
				return err
			}
		case h.ext > 0 && h.ext <= ExtReservedMax:
			return malformed(i, "extension type %d is reserved by mrun", h.ext)
		}
		return nil
	case kArray, kMap:
		n := h.n
		if h.kind == kMap {
			n *= 2
		}
		for ; n > 0; n-- {
			if err := t.findRefs(j, depth+1); err != nil {
				return err
			}
			if j, err = skip(b, j, depth+1, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// Frame returns the template's canonical frame, with its references as ext-1 keys. It must
// not be modified.
func (t *Template) Frame() []byte { return t.frame }

// ByRef reports whether hole i is an Object passed by reference.
func (t *Template) ByRef(i int) bool { return t.holes[i].byRef }

// Holes returns the template's references in frame order, with repeats.
func (t *Template) Holes() []Hole {
	hs := make([]Hole, len(t.holes))
	for i, h := range t.holes {
		hs[i] = Hole{Key: h.key(t.frame), ByRef: h.byRef}
	}
	return hs
}

// ResolveHandles turns an argument frame written by a guest for nested spawn (ABI.md section
// 2.2) into the form the host stores: each handle (ext 2) becomes a reference by key (ext 1)
// and each by-reference handle (ext 3 with 4 bytes) a by-reference key (ext 3 with 16 bytes),
// using key to look handles up. Guests may not write keys. The result is not canonical yet:
// NewTemplate canonicalises it and checks its shape.
func ResolveHandles(frame []byte, key func(handle uint32) (Key, error)) ([]byte, error) {
	if err := Validate(frame); err != nil {
		return nil, err
	}
	out, _, err := resolve(make([]byte, 0, len(frame)+64), frame, 0, key)
	return out, err
}

func resolve(dst, b []byte, i int, key func(uint32) (Key, error)) ([]byte, int, error) {
	h, _ := readHeader(b, i) // b was validated
	j := i + h.size
	switch h.kind {
	case kExt:
		end := j + int(h.n)
		if h.ext <= 0 || h.ext > ExtReservedMax || h.ext == ExtTensor || h.ext == ExtTable { // a value, checked by Validate
			return append(dst, b[i:end]...), end, nil
		}
		if (h.ext != ExtHandle && h.ext != ExtByRef) || h.n != 4 {
			return nil, 0, fmt.Errorf("argument holds extension type %d with %d bytes: guests name Objects only by handle (ext 2 or 3 with a 4-byte handle)", h.ext, h.n)
		}
		k, err := key(binary.BigEndian.Uint32(b[j:end]))
		if err != nil {
			return nil, 0, err
		}
		ext := ExtRef
		if h.ext == ExtByRef {
			ext = ExtByRef
		}
		dst = append(dst, 0xd8, byte(ext))
		return append(dst, k[:]...), end, nil
	case kStr, kBin:
		end := j + int(h.n)
		return append(dst, b[i:end]...), end, nil
	case kArray, kMap:
		dst = append(dst, b[i:j]...)
		n := h.n
		if h.kind == kMap {
			n *= 2
		}
		var err error
		for ; n > 0; n-- {
			if dst, j, err = resolve(dst, b, j, key); err != nil {
				return nil, 0, err
			}
		}
		return dst, j, nil
	}
	return append(dst, b[i:j]...), j, nil
}

// AppendHandle appends the encoding of handle h (ext 2 with a 4-byte big-endian payload).
func AppendHandle(dst []byte, h uint32) []byte {
	return binary.BigEndian.AppendUint32(append(dst, 0xd6, byte(ExtHandle)), h)
}

// Canonical returns the canonical frame with references in place. It must not be modified.
func (t *Template) Canonical() []byte { return t.frame }

// Deps returns the keys of the referenced Objects in the order they appear, with repeats,
// whether they are passed by value or by reference.
func (t *Template) Deps() []Key {
	keys := make([]Key, len(t.holes))
	for i, h := range t.holes {
		keys[i] = h.key(t.frame)
	}
	return keys
}

// Size returns the length of the frame once reference i is replaced by values[i], where
// values is aligned with Deps: the Object's value for a reference by value, an encoded handle
// (AppendHandle) for a reference by reference.
func (t *Template) Size(values [][]byte) int {
	n := len(t.frame)
	for i, h := range t.holes {
		n += len(values[i]) - int(h.end-h.start)
	}
	return n
}

// AppendFrame appends the argument frame to dst, with reference i replaced by values[i].
// values is aligned with Deps and each must be one well-formed MessagePack value.
func (t *Template) AppendFrame(dst []byte, values [][]byte) []byte {
	last := uint32(0)
	for i, h := range t.holes {
		dst = append(dst, t.frame[last:h.start]...)
		dst = append(dst, values[i]...)
		last = h.end
	}
	return append(dst, t.frame[last:]...)
}

// TaskKey derives the key of a call (ABI.md section 6) from the module's SHA-256, the
// function name, the number of outputs and the template's canonical frame.
func TaskKey(module [32]byte, fn string, nOutput int, t *Template) Key {
	const prefix = "mrun/task/v1\x00"
	// Small frames (the common case) are hashed from a buffer on the stack: no allocation.
	var buf [256]byte
	if len(prefix)+32+2*binary.MaxVarintLen64+len(fn)+len(t.frame) <= len(buf) {
		b := append(buf[:0], prefix...)
		b = append(b, module[:]...)
		b = binary.AppendUvarint(b, uint64(len(fn)))
		b = append(b, fn...)
		b = binary.AppendUvarint(b, uint64(nOutput))
		b = append(b, t.frame...)
		return keyOf(sha256.Sum256(b))
	}
	h := sha256.New()
	h.Write([]byte(prefix))
	h.Write(module[:])
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(fn)))])
	h.Write([]byte(fn))
	h.Write(n[:binary.PutUvarint(n[:], uint64(nOutput))])
	h.Write(t.frame)
	var sum [sha256.Size]byte
	return keyOf([sha256.Size]byte(h.Sum(sum[:0])))
}

func keyOf(sum [sha256.Size]byte) Key { return Key(sum[:KeySize]) }

// OutputKey derives the key of output i of a call with key task that has several outputs.
func OutputKey(task Key, i int) Key {
	var buf [64]byte
	b := append(buf[:0], "mrun/output/v1\x00"...)
	b = append(b, task[:]...)
	b = binary.AppendUvarint(b, uint64(i))
	return keyOf(sha256.Sum256(b))
}

// ImpureKey derives the key of one spawn of an impure call (ABI.md section 6) from the key
// its content gives it and a nonce drawn for that spawn, so that each spawn is a task of its
// own.
func ImpureKey(content Key, nonce [16]byte) Key {
	var buf [64]byte
	b := append(buf[:0], "mrun/impure/v1\x00"...)
	b = append(b, content[:]...)
	b = append(b, nonce[:]...)
	return keyOf(sha256.Sum256(b))
}

// CheckFuncName reports whether name is a valid user function name under ABI.md section 1.4.
func CheckFuncName(name string) error {
	if name == "" || len(name) > MaxFuncName {
		return fmt.Errorf("function name must be 1 to %d bytes, got %d", MaxFuncName, len(name))
	}
	for i := 0; i < len(name); i++ {
		if name[i] == 0 {
			return fmt.Errorf("function name %q contains NUL", name)
		}
	}
	return nil
}
