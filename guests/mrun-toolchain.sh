#!/usr/bin/env bash
# mrun-toolchain.sh LANG [TOOL]: installs LANG's toolchain with `mrun toolchain install LANG`,
# the code path users of mrun new and mrun build have, and prints the path of its compiler (or
# of TOOL) on stdout. mrun is built from this checkout, once per call, into a temporary
# directory; what the install does goes to stderr.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && GOFLAGS= GOWORK=off go build -o "$tmp/mrun" ./cmd/mrun)
"$tmp/mrun" toolchain install "$1" >&2
"$tmp/mrun" toolchain which "$@"
