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
cd "$root"
go test ./guests/zig/
echo "test.sh: ok"
