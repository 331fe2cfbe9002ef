/*
 * mrun.c: the implementation of mrun.h, the C guest SDK for mrun (abi/ABI.md).
 *
 * It exports the ABI's own functions (mrun_abi_v1, mrun_alloc), decodes and encodes
 * MessagePack, keeps the state of the running call (its error, its scratch memory) and wraps
 * the host's imports. Everything is bounds-checked: no input from the host makes it trap.
 */
#include "mrun.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Imports (ABI.md section 2.1) ------------------------------------------------------- */

#ifdef __wasm__
#define MRUN_IMPORT(name) __attribute__((import_module("mrun"), import_name(#name)))
#else
#define MRUN_IMPORT(name) /* the native tests define the host's functions */
#endif

MRUN_IMPORT(set_error) void host_set_error(const char *msg, size_t len);
MRUN_IMPORT(fail_with) void host_fail_with(mrun_handle h, const char *msg, size_t len);
MRUN_IMPORT(spawn)
int32_t host_spawn(const char *mod, size_t mod_len, const char *fn, size_t fn_len,
		   const uint8_t *args, size_t args_len, uint32_t n_output);
MRUN_IMPORT(execute) int32_t host_execute(const mrun_handle *handles, size_t count);
MRUN_IMPORT(fetch) int64_t host_fetch(mrun_handle h, uint8_t *buf, size_t cap);
MRUN_IMPORT(last_error) int32_t host_last_error(char *buf, size_t cap);

/* ---- Exports (ABI.md section 1) --------------------------------------------------------- */

MRUN_WASM_EXPORT("mrun_abi_v1") void mrun_abi_v1(void);
MRUN_WASM_EXPORT("mrun_alloc") void *mrun_alloc(size_t size);

/* mrun_abi_v1 is the ABI version marker; the host never calls it. */
void mrun_abi_v1(void) {}

/* argbuf is the argument buffer the host holds. */
static void *argbuf;

/* mrun_alloc gives the host a new argument buffer; the previous one returns to the guest. */
void *mrun_alloc(size_t size)
{
	free(argbuf);
	argbuf = malloc(size ? size : 1);
	return argbuf; /* NULL, that is 0, means out of memory */
}

/* ---- Scratch memory: an arena freed when the call returns ------------------------------- */

struct chunk {
	struct chunk *prev;
	size_t cap, used;
	unsigned char data[];
};

#define CHUNK_MIN ((size_t)64 << 10)  /* the first chunk, and the least one */
#define CHUNK_KEEP ((size_t)1 << 20) /* a chunk up to this size is kept for the next call */

static struct chunk *arena;

/* arena_room returns the aligned free space of the current chunk and its size. */
static unsigned char *arena_room(size_t *room)
{
	if (!arena) {
		struct chunk *c = malloc(sizeof *c + CHUNK_MIN);
		if (!c) {
			*room = 0;
			return NULL;
		}
		c->prev = NULL, c->cap = CHUNK_MIN, c->used = 0;
		arena = c;
	}
	uintptr_t base = (uintptr_t)arena->data;
	uintptr_t at = (base + arena->used + 15) & ~(uintptr_t)15;
	size_t off = at - base;
	*room = off <= arena->cap ? arena->cap - off : 0;
	return (unsigned char *)at;
}

/* arena_alloc returns size bytes aligned to 16, or NULL. */
static void *arena_alloc(size_t size)
{
	size_t room;
	unsigned char *p = arena_room(&room);
	if (p && size <= room) {
		arena->used = (size_t)(p - arena->data) + size;
		return p;
	}
	size_t cap = arena && arena->cap <= SIZE_MAX / 2 ? arena->cap * 2 : CHUNK_MIN;
	if (cap < size + 16)
		cap = size + 16;
	if (size > SIZE_MAX - 16 - sizeof(struct chunk))
		return NULL;
	struct chunk *c = malloc(sizeof *c + cap);
	if (!c)
		return NULL;
	c->prev = arena, c->cap = cap, c->used = 0;
	arena = c;
	return arena_alloc(size);
}

/* arena_reset frees the call's scratch memory, keeping one modest chunk for the next call. */
static void arena_reset(void)
{
	while (arena) {
		struct chunk *prev = arena->prev;
		if (arena->cap <= CHUNK_KEEP && !prev) {
			arena->used = 0;
			return;
		}
		if (arena->cap <= CHUNK_KEEP) {
			/* keep this one: free the older ones below it */
			while (prev) {
				struct chunk *pp = prev->prev;
				free(prev);
				prev = pp;
			}
			arena->prev = NULL;
			arena->used = 0;
			return;
		}
		free(arena);
		arena = prev;
	}
}

/* ---- The running call ------------------------------------------------------------------- */

static struct {
	const char *name;      /* the function's name */
	bool failed;           /* an error was recorded */
	mrun_handle cause;     /* the failed child, for fail_with; 0 for set_error */
	char *msg;             /* the error message */
	size_t msg_len;        /* its length */
	size_t msg_cap;        /* the size of msg */
	const char *local_err; /* the SDK's own reason for the last failed nested import */
} call;

static const char oom_msg[] = "out of memory";

static mrun_writer result; /* the result buffer, reused from call to call */
static mrun_writer spawnw; /* the frame of the next spawn */

void *mrun_scratch(size_t size)
{
	void *p = arena_alloc(size);
	if (!p)
		mrun_error("%s: out of memory (%zu bytes of scratch memory)",
			   call.name ? call.name : "mrun", size);
	return p;
}

/* set_message records msg as the call's error; short of memory, it keeps what fits. */
static void set_message(const char *msg, size_t len)
{
	static char fallback[sizeof oom_msg];
	if (len + 1 > call.msg_cap) {
		char *m = call.msg_cap ? realloc(call.msg, len + 1) : malloc(len + 1);
		if (m)
			call.msg = m, call.msg_cap = len + 1;
		else if (call.msg_cap)
			len = call.msg_cap - 1;
		else
			call.msg = fallback, msg = oom_msg, len = sizeof oom_msg - 1;
	}
	memmove(call.msg, msg, len);
	call.msg[len] = 0;
	call.msg_len = len;
	call.failed = true;
}

void mrun_verror(const char *fmt, va_list ap)
{
	if (call.failed)
		return;
	char small[256];
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		set_message(fmt, strlen(fmt));
	} else if ((size_t)n < sizeof small) {
		set_message(small, (size_t)n);
	} else {
		char *big = malloc((size_t)n + 1);
		if (!big) {
			set_message(small, sizeof small - 1);
			return;
		}
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		set_message(big, (size_t)n);
		free(big);
	}
}

void mrun_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	mrun_verror(fmt, ap);
	va_end(ap);
}

void mrun_error_str(const char *msg, size_t len)
{
	if (!call.failed)
		set_message(msg, len);
}

void mrun_fail_with(mrun_handle h, const char *fmt, ...)
{
	if (call.failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	mrun_verror(fmt, ap);
	va_end(ap);
	call.cause = h;
}

bool mrun_failed(void) { return call.failed; }

/* ---- MessagePack decoding --------------------------------------------------------------- */

static inline uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }
static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8); /* WebAssembly is little-endian */
	return v;
}

/* item is one decoded MessagePack header. */
typedef struct item {
	mrun_type type;
	size_t size;         /* bytes of the header and any payload; for containers, the header */
	bool b;              /* MRUN_BOOL */
	bool neg;            /* MRUN_INT: the value is negative, i is valid */
	uint64_t u;          /* MRUN_INT, not negative */
	int64_t i;           /* MRUN_INT, negative */
	double f;            /* MRUN_FLOAT */
	bool f32;            /* MRUN_FLOAT: the encoding was a float32 */
	const uint8_t *data; /* MRUN_STR, MRUN_BIN, MRUN_EXT: the payload */
	size_t len;          /* ... its length */
	uint32_t n;          /* MRUN_ARRAY, MRUN_MAP: the number of elements or entries */
	int8_t ext;          /* MRUN_EXT: the type */
} item;

