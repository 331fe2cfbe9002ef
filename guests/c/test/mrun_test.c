/*
 * mrun_test.c: native tests of the C SDK, run by guests/c/test.sh under AddressSanitizer and
 * UndefinedBehaviorSanitizer. It includes mrun.c and examples/conformance.c to reach their
 * static functions, and fakes the host's imports.
 */
#define _POSIX_C_SOURCE 200809L /* strdup */

#include "../mrun.c"

#include "../examples/conformance.c"

#include <math.h>
#include <stdio.h>

static int failures;

#define CHECK(cond)                                                                           \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                                           \
		}                                                                             \
	} while (0)

/* ---- A fake host ------------------------------------------------------------------------ */

static char host_err[1 << 16]; /* the last set_error or fail_with message */
static int host_err_handle;    /* fail_with's handle, or 0 */
static const char *host_last;  /* the fake's last_error text */

void host_set_error(const char *msg, size_t len)
{
	snprintf(host_err, sizeof host_err, "%.*s", (int)len, msg);
	host_err_handle = 0;
}

void host_fail_with(mrun_handle h, const char *msg, size_t len)
{
	snprintf(host_err, sizeof host_err, "%.*s", (int)len, msg);
	host_err_handle = h;
}

/* The fake runs every spawned task at once with the C functions below, by name. */
static struct object {
	uint8_t *value;
	size_t len;
	char *err;
} objects[256];
static int nobjects;

static mrun_fn *lookup(const char *fn, size_t len)
{
	static const struct {
		const char *name;
		mrun_fn *f;
	} fns[] = {{"inc", inc}, {"add", add}, {"divmod", divmod}, {"fail", fail},
		   {"rand_matrix", rand_matrix}, {"tensor_sum", tensor_sum}};
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
		if (strlen(fns[i].name) == len && memcmp(fns[i].name, fn, len) == 0)
			return fns[i].f;
	return NULL;
}

/* replace_handles copies frame to w with every handle (ext 2) replaced by its value. */
static void replace_handles(mrun_writer *w, mrun_reader r)
{
	uint64_t pending = 1;
	while (pending--) {
		mrun_handle h;
		uint32_t n;
		mrun_reader v;
		if (mrun_read_handle(&r, &h)) {
			mrun_write_raw(w, objects[h].value, objects[h].len);
		} else if (mrun_read_array(&r, &n)) {
			mrun_write_array(w, n);
			pending += n;
		} else if (mrun_read_map(&r, &n)) {
			mrun_write_map(w, n);
			pending += 2 * (uint64_t)n;
		} else if (mrun_read_value(&r, &v)) {
			mrun_write_raw(w, v.p, (size_t)(v.end - v.p));
		}
	}
}

/* Every spawn's function and n_output, flags included, in order. */
static struct spawn_record {
	char fn[32];
	uint32_t n_output;
} spawns[256];
static int nspawns;

int32_t host_spawn(const char *mod, size_t mod_len, const char *fn, size_t fn_len,
		   const uint8_t *args, size_t args_len, uint32_t n_output)
{
	(void)mod;
	if (nspawns < 256) {
		struct spawn_record *s = &spawns[nspawns++];
		snprintf(s->fn, sizeof s->fn, "%.*s", (int)fn_len, fn);
		s->n_output = n_output;
	}
	if (n_output & ~(MRUN_IMPURE | 0xffffffu)) {
		host_last = "spawn: n_output sets bits that mean nothing";
		return MRUN_EINVALID;
	}
	n_output &= 0xffffffu; /* the count; the impure flag does not change what the fake runs */
	mrun_fn *f = lookup(fn, fn_len);
	if (mod_len != 0 || !f || n_output == 0 || nobjects + (int)n_output >= 256) {
		host_last = "spawn: unknown function";
		return MRUN_EINVALID;
	}
	/* Run the child now, as a nested call would, saving and restoring the parent's state. */
	mrun_writer frame = {0};
	replace_handles(&frame, mrun_reader_init(args, args_len));
	__typeof__(call) saved = call;
	mrun_writer saved_result = result;
	struct chunk *saved_arena = arena;
	result = (mrun_writer){0};
	arena = NULL;
	call.msg = NULL, call.msg_cap = 0;
	bool ok = call_run("child", f, frame.buf, frame.len);
	int first = nobjects + 1;
	mrun_reader out = mrun_reader_init(result.buf, result.len);
	for (uint32_t i = 0; i < n_output; i++) {
		struct object *o = &objects[first + (int)i];
		*o = (struct object){0};
		if (!ok) {
			o->err = strdup(host_err);
			continue;
		}
		mrun_reader v = out;
		uint32_t k;
		if (n_output > 1) {
			if (i == 0)
				mrun_read_array(&out, &k);
			mrun_read_value(&out, &v);
		}
		o->len = (size_t)(v.end - v.p);
		o->value = malloc(o->len);
		memcpy(o->value, v.p, o->len);
	}
	nobjects += (int)n_output;
	mrun_writer_free(&result);
	mrun_writer_free(&frame);
	arena_reset();
	free(arena);
	free(call.msg);
	result = saved_result;
	arena = saved_arena;
	call = saved;
	return first;
}

