package main

import (
	"strings"
	"testing"
)

// A scale run checks the sum and prints one benchmark line with every metric benchfmt reads.
func TestScale(t *testing.T) {
	for _, tc := range []struct {
		args []string
		name string
	}{
		{[]string{"c=../../testdata/c/conformance.wasm", "100"}, "BenchmarkScale/mrun-c/n=100\t1\t"},
		{[]string{"-goroutines", "c=unused", "100"}, "BenchmarkScale/goroutines/n=100\t1\t"},
	} {
		var out strings.Builder
		if err := scale(tc.args, &out); err != nil {
			t.Fatalf("scale %v: %v", tc.args, err)
		}
		line := out.String()
		if !strings.HasPrefix(line, tc.name) || strings.Count(line, "\n") != 1 {
			t.Errorf("scale %v printed %q", tc.args, line)
		}
		for _, unit := range []string{" ns/op", " ns/task", " tasks/s", " peak-KiB", " B/task"} {
			if !strings.Contains(line, unit) {
				t.Errorf("scale %v printed no%s: %q", tc.args, unit, line)
			}
		}
	}
}

func TestScale_Usage(t *testing.T) {
	for _, args := range [][]string{
		{"../../testdata/c/conformance.wasm", "100"}, // no NAME=
		{"c=../../testdata/c/conformance.wasm", "0"},
		{"c=../../testdata/c/conformance.wasm"},
		{"c=no/such.wasm", "10"},
	} {
		if err := scale(args, new(strings.Builder)); err == nil {
			t.Errorf("scale %v succeeded", args)
		}
	}
}

func TestDistributed_Usage(t *testing.T) {
	for _, args := range [][]string{
		{"mrun", "c=../../testdata/c/conformance.wasm"}, // no N
		{"mrun", "../../testdata/c/conformance.wasm", "100"},
		{"mrun", "c=../../testdata/c/conformance.wasm", "0"},
		{"-workers", "0", "mrun", "c=../../testdata/c/conformance.wasm", "100"},
	} {
		if err := distributed(args, new(strings.Builder)); err == nil {
			t.Errorf("distributed %v succeeded", args)
		}
	}
}

// timeRun checks what the command printed and times its result no later than its exit.
func TestTimeRun(t *testing.T) {
	result, exit, err := timeRun(t.TempDir(), "2\n", "sh", "-c", "echo 2")
	if err != nil || result <= 0 || result > exit {
		t.Fatalf("timeRun = %v, %v, %v; want a result no later than the exit", result, exit, err)
	}
	_, _, err = timeRun(t.TempDir(), "3\n", "sh", "-c", "echo 2")
	if want := `sh -c echo 2 printed "2\n", want "3\n"`; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}
