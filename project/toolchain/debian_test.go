package toolchain

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseClosure(t *testing.T) {
	out := `wabt
  Depends: libc6
  Depends: libstdc++6
libstdc++6
  Depends: gcc-12-base
  Depends: libc6
<libc-dev>
  libc6-dev
libc6
libgcc-s1
gcc-12-base
libc6
`
	want := []string{"gcc-12-base", "libc6", "libgcc-s1", "libstdc++6", "wabt"}
	if got := parseClosure(out); !reflect.DeepEqual(got, want) {
		t.Errorf("parseClosure = %q, want %q", got, want)
	}
}

func TestParseCandidates(t *testing.T) {
	out := `Package: clang-14
Source: llvm-toolchain-14 (1:14.0.6-12)
Version: 1:14.0.6-12
Architecture: amd64
Description: C, C++ and Objective-C compiler
 Clang project is a C, C++, Objective C and Objective C++ front-end
Description-md5: 3d1e4a8a0b4e1c4e2a7d3c5d3b6b0c1e

Package: wabt
Version: 1.0.32-1
Architecture: amd64
`
	want := map[string]aptCandidate{
		"clang-14": {Package{"clang-14", "1:14.0.6-12"}, "llvm-toolchain-14", "amd64"},
		"wabt":     {Package{"wabt", "1.0.32-1"}, "wabt", "amd64"},
	}
	if got := parseCandidates(out); !reflect.DeepEqual(got, want) {
		t.Errorf("parseCandidates = %+v, want %+v", got, want)
	}
}

func TestParseInstalled(t *testing.T) {
	out := "libc6\t2.36-9+deb12u14\tii \nwabt\t1.0.32-1\trc \nlibgcc-s1\t12.2.0-14\tii \n"
	want := map[string]string{"libc6": "2.36-9+deb12u14", "libgcc-s1": "12.2.0-14"}
	if got := parseInstalled(out); !reflect.DeepEqual(got, want) {
		t.Errorf("parseInstalled = %v, want %v", got, want)
	}
}

func TestPlan(t *testing.T) {
	cand := func(name, version, source string) aptCandidate {
		return aptCandidate{Package{name, version}, source, "amd64"}
	}
	cands := map[string]aptCandidate{
		"clang":                     cand("clang", "1:14.0-55", "llvm-defaults"),
		"clang-14":                  cand("clang-14", "1:14.0.6-12", "llvm-toolchain-14"),
		"libllvm14":                 cand("libllvm14", "1:14.0.6-12", "llvm-toolchain-14"),
		"libxml2":                   cand("libxml2", "2.9.14-6", "libxml2"),
		"zlib1g":                    cand("zlib1g", "1:1.2.13-1", "zlib"),
		"libc6":                     cand("libc6", "2.36-10", "glibc"),
		"libclang-rt-14-dev-wasm32": cand("libclang-rt-14-dev-wasm32", "1:14.0.6-12", "llvm-toolchain-14"),
		"libedit2":                  cand("libedit2", "3.1-1", "libedit"),
	}
	installed := map[string]string{
		"clang":     "1:14.0-55",   // asked for: unpacked all the same
		"libllvm14": "1:14.0.6-12", // the compiler's own source: unpacked all the same
		"libxml2":   "2.9.14-5",    // another version: unpacked
		"zlib1g":    "1:1.2.13-1",  // the same version: the system's
		"libc6":     "2.36-9",      // the C library: always the system's
	}
	closure := []string{"clang", "clang-14", "libc6", "libclang-rt-14-dev-wasm32", "libedit2", "libllvm14", "libxml2", "zlib1g"}
	roots := []string{"clang", "libclang-rt-14-dev-wasm32"}
	unpack, system, err := plan(roots, closure, cands, installed)
	if err != nil {
		t.Fatal(err)
	}
	names := func(cs []aptCandidate) (s []string) {
		for _, c := range cs {
			s = append(s, c.String())
		}
		return s
	}
	if got, want := names(unpack), []string{"clang=1:14.0-55", "clang-14=1:14.0.6-12", "libclang-rt-14-dev-wasm32=1:14.0.6-12", "libedit2=3.1-1", "libllvm14=1:14.0.6-12", "libxml2=2.9.14-6"}; !reflect.DeepEqual(got, want) {
		t.Errorf("unpack = %q, want %q", got, want)
	}
	if got, want := names(system), []string{"libc6=2.36-9", "zlib1g=1:1.2.13-1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("system = %q, want %q", got, want)
	}

	_, _, err = plan(append(roots, "wabt"), closure, cands, installed)
	if err == nil || err.Error() != "have no wabt" {
		t.Errorf("plan with a root the lists lack = %v", err)
	}
}

