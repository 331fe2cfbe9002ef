package main

import (
	"errors"
	"fmt"
	"math"

	"github.com/mrun-dev/mrun/guests/go/mrun"
)

// The functions below spawn functions of their own module while they run (nested spawn,
// ABI.md section 2.2). The host's tests assert their exact values and messages.

// driver is the driver of the Mars guide: it spawns inc(i) for i in 0..9, executes the ten
// children together and returns their values, [1, 2, ..., 10].
//
//mrun:type result list[int]
func driver() ([]any, error) {
	results := make(mrun.Tuple, 10)
	for i := range results {
		results[i] = mrun.Spawn("inc", i)
	}
	return results.ExecuteFetch()
}

// driver_n is driver with m children: it returns [1, 2, ..., m].
//
//mrun:type result list[int]
func driver_n(m int) ([]any, error) {
	if m < 0 {
		return nil, fmt.Errorf("driver_n: m must not be negative, got %d", m)
	}
	results := make(mrun.Tuple, m)
	for i := range results {
		results[i] = mrun.Spawn("inc", i)
	}
	return results.ExecuteFetch()
}

// fib is the Fibonacci number n, computed by spawning fib(n-1) and fib(n-2) and executing
// both together: fib(15) is 610. Equal calls have equal keys, so the host runs each fib(k)
// once however often it is spawned.
func fib(n int) (int, error) {
	if n < 2 {
		return n, nil
	}
	t := mrun.Tuple{mrun.Spawn("fib", n-1), mrun.Spawn("fib", n-2)}
	if err := t.Execute(); err != nil {
		return 0, err
	}
	var a, b int
	if err := t[0].Fetch(&a); err != nil {
		return 0, err
	}
	if err := t[1].Fetch(&b); err != nil {
		return 0, err
	}
	return a + b, nil
}

// fanout spawns inc(i) for i in 0..n-1 and sum_all over the list of those n Objects, executes
// only the sum (its dependencies run first) and returns it: fanout(10000) is 50005000.
func fanout(n int) (int, error) {
	if n < 0 {
		return 0, fmt.Errorf("fanout: n must not be negative, got %d", n)
	}
	incs := make(mrun.Tuple, n)
	for i := range incs {
		incs[i] = mrun.Spawn("inc", i)
	}
	total := mrun.Spawn("sum_all", incs) // one argument: a list of n dependencies
	if err := total.Execute(); err != nil {
		return 0, err
	}
	var sum int
	err := total.Fetch(&sum)
	return sum, err
}

// parent_fail spawns fail(msg), executes and fetches it, and fails with the child's error
// wrapped: "parent_fail: " and the child's message. Because the error wraps the child's
// *mrun.TaskError, the SDK fails the call with fail_with, and the host's chain reads
// parent_fail → fail → msg.
func parent_fail(msg string) error {
	child := mrun.Spawn("fail", msg)
	err := child.Execute()
	if err == nil {
		var v any
		err = child.Fetch(&v)
	}
	if err != nil {
		return fmt.Errorf("parent_fail: %w", err)
	}
	return nil
}

// catch spawns fail(msg), executes it and returns the child's error message (the host's text,
// verbatim) as its value: a parent that inspects a failure instead of failing.
func catch(msg string) (string, error) {
	err := mrun.Spawn("fail", msg).Execute()
	var te *mrun.TaskError
	if errors.As(err, &te) {
		return te.Message, nil
	}
	if err != nil {
		return "", err
	}
	return "", errors.New("catch: the child did not fail")
}

// add returns a + b.
func add(a, b int) int { return a + b }

// divmod returns the truncated quotient and the remainder of a / b as two outputs: spawn it
// with n_output=2.
func divmod(a, b int) (int, int, error) {
	if b == 0 {
		return 0, 0, errors.New("divmod: division by zero")
	}
	return a / b, a % b, nil
}

// nested_split spawns divmod(a, b) with two outputs and add(q, r) over them, executes only the
// add (its dependencies run first), and fetches all three: [a / b, a % b, a/b + a%b].
//
//mrun:type result list[int]
func nested_split(a, b int) ([]any, error) {
	qr := mrun.SpawnN("divmod", 2, a, b)
	sum := mrun.Spawn("add", qr[0], qr[1])
	if err := sum.Execute(); err != nil {
		return nil, err
	}
	return mrun.Tuple{qr[0], qr[1], sum}.Fetch()
}

