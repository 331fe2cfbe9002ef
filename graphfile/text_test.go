package graphfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestParse_Text checks how the bytes of a file are read: a UTF-8 byte-order mark is skipped,
// and bytes that are not UTF-8 text are an error at their place, never replaced.
func TestParse_Text(t *testing.T) {
	const ok = "modules: {seed: seed.wasm}\ntasks:\n  a: {call: seed.inc, args: [\"caf\u00e9\"]}\n"
	wasm, err := os.ReadFile(filepath.Join("..", "testdata", "seed.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, src, want string // want: the error, or "" for none
	}{
		{"utf-8", ok, ""},
		{"bom yaml", "\xef\xbb\xbf" + ok, ""},
		{"bom json", "\xef\xbb\xbf" + `{"modules": {"seed": "seed.wasm"}, "tasks": {"a": {"call": "seed.inc", "args": ["caf` + "\u00e9" + `"]}}}`, ""},
		{"latin-1", "modules: {seed: seed.wasm}\ntasks:\n  a: {call: seed.inc, args: [\"caf\xe9\"]}\n",
			`g.yaml:3:34: invalid UTF-8 (byte 0xe9): a graph file is UTF-8 text; save it as UTF-8`},
		{"latin-1 json", `{"modules": {"seed": "seed.wasm"}, "tasks": {"a": {"call": "seed.inc", "args": ["caf` + "\xe9" + `"]}}}`,
			`g.yaml:1:85: invalid UTF-8 (byte 0xe9): a graph file is UTF-8 text; save it as UTF-8`},
		{"truncated", "modules: {seed: seed.wasm}\n# \u00e9\xc3",
			`g.yaml:2:4: invalid UTF-8 (byte 0xc3): a graph file is UTF-8 text; save it as UTF-8`},
		{"wasm", string(wasm),
			`g.yaml: this is a WebAssembly module, not a graph file: call its functions with mrun call, or name it under modules: in a graph file`},
		{"binary", "modules: {seed: seed.wasm}\x00\x01",
			`g.yaml:1:27: binary data (byte 0x00): a graph file is YAML or JSON text`},
		{"tab", "modules: {seed: seed.wasm}\ntasks:\n\ta: {call: seed.inc, args: [1]}\n",
			`g.yaml:3:1: a tab indents this line: YAML indents with spaces only; replace the tab with spaces`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := Parse("g.yaml", []byte(tt.src), ".", 100)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := g.tasks[0].insts[0].args[0].lit; got != "caf\u00e9" {
					t.Errorf("argument %q, want %q", got, "caf\u00e9")
				}
				return
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (%T), want an *Error", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n%s\nwant\n%s", err, tt.want)
			}
		})
	}
}

// TestParse_Hints checks the messages of mistakes YAML makes easy: they say what to write.
func TestParse_Hints(t *testing.T) {
	tests := []struct{ name, tasks, want string }{
		{"foreach number", "  a: {call: seed.inc, foreach: 5, args: [$item]}\n",
			`g.yaml:3:32: task "a": foreach needs a list, and 5 is a single value: for the numbers 0 to 4, write foreach: {range: 5}`},
		{"unquoted index in a flow list", "  t: {call: seed.inc, foreach: [1, 2], args: [$item]}\n  s: {call: seed.sum_all, args: [$t[0]]}\n",
			`g.yaml:4:36: ',' or ']' must be specified (inside [ ] or { }, quote a reference with an index, as in "$t[0]", or write $t.0)`},
		{"unquoted index in a flow map", "  t: {call: seed.inc, foreach: [1, 2], args: [$item]}\n  s: {call: seed.sum_all, kwargs: {x: $t[*]}}\n",
			`g.yaml:4:41: ',' or '}' must be specified (inside [ ] or { }, quote a reference with an index, as in "$t[*]", or write $t.*)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("g.yaml", []byte(graphHead+tt.tasks), ".", 100)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n%v\nwant\n%s", err, tt.want)
			}
		})
	}
}

// BenchmarkCheckText measures the check of a YAML file's text: 16 MiB of arguments with a
// non-ASCII letter every 48 bytes.
func BenchmarkCheckText(b *testing.B) {
	src := bytes.Repeat([]byte("  - \"caf\u00e9 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n"), 16<<20/48)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if err := checkText("b.yaml", src); err != nil {
			b.Fatal(err)
		}
	}
}
