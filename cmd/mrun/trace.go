package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
)

// tracer records when each task ran and on which slot, and writes the record in the Chrome
// trace-event format (https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU),
// which ui.perfetto.dev and chrome://tracing open.
//
// Each task is one complete event ("ph":"X") on the lane of the slot it ran on, named by its
// label, with its key and function in args. A task spawned by a guest is linked to its parent
// by a flow arrow and names it in args. Tasks that never ran because a dependency failed are
// instant events on a lane of their own. A failed attempt that runs again (a retry) is an
// instant event on its task's lane, and the task's args count its attempts. Tasks whose
// values were already there (stored on a cluster, or in the result cache) did not run either:
// they are instant events on a lane of their own, "reused", when planning found them. A task
// that finished or failed has what it cost (dag.Usage) in its args: wall_us, guest_us,
// peak_memory, arg_bytes, result_bytes, spawned, and worker on a cluster.
type tracer struct {
	begin time.Time
	slots int

	mu    sync.Mutex
	spans []*span
	open  map[abi.Key][]*span // started and not yet ended, by key
	skips []skipped
	reuse []skipped // err holds the status: already stored, or from the result cache
}

type span struct {
	key, parent       abi.Key
	label, parentName string
	function          string
	slot, depth       int
	start, end        time.Time
	status, err       string
	lane              int
	retries           []retry
	usage             dag.Usage // on its end
}

// retry is an attempt of a task that failed and ran again.
type retry struct {
	at      time.Time
	attempt int
	err     string
}

type skipped struct {
	key             abi.Key
	label, function string
	at              time.Time
	err             string
}

func newTracer(begin time.Time, slots int) *tracer {
	return &tracer{begin: begin, slots: slots, open: map[abi.Key][]*span{}}
}

func funcName(ev dag.Event) string {
	if ev.Func == nil {
		return ""
	}
	return ev.Func.Module().Name() + "." + ev.Func.Name()
}

func (t *tracer) start(ev dag.Event, label, parent string) {
	s := &span{key: ev.Key, parent: ev.Parent, label: label, parentName: parent, function: funcName(ev),
		slot: ev.Slot, depth: ev.Depth, start: ev.Time}
	t.mu.Lock()
	t.spans = append(t.spans, s)
	t.open[ev.Key] = append(t.open[ev.Key], s)
	t.mu.Unlock()
}

func (t *tracer) end(ev dag.Event, status string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	open := t.open[ev.Key]
	if len(open) == 0 { // failed before it started (a missing dependency value)
		s := &span{key: ev.Key, parent: ev.Parent, label: ev.Key.String(), function: funcName(ev),
			slot: ev.Slot, depth: ev.Depth, start: ev.Time}
		t.spans = append(t.spans, s)
		open = []*span{s}
	}
	s := open[0]
	if len(open) == 1 {
		delete(t.open, ev.Key)
	} else {
		t.open[ev.Key] = open[1:]
	}
	s.end, s.status, s.usage = ev.Time, status, ev.Usage
	if ev.Err != nil {
		s.err = causeText(ev.Err)
	}
}

func (t *tracer) retry(ev dag.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if open := t.open[ev.Key]; len(open) > 0 {
		s := open[0]
		s.retries = append(s.retries, retry{at: ev.Time, attempt: ev.Attempt, err: causeText(ev.Err)})
	}
}

func (t *tracer) skip(ev dag.Event, label string) {
	sk := skipped{key: ev.Key, label: label, function: funcName(ev), at: ev.Time}
	if ev.Err != nil {
		sk.err = cliHints.Replace(ev.Err.Error())
	}
	t.mu.Lock()
	t.skips = append(t.skips, sk)
	t.mu.Unlock()
}

// reused records a task whose values planning found: it did not run.
func (t *tracer) reused(ev dag.Event, label string) {
	status := "already stored"
	if ev.Kind == dag.EventCached {
		status = "from the result cache"
	}
	r := skipped{key: ev.Key, label: label, function: funcName(ev), at: ev.Time, err: status}
	t.mu.Lock()
	t.reuse = append(t.reuse, r)
	t.mu.Unlock()
}

// traceEvent is one record of the trace-event format.
type traceEvent struct {
	Name string         `json:"name"`
	Cat  string         `json:"cat,omitempty"`
	Ph   string         `json:"ph"`
	Ts   float64        `json:"ts"`
	Dur  *float64       `json:"dur,omitempty"`
	Pid  int            `json:"pid"`
	Tid  int            `json:"tid"`
	ID   int            `json:"id,omitempty"`
	BP   string         `json:"bp,omitempty"`
	S    string         `json:"s,omitempty"`
	Args map[string]any `json:"args,omitempty"`
}

const tracePid = 1

func (t *tracer) micros(at time.Time) float64 {
	return float64(at.Sub(t.begin).Nanoseconds()) / 1e3
}

