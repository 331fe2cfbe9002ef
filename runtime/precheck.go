package runtime

import (
	"encoding/binary"
	"fmt"
)

// maxLocals bounds the locals one function may declare, as web engines do.
const maxLocals = 50_000

// precheck rejects module bytes whose declared vector lengths cannot fit in the bytes that
// follow them. wazero v1.12.0 allocates a vector as soon as it reads its length, so a few bytes
// claiming 2³² imports, function bodies or parameters would make it allocate until the process
// dies; checking the counts first turns such input into an ordinary error. It is not a
// validator: whatever passes goes on to wazero's decoder.
func precheck(wasm []byte) error {
	b := wasm[8:] // after magic and version, checked by the caller
	off := 8
	for len(b) > 0 {
		id := b[0]
		size, n := binary.Uvarint(b[1:min(len(b), 6)])
		if n <= 0 || size > uint64(len(b)-1-n) {
			return fmt.Errorf("section %d at byte %d: size runs past the end of the module", id, off)
		}
		body := b[1+n : 1+n+int(size)]
		if err := precheckSection(id, body); err != nil {
			return fmt.Errorf("section %d at byte %d: %w", id, off, err)
		}
		off += 1 + n + int(size)
		b = b[1+n+int(size):]
	}
	return nil
}

// vecLen reads a vector length and checks that that many elements of at least min bytes each
// fit in what follows.
func vecLen(b []byte, minSize uint64, what string) (uint64, []byte, error) {
	count, n := binary.Uvarint(b[:min(len(b), 5)])
	if n <= 0 {
		return 0, nil, fmt.Errorf("bad %s count", what)
	}
	b = b[n:]
	if count > uint64(len(b))/max(minSize, 1) {
		return 0, nil, fmt.Errorf("declares %d %s in %d bytes", count, what, len(b))
	}
	return count, b, nil
}

func precheckSection(id byte, b []byte) error {
	switch id {
	case 0: // custom: only the name section is decoded
		return precheckCustom(b)
	case 8: // start: no vector
		return nil
	case 12: // data count
		return nil
	case 1:
		return precheckTypes(b)
	case 10:
		return precheckCode(b)
	case 9:
		return precheckElements(b)
	case 11:
		return precheckData(b)
	case 2:
		return precheckImports(b)
	case 7:
		return precheckExports(b)
	}
	_, _, err := vecLen(b, 1, "entries")
	return err
}

func precheckTypes(b []byte) error {
	count, b, err := vecLen(b, 3, "types")
	if err != nil {
		return err
	}
	for range count {
		if len(b) == 0 || b[0] != 0x60 {
			return nil // not a function type: leave the error to the decoder
		}
		b = b[1:]
		for _, what := range []string{"parameters", "results"} {
			var k uint64
			if k, b, err = vecLen(b, 1, what); err != nil {
				return err
			}
			b = b[k:]
		}
	}
	return nil
}

func precheckCode(b []byte) error {
	count, b, err := vecLen(b, 2, "function bodies")
	if err != nil {
		return err
	}
	for range count {
		size, n := binary.Uvarint(b[:min(len(b), 5)])
		if n <= 0 || size > uint64(len(b)-n) {
			return nil // the decoder reports it
		}
		body := b[n : n+int(size)]
		b = b[n+int(size):]
		groups, rest, err := vecLen(body, 2, "local groups")
		if err != nil {
			return err
		}
		var total uint64
		for range groups {
			k, m := binary.Uvarint(rest[:min(len(rest), 5)])
			if m <= 0 || len(rest) < m+1 {
				return nil
			}
			if total += k; total > maxLocals {
				return fmt.Errorf("a function declares more than %d locals", maxLocals)
			}
			rest = rest[m+1:]
		}
	}
	return nil
}

// uleb reads an unsigned LEB128 of at most 5 bytes.
func uleb(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b[:min(len(b), 5)])
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}

// skipName skips a length-prefixed name.
func skipName(b []byte) ([]byte, bool) {
	n, rest, ok := uleb(b)
	if !ok || n > uint64(len(rest)) {
		return nil, false
	}
	return rest[n:], true
}

