package cluster

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// An advisory that arrives before the goroutine that published its message has recorded the
// message's sequence (a busy machine runs the advisory's handler first) is applied once the
// sequence is recorded: the calls of a refused batch are sent again, those of a message
// delivered too often fail, and neither waits forever.
func TestAdvisoryBeforeSequence(t *testing.T) {
	var mu sync.Mutex
	var logs []string
	_, c := testConn(t, Options{Logf: func(f string, a ...any) {
		mu.Lock()
		logs = append(logs, fmt.Sprintf(f, a...))
		mu.Unlock()
	}})
	x := c.Executor()
	wait := func(ids ...string) []chan doneMsg {
		chs := make([]chan doneMsg, len(ids))
		x.mu.Lock()
		for i, id := range ids {
			chs[i] = make(chan doneMsg, 1)
			x.waiting[id] = chs[i]
		}
		x.mu.Unlock()
		return chs
	}
	got := func(ch chan doneMsg) *wireErr {
		t.Helper()
		select {
		case d := <-ch:
			return d.Err
		case <-time.After(10 * time.Second):
			t.Fatal("the call still waits")
			return nil
		}
	}

	// A batch at sequence 1001 refused by an older worker, the advisory first.
	chs := wait("a1", "a2")
	x.advise(1001, advisory{err: &wireErr{Kind: kindUnbatched, Message: errUnbatched.Error()}, at: time.Now()})
	x.mu.Lock()
	x.batches[1001] = &batch{seq: 1001, ids: []string{"a1", "a2"}, live: 2}
	x.mu.Unlock()
	x.known(1001)
	for _, ch := range chs {
		if e := got(ch); e == nil || e.Kind != kindUnbatched {
			t.Fatalf("a call of the refused batch ended with %+v, want the refusal", e)
		}
	}
	if !x.unbatched.Load() {
		t.Error("the coordinator goes on sending batches after one was refused")
	}
	mu.Lock()
	if len(logs) != 1 || !strings.HasPrefix(logs[0], "a worker refused a batch of calls") {
		t.Errorf("logged %q, want the refusal once", logs)
	}
	mu.Unlock()

	// One call at sequence 1002 delivered too many times, the advisory first.
	chs = wait("b1")
	msg := "delivered to workers 3 times without finishing"
	x.advise(1002, advisory{err: &wireErr{Kind: kindWorker, Message: msg}, at: time.Now()})
	x.mu.Lock()
	x.bySeq[1002] = "b1"
	x.mu.Unlock()
	x.known(1002)
	if e := got(chs[0]); e == nil || e.Kind != kindWorker || e.Message != msg {
		t.Fatalf("the call ended with %+v, want %q", e, msg)
	}

	// A refusal of a message that held one call leaves the call alone; an advisory older than
	// earlyKeep is dropped.
	chs = wait("c1", "d1")
	x.advise(1003, advisory{err: &wireErr{Kind: kindUnbatched, Message: errUnbatched.Error()}, at: time.Now()})
	x.advise(1004, advisory{err: &wireErr{Kind: kindWorker, Message: msg}, at: time.Now().Add(-2 * earlyKeep)})
	x.mu.Lock()
	x.bySeq[1003], x.bySeq[1004] = "c1", "d1"
	x.mu.Unlock()
	x.known(1003)
	x.known(1004)
	for _, ch := range chs {
		select {
		case d := <-ch:
			t.Fatalf("a call ended with %+v, want it still waiting", d.Err)
		default:
		}
	}
	x.mu.Lock()
	n := len(x.early)
	x.mu.Unlock()
	if n != 0 {
		t.Errorf("%d advisories still kept, want none", n)
	}
}
