package guests_test

import (
	"context"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
)

// BenchmarkCall calls inc(41) and greet("bob", greeting="hi") on a warm instance of every
// language's conformance module: the cost of one host→guest crossing with the SDK's decoding
// and encoding, on the default (interruptible) runtime and an uninterruptible one.
func BenchmarkCall(b *testing.B) {
	ctx := context.Background()
	inc, err := abi.EncodeFrame([]any{41}, nil)
	if err != nil {
		b.Fatal(err)
	}
	greet, err := abi.EncodeFrame([]any{"bob"}, map[string]any{"greeting": "hi"})
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []struct {
		name string
		cfg  runtime.Config
	}{{"interruptible", runtime.Config{}}, {"uninterruptible", runtime.Config{Uninterruptible: true}}} {
		mode.cfg.WaitForCompiler = true // measure compiled code, not the interpreter
		rt, err := runtime.New(ctx, mode.cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer rt.Close(ctx)
		for _, lang := range languages {
			fns := loadFuncs(b, rt, lang.module)
			for _, c := range []struct {
				fn    string
				frame []byte
			}{{"inc", inc}, {"greet", greet}} {
				f := fns(c.fn)
				b.Run(mode.name+"/"+lang.name+"/"+c.fn, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := f.Call(ctx, c.frame); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		}
	}
}
