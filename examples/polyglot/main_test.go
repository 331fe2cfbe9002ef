package main

import (
	"bytes"
	"context"
	"testing"
)

func TestPolyglot(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, "../.."); err != nil {
		t.Fatal(err)
	}
	const want = `total (Rust sum_all of 10 C incs): 55
divmod (Zig): 7 6
joined (AssemblyScript add): 13
product (Go matmul): float64[2 2] [19 22 43 50]
summed (C tensor_sum): 134
answer (Go sum_all): 147
hello (Rust greet of a Zig concat): hi, wasm world!
`
	if out.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", out.String(), want)
	}
}
