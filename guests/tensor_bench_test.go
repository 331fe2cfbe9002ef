package guests_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// tensorElems is the element count of the 64 MiB float64 tensor the hand-off benchmarks move.
const tensorElems = 8 << 20

// loadFuncs loads the module at path (from the repository root) into rt and returns its
// functions by name.
func loadFuncs(tb testing.TB, rt *runtime.Runtime, path string) func(string) *runtime.Function {
	tb.Helper()
	mod, err := rt.LoadFile(context.Background(), filepath.Join("..", path))
	if err == nil {
		err = mod.WaitCompiled(context.Background()) // measure compiled code, not the interpreter
	}
	if err != nil {
		tb.Fatal(err)
	}
	return func(name string) *runtime.Function {
		f, err := mod.Func(name)
		if err != nil {
			tb.Fatal(err)
		}
		return f
	}
}

// BenchmarkTensorHandoff moves a 64 MiB float64 tensor from one task to the next. The
// producer and consumer (testdata/wat/tensorbench.wasm) do no work of their own, so the time
// is mrun's: copying the result out of the producer's memory and the argument into the
// consumer's. "produce" runs the producer alone, to split the two. The *_sum variants read
// every element in the consumer with each language's tensor_sum, for scale. SetBytes makes go test
// report the tensor's throughput in MB/s.
func BenchmarkTensorHandoff(b *testing.B) {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close(ctx)
	tb := loadFuncs(b, rt, "testdata/wat/tensorbench.wasm")
	eng := dag.New(dag.Config{Slots: 1})
	run := func(b *testing.B, consumer *runtime.Function, check func(any) bool) {
		b.SetBytes(tensorElems * 8)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			src := dag.Spawn(tb("make"), tensorElems, i)
			out := src
			if consumer != nil {
				out = dag.Spawn(consumer, src)
			}
			if err := eng.Execute(ctx, out); err != nil {
				b.Fatal(err)
			}
			if consumer != nil {
				v, err := eng.FetchAll(ctx, out)
				if err != nil || !check(v[0]) {
					b.Fatalf("consumer returned %v, %v", v, err)
				}
			}
			eng.Forget(src, out)
		}
	}
	b.Run("produce", func(b *testing.B) { run(b, nil, nil) })
	b.Run("handoff", func(b *testing.B) {
		run(b, tb("consume"), func(v any) bool { return v == int64(tensorElems) })
	})
	for _, lang := range []struct{ name, path string }{
		{"go_sum", "testdata/seed.wasm"},
		{"c_sum", "testdata/c/conformance.wasm"},
		{"rust_sum", "testdata/rust/conformance.wasm"},
		{"zig_sum", "testdata/zig/conformance.wasm"},
		{"as_sum", "testdata/assemblyscript/conformance.wasm"},
		{"wat_sum", "testdata/wat/conformance.wasm"},
	} {
		b.Run(lang.name, func(b *testing.B) {
			sum := loadFuncs(b, rt, lang.path)("tensor_sum")
			run(b, sum, func(v any) bool { return v == 0.0 })
		})
	}
}

// The benchmark's producer gives a tensor of the size it was asked for.
func TestTensorBenchModule(t *testing.T) {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	tb := loadFuncs(t, rt, "testdata/wat/tensorbench.wasm")
	eng := dag.New(dag.Config{})
	src := dag.Spawn(tb("make"), 1000, 0)
	n := dag.Spawn(tb("consume"), src)
	vs, err := eng.FetchAll(ctx, src, n)
	if err == nil {
		t.Fatal("fetch before execute succeeded")
	}
	if err := eng.Execute(ctx, n); err != nil {
		t.Fatal(err)
	}
	if vs, err = eng.FetchAll(ctx, src, n); err != nil {
		t.Fatal(err)
	}
	tn, ok := vs[0].(abi.Tensor)
	if !ok || tn.String() != "float64[1000]" || vs[1] != int64(1000) {
		t.Fatalf("make(1000) = %v, consume = %v", vs[0], vs[1])
	}
	bad := dag.Spawn(tb("consume"), "not a tensor")
	if err := eng.Execute(ctx, bad); err == nil || !guestIs(err, "consume wants one float64 tensor of one dimension") {
		t.Fatalf("consume of a string: %v", err)
	}
}

func guestIs(err error, msg string) bool { return guestError(msg)(err) == nil }
