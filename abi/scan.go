package abi

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"slices"
)

// MaxDepth is how deeply arrays and maps may nest in a frame.
const MaxDepth = 512

// kind is the family of a MessagePack value.
type kind uint8

const (
	kNil kind = iota
	kBool
	kUint
	kInt
	kFloat32
	kFloat64
	kStr
	kBin
	kArray
	kMap
	kExt
)

// header is one decoded MessagePack type header.
type header struct {
	kind kind
	size int    // bytes of the header itself, including inline fixed payloads (ints, floats, bools)
	n    uint64 // payload length for str/bin/ext, element count for array/map, value for ints
	ext  int8   // extension type for kExt
}

// readHeader decodes the header at b[i:]. For scalars whose payload is fixed (ints, floats,
// bools, nil) size covers the whole value.
func readHeader(b []byte, i int) (header, error) {
	if i >= len(b) {
		return header{}, malformed(i, "unexpected end of frame")
	}
	c := b[i]
	need := func(n int) error {
		if len(b)-i < n {
			return malformed(i, "truncated value (type byte 0x%02x needs %d bytes, %d left)", c, n, len(b)-i)
		}
		return nil
	}
	switch {
	case c <= 0x7f:
		return header{kind: kUint, size: 1, n: uint64(c)}, nil
	case c >= 0xe0:
		return header{kind: kInt, size: 1, n: uint64(int64(int8(c)))}, nil
	case c&0xf0 == 0x80:
		return header{kind: kMap, size: 1, n: uint64(c & 0x0f)}, nil
	case c&0xf0 == 0x90:
		return header{kind: kArray, size: 1, n: uint64(c & 0x0f)}, nil
	case c&0xe0 == 0xa0:
		return header{kind: kStr, size: 1, n: uint64(c & 0x1f)}, nil
	}
	u8 := func() uint64 { return uint64(b[i+1]) }
	u16 := func() uint64 { return uint64(binary.BigEndian.Uint16(b[i+1:])) }
	u32 := func() uint64 { return uint64(binary.BigEndian.Uint32(b[i+1:])) }
	u64 := func() uint64 { return binary.BigEndian.Uint64(b[i+1:]) }
	lenHdr := func(k kind, w int) (header, error) {
		if err := need(1 + w); err != nil {
			return header{}, err
		}
		var n uint64
		switch w {
		case 1:
			n = u8()
		case 2:
			n = u16()
		default:
			n = u32()
		}
		return header{kind: k, size: 1 + w, n: n}, nil
	}
	fixed := func(k kind, w int, v func() uint64) (header, error) {
		if err := need(1 + w); err != nil {
			return header{}, err
		}
		return header{kind: k, size: 1 + w, n: v()}, nil
	}
	switch c {
	case 0xc0:
		return header{kind: kNil, size: 1}, nil
	case 0xc1:
		return header{}, malformed(i, "reserved type byte 0xc1")
	case 0xc2, 0xc3:
		return header{kind: kBool, size: 1, n: uint64(c & 1)}, nil
	case 0xc4:
		return lenHdr(kBin, 1)
	case 0xc5:
		return lenHdr(kBin, 2)
	case 0xc6:
		return lenHdr(kBin, 4)
	case 0xc7, 0xc8, 0xc9:
		w := 1 << (c - 0xc7)
		h, err := lenHdr(kExt, w)
		if err != nil {
			return h, err
		}
		if err := need(2 + w); err != nil {
			return header{}, err
		}
		h.ext = int8(b[i+1+w])
		h.size++
		return h, nil
	case 0xca:
		return fixed(kFloat32, 4, u32)
	case 0xcb:
		return fixed(kFloat64, 8, u64)
	case 0xcc:
		return fixed(kUint, 1, u8)
	case 0xcd:
		return fixed(kUint, 2, u16)
	case 0xce:
		return fixed(kUint, 4, u32)
	case 0xcf:
		return fixed(kUint, 8, u64)
	case 0xd0:
		return fixed(kInt, 1, func() uint64 { return uint64(int64(int8(b[i+1]))) })
	case 0xd1:
		return fixed(kInt, 2, func() uint64 { return uint64(int64(int16(u16()))) })
	case 0xd2:
		return fixed(kInt, 4, func() uint64 { return uint64(int64(int32(u32()))) })
	case 0xd3:
		return fixed(kInt, 8, u64)
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8:
		if err := need(2); err != nil {
			return header{}, err
		}
		return header{kind: kExt, size: 2, n: 1 << (c - 0xd4), ext: int8(b[i+1])}, nil
	case 0xd9:
		return lenHdr(kStr, 1)
	case 0xda:
		return lenHdr(kStr, 2)
	case 0xdb:
		return lenHdr(kStr, 4)
	case 0xdc:
		return lenHdr(kArray, 2)
	case 0xdd:
		return lenHdr(kArray, 4)
	case 0xde:
		return lenHdr(kMap, 2)
	default: // 0xdf
		return lenHdr(kMap, 4)
	}
}

