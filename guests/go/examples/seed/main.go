// Command seed is the Go SDK's example module, built by build.sh to testdata/seed.wasm: the
// functions of the Mars remote API guide (inc, sum_all, triage, driver), every function of the
// guest conformance contract (guests/CONFORMANCE.md: the values here, the nested spawns in
// nested.go, the tensors in tensors.go), and the functions the host's tests need (trap, burn,
// pow, hello, getenv, readfile, writefile, clock, and in nested.go driver_n, fib, fanout,
// catch, forward, sample_clocks, bogus, bomb, deep, again, relay).
//
// Every function is an ordinary Go function; exports.go exposes each one as mrun_fn_<name>.
package main

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/mrun-dev/mrun/guests/go/mrun"
)

// main does not run: the module is a reactor, and mrun calls its exports.
func main() {}

// inc returns x + 1.
func inc(x int) int { return x + 1 }

// sum_all is Python's sum(xs): starting from the integer 0, integers add up to an integer; from
// the first float on, the total is a float64 added left to right, so sum_all([0.4, 0.2]) is
// 0.6000000000000001. An element that is not a number, or an integer total that overflows
// int64, is an error.
//
// It is named like its export because the SDK's own messages ("sum_all: argument 1: ...") name
// the Go function.
//
//mrun:type xs list
func sum_all(xs []any) (any, error) {
	var n int64
	for i, x := range xs {
		var v int64
		switch x := x.(type) {
		case int64:
			v = x
		case float64:
			return sumFloats(float64(n)+x, xs[i+1:], i+1)
		default:
			return nil, fmt.Errorf("sum_all: element %d is %s, not a number", i, typeName(x))
		}
		if (v > 0 && n > math.MaxInt64-v) || (v < 0 && n < math.MinInt64-v) {
			return nil, fmt.Errorf("sum_all: integer overflow at element %d", i)
		}
		n += v
	}
	return n, nil
}

// sumFloats continues a sum that has become a float; first is the index of xs[0].
func sumFloats(f float64, xs []any, first int) (float64, error) {
	for i, x := range xs {
		switch x := x.(type) {
		case float64:
			f += x
		case int64:
			f += float64(x)
		default:
			return 0, fmt.Errorf("sum_all: element %d is %s, not a number", first+i, typeName(x))
		}
	}
	return f, nil
}

// typeName names x's MessagePack family the way a caller thinks of it.
func typeName(x any) string {
	switch x.(type) {
	case nil:
		return "nil"
	case bool:
		return "a bool"
	case string:
		return "a string"
	case []byte:
		return "bytes"
	case []any:
		return "a list"
	case uint64:
		return "an integer above 2^63-1"
	}
	if _, ok := x.(map[string]any); ok {
		return "a map"
	}
	return fmt.Sprintf("a %T", x)
}

// triage splits xs into the values below 0.5 and the others: spawn it with n_output=2.
// Both lists are arrays even when empty.
func triage(xs []float64) ([]float64, []float64) {
	low, high := make([]float64, 0, len(xs)), make([]float64, 0, len(xs))
	for _, x := range xs {
		if x < 0.5 {
			low = append(low, x)
		} else {
			high = append(high, x)
		}
	}
	return low, high
}

// fail fails with the message msg, verbatim, or "fail: asked to fail" when called without
// arguments. Its optional argument is a variadic parameter (*msg: str), and the signature
// describes the call of guests/CONFORMANCE.md instead, with exactly one message.
//
//mrun:sig fail(msg: str) -> none
func fail(msg ...string) error {
	switch len(msg) {
	case 0:
		return errors.New("fail: asked to fail")
	case 1:
		return errors.New(msg[0])
	}
	return fmt.Errorf("fail: takes at most 1 positional argument but %d were given", len(msg))
}

// trap panics, so the call traps and the host discards the instance.
func trap() { panic("trap: asked to trap") }

// identity returns its argument, decoded and encoded again.
func identity(v any) any { return v }

