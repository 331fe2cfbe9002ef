// mt: the thin wrappers over the native modules mrun:tensor and mrun:table (docs/tensors.md,
// docs/tables.md). An Expr (a TableExpr) builds the expression map that function eval of the
// module takes, and evaluates it by spawning eval from the running function, like Mars's mt
// inside a spawned function:
//
//     const sum = rand(1, [10, 10]).sum().float64();   // mt.random.rand(10, 10).sum()
//
// The names follow the Go guest SDK's package mt (guests/go/mrun/mt); the planning happens in
// the host, so this is only a few maps.

import { Value, Tensor, DType, dtypeName, Kind, kindName } from "./value";
import { Table } from "./table";
import { Task, Obj, Err, INVALID } from "./spawn";

/** TENSOR_MODULE is the native module of the tensor planner; its function is "eval". */
export const TENSOR_MODULE = "mrun:tensor";
/** TABLE_MODULE is the native module of the table planner; its function is "eval". */
export const TABLE_MODULE = "mrun:table";
/** NONE stands for an omitted start, stop or step in `Expr.slice` (Python's None). */
export const NONE: i64 = i64.MIN_VALUE;

// ints is a list Value of integers.
function ints(v: i64[]): Value {
  const l = new Array<Value>(v.length);
  for (let i = 0; i < v.length; i++) unchecked(l[i] = Value.int(unchecked(v[i])));
  return Value.list(l);
}

// strs is a list Value of strings.
function strs(v: string[]): Value {
  const l = new Array<Value>(v.length);
  for (let i = 0; i < v.length; i++) unchecked(l[i] = Value.str(unchecked(v[i])));
  return Value.list(l);
}

// withField is a copy of the map m with field `key` set to v (replaced in place if m has it).
function withField(m: Value, key: string, v: Value): Value {
  const ks = m.mapKeys(), vs = m.mapValues();
  const keys = new Array<Value>(0), vals = new Array<Value>(0);
  let found = false;
  for (let i = 0; i < ks.length; i++) {
    const k = unchecked(ks[i]);
    keys.push(k);
    if (k.kind == Kind.Str && k.asStr() == key) {
      vals.push(v);
      found = true;
    } else {
      vals.push(unchecked(vs[i]));
    }
  }
  if (!found) {
    keys.push(Value.str(key));
    vals.push(v);
  }
  return Value.map(keys, vals);
}

// evalIn spawns eval of `module` with the expression map and returns its Object, or an Object
// that carries `prior`, the error of a bad argument the expression was built from.
function evalIn(module: string, expr: Value, prior: Err | null): Obj {
  if (prior !== null) {
    const o = new Obj(0);
    o.err = prior;
    return o;
  }
  const t = new Task("eval", [expr]);
  t.module = module;
  return t.spawn().at(0);
}

/**
 * Expr is a lazy tensor expression of module mrun:tensor. Methods build bigger expressions and
 * compute nothing; `spawn`, `eval`, `float64` and `tensor` evaluate it. Operands (`y` of `add`,
 * `x` and `y` of `where`) are an Expr, a Tensor, or a number or bool: a scalar that takes the
 * other operand's dtype where its kind allows, as in NumPy.
 *
 * Evaluation errors are values, as for spawns: `float64()` returns NaN and `tensor()` null,
 * with `err` set (a planner or kernel error is the failed eval child's, code FAILED).
 */
export class Expr {
  /** value is the expression map, as eval takes it. */
  readonly value: Value;
  /** err is the error of the last evaluation, or of a bad argument the Expr was built from. */
  err: Err | null = null;

  /** The constructor wraps an expression map (see docs/tensors.md); `op` and the functions make them. */
  constructor(value: Value) {
    this.value = value;
  }

  /** op is the expression {"op": name}, to complete with `with`: every operator is reachable. */
  static op(name: string): Expr {
    return new Expr(Value.newMap().set("op", Value.str(name)));
  }

