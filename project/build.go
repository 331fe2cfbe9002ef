package project

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/internal/atomicfile"
	"github.com/mrun-dev/mrun/internal/gosig"
	"github.com/mrun-dev/mrun/project/toolchain"
	"github.com/mrun-dev/mrun/runtime"
)

// BuildOptions configure Build.
type BuildOptions struct {
	// Toolchains says where toolchains are installed.
	Toolchains toolchain.Config
	// Log receives the commands Build runs; nil discards them.
	Log io.Writer
}

// Built is what Build made.
type Built struct {
	Path      string               // the module, NAME.wasm in the project's directory
	Size      int                  // its bytes
	Took      time.Duration        // the whole build, signatures and check included
	Toolchain *toolchain.Toolchain // what compiled it
	// Functions are the module's functions, in export order, each as its signature line
	// (sig.Signature.String) or, for a function it does not describe, its name.
	Functions []string
	// Notes are what the signatures could not say exactly (a Go type written as any, a
	// function left undescribed), one line each, for the user to read.
	Notes []string
}

// ErrBuild is wrapped by Build's error when the compiler rejects the project; the error holds
// what the compiler printed.
var ErrBuild = errors.New("build failed")

// Build compiles the project into p.Module() with its language's toolchain and flags (a WASI
// reactor, optimised, without debug info), writes the functions' signatures into the module,
// and loads it as the host does, so that a module Build writes is one mrun runs. A failed
// build leaves the previous module in place.
func (p *Project) Build(ctx context.Context, o BuildOptions) (*Built, error) {
	start := time.Now()
	log := o.Log
	if log == nil {
		log = io.Discard
	}
	tc, err := toolchain.Find(ctx, p.Language, o.Toolchains)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "mrun-build-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, p.Name+".wasm")
	b := &builder{p: p, tc: tc, log: log, out: out, tmp: tmp}
	switch p.Language {
	case "c":
		err = b.c(ctx)
	case "wat":
		err = b.wat(ctx)
	case "go":
		err = b.golang(ctx)
	case "rust":
		err = b.rust(ctx)
	case "assemblyscript":
		err = b.assemblyscript(ctx)
	case "zig":
		err = b.zig(ctx)
	default:
		err = fmt.Errorf("mrun build does not build %s projects yet", p.Language)
	}
	if err != nil {
		return nil, err
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	if b.sigs != nil {
		if wasm, err = sig.Embed(wasm, b.sigs); err != nil {
			return nil, fmt.Errorf("write the signatures into the module: %w", err)
		}
	}
	funcs, err := check(ctx, p.Name, wasm)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(p.Module(), wasm); err != nil {
		return nil, err
	}
	return &Built{Path: p.Module(), Size: len(wasm), Took: time.Since(start), Toolchain: tc, Functions: funcs, Notes: b.notes}, nil
}

// check loads wasm as the host does and lists its functions.
func check(ctx context.Context, name string, wasm []byte) ([]string, error) {
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		return nil, err
	}
	defer rt.Close(context.Background())
	mod, err := rt.Load(ctx, name, wasm)
	if err != nil {
		return nil, fmt.Errorf("the module built, but mrun cannot load it: %w", err)
	}
	var funcs []string
	for _, f := range mod.Functions() {
		if s := f.Signature(); s != nil {
			funcs = append(funcs, s.String())
		} else {
			funcs = append(funcs, f.Name())
		}
	}
	return funcs, nil
}

// builder builds one project into out.
type builder struct {
	p        *Project
	tc       *toolchain.Toolchain
	log      io.Writer
	out, tmp string
	sigs     []*sig.Signature // signatures to write into the module, when the compiler does not
	notes    []string
}

// run runs a command in the project's directory; a failure is an ErrBuild with its output.
func (b *builder) run(ctx context.Context, env []string, args ...string) error {
	fmt.Fprintf(b.log, "$ %s\n", strings.Join(args, " "))
	var outb bytes.Buffer
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = b.p.Dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&outb, b.log), io.MultiWriter(&outb, b.log)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: %s: %v\n%s", ErrBuild, filepath.Base(args[0]), err, strings.TrimSpace(outb.String()))
	}
	return nil
}