// precheckCustom checks the counts inside the "name" custom section, which wazero decodes
// (function names and local names, each a vector of at least 2 bytes per entry).
func precheckCustom(b []byte) error {
	n, rest, ok := uleb(b)
	if ok && n > uint64(len(rest)) {
		return errNameLength(n, len(rest))
	}
	if !ok || string(rest[:n]) != "name" {
		return nil
	}
	b = rest[n:]
	for len(b) > 0 {
		id := b[0]
		size, rest, ok := uleb(b[1:])
		if !ok || size > uint64(len(rest)) {
			return nil // the decoder reports it
		}
		sub := rest[:size]
		b = rest[size:]
		if id != 1 && id != 2 {
			continue
		}
		count, entries, err := vecLen(sub, 2, "names")
		if err != nil {
			return fmt.Errorf("name section: %w", err)
		}
		if id == 1 {
			continue
		}
		for range count { // local names: index, then a vector of (index, name)
			if _, entries, ok = uleb(entries); !ok {
				return nil
			}
			var locals uint64
			if locals, entries, err = vecLen(entries, 2, "local names"); err != nil {
				return fmt.Errorf("name section: %w", err)
			}
			for range locals {
				if _, entries, ok = uleb(entries); !ok {
					return nil
				}
				if entries, ok = skipName(entries); !ok {
					return nil
				}
			}
		}
	}
	return nil
}

// precheckElements checks the vector of each element segment: function indices or constant
// expressions, at least a byte each. It stops, leaving the error to the decoder, at anything
// it does not know; the decoder stops there too, before it reads a later vector.
func precheckElements(b []byte) error {
	count, b, err := vecLen(b, 2, "element segments")
	if err != nil {
		return err
	}
	for i := range count {
		flags, rest, ok := uleb(b)
		if !ok || flags > 7 {
			return nil
		}
		if b, ok = skipSegmentHead(rest, flags&3 == 2, flags&1 == 0); !ok {
			return nil
		}
		if flags&3 != 0 { // element kind, or reference type
			if b, ok = skipRefType(b, flags&4 != 0); !ok {
				return nil
			}
		}
		n, rest, err := vecLen(b, 1, "elements")
		if err != nil {
			return fmt.Errorf("element segment %d: %w", i, err)
		}
		b = rest
		for range n {
			if flags&4 == 0 {
				_, b, ok = uleb(b)
			} else {
				b, ok = skipConstExpr(b)
			}
			if !ok {
				return nil
			}
		}
	}
	return nil
}

// precheckData checks that each data segment's bytes are there.
func precheckData(b []byte) error {
	count, b, err := vecLen(b, 2, "data segments")
	if err != nil {
		return err
	}
	for i := range count {
		flags, rest, ok := uleb(b)
		if !ok || flags > 2 {
			return nil
		}
		if b, ok = skipSegmentHead(rest, flags == 2, flags != 1); !ok {
			return nil
		}
		n, rest, err := vecLen(b, 1, "bytes")
		if err != nil {
			return fmt.Errorf("data segment %d: %w", i, err)
		}
		b = rest[n:]
	}
	return nil
}

// skipSegmentHead skips what an element or data segment has before its vector: a table or
// memory index when indexed, and an offset expression when active.
func skipSegmentHead(b []byte, indexed, active bool) ([]byte, bool) {
	ok := true
	if indexed {
		_, b, ok = uleb(b)
	}
	if ok && active {
		b, ok = skipConstExpr(b)
	}
	return b, ok
}

// skipRefType skips an element segment's element kind (one byte) or, with ref, a reference
// type: a byte, or 0x63/0x64 and a heap type.
func skipRefType(b []byte, ref bool) ([]byte, bool) {
	if len(b) == 0 {
		return nil, false
	}
	if ref && (b[0] == 0x63 || b[0] == 0x64) {
		return skipLEB(b[1:], 5)
	}
	return b[1:], true
}

