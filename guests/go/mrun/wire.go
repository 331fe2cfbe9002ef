package mrun

import (
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
)

// The codec reads and writes the common MessagePack formats itself, straight on byte slices:
// in a Go wasm guest every function call and interface call is expensive, and going through
// msgpack's Decoder for a frame like inc(41) cost about 1 µs against 40 ns by hand. msgpack
// handles the rest (structs, custom types, timestamps) through the fallbacks at the end.

// family is the MessagePack family of a value, named after the first byte of its encoding.
type family uint8

const (
	famInvalid family = iota // 0xc1, the one reserved byte
	famNil
	famBool
	famInt
	famFloat
	famStr
	famBin
	famArray
	famMap
	famExt
)

var familyNames = [...]string{
	famInvalid: "reserved byte 0xc1",
	famNil:     "nil",
	famBool:    "bool",
	famInt:     "integer",
	famFloat:   "float",
	famStr:     "string",
	famBin:     "bytes",
	famArray:   "array",
	famMap:     "map",
	famExt:     "ext",
}

func (f family) String() string { return familyNames[f] }

// families maps every first byte of a MessagePack value to its family.
var families = func() (t [256]family) {
	for c := range 256 {
		var f family
		switch {
		case c <= 0x7f, c >= 0xe0, c >= 0xcc && c <= 0xd3:
			f = famInt
		case c <= 0x8f, c == 0xde, c == 0xdf:
			f = famMap
		case c <= 0x9f, c == 0xdc, c == 0xdd:
			f = famArray
		case c <= 0xbf, c >= 0xd9 && c <= 0xdb:
			f = famStr
		case c == 0xc0:
			f = famNil
		case c == 0xc2, c == 0xc3:
			f = famBool
		case c == 0xca, c == 0xcb:
			f = famFloat
		case c >= 0xc4 && c <= 0xc6:
			f = famBin
		case c >= 0xc7 && c <= 0xc9, c >= 0xd4 && c <= 0xd8:
			f = famExt
		}
		t[c] = f
	}
	return t
}()

var errTruncated = errors.New("frame ends inside a value")

// peek returns the first byte of the next value without consuming it.
func (c *codec) peek() (byte, error) {
	if c.off >= len(c.in) {
		return 0, errTruncated
	}
	return c.in[c.off], nil
}

// take consumes the next n bytes.
func (c *codec) take(n uint64) ([]byte, error) {
	if n > uint64(len(c.in)-c.off) {
		return nil, errTruncated
	}
	b := c.in[c.off : c.off+int(n)]
	c.off += int(n)
	return b, nil
}

// be consumes an n-byte big-endian unsigned integer (n is 1, 2, 4 or 8).
func (c *codec) be(n uint64) (uint64, error) {
	b, err := c.take(n)
	if err != nil {
		return 0, err
	}
	var x uint64
	for _, v := range b {
		x = x<<8 | uint64(v)
	}
	return x, nil
}

// integer consumes an integer (the caller has checked its family). A signed format gives i
// and signed=true, the others u.
func (c *codec) integer() (i int64, u uint64, signed bool, err error) {
	b := c.in[c.off]
	c.off++
	switch {
	case b <= 0x7f:
		return 0, uint64(b), false, nil
	case b >= 0xe0:
		return int64(int8(b)), 0, true, nil
	case b <= 0xcf: // uint8 .. uint64
		u, err = c.be(1 << (b - 0xcc))
		return 0, u, false, err
	}
	u, err = c.be(1 << (b - 0xd0)) // int8 .. int64
	switch b {
	case 0xd0:
		i = int64(int8(u))
	case 0xd1:
		i = int64(int16(u))
	case 0xd2:
		i = int64(int32(u))
	default:
		i = int64(u)
	}
	return i, 0, true, err
}

