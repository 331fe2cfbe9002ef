package runtime_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
)

// newRuntime starts a runtime for a test. Its modules run compiled code from the start, or,
// with MRUN_TEST_TIER=interpreter in the environment, on the interpreter for good (the first
// tier of a module the compilation cache does not hold, tiered.go).
func newRuntime(t *testing.T, cfg runtime.Config) *runtime.Runtime {
	t.Helper()
	interpreted := os.Getenv("MRUN_TEST_TIER") == "interpreter"
	cfg.WaitForCompiler = !interpreted
	rt, err := runtime.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if interpreted {
		runtime.StayInterpreted(rt)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

func load(t *testing.T, rt *runtime.Runtime, name string) *runtime.Module {
	t.Helper()
	m, err := rt.LoadFile(context.Background(), filepath.Join("..", "testdata", "wat", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func fn(t *testing.T, m *runtime.Module, name string) *runtime.Function {
	t.Helper()
	f, err := m.Func(name)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// frame encodes an argument frame.
func frame(t *testing.T, args []any, kwargs map[string]any) []byte {
	t.Helper()
	b, err := abi.EncodeFrame(args, kwargs)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLoad_Invalid(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	tests := []struct {
		file string
		is   error
		msg  string
	}{
		{"nomemory", runtime.ErrNoMemory, `module nomemory: no exported memory: the module must export its memory as "memory"`},
		{"noalloc", runtime.ErrNoAlloc, `module noalloc: missing allocator: the module must export "mrun_alloc" (i32) -> i32`},
		{"v2", runtime.ErrVersion, `module v2: unsupported ABI version 2 (this host implements version 1)`},
		{"nomarker", runtime.ErrNotMrun, `module nomarker: not an mrun module: it does not export the ABI marker function "mrun_abi_v1"`},
		{"twomarkers", runtime.ErrBadExport, `module twomarkers: invalid export: it exports 2 ABI markers (mrun_abi_v1, mrun_abi_v3), want one`},
		{"badsig", runtime.ErrBadExport, `module badsig: invalid export: function "bad" has type (i32) -> (i32), want (i32, i32) -> i64`},
		{"badimport", runtime.ErrBadImport, `module badimport: invalid import: mrun.frobnicate is not a host function`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := rt.LoadFile(context.Background(), filepath.Join("..", "testdata", "wat", tt.file+".wasm"))
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			var me *runtime.ModuleError
			if !errors.As(err, &me) || me.Module != tt.file {
				t.Fatalf("err = %#v, want *ModuleError for %s", err, tt.file)
			}
			if err.Error() != tt.msg {
				t.Fatalf("message\n got %s\nwant %s", err, tt.msg)
			}
		})
	}
}

func TestLoad_NotWasm(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	for name, b := range map[string][]byte{
		"text":      []byte("hello, this is not wasm"),
		"empty":     nil,
		"truncated": []byte("\x00asm\x01\x00\x00\x00\x01\x05"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := rt.Load(context.Background(), name, b)
			if !errors.Is(err, runtime.ErrNotWasm) {
				t.Fatalf("err = %v, want ErrNotWasm", err)
			}
			if !strings.HasPrefix(err.Error(), "module "+name+": not a WebAssembly module") {
				t.Fatalf("message = %q", err)
			}
		})
	}
}

func TestLoad_MissingFile(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	_, err := rt.LoadFile(context.Background(), "no/such/file.wasm")
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want not-exist", err)
	}
}

func TestLoad_SameBytesSameModule(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	a := load(t, rt, "fixtures")
	b, err := os.ReadFile("../testdata/wat/fixtures.wasm")
	if err != nil {
		t.Fatal(err)
	}
	c, err := rt.Load(context.Background(), "other-name", b)
	if err != nil {
		t.Fatal(err)
	}
	if a != c {
		t.Fatal("loading the same bytes twice gave two modules")
	}
	if got, _ := rt.Module(a.Sum()); got != a {
		t.Fatal("Runtime.Module does not find the module by sum")
	}
}

// A module compiled by one goroutine or by several gives the same results, from every function
// of a module with many (the C conformance guest).
func TestLoad_CompileWorkers(t *testing.T) {
	for _, workers := range []int{1, 4} {
		rt := newRuntime(t, runtime.Config{CompileWorkers: workers})
		m, err := rt.LoadFile(context.Background(), "../testdata/c/conformance.wasm")
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]string{"inc": "2a", "identity": "a1 78", "fail": ""} {
			f, err := m.Func(name)
			if err != nil {
				t.Fatal(err)
			}
			arg := map[string]any{"inc": 41, "identity": "x", "fail": "boom"}[name]
			frame, _ := abi.EncodeFrame([]any{arg}, nil)
			res, err := f.Call(context.Background(), frame)
			if name == "fail" {
				if err == nil || !strings.HasSuffix(err.Error(), "boom") {
					t.Fatalf("%d workers: fail: %v", workers, err)
				}
				continue
			}
			if err != nil || fmt.Sprintf("% x", res.Value) != want {
				t.Fatalf("%d workers: %s(%v) = % x, %v; want %s", workers, name, arg, res.Value, err, want)
			}
		}
	}
}

// Concurrent Loads of the same bytes give one module whose instances all work: a second
// compilation is never made and closed under the first one's instances.
func TestLoad_Concurrent(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	b, err := os.ReadFile("../testdata/seed.wasm") // slow to compile: loads overlap
	if err != nil {
		t.Fatal(err)
	}
	mods := make([]*runtime.Module, 3)
	var wg sync.WaitGroup
	for i := range mods {
		wg.Go(func() {
			m, err := rt.Load(context.Background(), "seed", b)
			if err != nil {
				t.Error(err)
				return
			}
			mods[i] = m
			if res, err := fn(t, m, "inc").Call(context.Background(), frame(t, []any{i}, nil)); err != nil || len(res.Value) != 1 || int(res.Value[0]) != i+1 {
				t.Errorf("inc(%d) = %x, %v", i, res.Value, err)
			}
		})
	}
	wg.Wait()
	for _, m := range mods {
		if m != mods[0] {
			t.Fatal("concurrent loads of the same bytes gave different modules")
		}
	}
}

func TestModule_Functions(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "fixtures")
	var names []string
	for _, f := range m.Functions() {
		names = append(names, f.Name())
	}
	want := "big,const,counter,echo,fail,fail_twice,first,grow,loop,malformed,oob,outside,pair,print,trailing,trap,triple,truncated"
	if got := strings.Join(names, ","); got != want {
		t.Fatalf("functions = %s\nwant %s", got, want)
	}
	if n := load(t, rt, "nofuncs").Functions(); len(n) != 0 {
		t.Fatalf("nofuncs lists %d functions", len(n))
	}
	_, err := m.Func("nope")
	if !errors.Is(err, runtime.ErrUnknownFunction) || !strings.Contains(err.Error(), `unknown function "nope" (it has: big, const,`) {
		t.Fatalf("err = %v", err)
	}
}

func TestCall_Values(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "fixtures")
	ctx := context.Background()

	in := frame(t, []any{1, "x", []any{true, nil}}, map[string]any{"b": 2.5, "a": []byte{7}})
	res, err := fn(t, m, "echo").Call(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Value, in) {
		t.Fatalf("echo returned % x, want % x", res.Value, in)
	}

	res, err = fn(t, m, "const").Call(ctx, frame(t, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	v, err := abi.Decode(res.Value)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.([]any); len(got) != 3 || got[0] != int64(1) || got[1] != "two" || got[2] != 3.5 {
		t.Fatalf("const = %#v", v)
	}

	res, err = fn(t, m, "big").Call(ctx, frame(t, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Value) != 1<<20+5 || res.Value[5+300] != byte(300&0xff) {
		t.Fatalf("big returned %d bytes", len(res.Value))
	}
}

func TestCall_ABIExample(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	inc := fn(t, load(t, rt, "abi_example"), "inc")
	res, err := inc.Call(context.Background(), frame(t, []any{41}, nil))
	if err != nil || !bytes.Equal(res.Value, []byte{42}) {
		t.Fatalf("inc(41) = % x, %v", res.Value, err)
	}
	_, err = inc.Call(context.Background(), frame(t, []any{1}, map[string]any{"k": 2}))
	var ge *runtime.GuestError
	if !errors.As(err, &ge) || ge.Message != "inc wants one small non-negative integer" {
		t.Fatalf("inc(1, k=2) err = %v", err)
	}
}

func TestCall_GuestError(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "fixtures")
	for name, msg := range map[string]string{"fail": "boom: the guest says no", "fail_twice": "second"} {
		_, err := fn(t, m, name).Call(context.Background(), frame(t, nil, nil))
		var ge *runtime.GuestError
		if !errors.As(err, &ge) || ge.Message != msg {
			t.Fatalf("%s: err = %v, want guest error %q", name, err, msg)
		}
		var ce *runtime.CallError
		if !errors.As(err, &ce) || ce.Module != "fixtures" || ce.Function != name {
			t.Fatalf("%s: err = %#v", name, err)
		}
		if want := name + " (module fixtures): " + msg; err.Error() != want {
			t.Fatalf("message %q, want %q", err, want)
		}
	}
}

func counter(t *testing.T, f *runtime.Function) int64 {
	t.Helper()
	res, err := f.Call(context.Background(), frame(t, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	v, _ := abi.Decode(res.Value)
	return v.(int64)
}

func TestCall_FailuresDiscardInstance(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "fixtures")
	count := fn(t, m, "counter")
	tests := []struct {
		fn   string
		is   error
		want string
	}{
		{"trap", runtime.ErrTrap, "trap (module fixtures): trap: wasm error: unreachable"},
		{"oob", runtime.ErrTrap, "oob (module fixtures): trap: wasm error: out of bounds memory access"},
		{"malformed", runtime.ErrMalformedResult, "malformed (module fixtures): malformed result: malformed msgpack at byte 0: reserved type byte 0xc1"},
		{"truncated", runtime.ErrMalformedResult, "truncated (module fixtures): malformed result: malformed msgpack at byte 0: 2 elements cannot fit in 1 bytes"},
		{"trailing", runtime.ErrMalformedResult, "trailing (module fixtures): malformed result: malformed msgpack at byte 1: 1 trailing bytes after the value"},
		{"outside", runtime.ErrMalformedResult, "outside (module fixtures): malformed result: frame [4294967040, 4294967552) lies outside guest memory of 131072 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.fn, func(t *testing.T) {
			if got := counter(t, count); got != 1 {
				t.Fatalf("fresh counter = %d", got)
			}
			if got := counter(t, count); got != 2 {
				t.Fatalf("reused counter = %d, want 2 (instance not reused)", got)
			}
			_, err := fn(t, m, tt.fn).Call(context.Background(), frame(t, nil, nil))
			if !errors.Is(err, tt.is) {
				t.Fatalf("err = %v, want %v", err, tt.is)
			}
			if err.Error() != tt.want {
				t.Fatalf("message\n got %s\nwant %s", err, tt.want)
			}
			if got := counter(t, count); got != 1 {
				t.Fatalf("counter after %s = %d, want 1: the failed instance was reused", tt.fn, got)
			}
			// leave no instance with state behind for the next subtest
			fn(t, m, "trap").Call(context.Background(), frame(t, nil, nil))
		})
	}
}

func TestCall_GuestErrorKeepsInstance(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "fixtures")
	count := fn(t, m, "counter")
	counter(t, count)
	if _, err := fn(t, m, "fail").Call(context.Background(), frame(t, nil, nil)); err == nil {
		t.Fatal("fail did not fail")
	}
	if got := counter(t, count); got != 2 {
		t.Fatalf("counter = %d, want 2", got)
	}
}

func TestCall_LoopInterrupted(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "fixtures")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := fn(t, m, "loop").Call(ctx, frame(t, nil, nil))
	if !errors.Is(err, runtime.ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want interrupted by deadline", err)
	}
	if want := "loop (module fixtures): interrupted: context deadline exceeded"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
	// The runtime is healthy afterwards.
	if got := counter(t, fn(t, m, "counter")); got != 1 {
		t.Fatalf("counter = %d", got)
	}
}

func TestCall_CancelledBeforeStart(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := fn(t, load(t, rt, "fixtures"), "const").Call(ctx, frame(t, nil, nil))
	if !errors.Is(err, runtime.ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestCall_Output(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	res, err := fn(t, load(t, rt, "fixtures"), "print").Call(context.Background(), frame(t, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "out line\n" || string(res.Stderr) != "err line\n" {
		t.Fatalf("stdout %q stderr %q", res.Stdout, res.Stderr)
	}
}

func TestCall_OutputCapped(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MaxOutput: 4})
	res, err := fn(t, load(t, rt, "fixtures"), "print").Call(context.Background(), frame(t, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if want := "out \n[mrun: 5 more bytes dropped]\n"; string(res.Stdout) != want {
		t.Fatalf("stdout %q, want %q", res.Stdout, want)
	}
}

func TestCall_Initialize(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	res, err := fn(t, load(t, rt, "initcount"), "get").Call(context.Background(), frame(t, nil, nil))
	if err != nil || !bytes.Equal(res.Value, []byte{42}) {
		t.Fatalf("get = % x, %v (want 2a: _initialize runs exactly once)", res.Value, err)
	}
}

func TestCall_AllocFails(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	_, err := fn(t, load(t, rt, "allocfail"), "x").Call(context.Background(), frame(t, nil, nil))
	if want := "x (module allocfail): allocator failed: mrun_alloc(256) returned 0: the guest is out of memory"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if !errors.Is(err, runtime.ErrAlloc) || !errors.Is(err, runtime.ErrMalformedResult) {
		t.Errorf("err = %v, want it to match ErrAlloc and, as before ErrAlloc, ErrMalformedResult", err)
	}
}

func TestCall_MemoryLimit(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MemoryLimitPages: 4})
	grow := fn(t, load(t, rt, "fixtures"), "grow")
	for _, tt := range []struct {
		pages int
		want  byte
	}{{1, 0xc3}, {1, 0xc3}, {1, 0xc2}} { // 2 pages after alloc, +1, +1, then the cap of 4
		res, err := grow.Call(context.Background(), frame(t, []any{tt.pages}, nil))
		if err != nil || !bytes.Equal(res.Value, []byte{tt.want}) {
			t.Fatalf("grow(%d) = % x, %v; want %x", tt.pages, res.Value, err, tt.want)
		}
	}
	if _, err := runtime.New(context.Background(), runtime.Config{MemoryLimitPages: 70000}); err == nil {
		t.Fatal("a limit above 4 GiB was accepted")
	}
}

func TestCall_Concurrent(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	echo := fn(t, load(t, rt, "fixtures"), "echo")
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				in := frame(t, []any{g, i, strings.Repeat("x", i)}, nil)
				res, err := echo.Call(context.Background(), in)
				if err != nil || !bytes.Equal(res.Value, in) {
					t.Errorf("echo: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestLoad_MemoryLimitBelowMinimum(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MemoryLimitPages: 16})
	_, err := rt.LoadFile(context.Background(), "../testdata/seed.wasm")
	if !errors.Is(err, runtime.ErrMemoryLimit) || !strings.HasPrefix(err.Error(), "module seed: memory limit too low for this module (16 pages of 64 KiB): ") {
		t.Fatalf("err = %v", err)
	}
}
