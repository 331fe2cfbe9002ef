package runtime_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/internal/nativetest"
	"github.com/mrun-dev/mrun/runtime"
)

func loadDemo(t *testing.T, rt *runtime.Runtime) *runtime.Module {
	t.Helper()
	m, err := rt.LoadNative(context.Background(), nativetest.Module())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// args encodes an argument frame of positional arguments.
func args(t *testing.T, a ...any) []byte {
	t.Helper()
	return frame(t, a, nil)
}

// TestLoadNative: a native module is a *Module like any other: found by name and by hash,
// with its functions listed, an identity derived from its name and version, and no bytes.
func TestLoadNative(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := loadDemo(t, rt)
	sum := sha256.Sum256([]byte("native:mrun:demo@1"))
	if m.Name() != "mrun:demo" || m.Sum() != sum || m.Identity() != sum || m.Sum() != nativetest.Module().Sum() ||
		!m.Nested() || !m.Native() || m.Version() != "1" || m.Bytes() != nil || m.Size() != 0 || m.Idle() != 0 {
		t.Errorf("module: name %q sum %s identity %x nested %v native %v version %q bytes %d",
			m.Name(), m.SumHex(), m.Identity(), m.Nested(), m.Native(), m.Version(), len(m.Bytes()))
	}
	var names []string
	for _, f := range m.Functions() {
		names = append(names, f.Name())
	}
	if got, want := strings.Join(names, " "), "add block fail fanout inc malformed pair panic relay sum_all tensor_sum"; got != want {
		t.Errorf("functions: %s, want %s", got, want)
	}
	for _, ref := range []string{"mrun:demo", hex.EncodeToString(sum[:])} {
		if got, err := rt.Lookup(ref); err != nil || got != m {
			t.Errorf("Lookup(%s) = %v, %v", ref, got, err)
		}
	}
	if got, ok := rt.Module(sum); !ok || got != m {
		t.Errorf("Module(sum) = %v, %v", got, ok)
	}
	_, err := m.Func("mul")
	if want := `module mrun:demo: unknown function "mul" (it has: add, block, fail, fanout, inc, malformed, pair, panic, relay, sum_all, tensor_sum)`; !errors.Is(err, runtime.ErrUnknownFunction) || err.Error() != want {
		t.Errorf("Func(mul): %v, want %s", err, want)
	}
	wasm := load(t, rt, "fixtures")
	if wasm.Native() || wasm.Version() != "" {
		t.Errorf("a wasm module reports native %v, version %q", wasm.Native(), wasm.Version())
	}
}

// TestLoadNative_Again: loading the same name and version again gives the module loaded; a
// runtime holds one version of a name.
func TestLoadNative_Again(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := loadDemo(t, rt)
	if again := loadDemo(t, rt); again != m {
		t.Errorf("loading mrun:demo@1 twice gave two modules")
	}
	v2 := nativetest.Module()
	v2.Version = "2"
	_, err := rt.LoadNative(context.Background(), v2)
	if want := "module mrun:demo: version 1 is loaded already, not 2: a runtime holds one version of a native module"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestLoadNative_Invalid(t *testing.T) {
	ok := func(context.Context, []byte) ([]byte, error) { return nil, nil }
	for _, tc := range []struct {
		m    runtime.NativeModule
		want string
	}{
		{runtime.NativeModule{Name: "demo", Version: "1"}, `module demo: a native module's name must start with "mrun:", as in "mrun:tensor"`},
		{runtime.NativeModule{Name: "mrun:", Version: "1"}, `module mrun:: native module name "mrun:": after "mrun:" use one or more letters, digits, '_', '-' and '.'`},
		{runtime.NativeModule{Name: "mrun:a b", Version: "1"}, `module mrun:a b: native module name "mrun:a b": after "mrun:" use one or more letters, digits, '_', '-' and '.'`},
		{runtime.NativeModule{Name: "mrun:x"}, `module mrun:x: native module mrun:x: version "" must be a non-empty printable string`},
		{runtime.NativeModule{Name: "mrun:x", Version: "1\n"}, `module mrun:x: native module mrun:x: version "1\n" must be a non-empty printable string`},
		{runtime.NativeModule{Name: "mrun:x", Version: "1", Funcs: map[string]runtime.NativeFunc{"f": nil}}, `module mrun:x: native module mrun:x: function "f" is nil`},
		{runtime.NativeModule{Name: "mrun:x", Version: "1", Funcs: map[string]runtime.NativeFunc{"": ok}}, `module mrun:x: native module mrun:x: function name must be 1 to 128 bytes, got 0`},
	} {
		_, err := newRuntime(t, runtime.Config{}).LoadNative(context.Background(), tc.m)
		if err == nil || err.Error() != tc.want {
			t.Errorf("LoadNative(%+v): %v, want %s", tc.m, err, tc.want)
		}
	}
}

// TestLoad_NativeNameReserved: a WebAssembly module may not take a native module's name.
func TestLoad_NativeNameReserved(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	b, err := os.ReadFile("../testdata/wat/fixtures.wasm")
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.Load(context.Background(), "mrun:demo", b)
	want := `module mrun:demo: names that start with "mrun:" are reserved for native modules (runtime.LoadNative): load a WebAssembly module under another name`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	// Nor do bytes that hash like a native module's identity stand for it.
	loadDemo(t, rt)
	_, err = rt.Load(context.Background(), "x", []byte("native:mrun:demo@1"))
	if !errors.Is(err, runtime.ErrNotWasm) {
		t.Errorf("loading the bytes of a native identity: %v, want ErrNotWasm", err)
	}
}

// TestNativeCall: a native function's result and errors read as a guest's do.
func TestNativeCall(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MaxResult: 8})
	m := loadDemo(t, rt)
	ctx := context.Background()

	res, err := fn(t, m, "add").Call(ctx, args(t, 2, 40))
	if err != nil || !bytes.Equal(res.Value, []byte{42}) || res.Stdout != nil || res.Stderr != nil || res.Effects != 0 {
		t.Fatalf("add(2, 40) = %+v, %v", res, err)
	}

	for _, tc := range []struct {
		fn       string
		args     []any
		want     string
		sentinel error
	}{
		{"fail", []any{"no good"}, "fail (module mrun:demo): no good", nil},
		{"add", []any{1}, "add (module mrun:demo): invalid request: want 2 integer arguments, got 1", runtime.ErrInvalid},
		{"malformed", nil, "malformed (module mrun:demo): malformed result: malformed msgpack at byte 1: 1 trailing bytes after the value", runtime.ErrMalformedResult},
		{"pair", []any{1 << 40}, "pair (module mrun:demo): limit exceeded: result of 19 bytes is over the limit of 8 bytes (raise it with runtime.Config.MaxResult)", runtime.ErrLimit},
		{"panic", nil, "panic (module mrun:demo): trap: native function panicked: demo panics", runtime.ErrTrap},
	} {
		_, err := fn(t, m, tc.fn).Call(ctx, args(t, tc.args...))
		var ce *runtime.CallError
		if !errors.As(err, &ce) || ce.Module != "mrun:demo" || ce.Function != tc.fn || err.Error() != tc.want {
			t.Errorf("%s: %v, want %s", tc.fn, err, tc.want)
			continue
		}
		if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
			t.Errorf("%s: %v does not match %v", tc.fn, err, tc.sentinel)
		}
		var ge *runtime.GuestError
		if tc.fn == "fail" && (!errors.As(err, &ge) || ge.Message != "no good") {
			t.Errorf("fail: %v is not a GuestError with the message", err)
		}
		if tc.fn == "panic" && !bytes.Contains(ce.Stderr, []byte("goroutine ")) {
			t.Errorf("panic: stderr %q holds no stack", ce.Stderr)
		}
	}
}

