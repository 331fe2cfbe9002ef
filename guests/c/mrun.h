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

/* mrun_type_name names the type at the cursor for messages: "an int", "a str", "a table",
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
	uint32_t extra; /* used by mrun_expr_extra */
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

/* MRUN_SIG(f, line) describes the function f in the module's "mrun.signatures" custom section
 * (abi/ABI.md section 10): line is a string literal, one signature in the notation
 * `mrun inspect` prints, without its newline; the macro adds it. f must name a function
 * declared before (a typo fails the build); the line names the mrun function:
 *
 *     MRUN_SIG(inc, "inc(x: int) -> int  -- Returns x + 1.")
 *
 * The line goes to the section through top-level assembly: wasm-ld makes a custom section of
 * an input section named ".custom_section.<name>", concatenating the lines of every object.
 * (clang 14 places a variable with that section attribute in a data segment instead.) The
 * literal is written into the assembly as it stands in the source, its escapes included, so
 * quotes in it are written \" as in any C string. The host checks the section when it loads
 * the module: a line that breaks the grammar, or that describes a function the module does
 * not export, refuses the module with a message naming the line. Elsewhere (the SDK's native
 * tests) only the check that f exists remains. */
#ifdef __wasm__
#define MRUN_SIG(f, line)                                                                      \
	_Static_assert(sizeof(&f) > 0, "MRUN_SIG: " #f " is not a function");                  \
	__asm__(".section .custom_section.mrun.signatures,\"\",@\n"                            \
		".ascii " #line "\n"                                                           \
		".ascii \"\\n\"\n"                                                             \
		".text\n")
#else
#define MRUN_SIG(f, line) _Static_assert(sizeof(&f) > 0, "MRUN_SIG: " #f " is not a function")
#endif

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
 * operand (field "x", "y", ...) being another expression, a tensor value or a number. These
 * helpers write one into a writer, typically the spawn writer of mrun_spawn_args(1), outermost
 * operator first. A helper that takes operands writes their key last, so the operand written
 * next is its value:
 *
 *     mrun_writer *args = mrun_spawn_args(1);
 *     mrun_expr_sum(args, 0, NULL);              // {"op": "sum", "axis": nil, "x": ...
 *     mrun_expr_rand(args, seed, 2, shape);      //   {"op": "rand", "seed": seed, "shape": [10, 10]}}
 *     double sum;
 *     if (mrun_eval_double(args, &sum) != 0) ... // message in mrun_last_error()
 *
 * The names follow the Go guest SDK's package mt (mt.Rand(seed, 10, 10).Sum(nil)). Optional
 * fields ("chunks", "dtype", "keepdims") are added with mrun_expr_extra before the operator and
 * written after its operands. An operand that is a number or a bool is written with
 * mrun_write_int, mrun_write_double or mrun_write_bool, a tensor value with mrun_expr_tensor. */

/* MRUN_NONE stands for an omitted start, stop or step in mrun_expr_slice (Python's None). */
#define MRUN_NONE INT64_MIN

/* mrun_expr_op starts expression op with nfields fields besides "op" (plus the extra ones of
 * mrun_expr_extra): write nfields key (str) and value pairs next. Every operator the planner
 * knows is reachable with it; the helpers below are shorthands. */
void mrun_expr_op(mrun_writer *w, const char *op, uint32_t nfields);
/* mrun_expr_extra gives the next operator that a helper starts n more fields: write them
 * (mrun_expr_chunks, mrun_expr_dtype, mrun_expr_keepdims, or a key and a value) after its own
 * fields and operands, before anything that follows it. */
void mrun_expr_extra(mrun_writer *w, uint32_t n);
/* mrun_expr_chunks writes field "chunks": one chunk size per axis, -1 for a whole axis. On a
 * creation or a tensor value it says how the tensor is made; elsewhere it rechunks. */
void mrun_expr_chunks(mrun_writer *w, uint32_t ndim, const int64_t *chunks);
/* mrun_expr_dtype writes field "dtype" (rand: float64 or float32; zeros, ones, full, arange,
 * linspace: any). */
void mrun_expr_dtype(mrun_writer *w, mrun_dtype dtype);
/* mrun_expr_keepdims writes field "keepdims": true, for a reduction that keeps its reduced
 * axes with size 1 (mt's KeepDims). */
void mrun_expr_keepdims(mrun_writer *w);

/* Creation. */

/* mrun_expr_rand writes rand(seed, shape): float64 numbers uniform in [0, 1), element i
 * (row-major) a function of seed and i only. */
void mrun_expr_rand(mrun_writer *w, int64_t seed, uint32_t ndim, const uint64_t *shape);
/* mrun_expr_zeros writes a float64 tensor of zeros of the given shape. */
void mrun_expr_zeros(mrun_writer *w, uint32_t ndim, const uint64_t *shape);
/* mrun_expr_ones writes a float64 tensor of ones of the given shape. */
void mrun_expr_ones(mrun_writer *w, uint32_t ndim, const uint64_t *shape);
/* mrun_expr_full starts a tensor of the given shape and dtype (0: from the value: int64 for an
 * integer, bool for a bool, else float64) filled with one value: write the value next
 * (mrun_write_int, mrun_write_double or mrun_write_bool). */
void mrun_expr_full(mrun_writer *w, mrun_dtype dtype, uint32_t ndim, const uint64_t *shape);
/* mrun_expr_arange writes the int64 tensor start, start + step, ... up to stop (excluded), as
 * numpy.arange. */
void mrun_expr_arange(mrun_writer *w, int64_t start, int64_t stop, int64_t step);
/* mrun_expr_linspace writes num float64 numbers evenly spaced from start to stop (included),
 * as numpy.linspace. */
void mrun_expr_linspace(mrun_writer *w, double start, double stop, int64_t num);
/* mrun_expr_tensor writes the expression whose value is the given tensor (mt's FromTensor):
 * the planner cuts it into chunks. It returns false, writing nothing, when mrun_write_tensor
 * would. */
bool mrun_expr_tensor(mrun_writer *w, mrun_dtype dtype, uint32_t ndim, const uint64_t *shape,
		      const void *data);
/* mrun_expr_from_tensor writes the expression whose value is t, a tensor read from an
 * argument or a fetched value. */
bool mrun_expr_from_tensor(mrun_writer *w, const mrun_tensor *t);

/* Elementwise. */

/* mrun_expr_binary starts binary operator op ("add", "sub", "mul", "div", "pow", "eq", "ne",
 * "lt", "le", "gt", "ge") with field "x": write x next, then mrun_write_str(w, "y") and y. The
 * operands broadcast as in NumPy. */
void mrun_expr_binary(mrun_writer *w, const char *op);
/* mrun_expr_unary starts unary operator op ("neg", "abs", "sqrt", "exp", "log"): write its
 * operand x next. */
void mrun_expr_unary(mrun_writer *w, const char *op);
/* mrun_expr_where starts where(cond, x, y), x where cond is true and y elsewhere: write cond
 * next, then mrun_write_str(w, "x"), x, mrun_write_str(w, "y") and y. */
void mrun_expr_where(mrun_writer *w);
/* mrun_expr_astype starts x converted to dtype, as NumPy's astype: write x next. */
void mrun_expr_astype(mrun_writer *w, mrun_dtype dtype);

/* Reductions. */

/* mrun_expr_reduce starts reduction op ("sum", "mean", "var", "std", "min", "max", "argmin",
 * "argmax") over every axis: write its operand, an expression, next. */
void mrun_expr_reduce(mrun_writer *w, const char *op);
/* mrun_expr_reduce_axes starts reduction op over the naxes axes given (negative ones count from
 * the end; naxes 0: every axis) with ddof (used by "var" and "std" only, else pass 0): write
 * its operand next. argmin and argmax take one axis or none. */
void mrun_expr_reduce_axes(mrun_writer *w, const char *op, uint32_t naxes, const int64_t *axes,
			   int64_t ddof);

/* Matrices and layout. */

/* mrun_expr_matmul starts the matrix product of two-dimensional x and y: write x next, then
 * mrun_write_str(w, "y") and y. */
void mrun_expr_matmul(mrun_writer *w);
/* mrun_expr_transpose starts x with its axes permuted (axis k of the result is axis axes[k]
 * of x), or reversed when naxes is 0 (mt's T): write x next. */
void mrun_expr_transpose(mrun_writer *w, uint32_t naxes, const int64_t *axes);
/* mrun_expr_slice starts x[start:stop:step, ...] with one {start, stop, step} per leading
 * axis, MRUN_NONE for an omitted entry; negative indices count from the end: write x next. */
void mrun_expr_slice(mrun_writer *w, uint32_t nindex, const int64_t (*index)[3]);
/* mrun_expr_reshape starts x with a new shape of the same size (one entry may be -1): write x
 * next. It works chunk by chunk, so x must be split along axis 0 only, in whole rows. */
void mrun_expr_reshape(mrun_writer *w, uint32_t ndim, const int64_t *shape);
/* mrun_expr_rechunk starts x split into chunks of the given sizes (one per axis, -1 for a
 * whole axis): write x next. */
void mrun_expr_rechunk(mrun_writer *w, uint32_t ndim, const int64_t *chunks);
/* mrun_expr_concatenate starts the n operands joined along axis: write the n expressions
 * next. */
void mrun_expr_concatenate(mrun_writer *w, int64_t axis, uint32_t n);

/* Shorthands under mt's names: each starts its operator; write the operands next. */
static inline void mrun_expr_add(mrun_writer *w) { mrun_expr_binary(w, "add"); }
static inline void mrun_expr_sub(mrun_writer *w) { mrun_expr_binary(w, "sub"); }
static inline void mrun_expr_mul(mrun_writer *w) { mrun_expr_binary(w, "mul"); }
static inline void mrun_expr_div(mrun_writer *w) { mrun_expr_binary(w, "div"); }
static inline void mrun_expr_pow(mrun_writer *w) { mrun_expr_binary(w, "pow"); }
static inline void mrun_expr_eq(mrun_writer *w) { mrun_expr_binary(w, "eq"); }
static inline void mrun_expr_ne(mrun_writer *w) { mrun_expr_binary(w, "ne"); }
static inline void mrun_expr_lt(mrun_writer *w) { mrun_expr_binary(w, "lt"); }
static inline void mrun_expr_le(mrun_writer *w) { mrun_expr_binary(w, "le"); }
static inline void mrun_expr_gt(mrun_writer *w) { mrun_expr_binary(w, "gt"); }
static inline void mrun_expr_ge(mrun_writer *w) { mrun_expr_binary(w, "ge"); }
static inline void mrun_expr_neg(mrun_writer *w) { mrun_expr_unary(w, "neg"); }
static inline void mrun_expr_abs(mrun_writer *w) { mrun_expr_unary(w, "abs"); }
static inline void mrun_expr_sqrt(mrun_writer *w) { mrun_expr_unary(w, "sqrt"); }
static inline void mrun_expr_exp(mrun_writer *w) { mrun_expr_unary(w, "exp"); }
static inline void mrun_expr_log(mrun_writer *w) { mrun_expr_unary(w, "log"); }
static inline void mrun_expr_sum(mrun_writer *w, uint32_t naxes, const int64_t *axes)
{
	mrun_expr_reduce_axes(w, "sum", naxes, axes, 0);
}
static inline void mrun_expr_mean(mrun_writer *w, uint32_t naxes, const int64_t *axes)
{
	mrun_expr_reduce_axes(w, "mean", naxes, axes, 0);
}
static inline void mrun_expr_var(mrun_writer *w, uint32_t naxes, const int64_t *axes, int64_t ddof)
{
	mrun_expr_reduce_axes(w, "var", naxes, axes, ddof);
}
static inline void mrun_expr_std(mrun_writer *w, uint32_t naxes, const int64_t *axes, int64_t ddof)
{
	mrun_expr_reduce_axes(w, "std", naxes, axes, ddof);
}
static inline void mrun_expr_min(mrun_writer *w, uint32_t naxes, const int64_t *axes)
{
	mrun_expr_reduce_axes(w, "min", naxes, axes, 0);
}
static inline void mrun_expr_max(mrun_writer *w, uint32_t naxes, const int64_t *axes)
{
	mrun_expr_reduce_axes(w, "max", naxes, axes, 0);
}
static inline void mrun_expr_argmin(mrun_writer *w, uint32_t naxes, const int64_t *axes)
{
	mrun_expr_reduce_axes(w, "argmin", naxes, axes, 0);
}
static inline void mrun_expr_argmax(mrun_writer *w, uint32_t naxes, const int64_t *axes)
{
	mrun_expr_reduce_axes(w, "argmax", naxes, axes, 0);
}

/* Evaluation. */

/* mrun_eval spawns eval of mrun:tensor with the frame in args (one positional argument, the
 * expression) and returns its handle, or a negative MRUN_E* code: execute it, with other
 * handles if you like, then fetch it. */
mrun_handle mrun_eval(mrun_writer *args);
/* mrun_eval_double evaluates an expression whose value is a number (a full reduction): it
 * spawns eval, executes it, fetches the value and stores it in v. It returns 0, or a negative
 * MRUN_E* code with the message in mrun_last_error() (MRUN_EINVALID when the value is not a
 * number). */
int mrun_eval_double(mrun_writer *args, double *v);
/* mrun_eval_tensor evaluates an expression whose value is a tensor and reads it into t (in
 * scratch memory, valid until the function returns), as mrun_eval_double does. */
int mrun_eval_tensor(mrun_writer *args, mrun_tensor *t);

/* ---- Tables (ext type 5, ABI.md section 5.4) -------------------------------------------- */

/* mrun_coltype is the type of a table column; its value is the code of ABI.md section 5.4. */
typedef enum mrun_coltype {
	MRUN_COL_INT64 = 4,      /* int64_t */
	MRUN_COL_FLOAT64 = 10,   /* double */
	MRUN_COL_BOOL = 11,      /* bool, one byte, 0 or 1 */
	MRUN_COL_STRING = 32,    /* UTF-8 text: offsets into one buffer */
	MRUN_COL_TIMESTAMP = 33, /* int64_t nanoseconds since 1970-01-01T00:00:00 UTC */
} mrun_coltype;

/* mrun_column is one named, typed column of a table. Read its values through the member of
 * the union that matches type: c.f64[i] for MRUN_COL_FLOAT64, c.i64[i] for MRUN_COL_INT64 and
 * MRUN_COL_TIMESTAMP (nanoseconds), c.b[i] for MRUN_COL_BOOL; value i of a string column is
 * the bytes of text from offsets[i] to offsets[i + 1] (mrun_column_str). The values of a
 * column read with mrun_read_table are read in place, aligned, and valid until the function
 * returns. */
typedef struct mrun_column {
	mrun_str name;     /* the name: 1 to 65535 bytes of UTF-8, distinct within the table */
	mrun_coltype type; /* the type */
	union {
		const void *data;
		const int64_t *i64; /* MRUN_COL_INT64, MRUN_COL_TIMESTAMP */
		const double *f64;  /* MRUN_COL_FLOAT64 */
		const bool *b;      /* MRUN_COL_BOOL */
	};
	const uint32_t *offsets; /* MRUN_COL_STRING: nrows + 1 offsets into text, from 0 */
	const char *text;        /* MRUN_COL_STRING: every value, offsets[nrows] bytes */
} mrun_column;

/* mrun_table is a set of named, typed columns of one length: the value of ext type 5. Read one
 * with mrun_arg_table or mrun_read_table; write one with mrun_write_table, from columns made
 * with mrun_col_int64 ... mrun_col_string or read from another table. */
typedef struct mrun_table {
	uint32_t ncols;           /* the number of columns, 0 to 65536 */
	size_t nrows;             /* the number of rows, below 2^32 (0 when ncols is 0) */
	const mrun_column *cols;  /* the columns, in order */
} mrun_table;

/* mrun_coltype_name is the name of a column type ("float64"), or "unknown". */
const char *mrun_coltype_name(mrun_coltype type);

/* mrun_read_table reads a table (ext type 5), checking it as section 5.4 of ABI.md requires.
 * The columns' values are read in place when the payload is 8-byte aligned, and the payload
 * is copied once into scratch memory otherwise; the column array is in scratch memory. On
 * failure mrun_table_error() says why. */
bool mrun_read_table(mrun_reader *r, mrun_table *t);
/* mrun_table_error is why the last mrun_read_table or mrun_write_table failed, in a static
 * buffer: "column \"b\": offset 2 is 9, past the text's 3 bytes". */
const char *mrun_table_error(void);
/* mrun_arg_table reads a table argument into t. A value of another type or a malformed table
 * fails the call ("f: argument 1 (t): malformed table: column 0 has unknown type 7"). It
 * returns false on error. */
bool mrun_arg_table(mrun_args *a, const char *name, mrun_table *t);
/* mrun_table_column returns the column named name (NUL-terminated), or NULL. */
const mrun_column *mrun_table_column(const mrun_table *t, const char *name);
/* mrun_column_str returns value i of a string column, which must be below the row count. */
mrun_str mrun_column_str(const mrun_column *c, size_t i);

/* The column makers return a column that refers to the caller's values, for mrun_write_table;
 * name is NUL-terminated and must live until the table is written. */

/* mrun_col_int64 makes an int64 column. */
mrun_column mrun_col_int64(const char *name, const int64_t *v);
/* mrun_col_float64 makes a float64 column. */
mrun_column mrun_col_float64(const char *name, const double *v);
/* mrun_col_bool makes a bool column. */
mrun_column mrun_col_bool(const char *name, const bool *v);
/* mrun_col_timestamp makes a timestamp column of nanoseconds since the Unix epoch. */
mrun_column mrun_col_timestamp(const char *name, const int64_t *ns);
/* mrun_col_string makes a string column: value i is text[offsets[i]:offsets[i + 1]], with
 * offsets[0] == 0 and nrows + 1 offsets. */
mrun_column mrun_col_string(const char *name, const uint32_t *offsets, const char *text);

/* mrun_write_table writes t as one ext-5 value. It returns false, writing nothing, when t
 * breaks section 5.4 (mrun_table_error() says how); a result that is then empty fails the
 * call. */
bool mrun_write_table(mrun_writer *w, const mrun_table *t);

/* mrun_table_eval spawns eval of the native module mrun:table (docs/tables.md) with the frame
 * in args, one positional argument: an expression map written with mrun_expr_op, such as
 * {"op": "groupby", "keys": [...], "aggs": [...], "x": {"op": "table", "value": <a table>}}.
 * It returns the handle, or a negative MRUN_E* code. */
mrun_handle mrun_table_eval(mrun_writer *args);
/* mrun_eval_table evaluates a table expression and reads its value, a table, into t, as
 * mrun_eval_double does for a number. */
int mrun_eval_table(mrun_writer *args, mrun_table *t);

/* ---- Memory ----------------------------------------------------------------------------- */

/* mrun_scratch returns size bytes aligned to 16 that stay valid until the running function
 * returns, or NULL when memory runs out (it also fails the call then). They are freed all at
 * once, so a function need not free them. */
void *mrun_scratch(size_t size);

#ifdef __cplusplus
}
#endif

#endif /* MRUN_H */
