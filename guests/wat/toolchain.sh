#!/usr/bin/env bash
# toolchain.sh installs wat2wasm (Debian's wabt) when it is missing.
set -euo pipefail

if command -v wat2wasm >/dev/null 2>&1; then
	exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
echo "toolchain.sh: wat2wasm not found, installing wabt" >&2
if ! $sudo apt-get -o DPkg::Lock::Timeout=600 install -y wabt; then
	$sudo apt-get -o DPkg::Lock::Timeout=600 update
	$sudo apt-get -o DPkg::Lock::Timeout=600 install -y wabt
fi
