#!/usr/bin/env bash
# build.sh builds the Zig guests, examples/<name>.zig to testdata/zig/<name>.wasm at the root of
# the repository: conformance (every function of guests/CONFORMANCE.md) and extras (what
# sdk_test.go tests beyond it). The build is reproducible: the same sources and Zig give the
# same bytes (no paths, no timestamps, no debug sections), so --check can compare them.
# Each module's mrun.signatures section comes from the mrun.signature calls in its source,
# written by the compiler: no step here.
#
#   guests/zig/build.sh          build testdata/zig/*.wasm
#   guests/zig/build.sh --check  fail if a committed module differs from a fresh build
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
out="$root/testdata/zig"
modules=(conformance extras)

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
build() {
	(
		cd "$here"
		"$zig" build-lib --mod mrun::mrun.zig --deps mrun "examples/$1.zig" \
			-target wasm32-wasi -mcpu=generic+bulk_memory -dynamic -rdynamic -O ReleaseSmall -fstrip \
			--cache-dir "$tmp/cache" --global-cache-dir "$tmp/global" \
			--name "$1" -femit-bin="$tmp/$1.wasm" -fno-emit-implib
	)
}

stale=0
mkdir -p "$out"
for m in "${modules[@]}"; do
	build "$m"
	if [ -n "$check" ]; then
		if ! cmp -s "$tmp/$m.wasm" "$out/$m.wasm"; then
			echo "build.sh: $out/$m.wasm is stale: run guests/zig/build.sh" >&2
			stale=1
		else
			echo "build.sh: $out/$m.wasm is up to date"
		fi
		continue
	fi
	cp "$tmp/$m.wasm" "$out/.$m.wasm.tmp"
	chmod 0644 "$out/.$m.wasm.tmp"
	mv "$out/.$m.wasm.tmp" "$out/$m.wasm"
	echo "build.sh: wrote $out/$m.wasm ($(wc -c <"$out/$m.wasm") bytes, sha256 $(sha256sum "$out/$m.wasm" | cut -d' ' -f1))"
done
exit "$stale"
