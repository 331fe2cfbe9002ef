package toolchain

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAtLeast(t *testing.T) {
	for _, tt := range []struct {
		v, min string
		ok     bool
	}{
		{"1.26.8", "1.24", true}, {"1.24", "1.24", true}, {"1.23.4", "1.24", false},
		{"1.24rc1", "1.24", false}, {"2.0", "1.24", true}, {"1", "1.24", false},
	} {
		if got := atLeast(tt.v, tt.min); got != tt.ok {
			t.Errorf("atLeast(%q, %q) = %v", tt.v, tt.min, got)
		}
	}
}

func TestFind_unknownLanguage(t *testing.T) {
	_, err := Find(context.Background(), "cobol", Config{})
	if err == nil || err.Error() != `no toolchain for "cobol" (languages: go, c, rust, assemblyscript, zig, wat)` {
		t.Errorf("Find(cobol) = %v", err)
	}
}

// TestFind_cacheDir finds the npm toolchains in the directory given, and says how to install
// them when they are not there.
func TestFind_cacheDir(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("PATH", "/nonexistent") // nothing from the machine
	_, err := Find(ctx, "zig", Config{Dir: dir})
	if !errors.Is(err, ErrMissing) || !strings.HasSuffix(err.Error(), "the zig toolchain lacks zig 0.11.0; run: mrun toolchain install zig") {
		t.Fatalf("Find(zig) in an empty directory = %v", err)
	}

	zig := filepath.Join(dir, "zig", "node_modules", "@ryoppippi", "zig-linux-x64", "zig")
	if err := os.MkdirAll(filepath.Dir(zig), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(zig, []byte("#!/bin/sh\necho 0.11.0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tc, err := Find(ctx, "zig", Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if tc.Tools["zig"] != zig || tc.Version != "zig 0.11.0" || tc.Where != filepath.Join(dir, "zig") {
		t.Errorf("Find(zig) = %+v", tc)
	}

	if err := os.WriteFile(zig, []byte("#!/bin/sh\necho 0.12.0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Find(ctx, "zig", Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), "lacks zig 0.11.0 ("+zig+" is 0.12.0)") {
		t.Errorf("Find(zig) of another version = %v", err)
	}

	_, err = Find(ctx, "assemblyscript", Config{Dir: dir})
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "lacks node, assemblyscript 0.28.20 in "+filepath.Join(dir, "assemblyscript", "node_modules")) {
		t.Errorf("Find(assemblyscript) = %v", err)
	}
}

// TestList reports every language, found or not, on whatever this machine has.
func TestList(t *testing.T) {
	tcs, errs := List(context.Background(), Config{Dir: t.TempDir()})
	if len(tcs) != len(Languages) || len(errs) != len(Languages) {
		t.Fatalf("List gave %d toolchains and %d errors for %d languages", len(tcs), len(errs), len(Languages))
	}
	for i, lang := range Languages {
		switch {
		case tcs[i] == nil && errs[i] == nil, tcs[i] != nil && errs[i] != nil:
			t.Errorf("%s: %v and %v: want exactly one", lang, tcs[i], errs[i])
		case tcs[i] != nil && (tcs[i].Lang != lang || tcs[i].Version == ""):
			t.Errorf("%s: %+v", lang, tcs[i])
		case errs[i] != nil && !errors.Is(errs[i], ErrMissing):
			t.Errorf("%s: %v does not wrap ErrMissing", lang, errs[i])
		}
	}
}
