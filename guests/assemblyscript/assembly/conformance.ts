// The conformance module of the AssemblyScript SDK: every function of guests/CONFORMANCE.md.
// Built by guests/assemblyscript/build.sh into testdata/assemblyscript/conformance.wasm.

import {
  Args, Value, Kind, Tensor, DType, Tuple, Task,
  call, call0, call1, call2, spawn, spawnN, fail, failWith, rand,
} from "./mrun";

// Every module re-exports the version marker and the allocator.
export { mrun_abi_v1, mrun_alloc } from "./mrun";

/**
 * inc(x) is x + 1: a typed function, its argument decoded as an i64.
 */
export function mrun_fn_inc(p: u32, n: u32): u64 {
  return call1<i64, i64>(p, n, "inc", inc);
}

function inc(x: i64): i64 {
  return x + 1;
}

/**
 * add(a, b) is a + b.
 */
export function mrun_fn_add(p: u32, n: u32): u64 {
  return call2<i64, i64, i64>(p, n, "add", (a: i64, b: i64): i64 => a + b);
}

/**
 * greet(name, greeting="hello", punct="!"): keyword arguments with defaults.
 * @mrun greet(name: str, *, greeting: str = "hello", punct: str = "!") -> str
 */
export function mrun_fn_greet(p: u32, n: u32): u64 {
  return call(p, n, "greet", greet);
}

function greet(a: Args): Value {
  const name = a.str(0);
  const greeting = a.kwStr("greeting", "hello");
  const punct = a.kwStr("punct", "!");
  return Value.str(greeting + ", " + name + punct);
}

/**
 * fail(msg) fails the call with msg, verbatim.
 * @returns {none}
 */
export function mrun_fn_fail(p: u32, n: u32): u64 {
  return call1<string, Value>(p, n, "fail", (msg: string): Value => fail(msg));
}

/**
 * divmod(a, b) is [a / b, a % b]: two outputs when spawned with n_output = 2.
 * @returns {(int, int)}
 */
export function mrun_fn_divmod(p: u32, n: u32): u64 {
  return call2<i64, i64, i64[]>(p, n, "divmod", divmod);
}

function divmod(a: i64, b: i64): i64[] {
  if (b == 0 || (a == i64.MIN_VALUE && b == -1)) {
    fail("divmod: cannot divide " + a.toString() + " by " + b.toString());
    return [];
  }
  return [a / b, a % b];
}

/**
 * driver spawns inc(i) for i in 0..9, executes the ten together and fetches [1, ..., 10].
 * @returns {list[int]}
 */
export function mrun_fn_driver(p: u32, n: u32): u64 {
  return call0<Value>(p, n, "driver", driver);
}

function driver(): Value {
  const t = new Tuple();
  for (let i = 0; i < 10; i++) t.push(spawn("inc", [Value.int(i)]));
  const values = t.executeFetch();
  const e = t.err;
  if (e !== null) return failWith(e, "driver: " + e.message);
  return values;
}

/**
 * nested_split(a, b) spawns divmod(a, b) with two outputs and add(q, r) over them, executes
 * only the add and fetches all three: [a / b, a % b, a / b + a % b].
 * @returns {list[int]}
 */
export function mrun_fn_nested_split(p: u32, n: u32): u64 {
  return call2<i64, i64, Value>(p, n, "nested_split", nestedSplit);
}

function nestedSplit(a: i64, b: i64): Value {
  const qr = spawnN("divmod", 2, [Value.int(a), Value.int(b)]);
  const sum = spawn("add", [qr.at(0).dep(), qr.at(1).dep()]);
  const e = sum.execute();
  if (e !== null) return failWith(e, "nested_split: " + e.message);
  const all = new Tuple([qr.at(0), qr.at(1), sum]);
  const values = all.fetch();
  const fe = all.err;
  if (fe !== null) return failWith(fe, "nested_split: " + fe.message);
  return values;
}

/**
 * parent_fail(msg) spawns fail(msg) and fails with the child's error as the cause.
 * @returns {none}
 */
export function mrun_fn_parent_fail(p: u32, n: u32): u64 {
  return call1<string, Value>(p, n, "parent_fail", parentFail);
}

