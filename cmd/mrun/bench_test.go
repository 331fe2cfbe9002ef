package main

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkRun_Fanout100k runs examples/fanout.yaml (100,000 inc calls and their sum) through
// the whole command: parse, expand, spawn, execute, fetch, print.
func BenchmarkRun_Fanout100k(b *testing.B) {
	cache := sharedCache(b)
	for b.Loop() {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{"--cache-dir", cache, "run", "../../examples/fanout.yaml"},
			streams{In: new(bytes.Buffer), Out: &out, Err: &errb})
		if code != 0 || out.String() != "{\"total\":5000050000}\n" {
			b.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
		}
	}
}