int32_t host_execute(const mrun_handle *handles, size_t count)
{
	int status = 0;
	for (size_t i = 0; i < count; i++) {
		if (handles[i] < 1 || handles[i] > nobjects) {
			host_last = "execute: bad handle";
			return MRUN_EINVALID;
		}
		if (objects[handles[i]].err)
			status = 1;
	}
	return status;
}

int64_t host_fetch(mrun_handle h, uint8_t *buf, size_t cap)
{
	if (h < 1 || h > nobjects) {
		host_last = "fetch: bad handle";
		return MRUN_EINVALID;
	}
	if (objects[h].err) {
		host_last = objects[h].err;
		return MRUN_EFAILED;
	}
	if (objects[h].len <= cap)
		memcpy(buf, objects[h].value, objects[h].len);
	return (int64_t)objects[h].len;
}

int32_t host_last_error(char *buf, size_t cap)
{
	size_t n = host_last ? strlen(host_last) : 0;
	if (n <= cap)
		memcpy(buf, host_last, n);
	return (int32_t)n;
}

/* ---- Helpers ---------------------------------------------------------------------------- */

static bool bytes_are(const mrun_writer *w, const char *hex)
{
	char got[256] = {0};
	for (size_t i = 0; i < w->len && i < 100; i++)
		snprintf(got + 2 * i, 3, "%02x", w->buf[i]);
	if (strcmp(got, hex) != 0) {
		fprintf(stderr, "  got %s, want %s\n", got, hex);
		return false;
	}
	return true;
}

/* run calls f on the frame in w and returns whether it succeeded. */
static bool run(mrun_fn *f, const mrun_writer *w) { return call_run("fn", f, w->buf, w->len); }

/* frame starts the frame [[...], {...}] with npos positional arguments in w. */
static mrun_writer *frame(mrun_writer *w, uint32_t npos)
{
	mrun_writer_reset(w);
	mrun_write_array(w, 2);
	mrun_write_array(w, npos);
	return w;
}

/* ---- Tests ------------------------------------------------------------------------------ */

static void test_ints(void)
{
	static const struct {
		int64_t v;
		const char *hex;
	} cases[] = {
		{0, "00"},           {127, "7f"},          {128, "cc80"},
		{255, "ccff"},       {256, "cd0100"},      {65536, "ce00010000"},
		{-1, "ff"},          {-32, "e0"},          {-33, "d0df"},
		{-128, "d080"},      {-129, "d1ff7f"},     {-32769, "d2ffff7fff"},
		{INT64_MIN, "d38000000000000000"},         {INT64_MAX, "cf7fffffffffffffff"},
	};
	mrun_writer w = {0};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		mrun_writer_reset(&w);
		mrun_write_int(&w, cases[i].v);
		CHECK(bytes_are(&w, cases[i].hex));
		mrun_reader r = mrun_reader_init(w.buf, w.len);
		int64_t v;
		CHECK(mrun_read_int(&r, &v) && v == cases[i].v && mrun_at_end(&r));
	}
	mrun_writer_reset(&w);
	mrun_write_uint(&w, UINT64_MAX);
	CHECK(bytes_are(&w, "cfffffffffffffffff"));
	mrun_reader r = mrun_reader_init(w.buf, w.len);
	int64_t i;
	uint64_t u;
	CHECK(!mrun_read_int(&r, &i) && r.p == w.buf); /* too large: not read, not moved */
	CHECK(strcmp(mrun_type_name(&r), "an integer above 2^63-1") == 0);
	CHECK(mrun_read_uint(&r, &u) && u == UINT64_MAX);
	mrun_writer_free(&w);
}