// readInt consumes an integer in [lo, hi]; t names the target in messages.
func (c *codec) readInt(t reflect.Type, lo, hi int64) (int64, error) {
	b, err := c.peek()
	if err != nil {
		return 0, err
	}
	if families[b] != famInt {
		return 0, mismatch(b, t)
	}
	i, u, signed, err := c.integer()
	switch {
	case err != nil:
		return 0, err
	case signed && (i < lo || i > hi):
		return 0, &decodeError{msg: fmt.Sprintf("integer %d overflows %s", i, t)}
	case signed:
		return i, nil
	case u > uint64(hi):
		return 0, &decodeError{msg: fmt.Sprintf("integer %d overflows %s", u, t)}
	}
	return int64(u), nil
}

// readUint consumes a non-negative integer up to hi.
func (c *codec) readUint(t reflect.Type, hi uint64) (uint64, error) {
	b, err := c.peek()
	if err != nil {
		return 0, err
	}
	if families[b] != famInt {
		return 0, mismatch(b, t)
	}
	i, u, signed, err := c.integer()
	switch {
	case err != nil:
		return 0, err
	case signed && (i < 0 || uint64(i) > hi):
		return 0, &decodeError{msg: fmt.Sprintf("integer %d overflows %s", i, t)}
	case signed:
		return uint64(i), nil
	case u > hi:
		return 0, &decodeError{msg: fmt.Sprintf("integer %d overflows %s", u, t)}
	}
	return u, nil
}

// readFloat consumes a float, or an integer converted to the nearest float (as Python does
// when an int meets a float).
func (c *codec) readFloat(t reflect.Type) (float64, error) {
	b, err := c.peek()
	if err != nil {
		return 0, err
	}
	switch b {
	case 0xca:
		c.off++
		x, err := c.be(4)
		return float64(math.Float32frombits(uint32(x))), err
	case 0xcb:
		c.off++
		x, err := c.be(8)
		return math.Float64frombits(x), err
	}
	if families[b] != famInt {
		return 0, mismatch(b, t)
	}
	i, u, signed, err := c.integer()
	if signed {
		return float64(i), err
	}
	return float64(u), err
}

func (c *codec) readBool(t reflect.Type) (bool, error) {
	b, err := c.peek()
	if err != nil {
		return false, err
	}
	if families[b] != famBool {
		return false, mismatch(b, t)
	}
	c.off++
	return b == 0xc3, nil
}

// strBytes consumes a string and returns its bytes, which alias the input.
func (c *codec) strBytes(t reflect.Type) ([]byte, error) {
	b, err := c.peek()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case b >= 0xa0 && b <= 0xbf:
		n = uint64(b & 0x1f)
		c.off++
	case b >= 0xd9 && b <= 0xdb:
		c.off++
		if n, err = c.be(1 << (b - 0xd9)); err != nil {
			return nil, err
		}
	default:
		return nil, mismatch(b, t)
	}
	return c.take(n)
}

func (c *codec) readString(t reflect.Type) (string, error) {
	p, err := c.strBytes(t)
	return string(p), err
}

// readBytes consumes bin or str and returns a copy of its bytes.
func (c *codec) readBytes(t reflect.Type) ([]byte, error) {
	b, err := c.peek()
	if err != nil {
		return nil, err
	}
	if families[b] == famStr {
		p, err := c.strBytes(t)
		return append([]byte{}, p...), err
	}
	if families[b] != famBin {
		return nil, mismatch(b, t)
	}
	c.off++
	n, err := c.be(1 << (b - 0xc4))
	if err != nil {
		return nil, err
	}
	p, err := c.take(n)
	return append([]byte{}, p...), err
}

// containerLen consumes an array or map header (the caller has checked the family). A length
// the rest of the input cannot hold is refused, so a hostile header cannot make the guest
// allocate gigabytes.
func (c *codec) containerLen() (int, error) {
	b := c.in[c.off]
	c.off++
	var n uint64
	var err error
	switch {
	case b >= 0x80 && b <= 0x9f:
		n = uint64(b & 0x0f)
	case b == 0xdc, b == 0xde:
		n, err = c.be(2)
	default: // 0xdd, 0xdf
		n, err = c.be(4)
	}
	if err != nil {
		return 0, err
	}
	minSize := uint64(1)
	if families[b] == famMap {
		minSize = 2
	}
	if n > uint64(len(c.in)-c.off)/minSize {
		return 0, fmt.Errorf("%s of %d elements overruns the frame", families[b], n)
	}
	return int(n), nil
}

