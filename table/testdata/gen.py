"""Writes the pandas fixtures of package table to stdout as JSON; with --bench, times the
group-by of BenchmarkGroupBy10M in pandas instead.

Each case is {"name", "expr", "want"}: expr is an expression of docs/tables.md in JSON
whose sources are read_csv of the CSV text of the inputs below (the test sets chunk_rows
on each source), and want is the table pandas computes, as {"columns": [{"name", "type",
"data"}]} with NaN and infinities written as the strings "NaN", "Infinity" and "-Infinity".
"""
import io
import json
import math
import sys
import time

import numpy as np
import pandas as pd

rng = np.random.default_rng(20261207)
N = 40
people = pd.DataFrame({
    "id": np.arange(N, dtype=np.int64),
    "k": rng.choice(["a", "b", "c", "dé", "e"], N),
    "g": rng.integers(0, 3, N).astype(np.int64),
    "x": np.round(rng.random(N) * 10 - 3, 6),
    "y": np.round(rng.random(N), 6),
    "flag": rng.random(N) > 0.5,
})
people.loc[[4, 17], "y"] = np.nan  # missing floats: skipped by aggregations, last in sorts
M = 12
right = pd.DataFrame({
    "k": rng.choice(["a", "b", "c", "z"], M),
    "g": rng.integers(0, 3, M).astype(np.int64),
    "w": np.round(rng.random(M) * 100, 3),
})


def csv_of(df):
    return df.to_csv(index=False)


P, R = csv_of(people), csv_of(right)
assert pd.read_csv(io.StringIO(P)).dtypes.tolist() == people.dtypes.tolist()


def src(text):
    return {"op": "read_csv", "data": text}


def typ(dt):
    if pd.api.types.is_bool_dtype(dt):
        return "bool"
    if pd.api.types.is_integer_dtype(dt):
        return "int64"
    if pd.api.types.is_float_dtype(dt):
        return "float64"
    return "string"


def value(v, t):
    if t == "float64":
        v = float(v)
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    if t == "int64":
        return int(v)
    if t == "bool":
        return bool(v)
    return str(v)


def enc(df):
    df = df.reset_index(drop=True)
    cols = []
    for name in df.columns:
        t = typ(df[name].dtype)
        cols.append({"name": name, "type": t, "data": [value(v, t) for v in df[name].tolist()]})
    return {"columns": cols}


def agg(df, keys, aggs):
    named = {(a[2] if len(a) > 2 else a[0] + "_" + a[1]): (a[0], a[1]) for a in aggs}
    return df.groupby(keys, sort=True).agg(**named).reset_index()


cases = []


def case(name, expr, want):
    cases.append({"name": name, "expr": expr, "want": enc(want)})


p = people
case("read", src(P), p)
case("select", {"op": "select", "x": src(P), "columns": ["x", "k"]}, p[["x", "k"]])
case("filter-bool-ops", {"op": "filter", "x": src(P), "where": "x > 0.5 and not flag or k == 'b'"},
     p[(p.x > 0.5) & ~p.flag | (p.k == "b")])
case("filter-parens-nan", {"op": "filter", "x": src(P), "where": "g != 2 and (y <= 0.3 or id >= 30)"},
     p[(p.g != 2) & ((p.y <= 0.3) | (p.id >= 30))])
case("filter-none", {"op": "filter", "x": src(P), "where": "id < 0"}, p[p.id < 0])
case("assign-float", {"op": "assign", "x": src(P), "name": "z", "expr": "x * 2 + y / (g + 1) - id"},
     p.assign(z=p.x * 2 + p.y / (p.g + 1) - p.id))
case("assign-int", {"op": "assign", "x": src(P), "name": "z", "expr": "id * 3 - -g"},
     p.assign(z=p.id * 3 + p.g))
case("assign-division", {"op": "assign", "x": src(P), "name": "g", "expr": "id / (g - 1)"},
     p.assign(g=p.id / (p.g - 1)))
case("head", {"op": "head", "x": src(P), "n": 7}, p.head(7))
case("head-after-filter", {"op": "head", "n": 5, "x": {"op": "filter", "x": src(P), "where": "flag"}},
     p[p.flag].head(5))
case("sort-two-keys", {"op": "sort", "x": src(P), "by": ["g", "x"], "descending": [False, True]},
     p.sort_values(["g", "x"], ascending=[True, False], kind="stable"))
case("sort-stable-ties", {"op": "sort", "x": src(P), "by": ["k"]}, p.sort_values("k", kind="stable"))
case("sort-desc-nan-last", {"op": "sort", "x": src(P), "by": "y", "descending": True},
     p.sort_values("y", ascending=False, kind="stable"))
case("sort-bool-int", {"op": "sort", "x": src(P), "by": ["flag", "id"], "descending": [True, False]},
     p.sort_values(["flag", "id"], ascending=[False, True], kind="stable"))
A1 = [["x", "sum"], ["y", "mean"], ["id", "count"], ["x", "min", "xmin"], ["id", "max"], ["y", "count", "ny"]]
case("groupby-string-key", {"op": "groupby", "x": src(P), "keys": ["k"], "aggs": A1}, agg(p, ["k"], A1))
A2 = [["id", "sum"], ["x", "mean"], ["k", "max"], ["y", "min"]]
case("groupby-two-keys", {"op": "groupby", "x": src(P), "keys": ["g", "k"], "aggs": A2}, agg(p, ["g", "k"], A2))
A3 = [["id", "sum"], ["g", "mean"], ["flag", "count"]]
case("groupby-bool-key", {"op": "groupby", "x": src(P), "keys": "flag", "aggs": A3}, agg(p, ["flag"], A3))
case("join-one-key", {"op": "join", "x": src(P), "y": src(R), "on": ["k"]},
     pd.merge(p, right, on=["k"], how="inner", sort=True))
case("join-two-keys", {"op": "join", "x": src(R), "y": src(P), "on": ["g", "k"]},
     pd.merge(right, p, on=["g", "k"], how="inner", sort=True))
f = p[p.x > 0]
f = f.assign(v=f.x * f.g)
A4 = [["v", "sum"], ["id", "count", "n"]]
case("chain", {"op": "sort", "by": ["n", "k"], "descending": [True, False], "x": {
    "op": "groupby", "keys": ["k"], "aggs": A4, "x": {
        "op": "assign", "name": "v", "expr": "x * g", "x": {"op": "filter", "where": "x > 0", "x": src(P)}}}},
    agg(f, ["k"], A4).sort_values(["n", "k"], ascending=[False, True], kind="stable"))


def bench():
    n, groups = 10_000_000, 1000
    r = np.random.default_rng(1)
    df = pd.DataFrame({"key": r.integers(0, groups, n).astype(np.int64), "value": r.random(n)})
    best = math.inf
    for _ in range(5):
        t0 = time.perf_counter()
        out = df.groupby("key", sort=True).agg(value_sum=("value", "sum"), value_mean=("value", "mean"))
        best = min(best, time.perf_counter() - t0)
    assert len(out) == groups
    print(f"pandas {pd.__version__}: groupby of {n} rows into {groups} groups, sum+mean: best of 5 {best * 1e9:.0f} ns/op ({best * 1e3:.1f} ms)")


if "--bench" in sys.argv:
    bench()
else:
    json.dump({"pandas": pd.__version__, "cases": cases}, sys.stdout, indent=1, ensure_ascii=False)
    print()