// TestNativeCall_Interrupted: a native call whose context ends fails as an interrupted guest
// does.
func TestNativeCall_Interrupted(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := loadDemo(t, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := fn(t, m, "block").Call(ctx, args(t))
	if want := "block (module mrun:demo): interrupted: context deadline exceeded"; !errors.Is(err, runtime.ErrInterrupted) || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// TestNestedFrom: a native function finds the engine's Nested in its context, and nothing
// when called without one.
func TestNestedFrom(t *testing.T) {
	if _, ok := runtime.NestedFrom(context.Background()); ok {
		t.Error("NestedFrom found a Nested in a bare context")
	}
	rt := newRuntime(t, runtime.Config{})
	m := loadDemo(t, rt)
	_, err := fn(t, m, "fanout").Call(context.Background(), args(t, 3))
	if want := "fanout (module mrun:demo): fanout needs an engine: spawn it as a task"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	var n runtime.Nested
	ctx := runtime.WithNested(context.Background(), n)
	if _, ok := runtime.NestedFrom(ctx); ok {
		t.Error("NestedFrom found a nil Nested")
	}
}

// TestCheckSpawn_Native: a native module holds no capabilities, so any module may spawn its
// functions, a deterministic one too.
func TestCheckSpawn_Native(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	demo := loadDemo(t, rt)
	b, err := os.ReadFile("../testdata/wat/fixtures.wasm")
	if err != nil {
		t.Fatal(err)
	}
	det, err := rt.LoadWith(context.Background(), "det", b, runtime.ModuleConfig{Deterministic: true, Env: map[string]string{"A": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := det.CheckSpawn(demo); err != nil {
		t.Errorf("a deterministic module may not spawn into mrun:demo: %v", err)
	}
	if err := demo.CheckSpawn(det); !errors.Is(err, runtime.ErrDenied) {
		t.Errorf("mrun:demo may spawn into a module with an environment: %v", err)
	}
}

// TestLoadNative_Closed: a closed runtime refuses native modules and their calls.
func TestLoadNative_Closed(t *testing.T) {
	rt, err := runtime.New(context.Background(), runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m := loadDemo(t, rt)
	if err := rt.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := rt.LoadNative(context.Background(), nativetest.Module()); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("LoadNative after Close: %v", err)
	}
	if _, err := fn(t, m, "add").Call(context.Background(), args(t, 1, 2)); !errors.Is(err, runtime.ErrClosed) {
		t.Errorf("call after Close: %v", err)
	}
}

// BenchmarkNativeCall: one call of add(2, 40) as a native function and as a WebAssembly guest's
// (the hand-written WAT conformance guest, in a pooled instance), the per-task cost a native
// kernel saves.
func BenchmarkNativeCall(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	bench := func(b *testing.B, f *runtime.Function) {
		frame := []byte{0x92, 0x92, 0x02, 0x28, 0x80}
		b.ReportAllocs()
		for b.Loop() {
			res, err := f.Call(ctx, frame)
			if err != nil || len(res.Value) != 1 || res.Value[0] != 42 {
				b.Fatalf("add(2, 40) = %v, %v", res.Value, err)
			}
		}
	}
	b.Run("native", func(b *testing.B) {
		rt := newBenchRuntime(b, runtime.Config{})
		m, err := rt.LoadNative(ctx, nativetest.Module())
		if err != nil {
			b.Fatal(err)
		}
		add, _ := m.Func("add")
		bench(b, add)
	})
	// The runtime's own part: a native function that decodes nothing.
	b.Run("native-const", func(b *testing.B) {
		rt := newBenchRuntime(b, runtime.Config{})
		answer := []byte{42}
		m, err := rt.LoadNative(ctx, runtime.NativeModule{Name: "mrun:bench", Version: "1", Funcs: map[string]runtime.NativeFunc{
			"add": func(context.Context, []byte) ([]byte, error) { return answer, nil },
		}})
		if err != nil {
			b.Fatal(err)
		}
		add, _ := m.Func("add")
		bench(b, add)
	})
	b.Run("wat", func(b *testing.B) {
		add := benchGuestFunc(b, runtime.Config{}, "add")
		bench(b, add)
	})
}

// BenchmarkNativeTensorSum: the sum of a float64 tensor of 2^20 elements (8 MiB), the shape of
// a reduction kernel's call: natively, and in the WAT conformance guest, which sums in place
// in its argument buffer, interruptible (the default) and not.
func BenchmarkNativeTensorSum(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	xs := make([]float64, 1<<20)
	for i := range xs {
		xs[i] = float64(i % 7)
	}
	tensor, err := abi.NewTensor([]int{len(xs)}, xs)
	if err != nil {
		b.Fatal(err)
	}
	frame, err := abi.EncodeFrame([]any{tensor}, nil)
	if err != nil {
		b.Fatal(err)
	}
	bench := func(b *testing.B, f *runtime.Function) {
		b.SetBytes(int64(len(frame)))
		for b.Loop() {
			res, err := f.Call(ctx, frame)
			var sum float64
			if err == nil {
				err = abi.Unmarshal(res.Value, &sum)
			}
			if err != nil || sum != 3145722 {
				b.Fatalf("tensor_sum = %v, %v", sum, err)
			}
		}
	}
	b.Run("native", func(b *testing.B) {
		rt := newBenchRuntime(b, runtime.Config{})
		m, err := rt.LoadNative(ctx, nativetest.Module())
		if err != nil {
			b.Fatal(err)
		}
		f, _ := m.Func("tensor_sum")
		bench(b, f)
	})
	b.Run("wat", func(b *testing.B) { bench(b, benchGuestFunc(b, runtime.Config{}, "tensor_sum")) })
	b.Run("wat-uninterruptible", func(b *testing.B) {
		bench(b, benchGuestFunc(b, runtime.Config{Uninterruptible: true}, "tensor_sum"))
	})
}

func newBenchRuntime(b *testing.B, cfg runtime.Config) *runtime.Runtime {
	b.Helper()
	rt, err := runtime.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

// benchGuestFunc returns function name of the WAT conformance guest in a new runtime.
func benchGuestFunc(b *testing.B, cfg runtime.Config, name string) *runtime.Function {
	b.Helper()
	m, err := newBenchRuntime(b, cfg).LoadFile(context.Background(), "../testdata/wat/conformance.wasm")
	if err == nil {
		err = m.WaitCompiled(context.Background()) // measure compiled code, not the interpreter
	}
	if err != nil {
		b.Fatal(err)
	}
	f, err := m.Func(name)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// TestNativeCall_Close: a native call still running when Close's context ends fails, once it
// returns, as an interrupted guest does: with ErrClosed and ErrInterrupted, not ErrTrap.
func TestNativeCall_Close(t *testing.T) {
	rt, err := runtime.New(context.Background(), runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	m, err := rt.LoadNative(context.Background(), runtime.NativeModule{Name: "mrun:slow", Version: "1", Funcs: map[string]runtime.NativeFunc{
		"wait": func(context.Context, []byte) ([]byte, error) {
			close(started)
			<-release
			return []byte{1}, nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := fn(t, m, "wait").Call(context.Background(), args(t))
		errc <- err
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := rt.Close(ctx); err == nil {
		t.Error("Close returned nil with a call still running")
	}
	close(release)
	err = <-errc
	want := "wait (module mrun:slow): interrupted: runtime is closed: the call was still running when the context given to Runtime.Close ended"
	if !errors.Is(err, runtime.ErrClosed) || !errors.Is(err, runtime.ErrInterrupted) || errors.Is(err, runtime.ErrTrap) || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// recorder is a Nested that keeps the frames spawned through it.
type recorder struct {
	runtime.Nested
	frames [][]byte
}

func (r *recorder) Spawn(_ context.Context, _, _ string, frame []byte, _ int, _ runtime.SpawnOptions) (uint32, error) {
	r.frames = append(r.frames, frame)
	return 1, nil
}

// TestNativeCall_ArgsReused: a large argument frame's memory is reused by later calls, so
// what outlives a call is copied out of it: a result that is part of the arguments, and a
// frame spawned from them.
func TestNativeCall_ArgsReused(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m, err := rt.LoadNative(context.Background(), runtime.NativeModule{Name: "mrun:args", Version: "1", Funcs: map[string]runtime.NativeFunc{
		// first returns its one positional argument, in place: frame 92 91 <value> 80.
		"first": func(_ context.Context, args []byte) ([]byte, error) { return args[2 : len(args)-1], nil },
		// spawn spawns a call with its own frame.
		"spawn": func(ctx context.Context, args []byte) ([]byte, error) {
			n, _ := runtime.NestedFrom(ctx)
			_, err := n.Spawn(ctx, "", "first", args, 1, runtime.SpawnOptions{})
			return []byte{0xc0}, err
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	big := func(c byte) []byte { return args(t, bytes.Repeat([]byte{c}, 100<<10)) }
	rec := &recorder{}
	ctx := runtime.WithNested(context.Background(), rec)
	first, spawn := fn(t, m, "first"), fn(t, m, "spawn")
	a, err := first.Call(ctx, big('a'))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spawn.Call(ctx, big('s')); err != nil {
		t.Fatal(err)
	}
	for _, c := range []byte("bcd") { // calls that reuse the buffers
		if _, err := first.Call(ctx, big(c)); err != nil {
			t.Fatal(err)
		}
		if _, err := spawn.Call(ctx, big(c)); err != nil {
			t.Fatal(err)
		}
	}
	if want := big('a'); !bytes.Equal(a.Value, want[2:len(want)-1]) {
		t.Errorf("the result of first('a'...) changed after later calls")
	}
	if len(rec.frames) != 4 || !bytes.Equal(rec.frames[0], big('s')) {
		t.Errorf("the frame spawned by spawn('s'...) changed after later calls")
	}
}
