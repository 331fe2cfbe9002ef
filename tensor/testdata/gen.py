"""Writes the NumPy fixtures of package tensor to stdout as JSON.

Each case is {"name", "expr", "want", "rtol", "atol"[, "chunkings"]}: expr is an expression
of docs/tensors.md in JSON, where {"$tensor": {"dtype", "shape", "data"}} is a tensor (data:
base64 of the little-endian elements) and numbers keep their kind (2 is an integer, 2.0 a
float). want is the tensor NumPy computes. chunkings, when present, lists the chunk sizes
the test must use for every chunked leaf (otherwise the test's default list applies).
"""
import base64
import json
import sys

import numpy as np

np.seterr(divide="ignore", invalid="ignore")  # integer division by zero gives inf and nan on purpose

rng = np.random.default_rng(20261207)


def enc(a):
    a = np.array(a, order="C")  # ascontiguousarray would make a scalar 1-d
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return {"$tensor": {"dtype": str(a.dtype), "shape": list(a.shape),
                        "data": base64.b64encode(a.tobytes()).decode()}}


def lit(a):
    return {"op": "tensor", "value": enc(a)}


A = rng.random((7, 5))          # float64
B = rng.random((7, 5)) + 0.5
C = rng.random(5) - 0.5         # broadcasts along rows
D = rng.random((7, 1))          # broadcasts along columns
F = rng.random((7, 5)).astype(np.float32)
I = rng.integers(-50, 50, (7, 5)).astype(np.int32)
J = rng.integers(0, 9, (7, 5)).astype(np.int64)
K = rng.integers(1, 5, (5,)).astype(np.int64)
M = rng.random((7, 5)) > 0.5    # bool
T3 = rng.random((4, 3, 5))
N = A.copy()
N[2, 3] = np.nan                # NaN propagation in reductions
E = rng.random((5, 4))
EI = rng.integers(-5, 5, (5, 4)).astype(np.int32)
G = rng.random((4, 6)).astype(np.float32)
tie = np.array([[3, 1, 3, 2], [0, 3, 1, 3], [3, 3, 0, 0]], dtype=np.int32)  # repeated maxima

cases = []


def case(name, expr, want, rtol=1e-12, atol=1e-12, chunkings=None):
    want = np.asarray(want)
    c = {"name": name, "expr": expr, "want": enc(want), "rtol": rtol, "atol": atol}
    if chunkings is not None:
        c["chunkings"] = chunkings
    cases.append(c)


# Elementwise binary operators, with broadcasting and promotion.
bin_ops = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide,
           "eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
           "gt": np.greater, "ge": np.greater_equal}
pairs = {"f64,f64": (A, B), "f64,row": (A, C), "col,row": (D, C), "f64,col": (A, D),
         "i32,f64": (I, A), "i32,i64": (I, J), "f32,f32": (F, F[::-1].copy()),
         "f32,i64": (F, J), "i32,row": (I, C)}
for op, f in bin_ops.items():
    for pname, (x, y) in pairs.items():
        tol = 1e-6 if x.dtype == np.float32 and y.dtype == np.float32 else 1e-12
        case(f"{op}/{pname}", {"op": op, "x": lit(x), "y": lit(y)}, f(x, y), rtol=tol)
case("pow/f64,f64", {"op": "pow", "x": lit(B), "y": lit(A)}, B ** A)
case("pow/i64,row", {"op": "pow", "x": lit(J), "y": lit(K)}, J ** K)
case("pow/f32,scalar", {"op": "pow", "x": lit(F), "y": 2.0}, F ** 2.0, rtol=1e-6)
case("add/bool,bool", {"op": "add", "x": lit(M), "y": lit(M[::-1].copy())}, M + M[::-1])
case("mul/bool,i32", {"op": "mul", "x": lit(M), "y": lit(I)}, M * I)
case("eq/bool,bool", {"op": "eq", "x": lit(M), "y": lit(M[::-1].copy())}, M == M[::-1])
# Python scalars next to arrays (NumPy keeps the array's dtype when the kind fits).
case("add/f64,2.5", {"op": "add", "x": lit(A), "y": 2.5}, A + 2.5)
case("mul/i32,3", {"op": "mul", "x": lit(I), "y": 3}, I * 3)
case("mul/f32,2.0", {"op": "mul", "x": lit(F), "y": 2.0}, F * np.float32(2.0), rtol=1e-6)
case("div/i32,2", {"op": "div", "x": lit(I), "y": 2}, I / 2)
case("sub/3,i64", {"op": "sub", "x": 3, "y": lit(J)}, 3 - J)
case("lt/i32,0.5", {"op": "lt", "x": lit(I), "y": 0.5}, I < 0.5)

