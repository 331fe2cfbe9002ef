package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/project"
	"github.com/mrun-dev/mrun/project/toolchain"
)

// TestBuild_watch: mrun build --watch builds at once, builds again when a source changes,
// and stops with exit status 0 when interrupted.
func TestBuild_watch(t *testing.T) {
	if _, err := toolchain.Find(context.Background(), "wat", toolchain.Config{}); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	dir := filepath.Join(t.TempDir(), "w")
	if _, err := project.New(dir, "wat"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"build", "--watch", dir}, streams{In: new(bytes.Buffer), Out: &out, Err: &errb})
	}()

	// waitFor waits until stdout holds want, or fails after a minute (a loaded machine).
	waitFor := func(want string) {
		t.Helper()
		for start := time.Now(); !strings.Contains(out.String(), want); time.Sleep(50 * time.Millisecond) {
			if time.Since(start) > time.Minute {
				t.Fatalf("no %q in stdout after a minute:\n%s\nstderr:\n%s", want, out.String(), errb.String())
			}
		}
	}
	waitFor("-- Returns a + b.")
	sigs := filepath.Join(dir, "fns.sigs")
	b, err := os.ReadFile(sigs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sigs, bytes.Replace(b, []byte("Returns a + b."), []byte("Adds two ints."), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor("-- Adds two ints.")
	if n := strings.Count(out.String(), "w.wasm: "); n != 2 {
		t.Errorf("%d builds, want 2:\n%s", n, out.String())
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit status %d after the interrupt, want 0; stderr:\n%s", code, errb.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("mrun build --watch did not stop when interrupted")
	}
	if !strings.HasPrefix(errb.String(), "mrun: watching "+dir+"; interrupt to stop\n") {
		t.Errorf("stderr:\n%s", errb.String())
	}
}
