// Nested spawn (abi/ABI.md section 2.2): spawn children, execute them, fetch their values.

import { spawn_, execute_, fetch_, last_error } from "./host";
import { Reader } from "./reader";
import { Writer } from "./writer";
import { Value } from "./value";

/** INVALID (−1): a bad handle, unknown module or function, malformed frame, bad n_output. */
export const INVALID: i32 = -1;
/** FAILED (−2): the Object's task failed. */
export const FAILED: i32 = -2;
/** NOT_EXECUTED (−3): the Object has no value yet: execute it first. */
export const NOT_EXECUTED: i32 = -3;
/** LIMIT (−4): the nesting depth or the task budget would be exceeded. */
export const LIMIT: i32 = -4;
/** CANCELLED (−5): the execution is being cancelled; return as soon as possible. */
export const CANCELLED: i32 = -5;
/** UNSUPPORTED (−6): the call was not started by an engine. */
export const UNSUPPORTED: i32 = -6;

/**
 * Err is a failed spawn, execute or fetch. `code` is the host's return code (FAILED for a
 * failed child, whose `handle` names it), `message` the host's `last_error` text, verbatim.
 */
export class Err {
  /** op is "spawn", "execute" or "fetch". */
  readonly op: string;
  /** code is the host's negative return code (INVALID ... UNSUPPORTED). */
  readonly code: i32;
  /** handle is the failed Object's handle (0 when the spawn itself failed). */
  readonly handle: u32;
  /** message is the host's explanation, verbatim. */
  readonly message: string;

  /** The constructor records one failure. */
  constructor(op: string, code: i32, handle: u32, message: string) {
    this.op = op;
    this.code = code;
    this.handle = handle;
    this.message = message;
  }

  /** toString is the message. */
  toString(): string {
    return this.message;
  }
}

// Buffers kept across calls: the spawn frame, handles for execute, fetched values, messages.
const frame = new Writer(256);
let handleBuf = new ArrayBuffer(64);
let fetchBuf = new ArrayBuffer(65536);
let msgBuf = new ArrayBuffer(256);
const fetched = new Reader(0, 0);

// hostError is the Err of a failed import that returned `code`, with last_error's message.
function hostError(op: string, code: i32, handle: u32): Err {
  let n = last_error(changetype<usize>(msgBuf), <usize>msgBuf.byteLength);
  if (n > msgBuf.byteLength) {
    msgBuf = new ArrayBuffer(n);
    n = last_error(changetype<usize>(msgBuf), <usize>msgBuf.byteLength);
  }
  let m = n > 0 && n <= msgBuf.byteLength ? String.UTF8.decodeUnsafe(changetype<usize>(msgBuf), n) : "";
  if (m.length == 0) m = op + " failed with code " + code.toString();
  return new Err(op, code, handle, m);
}

/**
 * Obj is an mrun Object: the output of a spawn, or an Object received by reference. (The name
 * avoids AssemblyScript's own `Object`.) Objects belong to the call that made them.
 *
 * A failed spawn returns an Obj that carries its error in `err` and makes every later use
 * fail the same way, so a loop of spawns needs no checks: the error comes out of the first
 * `execute` or `fetch`.
 */
export class Obj {
  /** handle is the host's handle number (0 when the spawn failed). */
  readonly handle: u32;
  /** err is the error of the last failed operation on this Object, or null. */
  err: Err | null = null;

  /** The constructor wraps a handle number (from spawn, or received by reference). */
  constructor(handle: u32) {
    this.handle = handle;
  }

  /** dep is the Object as a spawn argument: a dependency, the child gets its value. */
  dep(): Value {
    return Value.handle(this.handle);
  }

  /** byRef is the Object passed by reference: the child gets a handle of its own. */
  byRef(): Value {
    return Value.byRef(this.handle);
  }

  /** execute runs the Object and everything it depends on, and waits; null on success. */
  execute(): Err | null {
    return executeAll([this]);
  }

