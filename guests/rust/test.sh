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
echo "test.sh: ok"
