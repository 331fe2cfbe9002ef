package toolchain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Debian toolchains (C, Rust, WebAssembly text) are installed into the user's directory, not
// system-wide: Install computes the closure of the language's Debian packages, downloads with
// apt-get download those that the system does not already have at the same version (and,
// always, those built from the same source packages as the ones asked for, since they find
// each other through paths relative to the compiler), unpacks them with dpkg-deb -x into
// Dir/<lang>/root, and writes Dir/<lang>/bin/<tool>, a small shell script that runs the
// unpacked tool with what the relocated tree needs (its libraries, its linker on PATH, the
// WASI sysroot). Dir/<lang>/manifest.json records the packages.

// A Package is a Debian package, by name and version.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// String returns name=version, as apt-get takes it.
func (p Package) String() string { return p.Name + "=" + p.Version }

// manifest is what Install unpacked for one language, written to Dir/<lang>/manifest.json.
type manifest struct {
	Lang string `json:"lang"`
	// Packages were unpacked into root; System are the rest of their closure, which the
	// tools use from the system, installed at these versions when Install ran.
	Packages []Package `json:"packages"`
	System   []Package `json:"system"`
	// Tools maps a role ("cc") to its path relative to the language's directory.
	Tools map[string]string `json:"tools"`
}

// debTool is a tool of an unpacked Debian toolchain: the file in the tree (a glob relative to
// root), and, for a program, the arguments its wrapper adds before the caller's ("{root}" is
// the tree's absolute path). A file that is not a program (wrap false) is pointed at directly.
type debTool struct {
	role, glob string
	wrap       bool
	args       []string
}

// debSpec is a language's Debian toolchain in the user's directory.
type debSpec struct {
	roots  []string // the packages asked for; their closure is installed
	tools  []debTool
	prefix string // of Toolchain.Version, before the compiler's version number
}

var debSpecs = map[string]debSpec{
	"c": {roots: []string{"clang", "lld", "wasi-libc", "libclang-rt-14-dev-wasm32"},
		tools:  []debTool{{role: "cc", glob: "usr/lib/llvm-*/bin/clang", wrap: true, args: []string{"--sysroot={root}/usr"}}},
		prefix: "clang "},
	// lld-14 holds rust-lld's target, the wasm linker: libstd-rust-dev-wasm32 only recommends it.
	"rust": {roots: []string{"rustc", "libstd-rust-dev-wasm32", "lld-14"},
		tools: []debTool{{role: "rustc", glob: "usr/bin/rustc", wrap: true},
			{role: "reactor", glob: "usr/lib/rustlib/wasm32-wasi/lib/self-contained/crt1-reactor.o"}},
		prefix: "rustc "},
	"wat": {roots: []string{"wabt"}, tools: []debTool{{role: "wat2wasm", glob: "usr/bin/wat2wasm", wrap: true}}, prefix: "wabt "},
}

// aptCandidate is a package as apt-cache show reports the version apt-get would install.
type aptCandidate struct {
	Package
	Source, Arch string
}

// closureArgs are apt-cache's arguments for the packages a package needs to run: its
// Depends and PreDepends, recursively.
var closureArgs = []string{"depends", "--recurse", "--no-recommends", "--no-suggests",
	"--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances"}

// parseClosure returns the real packages of apt-cache depends --recurse's output, sorted: the
// unindented lines, without the virtual packages (<name>).
func parseClosure(out string) []string {
	var pkgs []string
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		if line == "" || line[0] == ' ' || line[0] == '<' {
			continue
		}
		pkgs = append(pkgs, line)
	}
	slices.Sort(pkgs)
	return slices.Compact(pkgs)
}

// parseCandidates reads apt-cache show --no-all-versions: the name, version, source package
// and architecture of each record.
func parseCandidates(out string) map[string]aptCandidate {
	cands := map[string]aptCandidate{}
	var c aptCandidate
	flush := func() {
		if c.Name != "" {
			if c.Source == "" {
				c.Source = c.Name
			}
			cands[c.Name] = c
		}
		c = aptCandidate{}
	}
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		if line == "" {
			flush()
			continue
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		switch k {
		case "Package":
			c.Name = v
		case "Version":
			c.Version = v
		case "Architecture":
			c.Arch = v
		case "Source": // "llvm-toolchain-14" or "llvm-toolchain-14 (1:14.0.6-12)"
			c.Source, _, _ = strings.Cut(v, " ")
		}
	}
	flush()
	return cands
}

