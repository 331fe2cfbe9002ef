package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mrunTTY is mrun with stdout and stderr reported as terminals (tty) or as pipes.
func mrunTTY(t *testing.T, tty bool, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"--cache-dir", sharedCache(t), "--result-cache", t.TempDir()}, args...)
	code := run(context.Background(), args, streams{In: new(bytes.Buffer), Out: &out, Err: &errb, ErrTTY: tty, OutTTY: tty})
	return out.String(), errb.String(), code
}

// The escapes module writes terminal escape sequences to stdout and stderr, returns a string
// holding some, and fails with a message holding some (guests/wat/escapes.wat).
const (
	escapesWasm   = "../../testdata/wat/escapes.wasm"
	escapesStdout = "title\x1b]0;owned\x07clip\x1b]52;c;aGk=\x07red\x1b[31m!\x1b[0m\n"
	escapesStderr = "\x1b[2K\rmrun: all tasks succeeded\n\u009b2J\x7f\b\n"
	escapesShown  = `title\x1b]0;owned\x07clip\x1b]52;c;aGk=\x07red\x1b[31m!\x1b[0m` + "\n" +
		`\x1b[2K\x0dmrun: all tasks succeeded` + "\n" + `\u009b2J\x7f\x08` + "\n"
)

func TestGuestEscapes_Terminal(t *testing.T) {
	out, errOut, code := mrunTTY(t, true, "call", escapesWasm, "shout")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if want := `"r\u001b]0;t\u0007\u007f\u009b"` + "\n"; out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if errOut != escapesShown {
		t.Errorf("stderr = %q, want %q", errOut, escapesShown)
	}

	out, errOut, code = mrunTTY(t, true, "call", escapesWasm, "fail")
	want := escapesShown + `mrun: task fail (escapes.fail, key fbd9146b85bc506b4a44d040f083e308): bad\x1b[2K\x0dmrun: all tasks succeeded\x07\u009b` + "\n"
	if code != 1 || out != "" || errOut != want {
		t.Errorf("fail: exit %d, stdout %q, stderr %q; want exit 1, stderr %q", code, out, errOut, want)
	}

	// A graph prefixes each line with the task's label; the lines are escaped the same way.
	g := "modules: {e: " + escapesWasm + "}\ntasks:\n  s: {call: e.shout}\n"
	out, errOut, code = mrunTTYStdin(t, g, "run", "-")
	wantErr := prefixLines("[s] ", escapesShown)
	if code != 0 || out != `{"s":"r\u001b]0;t\u0007\u007f\u009b"}`+"\n" || errOut != wantErr {
		t.Errorf("run: exit %d, stdout %q, stderr %q; want stderr %q", code, out, errOut, wantErr)
	}
}

func TestGuestEscapes_Pipe(t *testing.T) {
	out, errOut, code := mrunTTY(t, false, "call", escapesWasm, "shout")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	// JSON escapes the C0 controls; DEL and C1 are valid JSON text and stay as they are.
	if want := "\"r\\u001b]0;t\\u0007\x7f\u009b\"\n"; out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if want := escapesStdout + escapesStderr; errOut != want {
		t.Errorf("stderr = %q, want the guest's bytes %q", errOut, want)
	}
	out, errOut, code = mrunTTY(t, false, "call", escapesWasm, "fail")
	want := escapesStdout + escapesStderr + "mrun: task fail (escapes.fail, key fbd9146b85bc506b4a44d040f083e308): bad\x1b[2K\rmrun: all tasks succeeded\x07\u009b\n"
	if code != 1 || out != "" || errOut != want {
		t.Errorf("fail: exit %d, stdout %q, stderr %q; want exit 1, stderr %q", code, out, errOut, want)
	}
}

// mrunTTYStdin is mrunTTY for a terminal, with stdin.
func mrunTTYStdin(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"--cache-dir", sharedCache(t), "--result-cache", t.TempDir()}, args...)
	code := run(context.Background(), args, streams{In: strings.NewReader(stdin), Out: &out, Err: &errb, ErrTTY: true, OutTTY: true})
	return out.String(), errb.String(), code
}

func prefixLines(p, s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(p + l)
		}
	}
	return b.String()
}

// TestInspectEscapes: the names mrun inspect prints come from the module file; on a terminal
// their control characters are escaped, in a pipe they are the module's bytes.
func TestInspectEscapes(t *testing.T) {
	b, err := os.ReadFile("../../testdata/wat/fixtures.wasm")
	if err != nil {
		t.Fatal(err)
	}
	// Same length, so the export section stays valid: mrun_fn_echo becomes mrun_fn_ESC[2J.
	evil := bytes.Replace(b, []byte("mrun_fn_echo"), []byte("mrun_fn_\x1b[2J"), 1)
	if bytes.Equal(evil, b) {
		t.Fatal("fixtures.wasm has no mrun_fn_echo export")
	}
	path := filepath.Join(t.TempDir(), "evil.wasm")
	if err := os.WriteFile(path, evil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tty        bool
		args       []string
		want, deny string
	}{
		{true, nil, "\n  \\x1b[2J\n", "\x1b"},
		{false, nil, "\n  \x1b[2J\n", ""},
		{true, []string{"--json"}, `"\u001b[2J"`, "\x1b"},
	} {
		out, errOut, code := mrunTTY(t, tc.tty, append([]string{"inspect", path}, tc.args...)...)
		if code != 0 {
			t.Fatalf("tty %v %v: exit %d, stderr %q", tc.tty, tc.args, code, errOut)
		}
		if !strings.Contains(out, tc.want) || tc.deny != "" && strings.Contains(out, tc.deny) {
			t.Errorf("tty %v %v: output %q, want it to hold %q and no %q", tc.tty, tc.args, out, tc.want, tc.deny)
		}
	}
}
