package assemblyscript_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/abi/wasmsection"
)

// The signature transform (assembly/mrun/signatures.mjs) runs in Node.js, inside the
// compiler. These tests need node and the compiler that toolchain.sh installs; without them
// they are skipped, unless MRUN_REQUIRE_NODE is set (CI sets it after installing the
// toolchains), when they fail.

// needNode skips the test when node or the pinned compiler is missing.
func needNode(t *testing.T) {
	t.Helper()
	skip := t.Skip
	if os.Getenv("MRUN_REQUIRE_NODE") != "" {
		skip = t.Fatal
	}
	if _, err := exec.LookPath("node"); err != nil {
		skip("node is not installed: run guests/assemblyscript/toolchain.sh")
	}
	if _, err := os.Stat("node_modules/assemblyscript/bin/asc.js"); err != nil {
		skip("the AssemblyScript compiler is not installed: run guests/assemblyscript/toolchain.sh")
	}
}

// TestTransform_parserAgreesWithAbiSig checks that the transform's reader of the signature
// notation (which checks @mrun, @param and @returns tags at build time) accepts exactly the
// lines package abi/sig accepts, prints them in the same canonical form, and refuses the
// others with the same message.
func TestTransform_parserAgreesWithAbiSig(t *testing.T) {
	needNode(t)
	lines := []string{
		"inc(x: int) -> int  -- Adds one.",
		"inc(x:int)->int--Adds one.  ",
		"  now ( ) -> int impure",
		"triage(xs: list[float], *, cut: float = 0.5) -> (list[float], list[float])  -- Splits.",
		"f(*, a: int, b: map = { \"k\" : [1, 2] }) -> any",
		"f(m: map[ str , list[ tensor[uint8] ] ]) -> table",
		"f(x: decimal[10, 2]) -> bytes",
		"f(x: int, *, seed: int = null) -> tensor  impure  -- Random.",
		`"a b"(x: any) -> none`,
		`"q\"uote"(m: tensor[bool]) -> table`,
		"rev-bytes.v2(b: bytes) -> bytes",
		"impure() -> int  impure",
		"f() -> int  -- -- two dashes",
		`f(*, a: map[str, any] = {"k": [1, 2.5e3, null]}, b: str = "\u00e9 \"x\"") -> x[y[z]]`,
		`greet(name: str, *, greeting: str = "hello", punct: str = "!") -> str`,
		"f(*, k: float = -1.5e-3, b: bool = true, l: list = [ ]) -> date[ms]",
		"f(\tx: int\t) -> int",
		"relay(module: str, fn: str, *args: any) -> any",
		`f( * xs : int , k : str = "a" ) -> int`,
		"f(a: int, *xs: list[int], *, k: int) -> int",
		"f(*xs: int = 1) -> int",
		"f(x: int, *x: int) -> int",
		"inc(x int) -> int",
		"inc(x: int)",
		"inc(x: int) -> ",
		"inc(x: int = 1) -> int",
		"f(*) -> int",
		"f(*, a: int, *, b: int) -> int",
		"f(a: int, a: str) -> int",
		"f(*, a: int = 1.5) -> int",
		`f(*, a: bytes = "x") -> int`,
		"f(*, a: int = ) -> int",
		"f(*, a: int = 'x') -> int",
		"f(*, k: float = 1.5x) -> int",
		"f(*, k: int = -) -> int",
		"f(*, k: bool = truex) -> int",
		"f(*, k: int = 01) -> int",
		"f(x: tensor[f64]) -> int",
		"f(x: map[int, str]) -> int",
		"f(x: int[8]) -> int",
		"f(x: list[int) -> int",
		"f(x: vec[int) -> int",
		"f(x: vec[]) -> int",
		"f() -> (int)",
		"f() -> (int, str",
		"f() -> int pure",
		"bad() -> int \x01",
		"(x: int) -> int",
		"f(1x: int) -> int",
		strings.Repeat("n", 129) + "() -> int",
		strings.Repeat("n", 128) + "() -> int",
		"f(x: " + strings.Repeat("list[", 40) + "int" + strings.Repeat("]", 40) + ") -> int",
	}
	in, err := json.Marshal(lines)
	if err != nil {
		t.Fatal(err)
	}
	script := `
import { parseLine, format } from "./assembly/mrun/signatures.mjs";
let text = "";
for await (const chunk of process.stdin) text += chunk;
const out = JSON.parse(text).map((l) => {
  try { return { line: format(parseLine(l)) }; } catch (e) { return { err: e.message }; }
});
process.stdout.write(JSON.stringify(out));
`
	cmd := exec.Command("node", "--input-type=module", "-e", script)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stderr = os.Stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v", err)
	}
	var got []struct{ Line, Err string }
	if err := json.Unmarshal(raw, &got); err != nil || len(got) != len(lines) {
		t.Fatalf("node wrote %q: %v", raw, err)
	}
	for i, l := range lines {
		s, err := sig.ParseLine(l)
		switch {
		case err == nil && got[i].Err != "":
			t.Errorf("%q: abi/sig reads it as %s; the transform refuses it: %s", l, s, got[i].Err)
		case err == nil && got[i].Line != s.String():
			t.Errorf("%q: the transform prints %q, abi/sig %q", l, got[i].Line, s.String())
		case err != nil && got[i].Err == "":
			t.Errorf("%q: abi/sig refuses it (%v); the transform reads it as %q", l, err, got[i].Line)
		case err != nil && "line 1, "+got[i].Err != err.Error() && !strings.HasPrefix(l, `"`):
			t.Errorf("%q: the transform says\n%s\nabi/sig says\n%s", l, got[i].Err, err)
		}
	}
}

