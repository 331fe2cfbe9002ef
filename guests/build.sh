#!/usr/bin/env bash
# build.sh rebuilds every guest module committed under testdata/ from its sources, installing
# the toolchains that are missing (see toolchains.sh).
#
#   guests/build.sh [--check] [LANG...]
#
# LANG is one of: go wat c rust assemblyscript zig (default: all). With --check nothing is
# written: each language's build.sh builds into a temporary file and fails if the committed
# module differs (for the languages whose builds are reproducible; see docs/guests.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
all=(go wat c rust assemblyscript zig)

check=""
langs=()
for arg in "$@"; do
	case "$arg" in
	--check) check="--check" ;;
	-h | --help)
		sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		if [[ ! " ${all[*]} " == *" $arg "* ]]; then
			echo "build.sh: unknown language $arg (want one of: ${all[*]})" >&2
			exit 2
		fi
		langs+=("$arg")
		;;
	esac
done
[ ${#langs[@]} -gt 0 ] || langs=("${all[@]}")

for lang in "${langs[@]}"; do
	start=$SECONDS
	echo "== $lang"
	bash "$here/$lang/build.sh" $check
	echo "== $lang: $((SECONDS - start)) s"
done
