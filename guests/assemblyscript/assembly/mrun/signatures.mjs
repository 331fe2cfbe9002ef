// signatures.mjs is the SDK's compiler transform (asc --transform): it writes the
// mrun.signatures custom section (abi/ABI.md section 10) of the module being built, one line
// for each exported `mrun_fn_<name>` function, from the function's own types.
//
// For `return call1<i64, i64>(p, n, "inc", inc)` the parameter types come from the type
// arguments of call0 ... call3 (or, when there are none, from the declared types of the
// function handed to it), the parameter names from that function (a named function or an
// arrow), and the doc from the JSDoc comment above the export. JSDoc tags add what the types
// cannot say:
//
//   @param {tensor[float64]} t    the mrun type of parameter t
//   @returns {(int, int)}         the result type: here two outputs (n_output = 2)
//   @impure                       the result depends on more than the arguments
//   @mrun greet(name: str, *, greeting: str = "hello") -> str
//                                 the whole signature, for a function that takes Args
//   @nosig                        no signature (a variadic function, say)
//
// A function it cannot describe, a missing doc or a malformed tag fails the build with a
// message naming the file, the line and what to add. A type with no mrun counterpart becomes
// `any`, with a note on stderr.

import { Transform } from "assemblyscript/transform";
import { NodeKind, CommonFlags } from "assemblyscript";

/** SECTION is the name of the custom section (abi/sig.SectionName). */
export const SECTION = "mrun.signatures";

const PREFIX = "mrun_fn_";

// Each AssemblyScript type the SDK decodes or encodes (Args.get, write), and its mrun type
// (abi/ABI.md section 5); Array<T> is list[T], and Value[] a list of anything, `list`.
// Another type would not compile as a parameter or result of call0 ... call3 anyway.
const SCALARS = new Map([
  ["i8", "int"], ["i16", "int"], ["i32", "int"], ["i64", "int"], ["isize", "int"],
  ["u8", "int"], ["u16", "int"], ["u32", "int"], ["u64", "int"], ["usize", "int"],
  ["f32", "float"], ["f64", "float"], ["number", "float"],
  ["bool", "bool"], ["boolean", "bool"],
  ["string", "str"], ["String", "str"],
  ["Uint8Array", "bytes"],
  ["Value", "any"], ["Obj", "any"],
  ["Tensor", "tensor"], ["Table", "table"],
]);

const CALLS = new Map([["call0", 0], ["call1", 1], ["call2", 2], ["call3", 3]]);

/** SignatureTransform adds the mrun.signatures section; asc loads it with --transform. */
export default class SignatureTransform extends Transform {
  afterParse(parser) {
    const errors = [];
    const notes = [];
    const sources = parser.sources.filter((s) => !s.normalizedPath.startsWith("~lib/"));
    const functions = new Map(); // name -> FunctionDeclaration, across user files
    for (const source of sources) {
      for (const st of source.statements) {
        if (st.kind === NodeKind.FunctionDeclaration && !functions.has(st.name.text)) {
          functions.set(st.name.text, st);
        }
      }
    }
    this.lines = new Map(); // function name -> canonical line, or null for @nosig
    for (const source of sources) {
      for (const st of source.statements) {
        if (st.kind !== NodeKind.FunctionDeclaration || !(st.flags & CommonFlags.Export)) continue;
        const exported = st.name.text;
        if (!exported.startsWith(PREFIX)) continue;
        const where = `${source.normalizedPath}:${source.lineAt(st.range.start)}`;
        try {
          const line = describe(st, source, functions, (msg) => notes.push(`${where}: note: ${msg}`));
          this.lines.set(exported.slice(PREFIX.length), line);
        } catch (e) {
          if (!(e instanceof TagError)) throw e;
          errors.push(`${where}: ${exported}: ${e.message}`);
        }
      }
    }
    for (const n of notes) this.stderr.write(n + "\n");
    if (errors.length > 0) {
      const e = new Error(`mrun signatures:\n  ${errors.join("\n  ")}`);
      e.stack = e.message; // asc prints the stack: keep it to the message
      throw e;
    }
  }