// payloadEnd returns the end of the payload of the str, bin or ext value at b[i].
func payloadEnd(b []byte, i int, h header) (int, error) {
	j := i + h.size
	if h.n > uint64(len(b)-j) {
		return 0, malformed(i, "length %d runs past the end of the frame", h.n)
	}
	if h.kind == kExt && h.ext == ExtTensor {
		if _, _, _, err := parseTensor(b[j : j+int(h.n)]); err != nil {
			return 0, malformed(i, "%v", err)
		}
	}
	if h.kind == kExt && h.ext == ExtTable {
		if _, err := parseTable(b[j : j+int(h.n)]); err != nil {
			return 0, malformed(i, "%v", err)
		}
	}
	return j + int(h.n), nil
}

// elements returns how many values follow the array or map header at b[i] (two per map
// entry), after checking the nesting depth and that they can fit in what is left of b.
func elements(b []byte, i int, h header, depth int) (uint64, error) {
	if depth >= MaxDepth {
		return 0, malformed(i, "nesting deeper than %d", MaxDepth)
	}
	n := h.n
	if h.kind == kMap {
		n *= 2
	}
	if left := len(b) - i - h.size; n > uint64(left) { // every value takes at least one byte
		return 0, malformed(i, "%d elements cannot fit in %d bytes", n, left)
	}
	return n, nil
}

// payload reports whether values of kind k carry n bytes after their header.
func (k kind) payload() bool { return k == kStr || k == kBin || k == kExt }

// skip returns the offset just past the value that starts at b[i]. With noReserved, extension
// types reserved by mrun are rejected.
func skip(b []byte, i, depth int, noReserved bool) (int, error) {
	h, err := readHeader(b, i)
	if err != nil {
		return 0, err
	}
	j := i + h.size
	switch {
	case h.kind.payload():
		if noReserved && h.kind == kExt && h.ext > 0 && h.ext <= ExtReservedMax && h.ext != ExtTensor && h.ext != ExtTable {
			return 0, malformed(i, "extension type %d is reserved by mrun", h.ext)
		}
		return payloadEnd(b, i, h)
	case h.kind == kArray || h.kind == kMap:
		n, err := elements(b, i, h, depth)
		if err != nil {
			return 0, err
		}
		for ; n > 0; n-- {
			if j, err = skip(b, j, depth+1, noReserved); err != nil {
				return 0, err
			}
		}
		return j, nil
	}
	return j, nil
}

// Validate reports whether b holds exactly one well-formed MessagePack value.
func Validate(b []byte) error { return validate(b, false) }

// ValidateResult reports whether b is an acceptable result frame (ABI.md section 4): exactly
// one well-formed MessagePack value with no extension types reserved by mrun other than
// tensors and tables.
func ValidateResult(b []byte) error { return validate(b, true) }

func validate(b []byte, noReserved bool) error {
	end, err := skip(b, 0, 0, noReserved)
	if err != nil {
		return err
	}
	if end != len(b) {
		return malformed(end, "%d trailing bytes after the value", len(b)-end)
	}
	return nil
}

// SplitArray slices the n elements out of b, which must be exactly one array of length n.
// The returned slices alias b; nothing is decoded or copied.
func SplitArray(b []byte, n int) ([][]byte, error) {
	if err := Validate(b); err != nil {
		return nil, err
	}
	h, _ := readHeader(b, 0)
	if h.kind != kArray {
		return nil, &ShapeError{Want: n, Got: kindName(h.kind)}
	}
	if h.n != uint64(n) {
		return nil, &ShapeError{Want: n, Got: "array of " + itoa(h.n)}
	}
	out := make([][]byte, n)
	j := h.size
	for k := range out {
		end, _ := skip(b, j, 1, false) // validated above
		out[k] = b[j:end:end]
		j = end
	}
	return out, nil
}

// ShapeError reports a result that cannot be split into the requested number of outputs.
type ShapeError struct {
	Want int    // outputs requested (n_output)
	Got  string // what the result was, e.g. "map" or "array of 3"
}

// Error says what was expected and what came back.
func (e *ShapeError) Error() string {
	return "result is " + e.Got + ", want an array of " + itoa(uint64(e.Want)) + " for n_output=" + itoa(uint64(e.Want))
}

func kindName(k kind) string {
	return [...]string{"nil", "bool", "integer", "integer", "float", "float", "string", "bytes", "array", "map", "ext"}[k]
}

