// Package termsafe makes untrusted text safe to show on a terminal: control characters that
// a terminal would act on (move the cursor, erase a line, set the window title, write the
// clipboard) are replaced by visible escapes, so that what a guest writes is seen, never
// obeyed.
//
// The escapes follow Go's and JSON's notation: a control byte or an invalid UTF-8 byte
// becomes \xHH, a C1 control character (U+0080 to U+009F) becomes \u00HH, and a backslash
// becomes \\, so that every backslash on the screen starts an escape and the output cannot be
// mistaken for what it stands for. Newline and tab are kept, and so is a carriage return
// directly before a newline (a Windows line ending cannot overwrite anything); a lone carriage
// return is escaped, because it returns to the start of the line and lets the next text
// overwrite it. The invisible bidirectional formatting characters (U+061C, U+200E, U+200F,
// U+202A to U+202E, U+2066 to U+2069), which make a terminal show text in another order than
// it is written, become \uHHHH too. Other valid UTF-8 is kept as it is.
//
// Escaping is for terminals only: output that goes to a pipe or a file keeps its bytes.
package termsafe

import (
	"unicode/utf8"
)

const hex = "0123456789abcdef"

// Append appends b to dst with control characters, invalid UTF-8 and backslashes escaped
// (see the package comment), and returns the extended buffer.
func Append(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '\\':
				dst = append(dst, '\\', '\\')
			case c == '\n', c == '\t', c == '\r' && i+1 < len(b) && b[i+1] == '\n':
				dst = append(dst, c)
			case c < 0x20, c == 0x7f:
				dst = append(dst, '\\', 'x', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, '\\', 'x', hex[c>>4], hex[c&0xf])
		case r >= 0x80 && r <= 0x9f, bidi(r):
			dst = appendU(dst, r)
		default:
			dst = append(dst, b[i:i+n]...)
		}
		i += n
	}
	return dst
}

// Bytes returns b with control characters escaped. It returns b itself when nothing needs
// escaping.
func Bytes(b []byte) []byte {
	if safe(b) {
		return b
	}
	return Append(make([]byte, 0, len(b)+len(b)/8+8), b)
}

// String returns s with control characters escaped. It returns s itself when nothing needs
// escaping.
func String(s string) string {
	if safe([]byte(s)) { // no copy: the conversion does not escape
		return s
	}
	return string(Append(make([]byte, 0, len(s)+len(s)/8+8), []byte(s)))
}

// safe reports whether b prints as it is: printable ASCII, newline and tab, CR LF, and valid
// UTF-8 without C1 controls.
func safe(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == '\\' || c == 0x7f || c < 0x20 && c != '\n' && c != '\t' && !(c == '\r' && i+1 < len(b) && b[i+1] == '\n') {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || r <= 0x9f || bidi(r) {
			return false
		}
		i += n
	}
	return true
}

// JSON returns the JSON text b with DEL and the C1 control characters, which encoding/json
// leaves as they are, written as \u escapes, and returns b itself when it holds none. The
// result is the same JSON value. Everything else a terminal acts on (the C0 controls, ESC
// among them) is escaped by encoding/json already, and JSON text outside strings is printable
// ASCII.
func JSON(b []byte) []byte {
	need := false
	for i := 0; i < len(b) && !need; i++ {
		need = b[i] == 0x7f || b[i] >= utf8.RuneSelf && jsonEscaped(b[i:])
	}
	if !need {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); {
		if b[i] == 0x7f {
			out = append(out, `\u007f`...)
			i++
			continue
		}
		if b[i] < utf8.RuneSelf {
			out = append(out, b[i])
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if jsonEscaped(b[i:]) {
			out = appendU(out, r)
		} else {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

// jsonEscaped reports whether the UTF-8 sequence at the start of b is a character JSON must
// show as a \u escape on a terminal: a C1 control or a bidirectional formatting character.
func jsonEscaped(b []byte) bool {
	r, _ := utf8.DecodeRune(b)
	return r >= 0x80 && r <= 0x9f || bidi(r)
}

// bidi reports whether r is an invisible bidirectional formatting character: the Arabic letter
// mark, the left-to-right and right-to-left marks, and the embedding, override and isolate
// controls.
func bidi(r rune) bool {
	return r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069
}

// appendU appends the escape \uHHHH of r, which is below U+10000.
func appendU(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}
