package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// TestClusterServerKilled kills the server (mrun cluster up, a process of its own) for good
// while mrun run waits on its calls: mrun run says it waits, gives up after --cluster-timeout
// with exit status 1 and one line that says why, and prints nothing of the NATS client's own.
func TestClusterServerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds mrun and runs a cluster of processes")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := buildMrun(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	up := exec.CommandContext(ctx, bin, "cluster", "up", "--port", "-1")
	up.Env = cleanEnv()
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = up.Process.Kill(); _ = up.Wait() })
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("mrun cluster up printed no URL: %v", err)
	}
	url = strings.TrimSpace(url)

	// No worker: the calls wait in the queue.
	graph := filepath.Join(t.TempDir(), "incs.yaml")
	writeFile(t, graph, `modules: {c: `+filepath.Join(root, "testdata", "c", "conformance.wasm")+`}
tasks:
  incs: {call: c.inc, foreach: {range: 5}, args: [$item]}
outputs: {incs: $incs}
`)
	run := exec.CommandContext(ctx, bin, "run", "--cluster", url, "--cluster-timeout", "3s", graph)
	run.Dir, run.Env = root, cleanEnv()
	var out, errb bytes.Buffer
	run.Stdout, run.Stderr = &out, &errb
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	waitFor(t, ctx, "the calls in the queue", func() bool {
		s, err := js.Stream(ctx, cluster.TaskStream)
		return err == nil && s.CachedInfo().State.Msgs == 5
	})
	nc.Close()
	if err := up.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// A run still going 30 s after the kill hangs: SIGQUIT makes it print its goroutines to
	// the stderr this test logs.
	quit := time.AfterFunc(30*time.Second, func() { _ = run.Process.Signal(syscall.SIGQUIT) })
	err = run.Wait()
	quit.Stop()
	took := time.Since(killed)
	t.Logf("mrun run exited %v after the server was killed (--cluster-timeout 3s); stderr:\n%s", took, errb.String())
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("mrun run: %v, want exit status 1", err)
	}
	if took < 3*time.Second-250*time.Millisecond || took > 8*time.Second {
		t.Errorf("mrun run exited %v after the server was killed, want 3s (--cluster-timeout) with 5 s of margin", took)
	}
	if out.Len() != 0 {
		t.Errorf("stdout: %q, want nothing", out.String())
	}
	lines := strings.Split(strings.TrimSuffix(errb.String(), "\n"), "\n")
	want := "mrun: the cluster server at " + url + " was unreachable for 3s: start it again (on the same data directory, to keep the calls and results it holds), or wait longer with --cluster-timeout"
	if last := lines[len(lines)-1]; last != want {
		t.Errorf("last line of stderr:\n%q\nwant\n%q", last, want)
	}
	waiting := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "mrun: waiting for the cluster server at "+url+" (down ") && strings.HasSuffix(l, " s)") {
			waiting++
		}
		if strings.HasPrefix(l, "nats:") {
			t.Errorf("the NATS client's own text reached stderr: %q", l)
		}
	}
	if waiting == 0 {
		t.Errorf("no line \"mrun: waiting for the cluster server at %s (down N s)\" on stderr", url)
	}
}