// burn does n rounds of xorshift64 and returns a checksum of them: deterministic CPU work
// without allocation, for load tests. Measured on the development machine (2 cores, wazero
// v1.12.0 compiler, seed.wasm built by build.sh), one round takes about 2.2 ns, so
// burn(9_000_000) takes about 20 ms; a runtime built WithCloseOnContextDone(true) runs loops
// about 14 times slower, and there burn(650_000) takes about 20 ms. Measure again before
// relying on either number: the machine is noisy and the ratio depends on the runtime's
// settings.
func burn(n int) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("burn: n must not be negative, got %d", n)
	}
	x, sum := uint64(0x9e3779b97f4a7c15), uint64(0)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		sum += x
	}
	return int(sum >> 1), nil
}

// pow returns x ** exp, with exp a keyword argument that defaults to 2: pow(2, exp=10) is 1024.
func pow(x float64, kw mrun.Kwargs) (float64, error) {
	exp, err := mrun.Kwarg(kw, "exp", 2.0)
	if err != nil {
		return 0, err
	}
	return math.Pow(x, exp), nil
}

// hello greets name on stdout, writes a line to stderr, and returns the greeting.
func hello(name string) string {
	greeting := "hello, " + name
	fmt.Fprintln(os.Stdout, greeting)
	fmt.Fprintln(os.Stderr, "to stderr")
	return greeting
}

// getenv returns the value of the environment variable name, and whether it is set: guests
// see only the variables their module was granted (runtime.ModuleConfig.Env).
func getenv(name string) ([]any, error) {
	v, ok := os.LookupEnv(name)
	return []any{v, ok}, nil
}

// readfile returns the contents of the file at path, which exists only inside a read-only
// mount granted to the module (runtime.ModuleConfig.Mounts).
//
//mrun:impure
func readfile(path string) (string, error) {
	b, err := os.ReadFile(path)
	return string(b), err
}

// writefile tries to create a file at path with the given contents; mounts are read-only.
func writefile(path, contents string) error {
	return os.WriteFile(path, []byte(contents), 0o644)
}

// clock returns the wall clock as Unix nanoseconds and a random 63-bit number: both differ
// between calls unless the module is deterministic (runtime.ModuleConfig.Deterministic).
//
//mrun:impure
func clock() ([]any, error) {
	return []any{time.Now().UnixNano(), rand.Int64()}, nil
}

// concat returns a + b.
func concat(a, b string) string { return a + b }

// rev_bytes returns the bytes of b in reverse order, as bytes.
func rev_bytes(b []byte) []byte {
	out := make([]byte, len(b))
	for i, x := range b {
		out[len(b)-1-i] = x
	}
	return out
}

// ints returns [i, u]: both arguments go through native 64-bit integers, so -2^63 and 2^64-1
// come back unchanged.
//
//mrun:type result list[int]
func ints(i int64, u uint64) []any { return []any{i, u} }

// fdiv returns a / b in IEEE 754 arithmetic: fdiv(1, 0) is +Inf and fdiv(0, 0) is NaN.
func fdiv(a, b float64) float64 { return a / b }

// greet returns greeting + ", " + name + punct, with the keyword arguments greeting (default
// "hello") and punct (default "!"): greet("bob", greeting="hi") is "hi, bob!".
func greet(name string, kw mrun.Kwargs) (string, error) {
	greeting, err := mrun.Kwarg(kw, "greeting", "hello")
	if err != nil {
		return "", err
	}
	punct, err := mrun.Kwarg(kw, "punct", "!")
	if err != nil {
		return "", err
	}
	return greeting + ", " + name + punct, nil
}

// nothing takes no arguments and returns nil.
func nothing() {}

// empties returns one empty value of each container family: ["", b"", [], {}]. Go's nil
// slices and maps would be nil, so each is made empty.
func empties() []any { return []any{"", []byte{}, []any{}, map[string]any{}} }