// parseInstalled reads dpkg-query -W -f '${Package}\t${Version}\t${db:Status-Abbrev}\n': the
// installed version of each package that is installed ("ii").
func parseInstalled(out string) map[string]string {
	inst := map[string]string{}
	for line := range strings.Lines(out) {
		f := strings.Split(strings.TrimRight(line, "\n"), "\t")
		if len(f) == 3 && strings.TrimSpace(f[2]) == "ii" {
			inst[f[0]] = f[1]
		}
	}
	return inst
}

// loaderBound are packages always taken from the system when it has them, at whatever
// version: the C library must match the system's dynamic loader, which runs every program.
var loaderBound = map[string]bool{"libc6": true}

// plan splits the closure of roots into the packages to unpack and those the system already
// has at the candidate version. Packages built from the same source as a root are always
// unpacked: clang finds its headers, runtime and linker next to itself, and rustc its standard
// library and rust-lld, so these must come from one tree.
func plan(roots, closure []string, cands map[string]aptCandidate, installed map[string]string) (unpack, system []aptCandidate, err error) {
	family := map[string]bool{}
	for _, r := range roots {
		c, ok := cands[r]
		if !ok {
			return nil, nil, fmt.Errorf("have no %s", r)
		}
		family[c.Source] = true
	}
	for _, name := range closure {
		c, ok := cands[name]
		if !ok {
			return nil, nil, fmt.Errorf("have no version of %s to install", name)
		}
		v, have := installed[name]
		if !family[c.Source] && have && (v == c.Version || loaderBound[name]) {
			if v != c.Version {
				c.Version = v
			}
			system = append(system, c)
		} else {
			unpack = append(unpack, c)
		}
	}
	return unpack, system, nil
}

// debFile is the name apt-get download gives a package's file.
func debFile(c aptCandidate) string {
	return c.Name + "_" + strings.ReplaceAll(c.Version, ":", "%3a") + "_" + c.Arch + ".deb"
}

// geteuid is os.Geteuid, replaced in tests.
var geteuid = os.Geteuid

// listsError is an install that failed because apt's package lists are missing or stale.
type listsError struct{ msg string }

func (e *listsError) Error() string { return e.msg }

// debInstall installs lang's Debian toolchain into c.Dir/lang. As root, it updates apt's
// package lists when they lack a package or a download fails; otherwise it says to.
func debInstall(ctx context.Context, c Config, lang string, s debSpec) error {
	for _, tool := range []string{"apt-cache", "apt-get", "dpkg-deb", "dpkg-query"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: mrun installs the %s toolchain from Debian packages (%s); on another system, install them with its package manager",
				tool, lang, strings.Join(s.roots, " "))
		}
	}
	err := debInstallOnce(ctx, c, lang, s)
	var le *listsError
	if !errors.As(err, &le) {
		return err
	}
	if geteuid() != 0 {
		return fmt.Errorf("%w: run: sudo apt-get update, then mrun toolchain install %s again", err, lang)
	}
	fmt.Fprintf(c.log(), "%v; updating them\n$ apt-get update\n", err)
	if err := run(ctx, c.log(), "", "apt-get", "-o", "DPkg::Lock::Timeout=600", "update"); err != nil {
		return err
	}
	return debInstallOnce(ctx, c, lang, s)
}

