/*
 * conformance.c: the functions of guests/CONFORMANCE.md, written with the C SDK (mrun.h).
 * guests/c/build.sh builds it to testdata/c/conformance.wasm.
 */
#include <stdint.h>
#include <string.h>

#include "mrun.h"

/* ---- Values ----------------------------------------------------------------------------- */

/* inc returns x + 1. */
static void inc(mrun_args *a, mrun_writer *out)
{
	int64_t x = mrun_arg_int(a, "x");
	if (mrun_failed())
		return;
	if (x == INT64_MAX) {
		mrun_error("inc: %lld + 1 overflows int64", (long long)x);
		return;
	}
	mrun_write_int(out, x + 1);
}
MRUN_EXPORT(inc)
MRUN_SIG(inc, "inc(x: int) -> int  -- Returns x + 1.");

/* add returns a + b. */
static void add(mrun_args *a, mrun_writer *out)
{
	int64_t x = mrun_arg_int(a, "a");
	int64_t y = mrun_arg_int(a, "b");
	int64_t sum;
	if (mrun_failed())
		return;
	if (__builtin_add_overflow(x, y, &sum)) {
		mrun_error("add: %lld + %lld overflows int64", (long long)x, (long long)y);
		return;
	}
	mrun_write_int(out, sum);
}
MRUN_EXPORT(add)
MRUN_SIG(add, "add(a: int, b: int) -> int  -- Returns a + b.");

/* sum_all is Python's sum(xs): integers add up to an integer; from the first float on, the
 * total is a float64 added left to right. */
static void sum_all(mrun_args *a, mrun_writer *out)
{
	mrun_reader items;
	uint32_t n = mrun_arg_array(a, "xs", &items);
	int64_t total = 0;
	double ftotal = 0;
	bool is_float = false;
	for (uint32_t i = 0; i < n && !mrun_failed(); i++) {
		int64_t x;
		double f;
		if (!is_float && mrun_read_int(&items, &x)) {
			if (__builtin_add_overflow(total, x, &total))
				mrun_error("sum_all: integer overflow at element %u", i);
		} else if (mrun_read_double(&items, &f)) {
			if (!is_float)
				ftotal = (double)total, is_float = true;
			ftotal += f;
		} else {
			mrun_error("sum_all: element %u is %s, not a number", i, mrun_type_name(&items));
		}
	}
	if (mrun_failed())
		return;
	if (is_float)
		mrun_write_double(out, ftotal);
	else
		mrun_write_int(out, total);
}
MRUN_EXPORT(sum_all)
MRUN_SIG(sum_all, "sum_all(xs: list) -> any  -- Sums xs like Python's sum(): an int, or a float from the first float on.");

/* triage splits xs into the values below 0.5 and the others: spawn it with n_output = 2. */
static void triage(mrun_args *a, mrun_writer *out)
{
	mrun_reader items;
	uint32_t n = mrun_arg_array(a, "xs", &items);
	/* first pass: check the elements and count the low ones */
	mrun_reader scan = items;
	uint32_t low = 0;
	for (uint32_t i = 0; i < n; i++) {
		double x;
		if (!mrun_read_double(&scan, &x)) {
			mrun_error("triage: element %u is %s, not a float", i, mrun_type_name(&scan));
			return;
		}
		low += x < 0.5;
	}
	if (mrun_failed())
		return;
	mrun_write_array(out, 2); /* [low, high]: the two outputs */
	for (int side = 0; side < 2; side++) {
		mrun_write_array(out, side == 0 ? low : n - low);
		mrun_reader r = items;
		for (uint32_t i = 0; i < n; i++) {
			double x;
			mrun_read_double(&r, &x);
			if ((x < 0.5) == (side == 0))
				mrun_write_double(out, x);
		}
	}
}
MRUN_EXPORT(triage)
MRUN_SIG(triage, "triage(xs: list[float]) -> (list[float], list[float])  -- Splits xs into the elements below 0.5 and the others.");

