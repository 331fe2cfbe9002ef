package graphfile

import (
	"context"
	"fmt"
	"path/filepath"
	goruntime "runtime"
	"testing"

	"github.com/mrun-dev/mrun/runtime"
)

// TestParseGraph_CallLimit checks that a graph over --max-calls is refused from the counts in
// the file, before any call is planned, with a message naming the flag.
func TestParseGraph_CallLimit(t *testing.T) {
	tests := []struct {
		name, tasks string
		limit       int
		want        string
	}{
		{"one range", "  u: {call: seed.inc, foreach: {range: 10000001}, args: [$item]}\n", 10_000_000,
			`g.yaml:3:3: task "u": the graph expands to 10000001 calls, more than the limit of 10000000 (raise it with --max-calls; each call takes about 1.6 KiB)`},
		{"under the limit, then over it", "  a: {call: seed.inc, foreach: {range: 9999999}, args: [$item]}\n  b: {call: seed.inc, foreach: {range: 2}}\n", 10_000_000,
			`g.yaml:4:3: task "b": the graph expands to 10000001 calls, more than the limit of 10000000 (raise it with --max-calls; each call takes about 1.6 KiB)`},
		{"the sum of tasks", "  a: {call: seed.inc, foreach: {range: [0, 12, 2]}}\n  b: {call: seed.inc, foreach: [1, 2, 3, 4]}\n  c: {call: seed.inc}\n", 10,
			`g.yaml:5:3: task "c": the graph expands to 11 calls, more than the limit of 10 (raise it with --max-calls; each call takes about 1.6 KiB)`},
		{"foreach over a foreach", "  a: {call: seed.inc, foreach: {range: 6}}\n  b: {call: seed.inc, foreach: $a, args: [$item]}\n", 11,
			`g.yaml:4:3: task "b": the graph expands to 12 calls, more than the limit of 11 (raise it with --max-calls; each call takes about 1.6 KiB)`},
		{"foreach over outputs", "  a: {call: seed.inc, foreach: {range: 2}, n_output: 3}\n  b: {call: seed.inc, foreach: $a.*.1, args: [$item]}\n  c: {call: seed.inc, foreach: $a.1, args: [$item]}\n  d: {call: seed.inc, foreach: $a, args: [$item]}\n", 8,
			`g.yaml:6:3: task "d": the graph expands to 9 calls, more than the limit of 8 (raise it with --max-calls; each call takes about 1.6 KiB)`},
		{"outputs", "  a: {call: seed.inc, foreach: {range: 3}, n_output: 4}\n", 11,
			`g.yaml:3:3: task "a": 3 calls of n_output 4 make more than 11 outputs, the limit (raise it with --max-calls; each output takes about 1.6 KiB)`},
		{"a huge range", "  u: {call: seed.inc, foreach: {range: [-9223372036854775807, 9223372036854775807]}}\n", 1000,
			`g.yaml:3:3: task "u": the graph expands to 4611686018427387903 calls, more than the limit of 1000 (raise it with --max-calls; each call takes about 1.6 KiB)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := []byte(graphHead + tt.tasks)
			var err error
			before := heapAlloc()
			allocs := testing.AllocsPerRun(1, func() { _, err = parseGraphLimit("g.yaml", src, ".", tt.limit) })
			used := heapAlloc() - before
			if err == nil || err.Error() != tt.want {
				t.Fatalf("error %v, want %s", err, tt.want)
			}
			// Refused from the counts: nothing proportional to the calls was allocated.
			if allocs > 2000 || used > 1<<20 {
				t.Errorf("refusing the graph took %.0f allocations and %d bytes, want no more than the file's", allocs, used)
			}
		})
	}
}

// heapAlloc is the bytes allocated on the heap so far by the process.
func heapAlloc() uint64 {
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.TotalAlloc
}

// heapLive is the bytes live on the heap after a collection.
func heapLive() uint64 {
	goruntime.GC()
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestPlanMemory measures the memory one planned call of a graph file holds: parsed, expanded
// and spawned, before it runs. CallBytes, the figure --max-calls and docs/graph-format.md
// quote, adds the engine's state of a running task and the collector's headroom to it.
func TestPlanMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("plans 100,000 calls")
	}
	const n = 100_000
	src := fmt.Appendf(nil, "modules: {seed: %s}\ntasks:\n  incs: {call: seed.inc, foreach: {range: %d}, args: [$item]}\n  total: {call: seed.sum_all, args: [$incs]}\n",
		filepath.Join("..", "testdata", "seed.wasm"), n)
	ctx := context.Background()
	// The compiler must not allocate in the background while the heap is measured.
	rt, err := runtime.New(ctx, runtime.Config{WaitForCompiler: true})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	base := heapLive()
	g, err := parseGraph("g.yaml", src, ".")
	if err != nil {
		t.Fatal(err)
	}
	parsed := heapLive()
	seed, err := rt.LoadFile(ctx, filepath.Join("..", "testdata", "seed.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := g.Plan(map[string]*runtime.Module{"seed": seed}, nil)
	if err != nil {
		t.Fatal(err)
	}
	spawned := heapLive()
	goruntime.KeepAlive(objs)
	goruntime.KeepAlive(g)
	perParsed := float64(parsed-base) / n
	perCall := float64(spawned-base) / n
	t.Logf("planned memory per call: %.0f B parsed and expanded, %.0f B spawned (%d calls)", perParsed, perCall, n)
	if perCall > 1024 {
		t.Errorf("a planned call holds %.0f B, more than the 1 KiB CallBytes (%d B with the run) allows for: measure a run and update CallBytes and docs/graph-format.md", perCall, CallBytes)
	}
}

// TestParseGraph_CountsAgree checks that the counts made before expanding are the calls
// expanding makes.
func TestParseGraph_CountsAgree(t *testing.T) {
	src := graphHead + "  a: {call: seed.inc, foreach: {range: [10, 0, -3]}, n_output: 3}\n  b: {call: seed.inc, foreach: $a.*.1, args: [$item]}\n" +
		"  c: {call: seed.inc, foreach: $a.1, args: [$item]}\n  d: {call: seed.inc, foreach: $a, args: [$item]}\n  e: {call: seed.inc, foreach: [1, $d], args: [$item]}\n"
	g, err := parseGraphLimit("g.yaml", []byte(src), ".", 17)
	if err != nil {
		t.Fatal(err)
	}
	sum := 0
	for _, task := range g.tasks {
		if task.count != len(task.insts) {
			t.Errorf("task %s: counted %d calls, expanded %d", task.name, task.count, len(task.insts))
		}
		sum += task.count
	}
	if g.calls != 17 || sum != 17 {
		t.Errorf("%d calls, %d counted, want 17", g.calls, sum)
	}
	if _, err := parseGraphLimit("g.yaml", []byte(src), ".", 16); err == nil {
		t.Errorf("a limit of 16 accepted a graph of 17 calls")
	}
}
