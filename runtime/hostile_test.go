package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// The tests in this file run the guests of guests/wat/hostile.wat, each of which misbehaves in
// one way, and check the specific error each one gets and that the host is healthy afterwards.

// nilFrame is the argument frame [[], {}].
var nilFrame = []byte{0x92, 0x90, 0x80}

// healthy checks that m still serves calls: counter succeeds and reports whether it ran on a
// fresh instance (1) or on a reused one.
func healthy(t *testing.T, m *runtime.Module) int64 {
	t.Helper()
	res, err := fn(t, m, "counter").Call(context.Background(), nilFrame)
	if err != nil {
		t.Fatalf("host unhealthy: counter: %v", err)
	}
	v, err := abi.Decode(res.Value)
	if err != nil {
		t.Fatal(err)
	}
	return v.(int64)
}

// drain closes every idle instance of m: a malformed result discards the instance, and idle
// instances above MaxIdle are closed when returned, so with MaxIdle 1 one such call empties the pool.
func drain(t *testing.T, m *runtime.Module) {
	t.Helper()
	for m.Idle() > 0 {
		fn(t, m, "ext2").Call(context.Background(), nilFrame) // malformed: discarded
	}
}

func TestHostile_Errors(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MaxIdle: 1})
	m := load(t, rt, "hostile")
	tests := []struct {
		fn      string
		is      error
		want    string
		discard bool // the instance must not be reused
	}{
		{"recurse", runtime.ErrTrap, "recurse (module hostile): trap: stack overflow", true},
		{"exit3", runtime.ErrTrap, "exit3 (module hostile): trap: guest exited with code 3", true},
		{"seterr_trap", runtime.ErrTrap, "seterr_trap (module hostile): trap: wasm error: unreachable (the guest reported: raw: want one bin argument)", true},
		{"past_end", runtime.ErrMalformedResult, "past_end (module hostile): malformed result: frame [131072, 131073) lies outside guest memory of 131072 bytes", true},
		{"huge_len", runtime.ErrMalformedResult, "huge_len (module hostile): malformed result: frame [16, 1073741840) lies outside guest memory of 131072 bytes", true},
		{"bad_msgpack", runtime.ErrMalformedResult, "bad_msgpack (module hostile): malformed result: malformed msgpack at byte 0: length 5 runs past the end of the frame", true},
		{"empty", runtime.ErrMalformedResult, "empty (module hostile): malformed result: malformed msgpack at byte 0: unexpected end of frame", true},
		{"ext2", runtime.ErrMalformedResult, "ext2 (module hostile): malformed result: malformed msgpack at byte 0: extension type 2 is reserved by mrun", true},
		{"ext2_deep", runtime.ErrMalformedResult, "ext2_deep (module hostile): malformed result: malformed msgpack at byte 2: extension type 2 is reserved by mrun", true},
		// Garbage given to set_error / fail_with is a guest error (the instance is kept).
		{"seterr_oob", nil, "seterr_oob (module hostile): set_error: message lies outside guest memory", false},
		{"failwith_garbage", nil, "failwith_garbage (module hostile): set_error: message lies outside guest memory", false},
		{"seterr_badutf8", nil, "seterr_badutf8 (module hostile): \uFFFD", false},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			drain(t, m)
			if got := healthy(t, m); got != 1 {
				t.Fatalf("counter = %d on a drained pool, want 1", got)
			}
			_, err := fn(t, m, tt.fn).Call(context.Background(), nilFrame)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("message\n got %v\nwant %s", err, tt.want)
			}
			var ce *runtime.CallError
			if !errors.As(err, &ce) || ce.Module != "hostile" || ce.Function != tt.fn {
				t.Fatalf("err = %#v, want a *CallError for hostile.%s", err, tt.fn)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if tt.is == nil {
				var ge *runtime.GuestError
				if !errors.As(err, &ge) {
					t.Fatalf("err = %#v, want a *GuestError", err)
				}
			}
			want := int64(2) // reused
			if tt.discard {
				want = 1
			}
			if got := healthy(t, m); got != want {
				t.Fatalf("counter after %s = %d, want %d", tt.fn, got, want)
			}
		})
	}
}

func TestHostile_ExitCode(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	_, err := fn(t, load(t, rt, "hostile"), "exit3").Call(context.Background(), nilFrame)
	var te *runtime.TrapError
	if !errors.As(err, &te) || !te.Exited || te.ExitCode != 3 {
		t.Fatalf("err = %#v, want a TrapError with exit code 3", err)
	}
}

