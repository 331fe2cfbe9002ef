// Package guests carries the guest SDKs inside the mrun binary, so that a function project
// started outside this repository (package project, `mrun new`) gets the SDK of its language
// without a network or a checkout.
package guests

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed c/mrun.h c/mrun.c go/mrun rust/mrun assemblyscript/assembly/mrun zig/mrun.zig
var sdks embed.FS

// npmLocks are the npm manifests that pin the AssemblyScript and Zig compilers the SDKs are
// built and tested with, down to each package's hash.
//
//go:embed assemblyscript/package.json assemblyscript/package-lock.json zig/package.json zig/package-lock.json
var npmLocks embed.FS

// NPMLock returns the package.json and package-lock.json that pin lang's compiler (for
// assemblyscript and zig, whose compilers come from npm): installing them with npm ci gives
// the compiler this repository builds its modules with. ok is false for other languages.
func NPMLock(lang string) (packageJSON, packageLock []byte, ok bool) {
	pj, err1 := npmLocks.ReadFile(lang + "/package.json")
	pl, err2 := npmLocks.ReadFile(lang + "/package-lock.json")
	if err1 != nil || err2 != nil {
		return nil, nil, false
	}
	return pj, pl, true
}

// sdkDirs are the files of each language's SDK in sdks: a directory or single files.
var sdkDirs = map[string][]string{
	"c":              {"c/mrun.h", "c/mrun.c"},
	"go":             {"go/mrun"},
	"rust":           {"rust/mrun"},
	"assemblyscript": {"assemblyscript/assembly/mrun"},
	"zig":            {"zig/mrun.zig"},
}

// An SDKFile is one file of an SDK, by its path inside the SDK (mrun.h, codec.go, src/lib.rs).
type SDKFile struct {
	Path string
	Data []byte
}

// SDK returns the files of the SDK of lang (c, go, rust, assemblyscript or zig), in path
// order, without its tests and test data: what a project of its own needs to build against
// it. WebAssembly text needs no SDK, and has none.
func SDK(lang string) ([]SDKFile, error) {
	roots, ok := sdkDirs[lang]
	if !ok {
		return nil, fmt.Errorf("no SDK for %q (SDKs: c, go, rust, assemblyscript, zig)", lang)
	}
	var files []SDKFile
	for _, root := range roots {
		base := path.Dir(root)
		err := fs.WalkDir(sdks, root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if d.Name() == "testdata" {
					return fs.SkipDir
				}
				return nil
			}
			if testFile(d.Name()) {
				return nil
			}
			b, err := sdks.ReadFile(p)
			if err != nil {
				return err
			}
			files = append(files, SDKFile{Path: strings.TrimPrefix(p, base+"/"), Data: b})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read the %s SDK: %w", lang, err)
		}
	}
	slices.SortFunc(files, func(a, b SDKFile) int { return strings.Compare(a.Path, b.Path) })
	return files, nil
}

// testFile reports whether name is a test of an SDK rather than part of it.
func testFile(name string) bool {
	return strings.HasSuffix(name, "_test.go") || strings.HasSuffix(name, ".test.ts")
}

// SDKVersion returns a short digest of the files SDK returns for lang: two projects whose
// SDK copies have the same version have the same SDK.
func SDKVersion(lang string) (string, error) {
	files, err := SDK(lang)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%d\x00", f.Path, len(f.Data))
		h.Write(f.Data)
	}
	return hex.EncodeToString(h.Sum(nil)[:6]), nil
}
