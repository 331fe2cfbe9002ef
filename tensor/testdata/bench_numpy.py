#!/usr/bin/env python3
"""The NumPy baselines of internal/tensorbench: one workload per process, printed as a
`go test -bench` line (ns/op, MB/s or GFLOP/s, peak-KiB) for internal/benchfmt.

    python3 tensor/testdata/bench_numpy.py TensorSum10k|TensorFMA10k|TensorMatmul2k|TableGroupBy10M

Each tensor workload makes its random float64 arrays inside the timed region, as mrun's rand
does; TableGroupBy10M makes its DataFrame (160 MB in memory) before the clock starts, as mrun's
side stores its table in the engine as chunks, and needs pandas (it says how to install it
when it is missing).
"""
import resource
import sys
import time

try:
    import numpy as np
except ImportError:
    print("tensorbench: no NumPy: install it with `bash tensor/testdata/gen.sh` (Debian's python3-numpy)")
    sys.exit(0)

BIG, MAT = 10000, 2000


def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def group_by():
    try:
        import pandas as pd
    except ImportError:
        print("tensorbench: no pandas: install it with `bash table/testdata/gen.sh` (Debian's python3-pandas)")
        return
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"key": rng.integers(0, 1000, 10_000_000), "value": rng.random(10_000_000)})
    t0 = time.perf_counter_ns()
    r = df.groupby("key")["value"].agg(["sum", "mean"])
    ns = time.perf_counter_ns() - t0
    assert len(r) == 1000, len(r)
    print("BenchmarkTableGroupBy10M/pandas\t1\t%d ns/op\t%.0f MB/s\t%d peak-KiB" % (ns, 10_000_000 * 16 / 1e6 / (ns / 1e9), peak_kib()))


def main(w):
    if w == "TableGroupBy10M":
        group_by()
        return
    rng = np.random.default_rng(1)
    t0 = time.perf_counter_ns()
    if w == "TensorSum10k":
        s = rng.random((BIG, BIG)).sum()
        ns = time.perf_counter_ns() - t0
        assert abs(s / BIG / BIG - 0.5) < 0.001, s
        rate = "%.0f MB/s" % (BIG * BIG * 8 / 1e6 / (ns / 1e9))
    elif w == "TensorFMA10k":
        a, b, c = rng.random((BIG, BIG)), rng.random((BIG, BIG)), rng.random((BIG, BIG))
        r = a * b + c
        ns = time.perf_counter_ns() - t0
        assert r.shape == (BIG, BIG)
        rate = "%.0f MB/s" % (BIG * BIG * 8 / 1e6 / (ns / 1e9))
    elif w == "TensorMatmul2k":
        a, b = rng.random((MAT, MAT)), rng.random((MAT, MAT))
        r = a @ b
        ns = time.perf_counter_ns() - t0
        assert r.shape == (MAT, MAT)
        rate = "%.2f GFLOP/s" % (2 * MAT**3 / ns)
    else:
        sys.exit("bench_numpy.py: unknown workload %r" % w)
    print("Benchmark%s/numpy\t1\t%d ns/op\t%s\t%d peak-KiB" % (w, ns, rate, peak_kib()))


if __name__ == "__main__":
    main(sys.argv[1])
