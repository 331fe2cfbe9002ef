//! extras.zig exercises the parts of the Zig SDK that the conformance contract does not:
//! Objects passed by reference, spawns with keyword arguments, errors of nested calls caught or
//! passed on, struct and optional parameters. guests/zig/sdk_test.go calls it; build.sh makes
//! it testdata/zig/extras.wasm. It also holds the examples of tensors (mrun.mt, evaluated by
//! mrun:tensor) and tables (mrun.Table) that the README quotes.

const std = @import("std");
const mrun = @import("mrun");

fn add(a: i64, b: i64) !i64 {
    return std.math.add(i64, a, b);
}
export fn mrun_fn_add(p: u32, n: u32) u64 {
    return mrun.call(add, p, n);
}
comptime {
    mrun.signature(add, "add", .{ "a", "b" }, "Returns a + b.");
}

fn fail(msg: []const u8) !void {
    return mrun.fail("{s}", .{msg});
}
export fn mrun_fn_fail(p: u32, n: u32) u64 {
    return mrun.call(fail, p, n);
}
comptime {
    mrun.signature(fail, "fail", .{"msg"}, "Fails with msg, verbatim.");
}

// forward receives an Object by reference and spawns add(obj, i) for i in 0..n-1 with it as a
// dependency: [obj, obj+1, ...], without fetching obj itself.
fn forward(obj: mrun.Object, n: u32) ![]i64 {
    const kids = try mrun.allocator().alloc(mrun.Object, n);
    for (kids, 0..) |*kid, i| kid.* = try mrun.spawn("add", .{ obj, i });
    try mrun.execute(kids);
    const out = try mrun.allocator().alloc(i64, n);
    for (kids, out) |kid, *o| o.* = try kid.fetch(i64);
    return out;
}
export fn mrun_fn_forward(p: u32, n: u32) u64 {
    return mrun.call(forward, p, n);
}
comptime {
    mrun.signature(forward, "forward", .{ "obj", "n" }, "Returns [obj + 0, ..., obj + n - 1] from n spawns of add with obj as a dependency.");
}

// by_ref spawns add(x, 0) and hands it to forward by reference: [x, x+1, x+2].
fn by_ref(x: i64) ![]const i64 {
    const base = try mrun.spawn("add", .{ x, 0 });
    const fw = try mrun.spawn("forward", .{ mrun.byRef(base), 3 });
    try fw.execute();
    return fw.fetch([]const i64);
}
export fn mrun_fn_by_ref(p: u32, n: u32) u64 {
    return mrun.call(by_ref, p, n);
}
comptime {
    mrun.signature(by_ref, "by_ref", .{"x"}, "Returns [x, x + 1, x + 2] through forward, given add(x, 0) by reference.");
}

const Options = struct { greeting: []const u8 = "hello", times: u8 = 1 };

fn greet(name: []const u8, opts: Options) ![]const u8 {
    var out = std.ArrayList(u8).init(mrun.allocator());
    for (0..opts.times) |_| try out.writer().print("{s}, {s}!", .{ opts.greeting, name });
    return out.items;
}
export fn mrun_fn_greet(p: u32, n: u32) u64 {
    return mrun.callKw(greet, p, n);
}
comptime {
    mrun.signatureWith(greet, "greet", .{"name"}, "Returns \"greeting, name!\" times times.", .{ .kw = true });
}

// spawn_kw spawns greet with keyword arguments.
fn spawn_kw(name: []const u8) ![]const u8 {
    const g = try mrun.spawnWith("greet", .{name}, .{ .greeting = "hey", .times = 2 }, .{});
    try g.execute();
    return g.fetch([]const u8);
}
export fn mrun_fn_spawn_kw(p: u32, n: u32) u64 {
    return mrun.call(spawn_kw, p, n);
}
comptime {
    mrun.signature(spawn_kw, "spawn_kw", .{"name"}, "Returns greet(name, greeting=\"hey\", times=2) through a spawn.");
}

// catch_fail returns the child's error text instead of failing.
fn catch_fail(msg: []const u8) ![]const u8 {
    const child = try mrun.spawn("fail", .{msg});
    child.execute() catch |err| switch (err) {
        error.TaskFailed => return mrun.lastError(),
        else => return err,
    };
    return mrun.fail("catch_fail: the child did not fail", .{});
}
export fn mrun_fn_catch_fail(p: u32, n: u32) u64 {
    return mrun.call(catch_fail, p, n);
}
comptime {
    mrun.signature(catch_fail, "catch_fail", .{"msg"}, "Returns the error text of a child fail(msg).");
}

