// Package mrun is the Go SDK for writing mrun functions: Go functions compiled to a WebAssembly
// module that mrun spawns, runs in parallel and chains through their results.
//
// Importing the package makes a wasip1 reactor an mrun module: the package exports the ABI
// marker mrun_abi_v1 and the allocator mrun_alloc itself. Each function is then exposed by a
// one-line export that hands its argument frame to [Call]:
//
//	package main
//
//	import (
//		"errors"
//		"math"
//
//		"github.com/mrun-dev/mrun/guests/go/mrun"
//	)
//
//	func main() {} // a reactor: mrun calls the exports, main never runs
//
//	//go:wasmexport mrun_fn_inc
//	func incExport(p, n uint32) uint64 { return mrun.Call(p, n, inc) }
//
//	func inc(x int) int { return x + 1 }
//
//	//go:wasmexport mrun_fn_divmod
//	func divmodExport(p, n uint32) uint64 { return mrun.Call(p, n, divmod) }
//
//	// divmod has two outputs: spawn it with n_output=2.
//	func divmod(a, b int) (int, int, error) {
//		if b == 0 {
//			return 0, 0, errors.New("divmod: division by zero")
//		}
//		return a / b, a % b, nil
//	}
//
//	//go:wasmexport mrun_fn_pow
//	func powExport(p, n uint32) uint64 { return mrun.Call(p, n, pow) }
//
//	// pow(2, exp=10) is 1024.
//	func pow(x float64, kw mrun.Kwargs) (float64, error) {
//		exp, err := mrun.Kwarg(kw, "exp", 2.0)
//		return math.Pow(x, exp), err
//	}
//
// Build it as a reactor, so that main does not run and exit:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fns.wasm .
//
// # Parameters
//
// The positional arguments are decoded into the function's parameters, in order, and their
// number must match (Python's wording reports a mismatch: "inc: takes 1 positional argument but
// 2 were given"). A final variadic parameter ...T takes any number of further arguments, which
// is how a function has optional positional arguments. A final parameter of type [Kwargs]
// receives the keyword arguments; a function without one fails when called with keywords.
// (Go allows only one of the two to be last.)
//
// A parameter may be of any type msgpack can decode into. Integers are range-checked (300 does
// not fit an int8), an integer argument converts to a float parameter, and nil only fits
// pointers, slices, maps and interfaces. An any parameter receives nil, bool, int64 (uint64 only
// above math.MaxInt64), float64, string, []byte, []any, map[string]any (map[any]any if a key is
// not a string) or time.Time. (In a struct field of type any, a map decodes the same way, but
// another value follows msgpack's loose decoding, where an unsigned integer format gives
// uint64.) An Object passed by reference (a handle, ext type 2) fits a parameter of type
// [Object], and decodes to an Object in an any parameter; a tensor (ext type 4) fits a
// parameter of type [Tensor] or *Tensor, and decodes to a Tensor in an any parameter. Any
// other ext value but a timestamp does not fit any: a [Raw] parameter receives any argument's
// bytes untouched.
//
// An argument that does not fit is an error naming the function, by its Go name, and the
// argument, by its position from 1 and its path inside: "inc: argument 1: cannot decode string
// into int", "triage: argument 1[2]: cannot decode string into float64".
//
// # Results
//
// The function may return:
//
//   - nothing, or only an error: the result is nil;
//   - R, or (R, error): the result is R;
//   - several values, optionally followed by an error: the result is an array of those values,
//     which is what a spawn with n_output=k expects from a function with k outputs.
//
// Integers are written in their shortest form and map entries sorted by their encoded keys, so
// a value always encodes to the same bytes (msgpack encodes structs, and sorts only some map
// types inside them). Go's nil slices and maps encode as nil, not as empty arrays and maps:
// return make([]T, 0) for an empty list.
//
// # Errors and panics
//
// A non-nil error returned by the function fails the call, and the caller sees err.Error()
// verbatim. Errors found by the SDK (arguments, unsupported function types, encoding) fail the
// call the same way, with a message that starts with the function's Go name. The instance stays
// usable after an error.
//
// A panic in the function is not recovered: the Go runtime prints it to stderr and aborts, the
// call fails as a trap ("wasm error: unreachable", with the stack) and the host discards the
// instance. Use errors for failures a caller should handle, and let panics mean bugs.
//
// # Signatures
//
// A module can describe its functions (parameter names and types, keywords, results, a doc
// line) in its mrun.signatures custom section, which mrun inspect shows and mrun call checks
// arguments against (abi/ABI.md section 10). Go's linker cannot write that section, so
// "mrun sig go DIR" reads the signatures from the package's source and "mrun sig add" writes
// them into the built module:
//
//	mrun sig go . | mrun sig add fns.wasm -
//
// Each function's parameter names and Go types give the line, the keywords it reads with
// [Kwarg] and their defaults give its keyword parameters, and the first sentence of its doc
// comment gives the doc. Directive lines in the doc comment add what the Go types cannot say:
//
//	// rand_matrix returns an r×c float64 matrix of pseudo-random numbers in [0, 1).
//	//
//	//mrun:type result tensor[float64]
//	//mrun:impure
//	func rand_matrix(r, c int) (mrun.Tensor, error) {
//
// //mrun:impure marks a function whose result depends on more than its arguments;
// //mrun:type NAME TYPE narrows the type of a parameter, a keyword, "result" or an output
// "result.I"; //mrun:sig LINE gives the whole line, for a function whose Go types allow more
// calls than it means to take. A final variadic parameter args ...T is *args: T. A type the
// mapping does not know becomes any, with a note.
//
// # Performance
//
// Functions with at most one parameter and one result (plus an optional error) among int,
// float64, string, bool, any and []any are called directly, and so is func(A, Kwargs) (A, error)
// for each of those types A, such as func(string, Kwargs) (string, error).
// Every other shape goes through reflect.Value.Call, which works the same but costs several
// microseconds more per call in a wasm guest. For small functions called very often, prefer
// the direct shapes. Keyword arguments are decoded only when the function reads them; Kwarg
// reads an int, int64, float64, bool or string without reflection.
//
// # Lifetime
//
// The functions run one call at a time on an instance that may serve many calls, so package
// variables persist between calls, like a reused worker process; do not rely on that either way.
// The result frame is owned by the package and overwritten by the next call.
//
// # Tensors
//
// A [Tensor] is an n-dimensional array of numbers (ABI.md section 5.3): a [DType], a shape and
// the elements in row-major order, which cross the boundary as raw little-endian bytes. A
// function takes and returns tensors like any other value:
//
//	func tensor_sum(t mrun.Tensor) (float64, error) {
//		if t.DType() != mrun.Float64 {
//			return 0, fmt.Errorf("tensor_sum: want a float64 tensor, got a %s", t)
//		}
//		var sum float64
//		for _, x := range t.Float64s() {
//			sum += x
//		}
//		return sum, nil
//	}
//
// The typed views ([Tensor.Float64s], [Tensor.Int32s], ..., and [Elements]) are slices over the
// elements themselves: an argument's elements are read in place when they are aligned in the
// argument frame and copied once otherwise, never decoded one by one, and a result's are
// copied once into the result frame. [NewTensor] makes a tensor of a Go slice without copying
// it. A tensor argument is valid only until the function returns (see [Tensor]).
//
// # Tables
//
// A [Table] is a set of named, typed columns of one length (ABI.md section 5.4): int64,
// float64, bool, string and timestamp [Column] values, each column one buffer. A function takes
// and returns tables like tensors; [Column.Int64s], [Column.Float64s] and [Column.Bools] are
// views over an argument's values, read in place when aligned, and [Column.StringAt] reads one
// string. A table argument is valid only until the function returns (see [Table]).
//
// # Nested spawn
//
// A function can spawn functions itself while it runs, execute them and fetch their values,
// like a Mars driver. This driver spawns inc(i) for i in 0..9, executes the ten children
// together and returns their values, [1, 2, ..., 10]:
//
//	//go:wasmexport mrun_fn_driver
//	func driverExport(p, n uint32) uint64 { return mrun.Call(p, n, driver) }
//
//	// In Python: results = [mr.spawn(inc, args=(i,)) for i in range(10)]
//	//            mr.ExecutableTuple(results).execute().fetch()
//	func driver() ([]any, error) {
//		results := make(mrun.Tuple, 10)
//		for i := range results {
//			results[i] = mrun.Spawn("inc", i)
//		}
//		return results.ExecuteFetch()
//	}
//
// [Spawn] records a lazy task and returns its [Object]; [SpawnIn] names another module,
// [SpawnN] splits a result into several Objects, and [Task] is the complete form with keyword
// arguments and Impure, for calls that read the clock or draw random numbers. An Object among the arguments of a spawn, at any depth, is a dependency: the child
// receives its value. [ByRef] passes the Object itself instead, and the child receives it in a
// parameter of type Object, which it can fetch, or pass on without fetching. [Tuple.Execute]
// and [Object.Execute] run tasks with everything they depend on and wait for them (the slot
// of the waiting call goes to other tasks meanwhile, so any depth of nesting completes);
// [Object.Fetch] and [Tuple.Fetch] decode values.
//
// Objects are valid only during the call that made them: handles are numbered afresh in each
// call. Functions that do not spawn pay nothing for nested spawn, and a module none of whose
// functions spawns imports only set_error from the host.
//
// # Errors of nested spawn
//
// A failed spawn returns no error: its Object carries it ([Object.Err]), and it comes out of
// the first Execute or Fetch that involves the Object, or out of any spawn that takes the
// Object as an argument. Loops of spawns need no checks, and the error is not lost.
//
// A child that fails is a [*TaskError] from Execute and Fetch: Message is the host's account of
// the failure, verbatim. Other failures of the host's functions are of type [*HostError], which
// errors.Is matches against [ErrInvalid], [ErrNotExecuted], [ErrLimit] (depth or task budget
// exhausted), [ErrCancelled] (the execution is being cancelled: return at once) and
// [ErrUnsupported]. A function that returns an error wrapping a TaskError fails with the
// host's fail_with instead of set_error, which records the child as the cause: the host's
// error chain then reads parent → child → the child's cause.
package mrun
