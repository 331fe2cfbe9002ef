#!/usr/bin/env python3
"""The NumPy baselines of internal/tensorbench: one workload per process, printed as a
`go test -bench` line (ns/op, MB/s or GFLOP/s, peak-KiB) for internal/benchfmt.

    python3 tensor/testdata/bench_numpy.py TensorSum10k|TensorFMA10k|TensorMatmul2k

Each makes its random float64 arrays inside the timed region, as mrun's rand does.
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


def main(w):
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