  /** with is a copy of the expression with field `key` set to `v` (e.g. "dtype", "endpoint"). */
  with(key: string, v: Value): Expr {
    const e = new Expr(withField(this.value, key, v));
    e.err = this.err;
    return e;
  }

  // withX is with(key, x's map), carrying x's build error.
  private withX(key: string, x: Expr): Expr {
    const e = this.with(key, x.value);
    if (e.err === null) e.err = x.err;
    return e;
  }

  // unary is {"op": name, "x": this}.
  private unary(name: string): Expr {
    return Expr.op(name).withX("x", this);
  }

  // binary is {"op": name, "x": this, "y": y}.
  private binary<T>(name: string, y: T): Expr {
    return this.unary(name).withX("y", operand<T>(y));
  }

  // reduce is reduction `name` over axes (null: every axis).
  private reduce(name: string, axes: i64[] | null): Expr {
    return this.unary(name).with("axis", axes !== null ? ints(axes) : Value.nil());
  }

  /** withChunks sets the chunk shape (one size per axis, -1 for a whole axis): on a creation it says how the tensor is made, on anything else it rechunks the result. */
  withChunks(chunks: i64[]): Expr {
    return this.with("chunks", ints(chunks));
  }

  /** rechunk is the tensor split into chunks of the given sizes (one per axis, -1 for whole). */
  rechunk(chunks: i64[]): Expr {
    return this.unary("rechunk").with("chunks", ints(chunks));
  }

  /** add is this + y, broadcasting as NumPy does. */
  add<T>(y: T): Expr { return this.binary<T>("add", y); }
  /** sub is this - y. */
  sub<T>(y: T): Expr { return this.binary<T>("sub", y); }
  /** mul is this * y. */
  mul<T>(y: T): Expr { return this.binary<T>("mul", y); }
  /** div is this / y (true division: integers give float64). */
  div<T>(y: T): Expr { return this.binary<T>("div", y); }
  /** pow is this ** y. */
  pow<T>(y: T): Expr { return this.binary<T>("pow", y); }
  /** eq is the bool tensor this == y. */
  eq<T>(y: T): Expr { return this.binary<T>("eq", y); }
  /** ne is the bool tensor this != y. */
  ne<T>(y: T): Expr { return this.binary<T>("ne", y); }
  /** lt is the bool tensor this < y. */
  lt<T>(y: T): Expr { return this.binary<T>("lt", y); }
  /** le is the bool tensor this <= y. */
  le<T>(y: T): Expr { return this.binary<T>("le", y); }
  /** gt is the bool tensor this > y. */
  gt<T>(y: T): Expr { return this.binary<T>("gt", y); }
  /** ge is the bool tensor this >= y. */
  ge<T>(y: T): Expr { return this.binary<T>("ge", y); }

  /** neg is -this. */
  neg(): Expr { return this.unary("neg"); }
  /** abs is |this|. */
  abs(): Expr { return this.unary("abs"); }
  /** sqrt is the square root (integers give float64). */
  sqrt(): Expr { return this.unary("sqrt"); }
  /** exp is e to the power of each element (integers give float64). */
  exp(): Expr { return this.unary("exp"); }
  /** log is the natural logarithm (integers give float64). */
  log(): Expr { return this.unary("log"); }
  /** astype is the tensor converted to dtype `d`, as NumPy's astype. */
  astype(d: DType): Expr { return this.unary("astype").with("dtype", Value.str(dtypeName(d))); }

