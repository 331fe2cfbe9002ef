package table

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/mrun-dev/mrun/abi"
)

// decodeTables reads a kernel's argument frame [positional tables, keyword arguments] with
// the tables' numeric columns read in place: a chunk is in the frame once, and a kernel
// computes on it there instead of on a copy (abi.Decode copies every table it returns, so
// that its result outlives the bytes). The frame is checked whole first (abi.Validate), so
// the walk below only follows a structure known to be sound. A frame of another shape goes
// through decodeFrame, whose errors name what is wrong.
func decodeTables(args []byte) ([]*frame, *params, error) {
	if err := abi.Validate(args); err != nil {
		return nil, nil, fmt.Errorf("table: argument frame: %w", err)
	}
	if pos, kwAt, ok := viewTables(args); ok {
		v, err := abi.Decode(args[kwAt:])
		if err != nil {
			return nil, nil, fmt.Errorf("table: argument frame: %w", err)
		}
		kw := newParams("keyword arguments", v)
		if v == nil {
			kw = newParams("keyword arguments", map[string]any{})
		}
		return pos, kw, kw.err
	}
	pos, kw, err := decodeFrame(args)
	if err != nil {
		return nil, nil, err
	}
	frames := make([]*frame, len(pos))
	for i, v := range pos {
		t, ok := v.(abi.Table)
		if !ok {
			return nil, nil, fmt.Errorf("table: argument %d must be a table, got %s", i, typeName(v))
		}
		if frames[i], err = fromTable(t); err != nil {
			return nil, nil, err
		}
	}
	return frames, kw, nil
}

// viewTables walks a valid frame whose positional arguments are all tables and returns them,
// read in place, and the offset of the keyword arguments; ok is false for any other frame.
func viewTables(b []byte) (pos []*frame, kwAt int, ok bool) {
	if len(b) < 2 || b[0] != 0x92 {
		return nil, 0, false
	}
	n, i, ok := arrayHeader(b, 1)
	if !ok {
		return nil, 0, false
	}
	pos = make([]*frame, n)
	for k := range pos {
		p, end, ok := extTable(b, i)
		if !ok {
			return nil, 0, false
		}
		if pos[k], ok = viewTable(p); !ok {
			return nil, 0, false
		}
		i = end
	}
	return pos, i, true
}

// arrayHeader reads the array header at b[i]: its length and where its first element starts.
func arrayHeader(b []byte, i int) (n, next int, ok bool) {
	switch {
	case i < len(b) && b[i]&0xf0 == 0x90:
		return int(b[i] & 0x0f), i + 1, true
	case i+3 <= len(b) && b[i] == 0xdc:
		return int(binary.BigEndian.Uint16(b[i+1:])), i + 3, true
	case i+5 <= len(b) && b[i] == 0xdd:
		return int(binary.BigEndian.Uint32(b[i+1:])), i + 5, true
	}
	return 0, 0, false
}

// extTable reads the extension value at b[i], which must be a table: its payload and where
// the next value starts.
func extTable(b []byte, i int) (payload []byte, next int, ok bool) {
	var n, at int
	switch {
	case i < len(b) && b[i] == 0xd8: // fixext 16: a table of no columns
		n, at = 16, i+2
	case i+3 <= len(b) && b[i] == 0xc7:
		n, at = int(b[i+1]), i+3
	case i+4 <= len(b) && b[i] == 0xc8:
		n, at = int(binary.BigEndian.Uint16(b[i+1:])), i+4
	case i+6 <= len(b) && b[i] == 0xc9:
		n, at = int(binary.BigEndian.Uint32(b[i+1:])), i+6
	default:
		return nil, 0, false
	}
	if at > len(b) || int8(b[at-1]) != abi.ExtTable || n > len(b)-at {
		return nil, 0, false
	}
	return b[at : at+n], at + n, true
}

// viewTable reads a table payload (ABI.md section 5.4) that abi.Validate accepted: int64,
// timestamp, float64 and bool columns are views of p when p is aligned for them (the
// payload's columns start 8-byte aligned within it), copies otherwise; strings are copied
// into Go strings.
func viewTable(p []byte) (*frame, bool) {
	if len(p) < 16 {
		return nil, false
	}
	ncols := int(binary.LittleEndian.Uint32(p))
	rows := binary.LittleEndian.Uint64(p[8:])
	if rows > 1<<32 || ncols > len(p) {
		return nil, false
	}
	n := int(rows)
	f := &frame{n: n, cols: make([]col, ncols)}
	off := 16
	for k := range f.cols {
		if off+4 > len(p) {
			return nil, false
		}
		nl := int(binary.LittleEndian.Uint16(p[off+2:]))
		if off+4+nl > len(p) {
			return nil, false
		}
		f.cols[k] = col{typ: abi.ColumnType(p[off]), name: string(p[off+4 : off+4+nl])}
		off += 4 + nl
	}
	take := func(size int) ([]byte, bool) {
		off += -off & 7
		if size < 0 || size > len(p)-off {
			return nil, false
		}
		b := p[off : off+size : off+size]
		off += size
		return b, true
	}
	for k := range f.cols {
		c := &f.cols[k]
		var ok bool
		switch c.typ {
		case abi.ColInt64, abi.ColTimestamp:
			var b []byte
			if b, ok = take(8 * n); ok {
				c.i = view[int64](b, n)
			}
		case abi.ColFloat64:
			var b []byte
			if b, ok = take(8 * n); ok {
				c.f = view[float64](b, n)
			}
		case abi.ColBool:
			var b []byte
			if b, ok = take(n); ok {
				c.b = view[bool](b, n)
			}
		case abi.ColString:
			var offs, text []byte
			if offs, ok = take(4 * (n + 1)); ok {
				text, ok = take(int(binary.LittleEndian.Uint32(offs[4*n:])))
			}
			if ok {
				c.s = make([]string, n)
				for r := range c.s {
					lo, hi := binary.LittleEndian.Uint32(offs[4*r:]), binary.LittleEndian.Uint32(offs[4*r+4:])
					if lo > hi || int(hi) > len(text) {
						return nil, false
					}
					c.s[r] = string(text[lo:hi])
				}
			}
		}
		if !ok {
			return nil, false
		}
	}
	return f, true
}

// littleEndian says whether this machine stores numbers as the table format does.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// view returns b's n values of type T (8-byte little-endian numbers, or 0/1 bytes): b itself
// when the machine is little-endian and b is aligned for T, else a copy.
func view[T int64 | float64 | bool](b []byte, n int) []T {
	if n == 0 {
		return []T{}
	}
	var zero T
	if littleEndian && uintptr(unsafe.Pointer(&b[0]))%unsafe.Alignof(zero) == 0 {
		return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]T, n)
	switch o := any(out).(type) {
	case []int64:
		for r := range o {
			o[r] = int64(binary.LittleEndian.Uint64(b[8*r:]))
		}
	case []float64:
		for r := range o {
			o[r] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*r:]))
		}
	case []bool:
		for r := range o {
			o[r] = b[r] != 0
		}
	}
	return out
}
