//! conformance.zig implements every function of guests/CONFORMANCE.md with the Zig SDK.
//! Build it with guests/zig/build.sh; it becomes testdata/zig/conformance.wasm.

const std = @import("std");
const mrun = @import("mrun");

// ---- Values ----------------------------------------------------------------------------------

// A typed function: the SDK decodes x from the frame and encodes the result.
fn inc(x: i64) !i64 {
    return std.math.add(i64, x, 1);
}
export fn mrun_fn_inc(p: u32, n: u32) u64 {
    return mrun.call(inc, p, n);
}
comptime {
    mrun.signature(inc, "inc", .{"x"}, "Returns x + 1.");
}

fn add(a: i64, b: i64) !i64 {
    return std.math.add(i64, a, b);
}
export fn mrun_fn_add(p: u32, n: u32) u64 {
    return mrun.call(add, p, n);
}
comptime {
    mrun.signature(add, "add", .{ "a", "b" }, "Returns a + b.");
}

/// sum_all is an int when every element is an int, otherwise a float added left to right.
fn sum_all(xs: []const mrun.Value) !mrun.Value {
    var int_sum: i128 = 0;
    var float_sum: f64 = 0;
    var all_ints = true;
    for (xs, 0..) |x, i| {
        const f: f64 = switch (x) {
            .int => |v| @floatFromInt(v),
            .uint => |v| @floatFromInt(v),
            .float => |v| v,
            .float32 => |v| v,
            else => return mrun.fail("sum_all: element {d} is a {s}, not a number", .{ i, @tagName(x) }),
        };
        switch (x) {
            .int => |v| int_sum += v,
            .uint => |v| int_sum += v,
            else => all_ints = false,
        }
        float_sum += f;
    }
    if (!all_ints) return .{ .float = float_sum };
    if (std.math.cast(i64, int_sum)) |v| return .{ .int = v };
    if (std.math.cast(u64, int_sum)) |v| return .{ .uint = v };
    return mrun.fail("sum_all: the sum does not fit 64 bits", .{});
}
export fn mrun_fn_sum_all(p: u32, n: u32) u64 {
    return mrun.call(sum_all, p, n);
}
comptime {
    mrun.signature(sum_all, "sum_all", .{"xs"}, "Sums xs like Python's sum(): an int, or a float from the first float on.");
}

/// triage splits xs into the elements below 0.5 and the others; spawn it with n_output = 2.
fn triage(xs: []const f64) !struct { []f64, []f64 } {
    const a = mrun.allocator();
    var low = try std.ArrayList(f64).initCapacity(a, xs.len);
    var high = try std.ArrayList(f64).initCapacity(a, xs.len);
    for (xs) |x| {
        if (x < 0.5) low.appendAssumeCapacity(x) else high.appendAssumeCapacity(x);
    }
    return .{ low.items, high.items };
}
export fn mrun_fn_triage(p: u32, n: u32) u64 {
    return mrun.call(triage, p, n);
}
comptime {
    mrun.signatureWith(triage, "triage", .{"xs"}, "Splits xs into the elements below 0.5 and the others.", .{ .outputs = 2 });
}

fn identity(v: mrun.Value) mrun.Value {
    return v;
}
export fn mrun_fn_identity(p: u32, n: u32) u64 {
    return mrun.call(identity, p, n);
}
comptime {
    mrun.signature(identity, "identity", .{"v"}, "Returns v, byte for byte.");
}

fn concat(a: []const u8, b: []const u8) ![]const u8 {
    return std.mem.concat(mrun.allocator(), u8, &.{ a, b });
}
export fn mrun_fn_concat(p: u32, n: u32) u64 {
    return mrun.call(concat, p, n);
}
comptime {
    mrun.signature(concat, "concat", .{ "a", "b" }, "Returns a + b.");
}

/// rev_bytes reverses b in place: a []u8 parameter points into the argument frame.
fn rev_bytes(b: []u8) mrun.Bytes {
    std.mem.reverse(u8, b);
    return .{ .data = b };
}
export fn mrun_fn_rev_bytes(p: u32, n: u32) u64 {
    return mrun.call(rev_bytes, p, n);
}
comptime {
    mrun.signature(rev_bytes, "rev_bytes", .{"b"}, "Returns the bytes of b in reverse order.");
}