  /** sum is the sum over `axes` (null: every axis, giving a scalar). */
  sum(axes: i64[] | null = null): Expr { return this.reduce("sum", axes); }
  /** mean is the mean over `axes` (null: every axis). */
  mean(axes: i64[] | null = null): Expr { return this.reduce("mean", axes); }
  /** var is the variance over `axes` (null: every axis), dividing by n - ddof. */
  var(axes: i64[] | null = null, ddof: i64 = 0): Expr { return this.reduce("var", axes).with("ddof", Value.int(ddof)); }
  /** std is the standard deviation over `axes` (null: every axis), with n - ddof. */
  std(axes: i64[] | null = null, ddof: i64 = 0): Expr { return this.reduce("std", axes).with("ddof", Value.int(ddof)); }
  /** min is the minimum over `axes` (null: every axis); NaN if any element is. */
  min(axes: i64[] | null = null): Expr { return this.reduce("min", axes); }
  /** max is the maximum over `axes` (null: every axis); NaN if any element is. */
  max(axes: i64[] | null = null): Expr { return this.reduce("max", axes); }
  /** argmin is the int64 index of the first minimum: flat without an axis, else along the one axis given. */
  argmin(axes: i64[] | null = null): Expr { return this.reduce("argmin", axes); }
  /** argmax is the int64 index of the first maximum, as argmin. */
  argmax(axes: i64[] | null = null): Expr { return this.reduce("argmax", axes); }
  /** keepdims is the reduction keeping its reduced axes with size 1. */
  keepdims(): Expr { return this.with("keepdims", Value.bool(true)); }

  /** matmul is the matrix product of this and y, both two-dimensional. */
  matmul(y: Expr): Expr { return this.unary("matmul").withX("y", y); }
  /** T is the tensor with its axes reversed. */
  T(): Expr { return this.unary("transpose"); }
  /** transpose permutes the axes: axis k of the result is axis axes[k] of this. */
  transpose(axes: i64[]): Expr { return this.unary("transpose").with("axes", ints(axes)); }
  /** reshape is the tensor with a new shape of the same size (one entry may be -1), chunk by chunk. */
  reshape(shape: i64[]): Expr { return this.unary("reshape").with("shape", ints(shape)); }

  /**
   * slice is this[start:stop:step, ...] with one [start, stop, step] per leading axis, NONE for
   * an omitted entry; negative indices count from the end, as in Python.
   */
  slice(index: i64[][]): Expr {
    const l = new Array<Value>(index.length);
    let bad = -1;
    for (let i = 0; i < index.length; i++) {
      const s = unchecked(index[i]);
      if (s.length != 3) { bad = i; break; }
      const entry = new Array<Value>(3);
      for (let k = 0; k < 3; k++) {
        const v = unchecked(s[k]);
        unchecked(entry[k] = v == NONE ? Value.nil() : Value.int(v));
      }
      unchecked(l[i] = Value.list(entry));
    }
    if (bad >= 0) {
      const e = this.unary("slice");
      if (e.err === null) e.err = new Err("spawn", INVALID, 0, "mt: slice: index " + bad.toString() + " has " + index[bad].length.toString() + " entries, want [start, stop, step]");
      return e;
    }
    return this.unary("slice").with("index", Value.list(l));
  }

  /**
   * spawn spawns eval of mrun:tensor with the expression and returns its lazy Object: execute
   * it, with other Objects if you like, then fetch the value.
   */
  spawn(): Obj {
    return evalIn(TENSOR_MODULE, this.value, this.err);
  }

  /** eval evaluates the expression and returns its value (nil with `err` set on failure). */
  eval(): Value {
    const o = this.spawn();
    let e = o.execute();
    if (e === null) {
      const v = o.fetch();
      e = o.err;
      if (e === null) return v;
    }
    this.err = e;
    return Value.nil();
  }

  /** float64 evaluates an expression whose value is a number (a full sum, mean, ...); NaN with `err` set on failure. */
  float64(): f64 {
    const v = this.eval();
    if (this.err !== null) return NaN;
    if (!v.isNumber()) {
      this.err = new Err("fetch", INVALID, 0, "mt: the value is " + kindName(v.kind) + ", not a number");
      return NaN;
    }
    return v.asF64();
  }

  /** tensor evaluates an expression whose value is a tensor; null with `err` set on failure. */
  tensor(): Tensor | null {
    const v = this.eval();
    if (this.err !== null) return null;
    const t = v.asTensor();
    if (t === null) this.err = new Err("fetch", INVALID, 0, "mt: the value is " + kindName(v.kind) + ", not a tensor");
    return t;
  }
}