// pass_on lets the child's failure through with try: the SDK fails the call with fail_with.
fn pass_on(msg: []const u8) !i64 {
    const child = try mrun.spawn("fail", .{msg});
    try child.execute();
    return 0;
}
export fn mrun_fn_pass_on(p: u32, n: u32) u64 {
    return mrun.call(pass_on, p, n);
}
comptime {
    mrun.signature(pass_on, "pass_on", .{"msg"}, "Fails with the error of a child fail(msg) as the cause.");
}

// bogus fetches a handle that was never issued and returns the host's message.
fn bogus(h: u32) ![]const u8 {
    _ = (mrun.Object{ .handle = h }).fetch(mrun.Value) catch |err| switch (err) {
        error.Invalid => return mrun.lastError(),
        else => return err,
    };
    return mrun.fail("bogus: handle {d} has a value", .{h});
}
export fn mrun_fn_bogus(p: u32, n: u32) u64 {
    return mrun.call(bogus, p, n);
}
comptime {
    mrun.signature(bogus, "bogus", .{"h"}, "Returns the host's message for fetching handle h, never issued.");
}

// unknown spawns a function the module does not have, and passes the error on.
fn unknown() !void {
    _ = try mrun.spawn("no_such_function", .{});
}
export fn mrun_fn_unknown(p: u32, n: u32) u64 {
    return mrun.call(unknown, p, n);
}
comptime {
    mrun.signature(unknown, "unknown", .{}, "Fails: spawns a function the module does not have.");
}

const Point = struct { x: f64, y: f64 = 0, label: ?[]const u8 = null };

// norm1 takes a struct (a map with str keys) and an optional trailing argument.
fn norm1(p: Point, scale: ?f64) struct { f64, ?[]const u8 } {
    return .{ (@fabs(p.x) + @fabs(p.y)) * (scale orelse 1), p.label };
}
export fn mrun_fn_norm1(p: u32, n: u32) u64 {
    return mrun.call(norm1, p, n);
}
// norm1 has no signature: its trailing optional parameter may be left out, which a signature
// cannot say (mrun.signature refuses it), so the guest checks its calls itself.

const Color = enum { red, green };

// flip takes and returns an enum, as the str of its tag.
fn flip(c: Color) Color {
    return if (c == .red) .green else .red;
}
export fn mrun_fn_flip(p: u32, n: u32) u64 {
    return mrun.call(flip, p, n);
}
comptime {
    mrun.signature(flip, "flip", .{"c"}, "Returns the other color: red for green, green for red.");
}

// leak tries to return an Object: a result cannot hold one.
fn leak() !mrun.Object {
    return mrun.spawn("add", .{ 1, 2 });
}
export fn mrun_fn_leak(p: u32, n: u32) u64 {
    return mrun.call(leak, p, n);
}
comptime {
    mrun.signature(leak, "leak", .{}, "Fails: returns an Object, which a result cannot hold.");
}

// ones returns an int32 tensor of the given shape, all ones.
fn ones(shape: []const u64) !mrun.Tensor(i32) {
    var count: usize = 1;
    for (shape) |s| count = try std.math.mul(usize, count, std.math.cast(usize, s) orelse return error.Overflow);
    const data = try mrun.allocator().alloc(i32, count);
    @memset(data, 1);
    return .{ .shape = shape, .data = data };
}
export fn mrun_fn_ones(p: u32, n: u32) u64 {
    return mrun.call(ones, p, n);
}
comptime {
    mrun.signature(ones, "ones", .{"shape"}, "Returns an int32 tensor of the given shape, all ones.");
}

// iota returns [0, 1, ..., n-1].
fn iota(n: u32) ![]u32 {
    const out = try mrun.allocator().alloc(u32, n);
    for (out, 0..) |*x, i| x.* = @intCast(i);
    return out;
}
export fn mrun_fn_iota(p: u32, n: u32) u64 {
    return mrun.call(iota, p, n);
}
comptime {
    mrun.signature(iota, "iota", .{"n"}, "Returns [0, 1, ..., n - 1].");
}

// big_fetch fetches values larger than the SDK's first fetch buffer: iota(n) as a slice (kept in
// the arena) and iota(2000) as an array (decoded from the fetch buffer). It returns both sums.
fn big_fetch(n: u32) ![2]u64 {
    const a = try mrun.spawn("iota", .{n});
    const b = try mrun.spawn("iota", .{2000});
    try mrun.execute(&.{ a, b });
    var sums = [2]u64{ 0, 0 };
    for (try a.fetch([]const u32)) |x| sums[0] += x;
    for (try b.fetch([2000]u32)) |x| sums[1] += x;
    return sums;
}
export fn mrun_fn_big_fetch(p: u32, n: u32) u64 {
    return mrun.call(big_fetch, p, n);
}
comptime {
    mrun.signature(big_fetch, "big_fetch", .{"n"}, "Returns the sums of iota(n) and iota(2000), fetched from spawns.");
}

