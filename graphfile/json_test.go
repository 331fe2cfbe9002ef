package graphfile

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// jsonGraphs are JSON graph files the JSON reader must read exactly as the YAML reader does.
var jsonGraphs = []string{
	`{"modules": {"seed": "seed.wasm"}, "tasks": {"a": {"call": "seed.inc", "args": [1]}}}`,
	"{\n  \"modules\": {\"s\": {\"path\": \"s.wasm\", \"env\": {\"K\": \"ü\"}}},\n \"tasks\": {\"é\": {\"call\": \"s.f\", \"args\": [[], {}, [[2]], -0, 1.5e3, 1E-2, 0.5, 18446744073709551615, -9223372036854775808, true, false, null]},\n" +
		"  \"b\": {\"call\": \"s.f\", \"foreach\": \"$a\", \"args\": [\"$item\", \"$$lit\", \"$a.1\", \"$a[*]\", \"a\\\"b\\\\c\\u00e9\\n\", \"12\", \"\"]}}\n}\n",
	`{"tasks":{"a":{"call":"x.y","kwargs":{"k":{"deep":[{"x":"$t"}]}}}},"modules":{"x":"x.wasm"},"outputs":{"o":["$a",{"p":"$a"}]}}`,
	"\r\n{ \"a\" : [ 1 , 2 ] , \"b\" : { } }\r\n",
	`{"t": [{"$tensor": {"dtype": "float32", "shape": [2], "data": [1.5, "NaN"]}}, {"$$table": {"$$$tensor": 1}}],` +
		` "u": {"$table": {"columns": [{"name": "s", "type": "string", "data": ["$$x", "é"]}, {"name": "t", "type": "timestamp", "data": [0, "2026-12-07T12:00:00Z"]}]}}}`,
}

// notPlainJSON are inputs the JSON reader must leave to the YAML reader.
var notPlainJSON = []string{
	`tasks: {}`,
	`{"a": 1}}`,
	`{"a": 1,}`,
	`{"a": 1, "a": 2}`,
	`{"<<": {"a": 1}}`,
	`{"a": "\x41"}`,
	"{\"a\": \"tab\there\"}",
	"{\t\"0\": {}}",
	`{"a": 123456789012345678901234567890}`,
	`{"a": 1e400}`,
	`{"a": 01}`,
	`{"a": tru}`,
	`{"a": [1 2]}`,
	`{"a": "$"}`,
	"{\"a\": \"\xff\"}",
	`{"a": 1`,
}

func TestParseJSONGraph(t *testing.T) {
	srcs := append([]string{}, jsonGraphs...)
	for _, name := range []string{"seed.json"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, string(b))
	}
	for i, src := range srcs {
		got, ok := parseJSONGraph([]byte(src))
		if !ok {
			t.Errorf("graph %d: the JSON reader refused it", i)
			continue
		}
		want, err := parseYAMLText("g.json", []byte(src))
		if err != nil {
			t.Fatalf("graph %d: %v", i, err)
		}
		if d := diffNodes(got, want, "$"); d != "" {
			t.Errorf("graph %d: the readers differ at %s", i, d)
		}
	}
	for _, src := range notPlainJSON {
		if _, ok := parseJSONGraph([]byte(src)); ok {
			t.Errorf("the JSON reader read %q; want it left to the YAML reader", src)
		}
	}
}

// diffNodes describes the first difference between two vnode trees, or returns "".
func diffNodes(a, b *vnode, path string) string {
	switch {
	case a.kind != b.kind:
		return fmt.Sprintf("%s: kind %d, YAML %d", path, a.kind, b.kind)
	case a.pos != b.pos:
		return fmt.Sprintf("%s: at %v, YAML at %v", path, a.pos, b.pos)
	case !reflect.DeepEqual(a.lit, b.lit):
		return fmt.Sprintf("%s: %#v, YAML %#v", path, a.lit, b.lit)
	case a.hasRef != b.hasRef || !reflect.DeepEqual(a.ref, b.ref):
		return fmt.Sprintf("%s: reference %+v, YAML %+v", path, a.ref, b.ref)
	case len(a.items) != len(b.items) || !reflect.DeepEqual(a.keys, b.keys) || !reflect.DeepEqual(a.keyPos, b.keyPos):
		return fmt.Sprintf("%s: keys %q at %v, YAML %q at %v (%d and %d items)", path, a.keys, a.keyPos, b.keys, b.keyPos, len(a.items), len(b.items))
	}
	for i := range a.items {
		if d := diffNodes(a.items[i], b.items[i], path+"."+fmt.Sprint(i)); d != "" {
			return d
		}
	}
	return ""
}

// TestParseJSONGraph_Memory checks that reading a large JSON string costs about its size
// once more, not the YAML parser's many copies.
func TestParseJSONGraph_Memory(t *testing.T) {
	const n = 16 << 20
	src := []byte(`{"modules": {"f": "f.wasm"}, "tasks": {"a": {"call": "f.echo", "args": ["` + strings.Repeat("x", n) + `"]}}}`)
	before := heapAlloc()
	g, err := parseGraph("g.json", src, ".")
	used := heapAlloc() - before
	if err != nil {
		t.Fatal(err)
	}
	if s := g.tasks[0].insts[0].args[0].lit.(string); len(s) != n {
		t.Fatalf("the string has %d bytes, want %d", len(s), n)
	}
	if used > 2*n {
		t.Errorf("reading a %d-byte string allocated %d bytes, want at most twice its size", n, used)
	}
}

func FuzzParseJSONGraph(f *testing.F) {
	f.Add([]byte("{\"a\": \"caf\xe9\"}"))
	f.Add([]byte("{\"a\": \"\x00\"}"))
	for _, s := range append(jsonGraphs, notPlainJSON...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		got, ok := parseJSONGraph(src)
		if !ok {
			return
		}
		// parseYAML checks the text of the files the JSON reader leaves to YAML only.
		if err := checkText("f.json", src); err != nil {
			t.Fatalf("the JSON reader read %q, which is not text: %v", src, err)
		}
		want, err := parseYAMLText("f.json", src)
		if err != nil {
			t.Fatalf("the JSON reader read %q, the YAML reader failed: %v", src, err)
		}
		if d := diffNodes(got, want, "$"); d != "" {
			t.Fatalf("%q: the readers differ at %s", src, d)
		}
	})
}
