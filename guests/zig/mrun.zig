//! The mrun guest SDK for Zig.
//!
//! A module built with this file implements the guest ABI of mrun (abi/ABI.md): it exports
//! `mrun_abi_v1` and `mrun_alloc`, decodes MessagePack argument frames into the parameters of
//! ordinary Zig functions, encodes their results, and reports their errors with `set_error`.
//! Each user function is exported in one line:
//!
//!     export fn mrun_fn_inc(p: u32, n: u32) u64 {
//!         return mrun.call(inc, p, n);
//!     }
//!
//! and described, for `mrun inspect` and the host's argument checks, in one more:
//!
//!     comptime {
//!         mrun.signature(inc, "inc", .{"x"}, "Returns x + 1.");
//!     }
//!
//! Everything a call decodes or allocates lives in a per-call arena (`mrun.allocator()`), which
//! is reset, keeping its memory, when the next call starts. The argument buffer, the result
//! buffer and the fetch buffer are kept and reused from call to call.

const std = @import("std");
const builtin = @import("builtin");
const Allocator = std.mem.Allocator;

// ---------------------------------------------------------------------------------------------
// Host imports (ABI.md section 2). An import that no function reaches is left out of the module
// by the compiler, so a module that never spawns imports only set_error.

const host = struct {
    extern "mrun" fn set_error(msg_ptr: [*]const u8, msg_len: u32) void;
    extern "mrun" fn fail_with(handle: u32, msg_ptr: [*]const u8, msg_len: u32) void;
    extern "mrun" fn spawn(mod_ptr: [*]const u8, mod_len: u32, fn_ptr: [*]const u8, fn_len: u32, args_ptr: [*]const u8, args_len: u32, n_output: u32) i32;
    extern "mrun" fn execute(handles_ptr: [*]const u32, count: u32) i32;
    extern "mrun" fn fetch(handle: u32, buf_ptr: [*]u8, buf_cap: u32) i64;
    extern "mrun" fn last_error(buf_ptr: [*]u8, buf_cap: u32) i32;
};

// ---------------------------------------------------------------------------------------------
// Instance state. A wasm instance runs one call at a time, so nothing here is locked.

/// The allocator behind every buffer of the SDK: memory.grow on wasm, pages elsewhere (so the
/// codec can be unit-tested on the host).
const gpa: Allocator = if (builtin.target.isWasm()) std.heap.wasm_allocator else std.heap.page_allocator;

var arena_state = std.heap.ArenaAllocator.init(gpa);
/// The arena keeps at most this much memory from one call to the next.
const arena_keep = 1 << 20;

var args_buf: []align(8) u8 = &.{}; // the argument buffer the host currently holds
var result_buf = std.ArrayList(u8).init(gpa); // the result frame of the running call
var spawn_buf = std.ArrayList(u8).init(gpa); // spawn argument frames
var fetch_buf = std.ArrayList(u8).init(gpa); // fetched values
var message = std.ArrayList(u8).init(gpa); // the error message of the running call
var host_message = std.ArrayList(u8).init(gpa); // the host's text for the last failed import

/// How the running call's recorded message is reported if the function fails with `message_err`.
const MessageKind = enum { none, verbatim, prefixed };
var message_kind: MessageKind = .none;
var message_err: anyerror = error.Failed;
var failed_handle: u32 = 0; // a failed child to name with fail_with, or 0

comptime {
    @export(abiMarker, .{ .name = "mrun_abi_v1" });
    @export(alloc, .{ .name = "mrun_alloc" });
}

fn abiMarker() callconv(.C) void {}

/// mrun_alloc (ABI.md section 1.3): hands the host a new argument buffer of at least `size`
/// bytes and takes the previous one back. Returns 0 when memory is exhausted.
fn alloc(size: u32) callconv(.C) u32 {
    if (args_buf.len > 0 and args_buf.len >= size) return @intCast(@intFromPtr(args_buf.ptr));
    if (args_buf.len > 0) gpa.free(args_buf);
    args_buf = &.{};
    // Round up, so that a frame that grows a little does not cost another crossing.
    const want = @max(@as(usize, size), 256);
    const cap = std.math.ceilPowerOfTwo(usize, want) catch want;
    args_buf = gpa.alignedAlloc(u8, 8, cap) catch return 0;
    return @intCast(@intFromPtr(args_buf.ptr));
}

