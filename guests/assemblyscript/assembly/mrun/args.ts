// Args: the arguments of one call, read in place from the argument frame.

import { Reader, equalUTF8 } from "./reader";
import { Kind, Value, Tensor, DType, kindName } from "./value";
import { Obj } from "./spawn";
import { Table } from "./table";
import { fail, failed } from "./call";

/**
 * Args gives a function its positional arguments (by index, from 0) and keyword arguments
 * (by name), each decoded on demand from the argument frame into the type asked for.
 *
 * A getter never traps: when an argument is missing or of the wrong type it fails the call
 * with a message naming the function and the argument (`inc: argument 1: expected an int,
 * got a str`) and returns a zero value; the SDK reports the first such error when the
 * function returns, whatever it returned. `failed()` tells whether that happened.
 *
 * When the function returns, every positional argument must have been read and every
 * keyword argument looked up, or the call fails (`add: takes 2 positional arguments but 3
 * were given`, `greet: unexpected keyword argument "x"`); `ignoreRest` accepts the rest.
 */
export class Args {
  /** name is the name of the function, as error messages print it. */
  name: string = "";
  private r: Reader = new Reader(0, 0);
  private pos: usize[] = [];
  private npos: i32 = 0;
  private used: i32 = 0;
  private kwKey: usize[] = [];
  private kwKeyLen: u32[] = [];
  private kwVal: usize[] = [];
  private kwSeen: bool[] = [];
  private nkw: i32 = 0;
  private end: usize = 0;

  /** parse indexes the frame of `n` bytes at `p`; it returns false (call failed) if malformed. */
  parse(name: string, p: usize, n: usize, base: ArrayBuffer | null): bool {
    this.name = name;
    this.npos = 0;
    this.nkw = 0;
    this.used = 0;
    this.end = p + n;
    const r = this.r;
    r.reset(p, n);
    r.base = base;
    if (!r.next() || r.kind != Kind.List || r.len != 2) return this.malformed("want [positional, keyword]");
    if (!r.next() || r.kind != Kind.List) return this.malformed("positional arguments are not a list");
    const np = <i32>r.len;
    for (let i = 0; i < np; i++) {
      push(this.pos, i, r.pos);
      if (!r.skip()) return this.malformed("");
    }
    this.npos = np;
    if (!r.next() || r.kind != Kind.Map) return this.malformed("keyword arguments are not a map");
    const nk = <i32>r.len;
    for (let i = 0; i < nk; i++) {
      if (!r.next() || r.kind != Kind.Str) return this.malformed("a keyword is not a str");
      push(this.kwKey, i, r.pos);
      push(this.kwKeyLen, i, r.len);
      push(this.kwSeen, i, false);
      r.pos += r.len;
      push(this.kwVal, i, r.pos);
      if (!r.skip()) return this.malformed("");
    }
    this.nkw = nk;
    if (r.pos != this.end) return this.malformed("trailing bytes");
    return true;
  }

  private malformed(why: string): bool {
    const e = this.r.err;
    fail(this.name + ": malformed argument frame: " + (e !== null ? e : why));
    return false;
  }

  /** length is the number of positional arguments. */
  get length(): i32 {
    return this.npos;
  }

  /** kwLength is the number of keyword arguments. */
  get kwLength(): i32 {
    return this.nkw;
  }

  /** kwName is the name of keyword argument `i` (in ascending byte order, from 0). */
  kwName(i: i32): string {
    if (i < 0 || i >= this.nkw) return "";
    return String.UTF8.decodeUnsafe(unchecked(this.kwKey[i]), unchecked(this.kwKeyLen[i]));
  }

  /** has is true when the keyword argument `name` was given. */
  has(name: string): bool {
    return this.kwIndex(name) >= 0;
  }

  /** ignoreRest accepts positional and keyword arguments the function did not read. */
  ignoreRest(): void {
    this.used = this.npos;
    for (let i = 0; i < this.nkw; i++) unchecked(this.kwSeen[i] = true);
  }

  /** expect fails the call unless there are exactly `n` positional and no keyword arguments. */
  expect(n: i32): bool {
    if (this.npos != n) {
      fail(this.name + ": takes " + plural(n, "positional argument") + " but " + this.npos.toString() + (this.npos == 1 ? " was" : " were") + " given");
      return false;
    }
    this.used = n;
    return this.finish();
  }