function parentFail(msg: string): Value {
  const child = spawn("fail", [Value.str(msg)]);
  child.execute(); // status 1: the child failed
  child.fetch(); // −2: child.err holds the child's error text from last_error
  const e = child.err;
  if (e !== null) return failWith(e, "parent_fail: " + e.message);
  return fail("parent_fail: the child did not fail");
}

/**
 * tensor_sum(t) is the sum of a float64 tensor's elements, read in place.
 * @param {tensor[float64]} t
 */
export function mrun_fn_tensor_sum(p: u32, n: u32): u64 {
  return call1<Tensor, f64>(p, n, "tensor_sum", tensorSum);
}

function tensorSum(t: Tensor): f64 {
  if (t.dtype != DType.Float64) {
    fail("tensor_sum: want a float64 tensor");
    return 0;
  }
  const x = t.f64();
  let s: f64 = 0;
  for (let i = 0; i < x.length; i++) s += unchecked(x[i]);
  return s;
}

/**
 * matmul(a, b) is the matrix product of two float64 tensors, m×k and k×n.
 * @param {tensor[float64]} a
 * @param {tensor[float64]} b
 * @returns {tensor[float64]}
 */
export function mrun_fn_matmul(p: u32, n: u32): u64 {
  return call2<Tensor, Tensor, Tensor | null>(p, n, "matmul", matmul);
}

function matmul(a: Tensor, b: Tensor): Tensor | null {
  if (a.dtype != DType.Float64 || b.dtype != DType.Float64 || a.ndim != 2 || b.ndim != 2 || a.dim(1) != b.dim(0)) {
    fail("matmul: want float64 matrices m×k and k×n, got " + shape(a) + " and " + shape(b));
    return null;
  }
  const rows = a.dim(0), cols = b.dim(1);
  if (rows < 0 || cols < 0 || (cols > 0 && rows > (<i64>1 << 27) / cols)) {
    fail("matmul: a result of " + rows.toString() + "×" + cols.toString() + " is over 2^27 elements");
    return null;
  }
  const m = <i32>a.dim(0), k = <i32>a.dim(1), n = <i32>b.dim(1);
  const c = Tensor.zeros(DType.Float64, [rows, cols]);
  const x = a.f64(), y = b.f64(), z = c.f64();
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < k; l++) {
      const s = unchecked(x[i * k + l]);
      for (let j = 0; j < n; j++) unchecked(z[i * n + j] += s * y[l * n + j]);
    }
  }
  return c;
}

function shape(t: Tensor): string {
  return t.dtypeName() + "[" + t.shape.join("×") + "]";
}

/**
 * driver2 is mt.random.rand(10, 10).sum(): rand_matrix, spawned impure as random numbers
 * are, and tensor_sum of it, nested.
 * @returns {float}
 * @impure
 */
export function mrun_fn_driver2(p: u32, n: u32): u64 {
  return call0<Value>(p, n, "driver2", driver2);
}

function driver2(): Value {
  const rand = new Task("rand_matrix", [Value.int(10), Value.int(10)]);
  rand.impure = true;
  const m = rand.spawn().at(0);
  const s = spawn("tensor_sum", [m.dep()]);
  const e = s.execute();
  if (e !== null) return failWith(e, "driver2: " + e.message);
  const v = s.fetch();
  const fe = s.err;
  if (fe !== null) return failWith(fe, "driver2: " + fe.message);
  return v;
}

/**
 * driver2_tensor(seed) is driver2 on the tensor planner: mt.random.rand(10, 10).sum() as one
 * expression, evaluated by a nested spawn of eval of the native module mrun:tensor.
 */
export function mrun_fn_driver2_tensor(p: u32, n: u32): u64 {
  return call1<i64, f64>(p, n, "driver2_tensor", driver2Tensor);
}

function driver2Tensor(seed: i64): f64 {
  const e = rand(seed, [10, 10]).sum();
  const sum = e.float64();
  const err = e.err;
  if (err !== null) failWith(err, "driver2_tensor: " + err.message);
  return sum;
}

/**
 * rand_matrix(r, c) is an r×c float64 tensor of pseudo-random numbers in [0, 1). The
 * numbers depend only on r and c, as a task's value depends only on its arguments.
 * @returns {tensor[float64]}
 * @impure
 */
export function mrun_fn_rand_matrix(p: u32, n: u32): u64 {
  return call2<i64, i64, Tensor | null>(p, n, "rand_matrix", randMatrix);
}

