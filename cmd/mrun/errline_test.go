package main

import (
	"os"
	"path/filepath"
	"testing"
)

// A parent that gives up on a failed child with fail_with: the error line follows the chain
// down to the root cause, names each task once, and counts no task of the chain as "other".
func TestErrorLine_CauseChain(t *testing.T) {
	const giveup = "../../testdata/wat/giveup.wasm"
	const (
		outer  = "task outer (giveup.outer, key c2f95b44f1aca90b761cc7c4278816f4): outer gave up"
		driver = "driver (giveup.driver, key 2f9e8bfa5e6bc9693126e83de1f176c9): driver gave up"
		inc    = "(giveup.inc, key 5a0ecbb355fbef788be9a690b7b82ce6): inc: the counter is out of range"
	)
	dir := t.TempDir()
	graph := filepath.Join(dir, "g.yaml")
	abs, err := filepath.Abs(giveup)
	if err != nil {
		t.Fatal(err)
	}
	err = os.WriteFile(graph, []byte("modules: {giveup: "+abs+"}\ntasks:\n  d: {call: giveup.driver}\n  x: {call: giveup.inc}\n"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		errText string
	}{
		{"call, one level", []string{"call", giveup, "driver"},
			"mrun: task " + driver + ": caused by task driver/inc " + inc + "\n"},
		{"call, two levels", []string{"call", giveup, "outer"},
			"mrun: " + outer + ": caused by task outer/" + driver + ": caused by task outer/driver/inc " + inc + "\n"},
		{"call, no cause", []string{"call", giveup, "inc"},
			"mrun: task inc " + inc + "\n"},
		// The Go SDK's parent_fail quotes its child's error in its own message: the line
		// does not say it twice.
		{"call, cause already in the message", []string{"call", "../../testdata/seed.wasm", "parent_fail", `"boom"`},
			"mrun: task parent_fail (seed.parent_fail, key 42c28f5be9b6e2a9885836dd27aa9b2f): parent_fail: task fail (key 43f03713ad79131606b456544953db00, module seed): boom\n"},
		// In a graph, the first failed task in file order, with the chain; x, an inc of its
		// own, is the same task as the driver's child, so no other task failed.
		{"run", []string{"run", "--quiet", graph},
			"mrun: task d (giveup.driver, key 2f9e8bfa5e6bc9693126e83de1f176c9): driver gave up: caused by task x " + inc + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errText, code := mrun(t, tt.args...)
			if out != "" || errText != tt.errText || code != exitTaskFail {
				t.Fatalf("got stdout %q stderr %q exit %d\nwant stdout \"\" stderr %q exit %d", out, errText, code, tt.errText, exitTaskFail)
			}
		})
	}
}