  afterCompile(module) {
    const exported = new Set();
    for (let i = 0; i < module.getNumExports(); i++) {
      exported.add(this.binaryen.getExportInfo(module.getExportByIndex(i)).name);
    }
    let text = "";
    for (const [name, line] of this.lines) {
      if (exported.has(PREFIX + name) && line !== null) text += line + "\n";
    }
    const missing = [...exported].filter((e) => e.startsWith(PREFIX) && !this.lines.has(e.slice(PREFIX.length)));
    if (missing.length > 0) {
      const e = new Error(`mrun signatures: ${missing.join(", ")}: exported, but not declared as export function ${missing[0]}(p: u32, n: u32): u64 in a source file, so the transform cannot describe ${missing.length === 1 ? "it" : "them"}: declare ${missing.length === 1 ? "it" : "each"} so`);
      e.stack = e.message;
      throw e;
    }
    if (text !== "") module.addCustomSection(SECTION, new TextEncoder().encode(text));
  }
}

/** TagError is a mistake in a function or its doc comment, reported as a build error. */
class TagError extends Error {}

// describe returns the canonical signature line of the export `decl`, or null for @nosig.
function describe(decl, source, functions, note) {
  const name = decl.name.text.slice(PREFIX.length);
  const doc = docComment(source.text, decl.range.start);
  if (doc === null) {
    if (/\/\/[^\n]*\s*$/.test(source.text.slice(Math.max(0, decl.range.start - 400), decl.range.start))) {
      throw new TagError(`its // comment is not a doc comment: write it as /** ... */ (its first paragraph is the signature's doc)`);
    }
    throw new TagError(`no doc comment: write /** ${name}(...) does what. */ above the function (its first paragraph is the signature's doc)`);
  }
  if (doc.tags.has("nosig")) return null;
  if (doc.text === "") throw new TagError("the doc comment has no text before its tags: start it with a sentence saying what the function does");
  let s;
  if (doc.tags.has("mrun")) {
    const text = doc.tags.get("mrun")[0];
    try {
      s = parseLine(text);
    } catch (e) {
      if (!(e instanceof NotationError)) throw e;
      throw new TagError(`@mrun ${text}: ${e.message}`);
    }
    if (s === null) throw new TagError("@mrun is empty: follow it with the signature, name(params) -> result");
    if (s.name !== name) throw new TagError(`@mrun describes ${JSON.stringify(s.name)}, not ${JSON.stringify(name)}`);
  } else {
    s = derive(decl, name, functions, note);
  }
  for (const t of doc.tags.get("param") || []) {
    // @param {type} name description, or @param name description (no type: a description)
    const m = /^(?:\{([^}]*)\}\s*)?([A-Za-z_][A-Za-z0-9_]*)/.exec(t);
    if (m === null) throw new TagError(`@param ${t}: write @param {type} name, the type in mrun's notation (int, list[float], tensor[float64], ...)`);
    const p = s.params.find((p) => p.name === m[2]) || s.kwargs.find((p) => p.name === m[2]);
    const names = s.params.map((p) => p.name).concat(s.kwargs.map((k) => k.name));
    if (p === undefined) throw new TagError(`@param names ${m[2]}, which is not a parameter of ${name}(${names.join(", ")})`);
    if (m[1] !== undefined) {
      p.type = tagType(m[1], `@param {${m[1]}} ${m[2]}`, false);
      p.unknown = null;
    }
  }
  const ret = (doc.tags.get("returns") || []).concat(doc.tags.get("return") || []);
  if (ret.length > 0) {
    const m = /^\{(.*)\}/.exec(ret[0]);
    if (m !== null) {
      const r = tagType(m[1], `@returns {${m[1]}}`, true);
      s.result = r.result;
      s.outputs = r.outputs;
      s.resultUnknown = null;
    }
  }
  for (const p of s.params) {
    if (p.unknown) note(`${name}: parameter ${p.name}: ${p.unknown} has no mrun type, so it is described as any: add @param {type} ${p.name}`);
  }
  if (s.resultUnknown) note(`${name}: result: ${s.resultUnknown} has no mrun type, so it is described as any: add @returns {type}`);
  if (doc.tags.has("impure")) s.pure = false;
  if (s.doc === "") s.doc = doc.text;
  for (const t of unknownTypes(s)) note(`${name}: type ${JSON.stringify(t)} is not one mrun knows, so it accepts any value (a misspelling?)`);
  return format(s);
}