  /** finish fails the call if an argument was not read; the SDK calls it after the function. */
  finish(): bool {
    if (failed()) return false;
    if (this.used < this.npos) {
      fail(this.name + ": takes " + plural(this.used, "positional argument") + " but " + this.npos.toString() + (this.npos == 1 ? " was" : " were") + " given");
      return false;
    }
    for (let i = 0; i < this.nkw; i++) {
      if (!unchecked(this.kwSeen[i])) {
        fail(this.name + ": unexpected keyword argument \"" + this.kwName(i) + "\"");
        return false;
      }
    }
    return true;
  }

  private kwIndex(name: string): i32 {
    for (let i = 0; i < this.nkw; i++) {
      if (equalUTF8(unchecked(this.kwKey[i]), unchecked(this.kwKeyLen[i]), name)) {
        unchecked(this.kwSeen[i] = true);
        return i;
      }
    }
    return -1;
  }

  // at reads the header of positional argument i; false (call failed) when it is missing.
  private at(i: i32): bool {
    if (i < 0 || i >= this.npos) {
      fail(this.name + ": missing positional argument " + (i + 1).toString());
      return false;
    }
    if (i >= this.used) this.used = i + 1;
    const r = this.r;
    r.reset(unchecked(this.pos[i]), this.end - unchecked(this.pos[i]));
    return r.next();
  }

  // kw reads the header of keyword argument `name`; false when absent.
  private kw(name: string): bool {
    const i = this.kwIndex(name);
    if (i < 0) return false;
    const r = this.r;
    r.reset(unchecked(this.kwVal[i]), this.end - unchecked(this.kwVal[i]));
    return r.next();
  }

  private wrong(i: i32, kw: string | null, want: string): void {
    const where = kw !== null ? "keyword argument \"" + kw + "\"" : "argument " + (i + 1).toString();
    fail(this.name + ": " + where + ": expected " + want + ", got " + kindName(this.r.kind));
  }

  private asI64(i: i32, kw: string | null): i64 {
    const r = this.r;
    if (r.kind == Kind.Int) return r.int;
    if (r.kind == Kind.Uint) {
      const where = kw !== null ? "keyword argument \"" + kw + "\"" : "argument " + (i + 1).toString();
      fail(this.name + ": " + where + ": " + (<u64>r.int).toString() + " does not fit an int64");
      return 0;
    }
    this.wrong(i, kw, "an int");
    return 0;
  }

  private asU64(i: i32, kw: string | null): u64 {
    const r = this.r;
    if (r.kind == Kind.Uint || (r.kind == Kind.Int && r.int >= 0)) return <u64>r.int;
    if (r.kind == Kind.Int) {
      const where = kw !== null ? "keyword argument \"" + kw + "\"" : "argument " + (i + 1).toString();
      fail(this.name + ": " + where + ": " + r.int.toString() + " does not fit a uint64");
      return 0;
    }
    this.wrong(i, kw, "a non-negative int");
    return 0;
  }

  private asF64(i: i32, kw: string | null): f64 {
    const r = this.r;
    switch (r.kind) {
      case Kind.Float64: case Kind.Float32: return r.float;
      case Kind.Int: return <f64>r.int;
      case Kind.Uint: return <f64><u64>r.int;
    }
    this.wrong(i, kw, "a float");
    return 0;
  }

  private asBool(i: i32, kw: string | null): bool {
    if (this.r.kind == Kind.Bool) return this.r.int != 0;
    this.wrong(i, kw, "a bool");
    return false;
  }

  private asStr(i: i32, kw: string | null): string {
    if (this.r.kind == Kind.Str) return this.r.string();
    this.wrong(i, kw, "a str");
    return "";
  }

  private asBytes(i: i32, kw: string | null): Uint8Array {
    if (this.r.kind == Kind.Bytes) return this.r.bytes();
    this.wrong(i, kw, "bytes");
    return new Uint8Array(0);
  }

  private asValue(): Value {
    const r = this.r; // positioned at the start of the value
    const v = r.value();
    if (v === null) {
      fail(this.name + ": malformed argument frame: " + r.err!);
      return Value.nil();
    }
    return v;
  }

  /** i64 is positional argument `i` as a signed 64-bit integer. */
  i64(i: i32): i64 {
    return this.at(i) ? this.asI64(i, null) : 0;
  }

  /** u64 is positional argument `i` as an unsigned 64-bit integer. */
  u64(i: i32): u64 {
    return this.at(i) ? this.asU64(i, null) : 0;
  }

