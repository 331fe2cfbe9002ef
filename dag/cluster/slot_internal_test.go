package cluster

import (
	"context"
	"errors"
	"testing"
)

// A call cancelled while its children run fails to take its slot back; it then holds none,
// and the end of the call gives nothing back: the worker's free slots never exceed its slots,
// and giving a slot back never blocks.
func TestCallSlot_CancelledAcquire(t *testing.T) {
	w := &worker{tokens: make(chan struct{}, 1)}
	s := &callSlot{w: w, held: true} // the fetch took the worker's only token
	s.Release()                      // the call waits on its children
	<-w.tokens                       // a child runs on the slot
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire on a cancelled context with no free slot: %v", err)
	}
	s.Release() // the end of the call: it holds nothing
	if len(w.tokens) != 0 {
		t.Fatalf("%d free slots while the child holds the only one", len(w.tokens))
	}
	select {
	case w.tokens <- struct{}{}: // the child's end
	default:
		t.Fatal("the child could not give its slot back: the cancelled call gave back one it did not hold")
	}

	// Acquire takes the slot when it is free, and a held slot is not taken twice.
	s2 := &callSlot{w: w}
	if err := s2.Acquire(context.Background()); err != nil || !s2.held || len(w.tokens) != 0 {
		t.Fatalf("Acquire with a free slot: %v, held %v, %d free", err, s2.held, len(w.tokens))
	}
	if err := s2.Acquire(ctx); err != nil {
		t.Fatalf("Acquire of a held slot: %v", err)
	}
	s2.Release()
	s2.Release()
	if len(w.tokens) != 1 {
		t.Fatalf("%d free slots after the release, want 1", len(w.tokens))
	}
}
