#!/usr/bin/env bash
# build.sh builds the seed guest, guests/go/examples/seed, to testdata/seed.wasm at the root of
# the repository, and the runtime's test fixture guests/go/examples/command, a Go guest built
# the wrong way on purpose (as a command: no -buildmode=c-shared, stripped), to
# testdata/go_command.wasm. The builds are reproducible: the same sources and Go version give
# the same bytes.
#
# seed.wasm gets the signatures of its functions (abi/ABI.md section 10) in its
# "mrun.signatures" custom section, which Go's linker cannot write: 'mrun sig go' reads them
# from the package's source (names, Go types, doc comments, //mrun: directives) and 'mrun sig
# add' writes them into the built module. Both run from an mrun built from this checkout.
#
#   guests/go/build.sh          build testdata/seed.wasm and testdata/go_command.wasm
#   guests/go/build.sh --check  fail if either differs from a fresh build
#
# toolchain.sh finds the Go to build with (the first Go of at least go.mod's version on PATH, or
# /usr/local/go). The bytes depend on the Go version: record it with the module (README.md).
#
# Flags, and why:
#   GOOS=wasip1 GOARCH=wasm -buildmode=c-shared  a reactor: exports _initialize, main never runs
#   -trimpath -buildvcs=false                    no local paths or VCS state in the output
#   GOTOOLCHAIN=local GOWORK=off GOFLAGS=        this Go and this module only, whatever the env
# The module keeps its symbol names (no -ldflags=-s): stripping saves only ~2% and would turn the
# wasm stack traces in trap messages into numbers.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
go="$("$here/toolchain.sh")"

build() { # build OUT PKG [FLAGS...]
	(
		cd "$here"
		GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS= \
			"$go" build -trimpath -buildvcs=false "${@:3}" -o "$1" "$2"
	)
}

case "${1:-}" in
--check | "") ;;
*)
	echo "usage: build.sh [--check]" >&2
	exit 2
	;;
esac

tmps=()
trap 'rm -rf "${tmps[@]}"' EXIT
bin="$(mktemp -d)"
tmps+=("$bin")
(cd "$root" && GOTOOLCHAIN=local GOWORK=off GOFLAGS= "$go" build -o "$bin/mrun" ./cmd/mrun)

one() { # one OUT PKG [FLAGS...]
	local out="$1" tmp
	tmp="$(mktemp "$root/testdata/.$(basename "$out").XXXXXX")"
	tmps+=("$tmp")
	build "$tmp" "${@:2}"
	if [ "$2" = ./examples/seed ]; then
		(cd "$root" && "$bin/mrun" sig go guests/go/examples/seed) | "$bin/mrun" --cache-dir "" sig add "$tmp" - >/dev/null
	fi
	if [ "${mode}" = --check ]; then
		if ! cmp -s "$tmp" "$out"; then
			echo "build.sh: $out is stale: run guests/go/build.sh" >&2
			return 1
		fi
		echo "build.sh: $out is up to date"
	else
		chmod 0644 "$tmp"
		mv "$tmp" "$out"
		echo "build.sh: wrote $out ($(wc -c <"$out") bytes, sha256 $(sha256sum "$out" | cut -d' ' -f1))"
	fi
}

mode="${1:-}"
one "$root/testdata/seed.wasm" ./examples/seed -buildmode=c-shared
one "$root/testdata/go_command.wasm" ./examples/command -ldflags=-s
