#!/usr/bin/env bash
# build.sh builds the Rust conformance guest, guests/rust/examples/conformance.rs, with the
# SDK crate guests/rust/mrun, to testdata/rust/conformance.wasm at the root of the repository.
# The build is reproducible: the same sources and rustc give the same bytes.
#
#   guests/rust/build.sh          build testdata/rust/conformance.wasm
#   guests/rust/build.sh --check  fail if testdata/rust/conformance.wasm differs from a fresh build
#
# There is no cargo: the SDK is compiled as an rlib and the example as a cdylib against it.
# Flags, and why:
#   rustc --target wasm32-wasi            Debian's rustc, as mrun toolchain which rust finds it (the
#                                         user's toolchain directory, else /usr/bin/rustc); a rustup
#                                         rustc on PATH has no wasm target
#   crt1-reactor.o                        a reactor: exports _initialize, which runs constructors
#                                         once; without it every export runs them (10x slower)
#   -C panic=abort                        a panic traps; no unwinding tables
#   -C opt-level=3 -C codegen-units=1 -C lto=fat
#                                         fast and small (170 KB instead of 217 KB)
#   -C strip=debuginfo                    no DWARF (5 MB of it), but keep the name section, so
#                                         trap messages show named wasm frames
#   --remap-path-prefix, -C metadata      no local paths in the output, a fixed crate hash
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/testdata/rust/conformance.wasm"

# rustc and its WASI reactor start file, installed when missing (guests/mrun-toolchain.sh).
tools="$("$here/../mrun-toolchain.sh" rust rustc reactor)"
rustc="$(sed -n 1p <<<"$tools")"
reactor="$(sed -n 2p <<<"$tools")"
flags=(
	--edition 2021 --target wasm32-wasi
	-C opt-level=3 -C codegen-units=1 -C lto=fat -C panic=abort -C strip=debuginfo
	--remap-path-prefix "$here=guests/rust"
	-D warnings
)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

build() {
	"$rustc" "${flags[@]}" --crate-type rlib --crate-name mrun -C metadata=mrun \
		--remap-path-prefix "$work=build" \
		"$here/mrun/src/lib.rs" -o "$work/libmrun.rlib"
	"$rustc" "${flags[@]}" --crate-type cdylib --crate-name conformance -C metadata=conformance \
		--remap-path-prefix "$work=build" \
		-C link-arg="$reactor" --extern mrun="$work/libmrun.rlib" \
		"$here/examples/conformance.rs" -o "$1"
}

mkdir -p "$root/testdata/rust"
build "$work/conformance.wasm"

case "${1:-}" in
--check)
	if ! cmp -s "$work/conformance.wasm" "$out"; then
		echo "build.sh: $out is stale: run guests/rust/build.sh" >&2
		exit 1
	fi
	echo "build.sh: $out is up to date"
	;;
"")
	chmod 0644 "$work/conformance.wasm"
	cp "$work/conformance.wasm" "$out"
	echo "build.sh: wrote $out ($(wc -c <"$out") bytes, sha256 $(sha256sum "$out" | cut -d' ' -f1))"
	;;
*)
	echo "usage: build.sh [--check]" >&2
	exit 2
	;;
esac