fn ints(i: i64, u: u64) struct { i64, u64 } {
    return .{ i, u };
}
export fn mrun_fn_ints(p: u32, n: u32) u64 {
    return mrun.call(ints, p, n);
}
comptime {
    mrun.signature(ints, "ints", .{ "i", "u" }, "Returns [i, u]; i is an int64, u a uint64.");
}

fn fdiv(a: f64, b: f64) f64 {
    return a / b;
}
export fn mrun_fn_fdiv(p: u32, n: u32) u64 {
    return mrun.call(fdiv, p, n);
}
comptime {
    mrun.signature(fdiv, "fdiv", .{ "a", "b" }, "Returns a / b in IEEE 754: 1/0 is +Inf, 0/0 is NaN.");
}

// Keyword arguments: the last parameter is a struct, one field per keyword, with defaults.
const GreetOptions = struct {
    greeting: []const u8 = "hello",
    punct: []const u8 = "!",
};

fn greet(name: []const u8, opts: GreetOptions) ![]const u8 {
    return std.fmt.allocPrint(mrun.allocator(), "{s}, {s}{s}", .{ opts.greeting, name, opts.punct });
}
export fn mrun_fn_greet(p: u32, n: u32) u64 {
    return mrun.callKw(greet, p, n);
}
comptime {
    mrun.signatureWith(greet, "greet", .{"name"}, "Returns greeting + \", \" + name + punct.", .{ .kw = true });
}

fn nothing() void {}
export fn mrun_fn_nothing(p: u32, n: u32) u64 {
    return mrun.call(nothing, p, n);
}
comptime {
    mrun.signature(nothing, "nothing", .{}, "Returns nil.");
}

// empties returns ["", b"", [], {}]: an empty slice is an empty list, and the empty map is
// spelled as a Value (Zig 0.11 cannot hold a struct without fields in a tuple).
fn empties() struct { []const u8, mrun.Bytes, []const i64, mrun.Value } {
    return .{ "", .{ .data = "" }, &.{}, .{ .map = &.{} } };
}
export fn mrun_fn_empties(p: u32, n: u32) u64 {
    return mrun.call(empties, p, n);
}
comptime {
    mrun.signature(empties, "empties", .{}, "Returns [\"\", b\"\", [], {}].");
}

// Returning an error: mrun.fail records the message and returns error.Failed.
fn fail(msg: []const u8) !void {
    return mrun.fail("{s}", .{msg});
}
export fn mrun_fn_fail(p: u32, n: u32) u64 {
    return mrun.call(fail, p, n);
}
comptime {
    mrun.signature(fail, "fail", .{"msg"}, "Fails with msg, verbatim.");
}

// ---- Nested spawn ----------------------------------------------------------------------------

// driver spawns inc(i) for i in 0..9, executes the ten together and fetches their values.
fn driver() ![10]i64 {
    var kids: [10]mrun.Object = undefined;
    for (&kids, 0..) |*kid, i| kid.* = try mrun.spawn("inc", .{i});
    try mrun.execute(&kids);
    var out: [10]i64 = undefined;
    for (kids, &out) |kid, *o| o.* = try kid.fetch(i64);
    return out;
}
export fn mrun_fn_driver(p: u32, n: u32) u64 {
    return mrun.call(driver, p, n);
}
comptime {
    mrun.signature(driver, "driver", .{}, "Spawns inc(i) for i in 0..9 and returns their values.");
}

fn divmod(a: i64, b: i64) !struct { i64, i64 } {
    if (b == 0) return mrun.fail("divmod: division by zero", .{});
    if (b == -1) return .{ try std.math.negate(a), 0 };
    return .{ @divTrunc(a, b), @rem(a, b) };
}
export fn mrun_fn_divmod(p: u32, n: u32) u64 {
    return mrun.call(divmod, p, n);
}
comptime {
    mrun.signatureWith(divmod, "divmod", .{ "a", "b" }, "Returns a / b and a % b, truncating toward zero.", .{ .outputs = 2 });
}

// nested_split spawns divmod with two outputs and add over both handles (dependencies),
// executes only the add, then fetches all three.
fn nested_split(a: i64, b: i64) ![3]i64 {
    const qr = try mrun.spawnN("divmod", 2, .{ a, b });
    const sum = try mrun.spawn("add", .{ qr[0], qr[1] });
    try sum.execute();
    return .{ try qr[0].fetch(i64), try qr[1].fetch(i64), try sum.fetch(i64) };
}
export fn mrun_fn_nested_split(p: u32, n: u32) u64 {
    return mrun.call(nested_split, p, n);
}
comptime {
    mrun.signature(nested_split, "nested_split", .{ "a", "b" }, "Returns [a / b, a % b, a / b + a % b] through nested spawns.");
}