// wrong_type fetches an int as a string: the error says which handle and why.
fn wrong_type() ![]const u8 {
    const a = try mrun.spawn("add", .{ 1, 2 });
    try a.execute();
    _ = a.fetch([]const u8) catch |err| switch (err) {
        error.BadValue => return mrun.lastError(),
        else => return err,
    };
    return mrun.fail("wrong_type: the fetch succeeded", .{});
}
export fn mrun_fn_wrong_type(p: u32, n: u32) u64 {
    return mrun.call(wrong_type, p, n);
}
comptime {
    mrun.signature(wrong_type, "wrong_type", .{}, "Returns the host's message for fetching an int as a str.");
}

// ---------------------------------------------------------------------------------------------
// Tensors: mrun.mt builds an expression of mrun:tensor and evaluates it with a nested spawn.

// driver2_tensor is driver2 on the tensor planner: Mars's mt.random.rand(10, 10).sum() as one
// expression, evaluated by spawning eval of the native module mrun:tensor. Its rand is a
// function of the seed, the one argument.
fn driver2_tensor(seed: i64) !f64 {
    return mrun.mt.rand(seed, &.{ 10, 10 }).sum(null).float64();
}
export fn mrun_fn_driver2_tensor(p: u32, n: u32) u64 {
    return mrun.call(driver2_tensor, p, n);
}
comptime {
    mrun.signature(driver2_tensor, "driver2_tensor", .{"seed"}, "Sums rand(seed, 10, 10) evaluated by the tensor planner mrun:tensor.");
}

// tensor_matmul is rand(seed, n, n) @ ones(n, n) + 1, a tensor result, read into a Tensor(f64).
fn tensor_matmul(seed: i64, n: i64) !mrun.Tensor(f64) {
    const mt = mrun.mt;
    return mt.rand(seed, &.{ n, n }).matMul(mt.ones(&.{ n, n })).add(1).tensor(f64);
}
export fn mrun_fn_tensor_matmul(p: u32, n: u32) u64 {
    return mrun.call(tensor_matmul, p, n);
}
comptime {
    mrun.signature(tensor_matmul, "tensor_matmul", .{ "seed", "n" }, "Returns rand(seed, n, n) @ ones(n, n) + 1, evaluated by mrun:tensor.");
}

// tensor_error evaluates an expression the planner refuses (100 elements into 7): the child's
// error comes back as error.TaskFailed, and try passes it on with fail_with.
fn tensor_error() !f64 {
    return mrun.mt.ones(&.{ 10, 10 }).reshape(&.{7}).sum(null).float64();
}
export fn mrun_fn_tensor_error(p: u32, n: u32) u64 {
    return mrun.call(tensor_error, p, n);
}
comptime {
    mrun.signature(tensor_error, "tensor_error", .{}, "Fails: reshapes 100 elements into 7 with mrun:tensor.");
}

// tensor_exprs returns expressions that use every builder, unevaluated, for sdk_test.go to
// compare with the ones the host's tensor/expr builds; m is a float64 tensor to wrap.
fn tensor_exprs(m: mrun.Tensor(f64)) [7]mrun.mt.Expr {
    const mt = mrun.mt;
    const x = mt.arange(0, 12, 1).reshape(&.{ 3, 4 });
    return .{
        mt.rand(1, &.{ 10, 10 }).sum(null),
        mt.rand(2, &.{ 6, 4 }).withChunks(&.{ 3, -1 }).mul(mt.ones(&.{ 6, 4 })).add(2.5).sub(1).div(@as(i32, 2))
            .pow(@as(f32, 2)).neg().abs().sqrt().exp().log(),
        mt.concatenate(0, &.{ x.eq(1), x.ne(1), x.lt(1), x.le(1), x.gt(1), x.ge(true) }),
        mt.where(x.gt(5), x, 0).stddev(&.{0}, 1).keepDims(),
        mt.concatenate(0, &.{ x.mean(&.{1}), x.variance(null, 0), x.min(&.{0}), x.max(null), x.argMin(null), x.argMax(&.{1}) }),
        x.t().transpose(&.{ 1, 0 }).slice(&.{ .{ null, null, -1 }, .{ 1, null, null } }).rechunk(&.{ 2, 2 }).matMul(mt.zeros(&.{ 3, 3 })),
        mt.concatenate(0, &.{ mt.full(7, .int32, &.{2}), mt.zeros(&.{2}).asType(.float32), mt.linspace(0, 1, 2), mt.fromTensor(m).add(m) }),
    };
}
export fn mrun_fn_tensor_exprs(p: u32, n: u32) u64 {
    return mrun.call(tensor_exprs, p, n);
}
comptime {
    mrun.signature(tensor_exprs, "tensor_exprs", .{"m"}, "Returns one tensor expression per builder, unevaluated.");
}

