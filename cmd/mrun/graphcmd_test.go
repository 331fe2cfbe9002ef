package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// keywordGraph names its tasks after DOT's keywords, in any case, and one with a character a
// bare DOT id cannot hold.
const keywordGraph = `modules: {m: nowhere.wasm}
tasks:
  node: {call: m.f}
  graph: {call: m.f, args: [$node]}
  edge: {call: m.f, args: [$graph]}
  digraph: {call: m.f, args: [$edge]}
  Subgraph: {call: m.f, args: [$digraph]}
  STRICT: {call: m.f, args: [$Subgraph]}
  a-b: {call: m.f, args: [$STRICT]}
`

// TestGraph_DotKeywords checks that mrun graph quotes the ids DOT reserves, so that tasks may
// have any name and the output still draws.
func TestGraph_DotKeywords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kw.yaml")
	if err := os.WriteFile(path, []byte(keywordGraph), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"graph", path}, streams{Out: &out, Err: &errb}); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := `digraph "kw" {
  rankdir=LR;
  node [shape=box, style=rounded, fontname="Helvetica"];
  "node" [label="node\nm.f"];
  "graph" [label="graph\nm.f"];
  "edge" [label="edge\nm.f"];
  "digraph" [label="digraph\nm.f"];
  "Subgraph" [label="Subgraph\nm.f"];
  "STRICT" [label="STRICT\nm.f"];
  n6 [label="a-b\nm.f"];
  "node" -> "graph";
  "graph" -> "edge";
  "edge" -> "digraph";
  "digraph" -> "Subgraph";
  "Subgraph" -> "STRICT";
  "STRICT" -> n6;
}
`
	if out.String() != want {
		t.Errorf("mrun graph printed\n%s\nwant\n%s", out.String(), want)
	}
	dot, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz's dot is not installed (apt-get install graphviz): the output is not rendered")
	}
	cmd := exec.Command(dot, "-Tsvg")
	cmd.Stdin = strings.NewReader(out.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	svg, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("dot -Tsvg: %v: %s", err, stderr.String())
	}
	// Every task is drawn as a node of its own, and every dependency as an edge.
	if n := bytes.Count(svg, []byte(`class="node"`)); n != 7 {
		t.Errorf("the drawing has %d nodes, want 7", n)
	}
	if n := bytes.Count(svg, []byte(`class="edge"`)); n != 6 {
		t.Errorf("the drawing has %d edges, want 6", n)
	}
}

// TestDotID checks which ids DOT takes bare.
func TestDotID(t *testing.T) {
	for id, want := range map[string]string{
		"incs": "incs", "xs_0": "xs_0", "n2": "n2", "_a": "_a",
		"node": `"node"`, "Edge": `"Edge"`, "sTrIcT": `"sTrIcT"`, "subgraph": `"subgraph"`,
		"a-b": `"a-b"`, "2x": `"2x"`, `q"x`: `"q\"x"`, "é": `"é"`,
	} {
		if got := dotID(id); got != want {
			t.Errorf("dotID(%q) = %s, want %s", id, got, want)
		}
	}
}