/* decode reads the header at p, checking that it and its payload lie before end. */
static bool decode(const uint8_t *p, const uint8_t *end, item *it)
{
	if (p >= end)
		return false;
	size_t avail = (size_t)(end - p);
	uint8_t c = p[0];
	size_t h = 1; /* header size */
	size_t len = 0;
	it->size = 1;
	if (c <= 0x7f) {
		it->type = MRUN_INT, it->neg = false, it->u = c;
		return true;
	}
	if (c >= 0xe0) {
		it->type = MRUN_INT, it->neg = true, it->i = (int8_t)c;
		return true;
	}
	if (c <= 0x8f) {
		it->type = MRUN_MAP, it->n = c & 0x0f;
		goto container;
	}
	if (c <= 0x9f) {
		it->type = MRUN_ARRAY, it->n = c & 0x0f;
		goto container;
	}
	if (c <= 0xbf) {
		it->type = MRUN_STR, len = c & 0x1f;
		goto payload;
	}
	/* Sizes of the fixed-width part after the type byte, for 0xc0 ... 0xdf. */
	static const uint8_t extra[32] = {
		0, 0, 0, 0, 1, 2, 4, 2, 3, 5, 4, 8, 1, 2, 4, 8, /* c0 - cf */
		1, 2, 4, 8, 2, 3, 5, 9, 17, 1, 2, 4, 2, 4, 2, 4, /* d0 - df */
	};
	h = 1 + (size_t)extra[c - 0xc0];
	if (avail < h)
		return false;
	const uint8_t *q = p + 1;
	it->size = h;
	switch (c) {
	case 0xc0: it->type = MRUN_NIL; return true;
	case 0xc1: return false;
	case 0xc2: it->type = MRUN_BOOL, it->b = false; return true;
	case 0xc3: it->type = MRUN_BOOL, it->b = true; return true;
	case 0xc4: it->type = MRUN_BIN, len = q[0]; goto payload;
	case 0xc5: it->type = MRUN_BIN, len = be16(q); goto payload;
	case 0xc6: it->type = MRUN_BIN, len = be32(q); goto payload;
	case 0xc7: it->type = MRUN_EXT, len = q[0], it->ext = (int8_t)q[1]; goto payload;
	case 0xc8: it->type = MRUN_EXT, len = be16(q), it->ext = (int8_t)q[2]; goto payload;
	case 0xc9: it->type = MRUN_EXT, len = be32(q), it->ext = (int8_t)q[4]; goto payload;
	case 0xca: {
		uint32_t bits = be32(q);
		float f;
		memcpy(&f, &bits, 4);
		it->type = MRUN_FLOAT, it->f = f, it->f32 = true;
		return true;
	}
	case 0xcb: {
		uint64_t bits = be64(q);
		memcpy(&it->f, &bits, 8);
		it->type = MRUN_FLOAT, it->f32 = false;
		return true;
	}
	case 0xcc: it->type = MRUN_INT, it->neg = false, it->u = q[0]; return true;
	case 0xcd: it->type = MRUN_INT, it->neg = false, it->u = be16(q); return true;
	case 0xce: it->type = MRUN_INT, it->neg = false, it->u = be32(q); return true;
	case 0xcf: it->type = MRUN_INT, it->neg = false, it->u = be64(q); return true;
	case 0xd0: it->i = (int8_t)q[0]; goto signed_int;
	case 0xd1: it->i = (int16_t)be16(q); goto signed_int;
	case 0xd2: it->i = (int32_t)be32(q); goto signed_int;
	case 0xd3: it->i = (int64_t)be64(q); goto signed_int;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		it->type = MRUN_EXT, it->ext = (int8_t)q[0];
		it->data = q + 1, it->len = h - 2;
		return true;
	case 0xd9: it->type = MRUN_STR, len = q[0]; goto payload;
	case 0xda: it->type = MRUN_STR, len = be16(q); goto payload;
	case 0xdb: it->type = MRUN_STR, len = be32(q); goto payload;
	case 0xdc: it->type = MRUN_ARRAY, it->n = be16(q); goto container;
	case 0xdd: it->type = MRUN_ARRAY, it->n = be32(q); goto container;
	case 0xde: it->type = MRUN_MAP, it->n = be16(q); goto container;
	case 0xdf: it->type = MRUN_MAP, it->n = be32(q); goto container;
	}
	return false;
signed_int:
	it->type = MRUN_INT;
	it->neg = it->i < 0;
	if (!it->neg)
		it->u = (uint64_t)it->i;
	return true;
payload:
	if (len > avail - h)
		return false;
	it->data = p + h, it->len = len, it->size = h + len;
	return true;
container:
	/* every element takes at least one byte: a larger count is a lie */
	if ((uint64_t)it->n * (it->type == MRUN_MAP ? 2 : 1) > avail - h)
		return false;
	it->size = h;
	return true;
}

mrun_reader mrun_reader_init(const void *data, size_t len)
{
	mrun_reader r = {data, data ? (const uint8_t *)data + len : NULL};
	return r;
}

bool mrun_at_end(const mrun_reader *r) { return r->p >= r->end; }

mrun_type mrun_peek(const mrun_reader *r)
{
	item it;
	return decode(r->p, r->end, &it) ? it.type : MRUN_END;
}

const char *mrun_type_name(const mrun_reader *r)
{
	item it;
	if (!decode(r->p, r->end, &it))
		return r->p >= r->end ? "nothing" : "malformed bytes";
	switch (it.type) {
	case MRUN_NIL: return "nil";
	case MRUN_BOOL: return "a bool";
	case MRUN_INT:
		if (it.neg)
			return "a negative int";
		return it.u > INT64_MAX ? "an integer above 2^63-1" : "an int";
	case MRUN_FLOAT: return "a float";
	case MRUN_STR: return "a str";
	case MRUN_BIN: return "bytes";
	case MRUN_ARRAY: return "a list";
	case MRUN_MAP: return "a map";
	case MRUN_EXT:
		switch (it.ext) {
		case 2: return "a handle";
		case 4: return "a tensor";
		case 5: return "a table";
		case -1: return "a timestamp";
		}
		return "an ext value";
	case MRUN_END: break;
	}
	return "nothing";
}

/* take decodes the header at r's cursor if it has type t, and moves past it. */
static bool take(mrun_reader *r, mrun_type t, item *it)
{
	if (!decode(r->p, r->end, it) || it->type != t)
		return false;
	r->p += it->size;
	return true;
}

bool mrun_read_nil(mrun_reader *r)
{
	item it;
	return take(r, MRUN_NIL, &it);
}

bool mrun_read_bool(mrun_reader *r, bool *v)
{
	item it;
	if (!take(r, MRUN_BOOL, &it))
		return false;
	*v = it.b;
	return true;
}

bool mrun_read_int(mrun_reader *r, int64_t *v)
{
	item it;
	if (!decode(r->p, r->end, &it) || it.type != MRUN_INT || (!it.neg && it.u > INT64_MAX))
		return false;
	r->p += it.size;
	*v = it.neg ? it.i : (int64_t)it.u;
	return true;
}

bool mrun_read_uint(mrun_reader *r, uint64_t *v)
{
	item it;
	if (!decode(r->p, r->end, &it) || it.type != MRUN_INT || it.neg)
		return false;
	r->p += it.size;
	*v = it.u;
	return true;
}

bool mrun_read_double(mrun_reader *r, double *v)
{
	item it;
	if (!decode(r->p, r->end, &it))
		return false;
	if (it.type == MRUN_FLOAT)
		*v = it.f;
	else if (it.type == MRUN_INT)
		*v = it.neg ? (double)it.i : (double)it.u;
	else
		return false;
	r->p += it.size;
	return true;
}

bool mrun_read_str(mrun_reader *r, mrun_str *v)
{
	item it;
	if (!take(r, MRUN_STR, &it))
		return false;
	v->ptr = (const char *)it.data, v->len = it.len;
	return true;
}

bool mrun_read_bin(mrun_reader *r, mrun_bytes *v)
{
	item it;
	if (!take(r, MRUN_BIN, &it))
		return false;
	v->ptr = it.data, v->len = it.len;
	return true;
}

bool mrun_read_array(mrun_reader *r, uint32_t *n)
{
	item it;
	if (!take(r, MRUN_ARRAY, &it))
		return false;
	*n = it.n;
	return true;
}

bool mrun_read_map(mrun_reader *r, uint32_t *n)
{
	item it;
	if (!take(r, MRUN_MAP, &it))
		return false;
	*n = it.n;
	return true;
}

bool mrun_read_ext(mrun_reader *r, int8_t *type, mrun_bytes *payload)
{
	item it;
	if (!take(r, MRUN_EXT, &it))
		return false;
	*type = it.ext;
	payload->ptr = it.data, payload->len = it.len;
	return true;
}

bool mrun_read_handle(mrun_reader *r, mrun_handle *h)
{
	item it;
	if (!decode(r->p, r->end, &it) || it.type != MRUN_EXT || it.ext != 2 || it.len != 4)
		return false;
	uint32_t v = be32(it.data);
	if (v == 0 || v > INT32_MAX)
		return false;
	r->p += it.size;
	*h = (mrun_handle)v;
	return true;
}

bool mrun_skip(mrun_reader *r)
{
	const uint8_t *p = r->p;
	uint64_t pending = 1;
	while (pending) {
		item it;
		if (!decode(p, r->end, &it))
			return false;
		p += it.size;
		pending--;
		if (it.type == MRUN_ARRAY)
			pending += it.n;
		else if (it.type == MRUN_MAP)
			pending += 2 * (uint64_t)it.n;
	}
	r->p = p;
	return true;
}

