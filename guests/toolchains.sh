#!/usr/bin/env bash
# toolchains.sh installs the compilers the guest SDKs need, skipping those already present:
# Debian packages for C (clang, lld, wasi-libc) and Rust (rustc with the wasm32-wasi standard
# library) and WAT (wabt); npm packages, pinned by each directory's package-lock.json, for
# AssemblyScript and Zig. Every language's build.sh runs its own part of this first.
#
#   guests/toolchains.sh [LANG...]    LANG: c rust assemblyscript zig wat (default: all)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
langs=("$@")
[ ${#langs[@]} -gt 0 ] || langs=(wat c rust assemblyscript zig)
for lang in "${langs[@]}"; do
	script="$here/$lang/toolchain.sh"
	if [ ! -f "$script" ]; then
		echo "toolchains.sh: no toolchain script for $lang ($script)" >&2
		exit 2
	fi
	bash "$script"
done