// extHeader consumes an ext header and returns its type and payload length.
func (c *codec) extHeader() (int8, uint64, error) {
	b := c.in[c.off]
	c.off++
	var n uint64
	var err error
	switch b {
	case 0xc7, 0xc8, 0xc9:
		n, err = c.be(1 << (b - 0xc7))
	default: // fixext 1, 2, 4, 8, 16
		n = 1 << (b - 0xd4)
	}
	if err != nil {
		return 0, 0, err
	}
	t, err := c.be(1)
	return int8(t), n, err
}

// skipShort consumes the next value if it is in one of the short formats sent most (a fixint,
// nil, a bool, a fixstr or a float64), and reports whether it did: skip is for the others.
func (c *codec) skipShort() bool {
	if c.off >= len(c.in) {
		return false
	}
	var n int
	switch b := c.in[c.off]; {
	case b <= 0x7f, b >= 0xe0, b == 0xc0, b == 0xc2, b == 0xc3:
		n = 1
	case b >= 0xa0 && b <= 0xbf:
		n = 1 + int(b&0x1f)
	case b == 0xcb:
		n = 9
	default:
		return false
	}
	if n > len(c.in)-c.off {
		return false
	}
	c.off += n
	return true
}

// skip consumes one whole value of any kind, without recursion.
func (c *codec) skip() error {
	for pending := uint64(1); pending > 0; pending-- {
		b, err := c.peek()
		if err != nil {
			return err
		}
		switch f := families[b]; f {
		case famNil, famBool:
			c.off++
		case famInt:
			_, _, _, err = c.integer()
		case famFloat:
			c.off++
			_, err = c.take(4 + 4*uint64(b-0xca))
		case famStr:
			_, err = c.strBytes(nil)
		case famBin:
			_, err = c.readBin()
		case famArray, famMap:
			var n int
			if n, err = c.containerLen(); f == famMap {
				n *= 2
			}
			pending += uint64(n)
		case famExt:
			var n uint64
			if _, n, err = c.extHeader(); err == nil {
				_, err = c.take(n)
			}
		default:
			return &decodeError{msg: "reserved byte 0xc1"}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// readBin consumes a bin value (the caller has checked the family) and returns its bytes,
// which alias the input.
func (c *codec) readBin() ([]byte, error) {
	b := c.in[c.off]
	c.off++
	n, err := c.be(1 << (b - 0xc4))
	if err != nil {
		return nil, err
	}
	return c.take(n)
}

// viaMsgpack lets msgpack's Decoder read the next value, then moves past what it read.
//
// msgpack v5.4.1 panics on some inputs, such as nil for a struct field with a decoder of its
// own (a time.Time): that is a bad argument, not a bug in the function, so the panic becomes
// the decoding error instead of trapping the instance.
func (c *codec) viaMsgpack(decode func(*msgpack.Decoder) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("msgpack: %v", r)
		}
	}()
	// msgpack allocates containers by their declared length: check first that every length
	// fits in the bytes that follow, as the codec's own decoders do.
	start := c.off
	if err := c.skip(); err != nil {
		return err
	}
	c.off = start
	c.rdBase = c.off
	c.rd.Reset(c.in[c.off:])
	// ResetReader keeps the decoder's flags (Reset would clear loose decoding) but forgets the
	// map hook, which makes maps inside struct fields of type any decode like decodeAny's.
	c.dec.ResetReader(&c.rd)
	c.dec.SetMapDecoder(c.anyMap)
	err = decode(c.dec)
	c.off = len(c.in) - c.rd.Len()
	return err
}

// anyMapHook is msgpack's map decoder while viaMsgpack runs: it decodes the map with
// decodeAny, keeping the msgpack reader and the codec's offset in step.
func (c *codec) anyMapHook(*msgpack.Decoder) (any, error) {
	c.off = len(c.in) - c.rd.Len()
	m, err := c.decodeAnyMap()
	_, _ = c.rd.Seek(int64(c.off-c.rdBase), io.SeekStart)
	return m, err
}

// buffer is the result frame being built; msgpack's Encoder writes to it too. While a spawn's
// argument frame borrows it, spawning is true: only there may Objects be encoded.
type buffer struct {
	b        []byte
	spawning bool
}

func (w *buffer) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

func (w *buffer) WriteByte(c byte) error { w.b = append(w.b, c); return nil }

func (c *codec) writeNil() { c.out.b = append(c.out.b, 0xc0) }

func (c *codec) writeBool(v bool) {
	b := byte(0xc2)
	if v {
		b = 0xc3
	}
	c.out.b = append(c.out.b, b)
}

// writeBE appends code and the low n bytes of x, big-endian.
func (c *codec) writeBE(code byte, n int, x uint64) {
	c.out.b = append(c.out.b, code)
	for i := n - 1; i >= 0; i-- {
		c.out.b = append(c.out.b, byte(x>>(8*i)))
	}
}

// writeUint and writeInt use the shortest encoding of the value, as canonical form requires.
func (c *codec) writeUint(x uint64) {
	switch {
	case x <= 0x7f:
		c.out.b = append(c.out.b, byte(x))
	case x <= math.MaxUint8:
		c.writeBE(0xcc, 1, x)
	case x <= math.MaxUint16:
		c.writeBE(0xcd, 2, x)
	case x <= math.MaxUint32:
		c.writeBE(0xce, 4, x)
	default:
		c.writeBE(0xcf, 8, x)
	}
}

func (c *codec) writeInt(x int64) {
	switch {
	case x >= 0:
		c.writeUint(uint64(x))
	case x >= -32:
		c.out.b = append(c.out.b, byte(x))
	case x >= math.MinInt8:
		c.writeBE(0xd0, 1, uint64(x))
	case x >= math.MinInt16:
		c.writeBE(0xd1, 2, uint64(x))
	case x >= math.MinInt32:
		c.writeBE(0xd2, 4, uint64(x))
	default:
		c.writeBE(0xd3, 8, uint64(x))
	}
}

func (c *codec) writeFloat32(x float32) { c.writeBE(0xca, 4, uint64(math.Float32bits(x))) }

func (c *codec) writeFloat64(x float64) { c.writeBE(0xcb, 8, math.Float64bits(x)) }

// writeHeader appends the shortest header of a str, bin, array or map of n elements.
func (c *codec) writeHeader(f family, n int) {
	u := uint64(n)
	switch f {
	case famStr:
		switch {
		case n < 32:
			c.out.b = append(c.out.b, 0xa0|byte(n))
		case n <= math.MaxUint8:
			c.writeBE(0xd9, 1, u)
		case n <= math.MaxUint16:
			c.writeBE(0xda, 2, u)
		default:
			c.writeBE(0xdb, 4, u)
		}
	case famBin:
		switch {
		case n <= math.MaxUint8:
			c.writeBE(0xc4, 1, u)
		case n <= math.MaxUint16:
			c.writeBE(0xc5, 2, u)
		default:
			c.writeBE(0xc6, 4, u)
		}
	case famArray, famMap:
		fix, b16 := byte(0x90), byte(0xdc)
		if f == famMap {
			fix, b16 = 0x80, 0xde
		}
		switch {
		case n < 16:
			c.out.b = append(c.out.b, fix|byte(n))
		case n <= math.MaxUint16:
			c.writeBE(b16, 2, u)
		default:
			c.writeBE(b16+1, 4, u)
		}
	}
}

func (c *codec) writeString(s string) {
	c.writeHeader(famStr, len(s))
	c.out.b = append(c.out.b, s...)
}

func (c *codec) writeBin(p []byte) {
	c.writeHeader(famBin, len(p))
	c.out.b = append(c.out.b, p...)
}