bool mrun_read_value(mrun_reader *r, mrun_reader *v)
{
	const uint8_t *start = r->p;
	if (!mrun_skip(r))
		return false;
	v->p = start, v->end = r->p;
	return true;
}

/* ---- Tensors ---------------------------------------------------------------------------- */

size_t mrun_dtype_size(mrun_dtype dtype)
{
	static const uint8_t sizes[12] = {0, 1, 2, 4, 8, 1, 2, 4, 8, 4, 8, 1};
	return (unsigned)dtype < 12 ? sizes[dtype] : 0;
}

const char *mrun_dtype_name(mrun_dtype dtype)
{
	static const char *const names[12] = {
		"unknown", "int8",   "int16",  "int32",   "int64",   "uint8",
		"uint16",  "uint32", "uint64", "float32", "float64", "bool",
	};
	return (unsigned)dtype < 12 ? names[dtype] : "unknown";
}

/* tensor_count multiplies the shape, or returns false when the product overflows. */
static bool tensor_count(uint32_t ndim, const uint64_t *shape, uint64_t *count)
{
	uint64_t n = 1;
	bool zero = false, big = false;
	for (uint32_t i = 0; i < ndim; i++) {
		if (shape[i] == 0)
			zero = true;
		else if (n > UINT64_MAX / shape[i])
			big = true;
		else
			n *= shape[i];
	}
	*count = zero ? 0 : n;
	return zero || !big;
}

/* tensor_parse checks a tensor payload (ABI.md section 5.3) and fills t with data pointing
 * into the payload, aligned or not. */
static bool tensor_parse(const uint8_t *pl, size_t len, mrun_tensor *t)
{
	if (len < 8)
		return false;
	mrun_dtype dtype = (mrun_dtype)pl[0];
	size_t esize = mrun_dtype_size(dtype);
	uint32_t ndim = pl[1];
	if (esize == 0 || ndim > MRUN_MAX_DIMS)
		return false;
	for (int i = 2; i < 8; i++)
		if (pl[i] != 0)
			return false;
	size_t head = 8 + 8 * (size_t)ndim;
	if (len < head)
		return false;
	memset(t->shape, 0, sizeof t->shape);
	for (uint32_t i = 0; i < ndim; i++)
		t->shape[i] = le64(pl + 8 + 8 * (size_t)i);
	uint64_t count;
	if (!tensor_count(ndim, t->shape, &count) || count > (len - head) / esize ||
	    count * esize != len - head)
		return false;
	t->dtype = dtype, t->ndim = ndim, t->size = (size_t)count;
	t->data = pl + head;
	return true;
}

bool mrun_read_tensor(mrun_reader *r, mrun_tensor *t)
{
	item it;
	if (!decode(r->p, r->end, &it) || it.type != MRUN_EXT || it.ext != 4)
		return false;
	mrun_tensor tt;
	if (!tensor_parse(it.data, it.len, &tt))
		return false;
	size_t esize = mrun_dtype_size(tt.dtype);
	if ((uintptr_t)tt.data % esize != 0) {
		/* misaligned: one copy into scratch memory, which is aligned to 16 */
		size_t nbytes = tt.size * esize;
		void *copy = arena_alloc(nbytes);
		if (!copy)
			return false;
		memcpy(copy, tt.data, nbytes);
		tt.data = copy;
	}
	*t = tt;
	r->p += it.size;
	return true;
}

/* ---- MessagePack encoding --------------------------------------------------------------- */

/* put reserves n bytes at the end of w, or returns NULL (and sets w->oom). */
static uint8_t *put(mrun_writer *w, size_t n)
{
	if (w->oom)
		return NULL;
	if (n > w->cap - w->len) {
		if (n > SIZE_MAX / 2 - w->len) {
			w->oom = true;
			return NULL;
		}
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *b = realloc(w->buf, cap);
		if (!b) {
			w->oom = true;
			return NULL;
		}
		w->buf = b, w->cap = cap;
	}
	uint8_t *p = w->buf + w->len;
	w->len += n;
	return p;
}

static inline void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }
static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}
static inline void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

void mrun_writer_reset(mrun_writer *w)
{
	w->len = 0;
	w->oom = false;
	w->frame = 0;
	w->extra = 0;
}

void mrun_writer_free(mrun_writer *w)
{
	free(w->buf);
	*w = (mrun_writer){0};
}

void mrun_write_nil(mrun_writer *w)
{
	uint8_t *p = put(w, 1);
	if (p)
		p[0] = 0xc0;
}

void mrun_write_bool(mrun_writer *w, bool v)
{
	uint8_t *p = put(w, 1);
	if (p)
		p[0] = v ? 0xc3 : 0xc2;
}

void mrun_write_uint(mrun_writer *w, uint64_t v)
{
	uint8_t *p;
	if (v <= 0x7f) {
		if ((p = put(w, 1)))
			p[0] = (uint8_t)v;
	} else if (v <= 0xff) {
		if ((p = put(w, 2)))
			p[0] = 0xcc, p[1] = (uint8_t)v;
	} else if (v <= 0xffff) {
		if ((p = put(w, 3)))
			p[0] = 0xcd, put_be16(p + 1, (uint16_t)v);
	} else if (v <= 0xffffffff) {
		if ((p = put(w, 5)))
			p[0] = 0xce, put_be32(p + 1, (uint32_t)v);
	} else if ((p = put(w, 9))) {
		p[0] = 0xcf, put_be64(p + 1, v);
	}
}

void mrun_write_int(mrun_writer *w, int64_t v)
{
	uint8_t *p;
	if (v >= 0) {
		mrun_write_uint(w, (uint64_t)v);
	} else if (v >= -32) {
		if ((p = put(w, 1)))
			p[0] = (uint8_t)v;
	} else if (v >= INT8_MIN) {
		if ((p = put(w, 2)))
			p[0] = 0xd0, p[1] = (uint8_t)v;
	} else if (v >= INT16_MIN) {
		if ((p = put(w, 3)))
			p[0] = 0xd1, put_be16(p + 1, (uint16_t)v);
	} else if (v >= INT32_MIN) {
		if ((p = put(w, 5)))
			p[0] = 0xd2, put_be32(p + 1, (uint32_t)v);
	} else if ((p = put(w, 9))) {
		p[0] = 0xd3, put_be64(p + 1, (uint64_t)v);
	}
}

void mrun_write_double(mrun_writer *w, double v)
{
	uint8_t *p = put(w, 9);
	if (p) {
		uint64_t bits;
		memcpy(&bits, &v, 8);
		p[0] = 0xcb, put_be64(p + 1, bits);
	}
}

void mrun_write_float(mrun_writer *w, float v)
{
	uint8_t *p = put(w, 5);
	if (p) {
		uint32_t bits;
		memcpy(&bits, &v, 4);
		p[0] = 0xca, put_be32(p + 1, bits);
	}
}

/* put_head writes the header of a str (0xa0/0xd9), bin (0xc4) or container of length n. */
static void put_len(mrun_writer *w, uint8_t fix, uint32_t fixmax, uint8_t c8, uint8_t c16,
		    uint8_t c32, size_t n)
{
	uint8_t *p;
	if (n <= fixmax && fix) {
		if ((p = put(w, 1)))
			p[0] = (uint8_t)(fix | n);
	} else if (n <= 0xff && c8) {
		if ((p = put(w, 2)))
			p[0] = c8, p[1] = (uint8_t)n;
	} else if (n <= 0xffff) {
		if ((p = put(w, 3)))
			p[0] = c16, put_be16(p + 1, (uint16_t)n);
	} else if (n <= 0xffffffff) {
		if ((p = put(w, 5)))
			p[0] = c32, put_be32(p + 1, (uint32_t)n);
	} else {
		w->oom = true; /* MessagePack cannot say it */
	}
}

char *mrun_write_str_reserve(mrun_writer *w, size_t len)
{
	put_len(w, 0xa0, 31, 0xd9, 0xda, 0xdb, len);
	return (char *)put(w, len);
}

void mrun_write_strn(mrun_writer *w, const char *s, size_t len)
{
	char *p = mrun_write_str_reserve(w, len);
	if (p && len)
		memcpy(p, s, len);
}

void mrun_write_str(mrun_writer *w, const char *s) { mrun_write_strn(w, s, strlen(s)); }

void mrun_write_strf(mrun_writer *w, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		w->oom = true;
	} else {
		put_len(w, 0xa0, 31, 0xd9, 0xda, 0xdb, (size_t)n);
		/* vsnprintf wants room for a NUL: reserve it too, then drop it */
		char *p = (char *)put(w, (size_t)n + 1);
		if (p) {
			vsnprintf(p, (size_t)n + 1, fmt, ap2);
			w->len--;
		}
	}
	va_end(ap2);
}