static void test_lengths(void)
{
	static const struct {
		size_t n;
		const char *str, *bin, *arr;
	} cases[] = {
		{0, "a0", "c400", "90"},          {15, "af", "c40f", "9f"},
		{16, "b0", "c410", "dc0010"},     {31, "bf", "c41f", "dc001f"},
		{32, "d920", "c420", "dc0020"},   {255, "d9ff", "c4ff", "dc00ff"},
		{256, "da0100", "c50100", "dc0100"}, {65536, "db00010000", "c600010000", "dd00010000"},
	};
	char *big = calloc(65536, 1);
	mrun_writer w = {0};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t n = cases[i].n;
		mrun_writer_reset(&w);
		mrun_write_strn(&w, big, n);
		size_t h = w.len - n;
		w.len = h;
		CHECK(bytes_are(&w, cases[i].str));
		w.len = h + n;
		mrun_reader r = mrun_reader_init(w.buf, w.len);
		mrun_str s;
		CHECK(mrun_read_str(&r, &s) && s.len == n && mrun_at_end(&r));

		mrun_writer_reset(&w);
		mrun_write_bin(&w, big, n);
		w.len -= n;
		CHECK(bytes_are(&w, cases[i].bin));

		mrun_writer_reset(&w);
		mrun_write_array(&w, (uint32_t)n);
		CHECK(bytes_are(&w, cases[i].arr));
		r = mrun_reader_init(w.buf, w.len);
		uint32_t k;
		CHECK(mrun_read_array(&r, &k) == (n == 0)); /* elements missing: a lie */
	}
	free(big);
	mrun_writer_free(&w);

	/* strf grows a fresh writer past its first buffer */
	mrun_write_strf(&w, "%0300d", 7);
	mrun_reader r = mrun_reader_init(w.buf, w.len);
	mrun_str s;
	CHECK(w.len == 303 && w.buf[0] == 0xda && mrun_read_str(&r, &s) && s.len == 300);
	CHECK(s.ptr[0] == '0' && s.ptr[299] == '7' && mrun_at_end(&r));
	mrun_writer_free(&w);
}

static void test_ext(void)
{
	static const uint8_t payload[300] = {0};
	static const struct {
		size_t n;
		const char *hex;
	} cases[] = {{1, "d40700"}, {2, "d5070000"}, {3, "c70307000000"}, {16, "d807"}};
	mrun_writer w = {0};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		mrun_writer_reset(&w);
		mrun_write_ext(&w, 7, payload, cases[i].n);
		if (cases[i].n == 16)
			w.len = 2;
		CHECK(bytes_are(&w, cases[i].hex));
	}
	mrun_writer_reset(&w);
	mrun_write_ext(&w, -1, payload, 300);
	mrun_reader r = mrun_reader_init(w.buf, w.len);
	int8_t type;
	mrun_bytes b;
	CHECK(mrun_read_ext(&r, &type, &b) && type == -1 && b.len == 300 && mrun_at_end(&r));
	mrun_writer_reset(&w);
	mrun_write_handle(&w, 5);
	mrun_write_byref(&w, 6);
	CHECK(bytes_are(&w, "d60200000005d60300000006"));
	mrun_writer_free(&w);
}

static void test_deep(void)
{
	/* a million nested lists: skip and write_value must not recurse */
	enum { DEPTH = 1000000 };
	mrun_writer w = {0};
	for (int i = 0; i < DEPTH; i++)
		mrun_write_array(&w, 1);
	mrun_write_str(&w, "bottom");
	mrun_reader r = mrun_reader_init(w.buf, w.len);
	CHECK(mrun_skip(&r) && mrun_at_end(&r));
	mrun_writer out = {0};
	r = mrun_reader_init(w.buf, w.len);
	CHECK(mrun_write_value(&out, &r) && out.len == w.len && memcmp(out.buf, w.buf, w.len) == 0);
	mrun_writer_free(&w);
	mrun_writer_free(&out);
}

static void test_values(void)
{
	/* identity of every kind of value, then every truncation of it */
	mrun_writer w = {0};
	mrun_write_array(&w, 12);
	mrun_write_nil(&w);
	mrun_write_bool(&w, true);
	mrun_write_int(&w, INT64_MIN);
	mrun_write_uint(&w, UINT64_MAX);
	mrun_write_double(&w, NAN);
	mrun_write_float(&w, 1.5f);
	mrun_write_str(&w, "héllo");
	mrun_write_bin(&w, "\x00\x01", 2);
	mrun_write_map(&w, 1);
	mrun_write_str(&w, "k");
	mrun_write_array(&w, 0);
	mrun_write_ext(&w, -1, "12345678", 8);
	mrun_write_strf(&w, "%d-%s", 42, "x");
	uint64_t shape[1] = {2};
	double d[2] = {1, 2};
	CHECK(mrun_write_tensor(&w, MRUN_FLOAT64, 1, shape, d));
	CHECK(!w.oom);

	mrun_writer out = {0};
	mrun_reader r = mrun_reader_init(w.buf, w.len);
	CHECK(mrun_write_value(&out, &r) && mrun_at_end(&r));
	CHECK(out.len == w.len && memcmp(out.buf, w.buf, w.len) == 0);

	for (size_t n = 0; n < w.len; n++) {
		uint8_t *cut = malloc(n ? n : 1); /* exactly n bytes: ASan sees any overread */
		memcpy(cut, w.buf, n);
		r = mrun_reader_init(cut, n);
		mrun_writer_reset(&out);
		CHECK(!mrun_skip(&r) && r.p == cut);
		CHECK(!mrun_write_value(&out, &r) && out.len == 0);
		free(cut);
	}
	/* non-shortest input is written back shortest */
	static const uint8_t wide[] = {0xdd, 0, 0, 0, 1, 0xcf, 0, 0, 0, 0, 0, 0, 0, 5};
	r = mrun_reader_init(wide, sizeof wide);
	mrun_writer_reset(&out);
	CHECK(mrun_write_value(&out, &r) && bytes_are(&out, "9105"));
	/* 0xc1 is never valid */
	static const uint8_t c1[] = {0x91, 0xc1};
	r = mrun_reader_init(c1, sizeof c1);
	CHECK(!mrun_skip(&r) && mrun_peek(&r) == MRUN_ARRAY);
	mrun_writer_free(&w);
	mrun_writer_free(&out);
}