// TestHostile_SetErrorHuge: set_error(0, 0xffffffff) keeps exactly the first 64 KiB.
func TestHostile_SetErrorHuge(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "hostile")
	_, err := fn(t, m, "seterr_huge").Call(context.Background(), nilFrame)
	var ge *runtime.GuestError
	if !errors.As(err, &ge) {
		t.Fatalf("err = %.80v, want a guest error", err)
	}
	// Bytes [0, 64 KiB) of memory: the data segments (some of them invalid UTF-8, each invalid
	// byte becoming the 3-byte U+FFFD) and zeros up to the end; nothing of the argument buffer
	// at 64 KiB.
	if !utf8.ValidString(ge.Message) || len(ge.Message) < abi.MaxErrorMessage || len(ge.Message) > abi.MaxErrorMessage+64 ||
		strings.Trim(ge.Message[len(ge.Message)-60000:], "\x00") != "" {
		t.Fatalf("message of %d bytes, want the first 64 KiB of memory", len(ge.Message))
	}
	if !strings.HasPrefix(ge.Message[16:], "raw: want one bin argument") {
		t.Fatalf("message does not start at address 0: %q", ge.Message[:64])
	}
	healthy(t, m)
}

func TestHostile_InfiniteLoop(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "hostile")
	for _, name := range []string{"spin", "spew_forever"} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := fn(t, m, name).Call(ctx, nilFrame)
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("interrupt took %v", d)
			}
			if !errors.Is(err, runtime.ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want interrupted by the deadline", err)
			}
			if want := name + " (module hostile): interrupted: context deadline exceeded"; err.Error() != want {
				t.Fatalf("message %q, want %q", err, want)
			}
			healthy(t, m)
		})
	}
}

// TestHostile_Cancel: cancelling (rather than a deadline) also stops a spinning guest.
func TestHostile_Cancel(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "hostile")
	cause := errors.New("operator pressed stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(50*time.Millisecond, func() { cancel(cause) })
	_, err := fn(t, m, "spin").Call(ctx, nilFrame)
	if !errors.Is(err, runtime.ErrInterrupted) || !errors.Is(err, cause) {
		t.Fatalf("err = %v, want interrupted with the cause", err)
	}
	if want := "spin (module hostile): interrupted: operator pressed stop"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
	healthy(t, m)
}

func TestHostile_MemoryBomb(t *testing.T) {
	for _, limit := range []uint32{2, 16, 100} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			rt := newRuntime(t, runtime.Config{MemoryLimitPages: limit})
			m := load(t, rt, "hostile")
			bomb := fn(t, m, "membomb")
			for range 2 { // the second call runs on the same, already full instance
				res, err := bomb.Call(context.Background(), nilFrame)
				if err != nil {
					t.Fatal(err)
				}
				if v, _ := abi.Decode(res.Value); v != int64(limit) {
					t.Fatalf("membomb stopped at %v pages, want the cap of %d", v, limit)
				}
			}
			if got := healthy(t, m); got != 1 {
				t.Fatalf("counter = %d", got)
			}
			// Growing to the cap and then storing past the end traps, and the full instance
			// is discarded: the next call runs on a fresh one. (With a memory limit the runtime
			// may append a hint about the limit to the reason, hence a prefix.)
			_, err := fn(t, m, "membomb_trap").Call(context.Background(), nilFrame)
			if want := "membomb_trap (module hostile): trap: wasm error: out of bounds memory access"; !errors.Is(err, runtime.ErrTrap) || !strings.HasPrefix(err.Error(), want) {
				t.Fatalf("membomb_trap: err = %v, want %s", err, want)
			}
			if got := healthy(t, m); got != 1 {
				t.Fatalf("counter after membomb_trap = %d, want 1: the instance was reused", got)
			}
		})
	}
}

func TestHostile_Spew(t *testing.T) {
	const max = 4096
	rt := newRuntime(t, runtime.Config{MaxOutput: max})
	m := load(t, rt, "hostile")
	res, err := fn(t, m, "spew").Call(context.Background(), nilFrame)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Value, []byte{0xc0}) {
		t.Fatalf("spew = % x", res.Value)
	}
	const total = 163 * 64512
	want := strings.Repeat("x", max) + fmt.Sprintf("\n[mrun: %d more bytes dropped]\n", total-max)
	if string(res.Stdout) != want {
		t.Fatalf("stdout is %d bytes ending %q, want %d ending %q", len(res.Stdout), res.Stdout[max:], len(want), want[max:])
	}
	if res.Stderr != nil {
		t.Fatalf("stderr = %q", res.Stderr)
	}
	// The next call on the same instance starts with empty capture.
	if res, err := fn(t, m, "counter").Call(context.Background(), nilFrame); err != nil || res.Stdout != nil {
		t.Fatalf("counter after spew: stdout %q, %v", res.Stdout, err)
	}
}

