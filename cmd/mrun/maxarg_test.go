package main

import (
	"strings"
	"testing"
)

// TestCall_MaxArg checks that --max-arg limits a call's encoded arguments and that the
// message says how to raise it.
func TestCall_MaxArg(t *testing.T) {
	const fixtures = "../../testdata/wat/fixtures.wasm"
	arg := `"` + strings.Repeat("x", 200) + `"` // [["x"*200], {}] is 92 91 d9 c8 <200 bytes> 80: 205 bytes
	out, errOut, code := mrun(t, "call", "--max-arg", "205", fixtures, "first", arg)
	if code != 0 || out != arg+"\n" {
		t.Fatalf("at the limit: exit %d, stdout %.30q, stderr %q", code, out, errOut)
	}
	out, errOut, code = mrun(t, "call", "--max-arg", "204", fixtures, "first", arg)
	want := "mrun: task first (fixtures.first, key 911fa03ace24d180c289b5318047d316): arguments of 205 bytes are more than the limit of 204 bytes (raise it with --max-arg)\n"
	if code != 1 || out != "" || errOut != want {
		t.Fatalf("over the limit: exit %d, stdout %q, stderr\n%s\nwant\n%s", code, out, errOut, want)
	}

	// In a graph, the value of a dependency counts: 10 and 20 make [[[10, 20]], {}], 6 bytes (92 91 92 0a 14 80).
	g := "modules: {f: ../../testdata/wat/fixtures.wasm}\ntasks:\n  p: {call: f.pair}\n  e: {call: f.first, args: [$p]}\n"
	if out, errOut, code = mrunStdin(t, g, "run", "--max-arg", "6", "-"); code != 0 || out != `{"p":[10,20],"e":[10,20]}`+"\n" {
		t.Fatalf("graph at the limit: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, errOut, code = mrunStdin(t, g, "run", "--max-arg", "5", "-")
	if want := "(raise it with --max-arg)\n"; code != 1 || !strings.HasPrefix(errOut, "mrun: task e (f.first, key ") || !strings.HasSuffix(errOut, "): arguments of 6 bytes are more than the limit of 5 bytes "+want) {
		t.Fatalf("graph over the limit: exit %d, stderr %q", code, errOut)
	}
}
