// Package project starts and builds mrun function projects outside this repository: `mrun new
// LANG DIR` writes a working module in Go, C, Rust, AssemblyScript, Zig or WebAssembly text,
// with the language's SDK copied in from the mrun binary (package guests), and `mrun build
// DIR` compiles it with the toolchain package project/toolchain finds, adds its signatures,
// and checks the module as the host loads it.
package project

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/mrun-dev/mrun/guests"
)

//go:embed templates
var templates embed.FS

// ManifestFile is the file in a project's directory that records its language, name and SDK.
const ManifestFile = "mrun.json"

// Manifest is the content of ManifestFile.
type Manifest struct {
	Language string `json:"language"`
	Name     string `json:"name"`
	// SDK is the version (guests.SDKVersion) of the SDK copy the project holds, empty for a
	// language without one.
	SDK string `json:"sdk,omitempty"`
}

// A Project is a function project on disk.
type Project struct {
	Dir string
	Manifest
}

// lang is what this package knows of one language.
type lang struct {
	// sdkDir is where the SDK copy goes in a project; "" for a language without an SDK.
	sdkDir string
	// readme is the body of the project's README after its title, with __NAME__.
	readme string
}

var langs = map[string]lang{
	"c": {sdkDir: "mrun", readme: `Functions in C, built with the mrun C SDK (in mrun/) into __NAME__.wasm.

    mrun build                 # or: make (clang --target=wasm32-wasi, see Makefile)
    mrun inspect __NAME__.wasm
    mrun call __NAME__.wasm add 2 3                          # 5
    mrun call __NAME__.wasm stats '[1,2,3.5,10]' --n-output 2  # [4.125,10]
    mrun run graph.yaml

Write a function, export it with MRUN_EXPORT and describe it with MRUN_SIG (fns.c).
mrun new --update-sdk refreshes mrun/ from your mrun.
`},
	"wat": {readme: `Functions in WebAssembly text (fns.wat), built into __NAME__.wasm.

    mrun build                 # wat2wasm fns.wat, then the signatures of fns.sigs
    mrun inspect __NAME__.wasm
    mrun call __NAME__.wasm add 2 3                          # 5
    mrun call __NAME__.wasm stats '[1,2,3.5,10]' --n-output 2  # [4.125,10]
    mrun run graph.yaml

The guest ABI: https://github.com/mrun-dev/mrun/blob/main/abi/ABI.md
Describe each function you add in fns.sigs.
`},
	"rust": {sdkDir: "mrun", readme: `Functions in Rust (src/lib.rs), built with the mrun Rust SDK (the crate in mrun/) into __NAME__.wasm.

    mrun build                 # Debian's rustc for wasm32-wasi: a reactor, LTO, no debug info
    cargo test                 # the functions' tests, on this machine (with Debian's Rust:
                               # RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc cargo test)
    mrun call __NAME__.wasm add 2 3                          # 5
    mrun call __NAME__.wasm stats '[1,2,3.5,10]' --n-output 2  # [4.125,10]
    mrun run graph.yaml

mrun::export! exports each function and writes its signature from its types and doc comment;
#[mrun(...)] inside it says what the types cannot (keywords, impure). See mrun/src/lib.rs.
`},
	"assemblyscript": {sdkDir: "assembly/mrun", readme: `Functions in AssemblyScript (assembly/index.ts), built with the mrun SDK (in
assembly/mrun/) into __NAME__.wasm.

    mrun build                 # asc with the SDK's flags and its signatures transform
    mrun inspect __NAME__.wasm
    mrun call __NAME__.wasm add 2 3                          # 5
    mrun call __NAME__.wasm stats '[1,2,3.5,10]' --n-output 2  # [4.125,10]
    mrun run graph.yaml

mrun build uses the AssemblyScript compiler of 'mrun toolchain install assemblyscript'.
A function's doc comment becomes its signature's doc; @returns {(float, float)} declares outputs.
`},
	"zig": {sdkDir: "mrun", readme: `Functions in Zig (fns.zig, exported by main.zig), built with the mrun Zig SDK (mrun/mrun.zig) into __NAME__.wasm.

    mrun build                 # or: zig build (see build.zig)
    zig build test             # the functions' tests, on this machine
    mrun call __NAME__.wasm add 2 3                          # 5
    mrun call __NAME__.wasm stats '[1,2,3.5,10]' --n-output 2  # [4.125,10]
    mrun run graph.yaml

Export each function in main.zig with mrun.call, and describe it with mrun.signature beside it.
mrun build uses the Zig of 'mrun toolchain install zig'.
`},
	"go": {sdkDir: "mrun", readme: `Functions in Go, built with the mrun Go SDK (in mrun/) into __NAME__.wasm.

    mrun build                 # GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared
    go test ./...              # the functions are plain Go: test them on the host
    mrun call __NAME__.wasm add 2 3                          # 5
    mrun call __NAME__.wasm stats '[1,2,3.5,10]' --n-output 2  # [4.125,10]
    mrun run graph.yaml

Export a function with a //go:wasmexport mrun_fn_NAME line handing it to mrun.Call (main.go);
mrun build writes its signature from the Go declaration and its doc comment.
`},
}

// Languages returns the languages New knows.
func Languages() []string {
	return []string{"go", "c", "rust", "assemblyscript", "zig", "wat"}
}

// ErrNotProject is wrapped by Open's error for a directory that holds no project.
var ErrNotProject = errors.New("not an mrun project")

