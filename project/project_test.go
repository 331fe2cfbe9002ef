package project_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/guests"
	"github.com/mrun-dev/mrun/project"
)

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"myfns": "myfns", "My Funcs": "my_funcs", "my-fns--2": "my_fns_2", "2d": "fns_2d",
		"__": "fns", "/tmp/x/Pricing.v2": "pricing_v2", "é-fns": "fns",
	} {
		if got := project.Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}

// files lists the files under dir, relative, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// TestNew writes each language's project: its own files, the SDK's, and a manifest that Open
// reads back.
func TestNew(t *testing.T) {
	want := map[string][]string{
		"c":              {".gitignore", "Makefile", "README.md", "fns.c", "graph.yaml", "mrun.json", "mrun/mrun.c", "mrun/mrun.h"},
		"wat":            {".gitignore", "README.md", "fns.sigs", "fns.wat", "graph.yaml", "mrun.json"},
		"zig":            {".gitignore", "README.md", "build.zig", "fns.zig", "graph.yaml", "main.zig", "mrun.json", "mrun/mrun.zig"},
		"rust":           {".cargo/config.toml", ".gitignore", "Cargo.toml", "README.md", "graph.yaml", "mrun.json", "src/lib.rs"},
		"go":             {".gitignore", "README.md", "go.mod", "go.sum", "graph.yaml", "main.go", "main_test.go", "mrun.json", "mrun/go.mod"},
		"assemblyscript": {".gitignore", "README.md", "assembly/index.ts", "graph.yaml", "mrun.json", "package.json"},
	}
	for lang, w := range want {
		dir := filepath.Join(t.TempDir(), "my-fns")
		p, err := project.New(dir, lang)
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		got := files(t, dir)
		for _, f := range w {
			if !slices.Contains(got, f) {
				t.Errorf("%s: no %s among %v", lang, f, got)
			}
		}
		for _, f := range got {
			if strings.HasSuffix(f, "_test.go") && f != "main_test.go" || strings.HasSuffix(f, ".tmpl") {
				t.Errorf("%s: %s should not be there", lang, f)
			}
			b, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(b), "__NAME__") || strings.Contains(string(b), "__GOVERSION__") {
				t.Errorf("%s: %s holds a placeholder", lang, f)
			}
		}
		v, _ := guests.SDKVersion(lang)
		if lang == "wat" {
			v = ""
		}
		q, err := project.Open(dir)
		if err != nil {
			t.Fatalf("%s: Open: %v", lang, err)
		}
		if q.Language != lang || q.Name != "my_fns" || q.SDK != v || p.SDK != v || q.Module() != filepath.Join(dir, "my_fns.wasm") {
			t.Errorf("%s: Open = %+v, want language %s, name my_fns, SDK %q", lang, q.Manifest, lang, v)
		}
		if readme, _ := os.ReadFile(filepath.Join(dir, "README.md")); strings.Count(string(readme), "\n") > 14 {
			t.Errorf("%s: the README has %d lines", lang, strings.Count(string(readme), "\n"))
		}
	}
}

func TestNew_refuses(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := project.New(dir, "c"); err == nil || !strings.Contains(err.Error(), "is not empty") {
		t.Errorf("New into a non-empty directory = %v", err)
	}
	if _, err := project.New(filepath.Join(dir, "x"), "cobol"); err == nil || err.Error() != `mrun new knows no language "cobol" (languages: go, c, rust, assemblyscript, zig, wat)` {
		t.Errorf("New(cobol) = %v", err)
	}
	if _, err := project.Open(dir); !errors.Is(err, project.ErrNotProject) {
		t.Errorf("Open of a directory without mrun.json = %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, project.ManifestFile), []byte(`{"language": "cobol", "name": "x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := project.Open(dir); err == nil || !strings.Contains(err.Error(), `language "cobol" is not one this mrun builds`) {
		t.Errorf("Open of a cobol manifest = %v", err)
	}
}

// TestUpdateSDK replaces an SDK copy that changed, and records the version.
func TestUpdateSDK(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "p")
	p, err := project.New(dir, "zig")
	if err != nil {
		t.Fatal(err)
	}
	sdk := filepath.Join(dir, "mrun", "mrun.zig")
	if err := os.WriteFile(sdk, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.SDK = "000000000000"
	changed, err := p.UpdateSDK()
	if err != nil || !changed {
		t.Fatalf("UpdateSDK = %v, %v; want a change", changed, err)
	}
	if b, _ := os.ReadFile(sdk); string(b) == "old" {
		t.Error("the SDK copy was not replaced")
	}
	if q, _ := project.Open(dir); q.SDK == "000000000000" || q.SDK != p.SDK {
		t.Errorf("the manifest records SDK %q, want %q", q.SDK, p.SDK)
	}
	if changed, err := p.UpdateSDK(); err != nil || changed {
		t.Errorf("a second UpdateSDK = %v, %v; want no change", changed, err)
	}
}

// ExampleNew starts a project of WebAssembly text; Build (with wabt's wat2wasm) would make
// its module, hello_fns.wasm.
func ExampleNew() {
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	p, err := project.New(filepath.Join(dir, "hello-fns"), "wat")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Language, p.Name, filepath.Base(p.Module()))
	// Output: wat hello_fns hello_fns.wasm
}
