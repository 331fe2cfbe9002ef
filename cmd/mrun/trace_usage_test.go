package main

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
)

// TestTracer_Usage: a task's slice has what it cost in its args; a task whose executor said
// nothing has none of those args.
func TestTracer_Usage(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr := newTracer(t0, 1)
	a, b := abi.Key{1}, abi.Key{2}
	tr.start(dag.Event{Kind: dag.EventStart, Key: a, Time: t0}, "a", "")
	tr.end(dag.Event{Kind: dag.EventFinish, Key: a, Time: t0.Add(3 * time.Millisecond), Usage: dag.Usage{
		Wall: 2500 * time.Microsecond, Guest: 1500 * time.Microsecond, PeakMemory: 2 << 16, ArgBytes: 4,
		ResultBytes: 1, Spawned: 10, Attempts: 2, Worker: "w0"}}, "done")
	tr.start(dag.Event{Kind: dag.EventStart, Key: b, Time: t0}, "b", "")
	tr.end(dag.Event{Kind: dag.EventFinish, Key: b, Time: t0.Add(time.Millisecond)}, "done")
	var buf bytes.Buffer
	if err := tr.write(&buf, "mrun run g.yaml"); err != nil {
		t.Fatal(err)
	}
	var trace struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Ph   string         `json:"ph"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
	}
	if err := json.Unmarshal(buf.Bytes(), &trace); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]any{}
	for _, ev := range trace.TraceEvents {
		if ev.Ph == "X" {
			delete(ev.Args, "key")
			got[ev.Name] = ev.Args
		}
	}
	want := map[string]map[string]any{
		"a": {"function": "", "task": "a", "status": "done", "slot": 0.0, "wall_us": 2500.0, "guest_us": 1500.0,
			"peak_memory": 131072.0, "arg_bytes": 4.0, "result_bytes": 1.0, "spawned": 10.0, "attempts": 2.0, "worker": "w0"},
		"b": {"function": "", "task": "b", "status": "done", "slot": 0.0},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("args:\n%v\nwant\n%v", got, want)
	}
}
