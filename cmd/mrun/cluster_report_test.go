package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag/cluster"
)

// TestClusterReport runs `mrun run --cluster` and `mrun call --cluster` as processes against
// an embedded server and two worker processes, and checks what they report: a graph or a call
// whose values the cluster stored before says so, in the summary line and the trace, and
// calls that --timeout interrupts are counted as cancelled, as in process.
func TestClusterReport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mrun and runs a cluster of processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pc := startProcCluster(t, ctx, cluster.Options{AckWait: 2 * time.Second})
	root, url, conn := pc.root, pc.url, pc.conn
	mrun := func(args ...string) *exec.Cmd {
		cmd := pc.mrun(ctx, args...)
		cmd.Env = append(cmd.Env, "MRUN_RESULT_CACHE="+filepath.Join(pc.cache, "results"))
		return cmd
	}
	// runOne runs mrun on the cluster and returns its stdout, stderr and exit status.
	runOne := func(args ...string) (string, string, int) {
		t.Helper()
		args = append([]string{args[0], "--cluster", url, "--ack-wait", "2s"}, args[1:]...)
		cmd := mrun(args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		var ee *exec.ExitError
		code := 0
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("mrun %s: %v", strings.Join(args, " "), err)
		}
		return out.String(), errb.String(), code
	}
	for i := range 2 {
		id := fmt.Sprintf("r%d", i+1)
		w := &workerProc{id: id, cmd: mrun("worker", "--cluster", url, "--ack-wait", "2s", "--slots", "1", "--id", id)}
		w.cmd.Stdout, w.cmd.Stderr = &w.log, &w.log
		if err := w.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = w.cmd.Process.Signal(syscall.SIGTERM)
			_ = w.cmd.Wait()
			if t.Failed() {
				t.Logf("worker %s:\n%s", w.id, w.log.String())
			}
		})
	}
	waitFor(t, ctx, "two workers", func() bool {
		ws, err := conn.Workers(ctx)
		return err == nil && len(ws) == 2
	})
	// wantLine checks that stderr is exactly one line matching re.
	wantLine := func(what, stderr, re string) {
		t.Helper()
		if !regexp.MustCompile(`\A` + re + `\n\z`).MatchString(stderr) {
			t.Errorf("%s: stderr %q, want one line matching %q", what, stderr, re)
		}
	}

	t.Run("reused", func(t *testing.T) {
		dir := t.TempDir()
		graph := filepath.Join(dir, "fanout.yaml")
		writeFile(t, graph, fmt.Sprintf(`modules: {c: %s}
tasks:
  incs:  {call: c.inc, foreach: {range: [9000, 9100]}, args: [$item]}
  total: {call: c.sum_all, args: [$incs]}
outputs: {total: $total}
`, filepath.Join(root, "testdata", "c", "conformance.wasm")))
		const want = "{\"total\":905050}\n"
		out, errOut, code := runOne("run", "--progress", graph)
		if code != 0 || out != want {
			t.Fatalf("first run: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		wantLine("first run", errOut, `101/101 done · 0 failed · [0-9]+ tasks/s · \S+`)

		trace := filepath.Join(dir, "trace.json")
		out, errOut, code = runOne("run", "--progress", "--trace", trace, graph)
		if code != 0 || out != want {
			t.Fatalf("second run: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		wantLine("second run", errOut, `1/101 done · 0 failed · 1 already stored · 100 not needed · 0 tasks/s · \S+`)
		b, err := os.ReadFile(trace)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ TraceEvents []traceEvent }
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		var reused []string
		for _, ev := range doc.TraceEvents {
			if ev.Cat == "task" {
				reused = append(reused, fmt.Sprintf("%s %s %v %v", ev.Ph, ev.Name, ev.Args["function"], ev.Args["status"]))
			}
		}
		if got := strings.Join(reused, "; "); got != "i total c.sum_all already stored" {
			t.Errorf("the trace's tasks: %q, want the one instant event of the stored output", got)
		}

		args := []string{"call", "--progress", filepath.Join(root, "testdata", "c", "conformance.wasm"), "inc", "8999"}
		if out, errOut, code := runOne(args...); code != 0 || out != "9000\n" {
			t.Fatalf("first call: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		out, errOut, code = runOne(args...)
		if code != 0 || out != "9000\n" {
			t.Fatalf("second call: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		wantLine("second call", errOut, `1/1 done · 0 failed · 1 already stored · 0 tasks/s · \S+`)
	})

	t.Run("timeout", func(t *testing.T) {
		graph := filepath.Join(t.TempDir(), "spin.yaml")
		writeFile(t, graph, fmt.Sprintf(`modules: {f: %s}
tasks:
  spins: {call: f.loop, foreach: {range: 3}, args: [$item]}
outputs: {spins: $spins}
`, filepath.Join(root, "testdata", "wat", "fixtures.wasm")))
		out, errOut, code := runOne("run", "--progress", "--timeout", "1s", graph)
		if code != 1 || out != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		// Two calls run, one waits in the queue: all three are cancelled, none failed.
		wantLine("timeout", errOut, `0/3 done · 0 failed · 3 cancelled · 0 tasks/s · \S+
mrun: task spins\[0\] \(f\.loop, key [0-9a-f]{32}\): interrupted: timed out after 1s \(2 other tasks cancelled\)`)
	})
}