static void test_tensors(void)
{
	uint64_t shape[2] = {2, 3};
	double d[6] = {1, 2, 3, 4, 5, 6};
	mrun_writer w = {0};
	for (int shift = 0; shift < 8; shift++) {
		/* place the tensor at every alignment */
		mrun_writer_reset(&w);
		for (int i = 0; i < shift; i++)
			mrun_write_nil(&w);
		size_t at = w.len;
		CHECK(mrun_write_tensor(&w, MRUN_FLOAT64, 2, shape, d));
		mrun_reader r = mrun_reader_init(w.buf + at, w.len - at);
		mrun_tensor t;
		CHECK(mrun_read_tensor(&r, &t) && mrun_at_end(&r));
		CHECK(t.dtype == MRUN_FLOAT64 && t.ndim == 2 && t.shape[0] == 2 && t.shape[1] == 3);
		CHECK(t.size == 6 && (uintptr_t)t.data % 8 == 0 && t.f64[5] == 6);
		bool in_place = (const uint8_t *)t.data > w.buf && (const uint8_t *)t.data < w.buf + w.len;
		CHECK(in_place == ((uintptr_t)(w.buf + at + 3 + 8 + 16) % 8 == 0));
	}
	arena_reset();

	/* every way a tensor can be malformed */
	struct {
		const char *what;
		size_t off;
		uint8_t byte;
	} bad[] = {{"dtype 0", 3, 0}, {"dtype 12", 3, 12}, {"ndim 3", 4, 3}, {"ndim 33", 4, 33},
		   {"padding", 7, 1}, {"shape", 11, 7}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		mrun_writer_reset(&w);
		mrun_write_tensor(&w, MRUN_FLOAT64, 2, shape, d);
		w.buf[bad[i].off] = bad[i].byte;
		mrun_reader r = mrun_reader_init(w.buf, w.len);
		mrun_tensor t;
		if (mrun_read_tensor(&r, &t))
			fprintf(stderr, "  read a tensor with a bad %s\n", bad[i].what), failures++;
	}
	/* a shape whose product overflows */
	uint8_t huge[8 + 16] = {MRUN_INT8, 2};
	memset(huge + 8, 0xff, 16);
	mrun_reader r;
	mrun_tensor t;
	mrun_writer_reset(&w);
	mrun_write_ext(&w, 4, huge, sizeof huge);
	r = mrun_reader_init(w.buf, w.len);
	CHECK(!mrun_read_tensor(&r, &t));
	/* a zero in the shape: no elements, whatever the other sizes */
	uint64_t zero[3] = {0, UINT64_MAX, 5};
	mrun_writer_reset(&w);
	CHECK(mrun_write_tensor(&w, MRUN_INT32, 3, zero, NULL));
	r = mrun_reader_init(w.buf, w.len);
	CHECK(mrun_read_tensor(&r, &t) && t.size == 0 && t.shape[1] == UINT64_MAX);
	/* a scalar, and invalid requests to write */
	int16_t one = -3;
	mrun_writer_reset(&w);
	CHECK(mrun_write_tensor(&w, MRUN_INT16, 0, NULL, &one));
	r = mrun_reader_init(w.buf, w.len);
	CHECK(mrun_read_tensor(&r, &t) && t.ndim == 0 && t.size == 1 && t.i16[0] == -3);
	CHECK(!mrun_write_tensor(&w, (mrun_dtype)12, 0, NULL, &one));
	CHECK(!mrun_write_tensor(&w, MRUN_INT8, 33, zero, NULL));
	arena_reset();
	mrun_writer_free(&w);
}