/* identity returns v, decoded and encoded again. */
static void identity(mrun_args *a, mrun_writer *out)
{
	mrun_reader v;
	if (mrun_arg_value(a, "v", &v))
		mrun_write_value(out, &v);
}
MRUN_EXPORT(identity)
MRUN_SIG(identity, "identity(v: any) -> any  -- Returns v, byte for byte.");

/* concat returns a + b. */
static void concat(mrun_args *a, mrun_writer *out)
{
	mrun_str x = mrun_arg_str(a, "a");
	mrun_str y = mrun_arg_str(a, "b");
	if (mrun_failed())
		return;
	char *s = mrun_write_str_reserve(out, x.len + y.len);
	if (s) {
		memcpy(s, x.ptr, x.len);
		memcpy(s + x.len, y.ptr, y.len);
	}
}
MRUN_EXPORT(concat)
MRUN_SIG(concat, "concat(a: str, b: str) -> str  -- Returns a + b.");

/* rev_bytes returns the bytes of b in reverse order. */
static void rev_bytes(mrun_args *a, mrun_writer *out)
{
	mrun_bytes b = mrun_arg_bin(a, "b");
	if (mrun_failed())
		return;
	uint8_t *r = mrun_write_bin_reserve(out, b.len);
	for (size_t i = 0; r && i < b.len; i++)
		r[i] = b.ptr[b.len - 1 - i];
}
MRUN_EXPORT(rev_bytes)
MRUN_SIG(rev_bytes, "rev_bytes(b: bytes) -> bytes  -- Returns the bytes of b in reverse order.");

/* ints returns [i, u] for an int64 i and a uint64 u. */
static void ints(mrun_args *a, mrun_writer *out)
{
	int64_t i = mrun_arg_int(a, "i");
	uint64_t u = mrun_arg_uint(a, "u");
	if (mrun_failed())
		return;
	mrun_write_array(out, 2);
	mrun_write_int(out, i);
	mrun_write_uint(out, u);
}
MRUN_EXPORT(ints)
MRUN_SIG(ints, "ints(i: int, u: int) -> list[int]  -- Returns [i, u]; i is an int64, u a uint64.");

/* fdiv returns a / b in IEEE 754: 1/0 is +Inf, 0/0 is NaN. */
static void fdiv(mrun_args *a, mrun_writer *out)
{
	double x = mrun_arg_double(a, "a");
	double y = mrun_arg_double(a, "b");
	mrun_write_double(out, x / y);
}
MRUN_EXPORT(fdiv)
MRUN_SIG(fdiv, "fdiv(a: float, b: float) -> float  -- Returns a / b in IEEE 754: 1/0 is +Inf, 0/0 is NaN.");

/* greet(name, greeting="hello", punct="!") returns greeting + ", " + name + punct. */
static void greet(mrun_args *a, mrun_writer *out)
{
	mrun_str name = mrun_arg_str(a, "name");
	mrun_str greeting = mrun_kwarg_str(a, "greeting", "hello");
	mrun_str punct = mrun_kwarg_str(a, "punct", "!");
	if (mrun_failed())
		return;
	char *s = mrun_write_str_reserve(out, greeting.len + 2 + name.len + punct.len);
	if (s) {
		memcpy(s, greeting.ptr, greeting.len), s += greeting.len;
		memcpy(s, ", ", 2), s += 2;
		memcpy(s, name.ptr, name.len), s += name.len;
		memcpy(s, punct.ptr, punct.len);
	}
}
MRUN_EXPORT(greet)
MRUN_SIG(greet, "greet(name: str, *, greeting: str = \"hello\", punct: str = \"!\") -> str  -- Returns greeting + \", \" + name + punct.");

/* nothing returns nil: a function that writes no result returns nil. */
static void nothing(mrun_args *a, mrun_writer *out)
{
	(void)a, (void)out;
}
MRUN_EXPORT(nothing)
MRUN_SIG(nothing, "nothing() -> none  -- Returns nil.");

/* empties returns ["", b"", [], {}]. */
static void empties(mrun_args *a, mrun_writer *out)
{
	(void)a;
	mrun_write_array(out, 4);
	mrun_write_str(out, "");
	mrun_write_bin(out, "", 0);
	mrun_write_array(out, 0);
	mrun_write_map(out, 0);
}
MRUN_EXPORT(empties)
MRUN_SIG(empties, "empties() -> list[any]  -- Returns [\"\", b\"\", [], {}].");

