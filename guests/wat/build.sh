#!/usr/bin/env bash
# Compile every guests/wat/*.wat to testdata/wat/<name>.wasm.
# Works from any directory. Output is deterministic (wat2wasm writes no
# timestamps or paths, and no name section unless asked), so rebuilding
# leaves the committed .wasm files byte-identical.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/testdata/wat"

if ! command -v wat2wasm >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
  echo "build.sh: wat2wasm not found, installing wabt" >&2
  if ! $sudo apt-get -o DPkg::Lock::Timeout=600 install -y wabt; then
    $sudo apt-get -o DPkg::Lock::Timeout=600 update
    $sudo apt-get -o DPkg::Lock::Timeout=600 install -y wabt
  fi
fi

mkdir -p "$out"
shopt -s nullglob
n=0
for src in "$here"/*.wat; do
  name="$(basename "$src" .wat)"
  tmp="$out/.$name.wasm.tmp"
  wat2wasm "$src" -o "$tmp"
  mv -f "$tmp" "$out/$name.wasm"
  n=$((n + 1))
done
echo "build.sh: built $n modules into ${out#"$root"/}"
