// The extras module: the parts of the SDK that the conformance contract does not use, for
// sdk_test.go. Built by guests/assemblyscript/build.sh into testdata/assemblyscript/extras.wasm.

import {
  Args, Value, Tensor, DType, Obj, Task, Tuple,
  call, call0, call1, call2, call3, spawn, fail, failWith, Err, INVALID,
} from "./mrun";

export { mrun_abi_v1, mrun_alloc } from "./mrun";

// inc(x) is x + 1.
export function mrun_fn_inc(p: u32, n: u32): u64 {
  return call1<i64, i64>(p, n, "inc", (x: i64): i64 => x + 1);
}

// total(xs) is the sum of a list of ints.
export function mrun_fn_total(p: u32, n: u32): u64 {
  return call1<i64[], i64>(p, n, "total", (xs: i64[]): i64 => {
    let s: i64 = 0;
    for (let i = 0; i < xs.length; i++) s += xs[i];
    return s;
  });
}

// fanout(n) spawns inc(i) for i in 0..n-1 and total over the list of them (each a dependency),
// executes only the total and returns it: fanout(100) is 5050.
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

// fetch_ref(o) fetches an Object it received by reference and returns its value.
export function mrun_fn_fetch_ref(p: u32, n: u32): u64 {
  return call1<Obj, Value>(p, n, "fetch_ref", (o: Obj): Value => {
    const v = o.fetch();
    const e = o.err;
    if (e !== null) return fail("fetch_ref: " + e.message);
    return v;
  });
}

// forward(x) spawns inc(x) and passes it by reference to fetch_ref, which fetches it.
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

// catch(msg) spawns fail(msg), catches its error and returns [code, message].
export function mrun_fn_catch(p: u32, n: u32): u64 {
  return call1<string, Value>(p, n, "catch", (msg: string): Value => {
    const child = spawn("fail", [Value.str(msg)]);
    const e = child.execute();
    if (e === null) return fail("catch: the child did not fail");
    return Value.list([Value.int(e.code), Value.int(e.handle), Value.str(e.message)]);
  });
}

// fail(msg) fails with msg.
export function mrun_fn_fail(p: u32, n: u32): u64 {
  return call1<string, Value>(p, n, "fail", (msg: string): Value => fail(msg));
}

// spawn_unknown() spawns a function the module lacks and returns [code, message] of the
// error that comes out of execute.
export function mrun_fn_spawn_unknown(p: u32, n: u32): u64 {
  return call0<Value>(p, n, "spawn_unknown", (): Value => {
    const o = spawn("nope", []);
    const e = o.execute();
    if (e === null) return fail("spawn_unknown: the spawn succeeded");
    return Value.list([Value.str(e.op), Value.bool(e.code == INVALID), Value.str(e.message)]);
  });
}

// kw_task(name) spawns greet(name, greeting="hey") through a Task with keyword arguments.
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

// greet(name, greeting="hello") is greeting + ", " + name.
export function mrun_fn_greet(p: u32, n: u32): u64 {
  return call(p, n, "greet", (a: Args): Value =>
    Value.str(a.kwStr("greeting", "hello") + ", " + a.str(0)));
}

// kw_types(i=1, f=0.5, b=false, v=nil) returns [i, f, b, v].
export function mrun_fn_kw_types(p: u32, n: u32): u64 {
  return call(p, n, "kw_types", (a: Args): Value => Value.list([
    Value.int(a.kwI64("i", 1)), Value.float(a.kwF64("f", 0.5)),
    Value.bool(a.kwBool("b", false)), a.kwValue("v", Value.nil()),
  ]));
}

// variadic(...xs) returns the number of positional arguments and the keyword names.
export function mrun_fn_variadic(p: u32, n: u32): u64 {
  return call(p, n, "variadic", (a: Args): Value => {
    const names: Value[] = [];
    for (let i = 0; i < a.kwLength; i++) names.push(Value.str(a.kwName(i)));
    a.ignoreRest();
    return Value.list([Value.int(a.length), Value.list(names)]);
  });
}

// small(a: u8, b: i16, c: f32) returns [a, b, c], c as a float32.
export function mrun_fn_small(p: u32, n: u32): u64 {
  return call3<u8, i16, f32, Value>(p, n, "small", (a: u8, b: i16, c: f32): Value =>
    Value.list([Value.int(a), Value.int(b), Value.float32(c)]));
}

// describe(t) is [dtype, shape, size] of a tensor of any dtype.
export function mrun_fn_describe(p: u32, n: u32): u64 {
  return call1<Tensor, Value>(p, n, "describe", (t: Tensor): Value => {
    const shape: Value[] = [];
    for (let i = 0; i < t.ndim; i++) shape.push(Value.int(t.dim(i)));
    return Value.list([Value.str(t.dtypeName()), Value.list(shape), Value.int(t.size)]);
  });
}

// scale32(t, k) is the float32 tensor t times k.
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

// aligned(t) tells whether a tensor argument was read in place (its elements are in the
// argument buffer) rather than copied.
export function mrun_fn_aligned(p: u32, n: u32): u64 {
  return call(p, n, "aligned", (a: Args): Value => {
    const t = a.tensor(0);
    return Value.bool(t.byteLength > 0 && t.buffer.byteLength > t.byteLength);
  });
}

// abort_oob() indexes past the end of an array: AssemblyScript aborts, and the call traps.
export function mrun_fn_abort_oob(p: u32, n: u32): u64 {
  return call1<i32, i64>(p, n, "abort_oob", (i: i32): i64 => {
    const xs: i64[] = [1, 2, 3];
    return xs[i];
  });
}

// error_message() is the text of an Err, to check toString.
export function mrun_fn_error_message(p: u32, n: u32): u64 {
  return call0<string>(p, n, "error_message", (): string => new Err("fetch", -3, 7, "not yet").toString());
}
