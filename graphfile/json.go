package graphfile

import (
	"bytes"
	"encoding/json"
	"math"
	"unicode/utf8"
)

// This file reads a graph file that is JSON into the same vnodes as the YAML reader, in one
// pass over the bytes. JSON is what programs generate, and generated files are the ones that
// hold large literals: the YAML parser keeps several copies of a file as runes (about 10 bytes
// per byte of a 100 MB string, and 50 allocated along the way), while this reader makes each
// string once. Anything it is not sure of, it leaves to the YAML reader, which then reports
// the error or reads the file as before; positions are the YAML reader's (line, and column in
// characters).

// jsonReader is a cursor over the bytes of a JSON graph file.
type jsonReader struct {
	src       []byte
	off       int
	line, col int // of src[off]
}

// errNotPlainJSON is returned for input the JSON reader leaves to the YAML reader.
var errNotPlainJSON = &Error{msg: "not plain JSON"}

// parseJSONGraph reads src if it is a JSON object the YAML reader would read the same way.
// It reports false otherwise.
func parseJSONGraph(src []byte) (*vnode, bool) {
	if bytes.IndexByte(src, '\t') >= 0 { // the YAML reader has rules of its own for tabs
		return nil, false
	}
	r := &jsonReader{src: src, line: 1, col: 1}
	r.space()
	if r.off >= len(src) || src[r.off] != '{' {
		return nil, false
	}
	v, err := r.value(0)
	if err != nil {
		return nil, false
	}
	r.space()
	if r.off != len(src) {
		return nil, false
	}
	return v, true
}

// advance moves the cursor to src[to], counting lines and characters.
func (r *jsonReader) advance(to int) {
	for i := r.off; i < to; i++ {
		switch c := r.src[i]; {
		case c == '\n' && i > 0 && r.src[i-1] == '\r': // CR LF is one line break
		case c == '\n' || c == '\r':
			r.line, r.col = r.line+1, 1
		case c&0xc0 != 0x80: // not a UTF-8 continuation byte: a new character
			r.col++
		}
	}
	r.off = to
}

// space skips JSON whitespace.
func (r *jsonReader) space() {
	i := r.off
	for i < len(r.src) && (r.src[i] == ' ' || r.src[i] == '\n' || r.src[i] == '\r') {
		i++
	}
	r.advance(i)
}

func (r *jsonReader) pos() pos { return pos{r.line, r.col} }

// value reads one value at the cursor.
func (r *jsonReader) value(depth int) (*vnode, error) {
	if depth > maxNesting || r.off >= len(r.src) {
		return nil, errNotPlainJSON
	}
	p := r.pos()
	switch c := r.src[r.off]; {
	case c == '{':
		return r.object(depth)
	case c == '[':
		r.advance(r.off + 1)
		v := &vnode{kind: vList, pos: p}
		r.space()
		if r.off < len(r.src) && r.src[r.off] == ']' {
			r.advance(r.off + 1)
			return v, nil
		}
		for {
			r.space()
			x, err := r.value(depth + 1)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, x)
			v.hasRef = v.hasRef || x.hasRef
			closed, ok := r.next(']')
			if !ok {
				return nil, errNotPlainJSON
			}
			if closed {
				return v, nil
			}
		}
	case c == '"':
		s, err := r.str()
		if err != nil {
			return nil, err
		}
		// As the YAML reader reads a quoted string: a reference when it starts with $.
		v, err := (&yamlReader{}).str(s, p)
		if err != nil {
			return nil, errNotPlainJSON // the YAML reader names the file in the message
		}
		return v, nil
	case c == 't' && bytes.HasPrefix(r.src[r.off:], []byte("true")):
		r.advance(r.off + 4)
		return &vnode{kind: vLit, pos: p, lit: true}, nil
	case c == 'f' && bytes.HasPrefix(r.src[r.off:], []byte("false")):
		r.advance(r.off + 5)
		return &vnode{kind: vLit, pos: p, lit: false}, nil
	case c == 'n' && bytes.HasPrefix(r.src[r.off:], []byte("null")):
		r.advance(r.off + 4)
		return &vnode{kind: vLit, pos: p}, nil
	case c == '-' || c >= '0' && c <= '9':
		end := r.off
		for end < len(r.src) && bytes.IndexByte([]byte("+-.0123456789eE"), r.src[end]) >= 0 {
			end++
		}
		text := string(r.src[r.off:end])
		if !jsonNumber.MatchString(text) {
			return nil, errNotPlainJSON
		}
		lit := jsonNumberValue(text)
		if f, isFloat := lit.(float64); isFloat && (math.IsInf(f, 0) || bytes.IndexAny(r.src[r.off:end], ".eE") < 0) {
			return nil, errNotPlainJSON // out of range: the YAML reader has its own way with it
		}
		r.advance(end)
		return &vnode{kind: vLit, pos: p, lit: lit}, nil
	}
	return nil, errNotPlainJSON
}

