#!/usr/bin/env bash
# build.sh builds the Zig guests: examples/conformance.zig to testdata/zig/conformance.wasm at
# the root of the repository. The build is reproducible: the same sources and Zig give the same
# bytes (no paths, no timestamps, no debug sections), so --check can compare them.
#
#   guests/zig/build.sh          build testdata/zig/conformance.wasm
#   guests/zig/build.sh --check  fail if testdata/zig/conformance.wasm differs from a fresh build
#
# Flags, and why:
#   -target wasm32-wasi -dynamic -rdynamic  a library whose `export fn`s, and memory, are exported
#   -mcpu=generic+bulk_memory               memset and memcpy as memory.fill and memory.copy: Zig
#                                           0.11 otherwise loops over bytes, which cost ~7 µs a
#                                           call on wazero and would copy a 64 MiB tensor bytewise
#   -O ReleaseSmall                         small and fast; no safety checks (the SDK checks input)
#   -fstrip                                 no name or debug sections
#   --mod mrun::mrun.zig --deps mrun        the SDK is the module "mrun": @import("mrun")
#   --cache-dir, --global-cache-dir         a temporary directory, so nothing is written into the tree
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/testdata/zig/conformance.wasm"

check=""
case "${1:-}" in
--check) check=1 ;;
"") ;;
*)
	echo "usage: build.sh [--check]" >&2
	exit 2
	;;
esac

zig="$("$here/toolchain.sh")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# Relative paths from guests/zig, so the output does not depend on where the tree is.
(
	cd "$here"
	"$zig" build-lib --mod mrun::mrun.zig --deps mrun examples/conformance.zig \
		-target wasm32-wasi -mcpu=generic+bulk_memory -dynamic -rdynamic -O ReleaseSmall -fstrip \
		--cache-dir "$tmp/cache" --global-cache-dir "$tmp/global" \
		--name conformance -femit-bin="$tmp/conformance.wasm" -fno-emit-implib
)

if [ -n "$check" ]; then
	if ! cmp -s "$tmp/conformance.wasm" "$out"; then
		echo "build.sh: $out is stale: run guests/zig/build.sh" >&2
		exit 1
	fi
	echo "build.sh: $out is up to date"
	exit 0
fi
mkdir -p "$(dirname "$out")"
cp "$tmp/conformance.wasm" "$out.tmp"
chmod 0644 "$out.tmp"
mv "$out.tmp" "$out"
echo "build.sh: wrote $out ($(wc -c <"$out") bytes, sha256 $(sha256sum "$out" | cut -d' ' -f1))"
