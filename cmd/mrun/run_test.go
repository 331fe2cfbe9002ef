package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// mrunStdin is mrun with stdin.
func mrunStdin(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"--cache-dir", sharedCache(t), "--result-cache", t.TempDir()}, args...)
	code := run(context.Background(), args, streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

func TestRun(t *testing.T) {
	const head = "modules: {f: ../../testdata/wat/fixtures.wasm}\ntasks:\n"
	tests := []struct {
		name, graph string
		args        []string
		out, errOut string
		code        int
	}{
		{"seed", "", []string{"../../examples/seed.yaml"},
			`{"incs":[1,2,3,4,5,6,7,8,9,10],"sum":55,"triage_sums":[0.6000000000000001,1.5]}` + "\n", "", 0},
		{"references in lists and maps", head + "  v: {call: f.pair, n_output: 2}\n  w: {call: f.echo, args: [{x: $v.0, y: [$v.1, $v]}, $$lit], kwargs: {k: $v.*}}\noutputs: {w: $w, both: [$v.1, {c: 1}]}\n", nil,
			`{"w":[[{"x":10,"y":[20,[10,20]]},"$lit"],{"k":[10,20]}],"both":[20,{"c":1}]}` + "\n", "", 0},
		{"every task is an output by default", head + "  c: {call: f.const}\n  t: {call: f.triple, n_output: 3}\n", nil,
			`{"c":[1,"two",3.5],"t":[1,2,3]}` + "\n", "", 0},
		{"guest output is prefixed with the task", head + "  p: {call: f.print, foreach: [a, b], args: [$item]}\n", []string{"-", "--workers", "1"},
			`{"p":[null,null]}` + "\n", "[p[0]] out line\n[p[0]] err line\n[p[1]] out line\n[p[1]] err line\n", 0},
		{"failure", head + "  a: {call: f.fail}\n  b: {call: f.echo, args: [$a]}\n", nil,
			"", "mrun: task a (f.fail, key 60721b16d0071d77dd499fbd10c89df7): boom: the guest says no (1 did not run)\n", 1},
		{"malformed result", head + "  m: {call: f.malformed}\n", nil,
			"", "mrun: task m (f.malformed, key ddcc92a80539f2627b9ddf31ac4296aa): malformed result: malformed msgpack at byte 0: reserved type byte 0xc1\n", 1},
		{"graph error", head + "  a: {call: f.echo, args: [$b]}\n", nil,
			"", "mrun: <stdin>:3:28: task \"a\": $b: no task named \"b\"\n", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"run"}, tt.args...)
			if len(tt.args) == 0 {
				args = append(args, "-")
			}
			out, errOut, code := mrunStdin(t, tt.graph, args...)
			if out != tt.out || errOut != tt.errOut || code != tt.code {
				t.Fatalf("got stdout %q stderr %q exit %d\nwant stdout %q stderr %q exit %d", out, errOut, code, tt.out, tt.errOut, tt.code)
			}
		})
	}
}
