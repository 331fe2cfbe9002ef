/*
 * fuzz.c: a libFuzzer target for the C SDK. Each input is an argument frame given to the
 * conformance functions that read arguments, and a value given to the reader and the value
 * walk, and a value given to the table reader, whose tables must write back to the same bytes;
 * AddressSanitizer and UndefinedBehaviorSanitizer catch any read out of bounds, overflow
 * or trap. Run by guests/c/test.sh.
 */
#include "../mrun.c"

#include "../examples/conformance.c"

void host_set_error(const char *msg, size_t len) { (void)msg, (void)len; }
void host_fail_with(mrun_handle h, const char *msg, size_t len) { (void)h, (void)msg, (void)len; }
int32_t host_spawn(const char *mod, size_t mod_len, const char *fn, size_t fn_len,
		   const uint8_t *args, size_t args_len, uint32_t n_output)
{
	(void)mod, (void)mod_len, (void)fn, (void)fn_len, (void)args, (void)args_len, (void)n_output;
	return MRUN_EUNSUPPORTED;
}
int32_t host_execute(const mrun_handle *handles, size_t count)
{
	(void)handles, (void)count;
	return MRUN_EUNSUPPORTED;
}
int64_t host_fetch(mrun_handle h, uint8_t *buf, size_t cap)
{
	(void)h, (void)buf, (void)cap;
	return MRUN_EUNSUPPORTED;
}
int32_t host_last_error(char *buf, size_t cap)
{
	(void)buf, (void)cap;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mrun_fn *const fns[] = {inc, add, sum_all, triage, identity, concat, rev_bytes,
				       ints, fdiv, greet, fail, divmod, tensor_sum, matmul,
				       table_stats, table_echo, table_share, table_groupby_sum};
	for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
		bool ok = call_run("f", fns[i], data, size);
		if (ok) {
			/* a result is exactly one well-formed value */
			mrun_reader r = mrun_reader_init(result.buf, result.len);
			if (!mrun_skip(&r) || !mrun_at_end(&r))
				__builtin_trap();
		}
	}
	/* the walk writes back exactly what skip accepts */
	mrun_reader r = mrun_reader_init(data, size), s = r;
	mrun_writer w = {0};
	bool walked = mrun_write_value(&w, &r), skipped = mrun_skip(&s);
	if (walked != skipped || (walked && r.p != s.p))
		__builtin_trap();
	if (walked) {
		mrun_reader again = mrun_reader_init(w.buf, w.len);
		if (!mrun_skip(&again) || !mrun_at_end(&again))
			__builtin_trap();
	}
	mrun_writer_free(&w);
	mrun_tensor t;
	r = mrun_reader_init(data, size);
	if (mrun_read_tensor(&r, &t) && t.size > 0) {
		/* touch the last element: it must be inside the input or the copy */
		volatile uint8_t last = ((const uint8_t *)t.data)[t.size * mrun_dtype_size(t.dtype) - 1];
		(void)last;
	}
	/* a table that reads is written back to the same payload: there is one valid encoding */
	mrun_table tb;
	r = mrun_reader_init(data, size);
	if (mrun_read_table(&r, &tb)) {
		mrun_writer tw = {0};
		mrun_reader in = mrun_reader_init(data, size), again;
		int8_t type, type2;
		mrun_bytes want, got;
		if (!mrun_write_table(&tw, &tb) || !mrun_read_ext(&in, &type, &want))
			__builtin_trap();
		again = mrun_reader_init(tw.buf, tw.len);
		if (!mrun_read_ext(&again, &type2, &got) || !mrun_at_end(&again) || got.len != want.len ||
		    (got.len && memcmp(got.ptr, want.ptr, got.len) != 0))
			__builtin_trap();
		mrun_writer_free(&tw);
	}
	arena_reset();
	return 0;
}