func itoa(n uint64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}

// Canonical returns the canonical form (ABI.md section 5.2) of the single value in b.
func Canonical(b []byte) ([]byte, error) {
	out, end, err := canon(make([]byte, 0, len(b)), b, 0, 0)
	if err != nil {
		return nil, err
	}
	if end != len(b) {
		return nil, malformed(end, "%d trailing bytes after the value", len(b)-end)
	}
	return out, nil
}

// canon appends the canonical form of the value at b[i] to dst.
func canon(dst, b []byte, i, depth int) ([]byte, int, error) {
	h, err := readHeader(b, i)
	if err != nil {
		return nil, 0, err
	}
	j := i + h.size
	switch h.kind {
	case kNil, kBool, kFloat32, kFloat64:
		return append(dst, b[i:j]...), j, nil
	case kUint:
		return appendUint(dst, h.n), j, nil
	case kInt:
		if v := int64(h.n); v >= 0 {
			return appendUint(dst, uint64(v)), j, nil
		}
		return appendNegInt(dst, int64(h.n)), j, nil
	case kStr, kBin, kExt:
		end, err := payloadEnd(b, i, h)
		if err != nil {
			return nil, 0, err
		}
		dst = appendLenHeader(dst, h.kind, h.n, h.ext)
		return append(dst, b[j:end]...), end, nil
	}
	// array or map
	n, err := elements(b, i, h, depth)
	if err != nil {
		return nil, 0, err
	}
	dst = appendLenHeader(dst, h.kind, h.n, 0)
	if h.kind == kArray {
		for ; n > 0; n-- {
			if dst, j, err = canon(dst, b, j, depth+1); err != nil {
				return nil, 0, err
			}
		}
		return dst, j, nil
	}
	// Maps: canonicalise each entry on its own, then order entries by key bytes.
	type entry struct{ k, kv []byte }
	entries := make([]entry, 0, h.n)
	var scratch []byte
	for e := uint64(0); e < h.n; e++ {
		start := len(scratch)
		if scratch, j, err = canon(scratch, b, j, depth+1); err != nil {
			return nil, 0, err
		}
		keyEnd := len(scratch)
		if scratch, j, err = canon(scratch, b, j, depth+1); err != nil {
			return nil, 0, err
		}
		entries = append(entries, entry{k: scratch[start:keyEnd:keyEnd], kv: scratch[start:len(scratch):len(scratch)]})
	}
	// scratch may have been reallocated while growing: re-slice from the final buffer.
	off := 0
	for idx := range entries {
		kl, l := len(entries[idx].k), len(entries[idx].kv)
		entries[idx] = entry{k: scratch[off : off+kl], kv: scratch[off : off+l]}
		off += l
	}
	slices.SortFunc(entries, func(a, b entry) int { return bytes.Compare(a.k, b.k) })
	for idx := 1; idx < len(entries); idx++ {
		if bytes.Equal(entries[idx-1].k, entries[idx].k) {
			return nil, 0, malformed(i, "map has duplicate key")
		}
	}
	for _, e := range entries {
		dst = append(dst, e.kv...)
	}
	return dst, j, nil
}

func appendUint(dst []byte, v uint64) []byte {
	switch {
	case v <= 0x7f:
		return append(dst, byte(v))
	case v <= math.MaxUint8:
		return append(dst, 0xcc, byte(v))
	case v <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xcd), uint16(v))
	case v <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(dst, 0xce), uint32(v))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xcf), v)
}

func appendNegInt(dst []byte, v int64) []byte {
	switch {
	case v >= -32:
		return append(dst, byte(int8(v)))
	case v >= math.MinInt8:
		return append(dst, 0xd0, byte(int8(v)))
	case v >= math.MinInt16:
		return binary.BigEndian.AppendUint16(append(dst, 0xd1), uint16(int16(v)))
	case v >= math.MinInt32:
		return binary.BigEndian.AppendUint32(append(dst, 0xd2), uint32(int32(v)))
	}
	return binary.BigEndian.AppendUint64(append(dst, 0xd3), uint64(v))
}

