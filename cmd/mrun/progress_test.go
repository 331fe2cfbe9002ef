package main

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of the live line.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The live line, drawn as on a terminal: guest output written while it is drawn is kept, and
// the summary line ends the output.
func TestProgress_Live(t *testing.T) {
	var w syncBuffer
	p := newProgress(&w, true, true, true, 3, time.Now())
	p.start()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(w.String(), "running") && time.Now().Before(deadline) {
		p.started.Add(1)
		p.done.Add(1)
		p.total.Add(1)
		time.Sleep(20 * time.Millisecond)
	}
	p.Write([]byte("[t] guest line\n"))
	p.failed.Add(1)
	p.stop()
	out := w.String()
	if !strings.Contains(out, "running") {
		t.Errorf("no live line drawn:\n%q", out)
	}
	if !strings.Contains(out, "[t] guest line\n") {
		t.Errorf("guest output lost:\n%q", out)
	}
	last := out[strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")+1:]
	if !regexp.MustCompile(`^\d+/\d+ done · 1 failed · \d+ tasks/s · \S+\n$`).MatchString(last) {
		t.Errorf("last line %q is not the summary", last)
	}
}

// Without --progress and off a terminal, progress prints nothing and passes guest output on.
func TestProgress_Off(t *testing.T) {
	var w syncBuffer
	p := newProgress(&w, false, false, false, 1, time.Now())
	p.start()
	p.Write([]byte("out\n"))
	p.done.Add(1)
	p.stop()
	if got := w.String(); got != "out\n" {
		t.Errorf("got %q", got)
	}
}

func TestRoundDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		123456 * time.Nanosecond:           "123µs",
		812345678 * time.Nanosecond:        "812ms",
		1523456789 * time.Nanosecond:       "1.52s",
		123*time.Second + time.Millisecond: "2m3s",
	} {
		if got := roundDuration(d).String(); got != want {
			t.Errorf("roundDuration(%v) = %s, want %s", d, got, want)
		}
	}
}

// A cluster connection's lines (the server is down, it is back) written while the live
// line is drawn go through it, which prints them above the line instead of letting the next
// redraw overwrite them; before and after the execution they go straight to stderr.
func TestProgress_ClusterLinesAboveLiveLine(t *testing.T) {
	var w syncBuffer
	x := &execution{io: streams{Err: &w, ErrTTY: true}, opts: &execOptions{}}
	x.opts.cluster.logTo(true, x.errWriter)
	x.opts.cluster.logf("before")
	if got := w.String(); got != "mrun: before\n" {
		t.Fatalf("before the execution: %q, want the line as it is", got)
	}
	x.prog = newProgress(&w, true, true, true, 3, time.Now())
	x.liveProg.Store(x.prog)
	x.prog.start()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(w.String(), "running") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if x.errWriter() != x.prog {
		t.Fatal("while the live line is drawn, the connection's lines do not go through it")
	}
	x.opts.cluster.logf("waiting for the cluster server at nats://h:1 (down 1 s)")
	x.prog.stop()
	x.liveProg.Store(nil)
	if !strings.Contains(w.String(), "mrun: waiting for the cluster server at nats://h:1 (down 1 s)\n") {
		t.Errorf("the line is lost:\n%q", w.String())
	}
	if x.errWriter() != &w {
		t.Error("after the execution, the connection's lines do not go to stderr")
	}
}
