#!/usr/bin/env bash
# build.sh compiles every guests/wat/*.wat to testdata/wat/<name>.wasm, from any directory.
# The output is deterministic (wat2wasm writes no timestamps or paths, and no name section
# unless asked), so rebuilding leaves the committed modules byte-identical. A module with a
# <name>.sigs file beside its source gets those signatures in its "mrun.signatures" custom
# section (abi/ABI.md section 10), written by 'mrun sig add', built here from this checkout.
#
#   guests/wat/build.sh          build every module
#   guests/wat/build.sh --check  build into a temporary directory; fail if a committed module
#                                differs from its rebuild or is missing
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/testdata/wat"

case "${1:-}" in
--check | "") ;;
*)
	echo "usage: build.sh [--check]" >&2
	exit 2
	;;
esac

# The wat2wasm of the user's toolchain directory, else the system's, installed when missing.
wat2wasm="$(bash "$here/toolchain.sh")"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
shopt -s nullglob
sigs=("$here"/*.sigs)
if [ "${#sigs[@]}" -gt 0 ]; then
	(cd "$root" && go build -o "$tmp/mrun" ./cmd/mrun)
fi
n=0
stale=0
for src in "$here"/*.wat; do
	name="$(basename "$src" .wat)"
	"$wat2wasm" "$src" -o "$tmp/$name.wasm"
	if [ -f "$here/$name.sigs" ]; then
		"$tmp/mrun" --cache-dir "" sig add "$tmp/$name.wasm" "$here/$name.sigs" >/dev/null
	fi
	if [ "${1:-}" = --check ]; then
		if ! cmp -s "$tmp/$name.wasm" "$out/$name.wasm"; then
			echo "build.sh: testdata/wat/$name.wasm is stale or missing: run guests/wat/build.sh" >&2
			stale=1
		fi
	else
		mkdir -p "$out"
		mv -f "$tmp/$name.wasm" "$out/$name.wasm"
	fi
	n=$((n + 1))
done
if [ "${1:-}" = --check ]; then
	[ "$stale" -eq 0 ] || exit 1
	echo "build.sh: $n modules in testdata/wat are up to date"
else
	echo "build.sh: built $n modules into testdata/wat"
fi
