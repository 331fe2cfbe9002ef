package mrun

import "testing"

func inc(x int) int { return x + 1 }

func sumInts(xs []any) (any, error) {
	var n int64
	for _, x := range xs {
		n += x.(int64)
	}
	return n, nil
}

// benchmarkCall measures the SDK's side of calls of fn: decode the frame, call, encode the
// result. The wasm build adds the host crossing, and runs the same code several times slower.
func benchmarkCall(b *testing.B, fn any, args []any, kw map[string]any) {
	benchmarkFrame(b, fn, frame(b, args, kw))
}

// benchmarkFrame is benchmarkCall on a frame encoded by hand.
func benchmarkFrame(b *testing.B, fn any, fr []byte) {
	c := newCodec()
	if _, err := c.call(fr, fn); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.call(fr, fn); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCall_inc is the direct path: func(int) int.
func BenchmarkCall_inc(b *testing.B) { benchmarkCall(b, inc, []any{41}, nil) }

// BenchmarkCall_incReflect is the same function on the reflective path.
func BenchmarkCall_incReflect(b *testing.B) { benchmarkCall(b, slowInc(inc), []any{41}, nil) }

// BenchmarkCall_add is a two-parameter function: the reflective path.
func BenchmarkCall_add(b *testing.B) { benchmarkCall(b, add, []any{1, 2}, nil) }

// BenchmarkCall_sum10 is sum_all's shape on ten integers: the direct path, with allocation.
func BenchmarkCall_sum10(b *testing.B) {
	benchmarkCall(b, sumInts, []any{[]any{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}, nil)
}

// BenchmarkCall_kwargs is a call with a keyword argument.
func BenchmarkCall_kwargs(b *testing.B) {
	benchmarkCall(b, powKw, []any{2}, map[string]any{"exp": 10})
}

func greetKw(name string, kw Kwargs) (string, error) {
	greeting, err := Kwarg(kw, "greeting", "hello")
	if err != nil {
		return "", err
	}
	punct, err := Kwarg(kw, "punct", "!")
	if err != nil {
		return "", err
	}
	return greeting + ", " + name + punct, nil
}

// BenchmarkCall_greet is the seed's greet("bob", greeting="hi"): a string and keywords, read
// with Kwarg.
func BenchmarkCall_greet(b *testing.B) {
	benchmarkCall(b, greetKw, []any{"bob"}, map[string]any{"greeting": "hi"})
}
