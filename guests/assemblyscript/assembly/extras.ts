// The extras module: the parts of the SDK that the conformance contract does not use, for
// sdk_test.go. Built by guests/assemblyscript/build.sh into testdata/assemblyscript/extras.wasm.

import {
  Args, Value, Tensor, DType, Obj, Task, Tuple,
  call, call0, call1, call2, call3, spawn, fail, failWith, Err, INVALID,
  Table, Column, ColType, Expr, NONE, TableExpr,
  rand, zeros, ones, full, arange, linspace, fromTensor, where, concatenate, tableOf, readCSV,
} from "./mrun";

export { mrun_abi_v1, mrun_alloc } from "./mrun";

/**
 * inc(x) is x + 1.
 */
export function mrun_fn_inc(p: u32, n: u32): u64 {
  return call1<i64, i64>(p, n, "inc", (x: i64): i64 => x + 1);
}

/**
 * total(xs) is the sum of a list of ints.
 */
export function mrun_fn_total(p: u32, n: u32): u64 {
  return call1<i64[], i64>(p, n, "total", (xs: i64[]): i64 => {
    let s: i64 = 0;
    for (let i = 0; i < xs.length; i++) s += xs[i];
    return s;
  });
}

/**
 * fanout(k) spawns inc(i) for i in 0..k-1 and total over the list of them (each a dependency),
 * executes only the total and returns it: fanout(100) is 5050.
 * @returns {int}
 */
export function mrun_fn_fanout(p: u32, n: u32): u64 {
  return call1<i32, Value>(p, n, "fanout", (k: i32): Value => {
    const incs = new Tuple();
    for (let i = 0; i < k; i++) incs.push(spawn("inc", [Value.int(i)]));
    const sum = spawn("total", [incs.deps()]);
    const e = sum.execute();
    if (e !== null) return failWith(e, "fanout: " + e.message);
    const v = sum.fetch();
    const fe = sum.err;
    if (fe !== null) return failWith(fe, "fanout: " + fe.message);
    return v;
  });
}

/**
 * fetch_ref(o) fetches an Object it received by reference and returns its value.
 */
export function mrun_fn_fetch_ref(p: u32, n: u32): u64 {
  return call1<Obj, Value>(p, n, "fetch_ref", (o: Obj): Value => {
    const v = o.fetch();
    const e = o.err;
    if (e !== null) return fail("fetch_ref: " + e.message);
    return v;
  });
}

/**
 * forward(x) spawns inc(x) and passes it by reference to fetch_ref, which fetches it.
 * @returns {int}
 */
export function mrun_fn_forward(p: u32, n: u32): u64 {
  return call1<i64, Value>(p, n, "forward", (x: i64): Value => {
    const o = spawn("inc", [Value.int(x)]);
    const r = spawn("fetch_ref", [o.byRef()]);
    const t = new Tuple([r]);
    const v = t.executeFetch();
    const e = t.err;
    if (e !== null) return failWith(e, "forward: " + e.message);
    return v.asList()[0];
  });
}

/**
 * catch(msg) spawns fail(msg), catches its error and returns [code, message].
 * @returns {list}
 */
export function mrun_fn_catch(p: u32, n: u32): u64 {
  return call1<string, Value>(p, n, "catch", (msg: string): Value => {
    const child = spawn("fail", [Value.str(msg)]);
    const e = child.execute();
    if (e === null) return fail("catch: the child did not fail");
    return Value.list([Value.int(e.code), Value.int(e.handle), Value.str(e.message)]);
  });
}

/**
 * fail(msg) fails with msg.
 * @returns {none}
 */
export function mrun_fn_fail(p: u32, n: u32): u64 {
  return call1<string, Value>(p, n, "fail", (msg: string): Value => fail(msg));
}

/**
 * spawn_unknown() spawns a function the module lacks and returns [code, message] of the
 * error that comes out of execute.
 * @returns {list}
 */
export function mrun_fn_spawn_unknown(p: u32, n: u32): u64 {
  return call0<Value>(p, n, "spawn_unknown", (): Value => {
    const o = spawn("nope", []);
    const e = o.execute();
    if (e === null) return fail("spawn_unknown: the spawn succeeded");
    return Value.list([Value.str(e.op), Value.bool(e.code == INVALID), Value.str(e.message)]);
  });
}

/**
 * kw_task(name) spawns greet(name, greeting="hey") through a Task with keyword arguments.
 * @returns {str}
 */
export function mrun_fn_kw_task(p: u32, n: u32): u64 {
  return call1<string, Value>(p, n, "kw_task", (name: string): Value => {
    const t = new Task("greet", [Value.str(name)]);
    t.kwargs = Value.newMap().set("greeting", Value.str("hey"));
    const outs = t.spawn();
    const v = outs.executeFetch();
    const e = outs.err;
    if (e !== null) return failWith(e, "kw_task: " + e.message);
    return v.asList()[0];
  });
}

