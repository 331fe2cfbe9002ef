// Package doccheck holds tests that keep the documentation honest about the code.
package doccheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestSecurityDocNamesTests checks that every test, fuzz target and test script that
// docs/security.md names as the proof of a claim exists, so that a renamed or deleted test
// cannot leave a claim standing on nothing.
func TestSecurityDocNamesTests(t *testing.T) {
	doc, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	funcs := map[string]bool{}
	scripts := map[string]bool{}
	decl := regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Example)\w*)\(`)
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) && path != "../.." {
			return filepath.SkipDir
		}
		switch {
		case strings.HasSuffix(path, "_test.go"):
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range decl.FindAllSubmatch(b, -1) {
				funcs[string(m[1])] = true
			}
		case strings.HasSuffix(path, ".txtar"):
			scripts[d.Name()] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	named := regexp.MustCompile("`((?:Test|Fuzz)\\w+|[\\w-]+\\.txtar)`")
	n := 0
	for _, m := range named.FindAllStringSubmatch(string(doc), -1) {
		name := m[1]
		n++
		if strings.HasSuffix(name, ".txtar") {
			if !scripts[name] {
				t.Errorf("docs/security.md names the test script %s, which does not exist", name)
			}
		} else if !funcs[name] {
			t.Errorf("docs/security.md names %s, which is not a test or fuzz target of this repository", name)
		}
	}
	if n < 20 {
		t.Fatalf("found only %d test names in docs/security.md; is the pattern still right?", n)
	}
}
