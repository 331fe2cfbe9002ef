#!/bin/sh
# Regenerates numpy.json, the NumPy results the tensor kernels and planner are checked
# against (TestNumPy). Needs python3 with NumPy; installs Debian's python3-numpy if missing.
set -eu
cd "$(dirname "$0")"
PY=/usr/bin/python3
if ! "$PY" -c 'import numpy' 2>/dev/null; then
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update
	$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y python3-numpy
fi
"$PY" gen.py > numpy.json.tmp
mv numpy.json.tmp numpy.json
echo "wrote $(pwd)/numpy.json"