/* echo_handle returns the number of the handle it receives. */
static void echo_handle(mrun_args *a, mrun_writer *out)
{
	mrun_handle h = mrun_arg_handle(a, "obj");
	if (!mrun_failed())
		mrun_write_int(out, h);
}

static void test_calls(void)
{
	mrun_writer w = {0};

	mrun_write_int(frame(&w, 1), 41);
	mrun_write_map(&w, 0);
	CHECK(run(inc, &w) && bytes_are(&result, "2a"));

	mrun_write_str(frame(&w, 1), "x");
	mrun_write_map(&w, 0);
	CHECK(!run(inc, &w));
	CHECK(strcmp(host_err, "fn: argument 1 (x): expected an int, got a str") == 0);

	mrun_write_int(frame(&w, 2), 1);
	mrun_write_int(&w, 2);
	mrun_write_map(&w, 0);
	CHECK(!run(inc, &w));
	CHECK(strcmp(host_err, "fn: takes 1 positional argument but 2 were given") == 0);

	mrun_write_int(frame(&w, 1), 1);
	mrun_write_map(&w, 0);
	CHECK(!run(add, &w) && strcmp(host_err, "fn: missing argument 2 (b)") == 0);

	mrun_write_str(frame(&w, 1), "bob");
	mrun_write_map(&w, 1);
	mrun_write_str(&w, "greeting");
	mrun_write_str(&w, "hi");
	CHECK(run(greet, &w) && bytes_are(&result, "a868692c20626f6221"));

	mrun_write_str(frame(&w, 1), "bob");
	mrun_write_map(&w, 1);
	mrun_write_str(&w, "x");
	mrun_write_str(&w, "hi");
	CHECK(!run(greet, &w) && strcmp(host_err, "fn: unexpected keyword argument \"x\"") == 0);

	mrun_write_str(frame(&w, 1), "bob");
	mrun_write_map(&w, 1);
	mrun_write_str(&w, "punct");
	mrun_write_int(&w, -7);
	CHECK(!run(greet, &w));
	CHECK(strcmp(host_err, "fn: keyword argument punct: expected a str, got a negative int") == 0);

	/* a message longer than the SDK's small buffer, verbatim */
	char *long_msg = malloc(5000);
	memset(long_msg, 'm', 5000);
	mrun_write_strn(frame(&w, 1), long_msg, 5000);
	mrun_write_map(&w, 0);
	CHECK(!run(fail, &w) && strlen(host_err) == 5000 && host_err[4999] == 'm');
	free(long_msg);

	/* a frame that is not [positional, keyword] */
	static const uint8_t junk[] = {0x92, 0x91, 0x01};
	CHECK(!call_run("fn", inc, junk, sizeof junk));
	CHECK(strcmp(host_err, "fn: malformed argument frame") == 0);
	CHECK(!call_run("fn", inc, junk, 0));

	/* an Object passed by reference arrives as a handle */
	mrun_write_handle(frame(&w, 1), 3);
	mrun_write_map(&w, 0);
	CHECK(run(echo_handle, &w) && bytes_are(&result, "03"));
	mrun_write_int(frame(&w, 1), 3);
	mrun_write_map(&w, 0);
	CHECK(!run(echo_handle, &w));
	CHECK(strcmp(host_err, "fn: argument 1 (obj): expected an Object passed by reference, got an int") == 0);

	frame(&w, 0);
	mrun_write_map(&w, 0);
	CHECK(run(nothing, &w) && bytes_are(&result, "c0"));
	CHECK(run(empties, &w) && bytes_are(&result, "94a0c4009080"));
	mrun_writer_free(&w);
}