uint8_t *mrun_write_bin_reserve(mrun_writer *w, size_t len)
{
	put_len(w, 0, 0, 0xc4, 0xc5, 0xc6, len);
	return put(w, len);
}

void mrun_write_bin(mrun_writer *w, const void *b, size_t len)
{
	uint8_t *p = mrun_write_bin_reserve(w, len);
	if (p && len)
		memcpy(p, b, len);
}

void mrun_write_array(mrun_writer *w, uint32_t n) { put_len(w, 0x90, 15, 0, 0xdc, 0xdd, n); }

void mrun_write_map(mrun_writer *w, uint32_t n) { put_len(w, 0x80, 15, 0, 0xde, 0xdf, n); }

/* put_ext writes the header of an ext value, and returns where its payload goes. */
static uint8_t *put_ext(mrun_writer *w, int8_t type, size_t len)
{
	uint8_t *p;
	switch (len) {
	case 1: case 2: case 4: case 8: case 16: {
		static const uint8_t fix[17] = {[1] = 0xd4, [2] = 0xd5, [4] = 0xd6, [8] = 0xd7, [16] = 0xd8};
		if ((p = put(w, 2)))
			p[0] = fix[len], p[1] = (uint8_t)type;
		break;
	}
	default:
		if (len <= 0xff) {
			if ((p = put(w, 3)))
				p[0] = 0xc7, p[1] = (uint8_t)len, p[2] = (uint8_t)type;
		} else if (len <= 0xffff) {
			if ((p = put(w, 4)))
				p[0] = 0xc8, put_be16(p + 1, (uint16_t)len), p[3] = (uint8_t)type;
		} else if (len <= 0xffffffff) {
			if ((p = put(w, 6)))
				p[0] = 0xc9, put_be32(p + 1, (uint32_t)len), p[5] = (uint8_t)type;
		} else {
			w->oom = true;
		}
	}
	return put(w, len);
}

void mrun_write_ext(mrun_writer *w, int8_t type, const void *payload, size_t len)
{
	uint8_t *p = put_ext(w, type, len);
	if (p && len)
		memcpy(p, payload, len);
}

void mrun_write_handle(mrun_writer *w, mrun_handle h)
{
	uint8_t *p = put_ext(w, 2, 4);
	if (p)
		put_be32(p, (uint32_t)h);
}

void mrun_write_byref(mrun_writer *w, mrun_handle h)
{
	uint8_t *p = put_ext(w, 3, 4);
	if (p)
		put_be32(p, (uint32_t)h);
}

bool mrun_write_tensor(mrun_writer *w, mrun_dtype dtype, uint32_t ndim, const uint64_t *shape,
		       const void *data)
{
	size_t esize = mrun_dtype_size(dtype);
	uint64_t count;
	if (esize == 0 || ndim > MRUN_MAX_DIMS || !tensor_count(ndim, shape, &count) ||
	    count > (0xffffffffu - 8 - 8 * (uint64_t)ndim) / esize)
		return false;
	size_t nbytes = (size_t)count * esize;
	size_t len = 8 + 8 * (size_t)ndim + nbytes;
	uint8_t *p = put_ext(w, 4, len);
	if (!p)
		return true; /* out of memory: the writer remembers it */
	memset(p, 0, 8);
	p[0] = (uint8_t)dtype, p[1] = (uint8_t)ndim;
	if (ndim)
		memcpy(p + 8, shape, 8 * (size_t)ndim); /* little-endian, like WebAssembly */
	if (nbytes)
		memcpy(p + 8 + 8 * (size_t)ndim, data, nbytes);
	return true;
}

void mrun_write_raw(mrun_writer *w, const void *bytes, size_t len)
{
	uint8_t *p = put(w, len);
	if (p && len)
		memcpy(p, bytes, len);
}

bool mrun_write_value(mrun_writer *w, mrun_reader *r)
{
	mrun_reader check = *r;
	if (!mrun_skip(&check))
		return false;
	const uint8_t *p = r->p;
	uint64_t pending = 1;
	while (pending) {
		item it;
		decode(p, r->end, &it); /* cannot fail: mrun_skip checked it */
		p += it.size;
		pending--;
		switch (it.type) {
		case MRUN_NIL: mrun_write_nil(w); break;
		case MRUN_BOOL: mrun_write_bool(w, it.b); break;
		case MRUN_INT:
			if (it.neg)
				mrun_write_int(w, it.i);
			else
				mrun_write_uint(w, it.u);
			break;
		case MRUN_FLOAT:
			if (it.f32)
				mrun_write_float(w, (float)it.f);
			else
				mrun_write_double(w, it.f);
			break;
		case MRUN_STR: mrun_write_strn(w, (const char *)it.data, it.len); break;
		case MRUN_BIN: mrun_write_bin(w, it.data, it.len); break;
		case MRUN_EXT: mrun_write_ext(w, it.ext, it.data, it.len); break;
		case MRUN_ARRAY:
			mrun_write_array(w, it.n);
			pending += it.n;
			break;
		case MRUN_MAP:
			mrun_write_map(w, it.n);
			pending += 2 * (uint64_t)it.n;
			break;
		case MRUN_END: break;
		}
	}
	r->p = p;
	return true;
}

/* ---- Calls and arguments ---------------------------------------------------------------- */

/* parse_frame splits the argument frame [positional, keyword] (ABI.md section 3). */
static bool parse_frame(mrun_args *a, const uint8_t *p, size_t n)
{
	mrun_reader r = mrun_reader_init(p, n);
	uint32_t two;
	if (!mrun_read_array(&r, &two) || two != 2 || !mrun_read_array(&r, &a->npos))
		return false;
	a->pos = r;
	for (uint32_t i = 0; i < a->npos; i++)
		if (!mrun_skip(&r))
			return false;
	a->pos.end = r.p;
	if (!mrun_read_map(&r, &a->nkw))
		return false;
	a->kw = r;
	for (uint64_t i = 0; i < 2 * (uint64_t)a->nkw; i++)
		if (!mrun_skip(&r))
			return false;
	return mrun_at_end(&r);
}

/* check_unused fails the call when the function left arguments it was passed. */
static void check_unused(const mrun_args *a)
{
	if (a->next < a->npos) {
		mrun_error("%s: takes %u positional argument%s but %u %s given", a->fn, a->next,
			   a->next == 1 ? "" : "s", a->npos, a->npos == 1 ? "was" : "were");
		return;
	}
	mrun_reader r = a->kw;
	for (uint32_t i = 0; i < a->nkw && i < 64; i++) {
		mrun_str k = {"?", 1};
		mrun_reader key = r;
		mrun_read_str(&key, &k);
		if (!(a->kw_used >> i & 1)) {
			mrun_error("%s: unexpected keyword argument \"%.*s\"", a->fn, (int)k.len, k.ptr);
			return;
		}
		mrun_skip(&r);
		mrun_skip(&r);
	}
}

/* call_run runs f on the frame [p, p+n): on success the result is in result, otherwise the
 * host has been told the error. It returns whether the call succeeded. */
static bool call_run(const char *name, mrun_fn *f, const uint8_t *p, size_t n)
{
	call.name = name;
	call.failed = false;
	call.cause = 0;
	call.local_err = NULL;
	if (result.cap > CHUNK_KEEP * 4)
		mrun_writer_free(&result); /* do not hold on to a huge result */
	mrun_writer_reset(&result);

	mrun_args a = {.fn = name};
	if (!parse_frame(&a, p, n))
		mrun_error("%s: malformed argument frame", name);
	else
		f(&a, &result);
	if (!call.failed)
		check_unused(&a);
	if (!call.failed && result.len == 0)
		mrun_write_nil(&result);
	if (!call.failed && result.oom)
		mrun_error("%s: out of memory writing the result", name);

	if (call.failed) {
		if (call.cause > 0)
			host_fail_with(call.cause, call.msg, call.msg_len);
		else
			host_set_error(call.msg, call.msg_len);
	}
	arena_reset();
	call.name = NULL;
	return !call.failed;
}

uint64_t mrun_call(const char *name, mrun_fn *f, uint32_t p, uint32_t n)
{
	if (!call_run(name, f, (const uint8_t *)(uintptr_t)p, n))
		return 0;
	return (uint64_t)(uintptr_t)result.buf << 32 | (uint64_t)result.len;
}

/* arg_at returns whether a positional argument is there to read, failing the call if not. */
static bool arg_at(mrun_args *a, const char *name)
{
	if (call.failed)
		return false;
	if (a->next >= a->npos) {
		mrun_error("%s: missing argument %u (%s)", a->fn, a->next + 1, name);
		return false;
	}
	return true;
}

/* arg_ok moves past the argument just read into r. */
static void arg_ok(mrun_args *a, const mrun_reader *r)
{
	a->pos = *r;
	a->next++;
}

