package runtime_test

import (
	"context"
	"testing"

	"github.com/mrun-dev/mrun/runtime"
)

// BenchmarkCall measures one pooled call of the seed's inc(1) with a cancellable context, the
// host→guest→host round trip the engine pays per task.
func BenchmarkCall(b *testing.B) {
	for _, tc := range []struct {
		name string
		cfg  runtime.Config
	}{{"interruptible", runtime.Config{}}, {"uninterruptible", runtime.Config{Uninterruptible: true}}} {
		b.Run(tc.name, func(b *testing.B) {
			rt, err := runtime.New(context.Background(), tc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close(context.Background())
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
