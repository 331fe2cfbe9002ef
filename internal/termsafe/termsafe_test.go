package termsafe_test

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/mrun-dev/mrun/internal/termsafe"
)

func TestString(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "sum = 55\n", "sum = 55\n"},
		{"newline and tab kept", "a\tb\nc\n", "a\tb\nc\n"},
		{"CR LF kept", "line\r\n", "line\r\n"},
		{"lone CR", "50%\r100%", `50%\x0d100%`},
		{"OSC 52 clipboard", "\x1b]52;c;ZWNobyBoaQ==\x07", `\x1b]52;c;ZWNobyBoaQ==\x07`},
		{"OSC 0 title", "\x1b]0;owned\x1b\\", `\x1b]0;owned\x1b\\`},
		{"CSI erase line", "\x1b[2K\rmrun: all tasks succeeded\n", `\x1b[2K\x0dmrun: all tasks succeeded` + "\n"},
		{"C1 CSI", "\u009b2K", `\u009b2K`},
		{"C1 OSC and ST", "\u009d0;t\u009c", `\u009d0;t\u009c`},
		{"BEL", "ding\a", `ding\x07`},
		{"backspace", "secret\b\b\b\b\b\b******", `secret\x08\x08\x08\x08\x08\x08******`},
		{"NUL", "a\x00b", `a\x00b`},
		{"DEL", "a\x7fb", `a\x7fb`},
		{"backslash", `C:\dir \x1b`, `C:\\dir \\x1b`},
		{"valid UTF-8 kept", "héllo, 世界 🙂 ¡\u00a0", "héllo, 世界 🙂 ¡\u00a0"},
		{"invalid UTF-8 bytes", "a\xffb\xc2", `a\xffb\xc2`},
		{"raw C1 byte, not UTF-8", "\x9b2K", `\x9b2K`},
		{"overlong encoding of ESC", "\xc0\x9b", `\xc0\x9b`},
		{"bidi override", "ok\u202eexe.txt", `ok\u202eexe.txt`},
		{"bidi marks and isolates", "\u200e\u200f\u061c\u2066a\u2069", `\u200e\u200f\u061c\u2066a\u2069`},
		{"near bidi kept", "\u2029\u202f\u2065", "\u2029\u202f\u2065"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := termsafe.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := string(termsafe.Bytes([]byte(tt.in))); got != tt.want {
				t.Errorf("Bytes(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := string(termsafe.Append([]byte("> "), []byte(tt.in))); got != "> "+tt.want {
				t.Errorf("Append(%q) = %q, want %q", tt.in, got, "> "+tt.want)
			}
		})
	}
}

// TestString_NoControlLeft checks every single byte and every rune below U+0100: what comes
// out holds no byte a terminal acts on.
func TestString_NoControlLeft(t *testing.T) {
	for c := 0; c < 0x100; c++ {
		for _, in := range []string{string([]byte{byte(c)}), string(rune(c))} {
			out := termsafe.String(in)
			for i, r := range out {
				if r < 0x20 && r != '\n' && r != '\t' || r >= 0x7f && r <= 0x9f || r == 0xfffd && out[i] != 0xef {
					t.Errorf("String(%q) = %q holds %U", in, out, r)
				}
			}
		}
	}
}

func TestJSON(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"C0 escaped by encoding/json", "\x1b[2K\r\a", `"\u001b[2K\r\u0007"`},
		{"DEL", "a\x7fb", `"a\u007fb"`},
		{"C1 CSI", "\u009b2K", `"\u009b2K"`},
		{"C1 in a key", map[string]any{"k\u0085": 1}, `{"k\u0085":1}`},
		{"bidi override", "ok\u202eexe.txt", `"ok\u202eexe.txt"`},
		{"other UTF-8 kept", []any{"é¡", "世界", "\u202f"}, "[\"é¡\",\"世界\",\"\u202f\"]"},
		{"nothing to do", []any{1, 2.5, true, nil}, `[1,2.5,true,null]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := termsafe.JSON(b)
			if string(got) != tt.want {
				t.Fatalf("JSON(%s) = %s, want %s", b, got, tt.want)
			}
			var before, after any
			if err := json.Unmarshal(b, &before); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(got, &after); err != nil {
				t.Fatalf("JSON(%s) = %s, not JSON: %v", b, got, err)
			}
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Fatalf("JSON changed the value: %v, then %v", before, after)
			}
		})
	}
}

func FuzzString(f *testing.F) {
	f.Add([]byte("\x1b]52;c;aGk=\x07\u009b\r\n\\"))
	f.Add([]byte("a\u202eb\u2066c\u200f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		out := termsafe.Bytes(b)
		for i := 0; i < len(out); {
			r, n := rune(out[i]), 1
			if r >= 0x80 {
				var size int
				r, size = decode(out[i:])
				n = size
				if r == -1 {
					t.Fatalf("Bytes(%q) = %q: invalid UTF-8 at %d", b, out, i)
				}
			}
			if r < 0x20 && r != '\n' && r != '\t' && !(r == '\r' && i+1 < len(out) && out[i+1] == '\n') || r >= 0x7f && r <= 0x9f ||
				r == 0x061c || r == 0x200e || r == 0x200f || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
				t.Fatalf("Bytes(%q) = %q: control %U at %d", b, out, r, i)
			}
			i += n
		}
	})
}

func decode(b []byte) (rune, int) {
	s := string(b)
	for _, r := range s {
		if r == 0xfffd && !(len(b) >= 3 && b[0] == 0xef && b[1] == 0xbf && b[2] == 0xbd) {
			return -1, 1
		}
		return r, len(string(r))
	}
	return -1, 1
}

func ExampleString() {
	fmt.Println(termsafe.String("\x1b]0;title\a\x1b[2K\rdone\u009b"))
	// Output: \x1b]0;title\x07\x1b[2K\x0ddone\u009b
}
