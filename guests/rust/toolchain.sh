#!/usr/bin/env bash
# toolchain.sh installs what guests/rust/test.sh needs, and does nothing when it is present:
# Debian's rustc with the wasm32-wasi standard library (rustc 1.63, target wasm32-wasi)
# system-wide, through `mrun toolchain install --system rust` (guests/mrun-toolchain.sh), since
# test.sh compiles for this machine with /usr/bin/rustc. build.sh needs no system-wide install:
# it builds with `mrun toolchain which rust`, the rustc unpacked into the user's toolchain
# directory by `mrun toolchain install rust` (without root), else the system's.
#
# test.sh calls /usr/bin/rustc explicitly: a rustup rustc earlier on PATH has no wasm target.
set -euo pipefail

reactor=/usr/lib/rustlib/wasm32-wasi/lib/self-contained/crt1-reactor.o
if [[ -x /usr/bin/rustc && -f $reactor ]]; then
	exit 0
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/../mrun-toolchain.sh" --system rust