/* fail fails with msg, verbatim. */
static void fail(mrun_args *a, mrun_writer *out)
{
	(void)out;
	mrun_str msg = mrun_arg_str(a, "msg");
	if (!mrun_failed())
		mrun_error_str(msg.ptr, msg.len);
}
MRUN_EXPORT(fail)
MRUN_SIG(fail, "fail(msg: str) -> none  -- Fails with msg, verbatim.");

/* ---- Nested spawn ----------------------------------------------------------------------- */

/* driver spawns inc(i) for i in 0..9, executes the ten together and returns their values. */
static void driver(mrun_args *a, mrun_writer *out)
{
	(void)a;
	mrun_handle incs[10];
	for (int i = 0; i < 10; i++) {
		mrun_writer *args = mrun_spawn_args(1);
		mrun_write_int(args, i);
		incs[i] = mrun_spawn(NULL, "inc", args, 1);
		if (incs[i] < 0) {
			mrun_error("driver: spawn inc(%d): %s", i, mrun_last_error());
			return;
		}
	}
	if (mrun_execute(incs, 10) != 0) {
		mrun_error("driver: execute: %s", mrun_last_error());
		return;
	}
	mrun_write_array(out, 10);
	for (int i = 0; i < 10; i++) {
		mrun_reader v;
		if (mrun_fetch(incs[i], &v) != 0) {
			mrun_fail_with(incs[i], "driver: inc(%d): %s", i, mrun_last_error());
			return;
		}
		mrun_write_value(out, &v);
	}
}
MRUN_EXPORT(driver)
MRUN_SIG(driver, "driver() -> list[int]  -- Spawns inc(i) for i in 0..9 and returns their values.");

/* divmod returns [a / b, a % b], truncating: spawn it with n_output = 2. */
static void divmod(mrun_args *a, mrun_writer *out)
{
	int64_t x = mrun_arg_int(a, "a");
	int64_t y = mrun_arg_int(a, "b");
	if (mrun_failed())
		return;
	if (y == 0 || (x == INT64_MIN && y == -1)) {
		mrun_error("divmod: cannot divide %lld by %lld", (long long)x, (long long)y);
		return;
	}
	mrun_write_array(out, 2);
	mrun_write_int(out, x / y);
	mrun_write_int(out, x % y);
}
MRUN_EXPORT(divmod)
MRUN_SIG(divmod, "divmod(a: int, b: int) -> (int, int)  -- Returns a / b and a % b, truncating toward zero.");

/* nested_split spawns divmod(a, b) with two outputs and add(q, r) on them, executes only the
 * add, and returns [q, r, q + r]. */
static void nested_split(mrun_args *a, mrun_writer *out)
{
	int64_t x = mrun_arg_int(a, "a");
	int64_t y = mrun_arg_int(a, "b");
	if (mrun_failed())
		return;

	mrun_writer *args = mrun_spawn_args(2);
	mrun_write_int(args, x);
	mrun_write_int(args, y);
	mrun_handle q = mrun_spawn(NULL, "divmod", args, 2); /* outputs q and q + 1 */
	if (q < 0) {
		mrun_error("nested_split: spawn divmod: %s", mrun_last_error());
		return;
	}
	mrun_handle r = q + 1;

	args = mrun_spawn_args(2);
	mrun_write_handle(args, q); /* dependencies: add receives their values */
	mrun_write_handle(args, r);
	mrun_handle sum = mrun_spawn(NULL, "add", args, 1);
	if (sum < 0) {
		mrun_error("nested_split: spawn add: %s", mrun_last_error());
		return;
	}

	if (mrun_execute(&sum, 1) < 0) { /* runs divmod first */
		mrun_error("nested_split: execute: %s", mrun_last_error());
		return;
	}
	mrun_handle results[3] = {q, r, sum};
	mrun_write_array(out, 3);
	for (int i = 0; i < 3; i++) {
		mrun_reader v;
		if (mrun_fetch(results[i], &v) != 0) {
			mrun_fail_with(results[i], "nested_split: %s", mrun_last_error());
			return;
		}
		mrun_write_value(out, &v);
	}
}
MRUN_EXPORT(nested_split)
MRUN_SIG(nested_split, "nested_split(a: int, b: int) -> list[int]  -- Returns [a / b, a % b, a / b + a % b] through nested spawns.");