static void arg_wrong(mrun_args *a, const char *name, const char *want)
{
	mrun_error("%s: argument %u (%s): expected %s, got %s", a->fn, a->next + 1, name, want,
		   mrun_type_name(&a->pos));
}

int64_t mrun_arg_int(mrun_args *a, const char *name)
{
	int64_t v = 0;
	mrun_reader r = a->pos;
	if (!arg_at(a, name))
		return 0;
	if (!mrun_read_int(&r, &v)) {
		arg_wrong(a, name, "an int");
		return 0;
	}
	arg_ok(a, &r);
	return v;
}

uint64_t mrun_arg_uint(mrun_args *a, const char *name)
{
	uint64_t v = 0;
	mrun_reader r = a->pos;
	if (!arg_at(a, name))
		return 0;
	if (!mrun_read_uint(&r, &v)) {
		arg_wrong(a, name, "a non-negative int");
		return 0;
	}
	arg_ok(a, &r);
	return v;
}

double mrun_arg_double(mrun_args *a, const char *name)
{
	double v = 0;
	mrun_reader r = a->pos;
	if (!arg_at(a, name))
		return 0;
	if (!mrun_read_double(&r, &v)) {
		arg_wrong(a, name, "a float");
		return 0;
	}
	arg_ok(a, &r);
	return v;
}

bool mrun_arg_bool(mrun_args *a, const char *name)
{
	bool v = false;
	mrun_reader r = a->pos;
	if (!arg_at(a, name))
		return false;
	if (!mrun_read_bool(&r, &v)) {
		arg_wrong(a, name, "a bool");
		return false;
	}
	arg_ok(a, &r);
	return v;
}

mrun_str mrun_arg_str(mrun_args *a, const char *name)
{
	mrun_str v = {"", 0};
	mrun_reader r = a->pos;
	if (!arg_at(a, name))
		return v;
	if (!mrun_read_str(&r, &v)) {
		arg_wrong(a, name, "a str");
		return (mrun_str){"", 0};
	}
	arg_ok(a, &r);
	return v;
}

mrun_bytes mrun_arg_bin(mrun_args *a, const char *name)
{
	mrun_bytes v = {(const uint8_t *)"", 0};
	mrun_reader r = a->pos;
	if (!arg_at(a, name))
		return v;
	if (!mrun_read_bin(&r, &v)) {
		arg_wrong(a, name, "bytes");
		return (mrun_bytes){(const uint8_t *)"", 0};
	}
	arg_ok(a, &r);
	return v;
}

uint32_t mrun_arg_array(mrun_args *a, const char *name, mrun_reader *items)
{
	uint32_t n = 0;
	mrun_reader r = a->pos;
	*items = (mrun_reader){r.p, r.p};
	if (!arg_at(a, name))
		return 0;
	if (!mrun_read_array(&r, &n)) {
		arg_wrong(a, name, "a list");
		return 0;
	}
	*items = r;
	arg_ok(a, &r);
	return n;
}

uint32_t mrun_arg_map(mrun_args *a, const char *name, mrun_reader *entries)
{
	uint32_t n = 0;
	mrun_reader r = a->pos;
	*entries = (mrun_reader){r.p, r.p};
	if (!arg_at(a, name))
		return 0;
	if (!mrun_read_map(&r, &n)) {
		arg_wrong(a, name, "a map");
		return 0;
	}
	*entries = r;
	arg_ok(a, &r);
	return n;
}

bool mrun_arg_tensor(mrun_args *a, const char *name, mrun_dtype dtype, mrun_tensor *t)
{
	mrun_reader r = a->pos;
	memset(t, 0, sizeof *t);
	if (!arg_at(a, name))
		return false;
	char want[32] = "a tensor";
	if (dtype)
		snprintf(want, sizeof want, "a %s tensor", mrun_dtype_name(dtype));
	item it;
	if (!decode(r.p, r.end, &it) || it.type != MRUN_EXT || it.ext != 4) {
		arg_wrong(a, name, want);
		return false;
	}
	if (!mrun_read_tensor(&r, t)) {
		mrun_tensor bad;
		if (tensor_parse(it.data, it.len, &bad))
			mrun_error("%s: argument %u (%s): out of memory copying a tensor", a->fn,
				   a->next + 1, name);
		else
			mrun_error("%s: argument %u (%s): malformed tensor", a->fn, a->next + 1, name);
		return false;
	}
	if (dtype && t->dtype != dtype) {
		mrun_error("%s: argument %u (%s): expected %s, got a %s tensor", a->fn, a->next + 1,
			   name, want, mrun_dtype_name(t->dtype));
		memset(t, 0, sizeof *t);
		return false;
	}
	arg_ok(a, &r);
	return true;
}

mrun_handle mrun_arg_handle(mrun_args *a, const char *name)
{
	mrun_handle h = 0;
	mrun_reader r = a->pos;
	if (!arg_at(a, name))
		return 0;
	if (!mrun_read_handle(&r, &h)) {
		arg_wrong(a, name, "an Object passed by reference");
		return 0;
	}
	arg_ok(a, &r);
	return h;
}

bool mrun_arg_value(mrun_args *a, const char *name, mrun_reader *v)
{
	mrun_reader r = a->pos;
	*v = (mrun_reader){r.p, r.p};
	if (!arg_at(a, name))
		return false;
	if (!mrun_read_value(&r, v)) {
		arg_wrong(a, name, "a value");
		return false;
	}
	arg_ok(a, &r);
	return true;
}

uint32_t mrun_args_left(const mrun_args *a) { return a->npos - a->next; }

/* kw_find looks keyword name up, marking it used. */
static bool kw_find(mrun_args *a, const char *name, mrun_reader *v)
{
	size_t nl = strlen(name);
	mrun_reader r = a->kw;
	for (uint32_t i = 0; i < a->nkw; i++) {
		mrun_str k;
		if (mrun_read_str(&r, &k)) {
			if (k.len == nl && memcmp(k.ptr, name, nl) == 0) {
				if (i < 64)
					a->kw_used |= (uint64_t)1 << i;
				*v = r;
				return true;
			}
		} else if (!mrun_skip(&r)) {
			return false;
		}
		if (!mrun_skip(&r))
			return false;
	}
	return false;
}

static void kw_wrong(mrun_args *a, const char *name, const char *want, const mrun_reader *v)
{
	mrun_error("%s: keyword argument %s: expected %s, got %s", a->fn, name, want,
		   mrun_type_name(v));
}

int64_t mrun_kwarg_int(mrun_args *a, const char *name, int64_t def)
{
	mrun_reader v;
	int64_t x;
	if (call.failed || !kw_find(a, name, &v))
		return def;
	if (!mrun_read_int(&v, &x)) {
		kw_wrong(a, name, "an int", &v);
		return def;
	}
	return x;
}

double mrun_kwarg_double(mrun_args *a, const char *name, double def)
{
	mrun_reader v;
	double x;
	if (call.failed || !kw_find(a, name, &v))
		return def;
	if (!mrun_read_double(&v, &x)) {
		kw_wrong(a, name, "a float", &v);
		return def;
	}
	return x;
}

bool mrun_kwarg_bool(mrun_args *a, const char *name, bool def)
{
	mrun_reader v;
	bool x;
	if (call.failed || !kw_find(a, name, &v))
		return def;
	if (!mrun_read_bool(&v, &x)) {
		kw_wrong(a, name, "a bool", &v);
		return def;
	}
	return x;
}

mrun_str mrun_kwarg_str(mrun_args *a, const char *name, const char *def)
{
	mrun_reader v;
	mrun_str x = {def, strlen(def)};
	if (call.failed || !kw_find(a, name, &v))
		return x;
	if (!mrun_read_str(&v, &x)) {
		kw_wrong(a, name, "a str", &v);
		return (mrun_str){def, strlen(def)};
	}
	return x;
}

bool mrun_kwarg(mrun_args *a, const char *name, mrun_reader *v)
{
	mrun_reader at;
	if (call.failed || !kw_find(a, name, &at))
		return false;
	return mrun_read_value(&at, v);
}

uint32_t mrun_kwargs_all(mrun_args *a, mrun_reader *entries)
{
	a->kw_used = UINT64_MAX;
	*entries = a->kw;
	return a->nkw;
}

/* ---- Nested spawn ----------------------------------------------------------------------- */

mrun_writer *mrun_spawn_args(uint32_t npos)
{
	mrun_writer_reset(&spawnw);
	mrun_write_array(&spawnw, 2);
	mrun_write_array(&spawnw, npos);
	spawnw.frame = 1;
	return &spawnw;
}

void mrun_spawn_kwargs(mrun_writer *w, uint32_t nkw)
{
	mrun_write_map(w, nkw);
	w->frame = 2;
}