  /** i32 is positional argument `i` as a signed 32-bit integer (range-checked). */
  i32(i: i32): i32 {
    const v = this.i64(i);
    if (v < i32.MIN_VALUE || v > i32.MAX_VALUE) {
      fail(this.name + ": argument " + (i + 1).toString() + ": " + v.toString() + " does not fit an int32");
      return 0;
    }
    return <i32>v;
  }

  /** f64 is positional argument `i` as a float64; an integer is converted. */
  f64(i: i32): f64 {
    return this.at(i) ? this.asF64(i, null) : 0;
  }

  /** bool is positional argument `i` as a boolean. */
  bool(i: i32): bool {
    return this.at(i) ? this.asBool(i, null) : false;
  }

  /** str is positional argument `i` as a string. */
  str(i: i32): string {
    return this.at(i) ? this.asStr(i, null) : "";
  }

  /** bytes is positional argument `i` as a copy of its bytes (MessagePack bin). */
  bytes(i: i32): Uint8Array {
    return this.at(i) ? this.asBytes(i, null) : new Uint8Array(0);
  }

  /** value is positional argument `i` as a Value of any kind. */
  value(i: i32): Value {
    if (i < 0 || i >= this.npos) {
      fail(this.name + ": missing positional argument " + (i + 1).toString());
      return Value.nil();
    }
    if (i >= this.used) this.used = i + 1;
    this.r.reset(unchecked(this.pos[i]), this.end - unchecked(this.pos[i]));
    return this.asValue();
  }

  /**
   * tensor is positional argument `i` as a Tensor: a view of the argument frame when its
   * elements are aligned, one copy otherwise. A view is valid until the function returns.
   */
  tensor(i: i32): Tensor {
    if (this.at(i)) {
      if (this.r.kind == Kind.Tensor) {
        const t = this.r.tensor();
        if (t) return t;
        fail(this.name + ": argument " + (i + 1).toString() + ": malformed tensor: " + this.r.err!);
      } else {
        this.wrong(i, null, "a tensor");
      }
    }
    return Tensor.zeros(DType.Float64, [0]);
  }

  /**
   * table is positional argument `i` as a Table whose columns are views of the argument frame
   * (one copy of the table when it is not 8-byte aligned there), valid until the function
   * returns. A malformed table fails the call: `f: argument 1: malformed table: ...`.
   */
  table(i: i32): Table {
    if (this.at(i)) {
      if (this.r.kind == Kind.Table) {
        const t = this.r.table();
        if (t) return t;
        fail(this.name + ": argument " + (i + 1).toString() + ": " + this.r.err!);
      } else {
        this.wrong(i, null, "a table");
      }
    }
    return new Table();
  }

  /** obj is positional argument `i` as an Object passed by reference (a handle). */
  obj(i: i32): Obj {
    if (this.at(i)) {
      if (this.r.kind == Kind.Handle) return new Obj(<u32>this.r.int);
      this.wrong(i, null, "an Object passed by reference");
    }
    return new Obj(0);
  }

  /** f64s is positional argument `i`, a list of numbers, as float64s. */
  f64s(i: i32): f64[] {
    if (!this.at(i)) return [];
    const r = this.r;
    if (r.kind != Kind.List) { this.wrong(i, null, "a list"); return []; }
    const n = <i32>r.len;
    const out = new Array<f64>(n);
    for (let j = 0; j < n; j++) {
      r.next();
      switch (r.kind) {
        case Kind.Float64: case Kind.Float32: unchecked(out[j] = r.float); break;
        case Kind.Int: unchecked(out[j] = <f64>r.int); break;
        case Kind.Uint: unchecked(out[j] = <f64><u64>r.int); break;
        default: {
          fail(this.name + ": argument " + (i + 1).toString() + "[" + j.toString() + "]: expected a float, got " + kindName(r.kind));
          return [];
        }
      }
    }
    return out;
  }

  /** i64s is positional argument `i`, a list of integers, as int64s. */
  i64s(i: i32): i64[] {
    if (!this.at(i)) return [];
    const r = this.r;
    if (r.kind != Kind.List) { this.wrong(i, null, "a list"); return []; }
    const n = <i32>r.len;
    const out = new Array<i64>(n);
    for (let j = 0; j < n; j++) {
      r.next();
      if (r.kind != Kind.Int) {
        fail(this.name + ": argument " + (i + 1).toString() + "[" + j.toString() + "]: expected an int64, got " + kindName(r.kind));
        return [];
      }
      unchecked(out[j] = r.int);
    }
    return out;
  }