/* parent_fail spawns fail(msg) and fails because its child failed, naming it as the cause. */
static void parent_fail(mrun_args *a, mrun_writer *out)
{
	mrun_str msg = mrun_arg_str(a, "msg");
	if (mrun_failed())
		return;
	mrun_writer *args = mrun_spawn_args(1);
	mrun_write_strn(args, msg.ptr, msg.len);
	mrun_handle child = mrun_spawn(NULL, "fail", args, 1);
	if (child < 0 || mrun_execute(&child, 1) < 0) {
		mrun_error("parent_fail: %s", mrun_last_error());
		return;
	}
	mrun_reader v;
	int rc = mrun_fetch(child, &v);
	if (rc == MRUN_EFAILED) {
		mrun_fail_with(child, "parent_fail: %s", mrun_last_error());
		return;
	}
	if (rc < 0) {
		mrun_error("parent_fail: fetch: %s", mrun_last_error());
		return;
	}
	mrun_write_value(out, &v); /* the child did not fail after all */
}
MRUN_EXPORT(parent_fail)
MRUN_SIG(parent_fail, "parent_fail(msg: str) -> none  -- Spawns fail(msg) and fails with its error as the cause.");

/* ---- Tensors ---------------------------------------------------------------------------- */

/* tensor_sum returns the sum of the elements of a float64 tensor, in row-major order. */
static void tensor_sum(mrun_args *a, mrun_writer *out)
{
	mrun_tensor t;
	if (!mrun_arg_tensor(a, "t", MRUN_FLOAT64, &t))
		return;
	double sum = 0;
	for (size_t i = 0; i < t.size; i++)
		sum += t.f64[i];
	mrun_write_double(out, sum);
}
MRUN_EXPORT(tensor_sum)
MRUN_SIG(tensor_sum, "tensor_sum(t: tensor[float64]) -> float  -- Sums the elements in row-major order.");

/* matmul returns the matrix product of a (m×k) and b (k×n), both float64. */
static void matmul(mrun_args *a, mrun_writer *out)
{
	mrun_tensor x, y;
	if (!mrun_arg_tensor(a, "a", MRUN_FLOAT64, &x) || !mrun_arg_tensor(a, "b", MRUN_FLOAT64, &y))
		return;
	if (x.ndim != 2 || y.ndim != 2 || x.shape[1] != y.shape[0]) {
		mrun_error("matmul: cannot multiply a %u-d tensor (%llu×%llu) by a %u-d tensor "
			   "(%llu×%llu): want m×k and k×n",
			   x.ndim, (unsigned long long)x.shape[0], (unsigned long long)x.shape[1],
			   y.ndim, (unsigned long long)y.shape[0], (unsigned long long)y.shape[1]);
		return;
	}
	size_t m = x.shape[0], k = x.shape[1], n = y.shape[1];
	if (n != 0 && m > SIZE_MAX / sizeof(double) / n) {
		mrun_error("matmul: a %zu×%zu result is too large", m, n);
		return;
	}
	double *c = mrun_scratch(m * n * sizeof(double));
	if (!c)
		return;
	memset(c, 0, m * n * sizeof(double));
	for (size_t i = 0; i < m; i++)
		for (size_t p = 0; p < k; p++) {
			double aip = x.f64[i * k + p];
			for (size_t j = 0; j < n; j++)
				c[i * n + j] += aip * y.f64[p * n + j];
		}
	uint64_t shape[2] = {m, n};
	mrun_write_tensor(out, MRUN_FLOAT64, 2, shape, c);
}
MRUN_EXPORT(matmul)
MRUN_SIG(matmul, "matmul(a: tensor[float64], b: tensor[float64]) -> tensor[float64]  -- Multiplies an m x k by a k x n matrix.");

