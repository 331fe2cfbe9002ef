#!/usr/bin/env bash
# test.sh runs the SDK's own tests natively (codec, argument binding, tensors, tables,
# expressions), with Debian's rustc, and checks the documentation with rustdoc; the
# conformance suite runs the built module (go test ./guests/ ./guests/rust/).
#
#   guests/rust/test.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/toolchain.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# -O: Value nests 512 levels deep by recursion, which unoptimised frames make too deep for a
# test thread's stack.
/usr/bin/rustc --edition 2021 -O --test -D warnings "$here/mrun/src/lib.rs" -o "$work/mrun-test"
"$work/mrun-test" -q
# Every public item has a doc comment (missing_docs) and every doc link resolves.
/usr/bin/rustdoc --edition 2021 --crate-name mrun -D warnings "$here/mrun/src/lib.rs" -o "$work/doc"
# Mistakes in an export! that the signature cannot describe fail the build, with a message
# that says what to write.
/usr/bin/rustc --edition 2021 --crate-type rlib --crate-name mrun "$here/mrun/src/lib.rs" -o "$work/libmrun.rlib"
must_fail() { # must_fail MESSAGE SOURCE
	printf '%s\n' "$2" >"$work/bad.rs"
	if /usr/bin/rustc --edition 2021 --crate-type lib --extern mrun="$work/libmrun.rlib" \
		"$work/bad.rs" -o "$work/libbad.rlib" 2>"$work/bad.txt"; then
		echo "test.sh: this export! built, but should fail with \"$1\":" >&2
		cat "$work/bad.rs" >&2
		exit 1
	fi
	if ! grep -qF "$1" "$work/bad.txt"; then
		echo "test.sh: this export! failed without \"$1\":" >&2
		cat "$work/bad.rs" "$work/bad.txt" >&2
		exit 1
	fi
}
must_fail "every exported function needs a doc comment" \
	'mrun::export! { fn inc(x: i64) -> i64 { x + 1 } }'
must_fail "a function with a Kwargs parameter declares its keywords" \
	'mrun::export! { /// f.
	fn f(kw: mrun::Kwargs) {} }'
must_fail "unknown option \`pure\` in #[mrun(...)]" \
	'mrun::export! { /// f.
	#[mrun(pure)] fn f() {} }'
must_fail "names a parameter the function does not have" \
	'mrun::export! { /// f.
	#[mrun(args(y = "int"))] fn f(x: i64) {} }'
must_fail "#[mrun(kwargs = ...)] needs a Kwargs parameter" \
	'mrun::export! { /// f.
	#[mrun(kwargs = "n: int")] fn f(x: i64) {} }'
echo "test.sh: ok"
