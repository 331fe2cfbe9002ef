#!/usr/bin/env bash
# toolchain.sh makes sure wat2wasm (Debian's wabt) is there, as `mrun toolchain which wat`
# finds it, installing it into the user's toolchain directory with `mrun toolchain install wat`
# (guests/mrun-toolchain.sh) when it is not, as mrun build's users get it, and prints its path.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/../mrun-toolchain.sh" wat