// TestHostile_SpewInterrupted: a guest that writes forever is interrupted, and the output it
// wrote before is attached to the error, still capped.
func TestHostile_SpewInterrupted(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MaxOutput: 100})
	spew := fn(t, load(t, rt, "hostile"), "spew_forever")
	// The deadline starts after the module is compiled, which can take longer than the
	// deadline itself on a loaded machine.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := spew.Call(ctx, nilFrame)
	var ce *runtime.CallError
	if !errors.As(err, &ce) || !errors.Is(err, runtime.ErrInterrupted) {
		t.Fatalf("err = %v", err)
	}
	prefix := strings.Repeat("x", 100) + "\n[mrun: "
	if !strings.HasPrefix(string(ce.Stdout), prefix) || !strings.HasSuffix(string(ce.Stdout), " more bytes dropped]\n") {
		t.Fatalf("stdout = %q", ce.Stdout)
	}
}

func TestHostile_InitializeTraps(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "hostile_init") // loading runs no guest code
	x := fn(t, m, "x")
	for range 3 {
		_, err := x.Call(context.Background(), nilFrame)
		if !errors.Is(err, runtime.ErrTrap) {
			t.Fatalf("err = %v, want a trap", err)
		}
		if want := "x (module hostile_init): _initialize: trap: wasm error: unreachable"; err.Error() != want {
			t.Fatalf("message %q, want %q", err, want)
		}
		if m.Idle() != 0 {
			t.Fatalf("a failed instance was pooled")
		}
	}
	// Other modules of the same runtime are unaffected.
	healthy(t, load(t, rt, "hostile"))
}

// TestHostile_NestedGarbage calls spawn, execute, fail_with and last_error with garbage that
// guests/wat/nested.wat does not cover; each gets its documented code and the host carries on.
func TestHostile_NestedGarbage(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "hostile")
	tests := []struct {
		fn   string
		want any
	}{
		{"spawn_mod_oob", int64(-1)},
		{"spawn_args_oob", int64(-1)},
		{"spawn_badutf8", int64(-1)},
		{"spawn_nout_neg", int64(-1)},
		{"execute_oob", int64(-1)},
		{"execute_zero", int64(-1)},
		// last_error returns the length of "invalid request: handle array lies outside guest
		// memory" and writes nothing when the buffer is outside memory.
		{"lasterr_oob", int64(len("invalid request: handle array lies outside guest memory"))},
	}
	e := dag.New(dag.Config{})
	for _, tt := range tests {
		o := dag.Spawn(fn(t, m, tt.fn))
		if err := e.Execute(context.Background(), o); err != nil {
			t.Fatalf("%s: %v", tt.fn, err)
		}
		v, err := e.FetchAll(context.Background(), o)
		if err != nil || v[0] != tt.want {
			t.Errorf("%s() = %#v, %v; want %#v", tt.fn, v, err, tt.want)
		}
	}
	// Without an engine every nested import answers -6 (unsupported).
	res, err := fn(t, m, "spawn_mod_oob").Call(context.Background(), nilFrame)
	if err != nil || !bytes.Equal(res.Value, []byte{0xd2, 0xff, 0xff, 0xff, 0xfa}) {
		t.Fatalf("bare spawn = % x, %v; want -6", res.Value, err)
	}
	// fail_with naming a handle that does not exist and a message outside memory.
	o := dag.Spawn(fn(t, m, "failwith_garbage"))
	err = e.Execute(context.Background(), o)
	var ge *runtime.GuestError
	if !errors.As(err, &ge) || ge.Message != "set_error: message lies outside guest memory" || ge.Cause != nil {
		t.Fatalf("failwith_garbage: %#v", err)
	}
	healthy(t, m)
}

