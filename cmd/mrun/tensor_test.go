package main

import (
	"encoding/json"
	"math"
	"testing"
)

// tensorGraph reduces chunked tensors with mrun:tensor, built into every mrun: the sum of a
// seeded random 600 × 600 tensor in 200 × 200 chunks, a matmul summed whose operands are cut
// in ragged chunks (40 rows in 16, 16 and 8; 30 in 7, 7, 7, 7 and 2), and the mean of a
// 12-element range in chunks of 5, 5 and 2.
const tensorGraph = `modules: {t: "mrun:tensor"}
tasks:
  total: {call: t.eval, args: [{op: sum, axis: null, x: {op: rand, shape: [600, 600], seed: 7, chunks: [200, 200]}}]}
  mm: {call: t.eval, args: [{op: sum, x: {op: matmul, x: {op: ones, shape: [40, 30], chunks: [16, 7]}, y: {op: full, shape: [30, 20], value: 2.0, chunks: [7, 9]}}}]}
  means: {call: t.eval, args: [{op: mean, axis: 0, x: {op: arange, start: 0, stop: 12, chunks: [5]}}]}
outputs: {total: $total, mm: $mm, means: $means}
`

// checkTensorOutputs checks the graph's numbers: the chunked random sum against the same sum
// in one chunk (rand depends only on the seed and each element's index; the order of the
// additions differs), the others exactly.
func checkTensorOutputs(t *testing.T, out string) {
	t.Helper()
	one := `modules: {t: "mrun:tensor"}
tasks:
  total: {call: t.eval, args: [{op: sum, axis: null, x: {op: rand, shape: [600, 600], seed: 7, chunks: [600, 600]}}]}
outputs: {total: $total}
`
	ref, errOut, code := mrunStdin(t, one, "run", "-")
	if code != 0 {
		t.Fatalf("one chunk: exit %d: %s", code, errOut)
	}
	var got, want struct {
		Total float64
		MM    float64
		Means float64
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if err := json.Unmarshal([]byte(ref), &want); err != nil {
		t.Fatalf("%q: %v", ref, err)
	}
	if math.Abs(got.Total-want.Total) > 1e-12*want.Total || got.Total < 170000 || got.Total > 190000 {
		t.Errorf("sum of rand(600, 600) in 200 × 200 chunks = %v, in one chunk %v", got.Total, want.Total)
	}
	if got.MM != 48000 || got.Means != 5.5 {
		t.Errorf("sum(ones(40, 30) @ full(30, 20, 2.0)) = %v, want 48000; mean(arange(12)) = %v, want 5.5", got.MM, got.Means)
	}
}

// A graph file computes with chunked tensors in process, with one slot (the planner gives its
// slot back while its chunk tasks run), and gets the same numbers on a cluster of two workers.
func TestRun_Tensor(t *testing.T) {
	want, errOut, code := mrunStdin(t, tensorGraph, "run", "--workers", "1", "--no-cache", "-")
	if code != 0 {
		t.Fatalf("in process: stdout %q stderr %q exit %d", want, errOut, code)
	}
	checkTensorOutputs(t, want)

	url := inProcessCluster(t, 2, 2)
	// The same chunks, added in the same tree: the same bits.
	out, errOut, code := mrunStdin(t, tensorGraph, "run", "--cluster", url, "-")
	if out != want || code != 0 {
		t.Fatalf("on a cluster: stdout %q stderr %q exit %d, want %q", out, errOut, code, want)
	}
}

// mrun call reaches a native module by its name, as a graph file does, and refuses the
// capabilities it cannot have.
func TestCall_Tensor(t *testing.T) {
	for _, c := range []struct {
		args     []string
		out, err string
		code     int
	}{
		{[]string{"call", "mrun:tensor", "eval", `{"op":"add","x":{"op":"arange","stop":4},"y":{"$tensor":{"dtype":"float64","shape":[4],"data":[0.5,0.5,0.5,0.5]}}}`},
			`{"$tensor":{"dtype":"float64","shape":[4],"data":[0.5,1.5,2.5,3.5]}}` + "\n", "", 0},
		{[]string{"call", "mrun:tensor", "eval", `{"op":"max","x":{"op":"arange","stop":10,"chunks":[3]}}`}, "9\n", "", 0},
		{[]string{"call", "--env", "A=1", "mrun:tensor", "eval", "1"}, "",
			"mrun: mrun:tensor is a native module, built into mrun: it takes no --env, --mount, --deterministic or --memory-limit\n", 2},
		{[]string{"call", "mrun:nope", "f"}, "", "mrun: no native module mrun:nope is built into this mrun\n", 2},
	} {
		out, errOut, code := mrunStdin(t, "", c.args...)
		if out != c.out || errOut != c.err || code != c.code {
			t.Errorf("mrun %q: stdout %q stderr %q exit %d, want %q %q %d", c.args, out, errOut, code, c.out, c.err, c.code)
		}
	}
}