# Unary operators.
un = {"neg": np.negative, "abs": np.abs, "sqrt": np.sqrt, "exp": np.exp, "log": np.log}
for op, f in un.items():
    for xname, x in {"f64": A - 0.5 if op in ("neg", "abs", "exp") else A, "f32": F,
                     "i32": I if op in ("neg", "abs") else np.abs(I) + 1}.items():
        tol = 1e-6 if x.dtype == np.float32 else 1e-12
        case(f"{op}/{xname}", {"op": op, "x": lit(x)}, f(x), rtol=tol)

# where and astype.
case("where/bool,f64,i32", {"op": "where", "cond": lit(M), "x": lit(A), "y": lit(I)}, np.where(M, A, I))
case("where/cmp,row,0", {"op": "where", "cond": {"op": "gt", "x": lit(A), "y": 0.5},
                         "x": lit(C), "y": 0.0}, np.where(A > 0.5, C, 0.0))
case("astype/f64,int32", {"op": "astype", "x": {"op": "mul", "x": lit(A - 0.5), "y": 100.0},
                          "dtype": "int32"}, ((A - 0.5) * 100.0).astype(np.int32))
case("astype/i32,bool", {"op": "astype", "x": lit(I), "dtype": "bool"}, I.astype(bool))
case("astype/f32,float64", {"op": "astype", "x": lit(F), "dtype": "float64"}, F.astype(np.float64))

# Reductions.
red = {"sum": np.sum, "mean": np.mean, "min": np.min, "max": np.max, "var": np.var,
       "std": np.std, "argmin": np.argmin, "argmax": np.argmax}
for op, f in red.items():
    for xname, x in {"f64": A, "f32": F, "i32": I, "3d": T3}.items():
        axes = [None, 0, 1] + ([2, [0, 2]] if x.ndim == 3 else [[0, 1]])
        for ax in axes:
            if op.startswith("arg") and isinstance(ax, list):
                continue
            tol = 1e-5 if x.dtype == np.float32 else 1e-10
            npax = tuple(ax) if isinstance(ax, list) else ax
            case(f"{op}/{xname}/axis={ax}", {"op": op, "x": lit(x), "axis": ax}, f(x, axis=npax), rtol=tol)
case("sum/bool", {"op": "sum", "x": lit(M)}, np.sum(M))
case("sum/bool/axis=0", {"op": "sum", "x": lit(M), "axis": 0}, np.sum(M, axis=0))
case("max/bool", {"op": "max", "x": lit(M), "axis": 1}, np.max(M, axis=1))
case("std/f64/ddof=1", {"op": "std", "x": lit(A), "ddof": 1}, np.std(A, ddof=1))
case("var/f64/axis=0/ddof=1", {"op": "var", "x": lit(A), "axis": 0, "ddof": 1}, np.var(A, axis=0, ddof=1))
case("sum/f64/keepdims", {"op": "sum", "x": lit(A), "axis": 1, "keepdims": True}, np.sum(A, axis=1, keepdims=True))
case("mean/3d/keepdims", {"op": "mean", "x": lit(T3), "axis": [0, 2], "keepdims": True}, np.mean(T3, axis=(0, 2), keepdims=True))
case("argmax/ties", {"op": "argmax", "x": lit(tie)}, np.argmax(tie))
case("argmax/ties/axis=0", {"op": "argmax", "x": lit(tie), "axis": 0}, np.argmax(tie, axis=0))
case("argmin/ties/axis=1", {"op": "argmin", "x": lit(tie), "axis": 1}, np.argmin(tie, axis=1))
case("max/nan", {"op": "max", "x": lit(N)}, np.max(N))
case("min/nan/axis=0", {"op": "min", "x": lit(N), "axis": 0}, np.min(N, axis=0))
case("argmax/nan", {"op": "argmax", "x": lit(N)}, np.argmax(N))
case("sum/nan/axis=1", {"op": "sum", "x": lit(N), "axis": 1}, np.sum(N, axis=1))

# Matrix product (blocks and sums of block products).
case("matmul/f64", {"op": "matmul", "x": lit(A), "y": lit(E)}, A @ E)
case("matmul/i32", {"op": "matmul", "x": lit(I), "y": lit(EI)}, I @ EI)
case("matmul/f32,f64", {"op": "matmul", "x": lit(F), "y": lit(E)}, F @ E)
case("matmul/f32", {"op": "matmul", "x": lit(F), "y": lit(E.astype(np.float32))}, F @ E.astype(np.float32), rtol=1e-5)

