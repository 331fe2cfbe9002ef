/*
 * mrun.h: the C guest SDK for mrun.
 *
 * It implements the guest ABI v1 (abi/ABI.md) for modules built with
 *
 *     clang --target=wasm32-wasi -mexec-model=reactor -O2 mrun.c your_code.c
 *
 * mrun.c exports mrun_abi_v1 and mrun_alloc; you write functions and export each one with
 * MRUN_EXPORT:
 *
 *     static void inc(mrun_args *a, mrun_writer *out) {
 *         int64_t x = mrun_arg_int(a, "x");
 *         mrun_write_int(out, x + 1);
 *     }
 *     MRUN_EXPORT(inc)
 *
 * Values are MessagePack. Arguments are read in place from the argument frame, without
 * copies: a string is a pointer and a length into it (mrun_str), a tensor's elements are read
 * where they lie when they are aligned. Results are written into a buffer that is reused from
 * call to call.
 *
 * Errors are sticky: the first error of a call (a wrong argument, a mrun_error, a child's
 * failure passed on with mrun_fail_with) is the one the caller sees, later ones are ignored,
 * and the result is discarded. Argument getters return zero values after an error, so a
 * function may read all its arguments and check mrun_failed() once.
 *
 * Pointers into the argument frame, into fetched values (mrun_fetch) and into scratch memory
 * (mrun_scratch) are valid until the function returns. Nothing here is thread-safe: an
 * instance runs one call at a time.
 */
#ifndef MRUN_H
#define MRUN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Values ----------------------------------------------------------------------------- */

/* mrun_type is the MessagePack family of a value (ABI.md section 5). */
typedef enum mrun_type {
	MRUN_END = 0,  /* no value: the end of the data, or malformed bytes */
	MRUN_NIL,      /* nil */
	MRUN_BOOL,     /* true or false */
	MRUN_INT,      /* an integer, -2^63 to 2^64-1 */
	MRUN_FLOAT,    /* a float32 or float64 */
	MRUN_STR,      /* UTF-8 text */
	MRUN_BIN,      /* bytes */
	MRUN_ARRAY,    /* a list */
	MRUN_MAP,      /* a map */
	MRUN_EXT,      /* an extension value: a handle, a tensor, a timestamp, ... */
} mrun_type;

/* mrun_str is a string that is not NUL-terminated; print it with "%.*s", (int)s.len, s.ptr. */
typedef struct mrun_str {
	const char *ptr; /* the bytes */
	size_t len;      /* their number */
} mrun_str;

/* mrun_bytes is a byte string. */
typedef struct mrun_bytes {
	const uint8_t *ptr; /* the bytes */
	size_t len;         /* their number */
} mrun_bytes;

/* mrun_handle names an Object in the running call: a handle (>= 1) or, where a function
 * returns one, a negative MRUN_E* code. */
typedef int32_t mrun_handle;

/* The return codes of the nested-spawn imports (ABI.md section 2.2). */
enum {
	MRUN_EINVALID = -1,     /* bad handle, unknown function, malformed frame, bad n_output */
	MRUN_EFAILED = -2,      /* fetch: the Object's task failed */
	MRUN_ENOTEXECUTED = -3, /* fetch: the Object has no value yet */
	MRUN_ELIMIT = -4,       /* the nesting depth or the task budget would be exceeded */
	MRUN_ECANCELLED = -5,   /* the execution is being cancelled: return at once */
	MRUN_EUNSUPPORTED = -6, /* the call was not started by an engine */
	MRUN_ENOMEM = -100,     /* the guest ran out of memory (the SDK's own code) */
};

/* MRUN_MAX_DIMS is the largest number of dimensions of a tensor. */
#define MRUN_MAX_DIMS 32

/* mrun_dtype is the element type of a tensor (ABI.md section 5.3). */
typedef enum mrun_dtype {
	MRUN_INT8 = 1,
	MRUN_INT16 = 2,
	MRUN_INT32 = 3,
	MRUN_INT64 = 4,
	MRUN_UINT8 = 5,
	MRUN_UINT16 = 6,
	MRUN_UINT32 = 7,
	MRUN_UINT64 = 8,
	MRUN_FLOAT32 = 9,
	MRUN_FLOAT64 = 10,
	MRUN_BOOL8 = 11, /* bool, one byte, 0 or 1 */
} mrun_dtype;