// New writes a new project of language lng into dir, which must not exist or be empty. The
// project's name, which names its module (NAME.wasm), is dir's base name made into an
// identifier. goVersion is the go directive of a Go project's go.mod ("1.26"); empty means
// this program's Go version.
func New(dir, lng string) (*Project, error) {
	l, ok := langs[lng]
	if !ok {
		return nil, fmt.Errorf("mrun new knows no language %q (languages: %s)", lng, strings.Join(Languages(), ", "))
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if entries, err := os.ReadDir(abs); err == nil && len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty: mrun new writes a project into a new or empty directory", dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	p := &Project{Dir: abs, Manifest: Manifest{Language: lng, Name: Name(abs)}}
	files, err := p.templateFiles()
	if err != nil {
		return nil, err
	}
	files["README.md"] = []byte("# " + p.Name + "\n\n" + strings.ReplaceAll(l.readme, "__NAME__", p.Name))
	for name, data := range files {
		if err := writeFile(filepath.Join(abs, name), data); err != nil {
			return nil, err
		}
	}
	if l.sdkDir != "" {
		if _, err := p.UpdateSDK(); err != nil {
			return nil, err
		}
	}
	return p, p.writeManifest()
}

// templateFiles returns the project's files from its language's templates, with the
// placeholders replaced, by path in the project.
func (p *Project) templateFiles() (map[string][]byte, error) {
	root := path.Join("templates", p.Language)
	files := map[string][]byte{}
	err := fs.WalkDir(templates, root, func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templates.ReadFile(name)
		if err != nil {
			return err
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(name, root+"/"), ".tmpl")
		// embed leaves out dot files: a template's dot-x is the project's .x
		parts := strings.Split(rel, "/")
		for i, part := range parts {
			if rest, ok := strings.CutPrefix(part, "dot-"); ok {
				parts[i] = "." + rest
			}
		}
		rel = strings.Join(parts, "/")
		files[rel] = []byte(strings.NewReplacer("__NAME__", p.Name, "__GOVERSION__", goDirective()).Replace(string(b)))
		return nil
	})
	return files, err
}

// UpdateSDK writes the SDK this program carries into the project's SDK directory, replacing
// the copy it had, and records its version. It reports whether the version changed.
func (p *Project) UpdateSDK() (bool, error) {
	l := langs[p.Language]
	if l.sdkDir == "" {
		return false, nil
	}
	files, err := guests.SDK(p.Language)
	if err != nil {
		return false, err
	}
	v, err := guests.SDKVersion(p.Language)
	if err != nil {
		return false, err
	}
	dir := filepath.Join(p.Dir, l.sdkDir)
	if err := os.RemoveAll(dir); err != nil {
		return false, fmt.Errorf("remove the old SDK copy: %w", err)
	}
	for _, f := range files {
		// The SDK's files sit in a directory named after it (mrun/codec.go); the project's SDK
		// directory takes that place.
		rel := f.Path
		if first, rest, ok := strings.Cut(rel, "/"); ok && first == path.Base(l.sdkDir) {
			rel = rest
		}
		if err := writeFile(filepath.Join(dir, rel), f.Data); err != nil {
			return false, err
		}
	}
	if extra := sdkExtras[p.Language]; extra != nil {
		for name, data := range extra() {
			if err := writeFile(filepath.Join(dir, name), data); err != nil {
				return false, err
			}
		}
	}
	changed := p.SDK != v
	p.SDK = v
	return changed, p.writeManifest()
}

// sdkExtras are files an SDK copy needs in a project that the SDK in this repository does
// not have, such as the Go SDK's own go.mod.
var sdkExtras = map[string]func() map[string][]byte{
	"go": func() map[string][]byte {
		return map[string][]byte{
			"go.mod": []byte(`// The mrun Go guest SDK, copied into this project by mrun new.
module github.com/mrun-dev/mrun/guests/go/mrun

go ` + goDirective() + `

require github.com/vmihailenco/msgpack/v5 v5.4.1

require github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
`),
		}
	},
}

// goDirective is the go directive of new Go projects: the language version of the Go SDK.
func goDirective() string { return "1.24" }

// Open returns the project in dir, as its ManifestFile describes it.
func Open(dir string) (*Project, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(abs, ManifestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no %s (start one with: mrun new LANG DIR)", ErrNotProject, dir, ManifestFile)
	}
	if err != nil {
		return nil, err
	}
	p := &Project{Dir: abs}
	if err := json.Unmarshal(b, &p.Manifest); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	if _, ok := langs[p.Language]; !ok {
		return nil, fmt.Errorf("%s: language %q is not one this mrun builds (%s)", filepath.Join(dir, ManifestFile), p.Language, strings.Join(Languages(), ", "))
	}
	if !nameRE.MatchString(p.Name) {
		return nil, fmt.Errorf("%s: name %q must be an identifier (letters, digits, _)", filepath.Join(dir, ManifestFile), p.Name)
	}
	return p, nil
}

// Module returns the path of the module Build writes: NAME.wasm in the project's directory.
func (p *Project) Module() string { return filepath.Join(p.Dir, p.Name+".wasm") }

func (p *Project) writeManifest() error {
	b, err := json.MarshalIndent(p.Manifest, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(p.Dir, ManifestFile), append(b, '\n'))
}

var nameRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Name turns a directory's base name into a project name: lower case, with every run of
// characters other than letters and digits made one underscore, and a leading digit
// prefixed by "fns_" ("My Funcs" gives "my_funcs", "2d" gives "fns_2d").
func Name(dir string) string {
	base := strings.ToLower(filepath.Base(dir))
	var b strings.Builder
	under := false
	for _, r := range base {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	n := strings.TrimRight(b.String(), "_")
	switch {
	case n == "":
		return "fns"
	case n[0] >= '0' && n[0] <= '9':
		return "fns_" + n
	}
	return n
}

func writeFile(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, data, 0o644)
}