  /** strs is positional argument `i`, a list of strings. */
  strs(i: i32): string[] {
    if (!this.at(i)) return [];
    const r = this.r;
    if (r.kind != Kind.List) { this.wrong(i, null, "a list"); return []; }
    const n = <i32>r.len;
    const out = new Array<string>(n);
    for (let j = 0; j < n; j++) {
      r.next();
      if (r.kind != Kind.Str) {
        fail(this.name + ": argument " + (i + 1).toString() + "[" + j.toString() + "]: expected a str, got " + kindName(r.kind));
        return [];
      }
      unchecked(out[j] = r.string());
    }
    return out;
  }

  /** list is positional argument `i`, a list, as Values. */
  list(i: i32): Value[] {
    if (!this.at(i)) return [];
    if (this.r.kind != Kind.List) { this.wrong(i, null, "a list"); return []; }
    this.r.reset(unchecked(this.pos[i]), this.end - unchecked(this.pos[i]));
    return this.asValue().asList();
  }

  /** kwI64 is keyword argument `name` as a signed 64-bit integer, or `def` when absent. */
  kwI64(name: string, def: i64): i64 {
    return this.kw(name) ? this.asI64(-1, name) : def;
  }

  /** kwF64 is keyword argument `name` as a float64, or `def` when absent. */
  kwF64(name: string, def: f64): f64 {
    return this.kw(name) ? this.asF64(-1, name) : def;
  }

  /** kwBool is keyword argument `name` as a boolean, or `def` when absent. */
  kwBool(name: string, def: bool): bool {
    return this.kw(name) ? this.asBool(-1, name) : def;
  }

  /** kwStr is keyword argument `name` as a string, or `def` when absent. */
  kwStr(name: string, def: string): string {
    return this.kw(name) ? this.asStr(-1, name) : def;
  }

  /** kwValue is keyword argument `name` as a Value, or `def` when absent. */
  kwValue(name: string, def: Value): Value {
    const i = this.kwIndex(name);
    if (i < 0) return def;
    this.r.reset(unchecked(this.kwVal[i]), this.end - unchecked(this.kwVal[i]));
    return this.asValue();
  }

  /** get is positional argument `i` as T: the decoding of the typed `call1`, `call2`, ... */
  get<T>(i: i32): T {
    if (isBoolean<T>()) {
      return <T>this.bool(i);
    } else if (isInteger<T>()) {
      if (isSigned<T>()) {
        if (sizeof<T>() == 8) return <T>this.i64(i);
        const v = this.i64(i);
        if (<i64><T>v != v) {
          fail(this.name + ": argument " + (i + 1).toString() + ": " + v.toString() + " does not fit an int" + (sizeof<T>() * 8).toString());
        }
        return <T>v;
      } else {
        if (sizeof<T>() == 8) return <T>this.u64(i);
        const v = this.u64(i);
        if (<u64><T>v != v) {
          fail(this.name + ": argument " + (i + 1).toString() + ": " + v.toString() + " does not fit a uint" + (sizeof<T>() * 8).toString());
        }
        return <T>v;
      }
    } else if (isFloat<T>()) {
      return <T>this.f64(i);
    } else if (isString<T>()) {
      return changetype<T>(this.str(i));
    } else if (isReference<T>()) {
      if (idof<T>() == idof<Value>()) return changetype<T>(this.value(i));
      else if (idof<T>() == idof<Uint8Array>()) return changetype<T>(this.bytes(i));
      else if (idof<T>() == idof<Tensor>()) return changetype<T>(this.tensor(i));
      else if (idof<T>() == idof<Table>()) return changetype<T>(this.table(i));
      else if (idof<T>() == idof<Obj>()) return changetype<T>(this.obj(i));
      else if (idof<T>() == idof<Array<f64>>()) return changetype<T>(this.f64s(i));
      else if (idof<T>() == idof<Array<i64>>()) return changetype<T>(this.i64s(i));
      else if (idof<T>() == idof<Array<string>>()) return changetype<T>(this.strs(i));
      else if (idof<T>() == idof<Array<Value>>()) return changetype<T>(this.list(i));
      else ERROR("mrun: unsupported parameter type");
    } else {
      ERROR("mrun: unsupported parameter type");
    }
    return unreachable();
  }
}

function push<T>(a: T[], i: i32, v: T): void {
  if (i < a.length) unchecked(a[i] = v);
  else a.push(v);
}

function plural(n: i32, what: string): string {
  return n.toString() + " " + what + (n == 1 ? "" : "s");
}