/* mrun_tensor is an n-dimensional array read from a value of ext type 4. Its elements are in
 * row-major order and aligned for their type: read in place from the frame when they are
 * aligned there, copied once into scratch memory otherwise. Read them through the member of
 * the union that matches dtype: t.f64[i] for MRUN_FLOAT64. */
typedef struct mrun_tensor {
	mrun_dtype dtype;              /* the element type */
	uint32_t ndim;                 /* the number of dimensions, 0 (a scalar) to 32 */
	uint64_t shape[MRUN_MAX_DIMS]; /* the sizes, outermost first; shape[ndim..] are 0 */
	size_t size;                   /* the number of elements: the product of the shape */
	union {
		const void *data;
		const double *f64;
		const float *f32;
		const int64_t *i64;
		const int32_t *i32;
		const int16_t *i16;
		const int8_t *i8;
		const uint64_t *u64;
		const uint32_t *u32;
		const uint16_t *u16;
		const uint8_t *u8; /* also MRUN_BOOL8 */
	};
} mrun_tensor;

/* mrun_dtype_size is the size in bytes of one element of dtype, or 0 for an unknown dtype. */
size_t mrun_dtype_size(mrun_dtype dtype);

/* mrun_dtype_name is the name of dtype ("float64"), or "unknown". */
const char *mrun_dtype_name(mrun_dtype dtype);

/* ---- Reading ---------------------------------------------------------------------------- */

/* mrun_reader is a cursor over MessagePack values in memory. Every mrun_read_* function
 * checks the type and the bounds of the value at the cursor: on success it stores the value
 * and moves past it, otherwise it returns false and leaves the cursor where it was. None
 * traps on malformed bytes. Copying a reader is cheap and gives an independent cursor. */
typedef struct mrun_reader {
	const uint8_t *p;   /* the next byte */
	const uint8_t *end; /* one past the last byte */
} mrun_reader;

/* mrun_reader_init returns a reader over the len bytes at data. */
mrun_reader mrun_reader_init(const void *data, size_t len);

/* mrun_peek returns the type of the value at the cursor, or MRUN_END if there is none or its
 * bytes are malformed or truncated. */
mrun_type mrun_peek(const mrun_reader *r);

/* mrun_type_name names the type at the cursor for messages: "an int", "a str", "a tensor",
 * "an integer above 2^63-1", "nothing" ... */
const char *mrun_type_name(const mrun_reader *r);

/* mrun_at_end reports whether the reader has no bytes left. */
bool mrun_at_end(const mrun_reader *r);

/* mrun_read_nil reads a nil. */
bool mrun_read_nil(mrun_reader *r);
/* mrun_read_bool reads a bool. */
bool mrun_read_bool(mrun_reader *r, bool *v);
/* mrun_read_int reads an integer from -2^63 to 2^63-1. */
bool mrun_read_int(mrun_reader *r, int64_t *v);
/* mrun_read_uint reads an integer from 0 to 2^64-1. */
bool mrun_read_uint(mrun_reader *r, uint64_t *v);
/* mrun_read_double reads a float64 or a float32, or an integer, converted. */
bool mrun_read_double(mrun_reader *r, double *v);
/* mrun_read_str reads a str: v points into the reader's memory. */
bool mrun_read_str(mrun_reader *r, mrun_str *v);
/* mrun_read_bin reads a bin: v points into the reader's memory. */
bool mrun_read_bin(mrun_reader *r, mrun_bytes *v);
/* mrun_read_array reads the header of an array; its n elements follow. */
bool mrun_read_array(mrun_reader *r, uint32_t *n);
/* mrun_read_map reads the header of a map; its n keys and values follow, alternating. */
bool mrun_read_map(mrun_reader *r, uint32_t *n);
/* mrun_read_ext reads an extension value of any type, without interpreting its payload. */
bool mrun_read_ext(mrun_reader *r, int8_t *type, mrun_bytes *payload);
/* mrun_read_handle reads a handle (ext type 2): an Object passed by reference. */
bool mrun_read_handle(mrun_reader *r, mrun_handle *h);
/* mrun_read_tensor reads a tensor (ext type 4), checking it as section 5.3 of ABI.md
 * requires. Misaligned elements are copied once into scratch memory (valid until the
 * function returns), so it can fail for lack of memory. */
