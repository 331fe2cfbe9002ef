#!/usr/bin/env bash
# toolchain.sh installs what guests/c/build.sh needs when it is missing and prints the path of
# its clang: `mrun toolchain which c`, the toolchain in the user's directory first (clang, lld,
# wasi-libc and the wasm32 compiler runtime, unpacked from Debian packages by `mrun toolchain
# install c`, without root), else the system's. With --test it installs instead what test.sh
# needs, which compiles for this machine with the system's clang: clang system-wide (`mrun
# toolchain install --system c`) and the compiler runtime for the machine (sanitizers and
# libFuzzer, Debian's libclang-rt-14-dev); it prints nothing then.
#
#   guests/c/toolchain.sh          what build.sh needs; prints its clang
#   guests/c/toolchain.sh --test   what test.sh needs
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
case "${1:-}" in
"")
	"$here/../mrun-toolchain.sh" c
	exit 0
	;;
--test) ;;
*)
	echo "usage: toolchain.sh [--test]" >&2
	exit 2
	;;
esac

have_test() {
	command -v clang >/dev/null 2>&1 &&
		compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" >/dev/null
}
if have_test; then
	exit 0
fi
"$here/../mrun-toolchain.sh" --system c
if ! have_test; then
	# test.sh's sanitizers and libFuzzer: the compiler runtime for this machine.
	sudo=""
	if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
		sudo="sudo"
	fi
	echo "toolchain.sh: installing libclang-rt-14-dev" >&2
	if ! $sudo apt-get -o DPkg::Lock::Timeout=600 install -y libclang-rt-14-dev; then
		$sudo apt-get -o DPkg::Lock::Timeout=600 update
		$sudo apt-get -o DPkg::Lock::Timeout=600 install -y libclang-rt-14-dev
	fi
fi
if ! have_test; then
	echo "toolchain.sh: clang or its compiler runtime for this machine (libclang-rt-14-dev) is still missing" >&2
	exit 1
fi