function randMatrix(r: i64, c: i64): Tensor | null {
  if (r < 0 || c < 0 || (r > 0 && c > (<i64>1 << 27) / r)) {
    fail("rand_matrix: " + r.toString() + "×" + c.toString() + " is not a size up to 2^27 elements");
    return null;
  }
  const t = Tensor.zeros(DType.Float64, [r, c]);
  const x = t.f64();
  let s: u64 = 0x9e3779b97f4a7c15 ^ (<u64>r << 32) ^ <u64>c;
  for (let i = 0; i < x.length; i++) {
    // splitmix64, top 53 bits as a fraction
    s += 0x9e3779b97f4a7c15;
    let z = s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    z ^= z >> 31;
    unchecked(x[i] = <f64>(z >> 11) * (1.0 / <f64>(<u64>1 << 53)));
  }
  return t;
}

/**
 * sum_all(xs): an int when every element is an int, else a float64 added left to right.
 */
export function mrun_fn_sum_all(p: u32, n: u32): u64 {
  return call1<Value[], Value>(p, n, "sum_all", sumAll);
}

function sumAll(xs: Value[]): Value {
  let ints = true;
  for (let i = 0; i < xs.length; i++) {
    const k = unchecked(xs[i]).kind;
    if (!unchecked(xs[i]).isNumber()) return fail("sum_all: element " + i.toString() + " is not a number");
    if (k != Kind.Int && k != Kind.Uint) ints = false;
  }
  if (ints) {
    let s: i64 = 0;
    for (let i = 0; i < xs.length; i++) s += unchecked(xs[i]).asI64();
    return Value.int(s);
  }
  let f: f64 = 0;
  for (let i = 0; i < xs.length; i++) f += unchecked(xs[i]).asF64();
  return Value.float(f);
}

/**
 * triage(xs) is [low, high]: the elements below 0.5 and the others. Spawn with n_output = 2.
 * @returns {(list[float], list[float])}
 */
export function mrun_fn_triage(p: u32, n: u32): u64 {
  return call1<f64[], f64[][]>(p, n, "triage", triage);
}

function triage(xs: f64[]): f64[][] {
  const low: f64[] = [], high: f64[] = [];
  for (let i = 0; i < xs.length; i++) {
    const x = unchecked(xs[i]);
    if (x < 0.5) low.push(x);
    else high.push(x);
  }
  return [low, high];
}

/**
 * identity(v) is v, decoded into a Value and encoded again.
 */
export function mrun_fn_identity(p: u32, n: u32): u64 {
  return call1<Value, Value>(p, n, "identity", (v: Value): Value => v);
}

/**
 * concat(a, b) is a + b.
 */
export function mrun_fn_concat(p: u32, n: u32): u64 {
  return call2<string, string, string>(p, n, "concat", (a: string, b: string): string => a + b);
}

/**
 * rev_bytes(b) is the bytes of b in reverse order.
 */
export function mrun_fn_rev_bytes(p: u32, n: u32): u64 {
  return call1<Uint8Array, Uint8Array>(p, n, "rev_bytes", (b: Uint8Array): Uint8Array => b.reverse());
}

/**
 * ints(i, u) is [i, u], decoded as a native i64 and u64.
 * @returns {list[int]}
 */
export function mrun_fn_ints(p: u32, n: u32): u64 {
  return call2<i64, u64, Value>(p, n, "ints", (i: i64, u: u64): Value => Value.list([Value.int(i), Value.uint(u)]));
}

/**
 * fdiv(a, b) is a / b in IEEE 754.
 */
export function mrun_fn_fdiv(p: u32, n: u32): u64 {
  return call2<f64, f64, f64>(p, n, "fdiv", (a: f64, b: f64): f64 => a / b);
}

/**
 * nothing() is nil.
 * @returns {none}
 */
export function mrun_fn_nothing(p: u32, n: u32): u64 {
  return call0<Value>(p, n, "nothing", (): Value => Value.nil());
}

/**
 * empties() is ["", b"", [], {}].
 * @returns {list[any]}
 */
export function mrun_fn_empties(p: u32, n: u32): u64 {
  return call0<Value>(p, n, "empties", (): Value =>
    Value.list([Value.str(""), Value.bytes(new Uint8Array(0)), Value.list([]), Value.newMap()]));
}