// tagType reads the type of a @param or @returns tag, in mrun's notation.
function tagType(text, tag, outputs) {
  const as = /^[\s(]*([A-Za-z_][A-Za-z0-9_]*)/.exec(text);
  if (as !== null && !KNOWN.has(as[1]) && (SCALARS.has(as[1]) || as[1] === "Array")) {
    const hint = SCALARS.has(as[1]) ? `, such as ${SCALARS.get(as[1])}` : " (list[T] for an array)";
    throw new TagError(`${tag}: ${as[1]} is an AssemblyScript type: write the mrun type${hint}`);
  }
  try {
    const p = new Parser(text.trim());
    let r;
    if (outputs) {
      const s = { result: null, outputs: null };
      p.result(s);
      r = s;
    } else {
      r = p.type(0);
    }
    p.ws();
    if (p.i < p.s.length) p.fail(`unexpected ${p.found()} after the type`);
    return r;
  } catch (e) {
    if (!(e instanceof NotationError)) throw e;
    throw new TagError(`${tag}: ${e.message}`);
  }
}

// derive builds the signature of an export whose body is `return callN<...>(p, n, "name", fn)`.
function derive(decl, name, functions, note) {
  const call = wrappedCall(decl);
  const callee = call && call.expression.kind === NodeKind.Identifier ? call.expression.text : "";
  if (callee === "call") {
    throw new TagError(`${name} takes Args, so its parameters cannot be read from its types: add @mrun ${name}(x: int, *, k: str = "default") -> str (its parameters, keywords and result) to its doc comment`);
  }
  if (!CALLS.has(callee)) {
    throw new TagError(`the body is not return call0 ... call3 (p, n, "${name}", fn), so the signature cannot be read from it: add @mrun ${name}(params) -> result to its doc comment, or @nosig`);
  }
  const arity = CALLS.get(callee);
  if (call.args.length !== 4) throw new TagError(`${callee} takes 4 arguments (p, n, "${name}", fn)`);
  const label = call.args[2];
  if (label.kind === NodeKind.Literal && typeof label.value === "string" && label.value !== name) {
    note(`${PREFIX}${name} reports its errors as "${label.value}": the function is called ${name}`);
  }
  const fn = target(call.args[3], functions);
  if (fn === null) {
    throw new TagError(`cannot find the parameter names of the function handed to ${callee}: pass a function declared at the top level of a file or an arrow function, or add @mrun to the doc comment`);
  }
  const params = fn.signature.parameters;
  if (params.length !== arity) throw new TagError(`${callee} takes a function of ${arity} parameters; ${fn.name.text || "the arrow"} has ${params.length}`);
  const targs = call.typeArguments;
  const types = [];
  for (let i = 0; i <= arity; i++) {
    const node = targs && targs.length === arity + 1 ? targs[i] : i < arity ? params[i].type : fn.signature.returnType;
    types.push(node);
  }
  const s = { name, params: [], kwargs: [], result: null, outputs: null, pure: true, doc: "" };
  // A type with no mrun counterpart is noted after the tags, unless a tag gives its type.
  for (let i = 0; i < arity; i++) {
    const p = { name: params[i].name.text, type: null, unknown: null };
    p.type = mapType(types[i], (t) => (p.unknown = t));
    s.params.push(p);
  }
  s.result = mapType(types[arity], (t) => (s.resultUnknown = t));
  return s;
}

// wrappedCall returns the call expression of a body `{ return f(...); }`, or null.
function wrappedCall(decl) {
  const body = decl.body;
  if (!body || body.kind !== NodeKind.Block || body.statements.length !== 1) return null;
  const ret = body.statements[0];
  if (ret.kind !== NodeKind.Return || !ret.value || ret.value.kind !== NodeKind.Call) return null;
  return ret.value;
}

// target returns the declaration of the function expression `e` names or is, or null.
function target(e, functions) {
  while (e.kind === NodeKind.Parenthesized) e = e.expression;
  if (e.kind === NodeKind.Function) return e.declaration;
  if (e.kind === NodeKind.Identifier) return functions.get(e.text) || null;
  return null;
}

// mapType returns the mrun type of an AssemblyScript type node; unknown(text) is told of a
// type that has none, which becomes any.
function mapType(node, unknown) {
  if (!node) return { name: "none" };
  if (node.kind !== NodeKind.NamedType) {
    unknown(typeText(node));
    return { name: "any" };
  }
  let tn = node.name;
  while (tn.next) tn = tn.next; // mrun.Value is Value
  const n = tn.identifier.text;
  if (n === "null") return { name: "none" };
  const args = node.typeArguments || [];
  if (n === "Array" && args.length === 1) {
    const e = mapType(args[0], unknown);
    return e.name === "any" && !e.elem ? { name: "list" } : { name: "list", elem: e };
  }
  if (args.length === 0 && SCALARS.has(n)) return { name: SCALARS.get(n) };
  unknown(typeText(node));
  return { name: "any" };
}

function typeText(node) {
  const r = node.range;
  return r.source.text.slice(r.start, r.end);
}

// docComment returns the JSDoc comment /** ... */ that ends right before `pos` (spaces
// between), as { text, tags }: text the description joined into one line, tags a map from a
// tag's name to the texts of its occurrences. It returns null when there is none.
export function docComment(text, pos) {
  let end = pos;
  while (end > 0 && /\s/.test(text[end - 1])) end--;
  if (!text.slice(0, end).endsWith("*/")) return null;
  const start = text.lastIndexOf("/**", end - 2);
  if (start < 0 || text.slice(start + 3, end - 2).includes("*/")) return null;
  const lines = text.slice(start + 3, end - 2).split("\n").map((l) => l.replace(/^\s*\*?\s?/, "").trimEnd());
  const desc = [];
  const tags = new Map();
  let cur = null;
  for (const l of lines) {
    const m = /^@([A-Za-z]+)\s*(.*)$/.exec(l.trim());
    if (m) {
      cur = { name: m[1], text: m[2] };
      if (!tags.has(cur.name)) tags.set(cur.name, []);
      tags.get(cur.name).push(cur);
    } else if (cur) {
      cur.text += " " + l.trim();
    } else {
      desc.push(l.trim());
    }
  }
  const joined = new Map();
  for (const [k, v] of tags) joined.set(k, v.map((t) => t.text.trim()));
  // The doc is the first paragraph, on one line.
  const para = [];
  for (const l of desc) {
    if (l === "" && para.length > 0) break;
    if (l !== "") para.push(l);
  }
  return { text: para.join(" ").replace(/[\s\x00-\x1f\x7f]+/g, " ").trim(), tags: joined };
}

// ---- The signature notation of abi/ABI.md section 10.2, as package abi/sig reads and
// prints it, so that a tag that abi/sig would refuse fails the build instead.

const KNOWN = new Set(["int", "float", "bool", "str", "bytes", "any", "none", "table", "list", "map", "tensor"]);
const DTYPES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "bool"];
const MAX_DEPTH = 32;

