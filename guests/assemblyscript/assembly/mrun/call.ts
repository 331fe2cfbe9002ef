// The exports every module needs, and the wrappers that run a function on a frame.

import { set_error, fail_with, fd_write } from "./host";
import { Args } from "./args";
import { Writer } from "./writer";
import { Value, Tensor } from "./value";
import { Table } from "./table";
import { Err } from "./spawn";
import { OBJECT, TOTAL_OVERHEAD } from "rt/common";

// The argument buffer handed to the host by mrun_alloc; a global, so the collector keeps it.
let argBuf: ArrayBuffer | null = null;
// The result frame of the running call, reused by every call.
const out = new Writer(1024);
const args = new Args();
// The error of the running call: message and the failed child's handle (0: none).
let errMsg: string | null = null;
let errHandle: u32 = 0;

/** mrun_abi_v1 is the ABI version marker (abi/ABI.md section 1.1); re-export it. */
export function mrun_abi_v1(): void {}

/**
 * mrun_alloc hands the host an argument buffer of `size` bytes (abi/ABI.md section 1.3);
 * re-export it. The previous buffer becomes garbage. It returns 0 when `size` is over 1 GiB.
 */
export function mrun_alloc(size: u32): usize {
  if (size > 0x3ff00000) return 0;
  const b = new ArrayBuffer(<i32>size);
  argBuf = b;
  return changetype<usize>(b);
}

/**
 * fail makes the running call fail with `message`, verbatim, and returns nil so that a
 * function can `return fail("...")`. The first failure of a call wins: a later `fail` does not
 * replace the message of a bad argument.
 */
export function fail(message: string): Value {
  if (errMsg === null) {
    errMsg = message;
    errHandle = 0;
  }
  return Value.nil();
}

/**
 * failWith is `fail` for a parent whose child failed: when `e` is a failed child (code −2),
 * the host records the child's error as the cause (mrun.fail_with), so the error chain reads
 * parent → child → cause. Any other `e` fails the call like `fail`.
 */
export function failWith(e: Err, message: string): Value {
  if (errMsg === null) {
    errMsg = message;
    errHandle = e.code == -2 ? e.handle : 0;
  }
  return Value.nil();
}

/** failed is true when the running call has failed (a bad argument, `fail`, `failWith`). */
export function failed(): bool {
  return errMsg !== null;
}

// probe is the object allocated right after the last collection, so the last object of the
// collector's list of objects (AssemblyScript 0.28, rt/tcms.ts: every new object is linked at
// the end of that list, whose head is static).
let probe: ArrayBuffer | null = null;

// allocatedSinceCollect is false when no object was allocated since the last collection, so
// that a call that allocates nothing (inc, say) costs no collection: then the probe is still
// last, and its successor is the list's static head, below the heap. Half the cost of a
// small call is the collection.
function allocatedSinceCollect(): bool {
  const p = probe;
  if (p === null) return true;
  const next = changetype<OBJECT>(changetype<usize>(p) - TOTAL_OVERHEAD).gcInfo & ~3;
  return <usize>next >= __heap_base;
}

// begin starts a call of `name` on the frame of `n` bytes at `p`: it clears the error and
// indexes the frame. It returns null when the frame is malformed (the call has failed).
function begin(p: usize, n: usize, name: string): Args | null {
  // Everything the previous call allocated is garbage now: collect it, so that memory holds
  // at most what one call needs. The module is built with the minimal runtime, whose
  // collector runs only when called and must not run while objects are referenced only from
  // locals: here, before the call has made any, is such a point.
  if (allocatedSinceCollect()) {
    __collect();
    probe = new ArrayBuffer(0);
  }
  errMsg = null;
  errHandle = 0;
  const b = argBuf;
  let base: ArrayBuffer | null = null;
  if (b !== null && p >= changetype<usize>(b) && p + n <= changetype<usize>(b) + <usize>b.byteLength) base = b;
  return args.parse(name, p, n, base) ? args : null;
}

// finish ends the call: it reports the error, if any, else returns the packed result frame.
function finish(): u64 {
  const m = errMsg;
  if (m !== null) {
    const b = String.UTF8.encode(m, false, String.UTF8.ErrorMode.REPLACE);
    if (errHandle != 0) fail_with(errHandle, changetype<usize>(b), <usize>b.byteLength);
    else set_error(changetype<usize>(b), <usize>b.byteLength);
    errMsg = null;
    return 0;
  }
  return out.packed();
}

// result encodes `r`, the value a function returned, as the result frame.
function result<R>(r: R): u64 {
  if (errMsg !== null) return finish();
  out.reset();
  out.handles = false;
  write<R>(out, r);
  const e = out.err;
  if (e !== null) fail(args.name + ": " + e);
  return finish();
}

/**
 * write encodes `v` as T: booleans, integers (shortest form), f64 (float64), f32 (float32),
 * strings, Uint8Array (bytes), Value, Tensor, Table, arrays of any of these, and null as nil.
 */