// sources returns the files of the project's directory with extension ext, sorted.
func (b *builder) sources(ext string) ([]string, error) {
	m, err := filepath.Glob(filepath.Join(b.p.Dir, "*"+ext))
	if err != nil {
		return nil, err
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	slices.Sort(m)
	if len(m) == 0 {
		return nil, fmt.Errorf("%w: %s has no %s files", ErrBuild, b.p.Dir, ext)
	}
	return m, nil
}

// CFlags are the flags mrun build compiles C with (the project's Makefile has the same).
var CFlags = []string{"--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-mbulk-memory", "-std=c11", "-Wall", "-Wextra", "-Wl,--strip-debug"}

// c compiles every .c file of the project with the SDK's mrun.c. The signatures are in the
// sources (MRUN_SIG).
func (b *builder) c(ctx context.Context) error {
	srcs, err := b.sources(".c")
	if err != nil {
		return err
	}
	args := append([]string{b.tc.Tools["cc"]}, CFlags...)
	args = append(args, "-I", "mrun", "-o", b.out)
	args = append(args, srcs...)
	return b.run(ctx, nil, append(args, filepath.Join("mrun", "mrun.c"))...)
}

// wat assembles fns.wat (the project's one .wat file) and takes the signatures of the .sigs
// file beside it.
func (b *builder) wat(ctx context.Context) error {
	srcs, err := b.sources(".wat")
	if err != nil {
		return err
	}
	if len(srcs) > 1 {
		return fmt.Errorf("%w: a WebAssembly text project has one .wat file, and %s has %s", ErrBuild, b.p.Dir, strings.Join(srcs, ", "))
	}
	if err := b.run(ctx, nil, b.tc.Tools["wat2wasm"], srcs[0], "-o", b.out); err != nil {
		return err
	}
	sigFile := strings.TrimSuffix(srcs[0], ".wat") + ".sigs"
	text, err := os.ReadFile(filepath.Join(b.p.Dir, sigFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if b.sigs, err = sig.Parse(text); err != nil {
		var se *sig.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%w: %s:%d:%d: %s", ErrBuild, sigFile, se.Line, se.Column, se.Msg)
		}
		return fmt.Errorf("%w: %s: %v", ErrBuild, sigFile, err)
	}
	return nil
}

// golang builds the project's main package as a WASI reactor. Go's linker cannot write the
// signatures, so they come from the package source (internal/gosig, as 'mrun sig go').
func (b *builder) golang(ctx context.Context) error {
	env := []string{"GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off"}
	if err := b.run(ctx, env, b.tc.Tools["go"], "build", "-trimpath", "-buildvcs=false", "-buildmode=c-shared", "-o", b.out, "."); err != nil {
		return err
	}
	res, err := gosig.Dir(b.p.Dir)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBuild, err)
	}
	b.sigs = res.Sigs
	for _, n := range res.Notes {
		b.notes = append(b.notes, n.String())
	}
	return nil
}

// RustFlags are the flags mrun build compiles Rust with, for the SDK crate and the project's.
var RustFlags = []string{"--edition", "2021", "--target", "wasm32-wasi",
	"-C", "opt-level=3", "-C", "codegen-units=1", "-C", "lto=fat", "-C", "panic=abort", "-C", "strip=debuginfo"}

// rust compiles the SDK crate in mrun/ as an rlib, then src/lib.rs as a cdylib against it,
// linked as a WASI reactor. The signatures come from the sources (mrun::export!).
func (b *builder) rust(ctx context.Context) error {
	rustc := b.tc.Tools["rustc"]
	rlib := filepath.Join(b.tmp, "libmrun.rlib")
	remap := []string{"--remap-path-prefix", b.p.Dir + "=.", "--remap-path-prefix", b.tmp + "=build"}
	args := append([]string{rustc}, RustFlags...)
	args = append(args, remap...)
	args = append(args, "--crate-type", "rlib", "--crate-name", "mrun", "-C", "metadata=mrun", filepath.Join("mrun", "src", "lib.rs"), "-o", rlib)
	if err := b.run(ctx, nil, args...); err != nil {
		return err
	}
	args = append([]string{rustc}, RustFlags...)
	args = append(args, remap...)
	args = append(args, "--crate-type", "cdylib", "--crate-name", b.p.Name, "-C", "metadata="+b.p.Name,
		"-C", "link-arg="+b.tc.Tools["reactor"], "--extern", "mrun="+rlib, filepath.Join("src", "lib.rs"), "-o", b.out)
	return b.run(ctx, nil, args...)
}

// assemblyscript compiles assembly/index.ts with the SDK's flags and its signatures transform.
// The transform imports the compiler's modules, which node finds in the project's
// node_modules: a project without one gets a link to the toolchain's.
func (b *builder) assemblyscript(ctx context.Context) error {
	mods := filepath.Join(b.p.Dir, "node_modules")
	if _, err := os.Lstat(mods); errors.Is(err, os.ErrNotExist) {
		if err := os.Symlink(b.tc.Tools["node_modules"], mods); err != nil {
			return fmt.Errorf("link the AssemblyScript compiler into the project: %w", err)
		}
	}
	if _, err := os.Stat(filepath.Join(mods, "assemblyscript", "package.json")); err != nil {
		return fmt.Errorf("%w: %s has no assemblyscript package: run npm install there, or remove node_modules and mrun build links the toolchain's", ErrBuild, mods)
	}
	return b.run(ctx, nil, b.tc.Tools["node"], b.tc.Tools["asc"], "assembly/index.ts",
		"-O3", "--runtime", "minimal", "--exportStart", "_initialize",
		"--use", "abort=assembly/mrun/call/onAbort",
		"--transform", "./assembly/mrun/signatures.mjs", "-o", b.out)
}

// zig compiles main.zig with the SDK as module mrun, into a WASI reactor library; the
// signatures come from the sources (mrun.signature). Zig's global cache is the toolchain's,
// shared by every project.
func (b *builder) zig(ctx context.Context) error {
	global := filepath.Join(b.tc.Where, "global-cache")
	if b.tc.Where == "system" {
		dir, err := toolchain.DefaultDir()
		if err != nil {
			return err
		}
		global = filepath.Join(dir, "zig-global-cache")
	}
	return b.run(ctx, nil, b.tc.Tools["zig"], "build-lib", "--mod", "mrun::mrun/mrun.zig", "--deps", "mrun", "main.zig",
		"-target", "wasm32-wasi", "-mcpu=generic+bulk_memory", "-dynamic", "-rdynamic", "-O", "ReleaseSmall", "-fstrip",
		"--cache-dir", "zig-cache", "--global-cache-dir", global,
		"--name", b.p.Name, "-femit-bin="+b.out, "-fno-emit-implib")
}