mrun_handle mrun_spawn(const char *module, const char *fn, mrun_writer *args, uint32_t n_output)
{
	static const uint8_t empty[3] = {0x92, 0x90, 0x80};
	const uint8_t *frame = empty;
	size_t len = sizeof empty;
	if (args) {
		if (args->frame == 1)
			mrun_spawn_kwargs(args, 0);
		if (args->oom) {
			call.local_err = "spawn: out of memory building the argument frame";
			return MRUN_ENOMEM;
		}
		frame = args->buf, len = args->len;
	}
	if (!module)
		module = "";
	call.local_err = NULL;
	return host_spawn(module, strlen(module), fn, strlen(fn), frame, len, n_output);
}

int mrun_execute(const mrun_handle *handles, size_t n)
{
	call.local_err = NULL;
	return host_execute(handles, n);
}

int mrun_fetch(mrun_handle h, mrun_reader *value)
{
	*value = (mrun_reader){NULL, NULL};
	size_t room;
	unsigned char *buf = arena_room(&room);
	if (!buf) {
		call.local_err = "fetch: out of memory";
		return MRUN_ENOMEM;
	}
	call.local_err = NULL;
	int64_t n = host_fetch(h, buf, room);
	if (n < 0)
		return (int)n;
	if ((uint64_t)n > room) {
		buf = arena_alloc((size_t)n);
		if (!buf) {
			call.local_err = "fetch: out of memory";
			return MRUN_ENOMEM;
		}
		int64_t again = host_fetch(h, buf, (size_t)n);
		if (again < 0)
			return (int)again;
		if (again != n) {
			call.local_err = "fetch: the value changed size";
			return MRUN_EINVALID;
		}
	} else {
		arena->used = (size_t)(buf - arena->data) + (size_t)n;
	}
	*value = mrun_reader_init(buf, (size_t)n);
	return 0;
}

const char *mrun_last_error(void)
{
	if (call.local_err)
		return call.local_err;
	size_t room;
	char *buf = (char *)arena_room(&room);
	if (!buf)
		return oom_msg;
	size_t cap = room ? room - 1 : 0; /* keep a byte for the NUL */
	int32_t n = host_last_error(buf, cap);
	if (n <= 0)
		return "";
	if ((size_t)n > cap) {
		buf = arena_alloc((size_t)n + 1);
		if (!buf)
			return oom_msg;
		if (host_last_error(buf, (size_t)n) != n)
			return "";
	} else {
		arena->used = (size_t)((unsigned char *)buf - arena->data) + (size_t)n + 1;
	}
	buf[n] = 0;
	return buf;
}

/* ---- Tensor expressions ------------------------------------------------------------------ */

void mrun_expr_op(mrun_writer *w, const char *op, uint32_t nfields)
{
	mrun_write_map(w, nfields + 1 + w->extra);
	w->extra = 0;
	mrun_write_str(w, "op");
	mrun_write_str(w, op);
}

void mrun_expr_extra(mrun_writer *w, uint32_t n) { w->extra += n; }

/* write_ints writes an array of n int64s. */
static void write_ints(mrun_writer *w, uint32_t n, const int64_t *v)
{
	mrun_write_array(w, n);
	for (uint32_t i = 0; i < n; i++)
		mrun_write_int(w, v[i]);
}

/* write_shape writes field "shape". */
static void write_shape(mrun_writer *w, uint32_t ndim, const uint64_t *shape)
{
	mrun_write_str(w, "shape");
	mrun_write_array(w, ndim);
	for (uint32_t i = 0; i < ndim; i++)
		mrun_write_uint(w, shape[i]);
}

void mrun_expr_chunks(mrun_writer *w, uint32_t ndim, const int64_t *chunks)
{
	mrun_write_str(w, "chunks");
	write_ints(w, ndim, chunks);
}

void mrun_expr_dtype(mrun_writer *w, mrun_dtype dtype)
{
	mrun_write_str(w, "dtype");
	mrun_write_str(w, mrun_dtype_name(dtype));
}

void mrun_expr_keepdims(mrun_writer *w)
{
	mrun_write_str(w, "keepdims");
	mrun_write_bool(w, true);
}

void mrun_expr_rand(mrun_writer *w, int64_t seed, uint32_t ndim, const uint64_t *shape)
{
	mrun_expr_op(w, "rand", 2);
	mrun_write_str(w, "seed");
	mrun_write_int(w, seed);
	write_shape(w, ndim, shape);
}

void mrun_expr_zeros(mrun_writer *w, uint32_t ndim, const uint64_t *shape)
{
	mrun_expr_op(w, "zeros", 1);
	write_shape(w, ndim, shape);
}

void mrun_expr_ones(mrun_writer *w, uint32_t ndim, const uint64_t *shape)
{
	mrun_expr_op(w, "ones", 1);
	write_shape(w, ndim, shape);
}

void mrun_expr_full(mrun_writer *w, mrun_dtype dtype, uint32_t ndim, const uint64_t *shape)
{
	mrun_expr_op(w, "full", dtype ? 3 : 2);
	if (dtype)
		mrun_expr_dtype(w, dtype);
	write_shape(w, ndim, shape);
	mrun_write_str(w, "value");
}

void mrun_expr_arange(mrun_writer *w, int64_t start, int64_t stop, int64_t step)
{
	mrun_expr_op(w, "arange", 3);
	mrun_write_str(w, "start");
	mrun_write_int(w, start);
	mrun_write_str(w, "stop");
	mrun_write_int(w, stop);
	mrun_write_str(w, "step");
	mrun_write_int(w, step);
}

void mrun_expr_linspace(mrun_writer *w, double start, double stop, int64_t num)
{
	mrun_expr_op(w, "linspace", 3);
	mrun_write_str(w, "start");
	mrun_write_double(w, start);
	mrun_write_str(w, "stop");
	mrun_write_double(w, stop);
	mrun_write_str(w, "num");
	mrun_write_int(w, num);
}

bool mrun_expr_tensor(mrun_writer *w, mrun_dtype dtype, uint32_t ndim, const uint64_t *shape,
		      const void *data)
{
	/* check first, so that nothing is written for a tensor mrun_write_tensor refuses */
	uint64_t count;
	size_t esize = mrun_dtype_size(dtype);
	if (esize == 0 || ndim > MRUN_MAX_DIMS || !tensor_count(ndim, shape, &count) ||
	    count > (0xffffffffu - 8 - 8 * (uint64_t)ndim) / esize)
		return false;
	mrun_expr_op(w, "tensor", 1);
	mrun_write_str(w, "value");
	return mrun_write_tensor(w, dtype, ndim, shape, data);
}

bool mrun_expr_from_tensor(mrun_writer *w, const mrun_tensor *t)
{
	return mrun_expr_tensor(w, t->dtype, t->ndim, t->shape, t->data);
}

void mrun_expr_binary(mrun_writer *w, const char *op)
{
	mrun_expr_op(w, op, 2);
	mrun_write_str(w, "x");
}

void mrun_expr_unary(mrun_writer *w, const char *op)
{
	mrun_expr_op(w, op, 1);
	mrun_write_str(w, "x");
}

void mrun_expr_where(mrun_writer *w)
{
	mrun_expr_op(w, "where", 3);
	mrun_write_str(w, "cond");
}

void mrun_expr_astype(mrun_writer *w, mrun_dtype dtype)
{
	mrun_expr_op(w, "astype", 2);
	mrun_expr_dtype(w, dtype);
	mrun_write_str(w, "x");
}

void mrun_expr_reduce(mrun_writer *w, const char *op) { mrun_expr_reduce_axes(w, op, 0, NULL, 0); }

void mrun_expr_reduce_axes(mrun_writer *w, const char *op, uint32_t naxes, const int64_t *axes,
			   int64_t ddof)
{
	bool moment = strcmp(op, "var") == 0 || strcmp(op, "std") == 0;
	mrun_expr_op(w, op, moment ? 3 : 2);
	mrun_write_str(w, "axis");
	if (naxes == 0)
		mrun_write_nil(w);
	else
		write_ints(w, naxes, axes);
	if (moment) {
		mrun_write_str(w, "ddof");
		mrun_write_int(w, ddof);
	}
	mrun_write_str(w, "x");
}

void mrun_expr_matmul(mrun_writer *w) { mrun_expr_binary(w, "matmul"); }

void mrun_expr_transpose(mrun_writer *w, uint32_t naxes, const int64_t *axes)
{
	mrun_expr_op(w, "transpose", naxes ? 2 : 1);
	if (naxes) {
		mrun_write_str(w, "axes");
		write_ints(w, naxes, axes);
	}
	mrun_write_str(w, "x");
}