func (t *tracer) write(w io.Writer, command string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	for _, s := range t.spans {
		if s.end.IsZero() {
			s.end, s.status = now, "unfinished"
		}
	}
	lanes := t.assignLanes()

	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	first := true
	emit := func(ev traceEvent) error {
		if !first {
			bw.WriteString(",")
		}
		first = false
		return enc.Encode(ev) // one event per line
	}
	bw.WriteString(`{"traceEvents":[` + "\n")
	if err := emit(traceEvent{Name: "process_name", Ph: "M", Pid: tracePid, Args: map[string]any{"name": command}}); err != nil {
		return err
	}
	skipLane, reuseLane := lanes+1, lanes+2
	for lane := 0; lane < lanes; lane++ {
		name := fmt.Sprintf("slot %d", lane)
		if lane >= t.slots {
			name = fmt.Sprintf("slot %d (overlap)", lane%t.slots)
		}
		emit(traceEvent{Name: "thread_name", Ph: "M", Pid: tracePid, Tid: lane + 1, Args: map[string]any{"name": name}})
		emit(traceEvent{Name: "thread_sort_index", Ph: "M", Pid: tracePid, Tid: lane + 1, Args: map[string]any{"sort_index": lane}})
	}
	if len(t.skips) > 0 {
		emit(traceEvent{Name: "thread_name", Ph: "M", Pid: tracePid, Tid: skipLane, Args: map[string]any{"name": "not run"}})
	}
	if len(t.reuse) > 0 {
		emit(traceEvent{Name: "thread_name", Ph: "M", Pid: tracePid, Tid: reuseLane, Args: map[string]any{"name": "reused"}})
	}

	byKey := make(map[abi.Key]*span, len(t.spans))
	for _, s := range t.spans {
		if _, ok := byKey[s.key]; !ok {
			byKey[s.key] = s
		}
	}
	flow := 0
	for _, s := range t.spans {
		dur := float64(s.end.Sub(s.start).Nanoseconds()) / 1e3
		args := map[string]any{"key": s.key.String(), "function": s.function, "task": s.label, "status": s.status, "slot": s.slot}
		if s.err != "" {
			args["error"] = s.err
		}
		if len(s.retries) > 0 {
			args["attempts"] = len(s.retries) + 1
		}
		usageArgs(args, s.usage)
		if s.depth > 0 {
			args["depth"] = s.depth
			args["parent"] = s.parent.String()
			args["parent_task"] = s.parentName
		}
		if err := emit(traceEvent{Name: s.label, Cat: "task", Ph: "X", Ts: t.micros(s.start), Dur: &dur,
			Pid: tracePid, Tid: s.lane + 1, Args: args}); err != nil {
			return err
		}
		for _, r := range s.retries {
			emit(traceEvent{Name: "retry", Cat: "retry", Ph: "i", S: "t", Ts: t.micros(r.at), Pid: tracePid, Tid: s.lane + 1,
				Args: map[string]any{"task": s.label, "attempt": r.attempt, "error": r.err}})
		}
		if p, ok := byKey[s.parent]; ok && s.depth > 0 {
			flow++
			ts := t.micros(s.start)
			emit(traceEvent{Name: "spawn", Cat: "spawn", Ph: "s", Ts: ts, Pid: tracePid, Tid: p.lane + 1, ID: flow})
			emit(traceEvent{Name: "spawn", Cat: "spawn", Ph: "f", BP: "e", Ts: ts, Pid: tracePid, Tid: s.lane + 1, ID: flow})
		}
	}
	for _, sk := range t.skips {
		args := map[string]any{"key": sk.key.String(), "function": sk.function, "task": sk.label, "status": "skipped", "error": sk.err}
		emit(traceEvent{Name: sk.label, Cat: "task", Ph: "i", S: "t", Ts: t.micros(sk.at), Pid: tracePid, Tid: skipLane, Args: args})
	}
	for _, r := range t.reuse {
		args := map[string]any{"key": r.key.String(), "function": r.function, "task": r.label, "status": r.err}
		emit(traceEvent{Name: r.label, Cat: "task", Ph: "i", S: "t", Ts: t.micros(r.at), Pid: tracePid, Tid: reuseLane, Args: args})
	}
	bw.WriteString(`],"displayTimeUnit":"ms","otherData":` + jsonString(map[string]string{"command": command, "mrun": versionString()}) + "}\n")
	return bw.Flush()
}

// usageArgs adds what a task cost to its args, when its executor said.
func usageArgs(args map[string]any, u dag.Usage) {
	if u == (dag.Usage{}) {
		return
	}
	args["wall_us"] = float64(u.Wall.Nanoseconds()) / 1e3
	args["guest_us"] = float64(u.Guest.Nanoseconds()) / 1e3
	args["peak_memory"] = u.PeakMemory
	args["arg_bytes"] = u.ArgBytes
	args["result_bytes"] = u.ResultBytes
	args["spawned"] = u.Spawned
	if u.Attempts > 1 {
		args["attempts"] = u.Attempts
	}
	if u.Worker != "" {
		args["worker"] = u.Worker
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// assignLanes puts each span on its slot's lane, where spans must nest: trace viewers draw a
// lane as a stack of slices. A span that would overlap another on its lane without nesting in
// it (possible when a task waiting on nested spawns gives its slot away) moves to an overlap
// lane of the same slot. It returns the number of lanes.
func (t *tracer) assignLanes() int {
	order := slices.Clone(t.spans)
	slices.SortStableFunc(order, func(a, b *span) int {
		if c := a.start.Compare(b.start); c != 0 {
			return c
		}
		return b.end.Compare(a.end) // the longer span first, so the shorter nests in it
	})
	slots := max(t.slots, 1)
	stacks := map[int][]*span{} // per lane: spans that contain the current time
	lanes := 0
	for _, s := range order {
		for lane := s.slot % slots; ; lane += slots {
			st := stacks[lane]
			for len(st) > 0 && !st[len(st)-1].end.After(s.start) {
				st = st[:len(st)-1]
			}
			if len(st) == 0 || !s.end.After(st[len(st)-1].end) {
				stacks[lane] = append(st, s)
				s.lane = lane
				lanes = max(lanes, lane+1)
				break
			}
			stacks[lane] = st
		}
	}
	return lanes
}
