#!/usr/bin/env bash
# toolchain.sh installs the AssemblyScript compiler (asc) pinned by package-lock.json into
# guests/assemblyscript/node_modules with `npm ci`, and Node.js from Debian if it is missing.
# It does nothing when the pinned version is already installed.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
want="0.28.20"

as_root() {
	if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else "$@"; fi
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	if ! as_root apt-get -o DPkg::Lock::Timeout=600 install -y nodejs npm; then
		as_root apt-get -o DPkg::Lock::Timeout=600 update
		as_root apt-get -o DPkg::Lock::Timeout=600 install -y nodejs npm
	fi
fi

have="$(node -p 'require(process.argv[1]).version' "$here/node_modules/assemblyscript/package.json" 2>/dev/null || true)"
if [ "$have" != "$want" ]; then
	(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