void mrun_expr_slice(mrun_writer *w, uint32_t nindex, const int64_t (*index)[3])
{
	mrun_expr_op(w, "slice", 2);
	mrun_write_str(w, "index");
	mrun_write_array(w, nindex);
	for (uint32_t i = 0; i < nindex; i++) {
		mrun_write_array(w, 3);
		for (int k = 0; k < 3; k++)
			if (index[i][k] == MRUN_NONE)
				mrun_write_nil(w);
			else
				mrun_write_int(w, index[i][k]);
	}
	mrun_write_str(w, "x");
}

void mrun_expr_reshape(mrun_writer *w, uint32_t ndim, const int64_t *shape)
{
	mrun_expr_op(w, "reshape", 2);
	mrun_write_str(w, "shape");
	write_ints(w, ndim, shape);
	mrun_write_str(w, "x");
}

void mrun_expr_rechunk(mrun_writer *w, uint32_t ndim, const int64_t *chunks)
{
	mrun_expr_op(w, "rechunk", 2);
	mrun_expr_chunks(w, ndim, chunks);
	mrun_write_str(w, "x");
}

void mrun_expr_concatenate(mrun_writer *w, int64_t axis, uint32_t n)
{
	mrun_expr_op(w, "concatenate", 2);
	mrun_write_str(w, "axis");
	mrun_write_int(w, axis);
	mrun_write_str(w, "xs");
	mrun_write_array(w, n);
}

mrun_handle mrun_eval(mrun_writer *args) { return mrun_spawn("mrun:tensor", "eval", args, 1); }

/* eval_fetch spawns eval of module with args, executes it and fetches its value into r. */
static int eval_fetch(const char *module, mrun_writer *args, mrun_reader *r)
{
	mrun_handle h = mrun_spawn(module, "eval", args, 1);
	if (h < 0)
		return h;
	int rc = mrun_execute(&h, 1);
	if (rc < 0)
		return rc;
	return mrun_fetch(h, r); /* MRUN_EFAILED, with the message, when eval failed */
}

int mrun_eval_double(mrun_writer *args, double *v)
{
	mrun_reader r;
	int rc = eval_fetch("mrun:tensor", args, &r);
	if (rc != 0)
		return rc;
	if (!mrun_read_double(&r, v)) {
		call.local_err = "eval: the expression's value is not a number";
		return MRUN_EINVALID;
	}
	return 0;
}

int mrun_eval_tensor(mrun_writer *args, mrun_tensor *t)
{
	mrun_reader r;
	int rc = eval_fetch("mrun:tensor", args, &r);
	if (rc != 0)
		return rc;
	if (!mrun_read_tensor(&r, t)) {
		call.local_err = mrun_peek(&r) == MRUN_EXT ? "eval: out of memory reading the tensor"
							   : "eval: the expression's value is not a tensor";
		return MRUN_EINVALID;
	}
	return 0;
}

/* ---- Tables ----------------------------------------------------------------------------- */

#define TABLE_MAX_COLS 65536u

static char table_why[200]; /* why the last table read or write failed */

const char *mrun_table_error(void) { return table_why; }

/* table_fail records why a table is refused, and returns false. */
static bool table_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static bool table_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(table_why, sizeof table_why, fmt, ap);
	va_end(ap);
	return false;
}

const char *mrun_coltype_name(mrun_coltype type)
{
	switch (type) {
	case MRUN_COL_INT64: return "int64";
	case MRUN_COL_FLOAT64: return "float64";
	case MRUN_COL_BOOL: return "bool";
	case MRUN_COL_STRING: return "string";
	case MRUN_COL_TIMESTAMP: return "timestamp";
	}
	return "unknown";
}