/** NotationError is a text that breaks the signature notation, with its column (from 1). */
class NotationError extends Error {}

class Parser {
  constructor(s) {
    this.s = s;
    this.i = 0;
  }
  fail(msg, at = this.i) {
    throw new NotationError(`column ${at + 1}: ${msg}`);
  }
  ws() {
    while (this.i < this.s.length && (this.s[this.i] === " " || this.s[this.i] === "\t")) this.i++;
  }
  eat(tok) {
    if (this.s.startsWith(tok, this.i)) {
      this.i += tok.length;
      return true;
    }
    return false;
  }
  // found describes what is at the parser's position, as Go's %q quotes a rune.
  found() {
    if (this.i >= this.s.length) return "the end of the line";
    const c = String.fromCodePoint(this.s.codePointAt(this.i));
    if (c === "'" || c === "\\") return `'\\${c}'`;
    if (c < " " || c === "\x7f") return `'\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}'`;
    return `'${c}'`;
  }
  expect(tok) {
    if (!this.eat(tok)) this.fail(`want ${JSON.stringify(tok)}, found ${this.found()}`);
  }
  ident(what) {
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i));
    if (!m) this.fail(`want ${what} (a letter or _, then letters, digits or _), found ${this.found()}`);
    this.i += m[0].length;
    return m[0];
  }
  // json reads one JSON literal, as much as a JSON decoder reads, and returns its compact text.
  json() {
    const start = this.i;
    const c = this.s[this.i];
    if (c === '"' || c === "[" || c === "{") {
      let depth = 0;
      let inStr = false;
      for (; this.i < this.s.length; this.i++) {
        const d = this.s[this.i];
        if (inStr) {
          if (d === "\\") this.i++;
          else if (d === '"') inStr = false;
        } else if (d === '"') inStr = true;
        else if (d === "[" || d === "{") depth++;
        else if (d === "]" || d === "}") depth--;
        if (!inStr && depth === 0) {
          this.i++;
          break;
        }
      }
    } else {
      const m = /^(?:-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null)/.exec(this.s.slice(this.i));
      if (m !== null) this.i += m[0].length;
    }
    const raw = this.s.slice(start, this.i);
    try {
      JSON.parse(raw);
    } catch {
      this.i = start;
      this.fail(`want a JSON literal as the default, found ${this.found()}`);
    }
    return compact(raw);
  }
  type(depth) {
    if (depth >= MAX_DEPTH) this.fail(`types nested over ${MAX_DEPTH} deep`);
    const at = this.i;
    const name = this.ident("a type");
    const t = { name };
    this.ws();
    if (!this.eat("[")) return t;
    this.ws();
    if (name === "list") {
      t.elem = this.type(depth + 1);
    } else if (name === "map") {
      const k = this.i;
      const key = this.ident("a key type");
      if (key !== "str") this.fail(`map keys are str, not ${key}`, k);
      this.ws();
      this.expect(",");
      this.ws();
      t.elem = this.type(depth + 1);
    } else if (name === "tensor") {
      const k = this.i;
      t.dtype = this.ident("a dtype");
      if (!DTYPES.includes(t.dtype)) this.fail(`unknown dtype ${JSON.stringify(t.dtype)} (want one of ${DTYPES.join(", ")})`, k);
    } else if (KNOWN.has(name)) {
      this.fail(`type ${name} takes no parameters`, at);
    } else {
      const start = this.i;
      let level = 1;
      for (; this.i < this.s.length; this.i++) {
        if (this.s[this.i] === "[") level++;
        else if (this.s[this.i] === "]" && --level === 0) break;
      }
      if (level !== 0) this.fail('want "]", found the end of the line');
      t.args = this.s.slice(start, this.i).trim();
      if (t.args === "") this.fail(`empty "[]" after ${name}`);
    }
    this.ws();
    this.expect("]");
    return t;
  }
  result(s) {
    if (!this.eat("(")) {
      s.result = this.type(0);
      return;
    }
    const start = this.i - 1;
    s.outputs = [];
    for (;;) {
      this.ws();
      s.outputs.push(this.type(0));
      this.ws();
      if (this.eat(")")) break;
      if (!this.eat(",")) this.fail(`want "," or ")", found ${this.found()}`);
    }
    if (s.outputs.length < 2) this.fail("a list of outputs has at least two types; write one output without parentheses", start);
    s.result = null;
  }
}