// sample_clocks spawns clock() n times, impure, executes the n children together and returns
// their wall-clock readings in Unix nanoseconds. Pure spawns of clock() would all be one task
// (same function, same arguments) with one reading; impure, each spawn is a task of its own.
//
//mrun:impure
func sample_clocks(n int) ([]int64, error) {
	if n < 0 {
		return nil, fmt.Errorf("sample_clocks: n must not be negative, got %d", n)
	}
	clocks := make(mrun.Tuple, n)
	for i := range clocks {
		clocks[i] = mrun.Task{Func: "clock", Impure: true}.Spawn()[0]
	}
	if err := clocks.Execute(); err != nil {
		return nil, err
	}
	readings := make([]int64, n)
	for i, c := range clocks {
		var r []int64 // [unix_nanos, random]
		if err := c.Fetch(&r); err != nil {
			return nil, err
		}
		if len(r) != 2 {
			return nil, fmt.Errorf("sample_clocks: clock returned %d values, want 2", len(r))
		}
		readings[i] = r[0]
	}
	return readings, nil
}

// forward receives obj by reference (the host test passes it with ext type 3) and spawns
// add(obj, i) for i in 0..n-1, with obj as a dependency: each child receives obj's value. It
// returns their values, [obj, obj+1, ..., obj+n-1], without ever fetching obj itself.
//
//mrun:type result list[int]
func forward(obj mrun.Object, n int) ([]any, error) {
	if n < 0 {
		return nil, fmt.Errorf("forward: n must not be negative, got %d", n)
	}
	sums := make(mrun.Tuple, n)
	for i := range sums {
		sums[i] = mrun.Spawn("add", obj, i)
	}
	return sums.ExecuteFetch()
}

// bogus fetches handle h, which the host never issued in this call, and returns the host's
// message for the failure (from last_error, verbatim), so that a host test can check it.
func bogus(h int) (string, error) {
	if h < 0 || h > math.MaxUint32 {
		return "", fmt.Errorf("bogus: handle %d is not a u32", h)
	}
	var v any
	err := mrun.FromHandle(uint32(h)).Fetch(&v)
	var he *mrun.HostError
	if errors.As(err, &he) {
		return he.Message, nil
	}
	if err != nil {
		return "", err
	}
	return "", fmt.Errorf("bogus: handle %d has a value: %v", h, v)
}

// bomb is a spawn bomb: bomb(n, path...) spawns n children bomb(n, path..., i) for i in
// 0..n-1 (distinct arguments, so the host cannot merge them), executes them and returns the
// number of its descendants. It never ends on its own: the tree has n, n², n³, ... tasks per
// level until the host's depth limit or task budget refuses a spawn, and then it fails with
// that error (mrun.ErrLimit) at once, without spawning more.
//
// The signature describes the call a caller makes, with n alone: the calls with a path are
// the ones bomb spawns, and nested spawns are not checked against signatures.
//
//mrun:sig bomb(n: int) -> int
func bomb(n int, path ...int) (int, error) {
	if n < 1 {
		return 0, fmt.Errorf("bomb: n must be positive, got %d", n)
	}
	kids := make(mrun.Tuple, n)
	args := make([]any, 0, len(path)+2)
	args = append(args, n)
	for _, p := range path {
		args = append(args, p)
	}
	for i := range kids {
		// append reuses args's spare slot: Spawn encodes its arguments before it returns.
		kids[i] = mrun.Spawn("bomb", append(args, i)...)
		if err := kids[i].Err(); err != nil {
			return 0, err
		}
	}
	if err := kids.Execute(); err != nil {
		return 0, err
	}
	count := n
	for _, k := range kids {
		var c int
		if err := k.Fetch(&c); err != nil {
			return 0, err
		}
		count += c
	}
	return count, nil
}

// spins is what deep's innermost call counts, so that its loop has an effect and stays.
var spins uint64

// deep(n) spawns deep(n-1), executes it and returns its value; deep(0) spins forever, until
// the host interrupts it. A host test cancels a deep tree and checks that it returns promptly.
func deep(n int) (int, error) {
	if n <= 0 {
		for {
			spins++
		}
	}
	child := mrun.Spawn("deep", n-1)
	if err := child.Execute(); err != nil {
		return 0, err
	}
	var v int
	err := child.Fetch(&v)
	return v, err
}

// again spawns again(x) (the very same call) and returns its value. It can never finish: the
// host detects that the call waits for itself and fails the child with a cycle error, which
// again returns.
func again(x int) (any, error) {
	child := mrun.Spawn("again", x)
	if err := child.Execute(); err != nil {
		return nil, fmt.Errorf("again: %w", err)
	}
	var v any
	err := child.Fetch(&v)
	return v, err
}

// relay spawns fn(args...) of module (empty: this module; otherwise the name or SHA-256 of
// another module loaded in the same runtime), executes it and returns its value: it shows a
// guest calling into another module.
//
// fn's arguments, any number of them, are relay's variadic parameter: its signature says
// *args: any.
func relay(module, fn string, args ...any) (any, error) {
	child := mrun.SpawnIn(module, fn, args...)
	if err := child.Execute(); err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	var v any
	err := child.Fetch(&v)
	return v, err
}