/**
 * greet(name, greeting="hello") is greeting + ", " + name.
 * @mrun greet(name: str, *, greeting: str = "hello") -> str
 */
export function mrun_fn_greet(p: u32, n: u32): u64 {
  return call(p, n, "greet", (a: Args): Value =>
    Value.str(a.kwStr("greeting", "hello") + ", " + a.str(0)));
}

/**
 * kw_types(i=1, f=0.5, b=false, v=nil) returns [i, f, b, v].
 * @mrun kw_types(*, i: int = 1, f: float = 0.5, b: bool = false, v: any = null) -> list
 */
export function mrun_fn_kw_types(p: u32, n: u32): u64 {
  return call(p, n, "kw_types", (a: Args): Value => Value.list([
    Value.int(a.kwI64("i", 1)), Value.float(a.kwF64("f", 0.5)),
    Value.bool(a.kwBool("b", false)), a.kwValue("v", Value.nil()),
  ]));
}

/**
 * variadic(...xs) returns the number of positional arguments and the keyword names.
 * @nosig any number of positional and keyword arguments
 */
export function mrun_fn_variadic(p: u32, n: u32): u64 {
  return call(p, n, "variadic", (a: Args): Value => {
    const names: Value[] = [];
    for (let i = 0; i < a.kwLength; i++) names.push(Value.str(a.kwName(i)));
    a.ignoreRest();
    return Value.list([Value.int(a.length), Value.list(names)]);
  });
}

/**
 * small(a: u8, b: i16, c: f32) returns [a, b, c], c as a float32.
 * @returns {list}
 */
export function mrun_fn_small(p: u32, n: u32): u64 {
  return call3<u8, i16, f32, Value>(p, n, "small", (a: u8, b: i16, c: f32): Value =>
    Value.list([Value.int(a), Value.int(b), Value.float32(c)]));
}

/**
 * describe(t) is [dtype, shape, size] of a tensor of any dtype.
 * @returns {list}
 */
export function mrun_fn_describe(p: u32, n: u32): u64 {
  return call1<Tensor, Value>(p, n, "describe", (t: Tensor): Value => {
    const shape: Value[] = [];
    for (let i = 0; i < t.ndim; i++) shape.push(Value.int(t.dim(i)));
    return Value.list([Value.str(t.dtypeName()), Value.list(shape), Value.int(t.size)]);
  });
}

/**
 * scale32(t, k) is the float32 tensor t times k.
 * @param {tensor[float32]} t
 * @returns {tensor[float32]}
 */
export function mrun_fn_scale32(p: u32, n: u32): u64 {
  return call2<Tensor, f32, Tensor | null>(p, n, "scale32", (t: Tensor, k: f32): Tensor | null => {
    if (t.dtype != DType.Float32) {
      fail("scale32: want a float32 tensor, got " + t.dtypeName());
      return null;
    }
    const out = Tensor.zeros(DType.Float32, t.shape);
    const x = t.f32(), y = out.f32();
    for (let i = 0; i < x.length; i++) y[i] = x[i] * k;
    return out;
  });
}

/**
 * aligned(t) tells whether a tensor argument was read in place (its elements are in the
 * argument buffer) rather than copied.
 * @mrun aligned(t: tensor) -> bool
 */
export function mrun_fn_aligned(p: u32, n: u32): u64 {
  return call(p, n, "aligned", (a: Args): Value => {
    const t = a.tensor(0);
    return Value.bool(t.byteLength > 0 && t.buffer.byteLength > t.byteLength);
  });
}

/**
 * abort_oob(i) indexes past the end of an array: AssemblyScript aborts, and the call traps.
 */
export function mrun_fn_abort_oob(p: u32, n: u32): u64 {
  return call1<i32, i64>(p, n, "abort_oob", (i: i32): i64 => {
    const xs: i64[] = [1, 2, 3];
    return xs[i];
  });
}

/**
 * error_message() is the text of an Err, to check toString.
 */
export function mrun_fn_error_message(p: u32, n: u32): u64 {
  return call0<string>(p, n, "error_message", (): string => new Err("fetch", -3, 7, "not yet").toString());
}

/**
 * table_total(t) is the sum of the float64 column "amount" of a table, read in place.
 */
export function mrun_fn_table_total(p: u32, n: u32): u64 {
  return call1<Table, f64>(p, n, "table_total", tableTotal);
}

function tableTotal(t: Table): f64 {
  const c = t.column("amount");
  if (c === null || c.type != ColType.Float64) {
    fail("table_total: want a float64 column amount, got a " + t.toString());
    return 0;
  }
  const x = c.f64();
  let s: f64 = 0;
  for (let i = 0; i < x.length; i++) s += unchecked(x[i]);
  return s;
}

