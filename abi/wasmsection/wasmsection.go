// Package wasmsection reads and replaces the custom sections of a WebAssembly binary without
// decoding the rest of it: a custom section is section id 0, its size as unsigned LEB128, then
// a name (LEB128 length and UTF-8 bytes) and the content, and it may sit between any two
// sections of a module. mrun keeps function signatures in one (ABI.md section 10).
package wasmsection

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// ErrNotWasm is wrapped by the errors of bytes that are not a WebAssembly binary of version 1
// whose sections can be walked.
var ErrNotWasm = errors.New("not a WebAssembly module")

var header = []byte("\x00asm\x01\x00\x00\x00")

// section is one section of a module: wasm[start:end] is the whole section, header included.
type section struct {
	id         byte
	start, end int
	name       string // of a custom section
	content    []byte // of a custom section
}

func sections(wasm []byte) ([]section, error) {
	if len(wasm) < 8 || string(wasm[:8]) != string(header) {
		return nil, fmt.Errorf("%w: it does not start with the \\0asm magic number and version 1", ErrNotWasm)
	}
	var out []section
	for off := 8; off < len(wasm); {
		b := wasm[off:]
		size, n := binary.Uvarint(b[1:min(len(b), 6)])
		if n <= 0 || size > uint64(len(b)-1-n) {
			return nil, fmt.Errorf("%w: section %d at byte %d: size runs past the end of the module", ErrNotWasm, b[0], off)
		}
		s := section{id: b[0], start: off, end: off + 1 + n + int(size)}
		if s.id == 0 {
			body := b[1+n : 1+n+int(size)]
			l, m := binary.Uvarint(body[:min(len(body), 5)])
			if m <= 0 || l > uint64(len(body)-m) {
				return nil, fmt.Errorf("%w: custom section at byte %d: name runs past the end of the section", ErrNotWasm, off)
			}
			s.name, s.content = string(body[m:m+int(l)]), body[m+int(l):]
		}
		out = append(out, s)
		off = s.end
	}
	return out, nil
}

// Custom returns the contents of the custom sections of wasm called name, in the order they
// appear; none when there is no such section. The contents share memory with wasm.
func Custom(wasm []byte, name string) ([][]byte, error) {
	secs, err := sections(wasm)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for _, s := range secs {
		if s.id == 0 && s.name == name {
			out = append(out, s.content)
		}
	}
	return out, nil
}

// Set returns a copy of wasm without its custom sections called name, followed by one custom
// section called name that holds content. Setting the same content twice gives the same bytes.
// An empty content removes the section: wazero (v1.12.0) refuses a module with an empty
// custom section.
func Set(wasm []byte, name string, content []byte) ([]byte, error) {
	if !utf8.ValidString(name) {
		return nil, fmt.Errorf("custom section name %q is not UTF-8", name)
	}
	secs, err := sections(wasm)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(wasm)+len(name)+len(content)+16)
	out = append(out, header...)
	for _, s := range secs {
		if s.id != 0 || s.name != name {
			out = append(out, wasm[s.start:s.end]...)
		}
	}
	if len(content) == 0 {
		return out, nil
	}
	body := binary.AppendUvarint(nil, uint64(len(name)))
	body = append(body, name...)
	body = append(body, content...)
	if uint64(len(body)) > 1<<32-1 {
		return nil, fmt.Errorf("custom section %q is %d bytes, over the 4 GiB a section can hold", name, len(body))
	}
	out = append(out, 0)
	out = binary.AppendUvarint(out, uint64(len(body)))
	return append(out, body...), nil
}