static void test_nested(void)
{
	mrun_writer w = {0};
	frame(&w, 0);
	mrun_write_map(&w, 0);
	CHECK(run(driver, &w) && bytes_are(&result, "9a0102030405060708090a"));

	mrun_write_int(frame(&w, 2), 17);
	mrun_write_int(&w, 5);
	mrun_write_map(&w, 0);
	CHECK(run(nested_split, &w) && bytes_are(&result, "93030205"));

	mrun_write_str(frame(&w, 1), "Boom.");
	mrun_write_map(&w, 0);
	CHECK(!run(parent_fail, &w));
	CHECK(strcmp(host_err, "parent_fail: Boom.") == 0 && host_err_handle > 0);

	frame(&w, 0);
	mrun_write_map(&w, 0);
	nspawns = 0;
	CHECK(run(driver2, &w) && result.len == 9 && result.buf[0] == 0xcb);
	/* rand_matrix is spawned impure, tensor_sum of it pure */
	CHECK(nspawns == 2);
	CHECK(strcmp(spawns[0].fn, "rand_matrix") == 0 && spawns[0].n_output == (1u | 1u << 30));
	CHECK(strcmp(spawns[1].fn, "tensor_sum") == 0 && spawns[1].n_output == 1);

	/* a fetched value larger than the free scratch space takes a second crossing */
	int h = ++nobjects;
	objects[h].len = 200000;
	objects[h].value = malloc(objects[h].len);
	objects[h].value[0] = 0xc6; /* bin32 of 199995 bytes */
	put_be32(objects[h].value + 1, 199995);
	memset(objects[h].value + 5, 0xab, 199995);
	mrun_reader v, v2;
	CHECK(mrun_fetch(h, &v) == 0 && v.end - v.p == 200000 && v.p[199999] == 0xab);
	CHECK(mrun_fetch(h, &v2) == 0 && v2.p != v.p && v.p[199999] == 0xab); /* both stay valid */
	CHECK(mrun_fetch(9999, &v) == MRUN_EINVALID);
	CHECK(strcmp(mrun_last_error(), "fetch: bad handle") == 0);
	CHECK(mrun_spawn(NULL, "nope", NULL, 1) == MRUN_EINVALID);

	/* a host message longer than the free scratch space */
	char *long_err = malloc(100001);
	memset(long_err, 'e', 100000);
	long_err[100000] = 0;
	objects[h].err = long_err;
	CHECK(mrun_fetch(h, &v) == MRUN_EFAILED && strcmp(mrun_last_error(), long_err) == 0);
	objects[h].err = NULL;
	free(long_err);
	arena_reset();
	mrun_writer_free(&w);
}

/* The table example of ABI.md section 5.4: a = [1, 2] (int64), b = ["x", "yz"] (string). */
static const char table_hex[] = "c74805"
				"02000000000000000200000000000000"
				"04000100612000010062000000000000"
				"01000000000000000200000000000000"
				"00000000010000000300000000000000"
				"78797a0000000000";

/* unhex decodes hex into w. */
static void unhex(mrun_writer *w, const char *hex)
{
	for (size_t i = 0; hex[i] && hex[i + 1]; i += 2) {
		unsigned b;
		sscanf(hex + i, "%2x", &b);
		uint8_t c = (uint8_t)b;
		mrun_write_raw(w, &c, 1);
	}
}

