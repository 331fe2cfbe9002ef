package abi

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// Template is a canonical argument frame whose Object references are holes to be filled with
// the values of the Objects they name. It is built once, when a call is spawned, and filled each
// time the call runs, by copying bytes: values are never decoded on the way.
type Template struct {
	frame []byte
	holes []hole
}

type hole struct {
	start, end int // the reference's bytes in frame
	key        Key
}

// NewTemplate canonicalises frame and records where its Object references are.
func NewTemplate(frame []byte) (*Template, error) {
	c, err := Canonical(frame)
	if err != nil {
		return nil, err
	}
	t := &Template{frame: c}
	if err := t.findRefs(0, 0); err != nil {
		return nil, err
	}
	return t, nil
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
		if h.ext == ExtRef {
			if h.n != KeySize {
				return malformed(i, "object reference of %d bytes, want %d", h.n, KeySize)
			}
			var k Key
			copy(k[:], b[j:end])
			t.holes = append(t.holes, hole{start: i, end: end, key: k})
		} else if h.ext > 0 && h.ext <= ExtReservedMax {
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
			if j, err = skip(b, j, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// Canonical returns the canonical frame with references in place. It must not be modified.
func (t *Template) Canonical() []byte { return t.frame }

// Deps returns the keys of the referenced Objects in the order they appear, with repeats.
func (t *Template) Deps() []Key {
	keys := make([]Key, len(t.holes))
	for i, h := range t.holes {
		keys[i] = h.key
	}
	return keys
}

// Size returns the length of the frame once reference i is replaced by values[i], where
// values is aligned with Deps.
func (t *Template) Size(values [][]byte) int {
	n := len(t.frame)
	for i, h := range t.holes {
		n += len(values[i]) - (h.end - h.start)
	}
	return n
}

// AppendFrame appends the argument frame to dst, with reference i replaced by values[i].
// values is aligned with Deps and each must be one well-formed MessagePack value.
func (t *Template) AppendFrame(dst []byte, values [][]byte) []byte {
	last := 0
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
	h := sha256.New()
	h.Write([]byte("mrun/task/v1\x00"))
	h.Write(module[:])
	var buf [binary.MaxVarintLen64]byte
	h.Write(buf[:binary.PutUvarint(buf[:], uint64(len(fn)))])
	h.Write([]byte(fn))
	h.Write(buf[:binary.PutUvarint(buf[:], uint64(nOutput))])
	h.Write(t.frame)
	var k Key
	copy(k[:], h.Sum(nil))
	return k
}

// OutputKey derives the key of output i of a call with key task that has several outputs.
func OutputKey(task Key, i int) Key {
	h := sha256.New()
	h.Write([]byte("mrun/output/v1\x00"))
	h.Write(task[:])
	var buf [binary.MaxVarintLen64]byte
	h.Write(buf[:binary.PutUvarint(buf[:], uint64(i))])
	var k Key
	copy(k[:], h.Sum(nil))
	return k
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