/* col_width is the size of one value of a fixed-width column, 0 for strings and unknown types. */
static size_t col_width(mrun_coltype type)
{
	switch (type) {
	case MRUN_COL_INT64: case MRUN_COL_FLOAT64: case MRUN_COL_TIMESTAMP: return 8;
	case MRUN_COL_BOOL: return 1;
	case MRUN_COL_STRING: break;
	}
	return 0;
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static size_t pad8(size_t n) { return (8 - (n & 7)) & 7; }

/* utf8_valid reports whether the n bytes at s are UTF-8 as Go's utf8.Valid has it: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		uint8_t lo = 0x80, hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			len = 2;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
		else
			return false;
		if (n - i < len || s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k < len; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return false;
		i += len;
	}
	return true;
}

/* check_names checks that column i's name is 1 to 65535 bytes of UTF-8, unlike the names
 * before it. */
static bool check_name(const mrun_column *cols, uint32_t i)
{
	mrun_str n = cols[i].name;
	if (n.len == 0 || n.len > 0xffff || !utf8_valid((const uint8_t *)n.ptr, n.len))
		return table_fail("column %u: a name is 1 to 65535 bytes of UTF-8", i);
	for (uint32_t k = 0; k < i; k++)
		if (cols[k].name.len == n.len && memcmp(cols[k].name.ptr, n.ptr, n.len) == 0)
			return table_fail("two columns are named \"%.*s\"", (int)(n.len > 60 ? 60 : n.len),
					  n.ptr);
	return true;
}

/* check_values checks the values of column c of nrows rows: bools 0 or 1; string offsets
 * from 0, in order, within the text, not cutting a character, and valid UTF-8 text. */
static bool check_values(const mrun_column *c, size_t nrows, size_t text_len)
{
	int nl = (int)(c->name.len > 60 ? 60 : c->name.len);
	if (c->type == MRUN_COL_BOOL) {
		const uint8_t *b = c->data;
		for (size_t i = 0; i < nrows; i++)
			if (b[i] > 1)
				return table_fail("bool column \"%.*s\": value %zu is the byte %u, not 0 or 1",
						  nl, c->name.ptr, i, b[i]);
		return true;
	}
	if (c->type != MRUN_COL_STRING)
		return true;
	const uint8_t *off = (const uint8_t *)c->offsets; /* read bytewise: maybe not aligned yet */
	const uint8_t *text = (const uint8_t *)c->text;
	if (le32(off) != 0)
		return table_fail("string column \"%.*s\": its first offset is %u, not 0", nl, c->name.ptr,
				  le32(off));
	if (!utf8_valid(text, text_len))
		return table_fail("string column \"%.*s\": its text is not UTF-8", nl, c->name.ptr);
	uint32_t prev = 0;
	for (size_t i = 1; i <= nrows; i++) {
		uint32_t o = le32(off + 4 * i);
		if (o < prev || o > text_len)
			return table_fail("string column \"%.*s\": offset %zu is %u, out of order or past "
					  "the text's %zu bytes",
					  nl, c->name.ptr, i, o, text_len);
		if (o < text_len && (text[o] & 0xc0) == 0x80)
			return table_fail("string column \"%.*s\": offset %zu cuts a character", nl,
					  c->name.ptr, i);
		prev = o;
	}
	if (prev != text_len)
		return table_fail("string column \"%.*s\": the last offset is %u, the text has %zu bytes",
				  nl, c->name.ptr, prev, text_len);
	return true;
}

/* table_parse checks a table payload (ABI.md section 5.4) and fills t, its columns in
 * scratch memory pointing into the payload. */
static bool table_parse(const uint8_t *p, size_t len, mrun_table *t)
{
	if (len < 16)
		return table_fail("a payload of %zu bytes is shorter than the 16-byte header", len);
	uint32_t ncols = le32(p);
	uint64_t nrows = le64(p + 8);
	if (le32(p + 4) != 0)
		return table_fail("the flags are not zero");
	if (ncols > TABLE_MAX_COLS)
		return table_fail("%u columns, more than %u", ncols, TABLE_MAX_COLS);
	if (nrows > 0xffffffffu)
		return table_fail("%llu rows, more than 2^32-1", (unsigned long long)nrows);
	if (ncols == 0 && nrows != 0)
		return table_fail("%llu rows but no columns", (unsigned long long)nrows);
	if ((uint64_t)ncols * 5 > len - 16)
		return table_fail("a payload of %zu bytes cannot hold %u columns", len, ncols);
	mrun_column *cols = ncols ? arena_alloc(ncols * sizeof *cols) : NULL;
	if (ncols && !cols)
		return table_fail("out of memory for %u columns", ncols);
	size_t off = 16;
	for (uint32_t i = 0; i < ncols; i++) {
		if (len - off < 4 || p[off + 1] != 0)
			return table_fail("column descriptor %u is cut short or its padding is not zero", i);
		mrun_column *c = &cols[i];
		memset(c, 0, sizeof *c);
		c->type = (mrun_coltype)p[off];
		size_t nl = (size_t)p[off + 2] | (size_t)p[off + 3] << 8;
		off += 4;
		if (nl > len - off)
			return table_fail("the name of column %u runs past the payload", i);
		c->name = (mrun_str){(const char *)p + off, nl};
		off += nl;
		if (!check_name(cols, i))
			return false;
		if (col_width(c->type) == 0 && c->type != MRUN_COL_STRING)
			return table_fail("column \"%.*s\" has unknown type %u", (int)(nl > 60 ? 60 : nl),
					  c->name.ptr, (unsigned)c->type);
	}
	size_t pad = pad8(off);
	if (pad > len - off)
		return table_fail("the column descriptors' padding is cut short");
	for (size_t k = 0; k < pad; k++)
		if (p[off + k])
			return table_fail("the column descriptors' padding is not zero");
	off += pad;
	for (uint32_t i = 0; i < ncols; i++) {
		mrun_column *c = &cols[i];
		int nl = (int)(c->name.len > 60 ? 60 : c->name.len);
		/* one part, or two for strings (offsets, text), each padded with zeros to 8 bytes */
		bool str = c->type == MRUN_COL_STRING;
		uint64_t text_len = 0;
		for (int part = 0; part < (str ? 2 : 1); part++) {
			uint64_t n = !str ? nrows * col_width(c->type)
				   : part == 0 ? 4 * (nrows + 1)
					       : (text_len = le32((const uint8_t *)c->offsets + 4 * nrows));
			size_t zeros = pad8((size_t)(n & 7));
			if (n > len - off || zeros > len - off - (size_t)n)
				return table_fail("column \"%.*s\" needs %llu bytes, the payload has %zu left",
						  nl, c->name.ptr, (unsigned long long)n, len - off);
			const uint8_t *at = p + off;
			for (size_t k = 0; k < zeros; k++)
				if (at[(size_t)n + k])
					return table_fail("column \"%.*s\": its padding is not zero", nl,
							  c->name.ptr);
			if (!str)
				c->data = at;
			else if (part == 0)
				c->offsets = (const uint32_t *)(const void *)at;
			else
				c->text = (const char *)at;
			off += (size_t)n + zeros;
		}
		if (!check_values(c, (size_t)nrows, (size_t)text_len))
			return false;
	}
	if (off != len)
		return table_fail("%zu bytes after the last column", len - off);
	t->ncols = ncols, t->nrows = (size_t)nrows, t->cols = cols;
	return true;
}

bool mrun_read_table(mrun_reader *r, mrun_table *t)
{
	item it;
	if (!decode(r->p, r->end, &it) || it.type != MRUN_EXT || it.ext != 5)
		return table_fail("not a table: %s", mrun_type_name(r));
	const uint8_t *pl = it.data;
	if ((uintptr_t)pl % 8 != 0) {
		/* every buffer is 8-byte aligned within the payload: one copy aligns them all */
		uint8_t *copy = arena_alloc(it.len ? it.len : 1);
		if (!copy)
			return table_fail("out of memory copying a table of %zu bytes", it.len);
		memcpy(copy, pl, it.len);
		pl = copy;
	}
	if (!table_parse(pl, it.len, t))
		return false;
	r->p += it.size;
	return true;
}

bool mrun_arg_table(mrun_args *a, const char *name, mrun_table *t)
{
	mrun_reader r = a->pos;
	memset(t, 0, sizeof *t);
	if (!arg_at(a, name))
		return false;
	item it;
	if (!decode(r.p, r.end, &it) || it.type != MRUN_EXT || it.ext != 5) {
		arg_wrong(a, name, "a table");
		return false;
	}
	if (!mrun_read_table(&r, t)) {
		mrun_error("%s: argument %u (%s): malformed table: %s", a->fn, a->next + 1, name,
			   table_why);
		memset(t, 0, sizeof *t);
		return false;
	}
	arg_ok(a, &r);
	return true;
}

const mrun_column *mrun_table_column(const mrun_table *t, const char *name)
{
	size_t nl = strlen(name);
	for (uint32_t i = 0; i < t->ncols; i++)
		if (t->cols[i].name.len == nl && memcmp(t->cols[i].name.ptr, name, nl) == 0)
			return &t->cols[i];
	return NULL;
}

mrun_str mrun_column_str(const mrun_column *c, size_t i)
{
	uint32_t lo = c->offsets[i], hi = c->offsets[i + 1];
	return (mrun_str){c->text + lo, hi - lo};
}

static mrun_column col(const char *name, mrun_coltype type, const void *data)
{
	mrun_column c = {.name = {name, strlen(name)}, .type = type};
	c.data = data;
	return c;
}

mrun_column mrun_col_int64(const char *name, const int64_t *v) { return col(name, MRUN_COL_INT64, v); }
mrun_column mrun_col_float64(const char *name, const double *v) { return col(name, MRUN_COL_FLOAT64, v); }
mrun_column mrun_col_bool(const char *name, const bool *v) { return col(name, MRUN_COL_BOOL, v); }
mrun_column mrun_col_timestamp(const char *name, const int64_t *ns)
{
	return col(name, MRUN_COL_TIMESTAMP, ns);
}
mrun_column mrun_col_string(const char *name, const uint32_t *offsets, const char *text)
{
	mrun_column c = col(name, MRUN_COL_STRING, NULL);
	c.offsets = offsets, c.text = text;
	return c;
}

bool mrun_write_table(mrun_writer *w, const mrun_table *t)
{
	if (t->ncols > TABLE_MAX_COLS)
		return table_fail("%u columns, more than %u", t->ncols, TABLE_MAX_COLS);
	if ((uint64_t)t->nrows > 0xffffffffu)
		return table_fail("%zu rows, more than 2^32-1", t->nrows);
	if (t->ncols == 0 && t->nrows != 0)
		return table_fail("%zu rows but no columns", t->nrows);
	uint64_t desc = 0, size = 0;
	for (uint32_t i = 0; i < t->ncols; i++) {
		const mrun_column *c = &t->cols[i];
		if (!check_name(t->cols, i))
			return false;
		size_t width = col_width(c->type);
		if (width == 0 && c->type != MRUN_COL_STRING)
			return table_fail("column \"%.*s\" has unknown type %u",
					  (int)(c->name.len > 60 ? 60 : c->name.len), c->name.ptr, (unsigned)c->type);
		if ((width && t->nrows && !c->data) || (!width && (!c->offsets || (!c->text && c->offsets[t->nrows]))))
			return table_fail("column \"%.*s\" has no values",
					  (int)(c->name.len > 60 ? 60 : c->name.len), c->name.ptr);
		uint64_t text = width ? 0 : c->offsets[t->nrows];
		if (!check_values(c, t->nrows, (size_t)text))
			return false;
		desc += 4 + c->name.len;
		uint64_t n = width ? (uint64_t)t->nrows * width : 4 * ((uint64_t)t->nrows + 1);
		size += n + pad8((size_t)(n & 7));
		if (!width)
			size += text + pad8((size_t)(text & 7));
	}
	size += 16 + desc + pad8((size_t)(desc & 7));
	if (size > 0xffffffffu)
		return table_fail("a table of %llu bytes is too large for one value", (unsigned long long)size);
	uint8_t *p = put_ext(w, 5, (size_t)size);
	if (!p)
		return true; /* out of memory: the writer remembers it */
	memset(p, 0, (size_t)size);
	uint8_t *q = p;
	uint64_t nrows = t->nrows;
	q[0] = (uint8_t)t->ncols, q[1] = (uint8_t)(t->ncols >> 8), q[2] = (uint8_t)(t->ncols >> 16);
	memcpy(q + 8, &nrows, 8); /* little-endian, like WebAssembly */
	q += 16;
	for (uint32_t i = 0; i < t->ncols; i++) {
		const mrun_column *c = &t->cols[i];
		q[0] = (uint8_t)c->type, q[2] = (uint8_t)c->name.len, q[3] = (uint8_t)(c->name.len >> 8);
		memcpy(q + 4, c->name.ptr, c->name.len);
		q += 4 + c->name.len;
	}
	q += pad8((size_t)(desc & 7));
	for (uint32_t i = 0; i < t->ncols; i++) {
		const mrun_column *c = &t->cols[i];
		size_t width = col_width(c->type);
		if (width) {
			size_t n = t->nrows * width;
			if (n)
				memcpy(q, c->data, n);
			q += n + pad8(n);
			continue;
		}
		size_t n = 4 * (t->nrows + 1), text = c->offsets[t->nrows];
		memcpy(q, c->offsets, n);
		q += n + pad8(n);
		if (text)
			memcpy(q, c->text, text);
		q += text + pad8(text);
	}
	return true;
}

mrun_handle mrun_table_eval(mrun_writer *args) { return mrun_spawn("mrun:table", "eval", args, 1); }

int mrun_eval_table(mrun_writer *args, mrun_table *t)
{
	mrun_reader r;
	int rc = eval_fetch("mrun:table", args, &r);
	if (rc != 0)
		return rc;
	if (!mrun_read_table(&r, t)) {
		call.local_err = table_why;
		return MRUN_EINVALID;
	}
	return 0;
}
