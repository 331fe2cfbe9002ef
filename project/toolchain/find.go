package toolchain

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// findGo finds a Go of at least MinGo: on PATH, or in /usr/local/go.
func findGo(ctx context.Context, _ Config) (*Toolchain, error) {
	var seen []string
	cands := []string{"/usr/local/go/bin/go"}
	if p, err := exec.LookPath("go"); err == nil {
		cands = append([]string{p}, cands...)
	}
	for _, p := range cands {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		cmd := exec.CommandContext(ctx, p, "env", "GOVERSION")
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		out, err := cmd.Output()
		if err != nil {
			continue
		}
		v := strings.TrimPrefix(strings.TrimSpace(string(out)), "go")
		if atLeast(v, MinGo) {
			return &Toolchain{Lang: "go", Tools: map[string]string{"go": p}, Version: "go" + v, Where: "system"}, nil
		}
		seen = append(seen, p+" is go"+v)
	}
	if len(seen) > 0 {
		return nil, missing("go", "Go "+MinGo+" or newer ("+strings.Join(seen, "; ")+")")
	}
	return nil, missing("go", "go (not on PATH, not in /usr/local/go)")
}

// atLeast reports whether version v (1.26.8) is at least min (1.24).
func atLeast(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := range b {
		if i >= len(a) {
			return false
		}
		x, _ := strconv.Atoi(strings.TrimRightFunc(a[i], func(r rune) bool { return r < '0' || r > '9' }))
		y, _ := strconv.Atoi(b[i])
		if x != y {
			return x > y
		}
	}
	return true
}

// findC finds the C toolchain Install unpacked into the user's directory, or else the one
// installed on the system.
func findC(ctx context.Context, c Config) (*Toolchain, error) {
	return findDeb(ctx, c, "c", findSystemC)
}

// findSystemC finds clang, wasm-ld, wasi-libc and the wasm32 compiler runtime, as Debian
// installs them system-wide.
func findSystemC(ctx context.Context, _ Config) (*Toolchain, error) {
	var lack []string
	cc, err := exec.LookPath("clang")
	if err != nil {
		lack = append(lack, "clang")
	}
	if _, err := exec.LookPath("wasm-ld"); err != nil {
		lack = append(lack, "wasm-ld (lld)")
	}
	if _, err := os.Stat("/usr/lib/wasm32-wasi/crt1-reactor.o"); err != nil {
		lack = append(lack, "wasi-libc (/usr/lib/wasm32-wasi)")
	}
	if m, _ := filepath.Glob("/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"); len(m) == 0 {
		lack = append(lack, "the wasm32 compiler runtime (libclang_rt.builtins-wasm32.a)")
	}
	if len(lack) > 0 {
		return nil, missing("c", lack...)
	}
	v, err := output(ctx, cc, "--version")
	if err != nil {
		return nil, err
	}
	return &Toolchain{Lang: "c", Tools: map[string]string{"cc": cc}, Version: "clang " + firstVersion(firstLine(v)), Where: "system"}, nil
}

// RustReactor is the WASI reactor start file Debian's Rust standard library for wasm32 has,
// installed system-wide; Toolchain.Tools["reactor"] is the one to link with.
const RustReactor = "/usr/lib/rustlib/wasm32-wasi/lib/self-contained/crt1-reactor.o"

// findRust finds the Rust toolchain Install unpacked into the user's directory, or else the
// one installed on the system.
func findRust(ctx context.Context, c Config) (*Toolchain, error) {
	return findDeb(ctx, c, "rust", findSystemRust)
}

// findSystemRust finds Debian's rustc with the wasm32-wasi standard library, installed
// system-wide. A rustup rustc on PATH has its own sysroot, without that library, so
// /usr/bin/rustc is the one.
func findSystemRust(ctx context.Context, _ Config) (*Toolchain, error) {
	const rustc = "/usr/bin/rustc"
	var lack []string
	if _, err := os.Stat(rustc); err != nil {
		lack = append(lack, rustc)
	}
	if _, err := os.Stat(RustReactor); err != nil {
		lack = append(lack, "the wasm32-wasi standard library ("+RustReactor+")")
	}
	if len(lack) > 0 {
		return nil, missing("rust", lack...)
	}
	v, err := output(ctx, rustc, "--version")
	if err != nil {
		return nil, err
	}
	return &Toolchain{Lang: "rust", Tools: map[string]string{"rustc": rustc, "reactor": RustReactor}, Version: "rustc " + firstVersion(v), Where: "system"}, nil
}

// findWat finds the wat2wasm Install unpacked into the user's directory, or else the one on
// PATH.
func findWat(ctx context.Context, c Config) (*Toolchain, error) {
	return findDeb(ctx, c, "wat", findSystemWat)
}

// findSystemWat finds wabt's wat2wasm on PATH.
func findSystemWat(ctx context.Context, _ Config) (*Toolchain, error) {
	p, err := exec.LookPath("wat2wasm")
	if err != nil {
		return nil, missing("wat", "wat2wasm (wabt)")
	}
	v, err := output(ctx, p, "--version")
	if err != nil {
		return nil, err
	}
	return &Toolchain{Lang: "wat", Tools: map[string]string{"wat2wasm": p}, Version: "wabt " + firstVersion(v), Where: "system"}, nil
}

// findAS finds node and the AssemblyScript compiler installed in the cache directory.
func findAS(ctx context.Context, c Config) (*Toolchain, error) {
	root, err := c.dir()
	if err != nil {
		return nil, err
	}
	mods := filepath.Join(root, "assemblyscript", "node_modules")
	var lack []string
	node, err := exec.LookPath("node")
	if err != nil {
		lack = append(lack, "node")
	}
	asc := filepath.Join(mods, "assemblyscript", "bin", "asc.js")
	v := packageVersion(filepath.Join(mods, "assemblyscript", "package.json"))
	if v != ASVersion {
		lack = append(lack, "assemblyscript "+ASVersion+" in "+mods)
	}
	if len(lack) > 0 {
		return nil, missing("assemblyscript", lack...)
	}
	return &Toolchain{Lang: "assemblyscript", Tools: map[string]string{"node": node, "asc": asc, "node_modules": mods},
		Version: "assemblyscript " + v, Where: filepath.Dir(mods)}, nil
}

// findZig finds Zig ZigVersion installed in the cache directory by npm, or on PATH.
func findZig(ctx context.Context, c Config) (*Toolchain, error) {
	root, err := c.dir()
	if err != nil {
		return nil, err
	}
	cached := filepath.Join(root, "zig", "node_modules", "@ryoppippi", "zig-linux-x64", "zig")
	cands := []string{cached}
	if p, err := exec.LookPath("zig"); err == nil {
		cands = append(cands, p)
	}
	var seen []string
	for _, p := range cands {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		v, err := output(ctx, p, "version")
		if err != nil {
			continue
		}
		if v == ZigVersion {
			where := "system"
			if p == cached {
				where = filepath.Join(root, "zig")
			}
			return &Toolchain{Lang: "zig", Tools: map[string]string{"zig": p}, Version: "zig " + v, Where: where}, nil
		}
		seen = append(seen, p+" is "+v)
	}
	what := "zig " + ZigVersion
	if len(seen) > 0 {
		what += " (" + strings.Join(seen, "; ") + ")"
	}
	return nil, missing("zig", what)
}

// packageVersion returns the version field of an npm package.json, or "".
func packageVersion(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	var pj struct{ Version string }
	if json.Unmarshal(b, &pj) != nil {
		return ""
	}
	return pj.Version
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
