#!/usr/bin/env bash
# build.sh builds the C conformance guest, guests/c/examples/conformance.c with the SDK
# (mrun.c), to testdata/c/conformance.wasm at the root of the repository. The build is
# reproducible: the same sources and toolchain give the same bytes.
#
#   guests/c/build.sh          build testdata/c/conformance.wasm
#   guests/c/build.sh --check  fail if testdata/c/conformance.wasm differs from a fresh build
#
# Flags, and why:
#   --target=wasm32-wasi -mexec-model=reactor  a reactor: crt1-reactor.o exports _initialize,
#                                              which runs the C constructors once per instance
#   -O2                                        fast code; -Oz saves little on a module this size
#   -mbulk-memory                              memcpy and memset of the SDK and the functions become
#                                              memory.copy and memory.fill (WebAssembly 2.0, on in
#                                              wazero), one native copy instead of wasi-libc's
#                                              compiled-C loop (README: "Size, speed ...")
#   -std=c11 -Wall -Wextra -Werror             the SDK compiles cleanly, and stays so
#   -ffile-prefix-map=<root>=.                 no local paths in the output (there are none
#                                              without -g; this keeps it so if assert is used)
#   -Wl,--strip-debug                          drop the DWARF that wasi-libc's objects carry
# The module keeps its name section, so trap messages show named wasm frames.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/testdata/c/conformance.wasm"

case "${1:-}" in
"" | --check) ;;
*)
	echo "usage: build.sh [--check]" >&2
	exit 2
	;;
esac

# The clang of the user's toolchain directory (mrun toolchain install c), else the system's,
# installed when missing; the toolchain's clang finds its own wasi-libc and wasm-ld.
cc="$("$here/toolchain.sh")"

build() {
	(
		cd "$root"
		"$cc" --target=wasm32-wasi -mexec-model=reactor -O2 -mbulk-memory -std=c11 \
			-Wall -Wextra -Werror -ffile-prefix-map="$root"=. \
			-Wl,--strip-debug -I guests/c -o "$1" guests/c/mrun.c guests/c/examples/conformance.c
	)
}

mkdir -p "$(dirname "$out")"
tmp="$(mktemp "$root/testdata/c/.conformance.wasm.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
build "$tmp"

if [ "${1:-}" = --check ]; then
	if ! cmp -s "$tmp" "$out"; then
		echo "build.sh: $out is stale: run guests/c/build.sh" >&2
		exit 1
	fi
	echo "build.sh: $out is up to date"
	exit 0
fi
chmod 0644 "$tmp"
mv "$tmp" "$out"
echo "build.sh: wrote $out ($(wc -c <"$out") bytes, sha256 $(sha256sum "$out" | cut -d' ' -f1))"