// skipConstExpr skips a constant expression, as wazero decodes one: the instructions it
// allows, up to end. It reports false at anything else.
func skipConstExpr(b []byte) ([]byte, bool) {
	for len(b) > 0 {
		op := b[0]
		b = b[1:]
		ok := true
		switch op {
		case 0x0b: // end
			return b, true
		case 0x41, 0x23, 0xd2: // i32.const, global.get, ref.func
			b, ok = skipLEB(b, 5)
		case 0x42: // i64.const
			b, ok = skipLEB(b, 10)
		case 0x43, 0x44: // f32.const, f64.const
			size := 4 * int(op-0x42)
			if ok = len(b) >= size; ok {
				b = b[size:]
			}
		case 0xd0: // ref.null: an abstract heap type (one byte) or a type index
			if ok = len(b) > 0; ok && b[0] != 0x70 && b[0] != 0x6f && b[0] != 0x69 {
				b, ok = skipLEB(b, 5)
			} else if ok {
				b = b[1:]
			}
		case 0xfd: // v128.const
			var sub uint64
			if sub, b, ok = uleb(b); ok && sub == 12 && len(b) >= 16 {
				b = b[16:]
			} else {
				ok = false
			}
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const arithmetic
		default:
			return nil, false
		}
		if !ok {
			return nil, false
		}
	}
	return nil, false
}

// skipLEB skips a LEB128 of at most max bytes.
func skipLEB(b []byte, max int) ([]byte, bool) {
	for i := 0; i < len(b) && i < max; i++ {
		if b[i]&0x80 == 0 {
			return b[i+1:], true
		}
	}
	return nil, false
}

// errNameLength is the error of a name longer than the bytes that follow its length: wazero
// allocates a name's bytes before reading them.
func errNameLength(n uint64, left int) error {
	return fmt.Errorf("declares a name of %d bytes in %d bytes", n, left)
}

// checkName skips a length-prefixed name, failing when it cannot fit; ok is false when the
// length itself is unreadable (the decoder reports that).
func checkName(b []byte) (rest []byte, ok bool, err error) {
	n, rest, ok := uleb(b)
	if !ok {
		return nil, false, nil
	}
	if n > uint64(len(rest)) {
		return nil, false, errNameLength(n, len(rest))
	}
	return rest[n:], true, nil
}

// precheckImports checks the two names of each import. It stops, leaving the error to the
// decoder, at an import description it does not know.
func precheckImports(b []byte) error {
	count, b, err := vecLen(b, 4, "imports")
	if err != nil {
		return err
	}
	for i := range count {
		ok := true
		for range 2 { // module, then name
			if b, ok, err = checkName(b); err != nil {
				return fmt.Errorf("import %d: %w", i, err)
			} else if !ok {
				return nil
			}
		}
		if len(b) == 0 {
			return nil
		}
		kind := b[0]
		b = b[1:]
		switch kind {
		case 0x00: // function: a type index
			b, ok = skipLEB(b, 5)
		case 0x01: // table: a reference type and limits, after 0x40 0x00 an initializer too
			init := len(b) > 1 && b[0] == 0x40 && b[1] == 0x00
			if init {
				b = b[2:]
			}
			if b, ok = skipRefType(b, true); ok {
				b, ok = skipLimits(b)
			}
			if ok && init {
				b, ok = skipConstExpr(b)
			}
		case 0x02: // memory: limits
			b, ok = skipLimits(b)
		case 0x03: // global: a value type, then mutability
			if b, ok = skipRefType(b, true); ok && len(b) > 0 {
				b = b[1:]
			} else {
				ok = false
			}
		case 0x04: // tag: an attribute, then a type index
			if ok = len(b) > 0; ok {
				b, ok = skipLEB(b[1:], 5)
			}
		default:
			ok = false
		}
		if !ok {
			return nil
		}
	}
	return nil
}

// skipLimits skips the limits of a table or memory of 32-bit indices (flags 0 to 3).
func skipLimits(b []byte) ([]byte, bool) {
	if len(b) == 0 || b[0] > 3 {
		return nil, false
	}
	hasMax := b[0]&1 != 0
	b, ok := skipLEB(b[1:], 5)
	if ok && hasMax {
		b, ok = skipLEB(b, 5)
	}
	return b, ok
}

// precheckExports checks the name of each export.
func precheckExports(b []byte) error {
	count, b, err := vecLen(b, 3, "exports")
	if err != nil {
		return err
	}
	for i := range count {
		var ok bool
		if b, ok, err = checkName(b); err != nil {
			return fmt.Errorf("export %d: %w", i, err)
		} else if !ok || len(b) == 0 {
			return nil
		}
		if b, ok = skipLEB(b[1:], 5); !ok { // kind, then index
			return nil
		}
	}
	return nil
}
