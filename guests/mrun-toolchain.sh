#!/usr/bin/env bash
# mrun-toolchain.sh [--system] LANG [TOOL...]: prints the path of LANG's compiler (or of each
# TOOL, one a line) on stdout, as `mrun toolchain which` finds it: the toolchain in the user's
# directory first, then the system's. When there is none, it installs one first with `mrun
# toolchain install LANG`, the code path users of mrun new and mrun build have (Debian
# toolchains are unpacked into the user's directory, without root). With --system, it installs
# LANG system-wide (`mrun toolchain install --system LANG`, as root or through sudo) unless
# the system has it, and prints nothing. mrun is built from this checkout, once per call, into
# a temporary directory; what the install does goes to stderr.
set -euo pipefail

system=""
if [ "${1:-}" = --system ]; then
	system=1
	shift
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$root" && GOFLAGS= GOWORK=off go build -o "$tmp/mrun" ./cmd/mrun)
if [ -n "$system" ]; then
	"$tmp/mrun" toolchain install --system "$1" >&2
	exit 0
fi
if ! "$tmp/mrun" toolchain which "$@" 2>/dev/null; then
	"$tmp/mrun" toolchain install "$1" >&2
	"$tmp/mrun" toolchain which "$@"
fi