// build compiles the AssemblyScript source src as build.sh does, in a directory next to the
// SDK, and returns the module and what the compiler wrote on stderr.
func build(t *testing.T, src string) ([]byte, string, error) {
	t.Helper()
	dir, err := os.MkdirTemp("assembly", ".transform-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "m.ts"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "m.wasm")
	cmd := exec.Command("node", "node_modules/assemblyscript/bin/asc.js", filepath.Join(dir, "m.ts"),
		"--runtime", "minimal", "--exportStart", "_initialize", "--use", "abort=assembly/mrun/call/onAbort",
		"--transform", "./assembly/mrun/signatures.mjs", "--noColors", "-o", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, stderr.String(), err
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm, stderr.String(), nil
}

// TestTransform_mistakes checks that each mistake a user can make in a function or its doc
// comment fails the build with a message naming the file, the line and what to add, and that
// no module is written.
func TestTransform_mistakes(t *testing.T) {
	needNode(t)
	src := `import { Args, Value, call, call1, call2 } from "../mrun";
export { mrun_abi_v1, mrun_alloc } from "../mrun";

export function mrun_fn_nodoc(p: u32, n: u32): u64 {
  return call1<i64, i64>(p, n, "nodoc", (x: i64): i64 => x);
}

// linedoc(x) is x, but its comment is not a doc comment.
export function mrun_fn_linedoc(p: u32, n: u32): u64 {
  return call1<i64, i64>(p, n, "linedoc", (x: i64): i64 => x);
}

/** kw(name) takes Args. */
export function mrun_fn_kw(p: u32, n: u32): u64 {
  return call(p, n, "kw", (a: Args): Value => Value.str(a.str(0)));
}

/** custom(x) has a body of its own. */
export function mrun_fn_custom(p: u32, n: u32): u64 {
  const r = call1<i64, i64>(p, n, "custom", (x: i64): i64 => x);
  return r;
}

/**
 * badtag(x) has a malformed tag.
 * @mrun badtag(x: int) -> flot[
 */
export function mrun_fn_badtag(p: u32, n: u32): u64 {
  return call1<i64, i64>(p, n, "badtag", (x: i64): i64 => x);
}

/**
 * wrongname(x) describes another function.
 * @mrun other(x: int) -> int
 */
export function mrun_fn_wrongname(p: u32, n: u32): u64 {
  return call1<i64, i64>(p, n, "wrongname", (x: i64): i64 => x);
}

/**
 * noparam(x) names a parameter it does not have.
 * @param {int} y
 */
export function mrun_fn_noparam(p: u32, n: u32): u64 {
  return call1<i64, i64>(p, n, "noparam", (x: i64): i64 => x);
}

/**
 * astype(x) writes an AssemblyScript type in a tag.
 * @param {i64} x
 */
export function mrun_fn_astype(p: u32, n: u32): u64 {
  return call1<i64, i64>(p, n, "astype", (x: i64): i64 => x);
}

/**
 * oneout(a, b) writes one output in parentheses.
 * @returns {(int)}
 */
export function mrun_fn_oneout(p: u32, n: u32): u64 {
  return call2<i64, i64, i64>(p, n, "oneout", (a: i64, b: i64): i64 => a + b);
}

/** lost(x) hands call1 a function whose parameter names cannot be found. */
export function mrun_fn_lost(p: u32, n: u32): u64 {
  return call1<i64, i64>(p, n, "lost", Math.abs);
}

type Count = i64;

/** odd(c) takes a type alias of its own. */
export function mrun_fn_odd(p: u32, n: u32): u64 {
  return call1<Count, i32>(p, n, "odd", (c: Count): i32 => <i32>(c & 1));
}

/**
 * @returns {int}
 */
export function mrun_fn_notext(p: u32, n: u32): u64 {
  return call1<i64, i64>(p, n, "notext", (x: i64): i64 => x);
}
`
	wasm, stderr, err := build(t, src)
	if err == nil {
		t.Fatalf("the build succeeded (%d bytes); stderr:\n%s", len(wasm), stderr)
	}
	want := []string{
		"/m.ts:72: note: odd: parameter c: Count has no mrun type, so it is described as any: add @param {type} c",
		"FAILURE mrun signatures:",
		`/m.ts:4: mrun_fn_nodoc: no doc comment: write /** nodoc(...) does what. */ above the function (its first paragraph is the signature's doc)`,
		`/m.ts:9: mrun_fn_linedoc: its // comment is not a doc comment: write it as /** ... */ (its first paragraph is the signature's doc)`,
		`/m.ts:14: mrun_fn_kw: kw takes Args, so its parameters cannot be read from its types: add @mrun kw(x: int, *, k: str = "default") -> str (its parameters, keywords and result) to its doc comment`,
		`/m.ts:19: mrun_fn_custom: the body is not return call0 ... call3 (p, n, "custom", fn), so the signature cannot be read from it: add @mrun custom(params) -> result to its doc comment, or @nosig`,
		`/m.ts:28: mrun_fn_badtag: @mrun badtag(x: int) -> flot[: column 24: want "]", found the end of the line`,
		`/m.ts:36: mrun_fn_wrongname: @mrun describes "other", not "wrongname"`,
		`/m.ts:44: mrun_fn_noparam: @param names y, which is not a parameter of noparam(x)`,
		`/m.ts:52: mrun_fn_astype: @param {i64} x: i64 is an AssemblyScript type: write the mrun type, such as int`,
		`/m.ts:60: mrun_fn_oneout: @returns {(int)}: column 1: a list of outputs has at least two types; write one output without parentheses`,
		`/m.ts:65: mrun_fn_lost: cannot find the parameter names of the function handed to call1: pass a function declared at the top level of a file or an arrow function, or add @mrun to the doc comment`,
		`/m.ts:79: mrun_fn_notext: the doc comment has no text before its tags: start it with a sentence saying what the function does`,
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != len(want) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(lines), len(want), stderr)
	}
	for i, w := range want {
		got := strings.TrimSpace(lines[i])
		if strings.HasPrefix(w, "/") {
			// The file is named by its path from the compiler's directory: assembly/.transform-test-N/m.ts.
			w = "assembly/" + filepath.Base(filepath.Dir(firstPath(got))) + w
		}
		if got != w {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, got, w)
		}
	}
}

