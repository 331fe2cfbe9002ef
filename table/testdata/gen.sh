#!/bin/sh
# Regenerates pandas.json, the pandas results the table planner and kernels are checked
# against (TestPandas), and prints pandas' time for the group-by of BenchmarkGroupBy10M.
# Needs python3 with pandas; installs Debian's python3-pandas if missing.
set -eu
cd "$(dirname "$0")"
PY=/usr/bin/python3
if ! "$PY" -c 'import pandas' 2>/dev/null; then
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update
	$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y python3-pandas
fi
"$PY" gen.py > pandas.json.tmp
mv pandas.json.tmp pandas.json
echo "wrote $(pwd)/pandas.json"
"$PY" gen.py --bench