  /**
   * fetch is the Object's value (nil with `err` set on failure: FAILED when its task failed,
   * NOT_EXECUTED before it ran). A fetched tensor is a copy.
   */
  fetch(): Value {
    const e = this.err;
    if (e !== null) return Value.nil();
    let n = fetch_(this.handle, changetype<usize>(fetchBuf), <usize>fetchBuf.byteLength);
    if (n > <i64>fetchBuf.byteLength) {
      if (n > 0x3ff00000) {
        this.err = new Err("fetch", LIMIT, this.handle, "fetch: value of " + n.toString() + " bytes is over 1 GiB");
        return Value.nil();
      }
      fetchBuf = new ArrayBuffer(<i32>n);
      n = fetch_(this.handle, changetype<usize>(fetchBuf), <usize>fetchBuf.byteLength);
    }
    if (n < 0) {
      this.err = hostError("fetch", <i32>n, this.handle);
      return Value.nil();
    }
    fetched.reset(changetype<usize>(fetchBuf), <usize>n);
    fetched.base = null;
    const v = fetched.value();
    if (v === null) {
      this.err = new Err("fetch", INVALID, this.handle, "fetch: malformed value: " + fetched.err!);
      return Value.nil();
    }
    return v;
  }
}

// executeAll executes `objs` together; on status 1 it finds the first failed one.
function executeAll(objs: Obj[]): Err | null {
  const n = objs.length;
  for (let i = 0; i < n; i++) {
    const e = unchecked(objs[i]).err;
    if (e !== null) return e;
  }
  if (handleBuf.byteLength < n * 4) handleBuf = new ArrayBuffer(n * 4);
  const p = changetype<usize>(handleBuf);
  for (let i = 0; i < n; i++) store<u32>(p + 4 * <usize>i, unchecked(objs[i]).handle);
  const status = execute_(p, n);
  if (status == 0) return null;
  if (status < 0) return hostError("execute", status, 0);
  for (let i = 0; i < n; i++) {
    const o = unchecked(objs[i]);
    const c = fetch_(o.handle, 0, 0);
    if (c < 0) {
      const e = hostError("fetch", <i32>c, o.handle);
      o.err = e;
      return e;
    }
  }
  return new Err("execute", FAILED, 0, "execute: a task failed");
}

/**
 * Tuple is a list of Objects executed and fetched together, like Mars's ExecutableTuple:
 * the outputs of a spawn with n_output > 1, or any Objects pushed into it.
 */
export class Tuple {
  /** items are the Objects, in order. */
  readonly items: Obj[];
  /** err is the first error of the last execute or fetch, or null. */
  err: Err | null = null;

  /** The constructor makes a tuple of `items` (empty by default). */
  constructor(items: Obj[] = []) {
    this.items = items;
  }

  /** push appends an Object and returns the tuple. */
  push(o: Obj): Tuple {
    this.items.push(o);
    return this;
  }

  /** length is the number of Objects. */
  get length(): i32 {
    return this.items.length;
  }

  /** at is Object `i`. */
  at(i: i32): Obj {
    return this.items[i];
  }

  /** deps is the Objects as one list argument of spawn: each a dependency. */
  deps(): Value {
    const l = new Array<Value>(this.items.length);
    for (let i = 0; i < this.items.length; i++) unchecked(l[i] = Value.handle(unchecked(this.items[i]).handle));
    return Value.list(l);
  }

  /** execute runs all the Objects together and waits; on failure it returns the first error. */
  execute(): Err | null {
    const e = executeAll(this.items);
    this.err = e;
    return e;
  }

  /** fetch is the list of the Objects' values (nil with `err` set on the first failure). */
  fetch(): Value {
    const vals = new Array<Value>(this.items.length);
    for (let i = 0; i < this.items.length; i++) {
      const o = unchecked(this.items[i]);
      const v = o.fetch();
      const e = o.err;
      if (e !== null) {
        this.err = e;
        return Value.nil();
      }
      unchecked(vals[i] = v);
    }
    return Value.list(vals);
  }