// ---------------------------------------------------------------------------------------------
// Tables: a Table parameter is read in place; a Table result is written in its one encoding.

const Stats = struct {
    rows: usize,
    names: []const []const u8,
    types: []const []const u8,
    int_sum: i64 = 0, // of the int64 columns, wrapping
    float_sum: f64 = 0, // of the float64 columns, NaN skipped as pandas does
    nans: usize = 0,
    trues: usize = 0,
    strings: usize = 0, // values of the string columns
    empty: usize = 0, // of them, empty
    chars: usize = 0, // code points of the string columns
    latest: ?i64 = null, // the latest timestamp, in nanoseconds
};

// table_stats reads every column of t by its type and returns what it found.
fn table_stats(t: mrun.Table) !Stats {
    const a = mrun.allocator();
    const names = try a.alloc([]const u8, t.columns.len);
    const types = try a.alloc([]const u8, t.columns.len);
    var s = Stats{ .rows = t.rows, .names = names, .types = types };
    for (t.columns, names, types) |c, *name, *ty| {
        name.* = c.name;
        ty.* = @tagName(c.columnType());
        switch (c.values) {
            .int64 => |xs| for (xs) |x| {
                s.int_sum +%= x;
            },
            .float64 => |xs| for (xs) |x| {
                if (std.math.isNan(x)) s.nans += 1 else s.float_sum += x;
            },
            .bool => |xs| for (xs) |x| {
                s.trues += @intFromBool(x);
            },
            .string => |xs| for (0..xs.len()) |i| {
                const v = xs.at(i);
                s.strings += 1;
                s.empty += @intFromBool(v.len == 0);
                s.chars += try std.unicode.utf8CountCodepoints(v);
            },
            .timestamp => |xs| for (xs) |x| {
                s.latest = @max(x, s.latest orelse x);
            },
        }
    }
    return s;
}
export fn mrun_fn_table_stats(p: u32, n: u32) u64 {
    return mrun.call(table_stats, p, n);
}
comptime {
    mrun.signature(table_stats, "table_stats", .{"t"}, "Returns the rows, column names and types, and per-type sums of t.");
}

// table_echo returns its argument: the columns it read in place, written again.
fn table_echo(t: mrun.Table) mrun.Table {
    return t;
}
export fn mrun_fn_table_echo(p: u32, n: u32) u64 {
    return mrun.call(table_echo, p, n);
}
comptime {
    mrun.signature(table_echo, "table_echo", .{"t"}, "Returns t.");
}

// table_select returns the named columns of t, in that order, with a float64 column "total"
// of the float64 columns' sums per row appended: a table built in the function.
fn table_select(t: mrun.Table, names: []const []const u8) !mrun.Table {
    const a = mrun.allocator();
    const cols = try a.alloc(mrun.Column, names.len + 1);
    for (names, cols[0..names.len]) |name, *c| {
        c.* = t.column(name) orelse return mrun.fail("table_select: no column \"{s}\"", .{name});
    }
    const total = try a.alloc(f64, t.rows);
    @memset(total, 0);
    for (t.columns) |c| {
        if (c.as(.float64)) |xs| {
            for (total, xs) |*s, x| s.* += x;
        }
    }
    cols[names.len] = mrun.Column.float64s("total", total);
    return mrun.Table.init(cols);
}
export fn mrun_fn_table_select(p: u32, n: u32) u64 {
    return mrun.call(table_select, p, n);
}
comptime {
    mrun.signature(table_select, "table_select", .{ "t", "names" }, "Returns the named columns of t and a column total of its float64 columns per row.");
}

// table_groupby sums and counts column `value` of t per distinct `key`, with the table
// planner: an expression of mrun:table is any struct, written as a map, and eval returns a
// table. chunk_rows = 2 cuts t into chunks of two rows, one task each.
fn table_groupby(t: mrun.Table, key: []const u8, value: []const u8) !mrun.Table {
    const expr = .{
        .op = "groupby",
        .keys = .{key},
        .aggs = .{ .{ value, "sum" }, .{ value, "count", "n" } },
        .x = .{ .op = "table", .value = t, .chunk_rows = 2 },
    };
    const g = try mrun.spawnWith("eval", .{expr}, .{}, .{ .module = "mrun:table" });
    try g.execute();
    return g.fetch(mrun.Table);
}
export fn mrun_fn_table_groupby(p: u32, n: u32) u64 {
    return mrun.call(table_groupby, p, n);
}
comptime {
    mrun.signature(table_groupby, "table_groupby", .{ "t", "key", "value" }, "Sums and counts column value of t per distinct key, with mrun:table.");
}
