package main

import "testing"

// Negative numbers are arguments of mrun call without "--"; the flags around them, and the
// values of flags that are negative numbers, read as before.
func TestCall_NegativeNumbers(t *testing.T) {
	const fixtures = "../../testdata/wat/fixtures.wasm"
	const seed = "../../testdata/seed.wasm"
	tests := []struct {
		name    string
		args    []string
		out     string
		errText string
		code    int
	}{
		{"integer", []string{"call", seed, "inc", "-5"}, "-4\n", "", 0},
		{"fraction and exponent", []string{"call", fixtures, "echo", "-1.5", "-1e3", "-0", "-2E-2"}, "[[-1.5,-1000,0,-0.02],{}]\n", "", 0},
		{"order kept among flags", []string{"call", fixtures, "echo", "1", "-2", "--quiet", "3", "-n", "1", "-4", "--kwargs", `{"k":-5}`},
			`[[1,-2,3,-4],{"k":-5}]` + "\n", "", 0},
		{"flags before the module", []string{"call", "-q", "--timeout", "1m", fixtures, "echo", "-1"}, "[[-1],{}]\n", "", 0},
		{"after --", []string{"call", fixtures, "echo", "-1", "--", "-2", "3"}, "[[-1,-2,3],{}]\n", "", 0},
		{"negative flag value", []string{"call", fixtures, "echo", "-1", "--retries", "-2"}, "", "mrun: --retries must not be negative, got -2\n", 2},
		{"negative flag value with =", []string{"call", fixtures, "echo", "-1", "--retries=-2"}, "", "mrun: --retries must not be negative, got -2\n", 2},
		{"negative shorthand value", []string{"call", fixtures, "echo", "-1", "-w", "-3"}, "", "mrun: --workers must be at least 1, got -3\n", 2},
		{"unknown shorthand", []string{"call", seed, "inc", "-5", "-x"}, "", "mrun: unknown shorthand flag: 'x' in -x (see 'mrun call --help')\n", 2},
		{"unknown flag", []string{"call", seed, "inc", "-5", "--frobnicate"}, "", "mrun: unknown flag: --frobnicate (see 'mrun call --help')\n", 2},
		{"not a JSON number", []string{"call", seed, "inc", "-.5"}, "", "mrun: unknown shorthand flag: '.' in -.5 (see 'mrun call --help')\n", 2},
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
