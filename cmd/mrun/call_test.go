package main

import (
	"bytes"
	"context"
	"testing"
)

// mrun runs the command line in-process and returns stdout, stderr and the exit code.
func mrun(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"--cache-dir", t.TempDir()}, args...)
	code := run(context.Background(), args, streams{In: new(bytes.Buffer), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

func TestCall(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		out     string
		errText string
		code    int
	}{
		{"inc", []string{"call", "../../testdata/seed.wasm", "inc", "0"}, "1\n", "", 0},
		{"triage", []string{"call", "../../testdata/seed.wasm", "triage", "[0.4,0.7,0.2,0.8]"}, "[[0.4,0.2],[0.7,0.8]]\n", "", 0},
		{"echo frame", []string{"call", "../../testdata/wat/fixtures.wasm", "echo", "1", `{"b":[1.5,"x"],"a":null}`}, `[[1,{"a":null,"b":[1.5,"x"]}],{}]` + "\n", "", 0},
		{"guest output goes to stderr", []string{"call", "../../testdata/wat/fixtures.wasm", "print"}, "null\n", "out line\nerr line\n", 0},
		{"guest error", []string{"call", "../../testdata/wat/fixtures.wasm", "fail"}, "",
			"mrun: task fail (key 60721b16d0071d77dd499fbd10c89df7, module fixtures): boom: the guest says no\n", 1},
		{"trap", []string{"call", "../../testdata/wat/fixtures.wasm", "trap"}, "",
			"mrun: task trap (key cfc94765d6d912c6bbe8e8a1fb01bdd0, module fixtures): trap: wasm error: unreachable\n", 1},
		{"unknown function", []string{"call", "../../testdata/wat/abi_example.wasm", "dec"}, "",
			"mrun: module abi_example: unknown function \"dec\" (it has: inc)\n", 2},
		{"bad argument", []string{"call", "../../testdata/seed.wasm", "inc", "{oops"}, "",
			"mrun: argument 1 (\"{oops\") is not JSON: invalid character 'o' looking for beginning of object key string\n", 2},
		{"missing module", []string{"call", "nope.wasm", "inc"}, "",
			"mrun: module nope: open nope.wasm: no such file or directory\n", 2},
		{"not wasm", []string{"call", "call_test.go", "inc"}, "",
			"mrun: module call_test.go: not a WebAssembly module: missing the \\0asm magic number\n", 2},
		{"too few args", []string{"call", "x.wasm"}, "", "mrun: call needs a MODULE and a FUNCTION (see 'mrun call --help')\n", 2},
		{"unknown flag", []string{"call", "--frobnicate"}, "", "mrun: unknown flag: --frobnicate (see 'mrun call --help')\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errText, code := mrun(t, tt.args...)
			if out != tt.out || errText != tt.errText || code != tt.code {
				t.Fatalf("got stdout %q stderr %q exit %d\nwant stdout %q stderr %q exit %d", out, errText, code, tt.out, tt.errText, tt.code)
			}
		})
	}
}