// firstPath returns the path at the start of an error line, before its ":line:".
func firstPath(line string) string {
	if i := strings.Index(line, ".ts:"); i >= 0 {
		return line[:i+3]
	}
	return ""
}

// TestTransform_module builds a module with a function of every kind the transform derives
// and checks its section line by line: the types of the type arguments (or, without them, of
// the function's own declaration), the parameter names of a named function and of an arrow,
// the doc from the JSDoc comment, tags and @nosig.
func TestTransform_module(t *testing.T) {
	needNode(t)
	src := `import { Args, Value, Tensor, Table, Obj, call, call0, call1, call2, call3 } from "../mrun";
export { mrun_abi_v1, mrun_alloc } from "../mrun";

/** scale(xs, k) multiplies every element of xs by k. */
export function mrun_fn_scale(p: u32, n: u32): u64 {
  return call2<f64[], f64, f64[]>(p, n, "scale", scale);
}

function scale(xs: f64[], k: f64): f64[] {
  return xs.map<f64>((x: f64): f64 => x * 2);
}

/**
 * Counts the words of text.
 *
 * A second paragraph that is not part of the doc.
 */
export function mrun_fn_words(p: u32, n: u32): u64 {
  return call1(p, n, "words", words);
}

function words(text: string): i32 {
  return text.split(" ").length;
}

/** mix(flag, data, t, tbl) takes one of each. */
export function mrun_fn_mix(p: u32, n: u32): u64 {
  return call3<bool, Uint8Array, Tensor, Tensor | null>(p, n, "mix", (flag: bool, data: Uint8Array, t: Tensor): Tensor | null => t);
}

/** nested(x) is a list of lists of strings. */
export function mrun_fn_nested(p: u32, n: u32): u64 {
  return call1<Table, Array<Array<string>>>(p, n, "nested", (tbl: Table): string[][] => []);
}

/**
 * clock() reads the clock: impure, its result described by a tag.
 * @returns {int}
 * @impure
 */
export function mrun_fn_clock(p: u32, n: u32): u64 {
  return call0<Value>(p, n, "clock", (): Value => Value.int(0));
}

/**
 * pair(o, v) returns two outputs.
 * @param {float} v the value (a number, whatever the SDK decodes)
 * @param o an Object
 * @returns {(any, float)}
 */
export function mrun_fn_pair(p: u32, n: u32): u64 {
  return call2<Obj, Value, Value>(p, n, "pair", (o: Obj, v: Value): Value => v);
}

/**
 * opts(x, *, k=2) reads a keyword.
 * @mrun opts(x: int, *, k: int = 2, name: str) -> int  -- the doc of the tag wins
 */
export function mrun_fn_opts(p: u32, n: u32): u64 {
  return call(p, n, "opts", (a: Args): Value => Value.int(a.i64(0) + a.kwI64("k", 2)));
}

type Count = i64;

/**
 * count(c) takes and returns a type alias, described by tags.
 * @param {int} c
 * @returns {int}
 */
export function mrun_fn_count(p: u32, n: u32): u64 {
  return call1<Count, Count>(p, n, "count", (c: Count): Count => c + 1);
}

/**
 * rest(...) takes any arguments.
 * @nosig
 */
export function mrun_fn_rest(p: u32, n: u32): u64 {
  return call(p, n, "rest", (a: Args): Value => { a.ignoreRest(); return Value.nil(); });
}
`
	wasm, stderr, err := build(t, src)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, stderr)
	}
	if strings.TrimSpace(stderr) != "" {
		t.Errorf("stderr: %s", stderr)
	}
	sections, err := wasmsection.Custom(wasm, sig.SectionName)
	if err != nil || len(sections) != 1 {
		t.Fatalf("%d %s sections: %v", len(sections), sig.SectionName, err)
	}
	text := sections[0]
	want := strings.Join([]string{
		"scale(xs: list[float], k: float) -> list[float]  -- scale(xs, k) multiplies every element of xs by k.",
		"words(text: str) -> int  -- Counts the words of text.",
		"mix(flag: bool, data: bytes, t: tensor) -> tensor  -- mix(flag, data, t, tbl) takes one of each.",
		"nested(tbl: table) -> list[list[str]]  -- nested(x) is a list of lists of strings.",
		"clock() -> int  impure  -- clock() reads the clock: impure, its result described by a tag.",
		"pair(o: any, v: float) -> (any, float)  -- pair(o, v) returns two outputs.",
		`opts(x: int, *, k: int = 2, name: str) -> int  -- the doc of the tag wins`,
		"count(c: int) -> int  -- count(c) takes and returns a type alias, described by tags.",
	}, "\n") + "\n"
	if string(text) != want {
		t.Errorf("section:\n%s\nwant:\n%s", text, want)
	}
}

// TestTransform_renamedExport checks that a function exported under an mrun_fn_ name it was
// not declared with, which the transform cannot see, fails the build rather than leaving the
// function without a signature.
func TestTransform_renamedExport(t *testing.T) {
	needNode(t)
	src := `import { call1 } from "../mrun";
export { mrun_abi_v1, mrun_alloc } from "../mrun";
function twice(x: i64): i64 { return 2 * x; }
function wrap(p: u32, n: u32): u64 { return call1<i64, i64>(p, n, "twice", twice); }
export { wrap as mrun_fn_twice };
`
	wasm, stderr, err := build(t, src)
	if err == nil {
		t.Fatalf("the build succeeded (%d bytes); stderr:\n%s", len(wasm), stderr)
	}
	want := "FAILURE mrun signatures: mrun_fn_twice: exported, but not declared as export function mrun_fn_twice(p: u32, n: u32): u64 in a source file, so the transform cannot describe it: declare it so"
	if got := strings.TrimSpace(stderr); got != want {
		t.Errorf("stderr:\n%s\nwant\n%s", got, want)
	}
}
