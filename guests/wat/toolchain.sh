#!/usr/bin/env bash
# toolchain.sh installs wat2wasm (Debian's wabt) when it is missing, through `mrun toolchain
# install wat` (guests/mrun-toolchain.sh), as mrun build's users get it.
set -euo pipefail

if command -v wat2wasm >/dev/null 2>&1; then
	exit 0
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/../mrun-toolchain.sh" wat >/dev/null