// parseLine reads a signature line; it returns null for a blank line.
export function parseLine(line) {
  const p = new Parser(line);
  const cc = /[\x00-\x08\x0a-\x1f\x7f]/.exec(line);
  if (cc !== null) {
    p.i = cc.index;
    p.fail(`control character ${p.found()}`);
  }
  p.ws();
  if (p.i === line.length) return null;
  const s = { name: "", params: [], kwargs: [], result: null, outputs: null, pure: true, doc: "" };
  if (line[p.i] === '"') {
    const start = p.i;
    const raw = p.json();
    s.name = JSON.parse(raw);
    if (typeof s.name !== "string") p.fail("a quoted function name must be a JSON string", start);
  } else {
    const m = /^[^\x00-\x20\x7f()"]+/.exec(line.slice(p.i));
    if (!m || m[0].startsWith("#")) p.fail(`want a function name, found ${p.found()}`);
    s.name = m[0];
    p.i += m[0].length;
  }
  if (s.name === "") p.fail("want a function name, found the empty string");
  if (new TextEncoder().encode(s.name).length > 128) p.fail(`function name is ${new TextEncoder().encode(s.name).length} bytes, over the limit of 128`, 0);
  if (s.name.includes("\0")) p.fail("function name contains NUL", 0);
  p.ws();
  p.expect("(");
  p.ws();
  if (!p.eat(")")) {
    let kw = false;
    const seen = new Set();
    // param reads "name: type" and the spaces after it; a name seen before is refused.
    const param = () => {
      const at = p.i;
      const name = p.ident("a parameter name");
      if (seen.has(name)) p.fail(`parameter ${JSON.stringify(name)} is described twice`, at);
      seen.add(name);
      p.ws();
      p.expect(":");
      p.ws();
      const type = p.type(0);
      p.ws();
      return { name, type };
    };
    for (;;) {
      p.ws();
      if (p.eat("*")) {
        if (kw) p.fail('a second "*"', p.i - 1);
        kw = true;
        p.ws();
        if (/^[A-Za-z_]/.test(line.slice(p.i, p.i + 1))) {
          // *name: T takes any number of further positional arguments, as in Python.
          const { name, type } = param();
          if (line[p.i] === "=") p.fail(`*${name} takes the remaining positional arguments and has no default`);
          s.variadic = { name, type };
        }
      } else {
        const { name, type } = param();
        if (!kw) {
          if (line[p.i] === "=") p.fail('a positional parameter has no default: put keyword parameters after "*"');
          s.params.push({ name, type });
        } else {
          const k = { name, type, def: null };
          if (p.eat("=")) {
            p.ws();
            const at = p.i;
            k.def = p.json();
            const err = fits(k.def, type);
            if (err) p.fail(`default ${k.def} ${err}`, at);
          }
          s.kwargs.push(k);
        }
      }
      p.ws();
      if (p.eat(")")) break;
      if (!p.eat(",")) p.fail(`want "," or ")", found ${p.found()}`);
    }
    if (kw && s.kwargs.length === 0 && !s.variadic) p.fail('"*" must be followed by keyword parameters', p.i - 1);
  }
  p.ws();
  p.expect("->");
  p.ws();
  p.result(s);
  p.ws();
  if (/^impure(?![A-Za-z0-9_])/.test(line.slice(p.i))) {
    p.i += 6;
    s.pure = false;
    p.ws();
  }
  if (p.eat("--")) {
    s.doc = line.slice(p.i).trim();
  } else if (p.i < line.length) {
    p.fail(`want "impure", "--" and a doc, or the end of the line; found ${p.found()}`);
  }
  return s;
}

// compact removes the spaces outside strings of a JSON text, keeping everything else as
// written, as Go's json.Compact does.
function compact(raw) {
  let out = "";
  let inStr = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inStr) {
      out += c;
      if (c === "\\") out += raw[++i];
      else if (c === '"') inStr = false;
    } else if (c === '"') {
      inStr = true;
      out += c;
    } else if (!/\s/.test(c)) out += c;
  }
  return out;
}