// TestHostile_Graph runs the hostile functions in one graph with 50 normal tasks: every normal
// result is right, every hostile task has its own error, their dependents fail with
// ErrDependencyFailed, and the graph's other tasks are not disturbed.
func TestHostile_Graph(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MemoryLimitPages: 16, MaxOutput: 64})
	h := load(t, rt, "hostile")
	fx := load(t, rt, "fixtures")
	echo, cnst, first := fn(t, fx, "echo"), fn(t, fx, "const"), fn(t, fx, "first")

	hostile := map[string]struct {
		is   error
		want string // the cause in the TaskError's message (a memory-limit hint may follow)
	}{
		"recurse":      {runtime.ErrTrap, "trap: stack overflow"},
		"membomb_trap": {runtime.ErrTrap, "trap: wasm error: out of bounds memory access"},
		"exit3":        {runtime.ErrTrap, "trap: guest exited with code 3"},
		"huge_len":     {runtime.ErrMalformedResult, "malformed result: frame [16, 1073741840) lies outside guest memory of 131072 bytes"},
		"bad_msgpack":  {runtime.ErrMalformedResult, "malformed result: malformed msgpack at byte 0: length 5 runs past the end of the frame"},
		"ext2":         {runtime.ErrMalformedResult, "malformed result: malformed msgpack at byte 0: extension type 2 is reserved by mrun"},
		"seterr_oob":   {nil, "set_error: message lies outside guest memory"},
		"spin":         {runtime.ErrInterrupted, "interrupted: context deadline exceeded"},
	}
	var normal, normalDeps, bad, badDeps dag.Tuple
	names := map[*dag.Object]string{}
	for i := range 50 {
		var o *dag.Object
		if i%2 == 0 {
			o = dag.Spawn(echo, i, fmt.Sprint("x", i))
		} else {
			o = dag.Spawn(cnst, i)
		}
		normal = append(normal, o)
		normalDeps = append(normalDeps, dag.Spawn(first, o))
	}
	for name := range hostile {
		o := dag.Spawn(fn(t, h, name))
		names[o] = name
		bad = append(bad, o)
		badDeps = append(badDeps, dag.Spawn(first, o))
	}
	// spin only ends when the deadline passes: give it a per-task deadline through the
	// executor, so the rest of the graph is not cancelled with it.
	e := dag.New(dag.Config{Slots: 4, Executor: deadlineExecutor{"spin", 200 * time.Millisecond}})
	all := append(append(append(append(dag.Tuple{}, normal...), normalDeps...), bad...), badDeps...)
	start := time.Now()
	err := e.Execute(context.Background(), all...)
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("graph took %v", d)
	}
	if err == nil {
		t.Fatal("execute succeeded")
	}
	for i, o := range normal {
		var want []byte
		if i%2 == 0 {
			want = frame(t, []any{i, fmt.Sprint("x", i)}, nil)
		} else {
			want = []byte("\x93\x01\xa3two\xcb\x40\x0c\x00\x00\x00\x00\x00\x00")
		}
		got, err := e.Value(context.Background(), o)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("normal %d = % x, %v; want % x", i, got, err, want)
		}
		if dep, err := e.Value(context.Background(), normalDeps[i]); err != nil || !bytes.Equal(dep, want) {
			t.Errorf("first(normal %d) = % x, %v", i, dep, err)
		}
	}
	for i, o := range bad {
		name, want := names[o], hostile[names[o]]
		_, err := e.Value(context.Background(), o)
		var te *dag.TaskError
		if !errors.As(err, &te) || te.Func != name || te.Key != o.Key() || errors.Is(err, dag.ErrDependencyFailed) {
			t.Errorf("%s: err = %v", name, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), fmt.Sprintf("task %s (key %s, module hostile): %s", name, o.Key(), want.want)) {
			t.Errorf("%s: message %q, want cause %q", name, err, want.want)
		}
		if want.is != nil && !errors.Is(err, want.is) {
			t.Errorf("%s: err = %v, want %v", name, err, want.is)
		}
		_, err = e.Value(context.Background(), badDeps[i])
		if !errors.Is(err, dag.ErrDependencyFailed) || !errors.As(err, &te) || te.Func != "first" {
			t.Errorf("first(%s): err = %v, want ErrDependencyFailed", name, err)
		}
		if !strings.Contains(err.Error(), "dependency failed: task "+name+" (key "+o.Key().String()) {
			t.Errorf("first(%s): message %q does not name the failed task", name, err)
		}
	}
	healthy(t, h)
}

// deadlineExecutor runs calls of one function with a deadline of their own.
type deadlineExecutor struct {
	fn string
	d  time.Duration
}

func (x deadlineExecutor) Run(ctx context.Context, t *dag.Task) (runtime.Result, error) {
	if t.Func.Name() == x.fn {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, x.d)
		defer cancel()
	}
	return dag.InProcess{}.Run(ctx, t)
}

// TestHostile_TrapHintSmallLimit: the "memory was at N of its L-page limit" hint is for traps
// that happen with memory at (or within an eighth of) its cap; a stack overflow at 2 of 16
// pages has nothing to do with the limit and must not send the user the wrong way.
func TestHostile_TrapHintSmallLimit(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MemoryLimitPages: 16})
	_, err := fn(t, load(t, rt, "hostile"), "recurse").Call(context.Background(), nilFrame)
	if want := "recurse (module hostile): trap: stack overflow"; err == nil || err.Error() != want {
		t.Fatalf("message %v, want %s", err, want)
	}
}