export function write<T>(w: Writer, v: T): void {
  if (isBoolean<T>()) {
    w.bool(<bool>v);
  } else if (isInteger<T>()) {
    if (isSigned<T>()) w.int(<i64>v);
    else w.uint(<u64>v);
  } else if (isFloat<T>()) {
    if (sizeof<T>() == 4) w.float32(<f32>v);
    else w.float(<f64>v);
  } else if (isReference<T>()) {
    if (changetype<usize>(v) == 0) w.nil();
    else if (isString<T>()) w.str(changetype<string>(v));
    else if (idof<T>() == idof<Value>()) w.value(changetype<Value>(v));
    else if (idof<T>() == idof<Tensor>()) w.tensor(changetype<Tensor>(v));
    else if (idof<T>() == idof<Table>()) w.table(changetype<Table>(v));
    else if (idof<T>() == idof<Uint8Array>()) w.bytes(changetype<Uint8Array>(v));
    else if (isArray<T>()) {
      // @ts-ignore: T is an array
      const n = v.length;
      w.listHeader(<u32>n);
      // @ts-ignore: T is an array
      for (let i = 0; i < n; i++) write<valueof<T>>(w, unchecked(v[i]));
    } else ERROR("mrun: unsupported result type");
  } else {
    ERROR("mrun: unsupported result type");
  }
}

/**
 * call runs `fn` on the argument frame [p, p+n) and returns the packed result frame: the body
 * of an `mrun_fn_<name>` export for a function that reads its arguments through Args (any
 * number, keywords, any type). `name` is the function's name in error messages: a string
 * literal, since the collection at the start of a call would free a string built at run time.
 * Never call an export from your own code: that collection would free the caller's objects.
 *
 *     export function mrun_fn_greet(p: u32, n: u32): u64 { return call(p, n, "greet", greet); }
 */
export function call(p: usize, n: usize, name: string, fn: (a: Args) => Value): u64 {
  const a = begin(p, n, name);
  if (a === null) return finish();
  const r = fn(a);
  if (!a.finish()) return finish();
  return result<Value>(r);
}

/** call0 runs `fn`, which takes no arguments, and encodes what it returns (see `write`). */
export function call0<R>(p: usize, n: usize, name: string, fn: () => R): u64 {
  const a = begin(p, n, name);
  if (a === null || !a.expect(0)) return finish();
  return result<R>(fn());
}

/**
 * call1 decodes one positional argument as A (see `Args.get`), runs `fn` and encodes its
 * result as R (see `write`): `call1<i64, i64>(p, n, "inc", inc)`.
 */
export function call1<A, R>(p: usize, n: usize, name: string, fn: (a: A) => R): u64 {
  const a = begin(p, n, name);
  if (a === null || !a.expect(1)) return finish();
  const x = a.get<A>(0);
  if (errMsg !== null) return finish();
  return result<R>(fn(x));
}

/** call2 is call1 for two positional arguments. */
export function call2<A, B, R>(p: usize, n: usize, name: string, fn: (a: A, b: B) => R): u64 {
  const a = begin(p, n, name);
  if (a === null || !a.expect(2)) return finish();
  const x = a.get<A>(0);
  const y = a.get<B>(1);
  if (errMsg !== null) return finish();
  return result<R>(fn(x, y));
}

/** call3 is call1 for three positional arguments. */
export function call3<A, B, C, R>(p: usize, n: usize, name: string, fn: (a: A, b: B, c: C) => R): u64 {
  const a = begin(p, n, name);
  if (a === null || !a.expect(3)) return finish();
  const x = a.get<A>(0);
  const y = a.get<B>(1);
  const z = a.get<C>(2);
  if (errMsg !== null) return finish();
  return result<R>(fn(x, y, z));
}

/**
 * onAbort replaces AssemblyScript's `env.abort` import (`--use abort=...`): a failed
 * assertion, an out-of-range index or a `throw` reports "abort: <message> at <file>:<line>"
 * through set_error and on stderr (which the host attaches to the trap), then traps, so the
 * host discards the instance.
 */
export function onAbort(message: string | null, file: string | null, line: u32, column: u32): void {
  // A static buffer, so that reporting the abort allocates nothing: an iovec at 0, the count
  // written at 8, the message (at most 512 bytes) from 16. Constants are literals: the abort
  // handler is compiled before any global.
  const buf = memory.data(16 + 512);
  const msg = buf + 16;
  let n: usize = 0;
  n = putASCII(msg, n, "abort: ");
  if (message !== null) n = putASCII(msg, n, message);
  if (file !== null) {
    n = putASCII(msg, n, " at ");
    n = putASCII(msg, n, file);
    n = putASCII(msg, n, ":");
    n = putDecimal(msg, n, line);
  }
  set_error(msg, n);
  n = putASCII(msg, n, "\n");
  store<u32>(buf, <u32>msg);
  store<u32>(buf, <u32>n, 4);
  fd_write(2, buf, 1, buf + 8);
  unreachable();
}

// putASCII appends `s` to the buffer at `buf` from `n`, '?' for non-ASCII, and returns the
// new length.
function putASCII(buf: usize, n: usize, s: string): usize {
  for (let i = 0; i < s.length && n < 512; i++) {
    const c = s.charCodeAt(i);
    store<u8>(buf + n, c < 0x80 ? <u8>c : 0x3f);
    n++;
  }
  return n;
}

// putDecimal appends `v` in decimal to the buffer at `buf` from `n`.
function putDecimal(buf: usize, n: usize, v: u32): usize {
  let digits: u32 = 1;
  for (let x = v; x >= 10; x /= 10) digits++;
  if (n + digits > 512) return n;
  for (let i = digits; i > 0; i--) {
    store<u8>(buf + n + i - 1, <u8>(0x30 + v % 10));
    v /= 10;
  }
  return n + digits;
}