func TestDebFile(t *testing.T) {
	c := aptCandidate{Package{"clang", "1:14.0-55.7~deb12u1"}, "llvm-defaults", "amd64"}
	if got, want := debFile(c), "clang_1%3a14.0-55.7~deb12u1_amd64.deb"; got != want {
		t.Errorf("debFile = %q, want %q", got, want)
	}
}

func TestWrapper(t *testing.T) {
	root := filepath.Join(t.TempDir(), "it's")
	for _, d := range []string{"usr/lib/x86_64-linux-gnu", "lib/x86_64-linux-gnu", "usr/lib/llvm-14/bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got := wrapper(root, filepath.Join(root, "usr/lib/llvm-14/bin/clang"), []string{"--sysroot={root}/usr"})
	want := `#!/bin/sh
# Written by mrun toolchain install: runs clang unpacked from Debian packages into
# the directory below, with what the relocated tree needs.
root='` + strings.ReplaceAll(root, "'", `'\''`) + `'
PATH="$root/usr/bin:$PATH"
LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu:$root/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH LD_LIBRARY_PATH
exec "$root/usr/lib/llvm-14/bin/clang" "--sysroot=$root/usr" "$@"
`
	if got != want {
		t.Errorf("wrapper:\n%s\nwant:\n%s", got, want)
	}
}

// fakeApt puts apt-cache, apt-get, dpkg-query and dpkg-deb on PATH (and nothing else but the
// shell's tools), answering from dir: lists exists once the package lists are there, closure
// and show are apt-cache's answers, installed is dpkg-query's, debs/NAME is the tar that
// stands for NAME's package. Each call is logged to dir/calls.
func fakeApt(t *testing.T, dir string) {
	t.Helper()
	bin := filepath.Join(dir, "bin")
	scripts := map[string]string{
		"apt-cache": `echo "apt-cache $1" >>"$FAKE/calls"
[ -f "$FAKE/lists" ] || exit 0
case "$1" in depends) cat "$FAKE/closure" ;; show) cat "$FAKE/show" ;; esac`,
		"apt-get": `echo "apt-get $*" >>"$FAKE/calls"
[ "$1" = -o ] && shift 2
case "$1" in
update) touch "$FAKE/lists" ;;
download)
	shift
	while [ $# -gt 0 ]; do
		case "$1" in
		-o) shift ;;
		*=*) n="${1%%=*}"; v="$(echo "${1#*=}" | sed 's/:/%3a/')"; cp "$FAKE/debs/$n" "${n}_${v}_amd64.deb" ;;
		esac
		shift
	done ;;
esac`,
		"dpkg-query": `cat "$FAKE/installed"; exit 1`,
		"dpkg-deb":   `[ "$1" = -x ] && tar -xf "$2" -C "$3"`,
	}
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"sh", "cat", "cp", "sed", "tar", "touch"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
		if err := os.Symlink(p, filepath.Join(bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin)
	t.Setenv("FAKE", dir)
}

// writeTar writes a tar of files (name: content; executable when content starts with #!).
func writeTar(t *testing.T, path string, files map[string]string) {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for name, content := range files {
		mode := int64(0o644)
		if strings.HasPrefix(content, "#!") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(content))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(content))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestInstall_debianUserDir installs wabt into the user's directory through a fake apt:
// without root it says to update the package lists; as root it updates them itself, unpacks
// what the system lacks, records it, and Find then prefers it to the wat2wasm on PATH.
func TestInstall_debianUserDir(t *testing.T) {
	ctx := context.Background()
	fake, dir := t.TempDir(), t.TempDir()
	fakeApt(t, fake)
	files := map[string]string{
		"closure": "wabt\n  Depends: libc6\n  Depends: libgcc-s1\nlibc6\nlibgcc-s1\n",
		"show": "Package: wabt\nVersion: 1.0.32-1\nArchitecture: amd64\n\n" +
			"Package: libc6\nSource: glibc\nVersion: 2.36-10\nArchitecture: amd64\n\n" +
			"Package: libgcc-s1\nSource: gcc-12 (12.2.0-14)\nVersion: 12.2.0-14\nArchitecture: amd64\n",
		"installed": "libc6\t2.36-9\tii \nlibgcc-s1\t12.2.0-13\tii \n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(fake, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeTar(t, filepath.Join(fake, "debs", "wabt"), map[string]string{
		"./usr/bin/wat2wasm": "#!/bin/sh\necho 1.0.32 \"$LD_LIBRARY_PATH\"\n"})
	writeTar(t, filepath.Join(fake, "debs", "libgcc-s1"), map[string]string{
		"./lib/x86_64-linux-gnu/libgcc_s.so.1": "not a library"})
	// A wat2wasm of the system's, on PATH.
	sys := filepath.Join(fake, "sysbin", "wat2wasm")
	writeFile(t, sys, "#!/bin/sh\necho 1.0.30\n", 0o755)
	t.Setenv("PATH", os.Getenv("PATH")+":"+filepath.Dir(sys))
	if tc, err := Find(ctx, "wat", Config{Dir: dir}); err != nil || tc.Tools["wat2wasm"] != sys || tc.Where != "system" {
		t.Fatalf("Find(wat) before the install = %+v, %v; want the system's", tc, err)
	}

	defer func(f func() int) { geteuid = f }(geteuid)
	geteuid = func() int { return 1000 }
	_, err := Install(ctx, "wat", Config{Dir: dir})
	if want := "install the wat toolchain: apt's package lists have no wabt: run: sudo apt-get update, then mrun toolchain install wat again"; err == nil || err.Error() != want {
		t.Fatalf("Install(wat) without package lists, not root = %v\nwant %s", err, want)
	}

	geteuid = func() int { return 0 }
	tc, err := Install(ctx, "wat", Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	wat := filepath.Join(dir, "wat", "bin", "wat2wasm")
	want := &Toolchain{Lang: "wat", Tools: map[string]string{"wat2wasm": wat}, Version: "wabt 1.0.32", Where: filepath.Join(dir, "wat"),
		Packages: []Package{{"libgcc-s1", "12.2.0-14"}, {"wabt", "1.0.32-1"}}}
	if !reflect.DeepEqual(tc, want) {
		t.Errorf("Install(wat) = %+v, want %+v", tc, want)
	}
	out, err := exec.Command(wat).Output()
	if got, want := string(out), "1.0.32 "+filepath.Join(dir, "wat", "root", "lib", "x86_64-linux-gnu")+"\n"; err != nil || got != want {
		t.Errorf("the wrapper printed %q, %v; want %q", got, err, want)
	}
	var m manifest
	b, err := os.ReadFile(filepath.Join(dir, "wat", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	wantM := manifest{Lang: "wat", Packages: want.Packages, System: []Package{{"libc6", "2.36-9"}}, Tools: map[string]string{"wat2wasm": "bin/wat2wasm"}}
	if !reflect.DeepEqual(m, wantM) {
		t.Errorf("manifest = %+v, want %+v", m, wantM)
	}
	calls, _ := os.ReadFile(filepath.Join(fake, "calls"))
	wantCalls := "apt-cache depends\n" + // no lists, not root
		"apt-cache depends\napt-get -o DPkg::Lock::Timeout=600 update\n" + // no lists, root
		"apt-cache depends\napt-cache show\n" +
		"apt-get download -o APT::Sandbox::User=root libgcc-s1=12.2.0-14 wabt=1.0.32-1\n"
	if string(calls) != wantCalls {
		t.Errorf("calls:\n%s\nwant:\n%s", calls, wantCalls)
	}

	// Find prefers it to the system's; a second Install finds it and downloads nothing.
	if tc, err := Find(ctx, "wat", Config{Dir: dir}); err != nil || tc.Tools["wat2wasm"] != wat {
		t.Errorf("Find(wat) after the install = %+v, %v; want %s", tc, err, wat)
	}
	os.Remove(filepath.Join(fake, "calls"))
	if _, err := Install(ctx, "wat", Config{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(fake, "calls")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a second Install ran apt: %v", err)
	}

	// A tree that no longer runs is reported, when the system has no toolchain either.
	writeFile(t, filepath.Join(dir, "wat", "root", "usr", "bin", "wat2wasm"), "#!/bin/sh\nexit 3\n", 0o755)
	os.Remove(sys)
	_, err = Find(ctx, "wat", Config{Dir: dir})
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "the wat toolchain in "+filepath.Join(dir, "wat")+" does not run ("+wat+" --version: exit status 3: ); run: mrun toolchain install wat") {
		t.Errorf("Find(wat) of a broken tree = %v", err)
	}
}

func writeFile(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// TestInstall_debianReal installs the C, Rust and WebAssembly text toolchains from the
// machine's real package repositories into a temporary directory, and compiles a small
// module with each. It downloads about 160 MB: set MRUN_TOOLCHAIN_INSTALL_TEST=1 to run it
// (CI does).
func TestInstall_debianReal(t *testing.T) {
	if os.Getenv("MRUN_TOOLCHAIN_INSTALL_TEST") == "" {
		t.Skip("set MRUN_TOOLCHAIN_INSTALL_TEST=1 to install real toolchains (downloads about 160 MB)")
	}
	ctx := context.Background()
	dir, work := t.TempDir(), t.TempDir()
	var log bytes.Buffer
	c := Config{Dir: dir, Log: &log}
	writeFile(t, filepath.Join(work, "f.c"), "#include <stdlib.h>\n__attribute__((export_name(\"f\"))) int f(const char *s) { return atoi(s) + 1; }\n", 0o644)
	writeFile(t, filepath.Join(work, "f.rs"), "#[no_mangle]\npub extern \"C\" fn f(x: i32) -> i32 { x + 1 }\n", 0o644)
	writeFile(t, filepath.Join(work, "f.wat"), "(module (func (export \"f\") (param i32) (result i32) local.get 0 i32.const 1 i32.add))\n", 0o644)
	for _, lang := range []string{"c", "rust", "wat"} {
		tc, err := Install(ctx, lang, c)
		if err != nil {
			t.Fatalf("%v\n%s", err, log.String())
		}
		if tc.Where != filepath.Join(dir, lang) || !strings.HasPrefix(tc.Tools[Compiler[lang]], dir+"/") {
			t.Errorf("Install(%s) = %+v, not in %s", lang, tc, dir)
		}
		if found, err := Find(ctx, lang, c); err != nil || found.Tools[Compiler[lang]] != tc.Tools[Compiler[lang]] {
			t.Errorf("Find(%s) = %+v, %v; want the installed one", lang, found, err)
		}
		var args []string
		switch lang {
		case "c":
			args = []string{"--target=wasm32-wasi", "-mexec-model=reactor", "-O2", "-o", "f.wasm", "f.c"}
		case "rust":
			args = []string{"--crate-type", "cdylib", "--target", "wasm32-wasi", "-O", "-C", "link-arg=" + tc.Tools["reactor"], "f.rs", "-o", "f.wasm"}
		case "wat":
			args = []string{"f.wat", "-o", "f.wasm"}
		}
		os.Remove(filepath.Join(work, "f.wasm"))
		cmd := exec.CommandContext(ctx, tc.Tools[Compiler[lang]], args...)
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", lang, err, out)
			continue
		}
		b, err := os.ReadFile(filepath.Join(work, "f.wasm"))
		if err != nil || !bytes.HasPrefix(b, []byte("\x00asm")) {
			t.Errorf("%s built no module: %v", lang, err)
		}
	}
}
