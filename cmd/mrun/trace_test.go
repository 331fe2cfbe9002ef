package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
)

func TestTracer_Write(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(us int) time.Time { return t0.Add(time.Duration(us) * time.Microsecond) }
	key := func(b byte) abi.Key { return abi.Key{b} }
	tr := newTracer(t0, 2)
	// a runs on slot 0 and spawns b (nested in a's slice on slot 0) and c (slot 1) while it
	// waits; d takes slot 0 while a waits and outlives a, so it cannot nest on slot 0.
	tr.start(dag.Event{Kind: dag.EventStart, Key: key(1), Slot: 0, Time: at(0)}, "a", "")
	tr.start(dag.Event{Kind: dag.EventStart, Key: key(2), Slot: 0, Time: at(10), Parent: key(1), Depth: 1}, "a/inc", "a")
	tr.start(dag.Event{Kind: dag.EventStart, Key: key(3), Slot: 1, Time: at(15), Parent: key(1), Depth: 1}, "a/inc", "a")
	tr.end(dag.Event{Kind: dag.EventFinish, Key: key(2), Slot: 0, Time: at(20)}, "done")
	tr.end(dag.Event{Kind: dag.EventFail, Key: key(3), Slot: 1, Time: at(30), Err: errors.New("boom")}, "failed")
	tr.start(dag.Event{Kind: dag.EventStart, Key: key(4), Slot: 0, Time: at(50)}, "d", "")
	tr.end(dag.Event{Kind: dag.EventFail, Key: key(1), Slot: 1, Time: at(100), Err: errors.New("child failed")}, "failed")
	tr.end(dag.Event{Kind: dag.EventFinish, Key: key(4), Slot: 0, Time: at(150)}, "done")
	tr.skip(dag.Event{Kind: dag.EventSkip, Key: key(5), Time: at(100), Err: errors.New("dependency failed")}, "e")

	var b bytes.Buffer
	if err := tr.write(&b, "mrun run g.yaml"); err != nil {
		t.Fatal(err)
	}
	var trace struct {
		TraceEvents []traceEvent `json:"traceEvents"`
		Unit        string       `json:"displayTimeUnit"`
	}
	if err := json.Unmarshal(b.Bytes(), &trace); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	type row struct {
		Name, Ph string
		Ts       float64
		Dur      float64
		Tid, ID  int
		Detail   string
	}
	var got []row
	for _, ev := range trace.TraceEvents {
		r := row{Name: ev.Name, Ph: ev.Ph, Ts: ev.Ts, Tid: ev.Tid, ID: ev.ID}
		if ev.Dur != nil {
			r.Dur = *ev.Dur
		}
		switch ev.Ph {
		case "M":
			r.Detail, _ = ev.Args["name"].(string)
		case "X", "i":
			r.Detail, _ = ev.Args["status"].(string)
			if p, ok := ev.Args["parent_task"]; ok {
				r.Detail += " parent=" + p.(string)
			}
		}
		if ev.Name == "thread_sort_index" {
			continue
		}
		got = append(got, r)
	}
	want := []row{
		{Name: "process_name", Ph: "M", Detail: "mrun run g.yaml"},
		{Name: "thread_name", Ph: "M", Tid: 1, Detail: "slot 0"},
		{Name: "thread_name", Ph: "M", Tid: 2, Detail: "slot 1"},
		{Name: "thread_name", Ph: "M", Tid: 3, Detail: "slot 0 (overlap)"},
		{Name: "thread_name", Ph: "M", Tid: 4, Detail: "not run"},
		{Name: "a", Ph: "X", Ts: 0, Dur: 100, Tid: 1, Detail: "failed"},
		{Name: "a/inc", Ph: "X", Ts: 10, Dur: 10, Tid: 1, Detail: "done parent=a"},
		{Name: "spawn", Ph: "s", Ts: 10, Tid: 1, ID: 1},
		{Name: "spawn", Ph: "f", Ts: 10, Tid: 1, ID: 1},
		{Name: "a/inc", Ph: "X", Ts: 15, Dur: 15, Tid: 2, Detail: "failed parent=a"},
		{Name: "spawn", Ph: "s", Ts: 15, Tid: 1, ID: 2},
		{Name: "spawn", Ph: "f", Ts: 15, Tid: 2, ID: 2},
		{Name: "d", Ph: "X", Ts: 50, Dur: 100, Tid: 3, Detail: "done"},
		{Name: "e", Ph: "i", Ts: 100, Tid: 4, Detail: "skipped"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events:\n%+v\nwant:\n%+v", got, want)
	}
	if trace.Unit != "ms" {
		t.Errorf("displayTimeUnit %q", trace.Unit)
	}
}