  /** executeFetch executes and fetches: the list of values, or nil with `err` set. */
  executeFetch(): Value {
    if (this.execute() !== null) return Value.nil();
    return this.fetch();
  }
}

/** IMPURE is the flag of spawn's n_output that marks the task impure (ABI.md section 2.2). */
const IMPURE: i32 = 1 << 30;

/**
 * Task is the complete form of a spawn: a function `fn` of `module` ("" for the caller's own)
 * with positional `args`, keyword `kwargs` (a map Value), `nOutput` outputs, and whether it is
 * `impure`. Objects among the arguments, at any depth, are dependencies (`Obj.dep()`) or passed
 * by reference (`Obj.byRef()`).
 */
export class Task {
  /** module is a module name or SHA-256, "" for the caller's own module. */
  module: string = "";
  /** fn is the function name. */
  fn: string;
  /** args are the positional arguments. */
  args: Value[];
  /** kwargs is a map of keyword arguments, or null. */
  kwargs: Value | null = null;
  /** nOutput is the number of outputs: 1, or k ≥ 2 to split a k-element result. */
  nOutput: i32 = 1;
  /**
   * impure marks a call whose value may differ between calls with the same arguments (it
   * reads the clock or draws random numbers). Tasks are named by function and arguments, so
   * three pure spawns of rand_matrix(10, 10) are one task with one value; three impure spawns
   * are three tasks with three values, none served from or kept in a cache.
   */
  impure: bool = false;

  /** The constructor makes a task of `fn` in the caller's own module. */
  constructor(fn: string, args: Value[] = []) {
    this.fn = fn;
    this.args = args;
  }

  /** spawn creates the lazy child and returns its outputs (one Obj per output). */
  spawn(): Tuple {
    const k = this.nOutput;
    const outs = new Array<Obj>(k > 0 ? k : 1);
    const err = this.encode();
    let first: i32 = 0;
    let e: Err | null = err;
    if (e === null) {
      const m = String.UTF8.encode(this.module);
      const f = String.UTF8.encode(this.fn);
      first = spawn_(changetype<usize>(m), <usize>m.byteLength, changetype<usize>(f), <usize>f.byteLength, frame.ptr, frame.len, this.impure ? k | IMPURE : k);
      if (first < 0) e = hostError("spawn", first, 0);
    }
    for (let i = 0; i < outs.length; i++) {
      const o = new Obj(e === null ? <u32>(first + i) : 0);
      o.err = e;
      unchecked(outs[i] = o);
    }
    return new Tuple(outs);
  }

  // encode writes the argument frame [args, kwargs] into `frame`; it returns an error for
  // an argument that cannot be sent (an Object whose own spawn failed, a reserved ext).
  private encode(): Err | null {
    frame.reset();
    frame.handles = true;
    frame.listHeader(2);
    frame.listHeader(<u32>this.args.length);
    for (let i = 0; i < this.args.length; i++) frame.value(unchecked(this.args[i]));
    const kw = this.kwargs;
    if (kw !== null) frame.value(kw);
    else frame.mapHeader(0);
    const fe = frame.err;
    if (fe !== null) return new Err("spawn", INVALID, 0, "spawn " + this.fn + ": " + fe);
    return null;
  }
}

/** spawn spawns `fn(...args)` of the caller's own module, lazily, and returns its Object. */
export function spawn(fn: string, args: Value[] = []): Obj {
  return new Task(fn, args).spawn().at(0);
}

/** spawnN spawns `fn(...args)` with `n` outputs (n_output) and returns them. */
export function spawnN(fn: string, n: i32, args: Value[] = []): Tuple {
  const t = new Task(fn, args);
  t.nOutput = n;
  return t.spawn();
}