// appendLenHeader appends the shortest header for a str, bin, ext, array or map of length n.
func appendLenHeader(dst []byte, k kind, n uint64, ext int8) []byte {
	switch k {
	case kStr:
		switch {
		case n <= 31:
			return append(dst, 0xa0|byte(n))
		case n <= math.MaxUint8:
			return append(dst, 0xd9, byte(n))
		case n <= math.MaxUint16:
			return binary.BigEndian.AppendUint16(append(dst, 0xda), uint16(n))
		}
		return binary.BigEndian.AppendUint32(append(dst, 0xdb), uint32(n))
	case kBin:
		switch {
		case n <= math.MaxUint8:
			return append(dst, 0xc4, byte(n))
		case n <= math.MaxUint16:
			return binary.BigEndian.AppendUint16(append(dst, 0xc5), uint16(n))
		}
		return binary.BigEndian.AppendUint32(append(dst, 0xc6), uint32(n))
	case kExt:
		switch n {
		case 1:
			return append(dst, 0xd4, byte(ext))
		case 2:
			return append(dst, 0xd5, byte(ext))
		case 4:
			return append(dst, 0xd6, byte(ext))
		case 8:
			return append(dst, 0xd7, byte(ext))
		case 16:
			return append(dst, 0xd8, byte(ext))
		}
		switch {
		case n <= math.MaxUint8:
			return append(dst, 0xc7, byte(n), byte(ext))
		case n <= math.MaxUint16:
			return append(binary.BigEndian.AppendUint16(append(dst, 0xc8), uint16(n)), byte(ext))
		}
		return append(binary.BigEndian.AppendUint32(append(dst, 0xc9), uint32(n)), byte(ext))
	case kArray:
		switch {
		case n <= 15:
			return append(dst, 0x90|byte(n))
		case n <= math.MaxUint16:
			return binary.BigEndian.AppendUint16(append(dst, 0xdc), uint16(n))
		}
		return binary.BigEndian.AppendUint32(append(dst, 0xdd), uint32(n))
	}
	switch { // map
	case n <= 15:
		return append(dst, 0x80|byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(dst, 0xde), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(dst, 0xdf), uint32(n))
}

// Ext is an extension value mrun gives no meaning to, decoded as its type and payload.
type Ext struct {
	Type int8
	Data []byte
}

// decodeAny decodes the value at b[i] into the generic Go form documented on Unmarshal.
func decodeAny(b []byte, i, depth int) (any, int, error) {
	h, err := readHeader(b, i)
	if err != nil {
		return nil, 0, err
	}
	j := i + h.size
	switch h.kind {
	case kNil:
		return nil, j, nil
	case kBool:
		return h.n == 1, j, nil
	case kUint:
		if h.n <= math.MaxInt64 {
			return int64(h.n), j, nil
		}
		return h.n, j, nil
	case kInt:
		return int64(h.n), j, nil
	case kFloat32:
		return float64(math.Float32frombits(uint32(h.n))), j, nil
	case kFloat64:
		return math.Float64frombits(h.n), j, nil
	case kStr, kBin, kExt:
		end, err := payloadEnd(b, i, h)
		if err != nil {
			return nil, 0, err
		}
		switch h.kind {
		case kStr:
			return string(b[j:end]), end, nil
		case kBin:
			return bytes.Clone(b[j:end]), end, nil
		}
		if h.ext == ExtRef && h.n == KeySize {
			var k Key
			copy(k[:], b[j:end])
			return Ref{key: k}, end, nil
		}
		if h.ext == ExtTensor {
			d, shape, data, _ := parseTensor(b[j:end]) // checked by payloadEnd
			return Tensor{DType: d, Shape: shape, Data: bytes.Clone(data)}, end, nil
		}
		if h.ext == ExtTable {
			t, _ := parseTable(b[j:end]) // checked by payloadEnd
			return t.clone(), end, nil
		}
		return Ext{Type: h.ext, Data: bytes.Clone(b[j:end])}, end, nil
	}
	if _, err := elements(b, i, h, depth); err != nil {
		return nil, 0, err
	}
	if h.kind == kArray {
		out := make([]any, h.n)
		for k := range out {
			if out[k], j, err = decodeAny(b, j, depth+1); err != nil {
				return nil, 0, err
			}
		}
		return out, j, nil
	}
	strMap := make(map[string]any, h.n)
	var anyMap map[any]any
	for e := uint64(0); e < h.n; e++ {
		var k, v any
		if k, j, err = decodeAny(b, j, depth+1); err != nil {
			return nil, 0, err
		}
		if v, j, err = decodeAny(b, j, depth+1); err != nil {
			return nil, 0, err
		}
		if s, ok := k.(string); ok && anyMap == nil {
			strMap[s] = v
			continue
		}
		if anyMap == nil {
			anyMap = make(map[any]any, h.n)
			for s, x := range strMap {
				anyMap[s] = x
			}
		}
		if k != nil && !reflect.TypeOf(k).Comparable() {
			return nil, 0, malformed(i, "map key of type %T cannot be a Go map key", k)
		}
		anyMap[k] = v
	}
	if anyMap != nil {
		return anyMap, j, nil
	}
	return strMap, j, nil
}
