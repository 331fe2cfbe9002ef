package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mrun-dev/mrun/abi/wasmsection"
)

// A module whose signature section is malformed is refused at load, by inspect as by call,
// with the line and column, and exit status 2.
func TestInspect_MalformedSignatures(t *testing.T) {
	wasm, err := os.ReadFile("../../testdata/wat/abi_example.wasm")
	if err != nil {
		t.Fatal(err)
	}
	bad, err := wasmsection.Set(wasm, "mrun.signatures", []byte("inc(x: int) -> int\ninc(x: int) => int\n"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bad.wasm")
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	const want = "mrun: module bad: invalid signature: mrun.signatures line 2, column 13: want \"->\", found '='\n"
	for _, args := range [][]string{{"inspect", path}, {"inspect", path, "inc"}, {"call", path, "inc", "1"}} {
		out, errText, code := mrun(t, args...)
		if out != "" || errText != want || code != exitUsage {
			t.Errorf("mrun %q: stdout %q stderr %q exit %d\nwant stderr %q exit 2", args, out, errText, code, want)
		}
	}
}
