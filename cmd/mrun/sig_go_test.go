package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/abi/wasmsection"
)

// The committed seed.wasm carries exactly what 'mrun sig go' reads from its source today:
// guests/go/build.sh writes one from the other, a line for each of its 41 functions.
func TestSigGo_seedIsUpToDate(t *testing.T) {
	out, errText, code := mrun(t, "sig", "go", "../../guests/go/examples/seed")
	if code != 0 || errText != "" {
		t.Fatalf("exit %d, stderr %q", code, errText)
	}
	wasm, err := os.ReadFile("../../testdata/seed.wasm")
	if err != nil {
		t.Fatal(err)
	}
	sections, err := wasmsection.Custom(wasm, sig.SectionName)
	if err != nil || len(sections) != 1 {
		t.Fatalf("seed.wasm has %d %s sections: %v", len(sections), sig.SectionName, err)
	}
	if section := sections[0]; string(section) != out {
		t.Errorf("testdata/seed.wasm is stale: run guests/go/build.sh\nsection:\n%s\nsig go:\n%s", section, out)
	}
	if n := strings.Count(out, "\n"); n != 41 {
		t.Errorf("%d lines, want 41", n)
	}
}

func TestSigGo_usage(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args    []string
		errText string
	}{
		{[]string{"sig", "go", "a", "b"}, "mrun: sig go takes at most one DIR; unexpected \"b\" (see 'mrun sig go --help')\n"},
		{[]string{"sig", "go", filepath.Join(dir, "nope")}, "mrun: cannot describe the Go source: stat " + filepath.Join(dir, "nope") + ": no such file or directory\n"},
		{[]string{"sig", "go", "../../testdata/seed.wasm"}, "mrun: cannot describe the Go source: ../../testdata/seed.wasm is not a directory: give the package's directory\n"},
	}
	for _, tt := range tests {
		out, errText, code := mrun(t, tt.args...)
		if out != "" || errText != tt.errText || code != exitUsage {
			t.Errorf("mrun %q: stdout %q stderr %q exit %d\nwant stderr %q exit 2", tt.args, out, errText, code, tt.errText)
		}
	}
}