func debInstallOnce(ctx context.Context, c Config, lang string, s debSpec) error {
	root, err := c.dir()
	if err != nil {
		return err
	}
	out, err := output(ctx, append(append([]string{"apt-cache"}, closureArgs...), s.roots...)...)
	if err != nil {
		return err
	}
	closure := parseClosure(out)
	if len(closure) == 0 { // apt-cache depends says nothing of packages it does not know
		return &listsError{"apt's package lists have no " + strings.Join(s.roots, ", ")}
	}
	if out, err = output(ctx, append([]string{"apt-cache", "show", "--no-all-versions"}, closure...)...); err != nil {
		return err
	}
	cands := parseCandidates(out)
	// dpkg-query exits 1 when a package is not installed, and says so on stderr: its
	// standard output is what there is.
	q := exec.CommandContext(ctx, "dpkg-query", append([]string{"-W", "-f", `${Package}\t${Version}\t${db:Status-Abbrev}\n`}, closure...)...)
	qout, _ := q.Output()
	unpack, system, err := plan(s.roots, closure, cands, parseInstalled(string(qout)))
	if err != nil {
		return &listsError{"apt's package lists " + err.Error()}
	}

	debs := filepath.Join(root, "debs")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return fmt.Errorf("create the package cache: %w", err)
	}
	if err := download(ctx, c.log(), debs, unpack); err != nil {
		return err
	}

	dir := filepath.Join(root, lang)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create the toolchain directory: %w", err)
	}
	// What an interrupted install left behind.
	if old, _ := filepath.Glob(filepath.Join(dir, ".root-*")); len(old) > 0 {
		for _, o := range old {
			os.RemoveAll(o)
		}
	}
	tmp, err := os.MkdirTemp(dir, ".root-")
	if err != nil {
		return fmt.Errorf("create the toolchain directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	fmt.Fprintf(c.log(), "unpacking %d packages into %s (%d more are the system's)\n", len(unpack), filepath.Join(dir, "root"), len(system))
	for _, p := range unpack {
		deb := filepath.Join(debs, debFile(p))
		if err := run(ctx, io.Discard, "", "dpkg-deb", "-x", deb, tmp); err != nil {
			os.Remove(deb) // downloaded again next time
			return fmt.Errorf("unpack %s (removed it: install again to download it anew): %w", debFile(p), err)
		}
	}
	m := manifest{Lang: lang, Tools: map[string]string{}}
	for _, p := range unpack {
		m.Packages = append(m.Packages, p.Package)
	}
	for _, p := range system {
		m.System = append(m.System, p.Package)
	}
	// The wrappers and the manifest name root, not tmp: rename it first, then write them.
	rootDir := filepath.Join(dir, "root")
	os.Remove(filepath.Join(dir, "manifest.json"))
	if err := os.RemoveAll(rootDir); err != nil {
		return err
	}
	if err := os.Rename(tmp, rootDir); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(dir, "bin")); err != nil {
		return err
	}
	for _, t := range s.tools {
		rel, err := writeTool(dir, rootDir, t)
		if err != nil {
			return err
		}
		m.Tools[t.role] = rel
	}
	b, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), append(b, '\n'), 0o644)
}

// download fetches the packages' files into debs, leaving those already there. apt-get
// download writes into its working directory; a temporary one keeps half-written files out
// of the cache.
func download(ctx context.Context, log io.Writer, debs string, pkgs []aptCandidate) error {
	var need []string
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(debs, debFile(p))); err != nil {
			need = append(need, p.String())
		}
	}
	if len(need) == 0 {
		return nil
	}
	tmp, err := os.MkdirTemp(debs, ".download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	args := []string{"apt-get", "download"}
	if geteuid() == 0 {
		// As root apt fetches as the _apt user, which cannot write to the user's directory.
		args = append(args, "-o", "APT::Sandbox::User=root")
	}
	fmt.Fprintf(log, "$ (cd %s && %s %s)\n", debs, strings.Join(args, " "), strings.Join(need, " "))
	if err := run(ctx, log, tmp, append(args, need...)...); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = ee
		}
		return &listsError{fmt.Sprintf("apt-get download failed (%v)", err)}
	}
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(debs, e.Name())); err != nil {
			return err
		}
	}
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(debs, debFile(p))); err != nil {
			return fmt.Errorf("apt-get download did not write %s", debFile(p))
		}
	}
	return nil
}