function known(t) {
  if (t.name === "list" || t.name === "map") return !t.elem || known(t.elem);
  return KNOWN.has(t.name);
}

// fits checks the JSON kind of a default against its type, as abi/sig does.
function fits(v, t) {
  if (v === "null" || !known(t) || t.name === "any") return null;
  const c = v[0];
  let ok;
  if (c === '"') ok = t.name === "str";
  else if (c === "t" || c === "f") ok = t.name === "bool";
  else if (c === "[") ok = t.name === "list";
  else if (c === "{") ok = t.name === "map";
  else ok = t.name === "float" || (t.name === "int" && !/[.eE]/.test(v));
  const text = typeString(t);
  return ok ? null : `is not a${/^[aeiou]/.test(text) ? "n" : ""} ${text}`;
}

function unknownTypes(s) {
  const out = [];
  const walk = (t) => {
    if (!t) return;
    if (!KNOWN.has(t.name)) out.push(typeString(t));
    else walk(t.elem);
  };
  for (const p of s.params) walk(p.type);
  if (s.variadic) walk(s.variadic.type);
  for (const k of s.kwargs) walk(k.type);
  walk(s.result);
  for (const o of s.outputs || []) walk(o);
  return out;
}

/** typeString is the canonical text of a type: list[float], map[str, int], tensor[float64]. */
export function typeString(t) {
  if (t.name === "list" && t.elem) return `list[${typeString(t.elem)}]`;
  if (t.name === "map" && t.elem) return `map[str, ${typeString(t.elem)}]`;
  if (t.name === "tensor" && t.dtype) return `tensor[${t.dtype}]`;
  if (t.args) return `${t.name}[${t.args}]`;
  return t.name;
}

/** format prints a signature in the canonical form of abi/ABI.md section 10.2. */
export function format(s) {
  const name = /^[^\x00-\x20\x7f()"#][^\x00-\x20\x7f()"]*$/.test(s.name) ? s.name : JSON.stringify(s.name);
  const parts = s.params.map((p) => `${p.name}: ${typeString(p.type)}`);
  if (s.variadic) parts.push(`*${s.variadic.name}: ${typeString(s.variadic.type)}`);
  if (s.kwargs.length > 0) {
    if (!s.variadic) parts.push("*");
    for (const k of s.kwargs) parts.push(`${k.name}: ${typeString(k.type)}` + (k.def !== null ? ` = ${k.def}` : ""));
  }
  const result = s.outputs ? `(${s.outputs.map(typeString).join(", ")})` : typeString(s.result);
  let line = `${name}(${parts.join(", ")}) -> ${result}`;
  if (!s.pure) line += "  impure";
  if (s.doc) line += `  -- ${s.doc}`;
  return line;
}