/** operand is an operand as an Expr: an Expr itself, a Tensor, a Value, or a number or bool. */
export function operand<T>(y: T): Expr {
  if (isBoolean<T>()) return new Expr(Value.bool(<bool>y));
  if (isInteger<T>()) {
    if (isSigned<T>()) return new Expr(Value.int(<i64>y));
    return new Expr(Value.uint(<u64>y));
  }
  if (isFloat<T>()) return new Expr(Value.float(<f64>y));
  if (isReference<T>()) {
    if (idof<T>() == idof<Expr>()) return changetype<Expr>(y);
    if (idof<T>() == idof<Tensor>()) return fromTensor(changetype<Tensor>(y));
    if (idof<T>() == idof<Value>()) return new Expr(changetype<Value>(y));
  }
  ERROR("mt: an operand is an Expr, a Tensor, a Value, a number or a bool");
  return unreachable();
}

/** rand is a float64 tensor of `shape`, uniform in [0, 1); element i depends only on seed and i. */
export function rand(seed: i64, shape: i64[]): Expr {
  return Expr.op("rand").with("seed", Value.int(seed)).with("shape", ints(shape));
}

/** zeros is a float64 tensor of zeros. */
export function zeros(shape: i64[]): Expr {
  return Expr.op("zeros").with("shape", ints(shape));
}

/** ones is a float64 tensor of ones. */
export function ones(shape: i64[]): Expr {
  return Expr.op("ones").with("shape", ints(shape));
}

/** full is a tensor of `shape` and dtype `d` filled with `value` (a number or bool). */
export function full<T>(value: T, d: DType, shape: i64[]): Expr {
  return Expr.op("full").with("value", operand<T>(value).value).with("dtype", Value.str(dtypeName(d))).with("shape", ints(shape));
}

/** arange is the int64 tensor start, start+step, ... up to stop (excluded), as numpy.arange. */
export function arange(start: i64, stop: i64, step: i64 = 1): Expr {
  return Expr.op("arange").with("start", Value.int(start)).with("stop", Value.int(stop)).with("step", Value.int(step));
}

/** linspace is `num` float64 numbers evenly spaced from start to stop (included), as numpy.linspace. */
export function linspace(start: f64, stop: f64, num: i64): Expr {
  return Expr.op("linspace").with("start", Value.float(start)).with("stop", Value.float(stop)).with("num", Value.int(num));
}

/** fromTensor is an expression whose value is `t`; the planner cuts it into chunks. */
export function fromTensor(t: Tensor): Expr {
  return Expr.op("tensor").with("value", Value.tensor(t));
}

/** where is x where cond is true and y elsewhere, broadcasting all three. */
export function where<C, X, Y>(cond: C, x: X, y: Y): Expr {
  const c = operand<C>(cond), a = operand<X>(x), b = operand<Y>(y);
  const e = Expr.op("where").with("cond", c.value).with("x", a.value).with("y", b.value);
  e.err = c.err !== null ? c.err : a.err !== null ? a.err : b.err;
  return e;
}

/** concatenate joins xs along axis. */
export function concatenate(axis: i64, xs: Expr[]): Expr {
  const l = new Array<Value>(xs.length);
  let err: Err | null = null;
  for (let i = 0; i < xs.length; i++) {
    const x = unchecked(xs[i]);
    unchecked(l[i] = x.value);
    if (err === null) err = x.err;
  }
  const e = Expr.op("concatenate").with("xs", Value.list(l)).with("axis", Value.int(axis));
  e.err = err;
  return e;
}

/**
 * TableExpr is a lazy table expression of module mrun:table (docs/tables.md): a source
 * (`tableOf`, `readCSV`) and operations on it. `table()` evaluates it: the result table, or
 * null with `err` set.
 */
export class TableExpr {
  /** value is the expression map, as eval takes it. */
  readonly value: Value;
  /** err is the error of the last evaluation, or null. */
  err: Err | null = null;

  /** The constructor wraps an expression map (see docs/tables.md). */
  constructor(value: Value) {
    this.value = value;
  }

