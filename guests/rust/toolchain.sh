#!/usr/bin/env bash
# toolchain.sh installs what guests/rust/build.sh needs, and does nothing when it is present:
# Debian's rustc with the wasm32-wasi standard library (rustc 1.63, target wasm32-wasi),
# through `mrun toolchain install rust` (guests/mrun-toolchain.sh), as mrun build's users get it.
#
# build.sh calls /usr/bin/rustc explicitly: a rustup rustc earlier on PATH has no wasm target.
set -euo pipefail

reactor=/usr/lib/rustlib/wasm32-wasi/lib/self-contained/crt1-reactor.o
if [[ -x /usr/bin/rustc && -f $reactor ]]; then
	exit 0
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/../mrun-toolchain.sh" rust >/dev/null
