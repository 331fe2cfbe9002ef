#!/usr/bin/env bash
# toolchain.sh installs the AssemblyScript compiler (asc) pinned by package-lock.json with
# `mrun toolchain install assemblyscript` (guests/mrun-toolchain.sh): `npm ci` into the user's
# cache directory ($XDG_CACHE_HOME/mrun/toolchains/assemblyscript, or $MRUN_TOOLCHAINS), the
# compiler every AssemblyScript project of mrun build uses, with Node.js from Debian if it is
# missing. The SDK's signature transform imports the compiler's modules, which node looks for
# in guests/assemblyscript/node_modules: when there is none, it becomes a link to the cache's.
# It does nothing when the pinned version is already installed and linked.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
mods="$("$here/../mrun-toolchain.sh" assemblyscript node_modules)"
if [ ! -e "$here/node_modules" ]; then
	ln -s "$mods" "$here/node_modules"
fi
want="$(node -p 'require(process.argv[1]).version' "$mods/assemblyscript/package.json")"
have="$(node -p 'require(process.argv[1]).version' "$here/node_modules/assemblyscript/package.json" 2>/dev/null || true)"
if [ "$have" != "$want" ]; then
	echo "toolchain.sh: $here/node_modules has assemblyscript ${have:-nothing}, not $want: remove it, and run this again to link the installed compiler" >&2
	exit 1
fi