  /** op is the expression {"op": name, "x": this}, to complete with `with`. */
  op(name: string): TableExpr {
    const e = new TableExpr(Value.newMap().set("op", Value.str(name)).set("x", this.value));
    e.err = this.err;
    return e;
  }

  /** with is a copy of the expression with field `key` set to `v` (e.g. "chunk_rows", "types"). */
  with(key: string, v: Value): TableExpr {
    const e = new TableExpr(withField(this.value, key, v));
    e.err = this.err;
    return e;
  }

  /** select is those columns, in that order. */
  select(columns: string[]): TableExpr { return this.op("select").with("columns", strs(columns)); }
  /** filter is the rows where the condition is true, in order ("a > 1 and not flag"). */
  filter(where: string): TableExpr { return this.op("filter").with("where", Value.str(where)); }
  /** assign sets column `name` to the value of arithmetic `expr` ("price * qty"). */
  assign(name: string, expr: string): TableExpr { return this.op("assign").with("name", Value.str(name)).with("expr", Value.str(expr)); }
  /** head is the first n rows. */
  head(n: i64 = 5): TableExpr { return this.op("head").with("n", Value.int(n)); }

  /** sort is the rows sorted stably by the columns `by`, descending where `descending` says (one bool, or one per name; none: ascending). */
  sort(by: string[], descending: bool[] = []): TableExpr {
    let e = this.op("sort").with("by", strs(by));
    if (descending.length > 0) {
      const l = new Array<Value>(descending.length);
      for (let i = 0; i < descending.length; i++) unchecked(l[i] = Value.bool(unchecked(descending[i])));
      e = e.with("descending", descending.length == 1 ? unchecked(l[0]) : Value.list(l));
    }
    return e;
  }

  /** groupby is one row per distinct key, with aggregations [column, function] or [column, function, name]. */
  groupby(keys: string[], aggs: string[][]): TableExpr {
    const l = new Array<Value>(aggs.length);
    for (let i = 0; i < aggs.length; i++) unchecked(l[i] = strs(unchecked(aggs[i])));
    return this.op("groupby").with("keys", strs(keys)).with("aggs", Value.list(l));
  }

  /** join is the inner join with y on the columns `on`, sorted by them (partitions 0: the planner's default). */
  join(y: TableExpr, on: string[], partitions: i64 = 0): TableExpr {
    let e = this.op("join").with("y", y.value).with("on", strs(on));
    if (partitions > 0) e = e.with("partitions", Value.int(partitions));
    if (e.err === null) e.err = y.err;
    return e;
  }

  /** spawn spawns eval of mrun:table with the expression and returns its lazy Object. */
  spawn(): Obj {
    return evalIn(TABLE_MODULE, this.value, this.err);
  }

  /** table evaluates the expression and returns the result table; null with `err` set on failure. */
  table(): Table | null {
    const o = this.spawn();
    let e = o.execute();
    if (e === null) {
      const v = o.fetch();
      e = o.err;
      if (e === null) {
        const t = v.asTable();
        if (t !== null) return t;
        e = new Err("fetch", INVALID, 0, "mt: the value is " + kindName(v.kind) + ", not a table");
      }
    }
    this.err = e;
    return null;
  }
}

/** tableOf is the table `t` as a source, cut by the planner into chunks of `chunkRows` rows (0: the planner's default). */
export function tableOf(t: Table, chunkRows: i64 = 0): TableExpr {
  const m = Value.newMap().set("op", Value.str("table")).set("value", Value.table(t));
  if (chunkRows > 0) m.set("chunk_rows", Value.int(chunkRows));
  return new TableExpr(m);
}

/** readCSV is the CSV text `data` (a header row, then records) as a source; `with("types", ...)` fixes column types. */
export function readCSV(data: string, chunkRows: i64 = 0): TableExpr {
  const m = Value.newMap().set("op", Value.str("read_csv")).set("data", Value.str(data));
  if (chunkRows > 0) m.set("chunk_rows", Value.int(chunkRows));
  return new TableExpr(m);
}