// writeTool finds t in the unpacked tree and returns its path relative to dir: the file
// itself, or, for a program, the wrapper dir/bin/<name> that runs it.
func writeTool(dir, root string, t debTool) (string, error) {
	m, _ := filepath.Glob(filepath.Join(root, t.glob))
	if len(m) == 0 {
		return "", fmt.Errorf("the unpacked packages have no %s", t.glob)
	}
	slices.Sort(m)
	target := m[len(m)-1]
	if !t.wrap {
		return filepath.Rel(dir, target)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	name := filepath.Join(bin, filepath.Base(target))
	if err := os.WriteFile(name, []byte(wrapper(root, target, t.args)), 0o755); err != nil {
		return "", err
	}
	return filepath.Rel(dir, name)
}

// wrapper is the shell script that runs target, a program unpacked into root, with its
// libraries (root's multiarch library directories first on LD_LIBRARY_PATH), the programs it
// runs (root/usr/bin first on PATH: clang's wasm-ld-14, rustc's rust-lld), and args before
// the caller's.
func wrapper(root, target string, args []string) string {
	var libs []string
	for _, pat := range []string{"usr/lib/*-linux-gnu*", "lib/*-linux-gnu*"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		libs = append(libs, m...)
	}
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# Written by mrun toolchain install: runs " + filepath.Base(target) + " unpacked from Debian packages into\n# the directory below, with what the relocated tree needs.\n")
	b.WriteString("root=" + shellQuote(root) + "\n")
	b.WriteString(`PATH="$root/usr/bin:$PATH"` + "\n")
	if len(libs) > 0 {
		var rel []string
		for _, l := range libs {
			rel = append(rel, `$root/`+strings.TrimPrefix(l, root+"/"))
		}
		b.WriteString(`LD_LIBRARY_PATH="` + strings.Join(rel, ":") + `${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"` + "\n")
		b.WriteString("export PATH LD_LIBRARY_PATH\n")
	} else {
		b.WriteString("export PATH\n")
	}
	b.WriteString(`exec "$root/` + strings.TrimPrefix(target, root+"/") + `"`)
	for _, a := range args {
		b.WriteString(` "` + strings.ReplaceAll(a, "{root}", "$root") + `"`)
	}
	b.WriteString(` "$@"` + "\n")
	return b.String()
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// readManifest reads Dir/<lang>/manifest.json; an error wrapping os.ErrNotExist when Install
// has not put lang's toolchain there.
func readManifest(dir string) (*manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, err
	}
	var m manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read %s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	return &m, nil
}

// findDebUser finds lang's toolchain in c's directory: its tools, by the manifest, and the
// compiler's version, which running it proves works. Its errors say what is wrong, not what
// to do: Find adds that.
func findDebUser(ctx context.Context, c Config, lang string) (*Toolchain, error) {
	root, err := c.dir()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(root, lang)
	m, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	tc := &Toolchain{Lang: lang, Tools: map[string]string{}, Where: dir, Packages: m.Packages}
	for role, rel := range m.Tools {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("the %s toolchain in %s lacks %s", lang, dir, p)
		}
		tc.Tools[role] = p
	}
	cc, ok := tc.Tools[Compiler[lang]]
	if !ok {
		return nil, fmt.Errorf("the %s toolchain in %s has no %s", lang, dir, Compiler[lang])
	}
	v, err := output(ctx, cc, "--version")
	if err != nil {
		return nil, fmt.Errorf("the %s toolchain in %s does not run (%v)", lang, dir, err)
	}
	tc.Version = debSpecs[lang].prefix + firstVersion(firstLine(v))
	return tc, nil
}

// findDeb finds lang's toolchain in the user's directory, or else on the system (sys).
// A toolchain in the directory that is there but broken is reported when the system has none.
func findDeb(ctx context.Context, c Config, lang string, sys func(context.Context, Config) (*Toolchain, error)) (*Toolchain, error) {
	tc, uerr := findDebUser(ctx, c, lang)
	if uerr == nil {
		return tc, nil
	}
	tc, err := sys(ctx, c)
	if err == nil || errors.Is(uerr, os.ErrNotExist) {
		return tc, err
	}
	return nil, fmt.Errorf("%w: %v", ErrMissing, uerr)
}