/* rand_matrix returns an r×c float64 tensor of pseudo-random numbers in [0, 1). The numbers
 * depend only on r and c, as a task's result should depend only on its arguments. */
static void rand_matrix(mrun_args *a, mrun_writer *out)
{
	int64_t r = mrun_arg_int(a, "r");
	int64_t c = mrun_arg_int(a, "c");
	if (mrun_failed())
		return;
	if (r < 0 || c < 0 || (c != 0 && r > (1 << 26) / c)) {
		mrun_error("rand_matrix: want 0 <= r, c and r*c <= 2^26, got %lld×%lld",
			   (long long)r, (long long)c);
		return;
	}
	size_t size = (size_t)(r * c);
	double *m = mrun_scratch(size * sizeof(double));
	if (!m)
		return;
	uint64_t state = 0x6d72756e00000000u ^ (uint64_t)r << 24 ^ (uint64_t)c; /* splitmix64 */
	for (size_t i = 0; i < size; i++) {
		uint64_t z = (state += 0x9e3779b97f4a7c15u);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
		z ^= z >> 31;
		m[i] = (double)(z >> 11) * 0x1p-53;
	}
	uint64_t shape[2] = {(uint64_t)r, (uint64_t)c};
	mrun_write_tensor(out, MRUN_FLOAT64, 2, shape, m);
}
MRUN_EXPORT(rand_matrix)
MRUN_SIG(rand_matrix, "rand_matrix(r: int, c: int) -> tensor[float64]  impure  -- Returns an r x c matrix of uniform numbers in [0, 1).");

/* driver2 is mt.random.rand(10, 10).sum(): it spawns rand_matrix(10, 10), impure as random
 * numbers are, and tensor_sum of it, executes the sum and returns it. */
static void driver2(mrun_args *a, mrun_writer *out)
{
	(void)a;
	mrun_writer *args = mrun_spawn_args(2);
	mrun_write_int(args, 10);
	mrun_write_int(args, 10);
	mrun_handle m = mrun_spawn(NULL, "rand_matrix", args, 1 | MRUN_IMPURE);
	args = mrun_spawn_args(1);
	mrun_write_handle(args, m); /* tensor_sum receives the matrix itself */
	mrun_handle sum = m < 0 ? m : mrun_spawn(NULL, "tensor_sum", args, 1);
	if (sum < 0 || mrun_execute(&sum, 1) < 0) {
		mrun_error("driver2: %s", mrun_last_error());
		return;
	}
	mrun_reader v;
	double total;
	if (mrun_fetch(sum, &v) != 0) {
		mrun_fail_with(sum, "driver2: %s", mrun_last_error());
		return;
	}
	if (!mrun_read_double(&v, &total)) {
		mrun_error("driver2: tensor_sum returned %s", mrun_type_name(&v));
		return;
	}
	mrun_write_double(out, total);
}
MRUN_EXPORT(driver2)
MRUN_SIG(driver2, "driver2() -> float  impure  -- Sums a random 10 x 10 matrix made by rand_matrix.");

/* driver2_tensor is driver2 on the tensor planner: mt.random.rand(10, 10).sum() as one
 * expression, evaluated by spawning eval of the native module mrun:tensor. Its rand is a
 * function of the seed, the one argument. */
static void driver2_tensor(mrun_args *a, mrun_writer *out)
{
	int64_t seed = mrun_arg_int(a, "seed");
	if (mrun_failed())
		return;
	static const uint64_t shape[2] = {10, 10};
	mrun_writer *args = mrun_spawn_args(1);
	mrun_expr_sum(args, 0, NULL); /* 0 axes: every axis */
	mrun_expr_rand(args, seed, 2, shape);
	double sum;
	if (mrun_eval_double(args, &sum) != 0) {
		mrun_error("driver2_tensor: %s", mrun_last_error());
		return;
	}
	mrun_write_double(out, sum);
}
MRUN_EXPORT(driver2_tensor)
MRUN_SIG(driver2_tensor, "driver2_tensor(seed: int) -> float  -- Sums rand(seed, 10, 10) evaluated by the tensor planner mrun:tensor.");