/**
 * table_total_after(x, t) is table_total(t), with another argument first (for
 * BenchmarkTableTotal: it moves the table in the frame).
 */
export function mrun_fn_table_total_after(p: u32, n: u32): u64 {
  return call2<string, Table, f64>(p, n, "table_total_after", (x: string, t: Table): f64 => tableTotal(t));
}

/**
 * table_stats(t) reads every column of a table through the view of its type and returns
 * {"rows": n, "columns": [[name, type, summary], ...]}: an int64 column's sum, a float64
 * column's [sum of the non-NaN values, number of NaNs], a bool column's count of true, a string
 * column's values and their UTF-8 lengths, a timestamp column's [first, last].
 * @returns {map[str, any]}
 */
export function mrun_fn_table_stats(p: u32, n: u32): u64 {
  return call1<Table, Value>(p, n, "table_stats", tableStats);
}

function tableStats(t: Table): Value {
  const cols: Value[] = [];
  for (let i = 0; i < t.ncols; i++) {
    const c = t.at(i);
    let summary = Value.nil();
    switch (c.type) {
      case ColType.Int64: {
        const x = c.i64();
        let s: i64 = 0;
        for (let k = 0; k < x.length; k++) s += x[k];
        summary = Value.int(s);
        break;
      }
      case ColType.Float64: {
        const x = c.f64();
        let s: f64 = 0, nans: i64 = 0;
        for (let k = 0; k < x.length; k++) {
          if (isNaN(x[k])) nans++;
          else s += x[k];
        }
        summary = Value.list([Value.float(s), Value.int(nans)]);
        break;
      }
      case ColType.Bool: {
        const x = c.bools();
        let s: i64 = 0;
        for (let k = 0; k < x.length; k++) s += x[k];
        summary = Value.int(s);
        break;
      }
      case ColType.String: {
        const vals: Value[] = [], lens: Value[] = [];
        for (let k = 0; k < c.length; k++) {
          vals.push(Value.str(c.str(k)));
          lens.push(Value.int(c.utf8(k).length));
        }
        summary = Value.list([Value.list(vals), Value.list(lens)]);
        break;
      }
      case ColType.Timestamp: {
        const x = c.timestamps();
        summary = x.length > 0 ? Value.list([Value.int(x[0]), Value.int(x[x.length - 1])]) : Value.list([]);
        break;
      }
    }
    cols.push(Value.list([Value.str(c.name), Value.str(c.typeName()), summary]));
  }
  return Value.newMap().set("rows", Value.int(t.rows)).set("columns", Value.list(cols));
}

/**
 * table_echo(t) returns its table argument: the columns are views of the argument frame,
 * written back in one copy each.
 */
export function mrun_fn_table_echo(p: u32, n: u32): u64 {
  return call1<Table, Table>(p, n, "table_echo", (t: Table): Table => t);
}

/**
 * table_build(rows) makes a table of that many rows with a column of every type, from scratch: i = 0..rows-1,
 * f = i / 2, b = i is odd, s = "é" repeated i times, ts = i seconds after the epoch.
 */
export function mrun_fn_table_build(p: u32, n: u32): u64 {
  return call1<i32, Table>(p, n, "table_build", (rows: i32): Table => {
    const i = new Int64Array(rows), f = new Float64Array(rows), ts = new Int64Array(rows);
    const b = new Array<bool>(rows), s = new Array<string>(rows);
    for (let k = 0; k < rows; k++) {
      i[k] = k;
      f[k] = <f64>k / 2;
      b[k] = (k & 1) == 1;
      s[k] = "é".repeat(k);
      ts[k] = <i64>k * 1000000000;
    }
    return new Table([Column.int64("i", i), Column.float64("f", f), Column.bool("b", b), Column.string("s", s), Column.timestamp("ts", ts)]);
  });
}

/**
 * table_bad() returns a table whose columns have different lengths: the encoding fails.
 */
export function mrun_fn_table_bad(p: u32, n: u32): u64 {
  return call0<Table>(p, n, "table_bad", (): Table => {
    const a = new Int64Array(2);
    return new Table([Column.int64("a", a), Column.float64("b", new Float64Array(1))]);
  });
}

/**
 * table_column(t, name) is the values of column `name` as a list, or fails naming it.
 * @returns {list}
 */
export function mrun_fn_table_column(p: u32, n: u32): u64 {
  return call2<Table, string, Value>(p, n, "table_column", (t: Table, name: string): Value => {
    const c = t.column(name);
    if (c === null) return fail("table_column: no column \"" + name + "\" in the " + t.toString());
    const out: Value[] = [];
    for (let k = 0; k < c.length; k++) {
      switch (c.type) {
        case ColType.Int64: out.push(Value.int(c.i64()[k])); break;
        case ColType.Float64: out.push(Value.float(c.f64()[k])); break;
        case ColType.Bool: out.push(Value.bool(c.bools()[k] != 0)); break;
        case ColType.String: out.push(Value.str(c.str(k))); break;
        default: out.push(Value.int(c.timestamps()[k]));
      }
    }
    return Value.list(out);
  });
}

