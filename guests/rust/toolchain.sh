#!/usr/bin/env bash
# toolchain.sh installs what guests/rust/build.sh needs, and does nothing when it is present:
# Debian's rustc with the wasm32-wasi standard library (rustc 1.63, target wasm32-wasi).
#
# build.sh calls /usr/bin/rustc explicitly: a rustup rustc earlier on PATH has no wasm target.
set -euo pipefail

reactor=/usr/lib/rustlib/wasm32-wasi/lib/self-contained/crt1-reactor.o
if [[ -x /usr/bin/rustc && -f $reactor ]]; then
	exit 0
fi

sudo=()
if [[ $(id -u) != 0 ]] && command -v sudo >/dev/null; then
	sudo=(sudo)
fi
pkgs=(rustc libstd-rust-dev-wasm32)
echo "toolchain.sh: installing ${pkgs[*]}" >&2
if ! "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y "${pkgs[@]}"; then
	"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 update
	"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y "${pkgs[@]}"
fi
if [[ ! -x /usr/bin/rustc || ! -f $reactor ]]; then
	echo "toolchain.sh: /usr/bin/rustc or $reactor is still missing after installing ${pkgs[*]}" >&2
	exit 1
fi
