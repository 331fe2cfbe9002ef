#!/usr/bin/env bash
# test.sh runs the Zig SDK's own tests natively (the codec, decoding with messages, tensors in
# place and copied, tables and their malformed forms, mt's expressions: the `test` blocks of
# mrun.zig), checks formatting with `zig fmt`, and then the Go tests of the built modules
# (sdk_test.go: unaligned tensors, malformed frames and tables, the extras module, mt and
# tables through the engine with mrun:tensor and mrun:table). The conformance suite is
# go test ./guests/ -run 'TestConformance/zig/'.
#
#   guests/zig/test.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
zig="$("$here/toolchain.sh")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cd "$here"
"$zig" fmt --check mrun.zig examples/*.zig
"$zig" test mrun.zig --cache-dir "$work/cache" --global-cache-dir "$work/global"

# A mistake in mrun.signature fails the build with a message that names the function.
refuses() {
	local call="$1" want="$2"
	cat >"$work/bad.zig" <<EOF
const mrun = @import("mrun");
fn inc(x: i64) i64 {
    return x + 1;
}
export fn mrun_fn_inc(p: u32, n: u32) u64 {
    return mrun.call(inc, p, n);
}
comptime {
    $call
}
EOF
	if "$zig" build-lib --mod mrun::mrun.zig --deps mrun "$work/bad.zig" -target wasm32-wasi -dynamic -rdynamic \
		-fno-emit-bin --cache-dir "$work/cache" --global-cache-dir "$work/global" 2>"$work/err"; then
		echo "test.sh: '$call' built; want the error: $want" >&2
		exit 1
	fi
	if ! grep -qF "$want" "$work/err"; then
		echo "test.sh: '$call' failed without the error: $want" >&2
		cat "$work/err" >&2
		exit 1
	fi
}
refuses 'mrun.signature(inc, "inc", .{ "x", "y" }, "Returns x + 1.");' \
	'error: mrun.signature(inc): 2 parameter names given for 1 positional parameter'
refuses 'mrun.signature(inc, "inc", .{"x"}, "");' \
	'error: mrun.signature(inc): the doc is empty: describe the function in one line'
refuses 'mrun.signature(inc, "inc", .{"x-1"}, "Returns x + 1.");' \
	'error: mrun.signature(inc): parameter name "x-1" is not an identifier'
refuses 'mrun.signatureWith(inc, "inc", .{"x"}, "Returns x + 1.", .{ .outputs = 2 });' \
	'error: mrun.signature(inc): .outputs = 2: the result must be a tuple or an array of 2 elements, not i64'
refuses 'mrun.signatureWith(inc, "inc", .{}, "Returns x + 1.", .{ .kw = true });' \
	'error: mrun.signature(inc): .kw: the last parameter must be a struct of keyword arguments'
# A trailing optional parameter may be left out, which a signature cannot say: refused.
cat >"$work/opt.zig" <<EOF
const mrun = @import("mrun");
fn scaled(x: f64, k: ?f64) f64 {
    return x * (k orelse 1);
}
export fn mrun_fn_scaled(p: u32, n: u32) u64 {
    return mrun.call(scaled, p, n);
}
comptime {
    mrun.signature(scaled, "scaled", .{ "x", "k" }, "Returns x * k.");
}
EOF
if "$zig" build-lib --mod mrun::mrun.zig --deps mrun "$work/opt.zig" -target wasm32-wasi -dynamic -rdynamic \
	-fno-emit-bin --cache-dir "$work/cache" --global-cache-dir "$work/global" 2>"$work/err" ||
	! grep -qF 'error: mrun.signature(scaled): parameter "k" is optional (?f64) and may be left out' "$work/err"; then
	echo "test.sh: a trailing optional parameter was described, or failed without the error" >&2
	cat "$work/err" >&2
	exit 1
fi
cd "$root"
go test ./guests/zig/
echo "test.sh: ok"
