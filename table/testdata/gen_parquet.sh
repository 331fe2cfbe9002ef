#!/bin/sh
# Regenerates types.parquet and types.json, the Parquet fixture TestReadParquet_Fixture reads:
# ten rows of every type read_parquet maps, in row groups of 4, 4 and 2 rows, with data pages
# v1, Snappy and dictionary-encoded strings (what pandas and Spark write by default), and the
# expected rows as JSON, written from the rows the file was written from.
#
# The fixture should come from pandas (pyarrow). Debian's python3-pyarrow is installed here
# when apt has it; when it has not (Debian 12 has no pyarrow package), the file is written
# with parquet-go alone, by the test TestReadParquet_WriteFixture.
set -eu
cd "$(dirname "$0")"
PY=/usr/bin/python3
if apt-cache policy python3-pyarrow 2>/dev/null | grep -q 'Candidate: [0-9]'; then
	if ! "$PY" -c 'import pandas, pyarrow' 2>/dev/null; then
		SUDO=""
		[ "$(id -u)" = 0 ] || SUDO=sudo
		$SUDO apt-get update
		$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y python3-pandas python3-pyarrow
	fi
	PYARROW=1
else
	echo "gen_parquet.sh: apt has no python3-pyarrow: writing types.parquet with parquet-go only" >&2
	PYARROW=""
fi
(cd ../.. && MRUN_GEN_PARQUET=1 go test -count=1 -run '^TestReadParquet_WriteFixture$' ./table/)
echo "wrote $(pwd)/types.parquet and types.json"
if [ -n "$PYARROW" ]; then
	# The same rows written by pandas with pyarrow, which TestReadParquet_Fixture also reads
	# when it is there.
	"$PY" - <<'PYEOF'
import json
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

fix = json.load(open("types.json"))
names = [c["name"] for c in fix["columns"]]
cols = list(zip(*fix["rows"]))
types = {"i32": pa.int32(), "i64": pa.int64(), "u32": pa.uint32(), "u64": pa.uint64(),
         "f32": pa.float32(), "f64": pa.float64(), "b": pa.bool_(), "s": pa.string(),
         "bin": pa.binary(), "ms": pa.timestamp("ms", tz="UTC"), "us": pa.timestamp("us", tz="UTC"),
         "ns": pa.timestamp("ns", tz="UTC"), "local": pa.timestamp("us"), "opt": pa.int64()}
arrays = []
for name, vals in zip(names, cols):
    t = types[name]
    if pa.types.is_floating(t):
        vals = [float(v) for v in vals]
    elif pa.types.is_timestamp(t):
        vals = pd.to_datetime(list(vals), utc=True)
        vals = vals.tz_localize(None) if t.tz is None else vals
    elif pa.types.is_binary(t):
        vals = [v.encode() for v in vals]
    arrays.append(pa.array(vals, type=t) if not pa.types.is_timestamp(t) else pa.array(vals).cast(t))
pq.write_table(pa.table(arrays, names=names), "types_pandas.parquet", row_group_size=4)
print("wrote types_pandas.parquet with pyarrow", pa.__version__)
PYEOF
fi