/**
 * table_groupby(t) is the sum and mean of column v by column k, evaluated by a nested spawn of
 * eval of the native module mrun:table, in chunks of 2 rows.
 */
export function mrun_fn_table_groupby(p: u32, n: u32): u64 {
  return call1<Table, Table | null>(p, n, "table_groupby", (t: Table): Table | null => {
    const e = tableOf(t, 2).groupby(["k"], [["v", "sum"], ["v", "mean", "avg"]]).sort(["k"], [true]);
    const r = e.table();
    const err = e.err;
    if (err !== null) failWith(err, "table_groupby: " + err.message);
    return r;
  });
}

/**
 * table_csv(csv) reads a CSV through mrun:table, keeps the rows with x > 1, adds y = x * 2 and
 * returns the first 3 rows.
 */
export function mrun_fn_table_csv(p: u32, n: u32): u64 {
  return call1<string, Table | null>(p, n, "table_csv", (csv: string): Table | null => {
    const e = readCSV(csv).filter("x > 1").assign("y", "x * 2").select(["y", "x"]).head(3);
    const r = e.table();
    const err = e.err;
    if (err !== null) failWith(err, "table_csv: " + err.message);
    return r;
  });
}

/**
 * mt_exprs() is the expression maps of the tensor builder, operator by operator, for
 * comparison with the host's builder (tensor/expr).
 * @returns {list[map[str, any]]}
 */
export function mrun_fn_mt_exprs(p: u32, n: u32): u64 {
  return call0<Value>(p, n, "mt_exprs", mtExprs);
}

function mtExprs(): Value {
  const data = new Float64Array(2);
  data[0] = 1;
  data[1] = 2;
  const m = Tensor.fromF64([2], data);
  const x = arange(0, 12, 1).reshape([3, 4]);
  const es: Expr[] = [
    rand(1, [10, 10]).sum(),
    rand(2, [6, 4]).withChunks([3, -1]).mul(ones([6, 4])).add(2.5).sub(1).div(2).pow(2.0).neg().abs().sqrt().exp().log(),
    concatenate(0, [x.eq(1), x.ne(1), x.lt(1), x.le(1), x.gt(1), x.ge(true)]),
    where(x.gt(5), x, 0).std([0], 1).keepdims(),
    concatenate(0, [x.mean([1]), x.var(null, 0), x.min([0]), x.max(), x.argmin(), x.argmax([1])]),
    x.T().transpose([1, 0]).slice([[NONE, NONE, -1], [1, NONE, NONE]]).rechunk([2, 2]).matmul(zeros([3, 3])),
    concatenate(0, [full(7, DType.Int32, [2]), zeros([2]).astype(DType.Float32), linspace(0, 1, 2), fromTensor(m).add(m)]),
  ];
  const out: Value[] = [];
  for (let i = 0; i < es.length; i++) out.push(es[i].value);
  return Value.list(out);
}

/**
 * mt_eval(which) evaluates one of a few expressions on mrun:tensor: 0 the matrix product of
 * arange(0, 6) as 2×3 and its transpose (a tensor), 1 the std of linspace(0, 1, 5) (a number),
 * 2 a bad reshape (the planner's error), 3 a sum read as a tensor (the SDK's error).
 */
export function mrun_fn_mt_eval(p: u32, n: u32): u64 {
  return call1<i32, Value>(p, n, "mt_eval", (which: i32): Value => {
    const a = arange(0, 6).reshape([2, 3]).astype(DType.Float64);
    let e: Expr;
    switch (which) {
      case 0: e = a.matmul(a.T()); break;
      case 1: e = linspace(0, 1, 5).std(); break;
      case 2: e = rand(1, [10, 10]).withChunks([5, 5]).reshape([100]); break;
      default: e = ones([3]).sum();
    }
    if (which == 1) {
      const v = e.float64();
      const err = e.err;
      if (err !== null) return failWith(err, "mt_eval: " + err.message);
      return Value.float(v);
    }
    const t = e.tensor();
    const err = e.err;
    if (err !== null) return failWith(err, "mt_eval: " + err.message);
    return Value.tensor(t!);
  });
}

/**
 * table_buffer(t) is the size of the buffer that holds the first column: the argument buffer
 * when the table was read in place, a copy of the table's payload otherwise.
 */
export function mrun_fn_table_buffer(p: u32, n: u32): u64 {
  return call1<Table, i32>(p, n, "table_buffer", (t: Table): i32 => t.ncols > 0 ? t.at(0).buffer.byteLength : -1);
}
