#!/usr/bin/env bash
# test.sh runs the C SDK's native tests (test/mrun_test.c) and, for a while, its fuzz target
# (test/fuzz.c), both under AddressSanitizer and UndefinedBehaviorSanitizer. They compile
# mrun.c and examples/conformance.c for the machine itself, with a fake host.
#
#   guests/c/test.sh             unit tests, then 20 s of fuzzing
#   guests/c/test.sh SECONDS     unit tests, then SECONDS of fuzzing (0: none)
#
# Needs clang and the compiler runtime for the machine (Debian libclang-rt-14-dev), which
# toolchain.sh --test installs when missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
seconds="${1:-20}"
"$here/toolchain.sh" --test

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
flags=(-std=c11 -g -O1 -Wall -Wextra -Werror -fno-omit-frame-pointer -I "$here"
	-fsanitize=address,undefined -fno-sanitize-recover=all)

clang "${flags[@]}" -o "$work/mrun_test" "$here/test/mrun_test.c" -lm
"$work/mrun_test"

if [ "$seconds" -gt 0 ]; then
	clang "${flags[@]}" -fsanitize=fuzzer -o "$work/fuzz" "$here/test/fuzz.c" -lm
	# new inputs go to a scratch corpus; test/corpus holds the seeds: one frame per function
	mkdir -p "$work/corpus"
	if ! "$work/fuzz" -max_total_time="$seconds" -max_len=4096 -print_final_stats=1 \
		"$work/corpus" "$here/test/corpus" >"$work/fuzz.log" 2>&1; then
		cat "$work/fuzz.log" >&2
		echo "test.sh: the fuzz target failed" >&2
		exit 1
	fi
	echo "ok: ${seconds}s of fuzzing ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/fuzz.log" | grep -o '[0-9]*$') inputs) found nothing"
fi