// parent_fail gives up because its child failed: failWith names the child as the cause.
fn parent_fail(msg: []const u8) !void {
    const child = try mrun.spawn("fail", .{msg});
    child.execute() catch |err| switch (err) {
        error.TaskFailed => return mrun.failWith(child, "parent_fail: {s}", .{mrun.lastError()}),
        else => return err,
    };
}
export fn mrun_fn_parent_fail(p: u32, n: u32) u64 {
    return mrun.call(parent_fail, p, n);
}
comptime {
    mrun.signature(parent_fail, "parent_fail", .{"msg"}, "Spawns fail(msg) and fails with its error as the cause.");
}

// ---- Tensors ---------------------------------------------------------------------------------

// tensor_sum reads the elements in place: t.data is a []const f64 view of the frame. The sums
// stay in row-major order; unrolling by 8 skips the host's interruption check, which wazero
// makes on every iteration of a loop, on 7 elements out of 8 (3 times faster here).
fn tensor_sum(t: mrun.Tensor(f64)) f64 {
    const d = t.data;
    var s: f64 = 0;
    var i: usize = 0;
    while (i + 8 <= d.len) : (i += 8) {
        inline for (d[i..][0..8]) |x| s += x;
    }
    for (d[i..]) |x| s += x;
    return s;
}
export fn mrun_fn_tensor_sum(p: u32, n: u32) u64 {
    return mrun.call(tensor_sum, p, n);
}
comptime {
    mrun.signature(tensor_sum, "tensor_sum", .{"t"}, "Sums the elements in row-major order.");
}

fn matmul(a: mrun.Tensor(f64), b: mrun.Tensor(f64)) !mrun.Tensor(f64) {
    if (a.shape.len != 2 or b.shape.len != 2 or a.shape[1] != b.shape[0])
        return mrun.fail("matmul: shapes {any} and {any} do not fit", .{ a.shape, b.shape });
    const c = try mrun.Tensor(f64).alloc(&.{ a.shape[0], b.shape[1] });
    const out = c.items();
    @memset(out, 0);
    if (out.len == 0) return c;
    // Every size fits a usize now: c holds m·n elements and a holds m·k.
    const n: usize = @intCast(b.shape[1]);
    const k: usize = @intCast(a.shape[1]);
    for (0..out.len / n) |i| {
        for (0..k) |l| {
            const x = a.data[i * k + l];
            for (out[i * n ..][0..n], b.data[l * n ..][0..n]) |*o, y| o.* += x * y;
        }
    }
    return c;
}
export fn mrun_fn_matmul(p: u32, n: u32) u64 {
    return mrun.call(matmul, p, n);
}
comptime {
    mrun.signature(matmul, "matmul", .{ "a", "b" }, "Multiplies an m x k by a k x n matrix.");
}

/// rand_matrix is an r×c tensor of pseudo-random numbers in [0, 1), from a fixed seed.
fn rand_matrix(r: u32, c: u32) !mrun.Tensor(f64) {
    const t = try mrun.Tensor(f64).alloc(&.{ r, c });
    var rng = std.rand.DefaultPrng.init(0x6d72756e);
    for (t.items()) |*x| x.* = rng.random().float(f64);
    return t;
}
export fn mrun_fn_rand_matrix(p: u32, n: u32) u64 {
    return mrun.call(rand_matrix, p, n);
}
comptime {
    mrun.signatureWith(rand_matrix, "rand_matrix", .{ "r", "c" }, "Returns an r x c matrix of uniform numbers in [0, 1).", .{ .impure = true });
}

// driver2 passes the rand_matrix handle to tensor_sum: a dependency, so the sum gets the tensor.
// rand_matrix is spawned impure, as random numbers are.
fn driver2() !f64 {
    const m = try mrun.spawnWith("rand_matrix", .{ 10, 10 }, .{}, .{ .impure = true });
    const s = try mrun.spawn("tensor_sum", .{m});
    try s.execute();
    return s.fetch(f64);
}
export fn mrun_fn_driver2(p: u32, n: u32) u64 {
    return mrun.call(driver2, p, n);
}
comptime {
    mrun.signatureWith(driver2, "driver2", .{}, "Sums a random 10 x 10 matrix made by rand_matrix.", .{ .impure = true });
}
