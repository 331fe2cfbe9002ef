package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mrunCached runs mrun with the result cache in dir, and stdin.
func mrunCached(t *testing.T, dir, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"--cache-dir", sharedCache(t), "--result-cache", dir}, args...)
	code := run(context.Background(), args, streams{In: strings.NewReader(stdin), Out: &out, Err: &errb})
	return out.String(), errb.String(), code
}

// A graph run again is answered from the result cache without running a call, with the same
// output; --no-cache runs it; a changed graph file runs again.
func TestResultCache_Rerun(t *testing.T) {
	dir := t.TempDir()
	graph := "../../examples/seed.yaml"
	want := `{"incs":[1,2,3,4,5,6,7,8,9,10],"sum":55,"triage_sums":[0.6000000000000001,1.5]}` + "\n"
	for i, args := range [][]string{
		{"run", graph, "--progress"},
		{"run", graph, "--progress"},
		{"run", graph, "--progress", "--no-cache"},
	} {
		out, errOut, code := mrunCached(t, dir, "", args...)
		if out != want || code != 0 {
			t.Fatalf("run %d: %q, %q, exit %d", i, out, errOut, code)
		}
		ranNothing := errOut == "outputs from the result cache: no call ran\n"
		if ranNothing != (i == 1) {
			t.Fatalf("run %d (%v): progress %q", i, args, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "README")); err != nil {
		t.Fatalf("the cache directory was not made: %v", err)
	}

	// The same graph from stdin, with another output: its calls are cached, its plan is not.
	src, err := os.ReadFile(graph)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(src), "../testdata/", "../../testdata/", -1) + "\n# changed\n"
	out, errOut, code := mrunCached(t, dir, changed, "run", "-", "--progress")
	if out != want || code != 0 || !strings.Contains(errOut, " from the result cache") {
		t.Fatalf("changed graph: %q, %q, exit %d", out, errOut, code)
	}
}

// Tasks marked pure: false run each time, in one run and across runs; identical tasks that read
// the clock run once, with a notice, and are never served from the result cache.
func TestResultCache_Impure(t *testing.T) {
	dir := t.TempDir()
	const impure = "modules: {seed: ../../testdata/seed.wasm}\ntasks:\n  a: {call: seed.clock, pure: false}\n  b: {call: seed.clock, pure: false}\n"
	const merged = "modules: {seed: ../../testdata/seed.wasm}\ntasks:\n  a: {call: seed.clock}\n  b: {call: seed.clock}\n"
	clocks := func(graph string) (a, b, errOut string) {
		t.Helper()
		out, errOut, code := mrunCached(t, dir, graph, "run", "-")
		var v map[string]json.RawMessage
		if code != 0 || json.Unmarshal([]byte(out), &v) != nil {
			t.Fatalf("%q, %q, exit %d", out, errOut, code)
		}
		return string(v["a"]), string(v["b"]), errOut
	}
	a1, b1, errOut := clocks(impure)
	if a1 == b1 || errOut != "" {
		t.Fatalf("pure: false: a = %s, b = %s, stderr %q", a1, b1, errOut)
	}
	a2, _, _ := clocks(impure)
	if a2 == a1 {
		t.Fatalf("a second run gave the first run's reading %s", a1)
	}
	const notice = "mrun: notice: identical calls ran once although they read the clock, randomness or files, so they share one value: a, b (read clock); give such a task pure: false to run each call\n"
	m1, n1, errOut := clocks(merged)
	if m1 != n1 || errOut != notice {
		t.Fatalf("merged: a = %s, b = %s, stderr %q", m1, n1, errOut)
	}
	if m2, _, _ := clocks(merged); m2 == m1 {
		t.Fatalf("a second run of the merged graph was served the first's reading %s", m1)
	}
}

// A bad value for pure: is a mistake in the file.
func TestResultCache_PureField(t *testing.T) {
	out, errOut, code := mrunCached(t, t.TempDir(), "modules: {seed: ../../testdata/seed.wasm}\ntasks:\n  a: {call: seed.clock, pure: no}\n", "run", "-")
	const want = "mrun: <stdin>:3:31: task \"a\": pure must be true or false (false: the call's result may differ from run to run; each call runs, and nothing is cached)\n"
	if out != "" || errOut != want || code != 2 {
		t.Fatalf("%q, %q, exit %d; want %q", out, errOut, code, want)
	}
}
