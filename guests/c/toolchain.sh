#!/usr/bin/env bash
# toolchain.sh installs what guests/c/build.sh needs, and does nothing when it is all there:
# clang and wasm-ld, the WASI libc (sysroot /usr), and the wasm32 compiler runtime
# (libclang_rt.builtins-wasm32.a), all from Debian. With --test it also installs the compiler
# runtime for the machine itself (sanitizers and libFuzzer), which test.sh needs.
#
#   guests/c/toolchain.sh          what build.sh needs
#   guests/c/toolchain.sh --test   ... and what test.sh needs
set -euo pipefail

test_too=""
case "${1:-}" in
"") ;;
--test) test_too=1 ;;
*)
	echo "usage: toolchain.sh [--test]" >&2
	exit 2
	;;
esac

have_toolchain() {
	command -v clang >/dev/null 2>&1 &&
		command -v wasm-ld >/dev/null 2>&1 &&
		[ -f /usr/lib/wasm32-wasi/crt1-reactor.o ] &&
		[ -f /usr/include/wasm32-wasi/stdio.h ] &&
		compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a" >/dev/null &&
		{ [ -z "$test_too" ] ||
			compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-*.a" >/dev/null; }
}

if have_toolchain; then
	exit 0
fi

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# What build.sh needs, as mrun build's users get it: mrun toolchain install c.
"$here/../mrun-toolchain.sh" c >/dev/null
if [ -n "$test_too" ] && ! have_toolchain; then
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
if ! have_toolchain; then
	echo "toolchain.sh: clang, wasm-ld, wasi-libc or the wasm32 compiler runtime is still missing" >&2
	exit 1
fi
