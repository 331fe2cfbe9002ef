#!/usr/bin/env bash
# toolchain.sh finds the Go toolchain that guests/go/build.sh uses and prints its path. Go is the
# repository's own language, so there is nothing to install: it checks that a Go at least as new
# as the go directive of go.mod is on PATH or in /usr/local/go, and fails with a clear message
# otherwise (Debian's golang packages are older than the module needs).
#
#   guests/go/toolchain.sh    prints e.g. /usr/local/go/bin/go
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
want="$(sed -n 's/^go \([0-9.]*\).*/\1/p' "$here/../../go.mod")"

# newer A B succeeds when version A is at least version B (dotted numbers).
newer() {
	[[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

for go in "$(command -v go || true)" /usr/local/go/bin/go; do
	[[ -n $go && -x $go ]] || continue
	have="$(GOTOOLCHAIN=local "$go" env GOVERSION)"
	have="${have#go}"
	if newer "$have" "$want"; then
		echo "$go"
		exit 0
	fi
	echo "toolchain.sh: $go is Go $have; the module needs Go $want or newer" >&2
done
echo "toolchain.sh: no Go $want or newer found on PATH or in /usr/local/go: install it from https://go.dev/dl/" >&2
exit 1