/* tensor_exprs returns, without evaluating them, expressions written with every mrun_expr_*
 * helper: the same values the host's tensor/expr builder makes (guests/c/table_test.go). */
static void tensor_exprs(mrun_args *a, mrun_writer *out)
{
	(void)a;
	static const uint64_t s10[2] = {10, 10}, s64[2] = {6, 4}, s2[1] = {2}, s33[2] = {3, 3};
	static const int64_t c3[2] = {3, -1}, r34[2] = {3, 4}, ax0[1] = {0}, ax1[1] = {1};
	static const int64_t rev[2] = {1, 0}, c22[2] = {2, 2};
	static const int64_t index[2][3] = {{MRUN_NONE, MRUN_NONE, -1}, {1, MRUN_NONE, MRUN_NONE}};
	static const double m[2] = {1, 2};
	mrun_write_array(out, 7);

	/* rand(1, 10, 10).sum() */
	mrun_expr_sum(out, 0, NULL);
	mrun_expr_rand(out, 1, 2, s10);

	/* rand(2, 6, 4) in chunks of 3 rows, * ones, + 2.5, - 1, / 2, ** 2, then neg ... log */
	mrun_expr_log(out), mrun_expr_exp(out), mrun_expr_sqrt(out), mrun_expr_abs(out);
	mrun_expr_neg(out), mrun_expr_pow(out), mrun_expr_div(out), mrun_expr_sub(out);
	mrun_expr_add(out), mrun_expr_mul(out);
	mrun_expr_extra(out, 1);
	mrun_expr_rand(out, 2, 2, s64);
	mrun_expr_chunks(out, 2, c3);
	mrun_write_str(out, "y"), mrun_expr_ones(out, 2, s64);  /* mul */
	mrun_write_str(out, "y"), mrun_write_double(out, 2.5); /* add */
	mrun_write_str(out, "y"), mrun_write_int(out, 1);      /* sub */
	mrun_write_str(out, "y"), mrun_write_int(out, 2);      /* div */
	mrun_write_str(out, "y"), mrun_write_double(out, 2);   /* pow */

	/* comparisons of x = arange(0, 12, 1).reshape(3, 4) */
	static void (*const cmp[6])(mrun_writer *) = {mrun_expr_eq, mrun_expr_ne, mrun_expr_lt,
						       mrun_expr_le, mrun_expr_gt, mrun_expr_ge};
	mrun_expr_concatenate(out, 0, 6);
	for (int i = 0; i < 6; i++) {
		cmp[i](out);
		mrun_expr_reshape(out, 2, r34), mrun_expr_arange(out, 0, 12, 1);
		mrun_write_str(out, "y");
		if (i < 5)
			mrun_write_int(out, 1);
		else
			mrun_write_bool(out, true);
	}

	/* where(x > 5, x, 0).std(axis 0, ddof 1), keeping the axis */
	mrun_expr_extra(out, 1);
	mrun_expr_std(out, 1, ax0, 1);
	mrun_expr_where(out);
	mrun_expr_gt(out);
	mrun_expr_reshape(out, 2, r34), mrun_expr_arange(out, 0, 12, 1);
	mrun_write_str(out, "y"), mrun_write_int(out, 5);
	mrun_write_str(out, "x"), mrun_expr_reshape(out, 2, r34), mrun_expr_arange(out, 0, 12, 1);
	mrun_write_str(out, "y"), mrun_write_int(out, 0);
	mrun_expr_keepdims(out);

	/* the reductions */
	mrun_expr_concatenate(out, 0, 6);
	for (int i = 0; i < 6; i++) {
		switch (i) {
		case 0: mrun_expr_mean(out, 1, ax1); break;
		case 1: mrun_expr_var(out, 0, NULL, 0); break;
		case 2: mrun_expr_min(out, 1, ax0); break;
		case 3: mrun_expr_max(out, 0, NULL); break;
		case 4: mrun_expr_argmin(out, 0, NULL); break;
		case 5: mrun_expr_argmax(out, 1, ax1); break;
		}
		mrun_expr_reshape(out, 2, r34), mrun_expr_arange(out, 0, 12, 1);
	}

	/* layout: x.T.transpose(1, 0)[::-1, 1:].rechunk(2, 2) @ zeros(3, 3) */
	mrun_expr_matmul(out);
	mrun_expr_rechunk(out, 2, c22);
	mrun_expr_slice(out, 2, index);
	mrun_expr_transpose(out, 2, rev);
	mrun_expr_transpose(out, 0, NULL);
	mrun_expr_reshape(out, 2, r34), mrun_expr_arange(out, 0, 12, 1);
	mrun_write_str(out, "y"), mrun_expr_zeros(out, 2, s33);

	/* creation: full(7, int32, 2), zeros(2).astype(float32), linspace(0, 1, 2), tensor + tensor */
	mrun_expr_concatenate(out, 0, 4);
	mrun_expr_full(out, MRUN_INT32, 1, s2), mrun_write_int(out, 7);
	mrun_expr_astype(out, MRUN_FLOAT32), mrun_expr_zeros(out, 1, s2);
	mrun_expr_linspace(out, 0, 1, 2);
	mrun_expr_add(out);
	mrun_expr_tensor(out, MRUN_FLOAT64, 1, s2, m);
	mrun_write_str(out, "y"), mrun_expr_tensor(out, MRUN_FLOAT64, 1, s2, m);
}
MRUN_EXPORT(tensor_exprs)
MRUN_SIG(tensor_exprs, "tensor_exprs() -> list[map[str, any]]  -- Returns seven tensor expressions built with the mrun_expr_* helpers, unevaluated.");

