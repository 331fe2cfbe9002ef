package guests_test

import (
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/guests"
)

// TestSDK lists what each embedded SDK holds: its sources, none of its tests.
func TestSDK(t *testing.T) {
	for lang, want := range map[string][]string{
		"c":              {"mrun.c", "mrun.h"},
		"go":             {"mrun/codec.go", "mrun/doc.go", "mrun/mt/mt.go"},
		"rust":           {"mrun/Cargo.toml", "mrun/src/lib.rs"},
		"assemblyscript": {"mrun/index.ts"},
		"zig":            {"mrun.zig"},
	} {
		files, err := guests.SDK(lang)
		if err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, f := range files {
			have[f.Path] = true
			if strings.HasSuffix(f.Path, "_test.go") || strings.Contains(f.Path, "testdata/") {
				t.Errorf("%s: the SDK holds test file %s", lang, f.Path)
			}
			if len(f.Data) == 0 {
				t.Errorf("%s: %s is empty", lang, f.Path)
			}
		}
		for _, p := range want {
			if !have[p] {
				t.Errorf("%s: the SDK lacks %s (has %d files)", lang, p, len(files))
			}
		}
		v, err := guests.SDKVersion(lang)
		if err != nil || len(v) != 12 {
			t.Errorf("%s: SDKVersion = %q, %v", lang, v, err)
		}
	}
	if _, err := guests.SDK("cobol"); err == nil || !strings.Contains(err.Error(), `no SDK for "cobol"`) {
		t.Errorf("SDK(cobol) = %v", err)
	}
}
