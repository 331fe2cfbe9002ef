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
	args = append([]string{"--cache-dir", sharedCache(t), "--result-cache", t.TempDir()}, args...)
	code := run(context.Background(), args, streams{In: new(bytes.Buffer), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

func TestCall(t *testing.T) {
	const fixtures = "../../testdata/wat/fixtures.wasm"
	tests := []struct {
		name    string
		args    []string
		out     string
		errText string
		code    int
	}{
		{"inc", []string{"call", "../../testdata/seed.wasm", "inc", "0"}, "1\n", "", 0},
		// 100,001 tasks: the default task budget scales with the machine (dag.DefaultMaxTasks)
		{"100k nested children with default flags", []string{"call", "--no-cache", "-q", "../../testdata/seed.wasm", "fanout", "100000"}, "5000050000\n", "", 0},
		{"triage", []string{"call", "../../testdata/seed.wasm", "triage", "[0.4,0.7,0.2,0.8]", "--n-output", "2"}, "[[0.4,0.2],[0.7,0.8]]\n", "", 0},
		{"n-output", []string{"call", fixtures, "pair", "--n-output", "2"}, "[10,20]\n", "", 0},
		{"echo frame", []string{"call", fixtures, "echo", "1", `{"b":[1.5,"x"],"a":null}`}, `[[1,{"a":null,"b":[1.5,"x"]}],{}]` + "\n", "", 0},
		{"kwargs", []string{"call", fixtures, "echo", "--kwargs", `{"exp": 10}`}, `[[],{"exp":10}]` + "\n", "", 0},
		{"guest output goes to stderr", []string{"call", fixtures, "print"}, "null\n", "out line\nerr line\n", 0},
		{"quiet", []string{"call", "--quiet", fixtures, "print"}, "null\n", "", 0},
		{"guest error", []string{"call", fixtures, "fail"}, "",
			"mrun: task fail (fixtures.fail, key 60721b16d0071d77dd499fbd10c89df7): boom: the guest says no\n", 1},
		{"trap", []string{"call", fixtures, "trap"}, "",
			"mrun: task trap (fixtures.trap, key cfc94765d6d912c6bbe8e8a1fb01bdd0): trap: wasm error: unreachable\n", 1},
		{"unknown function", []string{"call", "../../testdata/wat/abi_example.wasm", "dec"}, "",
			"mrun: module abi_example: unknown function \"dec\" (it has: inc)\n", 2},
		{"bad argument", []string{"call", "../../testdata/seed.wasm", "inc", "{oops"}, "",
			"mrun: argument 1 (\"{oops\") is not JSON: invalid character 'o' looking for beginning of object key string\n", 2},
		{"bad kwargs", []string{"call", fixtures, "echo", "--kwargs", "[1]"}, "",
			"mrun: --kwargs \"[1]\" is not a JSON object\n", 2},
		{"missing module", []string{"call", "nope.wasm", "inc"}, "",
			"mrun: module nope: open nope.wasm: no such file or directory\n", 2},
		{"not wasm", []string{"call", "call_test.go", "inc"}, "",
			"mrun: module call_test.go: not a WebAssembly module: missing the \\0asm magic number\n", 2},
		{"too few args", []string{"call", "x.wasm"}, "", "mrun: call needs a MODULE and a FUNCTION (see 'mrun call --help')\n", 2},
		{"unknown flag", []string{"call", "--frobnicate"}, "", "mrun: unknown flag: --frobnicate (see 'mrun call --help')\n", 2},
		{"bad workers", []string{"call", "--workers", "-1", fixtures, "pair"}, "", "mrun: --workers must be at least 1, got -1\n", 2},
		{"bad n-output", []string{"call", "--n-output", "0", fixtures, "pair"}, "", "mrun: --n-output must be at least 1, got 0\n", 2},
		{"bad memory limit", []string{"call", "--memory-limit", "lots", fixtures, "pair"}, "",
			"mrun: invalid argument \"lots\" for \"--memory-limit\" flag: \"lots\" is not a size like 64MiB or 1GiB (see 'mrun call --help')\n", 2},
		{"retries", []string{"call", "../../testdata/wat/flaky.wasm", "flaky", "--retries", "2"}, "3\n", "", 0},
		{"too few retries", []string{"call", "../../testdata/wat/flaky.wasm", "flaky", "--retries", "1"}, "",
			"mrun: task flaky (flaky.flaky, key 3ba8c96577b41da8985ad5aa05a50ebb): failed 2 attempts, last: flaky: not yet\n", 1},
		{"task timeout", []string{"call", fixtures, "loop", "--task-timeout", "50ms"}, "",
			"mrun: task loop (fixtures.loop, key 2b71bde084676e41e9610a5cee12db09): interrupted: task timeout of 50ms exceeded (raise it with --task-timeout, or timeout: in a graph file)\n", 1},
		{"env", []string{"call", "../../testdata/seed.wasm", "getenv", `"K"`, "--env", "K=v=w"}, `["v=w",true]` + "\n", "", 0},
		{"bad env", []string{"call", fixtures, "pair", "--env", "K"}, "", "mrun: --env \"K\": want NAME=VALUE, as in --env HOME=/home/ann\n", 2},
		{"bad mount", []string{"call", fixtures, "pair", "--mount", "/tmp"}, "",
			"mrun: --mount \"/tmp\": want HOST:GUEST with GUEST an absolute path, as in --mount ./data:/data\n", 2},
		{"bad retries", []string{"call", "--retries", "-1", fixtures, "pair"}, "", "mrun: --retries must not be negative, got -1\n", 2},
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

func TestByteSize_Set(t *testing.T) {
	tests := []struct {
		in  string
		n   int
		err string
	}{
		{"1", 1, ""},
		{"100000", 100000, ""},
		{"1KiB", 1024, ""},
		{"1MB", 1 << 20, ""},
		{"4GiB", 4 << 30, ""},
		{"0", 0, "0 is too small: the limit must be at least 1 byte"},
		{"5GiB", 0, "5GiB is more than 4GiB, the WebAssembly maximum"},
		{"-1", 0, `"-1" is not a size like 64MiB or 1GiB`},
	}
	for _, tt := range tests {
		var b byteSize
		err := b.Set(tt.in)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.err || b.n != tt.n {
			t.Errorf("Set(%q): %d bytes, error %q; want %d, %q", tt.in, b.n, got, tt.n, tt.err)
		}
	}
}

func TestMemSize_Set(t *testing.T) {
	tests := []struct {
		in    string
		pages uint32
		err   string
	}{
		{"64KiB", 1, ""},
		{"65536", 1, ""},
		{"100000", 1, ""}, // rounds down to whole pages
		{"1MiB", 16, ""},
		{"1M", 16, ""},
		{"4GiB", 65536, ""},
		{"5GiB", 0, "5GiB is more than 4GiB, the WebAssembly maximum"},
		{"1KiB", 0, "1KiB is less than one 64KiB page"},
		{"1TiB", 0, `"1TiB" is not a size like 64MiB or 1GiB`},
		{"", 0, `"" is not a size like 64MiB or 1GiB`},
	}
	for _, tt := range tests {
		var m memSize
		err := m.Set(tt.in)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.err || m.pages != tt.pages {
			t.Errorf("Set(%q): pages %d, error %q; want %d, %q", tt.in, m.pages, got, tt.pages, tt.err)
		}
	}
}