// object reads a JSON object at the cursor.
func (r *jsonReader) object(depth int) (*vnode, error) {
	open := r.pos()
	r.advance(r.off + 1)
	v := &vnode{kind: vMap, pos: open}
	r.space()
	if r.off < len(r.src) && r.src[r.off] == '}' {
		r.advance(r.off + 1)
		return v, nil
	}
	for {
		r.space()
		if r.off >= len(r.src) || r.src[r.off] != '"' {
			return nil, errNotPlainJSON
		}
		kp := r.pos()
		k, err := r.str()
		if err != nil {
			return nil, err
		}
		if k == "<<" || v.get(k) != nil { // a merge key, or a duplicate the YAML reader reports
			return nil, errNotPlainJSON
		}
		r.space()
		if r.off >= len(r.src) || r.src[r.off] != ':' {
			return nil, errNotPlainJSON
		}
		r.advance(r.off + 1)
		r.space()
		x, err := r.value(depth + 1)
		if err != nil {
			return nil, err
		}
		if len(v.keys) == 0 {
			v.pos = kp // as the YAML reader places a mapping: at its first key
		}
		v.keys = append(v.keys, k)
		v.keyPos = append(v.keyPos, kp)
		v.items = append(v.items, x)
		v.hasRef = v.hasRef || x.hasRef
		closed, ok := r.next('}')
		if !ok {
			return nil, errNotPlainJSON
		}
		if closed {
			if v, err = taggedMap(v); err != nil {
				return nil, errNotPlainJSON // the YAML reader reports it, with the file's name
			}
			return v, nil
		}
	}
}

// next skips whitespace and then a comma or the closing byte, and reports which (closed), or
// that neither was there (!ok).
func (r *jsonReader) next(closing byte) (closed, ok bool) {
	r.space()
	if r.off >= len(r.src) || r.src[r.off] != ',' && r.src[r.off] != closing {
		return false, false
	}
	c := r.src[r.off]
	r.advance(r.off + 1)
	return c == closing, true
}

// str reads the JSON string at the cursor. The bytes are copied once, into the string.
func (r *jsonReader) str() (string, error) {
	end, escaped := r.off+1, false
	for ; end < len(r.src); end++ {
		c := r.src[end]
		if c == '\\' {
			escaped = true
			end++
			continue
		}
		if c == '"' || c < 0x20 {
			break
		}
	}
	if end >= len(r.src) || r.src[end] != '"' {
		return "", errNotPlainJSON
	}
	end++
	var s string
	switch {
	case !utf8.Valid(r.src[r.off:end]):
		return "", errNotPlainJSON
	case !escaped:
		s = string(r.src[r.off+1 : end-1])
	default:
		if err := json.Unmarshal(r.src[r.off:end], &s); err != nil {
			return "", errNotPlainJSON
		}
	}
	r.advance(end)
	return s, nil
}
