package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for procbench as capacity's coordinator process,
// which capacity starts as its own executable.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "capacity-coordinator" {
		if err := capacityCoordinator(os.Args[2:], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestParseStatCPU(t *testing.T) {
	for _, tc := range []struct {
		stat string
		want time.Duration
		err  string
	}{
		// utime 250 and stime 31 ticks of 10 ms.
		{"4437 (mrun) S 1 4437 4437 0 -1 4194560 2010 0 0 0 250 31 0 0 20 0 9 0 1000 1\n", 2810 * time.Millisecond, ""},
		// A command name with spaces and parentheses: fields count from the last ")".
		{"77 (a) b (c)) R 1 77 77 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 5 1\n", 100 * time.Millisecond, ""},
		{"77 mrun S 1", 0, `parse /proc/PID/stat: no command name in "77 mrun S 1"`},
		{"77 (mrun) S 1 2 3", 0, "parse /proc/PID/stat: 4 fields after the command name, want at least 13"},
		{"77 (mrun) S 1 77 77 0 -1 0 0 0 0 0 x 3", 0, `parse /proc/PID/stat: utime or stime "x": strconv.ParseInt: parsing "x": invalid syntax`},
	} {
		got, err := parseStatCPU(tc.stat)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("parseStatCPU(%q) = %v, %v; want error %q", tc.stat, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseStatCPU(%q) = %v, %v; want %v", tc.stat, got, err, tc.want)
		}
	}
}

// This process's own CPU time reads back through /proc like any other process's.
func TestCPUTime_Self(t *testing.T) {
	d, err := cpuTime(os.Getpid())
	if err != nil || d < 0 {
		t.Fatalf("cpuTime(self) = %v, %v", d, err)
	}
	if _, err := cpuTime(-1); err == nil || !strings.HasPrefix(err.Error(), "read the CPU time of process -1: ") {
		t.Errorf("cpuTime(-1): %v", err)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// The model's bounds follow its equations, and the least of them binds.
func TestModel_Predict(t *testing.T) {
	k := model{srvCPU: 250, workerCPU: 250, coordCPU: 125, appends: 1, streamRate: 100_000}
	for _, tc := range []struct {
		call     time.Duration
		inflight int
		want     map[string]float64
		binds    string
	}{
		{time.Millisecond, 1024, map[string]float64{
			"demand":                1600 / 0.00125,
			"coordinator in flight": 1024 / 0.00125,
			"coordinator CPU":       16 * 1e6 / 125,
			"server CPU":            16 * 1e6 / 250,
			"one stream":            100_000,
		}, "server CPU"},
		{100 * time.Millisecond, 1024, map[string]float64{
			"demand":                1600 / 0.10025,
			"coordinator in flight": 1024 / 0.10025,
		}, "coordinator in flight"},
		{100 * time.Millisecond, 4096, map[string]float64{"demand": 1600 / 0.10025}, "demand"},
	} {
		p := k.predict(1600, tc.call, tc.inflight, 16)
		got := map[string]float64{}
		for _, b := range p.bounds {
			got[b.name] = b.rate
		}
		for name, want := range tc.want {
			if !near(got[name], want) {
				t.Errorf("predict(%v, %d in flight): %s = %v, want %v", tc.call, tc.inflight, name, got[name], want)
			}
		}
		if p.binds != tc.binds || !near(p.rate, got[tc.binds]) {
			t.Errorf("predict(%v, %d in flight) binds %s at %v, want %s at %v", tc.call, tc.inflight, p.binds, p.rate, tc.binds, got[tc.binds])
		}
	}
}

// On one machine, every process's CPU per call adds up, and the idle background of the
// server and of each worker process comes off the cores first.
func TestModel_Local(t *testing.T) {
	k := model{srvCPU: 250, workerCPU: 250, coordCPU: 125, baseCPU: 5, workerIdle: 4}
	p := k.local(50, 1, 0, 2)
	if want := 50 / 250e-6; !near(p.bounds[0].rate, want) {
		t.Errorf("demand = %v, want %v", p.bounds[0].rate, want)
	}
	if want := (2 - 0.205) / 625e-6; p.binds != "shared CPU" || !near(p.rate, want) {
		t.Errorf("local(50 × 1) binds %s at %v, want shared CPU at %v", p.binds, p.rate, want)
	}
	k.idlePulls, k.beats, k.idleCPU = 0.2, 0.4, 0.5
	bg := k.background(100)
	if !near(bg.pulls, 20) || !near(bg.beats, 40) || bg.srvCPU != 50 {
		t.Errorf("background(100) = %+v, want 20 pulls/s, 40 heartbeats/s, 50 ms/s", bg)
	}
}

func TestSpread(t *testing.T) {
	costs := []callCost{{srvCPU: 250.4}, {srvCPU: 270.2}, {srvCPU: 255}}
	if got := spread(costs, "%.0f", func(c callCost) float64 { return c.srvCPU }); got != "250–270" {
		t.Errorf("spread = %q, want 250–270", got)
	}
	if got := spread(costs[:1], "%.0f", func(c callCost) float64 { return c.srvCPU }); got != "250" {
		t.Errorf("spread of one = %q, want 250", got)
	}
	if got := median(costs, func(c callCost) float64 { return c.srvCPU }); got != 255 {
		t.Errorf("median = %v, want 255", got)
	}
	if got := formatAppends(map[string]float64{"MRUN_TASKS": 1, "KV_mrun_results": 1}); got != "KV_mrun_results 1.00, MRUN_TASKS 1.00" {
		t.Errorf("formatAppends = %q", got)
	}
}

func TestCapacity_Usage(t *testing.T) {
	const usage = "usage: procbench capacity [-workers 2] [-slots 2] [-runs 2] [-idle 10s] [-limit 10m] [-v] MRUN NAME=MODULE N"
	for _, tc := range []struct {
		args []string
		err  string
	}{
		{[]string{"mrun", "c=../../testdata/c/conformance.wasm"}, usage},
		{[]string{"-workers", "0", "mrun", "c=../../testdata/c/conformance.wasm", "100"}, usage},
		{[]string{"-idle", "0s", "mrun", "c=../../testdata/c/conformance.wasm", "100"}, usage},
		{[]string{"mrun", "../../testdata/c/conformance.wasm", "100"}, `want NAME=MODULE, got "../../testdata/c/conformance.wasm"`},
		{[]string{"mrun", "c=../../testdata/c/conformance.wasm", "0"}, `N must be a positive integer, got "0"`},
	} {
		err := capacity(tc.args, new(strings.Builder))
		if err == nil || err.Error() != tc.err {
			t.Errorf("capacity %v: %v, want %q", tc.args, err, tc.err)
		}
	}
	if err := capacity([]string{"mrun", "c=no/such.wasm", "10"}, new(strings.Builder)); err == nil || !strings.HasPrefix(err.Error(), "module: stat ") {
		t.Errorf("capacity of a missing module: %v", err)
	}
}

// A whole measurement on a small cluster: two worker processes and a coordinator process.
// It builds mrun and takes half a minute or more, so it runs only with MRUN_CAPACITY_TEST=1
// (CI sets it).
func TestCapacity(t *testing.T) {
	if os.Getenv("MRUN_CAPACITY_TEST") == "" {
		t.Skip("set MRUN_CAPACITY_TEST=1 to run a measurement on worker processes")
	}
	mrun := filepath.Join(t.TempDir(), "mrun")
	if b, err := exec.Command("go", "build", "-o", mrun, "../../cmd/mrun").CombinedOutput(); err != nil {
		t.Fatalf("build mrun: %v\n%s", err, b)
	}
	var out strings.Builder
	if err := capacity([]string{"-workers", "2", "-slots", "1", "-runs", "1", "-idle", "1s", "-limit", "2m",
		mrun, "c=../../testdata/c/conformance.wasm", "300"}, &out); err != nil {
		t.Fatalf("capacity: %v\n%s", err, out.String())
	}
	// The lines as benchfmt reads them: name, iterations, then value-unit pairs.
	lines := map[string]map[string]float64{}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || f[1] != "1" {
			continue
		}
		m := map[string]float64{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				t.Errorf("%s: %q is not a number", f[0], f[i])
			}
			m[f[i+1]] = v
		}
		lines[strings.TrimPrefix(f[0], "Benchmark")] = m
	}
	for name, units := range map[string][]string{
		"CapacityIdle/workers-2x1": {"ns/op", "msgs-in/s", "pulls/s", "heartbeats/s", "srv-cpu-ms/s", "srv-base-cpu-ms/s", "worker-cpu-ms/s", "waiting-pulls"},
		"Capacity/mrun-c-distributed-2x1": {"ns/op", "tasks/s", "msgs-in/call", "msgs-out/call", "B-in/call", "B-out/call",
			"worker-msgs-in/call", "coord-msgs-in/call", "task-appends/call", "result-appends/call",
			"srv-cpu-us/call", "worker-cpu-us/call", "coord-cpu-us/call", "worker-RSS-KiB"},
		"CapacityStream/file-async-200B": {"appends/s", "cpu-us/append"},
	} {
		b := lines[name]
		if b == nil {
			t.Errorf("no line Benchmark%s in:\n%s", name, out.String())
			continue
		}
		for _, u := range units {
			if _, ok := b[u]; !ok {
				t.Errorf("Benchmark%s has no %s", name, u)
			}
		}
	}
	// Each call's value is written once, whatever else changes; calls are published at most
	// once each, several to a message once the coordinator knows inc is quick (batches).
	if b := lines["Capacity/mrun-c-distributed-2x1"]; b != nil {
		if v := b["result-appends/call"]; v != 1 {
			t.Errorf("result-appends/call = %v, want 1", v)
		}
		if v := b["task-appends/call"]; v <= 0 || v > 1 {
			t.Errorf("task-appends/call = %v, want more than 0 and at most 1", v)
		}
	}
	for _, s := range []string{"| per call | value |", "100 machines × 16 slots", "| 50 × 1 |"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("the summary has no %q:\n%s", s, out.String())
		}
	}
}

func TestParseSwitches(t *testing.T) {
	status := "Name:\tmrun\nvoluntary_ctxt_switches:\t1200\nnonvoluntary_ctxt_switches:\t34\n"
	if got := parseSwitches(status); got != 1234 {
		t.Errorf("parseSwitches = %d, want 1234", got)
	}
	if got := parseSwitches("Name:\tmrun\n"); got != 0 {
		t.Errorf("parseSwitches of no counts = %d, want 0", got)
	}
	if got := switches(os.Getpid()); got <= 0 {
		t.Errorf("switches(self) = %d, want more than 0", got)
	}
}