/* ---- Tables ----------------------------------------------------------------------------- */

/* table_stats reads a table and returns {"rows": n, "columns": {name: summary, ...}}, where a
 * column's summary is, by type: int64, the sum; float64, [the sum of the values that are not
 * NaN, the number of NaN]; bool, the number of trues; string, [the total bytes, the number of
 * empty strings]; timestamp, the latest, in nanoseconds (nil without rows). */
static void table_stats(mrun_args *a, mrun_writer *out)
{
	mrun_table t;
	if (!mrun_arg_table(a, "t", &t))
		return;
	mrun_write_map(out, 2);
	mrun_write_str(out, "rows");
	mrun_write_uint(out, t.nrows);
	mrun_write_str(out, "columns");
	mrun_write_map(out, t.ncols);
	for (uint32_t i = 0; i < t.ncols; i++) {
		const mrun_column *c = &t.cols[i];
		mrun_write_strn(out, c->name.ptr, c->name.len);
		int64_t isum = 0;
		double fsum = 0;
		uint64_t count = 0, bytes = 0;
		switch (c->type) {
		case MRUN_COL_INT64:
			for (size_t r = 0; r < t.nrows; r++)
				isum = (int64_t)((uint64_t)isum + (uint64_t)c->i64[r]); /* wraps */
			mrun_write_int(out, isum);
			break;
		case MRUN_COL_FLOAT64:
			for (size_t r = 0; r < t.nrows; r++)
				if (c->f64[r] != c->f64[r])
					count++;
				else
					fsum += c->f64[r];
			mrun_write_array(out, 2);
			mrun_write_double(out, fsum);
			mrun_write_uint(out, count);
			break;
		case MRUN_COL_BOOL:
			for (size_t r = 0; r < t.nrows; r++)
				count += c->b[r];
			mrun_write_uint(out, count);
			break;
		case MRUN_COL_STRING:
			for (size_t r = 0; r < t.nrows; r++) {
				mrun_str s = mrun_column_str(c, r);
				bytes += s.len;
				count += s.len == 0;
			}
			mrun_write_array(out, 2);
			mrun_write_uint(out, bytes);
			mrun_write_uint(out, count);
			break;
		case MRUN_COL_TIMESTAMP:
			if (t.nrows == 0) {
				mrun_write_nil(out);
				break;
			}
			isum = c->i64[0];
			for (size_t r = 1; r < t.nrows; r++)
				if (c->i64[r] > isum)
					isum = c->i64[r];
			mrun_write_int(out, isum);
			break;
		}
	}
}
MRUN_EXPORT(table_stats)
MRUN_SIG(table_stats, "table_stats(t: table) -> map[str, any]  -- Returns {\"rows\": n, \"columns\": {name: summary}}, a summary per column type.");