/// allocator returns the per-call arena: memory from it stays valid until the function returns
/// (results may point into it) and is reused by the next call. Use it for anything a function
/// builds, such as strings and result slices.
pub fn allocator() Allocator {
    return arena_state.allocator();
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Failure is the error set of `fail` and `failWith`: a function that returns their
/// error.Failed fails with the message they recorded.
pub const Failure = error{Failed};

/// NestedError is the error set of spawn, execute and fetch, one error per return code of the
/// host (ABI.md section 2.2), plus the codec's. After any of them, `lastError()` is the host's
/// message (or the SDK's, for OutOfMemory and BadValue); if a function returns the error, the
/// call fails with `"<function>: <message>"`, and with `fail_with` for TaskFailed, so the host's
/// error chain names the child.
pub const NestedError = error{
    /// -1: a bad handle, unknown module or function, malformed frame, or bad n_output.
    Invalid,
    /// -2 (or execute's status 1): the child's task failed; lastError() has its error chain.
    TaskFailed,
    /// -3: the Object has no value yet: execute it first.
    NotExecuted,
    /// -4: the nesting depth or task budget of the execution would be exceeded.
    Limit,
    /// -5: the execution is being cancelled: return as soon as possible.
    Cancelled,
    /// -6: the call was not started by an engine.
    Unsupported,
    /// Memory for a frame or a value could not be allocated.
    OutOfMemory,
    /// A fetched value does not fit the requested type; lastError() says why.
    BadValue,
    /// An argument of a spawn cannot be encoded (an integer beyond 64 bits, a bad tensor).
    BadArgument,
};

/// fail records a message and returns `error.Failed`: a function that returns it fails with
/// exactly that message, as in `return mrun.fail("matmul: {d} columns but {d} rows", .{k, k2});`.
pub fn fail(comptime fmt: []const u8, args: anytype) Failure {
    recordMessage(.verbatim, error.Failed, fmt, args);
    failed_handle = 0;
    return error.Failed;
}

/// failWith is `fail` for a parent giving up because `child` failed: the call fails through the
/// host's fail_with, which records the child's error as the cause of this call's error.
pub fn failWith(child: Object, comptime fmt: []const u8, args: anytype) Failure {
    recordMessage(.verbatim, error.Failed, fmt, args);
    failed_handle = child.handle;
    return error.Failed;
}

/// lastError returns the message of the last failed spawn, execute or fetch of the running
/// call: the host's text verbatim (for a failed child, its whole error chain). It is valid until
/// the next nested operation.
pub fn lastError() []const u8 {
    return host_message.items;
}

fn recordMessage(kind: MessageKind, err: anyerror, comptime fmt: []const u8, args: anytype) void {
    message.clearRetainingCapacity();
    message.writer().print(fmt, args) catch {
        message.clearRetainingCapacity();
        message.appendSlice("out of memory while formatting an error message") catch {};
    };
    message_kind = kind;
    message_err = err;
}

fn setError(msg: []const u8) void {
    host.set_error(msg.ptr, @intCast(@min(msg.len, std.math.maxInt(u32))));
}

/// report fails the running call of function `name` with error `err`.
fn report(name: []const u8, err: anyerror) void {
    const own = message_kind != .none and err == message_err;
    if (own and message_kind == .verbatim) {
        if (failed_handle != 0) {
            host.fail_with(failed_handle, message.items.ptr, @intCast(message.items.len));
        } else setError(message.items);
        return;
    }
    var buf: [256]u8 = undefined;
    var text: []const u8 = undefined;
    var list = std.ArrayList(u8).init(gpa);
    defer list.deinit();
    if (own) {
        list.writer().print("{s}: {s}", .{ name, message.items }) catch {};
        text = if (list.items.len > 0) list.items else name;
    } else {
        text = std.fmt.bufPrint(&buf, "{s}: {s}", .{ name, @errorName(err) }) catch name;
    }
    if (own and err == error.TaskFailed and failed_handle != 0) {
        host.fail_with(failed_handle, text.ptr, @intCast(text.len));
    } else setError(text);
}

fn beginCall() void {
    _ = arena_state.reset(.{ .retain_with_limit = arena_keep });
    result_buf.clearRetainingCapacity();
    message.clearRetainingCapacity();
    host_message.clearRetainingCapacity();
    message_kind = .none;
    failed_handle = 0;
}

// ---------------------------------------------------------------------------------------------
// Calling user functions

/// call runs the Zig function `f` on the argument frame `[args_ptr, args_ptr + args_len)` and
/// returns the packed result (ABI.md section 1.4); it is the whole body of an export:
///
///     export fn mrun_fn_add(p: u32, n: u32) u64 { return mrun.call(add, p, n); }
///
/// The positional arguments are decoded into `f`'s parameters, in order; trailing optional
/// (`?T`) parameters may be left out and are then null. A function called with keyword
/// arguments fails (use `callKw`). The result is encoded with `Writer.write`; a function that
/// returns an error union fails with the message of `fail`, or with `"<name>: <ErrorName>"`.
/// Error messages name the function by its Zig name.
pub fn call(comptime f: anytype, args_ptr: u32, args_len: u32) u64 {
    return invoke(comptime fnName(f), f, false, args_ptr, args_len);
}

/// callKw is `call` for a function whose last parameter is a struct of keyword arguments: each
/// field is one keyword, and a field's default value is the keyword's default; a field without
/// a default is a required keyword. Unknown keywords fail the call.
///
///     const GreetOptions = struct { greeting: []const u8 = "hello" };
///     fn greet(name: []const u8, opts: GreetOptions) ![]const u8 { ... }
///     export fn mrun_fn_greet(p: u32, n: u32) u64 { return mrun.callKw(greet, p, n); }
pub fn callKw(comptime f: anytype, args_ptr: u32, args_len: u32) u64 {
    return invoke(comptime fnName(f), f, true, args_ptr, args_len);
}

/// callNamed is `call` (or `callKw` when `kw` is true) with the name that error messages use
/// given explicitly.
pub fn callNamed(comptime name: []const u8, comptime f: anytype, comptime kw: bool, args_ptr: u32, args_len: u32) u64 {
    return invoke(name, f, kw, args_ptr, args_len);
}

fn NameOf(comptime f: anytype) type {
    _ = f;
    return struct {};
}

/// fnName is the Zig name of function f: Zig 0.11 names a type made from a function value
/// `NameOf((function 'inc'))`.
fn fnName(comptime f: anytype) []const u8 {
    comptime {
        @setEvalBranchQuota(10_000);
        const full = @typeName(NameOf(f));
        const tag = "(function '";
        const start = std.mem.indexOf(u8, full, tag) orelse return "function";
        const rest = full[start + tag.len ..];
        const end = std.mem.indexOfScalar(u8, rest, '\'') orelse return "function";
        return rest[0..end];
    }
}

fn invoke(comptime name: []const u8, comptime f: anytype, comptime kw: bool, args_ptr: u32, args_len: u32) u64 {
    beginCall();
    const F = @TypeOf(f);
    const info = @typeInfo(F).Fn;
    const frame: []const u8 = if (args_len == 0) &.{} else @as([*]const u8, @ptrFromInt(args_ptr))[0..args_len];
    var args: std.meta.ArgsTuple(F) = undefined;
    decodeArgs(F, kw, &args, frame) catch |err| {
        report(name, err);
        return 0;
    };
    const R = info.return_type orelse @compileError("mrun: generic return types are not supported");
    const ret = @call(.auto, f, args);
    const value = switch (@typeInfo(R)) {
        .ErrorUnion => ret catch |err| {
            report(name, err);
            return 0;
        },
        else => ret,
    };
    var w = Writer{ .list = &result_buf, .allow_handles = false };
    w.write(value) catch |err| {
        resultFailure(name, err);
        return 0;
    };
    return (@as(u64, @intFromPtr(result_buf.items.ptr)) << 32) | result_buf.items.len;
}

/// resultFailure fails the running call of function `name` whose result could not be written.
fn resultFailure(name: []const u8, err: Writer.Error) void {
    const why = switch (err) {
        error.OutOfMemory => "out of memory",
        error.IntegerOutOfRange => "an integer does not fit 64 bits",
        error.BadTensor => "a tensor's data does not match its shape",
        error.ObjectInResult => "an Object cannot be returned: return its fetched value",
        error.BadTable => table_problem,
        error.BadExpr => "an mt.Expr ran out of memory while it was built",
    };
    const what = if (err == error.BadTable) "malformed table: " else "";
    recordMessage(.prefixed, err, "cannot encode the result: {s}{s}", .{ what, why });
    report(name, err);
}

fn decodeArgs(comptime F: type, comptime kw: bool, args: *std.meta.ArgsTuple(F), frame: []const u8) DecodeError!void {
    const params = @typeInfo(F).Fn.params;
    const n_pos = if (kw) params.len - 1 else params.len;
    if (kw and (params.len == 0 or @typeInfo(params[params.len - 1].type.?) != .Struct))
        @compileError("mrun.callKw: the last parameter must be a struct of keyword arguments");
    // Trailing optional parameters may be left out.
    comptime var min_pos = n_pos;
    inline while (min_pos > 0 and @typeInfo(params[min_pos - 1].type.?) == .Optional) min_pos -= 1;

    var r = Reader{ .buf = frame };
    var d = Decoder{ .root = .frame };
    const top = r.readArrayLen() catch return d.fail("malformed argument frame", .{});
    if (top != 2) return d.fail("malformed argument frame", .{});
    const given = r.readArrayLen() catch return d.fail("malformed argument frame", .{});
    if (given < min_pos or given > n_pos) {
        if (min_pos == n_pos)
            return d.fail("takes {d} positional argument{s} but {d} {s} given", .{ n_pos, plural(n_pos), given, if (given == 1) "was" else "were" });
        return d.fail("takes {d} to {d} positional arguments but {d} {s} given", .{ min_pos, n_pos, given, if (given == 1) "was" else "were" });
    }
    inline for (0..n_pos) |i| {
        if (i < given) {
            d.root = .{ .arg = i + 1 };
            args[i] = try d.decode(&r, params[i].type.?);
        } else if (comptime @typeInfo(params[i].type.?) == .Optional) {
            args[i] = null;
        } else unreachable;
    }
    d.root = .frame;
    const n_kw = r.readMapLen() catch return d.fail("malformed argument frame", .{});
    if (kw) {
        args[params.len - 1] = try d.decodeKeywords(&r, params[params.len - 1].type.?, n_kw, true);
    } else if (n_kw > 0) {
        const key = r.readStr() catch return d.fail("unexpected keyword arguments", .{});
        return d.fail("unexpected keyword argument \"{s}\"", .{key});
    }
}

fn plural(n: usize) []const u8 {
    return if (n == 1) "" else "s";
}

// ---------------------------------------------------------------------------------------------
// Signatures (ABI.md section 10)

/// SignatureOptions are what `signatureWith` cannot read from a function's types.
pub const SignatureOptions = struct {
    /// kw says the function is exported with `callKw`: its last parameter is the struct of
    /// keyword arguments, described after `*` with the fields' defaults.
    kw: bool = false,
    /// outputs is k when the function is meant to be spawned with `n_output = k` (k >= 2): its
    /// result, a tuple or an array of k elements, is described as the k outputs `(T1, ..., Tk)`.
    outputs: u32 = 1,
    /// impure marks a function whose result depends on more than its arguments (randomness,
    /// the clock): equal calls are not to share a result.
    impure: bool = false,
};

/// signature describes function `f`, exported as `mrun_fn_<name>`, in the module's
/// `mrun.signatures` custom section, from f's own types: `params` are the names of its
/// parameters (a tuple of strings, one per parameter) and `doc` is one line of text.
/// Call it in a `comptime` block beside the export:
///
///     comptime {
///         mrun.signature(inc, "inc", .{"x"}, "Returns x + 1.");
///     }
///
/// A mistake is a compile error that names the function: a count of names that differs from
/// the parameters, a name that is not an identifier, an empty doc or one with a line break.
pub fn signature(comptime f: anytype, comptime name: []const u8, comptime params: anytype, comptime doc: []const u8) void {
    signatureWith(f, name, params, doc, .{});
}

/// signatureWith is `signature` for functions exported with `callKw` (`.kw = true`), meant for
/// several outputs (`.outputs = k`), or impure (`.impure = true`).
pub fn signatureWith(comptime f: anytype, comptime name: []const u8, comptime params: anytype, comptime doc: []const u8, comptime opts: SignatureOptions) void {
    const text = comptime ".section .custom_section.mrun.signatures,\"\",@\n.ascii \"" ++
        asmEscape(signatureLine(f, name, params, doc, opts) ++ "\n") ++ "\"\n.text\n";
    // The line reaches the custom section through top-level assembly, as in the C SDK: the
    // linker makes a custom section of an input section named ".custom_section.<name>",
    // concatenating the lines of every declaration. A container's comptime block is top
    // level, where asm inside this function would not be. Native builds (zig test) only
    // check the line.
    if (builtin.target.isWasm()) {
        _ = struct {
            comptime {
                asm (text);
            }
        };
    }
}

/// signatureLine is the canonical line (ABI.md section 10.2, without its newline) that
/// `signatureWith` writes for f.
fn signatureLine(comptime f: anytype, comptime name: []const u8, comptime params: anytype, comptime doc: []const u8, comptime opts: SignatureOptions) []const u8 {
    comptime {
        @setEvalBranchQuota(100_000);
        const where = "mrun.signature(" ++ name ++ "): ";
        const F = @TypeOf(f);
        if (@typeInfo(F) != .Fn) @compileError(where ++ "the first argument must be a function, not a " ++ @typeName(F));
        const info = @typeInfo(F).Fn;
        if (name.len == 0 or name.len > 128) @compileError(where ++ "a function's name is 1 to 128 bytes");
        if (std.mem.indexOfScalar(u8, name, 0) != null) @compileError(where ++ "a function's name cannot hold a NUL byte");
        if (doc.len == 0) @compileError(where ++ "the doc is empty: describe the function in one line");
        for (doc) |c| {
            if (c < 0x20 and c != '\t' or c == 0x7f) @compileError(where ++ "the doc must be one line, without control characters");
        }
        if (std.mem.trim(u8, doc, " \t").len != doc.len) @compileError(where ++ "the doc starts or ends with a space");

        const n_pos = if (opts.kw) info.params.len -% 1 else info.params.len;
        if (opts.kw and (info.params.len == 0 or info.params[info.params.len - 1].type == null or !isMap(info.params[info.params.len - 1].type.?)))
            @compileError(where ++ ".kw: the last parameter must be a struct of keyword arguments");
        if (params.len != n_pos)
            @compileError(std.fmt.comptimePrint("{s}{d} parameter name{s} given for {d} positional parameter{s}", .{ where, params.len, plural(params.len), n_pos, plural(n_pos) }));

        var out: []const u8 = nameText(name) ++ "(";
        for (0..n_pos) |i| {
            const p: []const u8 = params[i];
            if (!isIdent(p)) @compileError(where ++ "parameter name \"" ++ p ++ "\" is not an identifier (a letter or _, then letters, digits or _)");
            for (0..i) |j| {
                const q: []const u8 = params[j];
                if (std.mem.eql(u8, p, q)) @compileError(where ++ "two parameters are named \"" ++ p ++ "\"");
            }
            const T = info.params[i].type orelse @compileError(where ++ "parameter \"" ++ p ++ "\" has no type (anytype)");
            if (i == n_pos - 1 and @typeInfo(T) == .Optional)
                @compileError(where ++ "parameter \"" ++ p ++ "\" is optional (" ++ @typeName(T) ++ ") and may be left out, which a signature cannot say: leave the function undescribed, or make the parameter required");
            out = out ++ (if (i > 0) ", " else "") ++ p ++ ": " ++ typeText(T, .param);
        }
        if (opts.kw) {
            const K = info.params[info.params.len - 1].type.?;
            const fields = @typeInfo(K).Struct.fields;
            if (fields.len > 0) out = out ++ (if (n_pos > 0) ", *" else "*");
            for (fields) |fld| {
                if (!isIdent(fld.name)) @compileError(where ++ "keyword \"" ++ fld.name ++ "\" is not an identifier");
                for (0..n_pos) |i| {
                    const p: []const u8 = params[i];
                    if (std.mem.eql(u8, p, fld.name)) @compileError(where ++ "a parameter and a keyword are both named \"" ++ p ++ "\"");
                }
                out = out ++ ", " ++ fld.name ++ ": " ++ typeText(fld.type, .param);
                if (fld.default_value) |d| {
                    const v = @as(*const fld.type, @ptrCast(@alignCast(d))).*;
                    out = out ++ " = " ++ jsonLiteral(fld.type, v, where ++ "the default of keyword \"" ++ fld.name ++ "\"");
                }
            }
        }
        out = out ++ ") -> ";

        var R = info.return_type orelse @compileError(where ++ "the result type is generic");
        if (@typeInfo(R) == .ErrorUnion) R = @typeInfo(R).ErrorUnion.payload;
        if (opts.outputs == 0) @compileError(where ++ ".outputs is at least 1");
        if (opts.outputs == 1) {
            out = out ++ typeText(R, .result);
        } else {
            const k = std.fmt.comptimePrint("{d}", .{opts.outputs});
            const bad = where ++ ".outputs = " ++ k ++ ": the result must be a tuple or an array of " ++ k ++ " elements, not " ++ @typeName(R);
            out = out ++ "(";
            switch (@typeInfo(R)) {
                .Struct => |s| {
                    if (!s.is_tuple or s.fields.len != opts.outputs) @compileError(bad);
                    for (s.fields, 0..) |fld, i| out = out ++ (if (i > 0) ", " else "") ++ typeText(fld.type, .result);
                },
                .Array => |a| {
                    if (a.len != opts.outputs) @compileError(bad);
                    for (0..a.len) |i| out = out ++ (if (i > 0) ", " else "") ++ typeText(a.child, .result);
                },
                else => @compileError(bad),
            }
            out = out ++ ")";
        }
        if (opts.impure) out = out ++ "  impure";
        return out ++ "  -- " ++ doc;
    }
}

const TypeUse = enum { param, result };

/// typeText is the signature type of Zig type T as a parameter (what the decoder takes) or as a
/// result (what the writer writes). Types the notation cannot say exactly are `any`: `?T`
/// (nil or a T), `Value`, `Raw`, `Ext` and an `Object` parameter (a value of any type).
fn typeText(comptime T: type, comptime use: TypeUse) []const u8 {
    comptime {
        if (T == Value or T == Raw or T == Ext or T == Object or T == ByRef) return "any";
        if (T == Bytes) return "bytes";
        if (T == Table) return "table";
        if (T == mt.Expr) return "map[str, any]";
        if (isTensor(T)) return "tensor[" ++ dtype_names[T.dtype] ++ "]";
        return switch (@typeInfo(T)) {
            .Void, .Null => "none",
            .Bool => "bool",
            .Int, .ComptimeInt => "int",
            .Float, .ComptimeFloat => "float",
            .Enum, .EnumLiteral => "str",
            .Optional => "any",
            .ErrorUnion => |e| typeText(e.payload, use),
            .Pointer => |p| switch (p.size) {
                .One => typeText(p.child, use),
                // A []u8 parameter is a writable buffer in the frame: bytes. As a result, and
                // []const u8 anywhere, it is text.
                .Slice => if (p.child == u8)
                    (if (use == .param and !p.is_const) "bytes" else "str")
                else
                    listOf(typeText(p.child, use)),
                else => "any",
            },
            .Array => |a| if (a.child == u8 and use == .result) "str" else listOf(typeText(a.child, use)),
            .Struct => |s| blk: {
                var elem: ?[]const u8 = null;
                var same = true;
                for (s.fields) |fld| {
                    const t = typeText(fld.type, use);
                    if (elem) |e| {
                        if (!std.mem.eql(u8, e, t)) same = false;
                    } else elem = t;
                }
                const e = if (same and elem != null) elem.? else "any";
                break :blk if (s.is_tuple) "list[" ++ e ++ "]" else "map[str, " ++ e ++ "]";
            },
            else => "any",
        };
    }
}

/// listOf is a list of elements of type e: `list` alone when they may be anything.
fn listOf(comptime e: []const u8) []const u8 {
    return if (std.mem.eql(u8, e, "any")) "list" else "list[" ++ e ++ "]";
}

fn isMap(comptime T: type) bool {
    return @typeInfo(T) == .Struct and !@typeInfo(T).Struct.is_tuple and T != Bytes and T != Raw and
        T != Ext and T != Table and T != Object and !isTensor(T);
}

fn isIdent(comptime s: []const u8) bool {
    if (s.len == 0 or std.ascii.isDigit(s[0])) return false;
    for (s) |c| {
        if (!std.ascii.isAlphanumeric(c) and c != '_') return false;
    }
    return true;
}

/// nameText writes a function's name as it stands, or as a JSON string when it holds a byte a
/// plain name cannot (ABI.md section 10.2).
fn nameText(comptime name: []const u8) []const u8 {
    comptime {
        var plain = name[0] != '#';
        for (name) |c| {
            if (c <= 0x20 or c == 0x7f or c == '(' or c == ')' or c == '"') plain = false;
        }
        return if (plain) name else jsonString(name);
    }
}

/// jsonLiteral writes value v of type T as compact JSON, or fails the build naming `what`.
fn jsonLiteral(comptime T: type, comptime v: T, comptime what: []const u8) []const u8 {
    comptime {
        if (T == Value) {
            return switch (v) {
                .nil => "null",
                .bool => |b| jsonLiteral(bool, b, what),
                .int => |i| jsonLiteral(i64, i, what),
                .uint => |u| jsonLiteral(u64, u, what),
                .float => |x| jsonLiteral(f64, x, what),
                .float32 => |x| jsonLiteral(f32, x, what),
                .str => |s| jsonString(s),
                else => @compileError(what ++ " cannot be written as JSON: use a default of a plainer type"),
            };
        }
        switch (@typeInfo(T)) {
            .Bool => return if (v) "true" else "false",
            .Int, .ComptimeInt => return std.fmt.comptimePrint("{d}", .{v}),
            .Float, .ComptimeFloat => {
                if (std.math.isNan(v) or std.math.isInf(v)) @compileError(what ++ " is not a finite number, which JSON cannot write");
                return std.fmt.comptimePrint("{d}", .{v});
            },
            .Null => return "null",
            .Optional => return if (v) |x| jsonLiteral(@TypeOf(x), x, what) else "null",
            .Enum => return jsonString(@tagName(v)),
            .Pointer => |p| switch (p.size) {
                .One => return jsonLiteral(p.child, v.*, what),
                .Slice => {
                    if (p.child == u8) return jsonString(v);
                    var out: []const u8 = "[";
                    for (v, 0..) |x, i| out = out ++ (if (i > 0) "," else "") ++ jsonLiteral(p.child, x, what);
                    return out ++ "]";
                },
                else => {},
            },
            .Array => |a| {
                if (a.child == u8) return jsonString(&v);
                var out: []const u8 = "[";
                for (v, 0..) |x, i| out = out ++ (if (i > 0) "," else "") ++ jsonLiteral(a.child, x, what);
                return out ++ "]";
            },
            .Struct => |s| if (isMap(T) or s.is_tuple) {
                var out: []const u8 = if (s.is_tuple) "[" else "{";
                for (s.fields, 0..) |fld, i| {
                    out = out ++ (if (i > 0) "," else "");
                    if (!s.is_tuple) out = out ++ jsonString(fld.name) ++ ":";
                    out = out ++ jsonLiteral(fld.type, @field(v, fld.name), what);
                }
                return out ++ (if (s.is_tuple) "]" else "}");
            },
            else => {},
        }
        @compileError(what ++ " (" ++ @typeName(T) ++ ") cannot be written as JSON: use a default of a plainer type");
    }
}

/// jsonString writes s as a JSON string: quotes, backslashes and control characters escaped.
fn jsonString(comptime s: []const u8) []const u8 {
    comptime {
        var out: []const u8 = "\"";
        for (s) |c| {
            out = out ++ switch (c) {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                0...8, 11, 12, 14...0x1f => std.fmt.comptimePrint("\\u{x:0>4}", .{c}),
                else => &[_]u8{c},
            };
        }
        return out ++ "\"";
    }
}

/// asmEscape writes s for an assembler string: quotes and backslashes escaped, and every byte
/// outside printable ASCII in octal.
fn asmEscape(comptime s: []const u8) []const u8 {
    comptime {
        @setEvalBranchQuota(100_000);
        var out: []const u8 = "";
        for (s) |c| {
            out = out ++ switch (c) {
                '"' => "\\\"",
                '\\' => "\\\\",
                0x20...'"' - 1, '"' + 1...'\\' - 1, '\\' + 1...0x7e => &[_]u8{c},
                else => std.fmt.comptimePrint("\\{o:0>3}", .{c}),
            };
        }
        return out;
    }
}

// ---------------------------------------------------------------------------------------------
// Values

/// Bytes is a MessagePack bin value. A `[]const u8` is encoded as a str; wrap it in Bytes to
/// return bytes. As a parameter, Bytes takes a bin or a str.
pub const Bytes = struct {
    /// The bytes.
    data: []const u8,
};

/// Raw is one MessagePack value, passed through byte for byte: as a parameter it is the
/// encoded argument, as a result it is written as is (it must be one well-formed value).
pub const Raw = struct {
    /// The encoding of one value.
    bytes: []const u8,
};

/// Ext is a MessagePack extension value of any type: as a `Value`, a tensor is an Ext of type 4
/// (use `Tensor(T)` to read one).
pub const Ext = struct {
    /// The extension type.
    type: i8,
    /// The payload.
    data: []const u8,
};

/// Value is any MessagePack value, the SDK's generic type: a parameter of type Value takes any
/// argument, and a Value result is encoded as it is. Integers are `.int` when they fit an i64 and
/// `.uint` above; strings, bytes and extension payloads point into the argument frame (or the
/// arena, for fetched values).
pub const Value = union(enum) {
    /// nil.
    nil,
    /// A bool.
    bool: bool,
    /// An integer that fits an i64.
    int: i64,
    /// An integer above the largest i64.
    uint: u64,
    /// A float64.
    float: f64,
    /// A float32, kept at its width.
    float32: f32,
    /// A str: UTF-8 text.
    str: []const u8,
    /// A bin: bytes.
    bin: []const u8,
    /// An array.
    array: []const Value,
    /// A map, its pairs in the order of the encoding.
    map: []const Entry,
    /// An extension value: a timestamp, a tensor (type 4) or another type.
    ext: Ext,

    /// Entry is one key/value pair of a map, in the order of the encoding.
    pub const Entry = struct { key: Value, value: Value };
};

/// Tensor(T) is an n-dimensional array of `T` (ABI.md section 5.3, ext type 4): `shape` holds the
/// sizes, outermost first, and `data` the elements in row-major order. As a parameter, `data`
/// points into the argument frame when the elements are aligned and into one copy otherwise;
/// no element is decoded. As a result it is written with one copy. `T` is one of i8, i16, i32,
/// i64, u8, u16, u32, u64, f32, f64 and bool.
pub fn Tensor(comptime T: type) type {
    return struct {
        const Self = @This();
        /// The dtype code of T (ABI.md section 5.3).
        pub const dtype: u8 = dtypeOf(T);
        /// Elem is the element type.
        pub const Elem = T;

        /// The sizes of the dimensions, outermost first; empty for a scalar.
        shape: []const u64,
        /// The elements in row-major order.
        data: []const T,

        /// alloc returns a tensor of the given shape whose shape and elements (uninitialised)
        /// are allocated in the call's arena; fill them through `items`. It fails with
        /// error.Overflow when the shape has more elements than memory can hold.
        pub fn alloc(shape: []const u64) error{ OutOfMemory, Overflow }!Self {
            var count: usize = 1;
            for (shape) |s| count = try std.math.mul(usize, count, std.math.cast(usize, s) orelse return error.Overflow);
            _ = try std.math.mul(usize, count, @sizeOf(T));
            const a = allocator();
            return .{ .shape = try a.dupe(u64, shape), .data = try a.alloc(T, count) };
        }

        /// items returns the elements, writable: a tensor's memory belongs to the running call
        /// (the arena, or the argument frame, which a call may change while it runs).
        pub fn items(self: Self) []T {
            return @constCast(self.data);
        }

        /// numel returns the number of elements the shape describes.
        pub fn numel(self: Self) u64 {
            var n: u64 = 1;
            for (self.shape) |s| n *%= s;
            return n;
        }
    };
}

fn dtypeOf(comptime T: type) u8 {
    return switch (T) {
        i8 => 1,
        i16 => 2,
        i32 => 3,
        i64 => 4,
        u8 => 5,
        u16 => 6,
        u32 => 7,
        u64 => 8,
        f32 => 9,
        f64 => 10,
        bool => 11,
        else => @compileError("mrun.Tensor: no tensor dtype for " ++ @typeName(T)),
    };
}

const dtype_names = [_][]const u8{ "?", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "bool" };
const dtype_sizes = [_]u8{ 0, 1, 2, 4, 8, 1, 2, 4, 8, 4, 8, 1 };

fn isTensor(comptime T: type) bool {
    return @typeInfo(T) == .Struct and @hasDecl(T, "dtype") and @hasDecl(T, "Elem") and T == Tensor(T.Elem);
}

/// tagList lists the tags of enum T for messages: "red, green".
fn tagList(comptime T: type) []const u8 {
    comptime {
        var out: []const u8 = "";
        for (@typeInfo(T).Enum.fields, 0..) |f, i| out = out ++ (if (i > 0) ", " else "") ++ f.name;
        return out;
    }
}

/// ext types of ABI.md section 5.1 and 5.3.
const ext_handle: i8 = 2;
const ext_byref: i8 = 3;
const ext_tensor: i8 = 4;

// ---------------------------------------------------------------------------------------------
// Reader

/// Reader reads MessagePack values from a byte slice, checking every length against the end
/// of the slice: malformed input gives an error, never a trap.
pub const Reader = struct {
    buf: []const u8,
    pos: usize = 0,

    /// Error: the input ends early (EndOfInput), holds something other than the requested
    /// family (WrongType), an invalid byte (Malformed), or an integer out of the target's range
    /// (OutOfRange).
    pub const Error = error{ EndOfInput, WrongType, Malformed, OutOfRange };

    /// Family is the kind of the next value, as `family` reports it.
    pub const Family = enum {
        nil,
        bool,
        int,
        float,
        str,
        bin,
        array,
        map,
        ext,
        invalid,
        end,

        /// name returns the family's name for messages.
        pub fn name(f: Family) []const u8 {
            return switch (f) {
                .nil => "nil",
                .bool => "bool",
                .int => "int",
                .float => "float",
                .str => "str",
                .bin => "bin",
                .array => "list",
                .map => "map",
                .ext => "ext",
                .invalid => "an invalid byte",
                .end => "the end of the frame",
            };
        }
    };

    /// family returns the family of the next value without consuming it.
    pub fn family(r: *const Reader) Family {
        if (r.pos >= r.buf.len) return .end;
        const b = r.buf[r.pos];
        return switch (b) {
            0x00...0x7f, 0xe0...0xff, 0xcc...0xd3 => .int,
            0x80...0x8f, 0xde, 0xdf => .map,
            0x90...0x9f, 0xdc, 0xdd => .array,
            0xa0...0xbf, 0xd9...0xdb => .str,
            0xc0 => .nil,
            0xc2, 0xc3 => .bool,
            0xc4...0xc6 => .bin,
            0xc7...0xc9, 0xd4...0xd8 => .ext,
            0xca, 0xcb => .float,
            0xc1 => .invalid,
        };
    }

    /// atEnd reports whether every byte has been read.
    pub fn atEnd(r: *const Reader) bool {
        return r.pos >= r.buf.len;
    }

    fn take(r: *Reader, n: usize) Error![]const u8 {
        if (n > r.buf.len - r.pos) return error.EndOfInput;
        const s = r.buf[r.pos .. r.pos + n];
        r.pos += n;
        return s;
    }

    fn byte(r: *Reader) Error!u8 {
        if (r.pos >= r.buf.len) return error.EndOfInput;
        r.pos += 1;
        return r.buf[r.pos - 1];
    }

    fn be(r: *Reader, comptime T: type) Error!T {
        const s = try r.take(@sizeOf(T));
        return std.mem.readInt(T, s[0..@sizeOf(T)], .Big);
    }

    /// readNil reads a nil.
    pub fn readNil(r: *Reader) Error!void {
        if (r.family() != .nil) return error.WrongType;
        r.pos += 1;
    }

    /// readBool reads a bool.
    pub fn readBool(r: *Reader) Error!bool {
        if (r.family() != .bool) return error.WrongType;
        r.pos += 1;
        return r.buf[r.pos - 1] == 0xc3;
    }

    /// readInt reads an integer of any encoding into a T, or fails with OutOfRange.
    pub fn readInt(r: *Reader, comptime T: type) Error!T {
        if (r.family() != .int) return error.WrongType;
        const start = r.pos;
        errdefer r.pos = start;
        const b = try r.byte();
        const v: union(enum) { s: i64, u: u64 } = switch (b) {
            0x00...0x7f => .{ .u = b },
            0xe0...0xff => .{ .s = @as(i8, @bitCast(b)) },
            0xcc => .{ .u = try r.be(u8) },
            0xcd => .{ .u = try r.be(u16) },
            0xce => .{ .u = try r.be(u32) },
            0xcf => .{ .u = try r.be(u64) },
            0xd0 => .{ .s = try r.be(i8) },
            0xd1 => .{ .s = try r.be(i16) },
            0xd2 => .{ .s = try r.be(i32) },
            0xd3 => .{ .s = try r.be(i64) },
            else => unreachable,
        };
        return switch (v) {
            .s => |x| std.math.cast(T, x),
            .u => |x| std.math.cast(T, x),
        } orelse error.OutOfRange;
    }

    /// readFloat reads a float32, a float64 or an integer as an f64.
    pub fn readFloat(r: *Reader) Error!f64 {
        switch (r.family()) {
            .float => {
                if (r.buf[r.pos] == 0xca) {
                    r.pos += 1;
                    return @as(f32, @bitCast(try r.be(u32)));
                }
                r.pos += 1;
                return @bitCast(try r.be(u64));
            },
            .int => {
                if (r.buf[r.pos] == 0xcf) return @floatFromInt(try r.readInt(u64));
                return @floatFromInt(try r.readInt(i64));
            },
            else => return error.WrongType,
        }
    }

    /// readStr reads a str and returns its bytes, which point into the input.
    pub fn readStr(r: *Reader) Error![]const u8 {
        if (r.family() != .str) return error.WrongType;
        const b = r.buf[r.pos];
        r.pos += 1;
        const n: usize = switch (b) {
            0xa0...0xbf => b & 0x1f,
            0xd9 => try r.be(u8),
            0xda => try r.be(u16),
            else => try r.be(u32),
        };
        return r.take(n);
    }

    /// readBin reads a bin and returns its bytes, which point into the input.
    pub fn readBin(r: *Reader) Error![]const u8 {
        if (r.family() != .bin) return error.WrongType;
        const b = r.buf[r.pos];
        r.pos += 1;
        const n: usize = switch (b) {
            0xc4 => try r.be(u8),
            0xc5 => try r.be(u16),
            else => try r.be(u32),
        };
        return r.take(n);
    }

    /// readArrayLen reads an array header and returns the number of elements that follow.
    pub fn readArrayLen(r: *Reader) Error!u32 {
        if (r.family() != .array) return error.WrongType;
        const b = r.buf[r.pos];
        r.pos += 1;
        return switch (b) {
            0x90...0x9f => b & 0x0f,
            0xdc => try r.be(u16),
            else => try r.be(u32),
        };
    }

    /// readMapLen reads a map header and returns the number of key/value pairs that follow.
    pub fn readMapLen(r: *Reader) Error!u32 {
        if (r.family() != .map) return error.WrongType;
        const b = r.buf[r.pos];
        r.pos += 1;
        return switch (b) {
            0x80...0x8f => b & 0x0f,
            0xde => try r.be(u16),
            else => try r.be(u32),
        };
    }

    /// readExt reads an extension value of any type, tensors included.
    pub fn readExt(r: *Reader) Error!Ext {
        if (r.family() != .ext) return error.WrongType;
        const b = r.buf[r.pos];
        r.pos += 1;
        const n: usize = switch (b) {
            0xd4 => 1,
            0xd5 => 2,
            0xd6 => 4,
            0xd7 => 8,
            0xd8 => 16,
            0xc7 => try r.be(u8),
            0xc8 => try r.be(u16),
            else => try r.be(u32),
        };
        const t: i8 = @bitCast(try r.byte());
        return .{ .type = t, .data = try r.take(n) };
    }

    /// skip reads one value of any kind and depth, without recursion.
    pub fn skip(r: *Reader) Error!void {
        var pending: u64 = 1;
        while (pending > 0) : (pending -= 1) {
            switch (r.family()) {
                .nil, .bool => r.pos += 1,
                .int => _ = try r.readInt(i128),
                .float => _ = try r.readFloat(),
                .str => _ = try r.readStr(),
                .bin => _ = try r.readBin(),
                .ext => _ = try r.readExt(),
                .array => pending += try r.readArrayLen(),
                .map => pending += 2 * @as(u64, try r.readMapLen()),
                .invalid => return error.Malformed,
                .end => return error.EndOfInput,
            }
        }
    }

    /// readRaw reads one value and returns its encoding.
    pub fn readRaw(r: *Reader) Error![]const u8 {
        const start = r.pos;
        try r.skip();
        return r.buf[start..r.pos];
    }
};

// ---------------------------------------------------------------------------------------------
// Decoding into Zig types

const DecodeError = error{BadValue};
const max_depth = 512;

/// Decoder decodes values into Zig types and, on failure, records a message that says where
/// (`argument 2[3]`, `keyword argument "greeting"`, `the value of handle 4`) and why.
const Decoder = struct {
    root: Root,
    path: [16]Seg = undefined,
    depth: usize = 0,

    const Root = union(enum) { frame, arg: usize, kw: []const u8, fetched: u32 };
    const Seg = union(enum) { index: u32, key: []const u8 };

    fn fail(d: *Decoder, comptime fmt: []const u8, args: anytype) DecodeError {
        message.clearRetainingCapacity();
        const w = message.writer();
        (blk: {
            switch (d.root) {
                .frame => {},
                .arg => |i| w.print("argument {d}", .{i}) catch |e| break :blk e,
                .kw => |k| w.print("keyword argument \"{s}\"", .{k}) catch |e| break :blk e,
                .fetched => |h| w.print("the value of handle {d}", .{h}) catch |e| break :blk e,
            }
            for (d.path[0..@min(d.depth, d.path.len)]) |s| switch (s) {
                .index => |i| w.print("[{d}]", .{i}) catch |e| break :blk e,
                .key => |k| w.print(".{s}", .{k}) catch |e| break :blk e,
            };
            if (d.root != .frame) w.writeAll(": ") catch |e| break :blk e;
            w.print(fmt, args) catch |e| break :blk e;
        }) catch {};
        message_kind = .prefixed;
        message_err = error.BadValue;
        return error.BadValue;
    }

    fn push(d: *Decoder, s: Seg) DecodeError!void {
        if (d.depth >= max_depth) return d.fail("nested deeper than {d} levels", .{max_depth});
        if (d.depth < d.path.len) d.path[d.depth] = s;
        d.depth += 1;
    }

    fn pop(d: *Decoder) void {
        d.depth -= 1;
    }

    fn setIndex(d: *Decoder, i: u32) void {
        d.setSeg(.{ .index = i });
    }

    /// setSeg replaces the innermost path segment.
    fn setSeg(d: *Decoder, s: Seg) void {
        if (d.depth - 1 < d.path.len) d.path[d.depth - 1] = s;
    }

    fn readErr(d: *Decoder, r: *Reader, err: Reader.Error, comptime want: []const u8) DecodeError {
        return switch (err) {
            error.WrongType => d.fail("expected " ++ want ++ ", got {s}", .{r.family().name()}),
            error.OutOfRange => d.fail("integer out of range for " ++ want, .{}),
            error.EndOfInput => d.fail("truncated value", .{}),
            error.Malformed => d.fail("malformed value", .{}),
        };
    }

    fn oom(d: *Decoder) DecodeError {
        return d.fail("out of memory", .{});
    }

    fn decode(d: *Decoder, r: *Reader, comptime T: type) DecodeError!T {
        if (T == Value) return d.decodeValue(r);
        if (T == Raw) return .{ .bytes = r.readRaw() catch |e| return d.readErr(r, e, "a value") };
        if (T == Bytes) {
            if (r.family() == .str) return .{ .data = r.readStr() catch |e| return d.readErr(r, e, "bytes") };
            return .{ .data = r.readBin() catch |e| return d.readErr(r, e, "bytes") };
        }
        if (T == Object) return d.decodeObject(r);
        if (comptime isTensor(T)) return d.decodeTensor(r, T);
        if (T == Table) return d.decodeTable(r);
        switch (@typeInfo(T)) {
            .Bool => return r.readBool() catch |e| d.readErr(r, e, "a bool"),
            .Int => return r.readInt(T) catch |e| switch (e) {
                error.OutOfRange => d.fail("the integer does not fit " ++ @typeName(T), .{}),
                else => d.readErr(r, e, "an integer"),
            },
            .Float => {
                const x = r.readFloat() catch |e| return d.readErr(r, e, "a float");
                return @floatCast(x);
            },
            .Optional => |o| {
                if (r.family() == .nil) {
                    r.pos += 1;
                    return null;
                }
                return try d.decode(r, o.child);
            },
            .Enum => {
                const s = r.readStr() catch |e| return d.readErr(r, e, "a str");
                return std.meta.stringToEnum(T, s) orelse d.fail("\"{s}\" is not one of " ++ comptime tagList(T), .{s});
            },
            .Pointer => |p| {
                if (p.sentinel != null) @compileError("mrun: cannot decode sentinel-terminated " ++ @typeName(T));
                switch (p.size) {
                    .Slice => {
                        if (p.child == u8) {
                            const s = switch (r.family()) {
                                .bin => r.readBin(),
                                else => r.readStr(),
                            } catch |e| return d.readErr(r, e, "a str");
                            // The frame is this call's own memory: a []u8 may be changed in place.
                            return @constCast(s);
                        }
                        const n = r.readArrayLen() catch |e| return d.readErr(r, e, "a list");
                        if (n > r.buf.len - r.pos) return d.fail("truncated list", .{});
                        const out = allocator().alloc(p.child, n) catch return d.oom();
                        try d.push(.{ .index = 0 });
                        for (out, 0..) |*e, i| {
                            d.setIndex(@intCast(i));
                            e.* = try d.decode(r, p.child);
                        }
                        d.pop();
                        return out;
                    },
                    .One => {
                        const out = allocator().create(p.child) catch return d.oom();
                        out.* = try d.decode(r, p.child);
                        return out;
                    },
                    else => @compileError("mrun: cannot decode " ++ @typeName(T)),
                }
            },
            .Array => |a| {
                const n = r.readArrayLen() catch |e| return d.readErr(r, e, "a list");
                if (n != a.len) return d.fail("expected a list of {d}, got {d} elements", .{ a.len, n });
                var out: T = undefined;
                try d.push(.{ .index = 0 });
                for (&out, 0..) |*e, i| {
                    d.setIndex(@intCast(i));
                    e.* = try d.decode(r, a.child);
                }
                d.pop();
                return out;
            },
            .Struct => |s| {
                if (s.is_tuple) {
                    const n = r.readArrayLen() catch |e| return d.readErr(r, e, "a list");
                    if (n != s.fields.len) return d.fail("expected a list of {d}, got {d} elements", .{ s.fields.len, n });
                    var out: T = undefined;
                    try d.push(.{ .index = 0 });
                    inline for (s.fields, 0..) |f, i| {
                        d.setIndex(i);
                        @field(out, f.name) = try d.decode(r, f.type);
                    }
                    d.pop();
                    return out;
                }
                const n = r.readMapLen() catch |e| return d.readErr(r, e, "a map");
                return d.decodeKeywords(r, T, n, false);
            },
            else => @compileError("mrun: cannot decode " ++ @typeName(T)),
        }
    }

    /// decodeKeywords decodes `n` map entries with str keys into the fields of struct T;
    /// fields missing from the map take their default values. As keyword arguments (`kw`),
    /// each value is reported as a keyword argument.
    fn decodeKeywords(d: *Decoder, r: *Reader, comptime T: type, n: u32, comptime kw: bool) DecodeError!T {
        const fields = @typeInfo(T).Struct.fields;
        var out: T = undefined;
        var seen = [_]bool{false} ** fields.len;
        const outer = d.root;
        if (!kw) try d.push(.{ .key = "" });
        for (0..n) |_| {
            const key = r.readStr() catch |e| return d.readErr(r, e, "str keys");
            var found = false;
            inline for (fields, 0..) |f, i| {
                if (!found and std.mem.eql(u8, key, f.name)) {
                    found = true;
                    if (seen[i]) {
                        if (!kw) d.pop();
                        return d.fail("duplicate key \"{s}\"", .{key});
                    }
                    seen[i] = true;
                    if (kw) d.root = .{ .kw = f.name } else d.setSeg(.{ .key = f.name });
                    @field(out, f.name) = try d.decode(r, f.type);
                    d.root = outer;
                }
            }
            if (!found) {
                if (!kw) d.pop();
                if (kw) return d.fail("unexpected keyword argument \"{s}\"", .{key});
                return d.fail("unexpected key \"{s}\"", .{key});
            }
        }
        if (!kw) d.pop();
        inline for (fields, 0..) |f, i| {
            if (!seen[i]) {
                if (f.default_value) |dv| {
                    @field(out, f.name) = @as(*const f.type, @ptrCast(@alignCast(dv))).*;
                } else if (kw) {
                    return d.fail("missing keyword argument \"" ++ f.name ++ "\"", .{});
                } else {
                    return d.fail("missing key \"" ++ f.name ++ "\"", .{});
                }
            }
        }
        return out;
    }

    fn decodeValue(d: *Decoder, r: *Reader) DecodeError!Value {
        switch (r.family()) {
            .nil => {
                r.pos += 1;
                return .nil;
            },
            .bool => return .{ .bool = r.readBool() catch unreachable },
            .int => {
                if (r.buf[r.pos] == 0xcf) {
                    const u = r.readInt(u64) catch |e| return d.readErr(r, e, "an integer");
                    if (u <= std.math.maxInt(i64)) return .{ .int = @intCast(u) };
                    return .{ .uint = u };
                }
                return .{ .int = r.readInt(i64) catch |e| return d.readErr(r, e, "an integer") };
            },
            .float => {
                if (r.buf[r.pos] == 0xca) {
                    const x = r.readFloat() catch |e| return d.readErr(r, e, "a float");
                    return .{ .float32 = @floatCast(x) };
                }
                return .{ .float = r.readFloat() catch |e| return d.readErr(r, e, "a float") };
            },
            .str => return .{ .str = r.readStr() catch |e| return d.readErr(r, e, "a str") },
            .bin => return .{ .bin = r.readBin() catch |e| return d.readErr(r, e, "bytes") },
            .ext => return .{ .ext = r.readExt() catch |e| return d.readErr(r, e, "an ext") },
            .array => {
                const n = r.readArrayLen() catch |e| return d.readErr(r, e, "a list");
                if (n > r.buf.len - r.pos) return d.fail("truncated list", .{});
                const out = allocator().alloc(Value, n) catch return d.oom();
                try d.push(.{ .index = 0 });
                for (out, 0..) |*e, i| {
                    d.setIndex(@intCast(i));
                    e.* = try d.decodeValue(r);
                }
                d.pop();
                return .{ .array = out };
            },
            .map => {
                const n = r.readMapLen() catch |e| return d.readErr(r, e, "a map");
                if (n > (r.buf.len - r.pos) / 2) return d.fail("truncated map", .{});
                const out = allocator().alloc(Value.Entry, n) catch return d.oom();
                try d.push(.{ .index = 0 });
                for (out, 0..) |*e, i| {
                    d.setIndex(@intCast(i));
                    e.key = try d.decodeValue(r);
                    e.value = try d.decodeValue(r);
                }
                d.pop();
                return .{ .map = out };
            },
            .invalid => return d.fail("malformed value", .{}),
            .end => return d.fail("truncated value", .{}),
        }
    }

    fn decodeObject(d: *Decoder, r: *Reader) DecodeError!Object {
        const e = r.readExt() catch |err| return d.readErr(r, err, "an Object passed by reference");
        if (e.type != ext_handle or e.data.len != 4) return d.fail("expected an Object passed by reference, got ext type {d}", .{e.type});
        return .{ .handle = std.mem.readInt(u32, e.data[0..4], .Big) };
    }

    /// decodeTable reads a table (ext type 5). Its columns point into the frame when the
    /// payload is 8-aligned there, and into one copy of the payload otherwise.
    fn decodeTable(d: *Decoder, r: *Reader) DecodeError!Table {
        const e = r.readExt() catch |err| return d.readErr(r, err, "a table");
        if (e.type != ext_table) return d.fail("expected a table, got ext type {d}", .{e.type});
        var p = e.data;
        if (p.len > 0 and @intFromPtr(p.ptr) % 8 != 0) {
            const copy = allocator().alignedAlloc(u8, 8, p.len) catch return d.oom();
            @memcpy(copy, p);
            p = copy;
        }
        return parseTable(d, p);
    }

    fn decodeTensor(d: *Decoder, r: *Reader, comptime T: type) DecodeError!T {
        const E = T.Elem;
        const want = "a tensor of " ++ dtype_names[T.dtype];
        const e = r.readExt() catch |err| return d.readErr(r, err, want);
        if (e.type != ext_tensor) return d.fail("expected " ++ want ++ ", got ext type {d}", .{e.type});
        const p = e.data;
        if (p.len < 8) return d.fail("malformed tensor: {d}-byte payload", .{p.len});
        if (p[0] != T.dtype) {
            const got = if (p[0] < dtype_names.len) dtype_names[p[0]] else "unknown";
            return d.fail("expected " ++ want ++ ", got a tensor of {s}", .{got});
        }
        const ndim = p[1];
        if (ndim > 32) return d.fail("malformed tensor: {d} dimensions", .{ndim});
        if (!std.mem.allEqual(u8, p[2..8], 0)) return d.fail("malformed tensor: nonzero padding", .{});
        const head = 8 + 8 * @as(usize, ndim);
        if (p.len < head) return d.fail("malformed tensor: truncated shape", .{});
        const shape = allocator().alloc(u64, ndim) catch return d.oom();
        var count: u64 = 1;
        for (shape, 0..) |*s, i| {
            s.* = std.mem.readInt(u64, p[8 + 8 * i ..][0..8], .Little);
            count = std.math.mul(u64, count, s.*) catch return d.fail("malformed tensor: shape overflows", .{});
        }
        const bytes = p[head..];
        if (count > bytes.len or count * @sizeOf(E) != bytes.len)
            return d.fail("malformed tensor: shape needs {d} elements, payload has {d} bytes", .{ count, bytes.len });
        if (bytes.len == 0) return .{ .shape = shape, .data = &.{} };
        if (@intFromPtr(bytes.ptr) % @alignOf(E) == 0) {
            const ptr: [*]const E = @ptrCast(@alignCast(bytes.ptr));
            return .{ .shape = shape, .data = ptr[0..@intCast(count)] };
        }
        // Unaligned: one copy.
        const copy = allocator().alloc(E, @intCast(count)) catch return d.oom();
        @memcpy(std.mem.sliceAsBytes(copy), bytes);
        return .{ .shape = shape, .data = copy };
    }
};

// ---------------------------------------------------------------------------------------------
// Writer

/// Writer appends MessagePack values to a byte list. Integers use their shortest encoding, so
/// equal values always encode to equal bytes.
pub const Writer = struct {
    list: *std.ArrayList(u8),
    /// Whether Objects (handles) may be written: true for spawn arguments, false for results,
    /// which must not contain them (ABI.md section 5.1).
    allow_handles: bool = true,

    /// Error: memory ran out, an integer does not fit 64 bits, a tensor's data does not match
    /// its shape, or an Object was written into a result.
    /// BadTable is a table that breaks ABI.md section 5.4 (the reason is in the call's error
    /// message), BadExpr an `mt.Expr` that could not be built.
    pub const Error = error{ OutOfMemory, IntegerOutOfRange, BadTensor, ObjectInResult, BadTable, BadExpr };

    fn put(w: *Writer, bytes: []const u8) Error!void {
        try w.list.appendSlice(bytes);
    }

    fn head(w: *Writer, b: u8, comptime T: type, n: anytype) Error!void {
        var buf: [1 + @sizeOf(T)]u8 = undefined;
        buf[0] = b;
        std.mem.writeInt(T, buf[1..], @as(T, @intCast(n)), .Big);
        try w.put(&buf);
    }

    /// writeNil writes nil.
    pub fn writeNil(w: *Writer) Error!void {
        try w.list.append(0xc0);
    }

    /// writeBool writes a bool.
    pub fn writeBool(w: *Writer, v: bool) Error!void {
        try w.list.append(if (v) 0xc3 else 0xc2);
    }

    /// writeInt writes an integer of any Zig integer type in its shortest encoding.
    pub fn writeInt(w: *Writer, v: anytype) Error!void {
        if (@TypeOf(v) == comptime_int) {
            if (v < 0) return w.writeNegative(v);
            return w.writeUnsigned(v);
        }
        if (v < 0) return w.writeNegative(std.math.cast(i64, v) orelse return error.IntegerOutOfRange);
        return w.writeUnsigned(std.math.cast(u64, v) orelse return error.IntegerOutOfRange);
    }

    fn writeUnsigned(w: *Writer, v: u64) Error!void {
        if (v <= 0x7f) return w.list.append(@intCast(v));
        if (v <= 0xff) return w.head(0xcc, u8, v);
        if (v <= 0xffff) return w.head(0xcd, u16, v);
        if (v <= 0xffff_ffff) return w.head(0xce, u32, v);
        return w.head(0xcf, u64, v);
    }

    fn writeNegative(w: *Writer, v: i64) Error!void {
        if (v >= -32) return w.list.append(@bitCast(@as(i8, @intCast(v))));
        if (v >= -128) return w.head(0xd0, i8, v);
        if (v >= -32768) return w.head(0xd1, i16, v);
        if (v >= -2147483648) return w.head(0xd2, i32, v);
        return w.head(0xd3, i64, v);
    }

    /// writeFloat writes a float64.
    pub fn writeFloat(w: *Writer, v: f64) Error!void {
        return w.head(0xcb, u64, @as(u64, @bitCast(v)));
    }

    /// writeFloat32 writes a float32.
    pub fn writeFloat32(w: *Writer, v: f32) Error!void {
        return w.head(0xca, u32, @as(u32, @bitCast(v)));
    }

    fn lenHead(w: *Writer, fix: u8, fix_max: usize, b8: ?u8, b16: u8, b32: u8, n: usize) Error!void {
        if (n <= fix_max) return w.list.append(fix | @as(u8, @intCast(n)));
        if (b8 != null and n <= 0xff) return w.head(b8.?, u8, n);
        if (n <= 0xffff) return w.head(b16, u16, n);
        return w.head(b32, u32, std.math.cast(u32, n) orelse return error.OutOfMemory);
    }

    /// writeStr writes a str.
    pub fn writeStr(w: *Writer, s: []const u8) Error!void {
        try w.lenHead(0xa0, 31, 0xd9, 0xda, 0xdb, s.len);
        try w.put(s);
    }

    /// writeBin writes a bin.
    pub fn writeBin(w: *Writer, s: []const u8) Error!void {
        if (s.len <= 0xff) {
            try w.head(0xc4, u8, s.len);
        } else try w.lenHead(0, 0xff, null, 0xc5, 0xc6, s.len);
        try w.put(s);
    }

    /// writeArrayLen writes the header of an array of n elements; the elements follow.
    pub fn writeArrayLen(w: *Writer, n: usize) Error!void {
        return w.lenHead(0x90, 15, null, 0xdc, 0xdd, n);
    }

    /// writeMapLen writes the header of a map of n pairs; the keys and values follow.
    pub fn writeMapLen(w: *Writer, n: usize) Error!void {
        return w.lenHead(0x80, 15, null, 0xde, 0xdf, n);
    }

    /// writeExtHead writes the header of an extension value of type t with an n-byte payload
    /// (fixext when n is 1, 2, 4, 8 or 16); the payload follows.
    pub fn writeExtHead(w: *Writer, t: i8, n: usize) Error!void {
        switch (n) {
            1 => try w.list.append(0xd4),
            2 => try w.list.append(0xd5),
            4 => try w.list.append(0xd6),
            8 => try w.list.append(0xd7),
            16 => try w.list.append(0xd8),
            else => if (n <= 0xff) {
                try w.head(0xc7, u8, n);
            } else if (n <= 0xffff) {
                try w.head(0xc8, u16, n);
            } else {
                try w.head(0xc9, u32, std.math.cast(u32, n) orelse return error.OutOfMemory);
            },
        }
        try w.list.append(@bitCast(t));
    }

    /// writeRaw writes bytes that already are one encoded value.
    pub fn writeRaw(w: *Writer, bytes: []const u8) Error!void {
        return w.put(bytes);
    }

    /// writeTensor writes an n-dimensional array (ext type 4): a header, the shape, and the
    /// elements with one copy.
    pub fn writeTensor(w: *Writer, comptime E: type, shape: []const u64, data: []const E) Error!void {
        if (shape.len > 32) return error.BadTensor;
        var count: u64 = 1;
        for (shape) |s| count = std.math.mul(u64, count, s) catch return error.BadTensor;
        if (count != data.len) return error.BadTensor;
        const bytes = std.mem.sliceAsBytes(data);
        try w.writeExtHead(ext_tensor, 8 + 8 * shape.len + bytes.len);
        const hdr = try w.list.addManyAsSlice(8 + 8 * shape.len);
        @memset(hdr[0..8], 0);
        hdr[0] = dtypeOf(E);
        hdr[1] = @intCast(shape.len);
        for (shape, 0..) |s, i| std.mem.writeInt(u64, hdr[8 + 8 * i ..][0..8], s, .Little);
        try w.put(bytes);
    }

    /// writeTable writes a table (ext type 5) in its one valid encoding, with one copy of each
    /// column. A table that breaks ABI.md section 5.4 fails with error.BadTable.
    pub fn writeTable(w: *Writer, t: Table) Error!void {
        if (tableProblem(t)) |why| {
            table_problem = why;
            return error.BadTable;
        }
        var desc: u64 = 0;
        for (t.columns) |c| desc += 4 + c.name.len;
        var n: u64 = 16 + desc + pad8(desc);
        for (t.columns) |c| {
            const bytes: u64 = switch (c.values) {
                .string => |s| 4 * (t.rows + 1) + pad8(4 * (t.rows + 1)) + s.text.len,
                .bool => t.rows,
                else => 8 * t.rows,
            };
            n += bytes + pad8(bytes);
        }
        try w.writeExtHead(ext_table, std.math.cast(u32, n) orelse return error.OutOfMemory);
        const zeros = [_]u8{0} ** 8;
        var hdr: [16]u8 = undefined;
        std.mem.writeInt(u32, hdr[0..4], @as(u32, @intCast(t.columns.len)), .Little);
        std.mem.writeInt(u32, hdr[4..8], 0, .Little);
        std.mem.writeInt(u64, hdr[8..16], t.rows, .Little);
        try w.put(&hdr);
        for (t.columns) |c| {
            var dh = [4]u8{ @intFromEnum(c.values), 0, 0, 0 };
            std.mem.writeInt(u16, dh[2..4], @as(u16, @intCast(c.name.len)), .Little);
            try w.put(&dh);
            try w.put(c.name);
        }
        try w.put(zeros[0..@intCast(pad8(desc))]);
        for (t.columns) |c| {
            const data: []const u8 = switch (c.values) {
                .string => |s| blk: {
                    if (s.offsets.len == 0) {
                        try w.put(&zeros); // no rows: the one offset 0, and padding
                    } else {
                        const ob = std.mem.sliceAsBytes(s.offsets);
                        try w.put(ob);
                        try w.put(zeros[0..@intCast(pad8(ob.len))]);
                    }
                    break :blk s.text;
                },
                inline else => |v| std.mem.sliceAsBytes(v),
            };
            try w.put(data);
            try w.put(zeros[0..@intCast(pad8(data.len))]);
        }
    }

    /// write encodes any value: nil for void and null, bool, integers, floats (f32 as float32,
    /// others as float64), strings (`[]const u8`, string literals and `[N]u8` as str; `Bytes` as
    /// bin), slices, arrays and tuples as arrays, structs as maps from field names, enums as
    /// the str of their tag, optionals, and `Value`, `Raw`, `Tensor(T)`, `Table`, `mt.Expr` (its
    /// map) and, in spawn arguments, `Object` and `ByRef`.
    pub fn write(w: *Writer, v: anytype) Error!void {
        const T = @TypeOf(v);
        if (T == Value) return w.writeValue(v);
        if (T == Raw) return w.writeRaw(v.bytes);
        if (T == Bytes) return w.writeBin(v.data);
        if (T == Ext) {
            try w.writeExtHead(v.type, v.data.len);
            return w.put(v.data);
        }
        if (T == Object or T == ByRef) {
            if (!w.allow_handles) return error.ObjectInResult;
            const h = if (T == Object) v.handle else v.object.handle;
            try w.writeExtHead(if (T == Object) ext_handle else ext_byref, 4);
            var b: [4]u8 = undefined;
            std.mem.writeInt(u32, &b, h, .Big);
            return w.put(&b);
        }
        if (comptime isTensor(T)) return w.writeTensor(T.Elem, v.shape, v.data);
        if (T == Table) return w.writeTable(v);
        if (T == mt.Expr) return v.write(w);
        switch (@typeInfo(T)) {
            .Void, .Null => return w.writeNil(),
            .Bool => return w.writeBool(v),
            .Int, .ComptimeInt => return w.writeInt(v),
            .Float => |f| return if (f.bits == 32) w.writeFloat32(v) else w.writeFloat(@floatCast(v)),
            .ComptimeFloat => return w.writeFloat(v),
            .Optional => return if (v) |x| w.write(x) else w.writeNil(),
            .Enum => return w.writeStr(@tagName(v)),
            .EnumLiteral => return w.writeStr(@tagName(v)),
            .Pointer => |p| switch (p.size) {
                .One => switch (@typeInfo(p.child)) {
                    .Array => return w.write(v.*),
                    else => return w.write(v.*),
                },
                .Slice => {
                    if (p.child == u8) return w.writeStr(v);
                    try w.writeArrayLen(v.len);
                    for (v) |e| try w.write(e);
                },
                else => @compileError("mrun: cannot encode " ++ @typeName(T)),
            },
            .Array => |a| {
                if (a.child == u8) return w.writeStr(&v);
                try w.writeArrayLen(a.len);
                for (v) |e| try w.write(e);
            },
            .Struct => |s| {
                if (s.is_tuple) {
                    try w.writeArrayLen(s.fields.len);
                    inline for (s.fields) |f| try w.write(@field(v, f.name));
                } else {
                    try w.writeMapLen(s.fields.len);
                    inline for (s.fields) |f| {
                        try w.writeStr(f.name);
                        try w.write(@field(v, f.name));
                    }
                }
            },
            else => @compileError("mrun: cannot encode " ++ @typeName(T)),
        }
    }

    fn writeValue(w: *Writer, v: Value) Error!void {
        switch (v) {
            .nil => try w.writeNil(),
            .bool => |b| try w.writeBool(b),
            .int => |i| try w.writeInt(i),
            .uint => |u| try w.writeInt(u),
            .float => |f| try w.writeFloat(f),
            .float32 => |f| try w.writeFloat32(f),
            .str => |s| try w.writeStr(s),
            .bin => |s| try w.writeBin(s),
            .ext => |e| {
                try w.writeExtHead(e.type, e.data.len);
                try w.put(e.data);
            },
            .array => |a| {
                try w.writeArrayLen(a.len);
                for (a) |e| try w.writeValue(e);
            },
            .map => |m| {
                try w.writeMapLen(m.len);
                for (m) |e| {
                    try w.writeValue(e.key);
                    try w.writeValue(e.value);
                }
            },
        }
    }
};

// ---------------------------------------------------------------------------------------------
// Nested spawn (ABI.md section 2.2)

/// Object names the result of a task in the running call: a spawned child, or an Object passed
/// to the function by reference (a parameter of type Object). It is valid only during the call.
/// As a spawn argument it is a dependency: the child runs after it and receives its value.
pub const Object = extern struct {
    /// The handle number, ≥ 1.
    handle: u32,

    /// execute runs the Object's task, and everything it depends on, and waits for it.
    pub fn execute(o: Object) NestedError!void {
        return executeAll(&.{o});
    }

    /// fetch returns the Object's value decoded as a T (as a parameter of type T would be).
    /// Slices in the value live in the call's arena. The Object must have been executed.
    pub fn fetch(o: Object, comptime T: type) NestedError!T {
        const bytes = try fetchBytes(o.handle, comptime needsCopy(T));
        var r = Reader{ .buf = bytes };
        var d = Decoder{ .root = .{ .fetched = o.handle } };
        return d.decode(&r, T) catch |err| {
            // lastError() explains every error of a nested operation, this one too.
            host_message.clearRetainingCapacity();
            host_message.appendSlice(message.items) catch {};
            return err;
        };
    }

    /// fetchRaw returns the Object's value as the bytes of one MessagePack value, in the arena.
    pub fn fetchRaw(o: Object) NestedError!Raw {
        return .{ .bytes = try fetchBytes(o.handle, true) };
    }

    /// output returns output i of a task spawned with `n_output` > 1, where o is output 0.
    pub fn output(o: Object, i: u32) Object {
        return .{ .handle = o.handle + i };
    }
};

/// ByRef passes an Object by reference as a spawn argument (ext type 3): the child receives the
/// Object itself, as a handle of its own, instead of its value.
pub const ByRef = struct {
    /// The Object passed.
    object: Object,
};

/// byRef wraps o to be passed by reference: `mrun.spawn("train", .{ mrun.byRef(data) })`.
pub fn byRef(o: Object) ByRef {
    return .{ .object = o };
}

/// SpawnOptions are the less common parts of a spawn.
pub const SpawnOptions = struct {
    /// The module: "" for the caller's own, else a module name or SHA-256 in hex.
    module: []const u8 = "",
    /// The number of outputs: 1, or k ≥ 2 to split the result, an array of k values.
    n_output: u32 = 1,
    /// Whether the call is impure: its value may differ between calls with the same arguments
    /// (it reads the clock or draws random numbers). Tasks are named by function and arguments,
    /// so three pure spawns of rand_matrix(10, 10) are one task with one value; three impure
    /// spawns are three tasks with three values, none served from or kept in a cache.
    impure: bool = false,

    /// The flag of spawn's n_output that marks the task impure (ABI.md section 2.2).
    const impure_flag: u32 = 1 << 30;

    /// nOutput is the n_output argument of the spawn import: the count and the flags.
    fn nOutput(opts: SpawnOptions) u32 {
        return opts.n_output | (if (opts.impure) impure_flag else 0);
    }
};

/// spawn records a call of function `func` of the caller's own module with the positional
/// arguments `args` (a tuple, `.{ a, b }`) and returns its Object; nothing runs until it is
/// executed. Objects among the arguments, at any depth, are dependencies.
pub fn spawn(func: []const u8, args: anytype) NestedError!Object {
    return spawnWith(func, args, .{}, .{});
}

/// spawnN is spawn for a function with n outputs (n_output = n): it returns the n Objects.
pub fn spawnN(func: []const u8, comptime n: u32, args: anytype) NestedError![n]Object {
    const first = try spawnWith(func, args, .{}, .{ .n_output = n });
    var out: [n]Object = undefined;
    for (&out, 0..) |*o, i| o.* = first.output(@intCast(i));
    return out;
}

/// spawnWith is the complete spawn: keyword arguments `kwargs` (a struct, `.{ .greeting = "hi" }`,
/// or `.{}`), another module, several outputs. It returns output 0; see `Object.output`.
pub fn spawnWith(func: []const u8, args: anytype, kwargs: anytype, opts: SpawnOptions) NestedError!Object {
    spawn_buf.clearRetainingCapacity();
    var w = Writer{ .list = &spawn_buf };
    encodeFrame(&w, args, kwargs) catch |err| {
        const e: NestedError = if (err == error.OutOfMemory) error.OutOfMemory else error.BadArgument;
        recordHost(e, "spawn {s}: cannot encode the arguments: {s}", .{ func, @errorName(err) });
        return e;
    };
    const h = host.spawn(opts.module.ptr, @intCast(opts.module.len), func.ptr, @intCast(func.len), spawn_buf.items.ptr, @intCast(spawn_buf.items.len), opts.nOutput());
    if (h < 0) return hostFailure(h);
    return .{ .handle = @intCast(h) };
}

fn encodeFrame(w: *Writer, args: anytype, kwargs: anytype) Writer.Error!void {
    try w.writeArrayLen(2);
    const A = @TypeOf(args);
    if (@typeInfo(A) == .Struct and !@typeInfo(A).Struct.is_tuple) @compileError("mrun.spawn: positional arguments are a tuple, .{ a, b }");
    try w.write(args);
    const K = @TypeOf(kwargs);
    const ks = @typeInfo(K).Struct;
    try w.writeMapLen(ks.fields.len);
    if (ks.is_tuple and ks.fields.len > 0) @compileError("mrun.spawnWith: keyword arguments are a struct, .{ .name = value }");
    inline for (ks.fields) |f| {
        try w.writeStr(f.name);
        try w.write(@field(kwargs, f.name));
    }
}

/// execute runs the tasks of `objects`, with everything they depend on, in parallel where the
/// graph allows, and waits until all have finished. If some failed, it returns
/// `error.TaskFailed` after recording the first failed Object's error (see `lastError`);
/// the values of the others can still be fetched.
pub fn execute(objects: []const Object) NestedError!void {
    return executeAll(objects);
}

fn executeAll(objects: []const Object) NestedError!void {
    if (objects.len == 0) return;
    const rc = host.execute(@ptrCast(objects.ptr), @intCast(objects.len));
    if (rc == 0) return;
    if (rc != 1) return hostFailure(rc);
    // Find the first failed Object: fetch with no room copies nothing and says -2 for it.
    var empty: [0]u8 = .{};
    for (objects) |o| {
        if (host.fetch(o.handle, &empty, 0) == -2) {
            _ = hostFailure(-2) catch {};
            failed_handle = o.handle;
            return error.TaskFailed;
        }
    }
    recordHost(error.TaskFailed, "execute: a task failed", .{});
    return error.TaskFailed;
}

/// fetchBytes fetches a value and returns its bytes: in the reused fetch buffer when `copy` is
/// false (the caller decodes them before the next fetch), in the arena when it is true. A value
/// larger than the fetch buffer is fetched a second time, straight to where it is kept.
fn fetchBytes(handle: u32, copy: bool) NestedError![]const u8 {
    if (fetch_buf.capacity < 4096) fetch_buf.ensureTotalCapacity(4096) catch return oomNested();
    const cap = fetch_buf.capacity;
    const n = host.fetch(handle, fetch_buf.items.ptr, @intCast(cap));
    if (n < 0) return fetchFailure(handle, n);
    const len: usize = @intCast(n);
    if (len <= cap) {
        const bytes = fetch_buf.items.ptr[0..len];
        if (!copy) return bytes;
        const out = allocator().alignedAlloc(u8, 8, len) catch return oomNested();
        @memcpy(out, bytes);
        return out;
    }
    const dst: []u8 = if (copy)
        allocator().alignedAlloc(u8, 8, len) catch return oomNested()
    else blk: {
        fetch_buf.ensureTotalCapacity(len) catch return oomNested();
        break :blk fetch_buf.items.ptr[0..len];
    };
    const m = host.fetch(handle, dst.ptr, @intCast(len));
    if (m < 0) return fetchFailure(handle, m);
    if (m != n) return fetchFailure(handle, -1);
    return dst;
}

fn fetchFailure(handle: u32, code: i64) NestedError {
    const err = hostFailure(code);
    if (err == error.TaskFailed) failed_handle = handle;
    return err;
}

fn oomNested() NestedError {
    recordHost(error.OutOfMemory, "out of memory", .{});
    return error.OutOfMemory;
}

/// needsCopy reports whether a decoded T may point into the bytes it was decoded from.
fn needsCopy(comptime T: type) bool {
    return switch (@typeInfo(T)) {
        .Bool, .Int, .Float, .Enum, .Void => false,
        .Optional => |o| needsCopy(o.child),
        .Array => |a| needsCopy(a.child),
        .Struct => |s| blk: {
            if (T == Object) break :blk false;
            for (s.fields) |f| if (needsCopy(f.type)) break :blk true;
            break :blk isTensor(T);
        },
        else => true,
    };
}

fn recordHost(err: anyerror, comptime fmt: []const u8, args: anytype) void {
    host_message.clearRetainingCapacity();
    host_message.writer().print(fmt, args) catch {};
    message.clearRetainingCapacity();
    message.appendSlice(host_message.items) catch {};
    message_kind = .prefixed;
    message_err = err;
    failed_handle = 0;
}

/// hostFailure turns a negative return code into its error and records the host's message.
fn hostFailure(code: i64) NestedError {
    const err: NestedError = switch (code) {
        -2 => error.TaskFailed,
        -3 => error.NotExecuted,
        -4 => error.Limit,
        -5 => error.Cancelled,
        -6 => error.Unsupported,
        else => error.Invalid,
    };
    host_message.clearRetainingCapacity();
    var n: usize = @intCast(@max(0, host.last_error(host_message.items.ptr, 0)));
    if (n > 0) {
        if (host_message.ensureTotalCapacity(n)) |_| {
            n = @intCast(@max(0, host.last_error(host_message.items.ptr, @intCast(host_message.capacity))));
            host_message.items.len = @min(n, host_message.capacity);
        } else |_| {}
    }
    message.clearRetainingCapacity();
    message.appendSlice(host_message.items) catch {};
    message_kind = .prefixed;
    message_err = err;
    failed_handle = 0;
    return err;
}

// ---------------------------------------------------------------------------------------------
// Tables (ABI.md section 5.4, ext type 5)

const ext_table: i8 = 5;
const max_table_columns = 1 << 16;

/// ColumnType is the type of a table column; its value is the code of ABI.md section 5.4.
pub const ColumnType = enum(u8) {
    /// 64-bit signed integers.
    int64 = 4,
    /// IEEE 754 doubles.
    float64 = 10,
    /// Booleans.
    bool = 11,
    /// UTF-8 text.
    string = 32,
    /// Nanoseconds since 1970-01-01 UTC, as int64.
    timestamp = 33,
};

/// Strings is the values of a string column: value i is `text[offsets[i]..offsets[i + 1]]`, and
/// there is one more offset than values, the first 0 and the last `text.len`. In a table
/// argument both point into the argument frame.
pub const Strings = struct {
    /// rows + 1 offsets into text, from 0, never decreasing.
    offsets: []const u32 = &.{0},
    /// The text of every value, one after the other.
    text: []const u8 = "",

    /// len returns the number of values.
    pub fn len(s: Strings) usize {
        return if (s.offsets.len == 0) 0 else s.offsets.len - 1;
    }

    /// at returns value i; i must be below len().
    pub fn at(s: Strings, i: usize) []const u8 {
        return s.text[s.offsets[i]..s.offsets[i + 1]];
    }
};

/// Column is one named, typed column of a `Table`. Its values are a slice of the column's type
/// (`Strings` for strings); in a table argument they point into the argument frame, read in
/// place, and are valid until the function returns.
pub const Column = struct {
    /// The name: 1 to 65535 bytes of UTF-8, distinct within its table.
    name: []const u8,
    /// The values.
    values: Values,

    /// Values is a column's values, tagged with its type.
    pub const Values = union(ColumnType) {
        /// The values of an int64 column.
        int64: []const i64,
        /// The values of a float64 column; NaN stands for a missing value.
        float64: []const f64,
        /// The values of a bool column.
        bool: []const bool,
        /// The values of a string column.
        string: Strings,
        /// The values of a timestamp column: nanoseconds since 1970-01-01 UTC.
        timestamp: []const i64,
    };

    /// int64s returns an int64 column that refers to v.
    pub fn int64s(name: []const u8, v: []const i64) Column {
        return .{ .name = name, .values = .{ .int64 = v } };
    }

    /// float64s returns a float64 column that refers to v.
    pub fn float64s(name: []const u8, v: []const f64) Column {
        return .{ .name = name, .values = .{ .float64 = v } };
    }

    /// bools returns a bool column that refers to v.
    pub fn bools(name: []const u8, v: []const bool) Column {
        return .{ .name = name, .values = .{ .bool = v } };
    }

    /// timestamps returns a timestamp column of nanoseconds since 1970-01-01 UTC that refers to v.
    pub fn timestamps(name: []const u8, v: []const i64) Column {
        return .{ .name = name, .values = .{ .timestamp = v } };
    }

    /// strings returns a string column that refers to s.
    pub fn strings(name: []const u8, s: Strings) Column {
        return .{ .name = name, .values = .{ .string = s } };
    }

    /// fromStrings returns a string column of the given values, copied into the call's arena.
    pub fn fromStrings(name: []const u8, values: []const []const u8) error{ OutOfMemory, Overflow }!Column {
        const a = allocator();
        const offs = try a.alloc(u32, values.len + 1);
        var total: usize = 0;
        offs[0] = 0;
        for (values, 1..) |v, i| {
            total = try std.math.add(usize, total, v.len);
            offs[i] = std.math.cast(u32, total) orelse return error.Overflow;
        }
        const text = try a.alloc(u8, total);
        var at: usize = 0;
        for (values) |v| {
            @memcpy(text[at..][0..v.len], v);
            at += v.len;
        }
        return strings(name, .{ .offsets = offs, .text = text });
    }

    /// columnType returns the column's type.
    pub fn columnType(c: Column) ColumnType {
        return c.values;
    }

    /// len returns the number of values.
    pub fn len(c: Column) usize {
        return switch (c.values) {
            .string => |s| s.len(),
            inline else => |v| v.len,
        };
    }

    /// as returns the values if the column has type `ty`, else null:
    /// `if (c.as(.float64)) |xs| ...`.
    pub fn as(c: Column, comptime ty: ColumnType) ?std.meta.TagPayload(Values, ty) {
        return if (c.values == ty) @field(c.values, @tagName(ty)) else null;
    }
};

/// Table is a set of named, typed columns of one length, like a data frame: the value of ext
/// type 5 (ABI.md section 5.4). A parameter of type Table receives a table, read in place (a
/// numeric column is a slice into the argument frame when it is aligned, and one copy of the
/// table otherwise); a function returns one as a result; `Object.fetch(Table)` reads a child's.
///
///     fn total(t: mrun.Table) !f64 {
///         const xs = t.column("amount") orelse return mrun.fail("no column amount", .{});
///         var s: f64 = 0;
///         for (xs.as(.float64) orelse return mrun.fail("amount is not float64", .{})) |x| s += x;
///         return s;
///     }
pub const Table = struct {
    /// The columns, in order.
    columns: []const Column = &.{},
    /// The number of rows: every column's length.
    rows: usize = 0,

    /// init returns a table of the given columns, which must have distinct names of 1 to 65535
    /// bytes of UTF-8 and one length. If they do not, it fails with error.BadTable, and a
    /// function that returns that error fails with the reason.
    pub fn init(columns: []const Column) error{BadTable}!Table {
        const t = Table{ .columns = columns, .rows = if (columns.len == 0) 0 else columns[0].len() };
        if (tableProblem(t)) |why| {
            recordMessage(.prefixed, error.BadTable, "{s}", .{why});
            return error.BadTable;
        }
        return t;
    }

    /// column returns the column named name, or null.
    pub fn column(t: Table, name: []const u8) ?Column {
        for (t.columns) |c| {
            if (std.mem.eql(u8, c.name, name)) return c;
        }
        return null;
    }
};

fn pad8(n: u64) u64 {
    return (8 - n % 8) % 8;
}

/// tableProblem says what makes t break ABI.md section 5.4 (in the call's arena), or returns
/// null when it is a valid table.
fn tableProblem(t: Table) ?[]const u8 {
    const a = allocator();
    const oom = "a table is malformed (and there is no memory to say how)";
    if (t.columns.len > max_table_columns)
        return std.fmt.allocPrint(a, "a table has at most {d} columns, got {d}", .{ max_table_columns, t.columns.len }) catch oom;
    if (t.columns.len == 0 and t.rows != 0)
        return std.fmt.allocPrint(a, "{d} rows but no columns", .{t.rows}) catch oom;
    if (t.rows > std.math.maxInt(u32))
        return std.fmt.allocPrint(a, "{d} rows, more than 2^32-1", .{t.rows}) catch oom;
    for (t.columns, 0..) |c, i| {
        if (c.name.len == 0 or c.name.len > std.math.maxInt(u16) or !std.unicode.utf8ValidateSlice(c.name))
            return std.fmt.allocPrint(a, "column {d}: a name is 1 to 65535 bytes of UTF-8", .{i}) catch oom;
        for (t.columns[0..i]) |o| {
            if (std.mem.eql(u8, o.name, c.name))
                return std.fmt.allocPrint(a, "two columns are named \"{s}\"", .{c.name}) catch oom;
        }
        if (c.len() != t.rows)
            return std.fmt.allocPrint(a, "column \"{s}\" has {d} values, the table has {d} rows", .{ c.name, c.len(), t.rows }) catch oom;
        switch (c.values) {
            .bool => |v| {
                for (std.mem.sliceAsBytes(v)) |b| if (b > 1)
                    return std.fmt.allocPrint(a, "bool column \"{s}\" holds a byte other than 0 and 1", .{c.name}) catch oom;
            },
            .string => |s| {
                if (s.offsets.len != t.rows + 1 or s.offsets[0] != 0)
                    return std.fmt.allocPrint(a, "string column \"{s}\": its offsets are not n+1 offsets from 0", .{c.name}) catch oom;
                // Valid text that no offset cuts inside a character holds valid values.
                const valid = std.unicode.utf8ValidateSlice(s.text);
                for (0..t.rows) |k| {
                    const lo = s.offsets[k];
                    const hi = s.offsets[k + 1];
                    if (hi < lo or hi > s.text.len or !valid and !std.unicode.utf8ValidateSlice(s.text[lo..hi]) or
                        hi < s.text.len and s.text[hi] & 0xc0 == 0x80)
                        return std.fmt.allocPrint(a, "string column \"{s}\": value {d} is out of order, out of range or not UTF-8", .{ c.name, k }) catch oom;
                }
                if (s.offsets[t.rows] != s.text.len)
                    return std.fmt.allocPrint(a, "string column \"{s}\": the last offset is not its length", .{c.name}) catch oom;
            },
            else => {},
        }
    }
    return null;
}

/// table_problem is the reason of the last error.BadTable of Writer.writeTable.
var table_problem: []const u8 = "";

fn readLe(comptime T: type, p: []const u8) T {
    return std.mem.readInt(T, p[0..@sizeOf(T)], .Little);
}

/// parseTable reads an ext-5 payload, checking it against ABI.md section 5.4 with the messages
/// of the Go SDK. The numeric columns and string offsets point into p, which must be 8-aligned.
fn parseTable(d: *Decoder, p: []const u8) DecodeError!Table {
    if (p.len < 16) return d.fail("malformed table: a payload of {d} bytes is shorter than the 16-byte header", .{p.len});
    const ncols: u64 = readLe(u32, p[0..]);
    const nrows = readLe(u64, p[8..]);
    if (readLe(u32, p[4..]) != 0) return d.fail("malformed table: the flags are not zero", .{});
    if (ncols > max_table_columns) return d.fail("malformed table: {d} columns, more than {d}", .{ ncols, max_table_columns });
    if (nrows > std.math.maxInt(u32)) return d.fail("malformed table: {d} rows, more than 2^32-1", .{nrows});
    if (ncols == 0 and nrows != 0) return d.fail("malformed table: {d} rows but no columns", .{nrows});
    if (ncols * 5 > p.len - 16) return d.fail("malformed table: a payload of {d} bytes cannot hold {d} columns", .{ p.len, ncols });
    const rows: usize = @intCast(nrows);
    const cols = allocator().alloc(Column, @intCast(ncols)) catch return d.oom();
    const types = allocator().alloc(u8, @intCast(ncols)) catch return d.oom();
    var off: usize = 16;
    for (cols, types, 0..) |*c, *ty, i| {
        if (p.len - off < 4 or p[off + 1] != 0)
            return d.fail("malformed table: column descriptor {d} is cut short or its padding is not zero", .{i});
        ty.* = p[off];
        const nl: usize = readLe(u16, p[off + 2 ..]);
        off += 4;
        if (nl > p.len - off) return d.fail("malformed table: the name of column {d} runs past the payload", .{i});
        c.name = p[off .. off + nl];
        off += nl;
    }
    // The descriptors end with zero bytes up to a multiple of 8.
    const pad: usize = @intCast(pad8(off));
    if (pad > p.len - off or !std.mem.allEqual(u8, p[off .. off + pad], 0))
        return d.fail("malformed table: the column descriptors' padding is cut short or not zero", .{});
    off += pad;
    const Take = struct {
        p: []const u8,
        off: *usize,
        fn take(s: @This(), n: u64) ?[]const u8 {
            const padded = n + pad8(n);
            if (padded > s.p.len - s.off.*) return null;
            const at = s.off.*;
            const b = s.p[at .. at + @as(usize, @intCast(n))];
            if (!std.mem.allEqual(u8, s.p[at + b.len .. at + @as(usize, @intCast(padded))], 0)) return null;
            s.off.* += @intCast(padded);
            return b;
        }
    };
    const tk = Take{ .p = p, .off = &off };
    for (cols, types) |*c, ty| {
        const ct = std.meta.intToEnum(ColumnType, ty) catch
            return d.fail("malformed table: column \"{s}\" has unknown type {d}", .{ c.name, ty });
        const short = "malformed table: column \"{s}\" runs past the payload or its padding is not zero";
        switch (ct) {
            .string => {
                const ob = tk.take(4 * (nrows + 1)) orelse return d.fail(short, .{c.name});
                const offs = @as([*]const u32, @ptrCast(@alignCast(ob.ptr)))[0 .. rows + 1];
                const text = tk.take(offs[rows]) orelse return d.fail(short, .{c.name});
                c.values = .{ .string = .{ .offsets = offs, .text = text } };
            },
            .bool => {
                const b = tk.take(nrows) orelse return d.fail(short, .{c.name});
                c.values = .{ .bool = if (rows == 0) &.{} else @as([*]const bool, @ptrCast(b.ptr))[0..rows] };
            },
            inline .int64, .float64, .timestamp => |tag| {
                const b = tk.take(8 * nrows) orelse return d.fail(short, .{c.name});
                const E = if (tag == .float64) f64 else i64;
                const v: []const E = if (rows == 0) &.{} else @as([*]const E, @ptrCast(@alignCast(b.ptr)))[0..rows];
                c.values = @unionInit(Column.Values, @tagName(tag), v);
            },
        }
    }
    if (off != p.len) return d.fail("malformed table: {d} bytes after the last column", .{p.len - off});
    const t = Table{ .columns = cols, .rows = rows };
    if (tableProblem(t)) |why| return d.fail("malformed table: {s}", .{why});
    return t;
}

// ---------------------------------------------------------------------------------------------
// Tensors of mrun:tensor (docs/tensors.md)

/// mt is a thin wrapper over module mrun:tensor, the chunked tensors built into every mrun
/// process and worker: it builds an expression, the MessagePack map that function eval of
/// mrun:tensor takes, and evaluates it by spawning eval from the running function, as Mars's
/// `mt` inside a spawned function:
///
///     const s = try mrun.mt.rand(seed, &.{ 10, 10 }).sum(null).float64(); // mt.random.rand(10, 10).sum()
///
/// The names follow the Go SDK's package mt (and the host's tensor/expr), in Zig's case:
/// `matMul`, `asType`, `argMax`, `t()`; `variance` is Go's `Var`, since `var` is a keyword.
/// Building allocates the expression's nodes in the call's arena and computes nothing; an
/// expression is valid until the function returns. A node that cannot be allocated makes an
/// Expr that evaluation reports as out of memory.
pub const mt = struct {
    /// module is the native module of the planner.
    pub const module = "mrun:tensor";
    /// function is the planner's function.
    pub const function = "eval";

    /// DType is a tensor's element type, by its name in expressions.
    pub const DType = enum { int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, bool };

    /// Expr is a lazy tensor expression: a node of the expression tree, in the call's arena.
    /// Methods build bigger expressions; `spawn`, `eval`, `float64` and `tensor` evaluate it.
    pub const Expr = struct {
        /// The node, or null when building it ran out of memory.
        node: ?*const Node = null,

        /// add returns e + y, broadcasting as NumPy does. y is an Expr, a Tensor(T), or a
        /// number or bool: a scalar that takes e's dtype where its kind allows.
        pub fn add(e: Expr, y: anytype) Expr {
            return e.binary("add", y);
        }
        /// sub returns e - y.
        pub fn sub(e: Expr, y: anytype) Expr {
            return e.binary("sub", y);
        }
        /// mul returns e * y.
        pub fn mul(e: Expr, y: anytype) Expr {
            return e.binary("mul", y);
        }
        /// div returns e / y (true division: integers give float64).
        pub fn div(e: Expr, y: anytype) Expr {
            return e.binary("div", y);
        }
        /// pow returns e ** y.
        pub fn pow(e: Expr, y: anytype) Expr {
            return e.binary("pow", y);
        }
        /// eq returns the bool tensor e == y.
        pub fn eq(e: Expr, y: anytype) Expr {
            return e.binary("eq", y);
        }
        /// ne returns the bool tensor e != y.
        pub fn ne(e: Expr, y: anytype) Expr {
            return e.binary("ne", y);
        }
        /// lt returns the bool tensor e < y.
        pub fn lt(e: Expr, y: anytype) Expr {
            return e.binary("lt", y);
        }
        /// le returns the bool tensor e <= y.
        pub fn le(e: Expr, y: anytype) Expr {
            return e.binary("le", y);
        }
        /// gt returns the bool tensor e > y.
        pub fn gt(e: Expr, y: anytype) Expr {
            return e.binary("gt", y);
        }
        /// ge returns the bool tensor e >= y.
        pub fn ge(e: Expr, y: anytype) Expr {
            return e.binary("ge", y);
        }
        /// neg returns -e.
        pub fn neg(e: Expr) Expr {
            return make1("neg", .{ "x", e });
        }
        /// abs returns |e|.
        pub fn abs(e: Expr) Expr {
            return make1("abs", .{ "x", e });
        }
        /// sqrt returns the square root of e (integers give float64).
        pub fn sqrt(e: Expr) Expr {
            return make1("sqrt", .{ "x", e });
        }
        /// exp returns the exponential of e (integers give float64).
        pub fn exp(e: Expr) Expr {
            return make1("exp", .{ "x", e });
        }
        /// log returns the natural logarithm of e (integers give float64).
        pub fn log(e: Expr) Expr {
            return make1("log", .{ "x", e });
        }
        /// asType returns e converted to dtype d, as NumPy's astype.
        pub fn asType(e: Expr, d: DType) Expr {
            return make("astype", .{ .x = e, .dtype = @tagName(d) });
        }

        /// sum returns the sum of e over axes (null: every axis, giving a number).
        pub fn sum(e: Expr, axes: ?[]const i64) Expr {
            return e.reduce("sum", axes, null);
        }
        /// mean returns the mean of e over axes (null: every axis).
        pub fn mean(e: Expr, axes: ?[]const i64) Expr {
            return e.reduce("mean", axes, null);
        }
        /// variance returns the variance of e over axes (null: every axis), dividing by
        /// n - ddof: op "var".
        pub fn variance(e: Expr, axes: ?[]const i64, ddof: i64) Expr {
            return e.reduce("var", axes, ddof);
        }
        /// stddev returns the standard deviation of e over axes (null: every axis), with
        /// n - ddof: op "std".
        pub fn stddev(e: Expr, axes: ?[]const i64, ddof: i64) Expr {
            return e.reduce("std", axes, ddof);
        }
        /// min returns the minimum of e over axes (null: every axis); NaN if any element is.
        pub fn min(e: Expr, axes: ?[]const i64) Expr {
            return e.reduce("min", axes, null);
        }
        /// max returns the maximum of e over axes (null: every axis); NaN if any element is.
        pub fn max(e: Expr, axes: ?[]const i64) Expr {
            return e.reduce("max", axes, null);
        }
        /// argMin returns the int64 index of the first minimum: flat over the whole tensor when
        /// axes is null, else along the one axis given.
        pub fn argMin(e: Expr, axes: ?[]const i64) Expr {
            return e.reduce("argmin", axes, null);
        }
        /// argMax returns the int64 index of the first maximum, as argMin.
        pub fn argMax(e: Expr, axes: ?[]const i64) Expr {
            return e.reduce("argmax", axes, null);
        }
        /// keepDims returns the reduction e keeping its reduced axes with size 1.
        pub fn keepDims(e: Expr) Expr {
            return e.with("keepdims", true);
        }

        /// matMul returns the matrix product of e and y, both two-dimensional.
        pub fn matMul(e: Expr, y: Expr) Expr {
            return make("matmul", .{ .x = e, .y = y });
        }
        /// t returns e with its axes reversed.
        pub fn t(e: Expr) Expr {
            return make1("transpose", .{ "x", e });
        }
        /// transpose returns e with its axes permuted: axis k of the result is axis axes[k] of e.
        pub fn transpose(e: Expr, axes: []const i64) Expr {
            return make("transpose", .{ .x = e, .axes = axes });
        }
        /// slice returns e[start:stop:step, …] with one `.{ start, stop, step }` per leading
        /// axis, null for an omitted entry; negative indices count from the end, as in Python.
        pub fn slice(e: Expr, index: []const [3]?i64) Expr {
            return make("slice", .{ .index = index, .x = e });
        }
        /// reshape returns e with a new shape of the same size (one entry may be -1). It works
        /// chunk by chunk, so e must be split along axis 0 only, in whole rows of the result.
        pub fn reshape(e: Expr, shape: []const i64) Expr {
            return make("reshape", .{ .shape = shape, .x = e });
        }
        /// rechunk returns e split into chunks of the given sizes (one per axis, -1 for whole).
        pub fn rechunk(e: Expr, chunks: []const i64) Expr {
            return make("rechunk", .{ .chunks = chunks, .x = e });
        }
        /// withChunks returns e with its chunk shape set: one size per axis, -1 for a whole
        /// axis. On a creation or fromTensor it sets how the tensor is made; on anything else it
        /// rechunks the result.
        pub fn withChunks(e: Expr, chunks: []const i64) Expr {
            return e.with("chunks", chunks);
        }

        /// with returns e with field `key` set to `value` (anything `Writer.write` encodes, or
        /// an Expr): every field of docs/tensors.md is reachable, e.g.
        /// `mt.linspace(0, 1, 5).with("endpoint", false)`.
        pub fn with(e: Expr, key: []const u8, value: anytype) Expr {
            const n = e.node orelse return e;
            const v = operand(value) orelse return .{};
            const a = allocator();
            var fields = a.alloc(Field, n.fields.len + 1) catch return .{};
            var k: usize = 0;
            for (n.fields) |f| {
                if (std.mem.eql(u8, f.key, key)) continue;
                fields[k] = f;
                k += 1;
            }
            fields[k] = .{ .key = a.dupe(u8, key) catch return .{}, .value = v };
            return finish(fields[0 .. k + 1]);
        }

        fn binary(e: Expr, comptime name: []const u8, y: anytype) Expr {
            return make(name, .{ .x = e, .y = y });
        }

        fn reduce(e: Expr, comptime name: []const u8, axes: ?[]const i64, ddof: ?i64) Expr {
            if (ddof) |dd| return make(name, .{ .axis = axes, .ddof = dd, .x = e });
            return make(name, .{ .axis = axes, .x = e });
        }

        /// spawn spawns eval of mrun:tensor with e and returns its lazy Object: execute it, with
        /// other Objects if you like, then fetch its value.
        pub fn spawn(e: Expr) NestedError!Object {
            if (e.node == null) {
                recordHost(error.OutOfMemory, "mt: out of memory while building the expression", .{});
                return error.OutOfMemory;
            }
            return spawnWith(function, .{e}, .{}, .{ .module = module });
        }

        /// eval evaluates e (spawns eval, executes it) and fetches its value as a T, as
        /// `Object.fetch` does.
        pub fn eval(e: Expr, comptime T: type) NestedError!T {
            const o = try e.spawn();
            try o.execute();
            return o.fetch(T);
        }

        /// float64 evaluates e, whose value must be a number (a full sum, mean, std, …).
        pub fn float64(e: Expr) NestedError!f64 {
            return e.eval(f64);
        }

        /// tensor evaluates e, whose value must be a tensor of element type E (at least one
        /// dimension), and returns it, read in the call's arena.
        pub fn tensor(e: Expr, comptime E: type) NestedError!Tensor(E) {
            return e.eval(Tensor(E));
        }

        /// write encodes e as its expression map, keys sorted (so it is the map the host's
        /// tensor/expr writes for the same expression).
        fn write(e: Expr, w: *Writer) Writer.Error!void {
            const n = e.node orelse return error.BadExpr;
            try w.writeMapLen(n.fields.len);
            for (n.fields) |f| {
                try w.writeStr(f.key);
                switch (f.value) {
                    .expr => |x| try x.write(w),
                    .exprs => |xs| {
                        try w.writeArrayLen(xs.len);
                        for (xs) |x| try x.write(w);
                    },
                    .raw => |b| try w.writeRaw(b),
                }
            }
        }
    };

    /// Node is one operator and its fields, keys sorted.
    pub const Node = struct {
        fields: []const Field,
    };

    const Field = struct {
        key: []const u8,
        value: Operand,
    };

    /// An operand is an expression, a list of them, or any other value, encoded when built.
    const Operand = union(enum) {
        expr: Expr,
        exprs: []const Expr,
        raw: []const u8,
    };

    /// operand turns a field's value into an Operand: an Expr as a node, a tensor as a
    /// "tensor" expression, floats as float64 (as the host does), and anything else encoded.
    /// It returns null when memory runs out or an Expr in it failed.
    fn operand(v: anytype) ?Operand {
        const V = @TypeOf(v);
        if (V == Expr) return if (v.node == null) null else .{ .expr = v };
        if (comptime isExprList(V)) {
            for (v) |x| if (x.node == null) return null;
            // Copied: the list is often a temporary, &.{ a, b }, gone when the function returns.
            return .{ .exprs = allocator().dupe(Expr, v) catch return null };
        }
        if (comptime isTensor(V)) return operand(fromTensor(v));
        var list = std.ArrayList(u8).init(allocator());
        var w = Writer{ .list = &list, .allow_handles = false };
        switch (@typeInfo(V)) {
            .Float, .ComptimeFloat => w.writeFloat(@as(f64, v)) catch return null, // float32 too, as the host
            // Shapes, axes, slice indexes with null entries, strings, bools, integers.
            else => w.write(v) catch return null,
        }
        return .{ .raw = list.items };
    }

    fn isExprList(comptime V: type) bool {
        return switch (@typeInfo(V)) {
            .Pointer => |p| switch (p.size) {
                .Slice => p.child == Expr,
                .One => @typeInfo(p.child) == .Array and @typeInfo(p.child).Array.child == Expr,
                else => false,
            },
            else => false,
        };
    }

    /// make returns the expression of operator `op` with the fields of the struct `fields`
    /// (`.{ .x = e, .y = 2 }`): any operator the host accepts, with any of its fields.
    pub fn make(op: []const u8, fields: anytype) Expr {
        const F = @TypeOf(fields);
        const info = @typeInfo(F).Struct;
        if (info.is_tuple) @compileError("mrun.mt.make: fields are a struct, .{ .x = e }");
        const out = allocator().alloc(Field, info.fields.len + 1) catch return .{};
        out[0] = .{ .key = "op", .value = operand(op) orelse return .{} };
        inline for (info.fields, 1..) |f, i| {
            out[i] = .{ .key = f.name, .value = operand(@field(fields, f.name)) orelse return .{} };
        }
        return finish(out);
    }

    /// make1 is make for one field given as a tuple .{ key, value }.
    fn make1(op: []const u8, kv: anytype) Expr {
        const out = allocator().alloc(Field, 2) catch return .{};
        out[0] = .{ .key = "op", .value = operand(op) orelse return .{} };
        out[1] = .{ .key = kv[0], .value = operand(kv[1]) orelse return .{} };
        return finish(out);
    }

    /// finish sorts the fields by key and makes the node.
    fn finish(fields: []Field) Expr {
        std.sort.insertion(Field, fields, {}, struct {
            fn less(_: void, a: Field, b: Field) bool {
                return std.mem.lessThan(u8, a.key, b.key);
            }
        }.less);
        const n = allocator().create(Node) catch return .{};
        n.* = .{ .fields = fields };
        return .{ .node = n };
    }

    /// rand returns a tensor of the given shape of float64 numbers uniform in [0, 1). Element i
    /// (row-major) depends only on seed and i, so the values do not depend on the chunks.
    pub fn rand(seed: i64, shape: []const i64) Expr {
        return make("rand", .{ .seed = seed, .shape = shape });
    }
    /// zeros returns a float64 tensor of zeros.
    pub fn zeros(shape: []const i64) Expr {
        return make("zeros", .{ .shape = shape });
    }
    /// ones returns a float64 tensor of ones.
    pub fn ones(shape: []const i64) Expr {
        return make("ones", .{ .shape = shape });
    }
    /// full returns a tensor of the given shape and dtype filled with value (a number or bool).
    pub fn full(value: anytype, d: DType, shape: []const i64) Expr {
        return make("full", .{ .dtype = @tagName(d), .shape = shape, .value = value });
    }
    /// arange returns the int64 tensor start, start+step, … up to stop (excluded), as
    /// numpy.arange.
    pub fn arange(start: i64, stop: i64, step: i64) Expr {
        return make("arange", .{ .start = start, .step = step, .stop = stop });
    }
    /// linspace returns num float64 numbers evenly spaced from start to stop (included), as
    /// numpy.linspace.
    pub fn linspace(start: f64, stop: f64, num: i64) Expr {
        return make("linspace", .{ .num = num, .start = start, .stop = stop });
    }
    /// fromTensor returns an expression whose value is t, any `Tensor(T)`; the planner cuts it
    /// into chunks. The expression refers to t's elements, written when it is spawned.
    pub fn fromTensor(t: anytype) Expr {
        if (!comptime isTensor(@TypeOf(t))) @compileError("mrun.mt.fromTensor: want a mrun.Tensor(T), got " ++ @typeName(@TypeOf(t)));
        var list = std.ArrayList(u8).init(allocator());
        var w = Writer{ .list = &list, .allow_handles = false };
        w.write(t) catch return .{};
        const out = allocator().alloc(Field, 2) catch return .{};
        out[0] = .{ .key = "op", .value = operand("tensor") orelse return .{} };
        out[1] = .{ .key = "value", .value = .{ .raw = list.items } };
        return finish(out);
    }
    /// where returns x where cond is true and y elsewhere, broadcasting all three; each is an
    /// Expr, a Tensor(T) or a scalar.
    pub fn where(cond: anytype, x: anytype, y: anytype) Expr {
        return make("where", .{ .cond = cond, .x = x, .y = y });
    }
    /// concatenate joins xs along axis.
    pub fn concatenate(axis: i64, xs: []const Expr) Expr {
        return make("concatenate", .{ .axis = axis, .xs = xs });
    }
};

// ---------------------------------------------------------------------------------------------
// Tests: zig test guests/zig/mrun.zig (on the host; nothing here calls the imports).

const testing = std.testing;

fn encodeForTest(v: anytype) ![]u8 {
    var list = std.ArrayList(u8).init(testing.allocator);
    errdefer list.deinit();
    var w = Writer{ .list = &list };
    try w.write(v);
    return list.toOwnedSlice();
}

fn expectEncoding(v: anytype, want: []const u8) !void {
    const got = try encodeForTest(v);
    defer testing.allocator.free(got);
    try testing.expectEqualSlices(u8, want, got);
}

test "Writer: integers in their shortest encoding" {
    try expectEncoding(@as(i64, 0), &.{0x00});
    try expectEncoding(@as(u8, 127), &.{0x7f});
    try expectEncoding(@as(i32, 128), &.{ 0xcc, 0x80 });
    try expectEncoding(@as(i64, -1), &.{0xff});
    try expectEncoding(@as(i64, -32), &.{0xe0});
    try expectEncoding(@as(i64, -33), &.{ 0xd0, 0xdf });
    try expectEncoding(@as(u16, 0xffff), &.{ 0xcd, 0xff, 0xff });
    try expectEncoding(@as(i64, -32769), &.{ 0xd2, 0xff, 0xff, 0x7f, 0xff });
    try expectEncoding(@as(u64, std.math.maxInt(u64)), &.{ 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff });
    try expectEncoding(@as(i64, std.math.minInt(i64)), &.{ 0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0 });
    try testing.expectError(error.IntegerOutOfRange, encodeForTest(@as(i128, 1) << 64));
}

test "Writer: strings, bytes, lists, maps, tuples" {
    try expectEncoding("hi", &.{ 0xa2, 'h', 'i' });
    try expectEncoding(Bytes{ .data = "hi" }, &.{ 0xc4, 0x02, 'h', 'i' });
    try expectEncoding(@as([]const i64, &.{ 1, 2 }), &.{ 0x92, 0x01, 0x02 });
    try expectEncoding(.{ true, null, {} }, &.{ 0x93, 0xc3, 0xc0, 0xc0 });
    try expectEncoding(struct { a: u8 = 1 }{}, &.{ 0x81, 0xa1, 'a', 0x01 });
    try expectEncoding(@as(f64, 1.5), &.{ 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0 });
    try expectEncoding(@as(f32, 1.5), &.{ 0xca, 0x3f, 0xc0, 0, 0 });
    try expectEncoding(Tensor(f64){ .shape = &.{}, .data = &.{1.0} }, &[_]u8{ 0xd8, 4, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f });
    try testing.expectError(error.BadTensor, encodeForTest(Tensor(f64){ .shape = &.{2}, .data = &.{1.0} }));
    var list = std.ArrayList(u8).init(testing.allocator);
    defer list.deinit();
    var w = Writer{ .list = &list, .allow_handles = false };
    try testing.expectError(error.ObjectInResult, w.write(Object{ .handle = 1 }));
}

test "Reader: integers are range-checked" {
    var r = Reader{ .buf = &.{ 0xcd, 0x01, 0x00 } };
    try testing.expectError(error.OutOfRange, r.readInt(u8));
    try testing.expectEqual(@as(u16, 256), try r.readInt(u16));
    r = Reader{ .buf = &.{0xff} };
    try testing.expectError(error.OutOfRange, r.readInt(u64));
    try testing.expectEqual(@as(i8, -1), try r.readInt(i8));
    r = Reader{ .buf = &.{ 0xce, 0x01 } };
    try testing.expectError(error.EndOfInput, r.readInt(u32));
    r = Reader{ .buf = &.{0xa1} };
    try testing.expectError(error.WrongType, r.readInt(u32));
}

test "Reader: skip does not recurse and stops at the end" {
    var deep: [2000]u8 = undefined;
    @memset(deep[0..1999], 0x91);
    deep[1999] = 0xc0;
    var r = Reader{ .buf = &deep };
    try r.skip();
    try testing.expect(r.atEnd());
    r = Reader{ .buf = &.{ 0xdd, 0xff, 0xff, 0xff, 0xff } };
    try testing.expectError(error.EndOfInput, r.skip());
}

fn decodeForTest(comptime T: type, bytes: []const u8) DecodeError!T {
    var r = Reader{ .buf = bytes };
    var d = Decoder{ .root = .{ .arg = 1 } };
    return d.decode(&r, T);
}

test "Decoder: typed values and messages with paths" {
    defer _ = arena_state.reset(.free_all);
    const xs = try decodeForTest([]const f64, &.{ 0x92, 0x01, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0 });
    try testing.expectEqualSlices(f64, &.{ 1, 1.5 }, xs);
    try testing.expectError(error.BadValue, decodeForTest([]const f64, &.{ 0x92, 0x01, 0xa1, 'x' }));
    try testing.expectEqualStrings("argument 1[1]: expected a float, got str", message.items);
    const S = struct { a: i64, b: []const u8 = "dflt" };
    const s = try decodeForTest(S, &.{ 0x81, 0xa1, 'a', 0x05 });
    try testing.expectEqual(@as(i64, 5), s.a);
    try testing.expectEqualStrings("dflt", s.b);
    try testing.expectError(error.BadValue, decodeForTest(S, &.{ 0x81, 0xa1, 'b', 0x05 }));
    try testing.expectEqualStrings("argument 1.b: expected a str, got int", message.items);
    try testing.expectError(error.BadValue, decodeForTest(S, &.{0x80}));
    try testing.expectEqualStrings("argument 1: missing key \"a\"", message.items);
    const o = try decodeForTest(Object, &.{ 0xd6, 0x02, 0, 0, 0, 7 });
    try testing.expectEqual(@as(u32, 7), o.handle);
    try testing.expectEqual(@as(?u8, null), try decodeForTest(?u8, &.{0xc0}));
}

test "Decoder: tensors in place when aligned, copied otherwise" {
    defer _ = arena_state.reset(.free_all);
    var buf: [64]u8 align(8) = undefined;
    const payload = [_]u8{ 10, 1, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0 } ++
        std.mem.toBytes(@as(f64, 1.5)) ++ std.mem.toBytes(@as(f64, 2.5));
    // c7 len 04 at offset 5: the payload is at 8, aligned.
    @memcpy(buf[5..8], &[_]u8{ 0xc7, payload.len, 4 });
    @memcpy(buf[8..][0..payload.len], &payload);
    const t = try decodeForTest(Tensor(f64), buf[5 .. 8 + payload.len]);
    try testing.expectEqualSlices(u64, &.{2}, t.shape);
    try testing.expectEqualSlices(f64, &.{ 1.5, 2.5 }, t.data);
    try testing.expectEqual(@intFromPtr(&buf[24]), @intFromPtr(t.data.ptr));
    // The same at offset 6: copied once.
    std.mem.copyBackwards(u8, buf[6 .. 9 + payload.len], buf[5 .. 8 + payload.len]);
    const u = try decodeForTest(Tensor(f64), buf[6 .. 9 + payload.len]);
    try testing.expectEqualSlices(f64, &.{ 1.5, 2.5 }, u.data);
    try testing.expect(@intFromPtr(u.data.ptr) % 8 == 0);
    try testing.expectError(error.BadValue, decodeForTest(Tensor(f32), buf[6 .. 9 + payload.len]));
    try testing.expectEqualStrings("argument 1: expected a tensor of float32, got a tensor of float64", message.items);
}

test "Value: decode and encode again gives the same bytes" {
    defer _ = arena_state.reset(.free_all);
    const frame = [_]u8{ 0x85, 0xa1, 'a', 0x93, 0xc0, 0xc3, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xa1, 'b', 0xc4, 0x00, 0xa1, 'c', 0xca, 0x7f, 0xc0, 0, 0, 0xa1, 'd', 0x80, 0xa1, 'e', 0xd4, 0x05, 0x01 };
    const v = try decodeForTest(Value, &frame);
    try expectEncoding(v, &frame);
}

test "SpawnOptions: impure sets bit 30 of n_output" {
    try std.testing.expectEqual(@as(u32, 1), (SpawnOptions{}).nOutput());
    try std.testing.expectEqual(@as(u32, 1 << 30 | 1), (SpawnOptions{ .impure = true }).nOutput());
    try std.testing.expectEqual(@as(u32, 1 << 30 | 3), (SpawnOptions{ .n_output = 3, .impure = true }).nOutput());
    try std.testing.expectEqual(@as(u32, 2), (SpawnOptions{ .n_output = 2 }).nOutput());
}

test "fnName: the Zig name of a function" {
    try testing.expectEqualStrings("plural", comptime fnName(plural));
}

/// abi_table_example is the table of ABI.md section 5.4's example: a = [1, 2], b = ["x", "yz"].
const abi_table_example = [_]u8{ 0xc7, 72, 5 } ++
    [_]u8{ 2, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0 } ++
    [_]u8{ 4, 0, 1, 0, 'a', 32, 0, 1, 0, 'b', 0, 0, 0, 0, 0, 0 } ++
    [_]u8{ 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0 } ++
    [_]u8{ 0, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0 } ++
    [_]u8{ 'x', 'y', 'z', 0, 0, 0, 0, 0 };

test "Table: the example of ABI.md encodes to its bytes and decodes back" {
    defer _ = arena_state.reset(.free_all);
    const b = try Column.fromStrings("b", &.{ "x", "yz" });
    const t = try Table.init(&.{ Column.int64s("a", &.{ 1, 2 }), b });
    try expectEncoding(t, &abi_table_example);
    // At offset 5 of an 8-aligned buffer the payload (after c7 48 05) is aligned: read in place.
    var buf: [8 + abi_table_example.len]u8 align(8) = undefined;
    @memcpy(buf[5..][0..abi_table_example.len], &abi_table_example);
    const u = try decodeForTest(Table, buf[5..][0..abi_table_example.len]);
    try testing.expectEqual(@as(usize, 2), u.rows);
    try testing.expectEqualSlices(i64, &.{ 1, 2 }, u.column("a").?.as(.int64).?);
    try testing.expectEqual(@intFromPtr(&buf[40]), @intFromPtr(u.columns[0].values.int64.ptr));
    const s = u.column("b").?.as(.string).?;
    try testing.expectEqualStrings("yz", s.at(1));
    try testing.expect(u.column("c") == null);
    try testing.expect(u.columns[1].as(.int64) == null);
    // At offset 4 it is not: copied once, and the same.
    @memcpy(buf[4 .. 4 + abi_table_example.len], &abi_table_example);
    const v = try decodeForTest(Table, buf[4 .. 4 + abi_table_example.len]);
    try testing.expectEqualSlices(i64, &.{ 1, 2 }, v.columns[0].values.int64);
    try expectEncoding(v, &abi_table_example);
}

test "Table: every column type, empty strings, NaN, no rows" {
    defer _ = arena_state.reset(.free_all);
    const nan = std.math.nan(f64);
    const s = try Column.fromStrings("s", &.{ "", "Zürich", "" });
    const t = try Table.init(&.{
        Column.int64s("i", &.{ -1, 0, std.math.maxInt(i64) }),
        Column.float64s("f", &.{ 1.5, nan, -0.0 }),
        Column.bools("b", &.{ true, false, true }),
        s,
        Column.timestamps("t", &.{ 0, 1, -1 }),
    });
    const bytes = try encodeForTest(t);
    defer testing.allocator.free(bytes);
    var aligned = try testing.allocator.alignedAlloc(u8, 8, bytes.len + 8);
    defer testing.allocator.free(aligned);
    @memcpy(aligned[1 .. 1 + bytes.len], bytes);
    const u = try decodeForTest(Table, aligned[1 .. 1 + bytes.len]);
    try testing.expectEqual(@as(usize, 5), u.columns.len);
    try testing.expect(std.math.isNan(u.columns[1].values.float64[1]));
    try testing.expectEqualSlices(bool, &.{ true, false, true }, u.columns[2].values.bool);
    try testing.expectEqualStrings("Zürich", u.columns[3].values.string.at(1));
    try testing.expectEqualStrings("", u.columns[3].values.string.at(2));
    try testing.expectEqual(ColumnType.timestamp, u.columns[4].columnType());
    try expectEncoding(u, bytes);
    // No rows, and no columns.
    const e = try Table.init(&.{ Column.int64s("i", &.{}), Column.strings("s", .{}) });
    const eb = try encodeForTest(e);
    defer testing.allocator.free(eb);
    const ed = try decodeForTest(Table, eb);
    try testing.expectEqual(@as(usize, 0), ed.rows);
    try testing.expectEqual(@as(usize, 0), ed.columns[1].values.string.len());
    try expectEncoding(Table{}, &[_]u8{ 0xd8, 5 } ++ [_]u8{0} ** 16);
}

test "Table: malformed tables are errors that say why" {
    defer _ = arena_state.reset(.free_all);
    const Case = struct { at: usize, byte: u8, want: []const u8 };
    for ([_]Case{
        .{ .at = 3 + 4, .byte = 1, .want = "argument 1: malformed table: the flags are not zero" },
        .{ .at = 3 + 16, .byte = 9, .want = "argument 1: malformed table: column \"a\" has unknown type 9" },
        .{ .at = 3 + 25, .byte = 'a', .want = "argument 1: malformed table: two columns are named \"a\"" },
        .{ .at = 3 + 52, .byte = 9, .want = "argument 1: malformed table: string column \"b\": value 0 is out of order, out of range or not UTF-8" },
        .{ .at = 3 + 65, .byte = 0xff, .want = "argument 1: malformed table: string column \"b\": value 1 is out of order, out of range or not UTF-8" },
        .{ .at = 3 + 30, .byte = 1, .want = "argument 1: malformed table: the column descriptors' padding is cut short or not zero" },
    }) |c| {
        var b = abi_table_example;
        b[c.at] = c.byte;
        try testing.expectError(error.BadValue, decodeForTest(Table, &b));
        try testing.expectEqualStrings(c.want, message.items);
    }
    try testing.expectError(error.BadValue, decodeForTest(Table, &.{ 0xd4, 5, 0 }));
    try testing.expectEqualStrings("argument 1: malformed table: a payload of 1 bytes is shorter than the 16-byte header", message.items);
    try testing.expectError(error.BadValue, decodeForTest(Table, &.{0x01}));
    try testing.expectEqualStrings("argument 1: expected a table, got int", message.items);
}

test "Table.init and writeTable check names, lengths and offsets" {
    defer _ = arena_state.reset(.free_all);
    try testing.expectError(error.BadTable, Table.init(&.{ Column.int64s("a", &.{1}), Column.int64s("a", &.{2}) }));
    try testing.expectEqualStrings("two columns are named \"a\"", message.items);
    try testing.expectError(error.BadTable, Table.init(&.{ Column.int64s("a", &.{1}), Column.bools("b", &.{}) }));
    try testing.expectEqualStrings("column \"b\" has 0 values, the table has 1 rows", message.items);
    try testing.expectError(error.BadTable, Table.init(&.{Column.int64s("", &.{})}));
    try testing.expectEqualStrings("column 0: a name is 1 to 65535 bytes of UTF-8", message.items);
    const bad = Table{ .rows = 1, .columns = &.{Column.strings("s", .{ .offsets = &.{ 0, 3 }, .text = "ab" })} };
    try testing.expectError(error.BadTable, encodeForTest(bad));
    try testing.expectEqualStrings("string column \"s\": value 0 is out of order, out of range or not UTF-8", table_problem);
}

test "mt: expressions are maps with sorted keys, as the host writes them" {
    defer _ = arena_state.reset(.free_all);
    // {"axis": nil, "op": "sum", "x": {"op": "rand", "seed": 1, "shape": [2, 3]}}
    try expectEncoding(mt.rand(1, &.{ 2, 3 }).sum(null), "\x83\xa4axis\xc0\xa2op\xa3sum\xa1x" ++
        "\x83\xa2op\xa4rand\xa4seed\x01\xa5shape\x92\x02\x03");
    // Scalars: floats are float64, a float32 too; with replaces a field.
    try expectEncoding(mt.ones(&.{2}).mul(@as(f32, 0.5)).with("y", 2), "\x83\xa2op\xa3mul\xa1x" ++
        "\x82\xa2op\xa4ones\xa5shape\x91\x02\xa1y\x02");
    try expectEncoding(mt.zeros(&.{1}).slice(&.{.{ null, 3, -1 }}), "\x83\xa5index\x91\x93\xc0\x03\xff\xa2op\xa5slice\xa1x" ++
        "\x82\xa2op\xa5zeros\xa5shape\x91\x01");
    const m = try Tensor(f64).alloc(&.{1});
    m.items()[0] = 1.0;
    try expectEncoding(mt.fromTensor(m), "\x82\xa2op\xa6tensor\xa5value\xc7\x18\x04\x0a\x01\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xf0\x3f");
}

test "mt: every operator builds" {
    defer _ = arena_state.reset(.free_all);
    const x = mt.arange(0, 12, 1).reshape(&.{ 3, 4 }).withChunks(&.{ 3, -1 });
    const m = try Tensor(i32).alloc(&.{4});
    @memset(m.items(), 2);
    const parts = [_]mt.Expr{
        x.add(1).sub(2.5).mul(m).div(x).pow(2).neg().abs().sqrt().exp().log(),
        mt.where(x.gt(5), x, 0).eq(1).ne(true).lt(x).le(x).ge(x).asType(.float32),
        x.sum(&.{0}).keepDims().mean(null).variance(null, 1).stddev(&.{0}, 0),
        x.min(null).max(null).argMin(null).argMax(&.{1}),
        x.t().transpose(&.{ 1, 0 }).matMul(mt.ones(&.{ 4, 4 })).rechunk(&.{ 2, 2 }),
        mt.full(7, .int32, &.{2}),
        mt.rand(3, &.{2}),
        mt.linspace(0, 1, 5).with("endpoint", false),
        mt.zeros(&.{2}),
        mt.fromTensor(m),
        mt.make("neg", .{ .x = x }),
    };
    const e = mt.concatenate(0, &parts);
    const bytes = try encodeForTest(e);
    defer testing.allocator.free(bytes);
    var r = Reader{ .buf = bytes };
    try r.skip();
    try testing.expect(r.atEnd());
    try testing.expectError(error.BadExpr, encodeForTest(mt.Expr{}));
}

const sig_test = struct {
    fn inc(x: i64) !i64 {
        return x + 1;
    }
    const GreetOptions = struct { greeting: []const u8 = "hello", punct: []const u8 = "!" };
    fn greet(name: []const u8, opts: GreetOptions) []const u8 {
        _ = opts;
        return name;
    }
    const Options = struct {
        n: u32,
        scale: f64 = 2.5,
        label: ?[]const u8 = null,
        color: enum { red, green } = .green,
        sizes: []const i64 = &.{ 1, 2 },
        quoted: []const u8 = "a \"b\"\\\n",
        on: bool = true,
    };
    fn kwOnly(opts: Options) void {
        _ = opts;
    }
    fn split(xs: []const f64) struct { []f64, []const f64 } {
        _ = xs;
        return .{ &.{}, &.{} };
    }
    fn pair(a: u8, b: i32) [2]u16 {
        return .{ a, @intCast(b) };
    }
    const Point = struct { x: f64, y: f64 };
    const Mixed = struct { n: i64, s: []const u8 };
    fn many(
        a: []u8,
        b: Bytes,
        c: []const Value,
        d: ?i64,
        e: Point,
        f: Mixed,
        g: Tensor(i32),
        h: Table,
        i: Object,
        j: [3]u8,
        k: []const []const u8,
        l: enum { x, y },
        m: struct { i64, []const u8 },
    ) !struct { []u8, [2]u8, Raw, mt.Expr, Tensor(bool) } {
        _ = .{ a, b, c, d, e, f, g, h, i, j, k, l, m };
        return error.Failed;
    }
};

test "signatureLine: the canonical line from a function's types" {
    try testing.expectEqualStrings("inc(x: int) -> int  -- Returns x + 1.", comptime signatureLine(sig_test.inc, "inc", .{"x"}, "Returns x + 1.", .{}));
    try testing.expectEqualStrings(
        \\greet(name: str, *, greeting: str = "hello", punct: str = "!") -> str  -- Greets.
    , comptime signatureLine(sig_test.greet, "greet", .{"name"}, "Greets.", .{ .kw = true }));
    try testing.expectEqualStrings(
        \\kw_only(*, n: int, scale: float = 2.5, label: any = null, color: str = "green", sizes: list[int] = [1,2], quoted: str = "a \"b\"\\\n", on: bool = true) -> none  impure  -- Takes keywords.
    , comptime signatureLine(sig_test.kwOnly, "kw_only", .{}, "Takes keywords.", .{ .kw = true, .impure = true }));
    try testing.expectEqualStrings("split(xs: list[float]) -> (list[float], list[float])  -- Splits.", comptime signatureLine(sig_test.split, "split", .{"xs"}, "Splits.", .{ .outputs = 2 }));
    try testing.expectEqualStrings("split(xs: list[float]) -> list[list[float]]  -- One list.", comptime signatureLine(sig_test.split, "split", .{"xs"}, "One list.", .{}));
    try testing.expectEqualStrings("\"odd name\"(a: int, b: int) -> (int, int)  -- Pairs.", comptime signatureLine(sig_test.pair, "odd name", .{ "a", "b" }, "Pairs.", .{ .outputs = 2 }));
    try testing.expectEqualStrings(
        "many(a: bytes, b: bytes, c: list, d: any, e: map[str, float], f: map[str, any], g: tensor[int32], h: table, " ++
            "i: any, j: list[int], k: list[str], l: str, m: list[any]) -> list[any]  -- Many types.",
        comptime signatureLine(sig_test.many, "many", .{ "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m" }, "Many types.", .{}),
    );
    try testing.expectEqualStrings("many() -> (str, str, any, map[str, any], tensor[bool])", comptime blk: {
        const line = signatureLine(sig_test.many, "many", .{ "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m" }, "x", .{ .outputs = 5 });
        const at = std.mem.indexOf(u8, line, ") -> ").?;
        break :blk "many()" ++ line[at + 1 .. line.len - "  -- x".len];
    });
}

test "asmEscape: quotes, backslashes and bytes beyond ASCII" {
    try testing.expectEqualStrings("a \\\"b\\\\ \\303\\227\\012", comptime asmEscape("a \"b\\ \u{d7}\n"));
}
