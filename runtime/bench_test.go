package runtime_test

import (
	"context"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
)

// BenchmarkCall measures one pooled call of the seed's inc(1) with a cancellable context, the
// host→guest→host round trip the engine pays per task.
func BenchmarkCall(b *testing.B) {
	for _, tc := range []struct {
		name        string
		cfg         runtime.Config
		interpreted bool
	}{
		{"interruptible", runtime.Config{}, false},
		{"uninterruptible", runtime.Config{Uninterruptible: true}, false},
		{"interpreted", runtime.Config{}, true}, // the first tier of a cold load
	} {
		b.Run(tc.name, func(b *testing.B) {
			rt, err := runtime.New(context.Background(), tc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close(context.Background())
			if tc.interpreted {
				runtime.StayInterpreted(rt)
			}
			m, err := rt.LoadFile(context.Background(), "../testdata/seed.wasm")
			if err == nil {
				err = m.WaitCompiled(context.Background()) // measure compiled code, not the interpreter
			}
			if err != nil {
				b.Fatal(err)
			}
			inc, _ := m.Func("inc")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			frame := []byte{0x92, 0x91, 0x01, 0x80}
			b.ReportAllocs()
			for b.Loop() {
				res, err := inc.Call(ctx, frame)
				if err != nil || len(res.Value) != 1 || res.Value[0] != 2 {
					b.Fatalf("inc(1) = %v, %v", res.Value, err)
				}
			}
		})
	}
}

// BenchmarkLoad measures a cold load, with no compilation cache, of the C and Go guests: on
// the interpreter (the first tier) and with the compiler (Config.WaitForCompiler). Each
// iteration starts a runtime, loads the module and closes the runtime.
func BenchmarkLoad(b *testing.B) {
	for _, guest := range []struct{ name, path string }{
		{"c", "../testdata/c/conformance.wasm"},
		{"go", "../testdata/seed.wasm"},
	} {
		for _, interpreted := range []bool{true, false} {
			tier := "compiled"
			if interpreted {
				tier = "interpreted"
			}
			b.Run(guest.name+"/"+tier, func(b *testing.B) {
				for b.Loop() {
					rt, err := runtime.New(context.Background(), runtime.Config{WaitForCompiler: !interpreted})
					if err != nil {
						b.Fatal(err)
					}
					if interpreted {
						runtime.StayInterpreted(rt)
					}
					if _, err := rt.LoadFile(context.Background(), guest.path); err != nil {
						b.Fatal(err)
					}
					rt.Close(context.Background())
				}
			})
		}
	}
}

// BenchmarkCallSumAll measures a call that loops, the C guest's sum_all over 10,000 integers,
// on compiled code and on the interpreter, the first tier of a cold load.
func BenchmarkCallSumAll(b *testing.B) {
	xs := make([]any, 10000)
	want := int64(0)
	for i := range xs {
		xs[i] = i
		want += int64(i)
	}
	frame, err := abi.EncodeFrame([]any{xs}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, interpreted := range []bool{false, true} {
		name := "compiled"
		if interpreted {
			name = "interpreted"
		}
		b.Run(name, func(b *testing.B) {
			rt, err := runtime.New(context.Background(), runtime.Config{WaitForCompiler: !interpreted})
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close(context.Background())
			if interpreted {
				runtime.StayInterpreted(rt)
			}
			m, err := rt.LoadFile(context.Background(), "../testdata/c/conformance.wasm")
			if err != nil {
				b.Fatal(err)
			}
			sumAll, err := m.Func("sum_all")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for b.Loop() {
				res, err := sumAll.Call(ctx, frame)
				if err != nil {
					b.Fatal(err)
				}
				if v, err := abi.Decode(res.Value); err != nil || v != want {
					b.Fatalf("sum_all = %v, %v; want %d", v, err, want)
				}
			}
		})
	}
}