/* table_echo returns its table argument, written anew from its columns. */
static void table_echo(mrun_args *a, mrun_writer *out)
{
	mrun_table t;
	if (mrun_arg_table(a, "t", &t) && !mrun_write_table(out, &t))
		mrun_error("table_echo: %s", mrun_table_error());
}
MRUN_EXPORT(table_echo)
MRUN_SIG(table_echo, "table_echo(t: table) -> table  -- Returns t, written anew from its columns.");

/* table_share returns the table with a float64 column "share" appended: each row's value of
 * the float64 column col divided by the column's total. A column that is not there or not
 * float64 is an error. */
static void table_share(mrun_args *a, mrun_writer *out)
{
	mrun_table t;
	mrun_str name = mrun_arg_str(a, "col");
	if (!mrun_arg_table(a, "t", &t))
		return;
	const mrun_column *c = NULL;
	for (uint32_t i = 0; i < t.ncols && !c; i++)
		if (t.cols[i].name.len == name.len && memcmp(t.cols[i].name.ptr, name.ptr, name.len) == 0)
			c = &t.cols[i];
	if (!c || c->type != MRUN_COL_FLOAT64) {
		mrun_error("table_share: want a float64 column \"%.*s\", the table has %s", (int)name.len,
			   name.ptr, c ? mrun_coltype_name(c->type) : "none");
		return;
	}
	double total = 0;
	for (size_t r = 0; r < t.nrows; r++)
		total += c->f64[r];
	double *share = mrun_scratch(t.nrows * sizeof *share + 1);
	mrun_column *cols = mrun_scratch((t.ncols + 1) * sizeof *cols);
	if (!share || !cols)
		return;
	for (size_t r = 0; r < t.nrows; r++)
		share[r] = c->f64[r] / total;
	memcpy(cols, t.cols, t.ncols * sizeof *cols);
	cols[t.ncols] = mrun_col_float64("share", share);
	mrun_table with = {t.ncols + 1, t.nrows, cols};
	if (!mrun_write_table(out, &with))
		mrun_error("table_share: %s", mrun_table_error());
}
MRUN_EXPORT(table_share)
MRUN_SIG(table_share, "table_share(col: str, t: table) -> table  -- Returns t with a float64 column \"share\": each value of col over the column's total.");

/* table_groupby_sum is Mars's df.groupby(key).agg(sum of col) inside a spawned function: it
 * spawns eval of the native module mrun:table on the table argument and returns the result. */
static void table_groupby_sum(mrun_args *a, mrun_writer *out)
{
	mrun_table t;
	mrun_str key = mrun_arg_str(a, "key");
	mrun_str col = mrun_arg_str(a, "col");
	if (!mrun_arg_table(a, "t", &t))
		return;
	mrun_writer *args = mrun_spawn_args(1);
	mrun_expr_op(args, "groupby", 3); /* {"op": "groupby", "keys": [key], */
	mrun_write_str(args, "keys");     /*  "aggs": [[col, "sum"]], */
	mrun_write_array(args, 1);        /*  "x": {"op": "table", "value": t}} */
	mrun_write_strn(args, key.ptr, key.len);
	mrun_write_str(args, "aggs");
	mrun_write_array(args, 1);
	mrun_write_array(args, 2);
	mrun_write_strn(args, col.ptr, col.len);
	mrun_write_str(args, "sum");
	mrun_write_str(args, "x");
	mrun_expr_op(args, "table", 1);
	mrun_write_str(args, "value");
	mrun_write_table(args, &t);
	mrun_table sums;
	if (mrun_eval_table(args, &sums) != 0) {
		mrun_error("table_groupby_sum: %s", mrun_last_error());
		return;
	}
	mrun_write_table(out, &sums);
}
MRUN_EXPORT(table_groupby_sum)
MRUN_SIG(table_groupby_sum, "table_groupby_sum(key: str, col: str, t: table) -> table  -- Groups t by key with the sum of col, evaluated by mrun:table.");