static void test_tables(void)
{
	mrun_writer w = {0}, out = {0};
	mrun_table t;
	/* the example, at every alignment: in place when the payload is 8-byte aligned */
	for (int shift = 0; shift < 8; shift++) {
		mrun_writer_reset(&w);
		for (int i = 0; i < shift; i++)
			mrun_write_nil(&w);
		size_t at = w.len;
		unhex(&w, table_hex);
		mrun_reader r = mrun_reader_init(w.buf + at, w.len - at);
		CHECK(mrun_read_table(&r, &t) && mrun_at_end(&r));
		CHECK(t.ncols == 2 && t.nrows == 2);
		const mrun_column *a = mrun_table_column(&t, "a"), *b = mrun_table_column(&t, "b");
		CHECK(a && a->type == MRUN_COL_INT64 && a->i64[0] == 1 && a->i64[1] == 2);
		CHECK((uintptr_t)a->data % 8 == 0 && (uintptr_t)b->offsets % 4 == 0);
		CHECK(b && b->type == MRUN_COL_STRING && mrun_column_str(b, 1).len == 2);
		CHECK(memcmp(mrun_column_str(b, 1).ptr, "yz", 2) == 0 && mrun_column_str(b, 0).ptr[0] == 'x');
		CHECK(!mrun_table_column(&t, "c") && !mrun_table_column(&t, ""));
		bool in_place = (const uint8_t *)a->data > w.buf && (const uint8_t *)a->data < w.buf + w.len;
		CHECK(in_place == ((uintptr_t)(w.buf + at + 3) % 8 == 0));
		/* written back from the view: the same bytes */
		mrun_writer_reset(&out);
		CHECK(mrun_write_table(&out, &t) && bytes_are(&out, table_hex));
	}
	/* made from C arrays: every type, NaN, an empty string, non-ASCII */
	static const int64_t ids[3] = {1, -2, INT64_MAX};
	static const double amounts[3] = {1.5, NAN, -0.25};
	static const bool oks[3] = {true, false, true};
	static const uint32_t offs[4] = {0, 4, 4, 11};
	static const int64_t ats[3] = {0, -1, 1765108800000000000};
	mrun_column cols[5] = {
		mrun_col_int64("id", ids),           mrun_col_float64("amount", amounts),
		mrun_col_bool("ok", oks),            mrun_col_string("city", offs, "OsloZürich"),
		mrun_col_timestamp("at", ats),
	};
	mrun_table made = {5, 3, cols};
	mrun_writer_reset(&w);
	CHECK(mrun_write_table(&w, &made));
	mrun_reader r = mrun_reader_init(w.buf, w.len);
	CHECK(mrun_read_table(&r, &t) && t.ncols == 5 && t.nrows == 3);
	CHECK(t.cols[1].f64[1] != t.cols[1].f64[1] && t.cols[2].b[1] == false && t.cols[2].b[2]);
	CHECK(mrun_column_str(&t.cols[3], 1).len == 0 && mrun_column_str(&t.cols[3], 2).len == 7);
	CHECK(t.cols[4].i64[2] == 1765108800000000000 && t.cols[0].i64[2] == INT64_MAX);
	/* no rows, no columns */
	mrun_table none = {0, 0, NULL};
	mrun_writer_reset(&w);
	CHECK(mrun_write_table(&w, &none) && bytes_are(&w, "d80500000000000000000000000000000000"));
	r = mrun_reader_init(w.buf, w.len);
	CHECK(mrun_read_table(&r, &t) && t.ncols == 0 && t.nrows == 0);
	static const uint32_t zero_off[1] = {0};
	mrun_column empty_cols[2] = {mrun_col_float64("f", NULL), mrun_col_string("s", zero_off, NULL)};
	mrun_table empty = {2, 0, empty_cols};
	mrun_writer_reset(&w);
	CHECK(mrun_write_table(&w, &empty));
	r = mrun_reader_init(w.buf, w.len);
	CHECK(mrun_read_table(&r, &t) && t.ncols == 2 && t.nrows == 0 && t.cols[1].offsets[0] == 0);

	/* every way the example can be malformed, and what the reader says */
	static const struct {
		size_t off; /* in the value; the payload starts at 3 */
		uint8_t byte;
		const char *why;
	} bad[] = {
		{3 + 16, 7, "column \"a\" has unknown type 7"},
		{3 + 4, 1, "the flags are not zero"},
		{3 + 8, 100, "column \"a\" needs 800 bytes, the payload has 40 left"},
		{3 + 8, 1, "string column \"b\": its first offset is 2, not 0"},
		{3 + 56, 9, "column \"b\" needs 9 bytes, the payload has 8 left"},
		{3 + 52, 4, "string column \"b\": offset 1 is 4, out of order or past the text's 3 bytes"},
		{3 + 48, 1, "string column \"b\": its first offset is 1, not 0"},
		{3 + 25, 'a', "two columns are named \"a\""},
		{3 + 67, 1, "column \"b\": its padding is not zero"},
		{3 + 64, 0xff, "string column \"b\": its text is not UTF-8"},
		{3 + 17, 1, "column descriptor 0 is cut short or its padding is not zero"},
		{3 + 26, 1, "the column descriptors' padding is not zero"},
		{3 + 18, 0, "column 0: a name is 1 to 65535 bytes of UTF-8"},
		{3 + 20, 0xc3, "column 0: a name is 1 to 65535 bytes of UTF-8"},
		{3 + 2, 1, "65538 columns, more than 65536"},
		{3 + 12, 1, "4294967298 rows, more than 2^32-1"},
		{3 + 0, 0x0f, "a payload of 72 bytes cannot hold 15 columns"},
		{3 + 18, 0x60, "the name of column 0 runs past the payload"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		mrun_writer_reset(&w);
		unhex(&w, table_hex);
		w.buf[bad[i].off] = bad[i].byte;
		r = mrun_reader_init(w.buf, w.len);
		if (mrun_read_table(&r, &t) || strcmp(mrun_table_error(), bad[i].why) != 0)
			fprintf(stderr, "  case %zu: got %s, want %s\n", i, mrun_table_error(), bad[i].why),
				failures++;
		CHECK(r.p == w.buf); /* not moved */
	}
	/* a bool that is not 0 or 1, and an offset that cuts a character */
	static const uint8_t two[2] = {1, 2};
	mrun_column bools = mrun_col_bool("b", (const bool *)(const void *)two);
	mrun_table tb = {1, 2, &bools};
	mrun_writer_reset(&w);
	CHECK(!mrun_write_table(&w, &tb) && w.len == 0);
	CHECK(strcmp(mrun_table_error(), "bool column \"b\": value 1 is the byte 2, not 0 or 1") == 0);
	static const uint32_t cut[3] = {0, 1, 2};
	mrun_column cuts = mrun_col_string("s", cut, "\xc3\xbc");
	mrun_table ts = {1, 2, &cuts};
	CHECK(!mrun_write_table(&w, &ts) && w.len == 0);
	CHECK(strcmp(mrun_table_error(), "string column \"s\": offset 1 cuts a character") == 0);
	static const uint32_t order[3] = {0, 2, 1};
	cuts.offsets = order, cuts.text = "ab";
	CHECK(!mrun_write_table(&w, &ts));
	CHECK(strcmp(mrun_table_error(), "string column \"s\": offset 1 is 2, out of order or past the text's 1 bytes") == 0);
	mrun_column dup[2] = {mrun_col_int64("x", ids), mrun_col_float64("x", amounts)};
	mrun_table td = {2, 3, dup};
	CHECK(!mrun_write_table(&w, &td) && strcmp(mrun_table_error(), "two columns are named \"x\"") == 0);
	dup[1].type = (mrun_coltype)9;
	dup[1].name.ptr = "y";
	CHECK(!mrun_write_table(&w, &td) && strcmp(mrun_table_error(), "column \"y\" has unknown type 9") == 0);
	mrun_table rows_only = {0, 3, NULL};
	CHECK(!mrun_write_table(&w, &rows_only) && strcmp(mrun_table_error(), "3 rows but no columns") == 0);
	CHECK(w.len == 0);
	/* a value that is not a table */
	mrun_writer_reset(&w);
	mrun_write_int(&w, 5);
	r = mrun_reader_init(w.buf, w.len);
	CHECK(!mrun_read_table(&r, &t) && strcmp(mrun_table_error(), "not a table: an int") == 0);

	/* through a function: its errors name the argument */
	unhex(frame(&w, 1), table_hex);
	mrun_write_map(&w, 0);
	CHECK(run(table_echo, &w) && bytes_are(&result, table_hex));
	CHECK(run(table_stats, &w) && bytes_are(&result, "82a4726f777302a7636f6c756d6e7382a16103a162920300"));
	w.buf[2 + 3 + 21] = 7; /* column b's type, in the frame */
	CHECK(!run(table_stats, &w));
	CHECK(strcmp(host_err, "fn: argument 1 (t): malformed table: column \"b\" has unknown type 7") == 0);
	mrun_write_str(frame(&w, 1), "t");
	mrun_write_map(&w, 0);
	CHECK(!run(table_echo, &w) && strcmp(host_err, "fn: argument 1 (t): expected a table, got a str") == 0);
	unhex(frame(&w, 1), table_hex);
	mrun_write_map(&w, 0);
	CHECK(!run(tensor_sum, &w));
	CHECK(strcmp(host_err, "fn: argument 1 (t): expected a float64 tensor, got a table") == 0);
	arena_reset();
	mrun_writer_free(&w);
	mrun_writer_free(&out);
}

static void test_expr(void)
{
	mrun_writer w = {0};
	static const uint64_t shape[2] = {2, 3};
	static const int64_t chunks[2] = {1, -1}, axes[1] = {-1};
	/* {"op": "sum", "axis": [-1], "x": {"op": "rand", "seed": 1, "shape": [2, 3], "chunks": [1, -1]},
	 *  "keepdims": true} */
	mrun_expr_extra(&w, 1);
	mrun_expr_sum(&w, 1, axes);
	mrun_expr_extra(&w, 1);
	mrun_expr_rand(&w, 1, 2, shape);
	mrun_expr_chunks(&w, 2, chunks);
	mrun_expr_keepdims(&w);
	CHECK(bytes_are(&w, "84a26f70a373756da461786973"
			    "91ff"
			    "a178"
			    "84a26f70a472616e64a47365656401a57368617065920203a66368756e6b739201ff"
			    "a86b65657064696d73c3"));
	/* the extra fields go to the next operator only */
	mrun_writer_reset(&w);
	mrun_expr_extra(&w, 1);
	mrun_expr_unary(&w, "neg");
	mrun_expr_zeros(&w, 0, NULL);
	mrun_expr_dtype(&w, MRUN_INT8);
	CHECK(bytes_are(&w, "83a26f70a36e6567a178"
			    "82a26f70a57a65726f73a5736861706590"
			    "a56474797065a4696e7438"));
	/* a tensor mrun_write_tensor refuses writes nothing */
	mrun_writer_reset(&w);
	CHECK(!mrun_expr_tensor(&w, (mrun_dtype)12, 0, NULL, NULL) && w.len == 0);
	mrun_writer_free(&w);
}

int main(void)
{
	test_ints();
	test_lengths();
	test_ext();
	test_deep();
	test_values();
	test_tensors();
	test_calls();
	test_nested();
	test_tables();
	test_expr();
	if (failures) {
		fprintf(stderr, "FAIL: %d checks failed\n", failures);
		return 1;
	}
	printf("ok: the C SDK's native tests pass\n");
	return 0;
}
