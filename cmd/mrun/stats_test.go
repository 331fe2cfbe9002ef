package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRun_Stats: --stats prints, after the run, the slowest tasks, the largest results and
// totals per function, naming tasks as the graph file does. Counts and bytes are exact; times
// vary from run to run, and are only checked to be there.
func TestRun_Stats(t *testing.T) {
	const graph = `modules: {c: ../../testdata/wat/conformance.wasm, fl: ../../testdata/wat/flaky.wasm}
tasks:
  incs: {call: c.inc, foreach: [20, 21, 22], args: [$item]}
  sum: {call: c.sum_all, args: [$incs]}
  d: {call: c.driver}
  f: {call: fl.flaky, retries: 2}
outputs: {sum: $sum, d: $d, f: $f}
`
	out, errOut, code := mrunStdin(t, graph, "run", "-", "--stats")
	if want := `{"sum":66,"d":[1,2,3,4,5,6,7,8,9,10],"f":3}` + "\n"; out != want || code != 0 {
		t.Fatalf("stdout %q exit %d, want %q and 0; stderr:\n%s", out, code, want, errOut)
	}
	sections := map[string][][]string{}
	var section string
	cells := regexp.MustCompile(` {2,}`)
	for line := range strings.Lines(errOut) {
		line = strings.TrimRight(line, " \n")
		switch {
		case line == "":
		case !strings.Contains(line, "  "):
			section = line
			sections[section] = nil
		default:
			sections[section] = append(sections[section], cells.Split(line, -1))
		}
	}
	positive := func(what, s string) {
		if d, err := time.ParseDuration(s); err != nil || d <= 0 {
			t.Errorf("%s: %q is not a positive duration", what, s)
		}
	}
	table := func(name string, header []string) [][]string {
		rows := sections[name]
		if len(rows) == 0 || !slices.Equal(rows[0], header) {
			t.Fatalf("section %q: want header %q, got %q\nstderr:\n%s", name, header, rows, errOut)
		}
		return rows[1:]
	}

	// inc's 13 calls: incs[0], incs[1], incs[2], and the ten the driver spawns (d/inc); each
	// reads a 4-byte frame and returns a 1-byte value. flaky fails twice, then returns 3.
	perFunc := table("per function", []string{"FUNCTION", "CALLS", "FAILED", "RETRIES", "TOTAL WALL", "TOTAL GUEST", "MAX MEMORY", "BYTES IN", "BYTES OUT", "SPAWNED"})
	byName := map[string][]string{}
	for _, r := range perFunc {
		if len(r) != 10 {
			t.Fatalf("per function: row %q has %d cells, want 10", r, len(r))
		}
		positive(r[0]+" total wall", r[4])
		positive(r[0]+" total guest", r[5])
		byName[r[0]] = slices.Concat(r[:4], r[6:])
	}
	for name, want := range map[string][]string{
		"c.inc":     {"c.inc", "13", "0", "0", "128 KiB", "52 B", "13 B", "0"},
		"c.driver":  {"c.driver", "1", "0", "0", "128 KiB", "3 B", "11 B", "10"},
		"c.sum_all": {"c.sum_all", "1", "0", "0", "128 KiB", "7 B", "1 B", "0"},
		"fl.flaky":  {"fl.flaky", "1", "0", "2", "64 KiB", "3 B", "1 B", "0"},
	} {
		if !slices.Equal(byName[name], want) {
			t.Errorf("per function, %s: got %q, want %q", name, byName[name], want)
		}
	}
	if len(perFunc) != 4 {
		t.Errorf("per function: %d rows, want 4", len(perFunc))
	}

	// The largest results: the driver's list, then the 1-byte values by peak memory, then by
	// label.
	largest := table("largest results", []string{"TASK", "FUNCTION", "RESULT", "PEAK MEMORY"})
	want := [][]string{{"d", "c.driver", "11 B", "128 KiB"}}
	for range 9 {
		want = append(want, []string{"d/inc", "c.inc", "1 B", "128 KiB"})
	}
	if !slices.EqualFunc(largest, want, slices.Equal) {
		t.Errorf("largest results:\n%q\nwant\n%q", largest, want)
	}

	slowest := table("slowest tasks", []string{"TASK", "FUNCTION", "WALL", "GUEST"})
	if len(slowest) != 10 {
		t.Errorf("slowest tasks: %d rows, want 10", len(slowest))
	}
	known := map[string]string{"incs[0]": "c.inc", "incs[1]": "c.inc", "incs[2]": "c.inc", "d/inc": "c.inc", "sum": "c.sum_all", "d": "c.driver", "f": "fl.flaky"}
	for _, r := range slowest {
		if len(r) != 4 || known[r[0]] != r[1] {
			t.Errorf("slowest tasks: row %q", r)
			continue
		}
		positive(r[0]+" wall", r[2])
		positive(r[0]+" guest", r[3])
	}
}

// TestCall_Stats: mrun call takes --stats too.
func TestCall_Stats(t *testing.T) {
	out, errOut, code := mrunStdin(t, "", "call", "../../testdata/wat/conformance.wasm", "inc", "41", "--stats")
	if out != "42\n" || code != 0 {
		t.Fatalf("stdout %q exit %d; stderr:\n%s", out, code, errOut)
	}
	re := regexp.MustCompile(`(?m)^inc +conformance\.inc +\S+ +\S+\n(.|\n)*^inc +conformance\.inc +1 B +128 KiB\n(.|\n)*^conformance\.inc +1 +0 +0 +\S+ +\S+ +128 KiB +4 B +1 B +0\n`)
	if !re.MatchString(errOut) {
		t.Errorf("stderr:\n%s", errOut)
	}
}