# Layout: transpose, slicing, concatenate, reshape.
case("transpose/2d", {"op": "transpose", "x": lit(A)}, A.T)
case("transpose/3d", {"op": "transpose", "x": lit(T3), "axes": [1, 2, 0]}, np.transpose(T3, (1, 2, 0)))
case("transpose/3d/default", {"op": "transpose", "x": lit(T3)}, T3.T)
slices = {"1:6:2,::-1": ((1, 6, 2), (None, None, -1)),
          "-3:,1:4": ((-3, None, None), (1, 4, None)),
          "::3,-1:0:-2": ((None, None, 3), (-1, 0, -2)),
          "5:1:-1": ((5, 1, -1),),
          "10:20": ((10, 20, None),)}
for sname, idx in slices.items():
    py = tuple(slice(*s) for s in idx)
    case(f"slice/{sname}", {"op": "slice", "x": lit(A), "index": [list(s) for s in idx]}, A[py])
case("slice/3d", {"op": "slice", "x": lit(T3), "index": [[None, None, -1], [1, None, None]]}, T3[::-1, 1:])
case("concatenate/axis=0", {"op": "concatenate", "xs": [lit(A), lit(B), lit(C[None, :])], "axis": 0},
     np.concatenate([A, B, C[None, :]], axis=0))
case("concatenate/axis=1,dtypes", {"op": "concatenate", "xs": [lit(A), lit(I), lit(D)], "axis": 1},
     np.concatenate([A, I, D], axis=1))
case("concatenate/axis=-1", {"op": "concatenate", "xs": [lit(F), lit(F)], "axis": -1},
     np.concatenate([F, F], axis=-1))
case("reshape/1d-to-2d", {"op": "reshape", "x": {"op": "arange", "start": 0, "stop": 24}, "shape": [4, -1]},
     np.arange(24).reshape(4, -1), chunkings=[-1, 6, 12])
case("reshape/2d-to-1d", {"op": "reshape", "x": lit(G), "shape": [-1]}, G.reshape(-1),
     chunkings=[-1, [1, -1], [3, -1]])
case("reshape/2d-to-3d", {"op": "reshape", "x": lit(G), "shape": [4, 2, 3]}, G.reshape(4, 2, 3),
     chunkings=[-1, [1, -1], [3, -1]])
case("reshape/3d-to-2d", {"op": "reshape", "x": lit(T3), "shape": [12, 5]}, T3.reshape(12, 5),
     chunkings=[-1, [1, -1, -1], [3, -1, -1]])

# Creation.
case("arange/int", {"op": "arange", "start": 3, "stop": 20, "step": 2}, np.arange(3, 20, 2))
case("arange/float", {"op": "arange", "start": 0.5, "stop": 3.0, "step": 0.25}, np.arange(0.5, 3.0, 0.25))
case("arange/negative-step", {"op": "arange", "start": 10, "stop": -3, "step": -3}, np.arange(10, -3, -3))
case("linspace", {"op": "linspace", "start": 0.0, "stop": 1.0, "num": 7}, np.linspace(0.0, 1.0, 7))
case("linspace/no-endpoint", {"op": "linspace", "start": -2.0, "stop": 3.0, "num": 9, "endpoint": False},
     np.linspace(-2.0, 3.0, 9, endpoint=False))
case("full", {"op": "full", "shape": [4, 3], "value": 3.5}, np.full((4, 3), 3.5))
case("full/int", {"op": "full", "shape": [3, 5], "value": 7}, np.full((3, 5), 7))
case("zeros", {"op": "zeros", "shape": [5, 2]}, np.zeros((5, 2)))
case("ones/int32", {"op": "ones", "shape": [6], "dtype": "int32"}, np.ones(6, dtype=np.int32))

# A composite: standardise columns, then a matrix product and a reduction.
z = (A - A.mean(axis=0)) / A.std(axis=0)
case("composite/standardise", {"op": "div", "x": {"op": "sub", "x": lit(A), "y": {"op": "mean", "x": lit(A), "axis": 0}},
                               "y": {"op": "std", "x": lit(A), "axis": 0}}, z, rtol=1e-10)
case("composite/gram-sum", {"op": "sum", "x": {"op": "matmul", "x": {"op": "transpose", "x": lit(A)}, "y": lit(A)}, "axis": 1},
     (A.T @ A).sum(axis=1), rtol=1e-10)

json.dump({"numpy": np.__version__, "cases": cases}, sys.stdout, indent=None, separators=(",", ":"))
sys.stdout.write("\n")