bool mrun_read_tensor(mrun_reader *r, mrun_tensor *t);
/* mrun_skip moves past one value, however deeply nested, without recursion. */
bool mrun_skip(mrun_reader *r);
/* mrun_read_value moves past one value and sets v to a reader over exactly its bytes. */
bool mrun_read_value(mrun_reader *r, mrun_reader *v);

/* ---- Writing ---------------------------------------------------------------------------- */

/* mrun_writer builds MessagePack in a growable buffer. The zero value is an empty writer.
 * Integers are written in their shortest form. When memory runs out the writer stops
 * growing, remembers it (oom), and ignores the rest; the result of a call whose writer ran
 * out of memory is an error. */
typedef struct mrun_writer {
	uint8_t *buf; /* the bytes written */
	size_t len;   /* their number */
	size_t cap;   /* the size of buf */
	bool oom;     /* a write did not fit in memory */
	int frame;    /* used by mrun_spawn_args */
} mrun_writer;

/* mrun_writer_reset empties w and keeps its buffer. */
void mrun_writer_reset(mrun_writer *w);
/* mrun_writer_free releases w's buffer and empties it. */
void mrun_writer_free(mrun_writer *w);

/* mrun_write_nil writes nil. */
void mrun_write_nil(mrun_writer *w);
/* mrun_write_bool writes a bool. */
void mrun_write_bool(mrun_writer *w, bool v);
/* mrun_write_int writes a signed integer. */
void mrun_write_int(mrun_writer *w, int64_t v);
/* mrun_write_uint writes an unsigned integer. */
void mrun_write_uint(mrun_writer *w, uint64_t v);
/* mrun_write_double writes a float64. */
void mrun_write_double(mrun_writer *w, double v);
/* mrun_write_float writes a float32. */
void mrun_write_float(mrun_writer *w, float v);
/* mrun_write_str writes the NUL-terminated string s as a str. */
void mrun_write_str(mrun_writer *w, const char *s);
/* mrun_write_strn writes the len bytes at s as a str. */
void mrun_write_strn(mrun_writer *w, const char *s, size_t len);
/* mrun_write_strf writes a str formatted like printf. */
void mrun_write_strf(mrun_writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* mrun_write_str_reserve writes the header of a str of len bytes and returns where its bytes
 * go, for the caller to fill in place; NULL when out of memory. */
char *mrun_write_str_reserve(mrun_writer *w, size_t len);
/* mrun_write_bin writes the len bytes at b as a bin. */
void mrun_write_bin(mrun_writer *w, const void *b, size_t len);
/* mrun_write_bin_reserve is mrun_write_str_reserve for a bin. */
uint8_t *mrun_write_bin_reserve(mrun_writer *w, size_t len);
/* mrun_write_array writes the header of an array of n elements: write them next. */
void mrun_write_array(mrun_writer *w, uint32_t n);
/* mrun_write_map writes the header of a map of n entries: write n keys and values next. */
void mrun_write_map(mrun_writer *w, uint32_t n);
/* mrun_write_ext writes an extension value of the given type and payload. */
void mrun_write_ext(mrun_writer *w, int8_t type, const void *payload, size_t len);
/* mrun_write_handle writes handle h (ext type 2): in spawn arguments, a dependency whose value
 * the child receives. */
void mrun_write_handle(mrun_writer *w, mrun_handle h);
/* mrun_write_byref writes handle h by reference (ext type 3): in spawn arguments, a dependency
 * that the child receives as a handle of its own. */
void mrun_write_byref(mrun_writer *w, mrun_handle h);
/* mrun_write_tensor writes a tensor of dtype with ndim dimensions of the given shape, copying
 * its elements from data (row-major, one memcpy). It returns false, writing nothing, when
 * dtype or ndim is invalid or the tensor is too large. */
bool mrun_write_tensor(mrun_writer *w, mrun_dtype dtype, uint32_t ndim, const uint64_t *shape,
		       const void *data);
/* mrun_write_raw appends len bytes that already are one MessagePack value. */
void mrun_write_raw(mrun_writer *w, const void *bytes, size_t len);
/* mrun_write_value reads one value from r and writes it again: every scalar is decoded into
 * its C type and encoded anew (integers in their shortest form, floats keeping their width),
 * containers are walked without recursion, extension values are copied. It returns false,
 * leaving r where it was, if r holds no well-formed value. */
bool mrun_write_value(mrun_writer *w, mrun_reader *r);

/* ---- Functions -------------------------------------------------------------------------- */

/* mrun_args is the argument frame of a call: positional arguments, read in order, and
 * keyword arguments, looked up by name. */
typedef struct mrun_args {
	const char *fn;    /* the function's name, for messages */
	mrun_reader pos;   /* the positional arguments not read yet */
	uint32_t npos;     /* the number of positional arguments */
	uint32_t next;     /* the index of the next positional argument */
	mrun_reader kw;    /* the entries of the keyword map */
	uint32_t nkw;      /* the number of keyword arguments */
	uint64_t kw_used;  /* which of the first 64 keyword arguments were looked up */
} mrun_args;

/* mrun_fn is the C type of a function exported with MRUN_EXPORT. It reads its arguments from
 * a and writes its result, one value, to out. Writing nothing returns nil. */
typedef void mrun_fn(mrun_args *a, mrun_writer *out);

/* MRUN_WASM_EXPORT(name) gives a function the wasm export name name. Elsewhere (the SDK's
 * native tests) it is empty. */
#ifdef __wasm__
#define MRUN_WASM_EXPORT(name) __attribute__((export_name(name)))
#else
#define MRUN_WASM_EXPORT(name)
#endif

/* MRUN_EXPORT(f) exports the mrun_fn f as the mrun function "f" (the export mrun_fn_f). */
#define MRUN_EXPORT(f) MRUN_EXPORT_AS(f, f)

/* MRUN_EXPORT_AS(f, name) exports the mrun_fn f under the name name (an identifier). */
#define MRUN_EXPORT_AS(f, name)                                                                \
	MRUN_WASM_EXPORT("mrun_fn_" #name) uint64_t mrun_fn_##name(uint32_t p, uint32_t n);    \
	uint64_t mrun_fn_##name(uint32_t p, uint32_t n) { return mrun_call(#name, f, p, n); }

/* mrun_call runs f on the argument frame at [p, p+n) and returns the packed result frame. It
 * is the body of every export made by MRUN_EXPORT. A call fails, with a message naming the
 * function, when f leaves positional arguments unread or keyword arguments unlooked-up. */
uint64_t mrun_call(const char *name, mrun_fn *f, uint32_t p, uint32_t n);

/* The positional argument getters read the next positional argument; name is the
 * parameter's name, used in messages. A missing argument or one of the wrong type fails the
 * call ("inc: argument 1 (x): expected an int, got a str") and returns a zero value; after
 * an error they return zero values without reading. */

/* mrun_arg_int reads an int64. */
int64_t mrun_arg_int(mrun_args *a, const char *name);
/* mrun_arg_uint reads a uint64. */
uint64_t mrun_arg_uint(mrun_args *a, const char *name);
/* mrun_arg_double reads a float, or an int converted to a double. */
double mrun_arg_double(mrun_args *a, const char *name);
/* mrun_arg_bool reads a bool. */
bool mrun_arg_bool(mrun_args *a, const char *name);
/* mrun_arg_str reads a str. */
mrun_str mrun_arg_str(mrun_args *a, const char *name);
/* mrun_arg_bin reads a bin. */
mrun_bytes mrun_arg_bin(mrun_args *a, const char *name);
/* mrun_arg_array reads a list: it returns the number of elements and sets items to a reader
 * over them. */
uint32_t mrun_arg_array(mrun_args *a, const char *name, mrun_reader *items);
/* mrun_arg_map reads a map: it returns the number of entries and sets entries to a reader
 * over them (key, value, key, value, ...). */
uint32_t mrun_arg_map(mrun_args *a, const char *name, mrun_reader *entries);
/* mrun_arg_tensor reads a tensor into t; dtype 0 accepts any dtype, any other value only
 * that one. It returns false on error. */
bool mrun_arg_tensor(mrun_args *a, const char *name, mrun_dtype dtype, mrun_tensor *t);
/* mrun_arg_handle reads a handle: an Object passed by reference. */
mrun_handle mrun_arg_handle(mrun_args *a, const char *name);
/* mrun_arg_value reads a value of any type: v is a reader over exactly its bytes. */
bool mrun_arg_value(mrun_args *a, const char *name, mrun_reader *v);
/* mrun_args_left is the number of positional arguments not read yet: a function with
 * optional arguments reads them while it is not 0. */
uint32_t mrun_args_left(const mrun_args *a);

/* The keyword getters look up a keyword argument by name and return it, or def when the
 * caller did not pass it. One of the wrong type fails the call
 * ("greet: keyword argument punct: expected a str, got an int"). */

/* mrun_kwarg_int looks up an int64. */
int64_t mrun_kwarg_int(mrun_args *a, const char *name, int64_t def);
/* mrun_kwarg_double looks up a float (or an int, converted). */
double mrun_kwarg_double(mrun_args *a, const char *name, double def);
/* mrun_kwarg_bool looks up a bool. */
bool mrun_kwarg_bool(mrun_args *a, const char *name, bool def);
/* mrun_kwarg_str looks up a str; def is a NUL-terminated default. */
mrun_str mrun_kwarg_str(mrun_args *a, const char *name, const char *def);
/* mrun_kwarg looks up a keyword argument of any type: it returns whether the caller passed
 * it and, if so, sets v to a reader over its value. */
bool mrun_kwarg(mrun_args *a, const char *name, mrun_reader *v);
/* mrun_kwargs_all returns the number of keyword arguments and sets entries to a reader over
 * the map's entries, for functions that take any keywords; they all count as used. */
uint32_t mrun_kwargs_all(mrun_args *a, mrun_reader *entries);

/* ---- Errors ----------------------------------------------------------------------------- */

/* mrun_error fails the running call with a message formatted like printf: the caller sees
 * it verbatim. Only the first error of a call counts. */
void mrun_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* mrun_verror is mrun_error with a va_list. */
void mrun_verror(const char *fmt, va_list ap);
/* mrun_error_str fails the running call with the len bytes at msg, verbatim. */
void mrun_error_str(const char *msg, size_t len);
/* mrun_fail_with fails the running call because the child Object h failed: the message is
 * formatted like printf, and the host records the child's error as the cause. */
void mrun_fail_with(mrun_handle h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* mrun_failed reports whether the running call has failed. */
bool mrun_failed(void);

/* ---- Nested spawn ----------------------------------------------------------------------- */

/* mrun_spawn_args starts the argument frame of a spawn with npos positional arguments, in the
 * SDK's spawn writer, and returns that writer: write the npos arguments to it, then, if the
 * child takes keyword arguments, call mrun_spawn_kwargs and write them. Handles written with
 * mrun_write_handle are dependencies. */
mrun_writer *mrun_spawn_args(uint32_t npos);
/* mrun_spawn_kwargs starts the keyword map of a frame begun by mrun_spawn_args, after its
 * positional arguments: write nkw names (str) and values next. */
void mrun_spawn_kwargs(mrun_writer *w, uint32_t nkw);

/* MRUN_IMPURE, OR-ed into mrun_spawn's n_output, marks the call impure: its value may differ
 * between calls with the same arguments (it reads the clock or draws random numbers). Tasks
 * are named by function and arguments, so three pure spawns of rand_matrix(10, 10) are one
 * task with one value; three impure spawns are three tasks with three values, none of them
 * served from or kept in a cache (ABI.md section 2.2). */
#define MRUN_IMPURE (1u << 30)

/* mrun_spawn creates a lazy child task that calls fn in module (NULL or "" for the caller's
 * own module) with the frame in args (from mrun_spawn_args). n_output is 1 for one output, or
 * k >= 2 to split the result into k Objects, OR-ed with MRUN_IMPURE for an impure call: the
 * handle returned is output 0's, and outputs 1 ... k-1 get the next k-1 handles. It returns a
 * negative MRUN_E* code on error, with the host's message in mrun_last_error(). */
mrun_handle mrun_spawn(const char *module, const char *fn, mrun_writer *args, uint32_t n_output);
/* mrun_execute runs the n Objects at handles, and everything they depend on, and waits for
 * them: 0 if all have values, 1 if one failed, or a negative MRUN_E* code. */
int mrun_execute(const mrun_handle *handles, size_t n);
/* mrun_fetch reads the value of Object h into scratch memory (valid until the function
 * returns) and sets value to a reader over it. It returns 0, or a negative MRUN_E* code:
 * MRUN_EFAILED when the Object's task failed, with its error in mrun_last_error(). */
int mrun_fetch(mrun_handle h, mrun_reader *value);
/* mrun_last_error returns the host's message for the last failed spawn, execute or fetch of
 * the running call, NUL-terminated, in scratch memory; "" if none failed. */
const char *mrun_last_error(void);

/* ---- Tensor expressions (module mrun:tensor, docs/tensors.md) ---------------------------- */

/* An expression of the native module mrun:tensor is a map: "op" and the operator's fields, an
 * operand (field "x", "y", ...) being another expression or a number. These helpers write one
 * into a writer, typically the spawn writer of mrun_spawn_args(1), outermost operator first:
 *
 *     mrun_writer *args = mrun_spawn_args(1);
 *     mrun_expr_reduce(args, "sum");             // {"op": "sum", "axis": nil, "x": ...
 *     mrun_expr_rand(args, seed, 2, shape);      //   {"op": "rand", "seed": seed, "shape": [10, 10]}}
 *     double sum;
 *     if (mrun_eval_double(args, &sum) != 0) ... // message in mrun_last_error()
 */

/* mrun_expr_op starts expression op with nfields fields besides "op": write nfields key (str)
 * and value pairs next. */
void mrun_expr_op(mrun_writer *w, const char *op, uint32_t nfields);
/* mrun_expr_rand writes rand(seed, shape): float64 numbers uniform in [0, 1). */
void mrun_expr_rand(mrun_writer *w, int64_t seed, uint32_t ndim, const uint64_t *shape);
/* mrun_expr_reduce starts reduction op ("sum", "mean", "std", "min", ...) over every axis: write
 * its operand, an expression, next. */
void mrun_expr_reduce(mrun_writer *w, const char *op);
/* mrun_expr_binary starts binary operator op ("add", "mul", ...) with field "x": write x next,
 * then mrun_write_str(w, "y") and y. */
void mrun_expr_binary(mrun_writer *w, const char *op);
/* mrun_eval spawns eval of mrun:tensor with the frame in args (one positional argument, the
 * expression) and returns its handle, or a negative MRUN_E* code. */
mrun_handle mrun_eval(mrun_writer *args);
/* mrun_eval_double evaluates an expression whose value is a number (a full reduction): it
 * spawns eval, executes it, fetches the value and stores it in v. It returns 0, or a negative
 * MRUN_E* code with the message in mrun_last_error() (MRUN_EINVALID when the value is not a
 * number). */
int mrun_eval_double(mrun_writer *args, double *v);

/* ---- Memory ----------------------------------------------------------------------------- */

/* mrun_scratch returns size bytes aligned to 16 that stay valid until the running function
 * returns, or NULL when memory runs out (it also fails the call then). They are freed all at
 * once, so a function need not free them. */
void *mrun_scratch(size_t size);

#ifdef __cplusplus
}
#endif

#endif /* MRUN_H */
