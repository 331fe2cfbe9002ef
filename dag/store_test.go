package dag

import (
	"fmt"
	"sync"
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

// key returns a key in shard 0 (first byte 0) numbered i, so that eviction order within one
// shard is exact.
func key(i int) abi.Key {
	var k abi.Key
	k[1], k[2] = byte(i), byte(i>>8)
	return k
}

// The memory store keeps unpinned values up to its budget, least recently used out first;
// pinned values neither count nor go, and a value deleted while pinned goes with its last pin.
func TestMemoryStore_BudgetAndPins(t *testing.T) {
	val := make([]byte, 100)
	per := int64(len(val)) + entryOverhead
	s := NewMemoryStore(3 * per).(*memStore)
	for i := range 3 {
		s.Put(key(i), val)
	}
	s.Get(key(0)) // 0 is now the most recently used: 1 goes first
	s.Put(key(3), val)
	if _, ok := s.Get(key(1)); ok {
		t.Fatal("the least recently used value was not evicted")
	}
	for _, i := range []int{0, 2, 3} {
		if _, ok := s.Get(key(i)); !ok {
			t.Fatalf("value %d was evicted", i)
		}
	}
	if got := s.unpinned.Load(); got != 3*per {
		t.Fatalf("unpinned bytes = %d, want %d", got, 3*per)
	}

	// Pinned values survive any number of newer ones and do not count.
	if !s.Pin(key(0)) || s.Pin(key(1)) {
		t.Fatal("Pin reports the wrong presence")
	}
	s.PutPinned(key(9), val)
	for i := 10; i < 20; i++ {
		s.Put(key(i), val)
	}
	for _, i := range []int{0, 9} {
		if _, ok := s.Get(key(i)); !ok {
			t.Fatalf("pinned value %d was evicted", i)
		}
	}
	if got := s.unpinned.Load(); got != 3*per {
		t.Fatalf("unpinned bytes = %d, want %d", got, 3*per)
	}

	// Deleting a pinned value waits for its last pin; unpinning others makes them evictable.
	s.Pin(key(9))
	s.Delete(key(9))
	s.Unpin(key(9))
	if _, ok := s.Get(key(9)); !ok {
		t.Fatal("a value deleted while pinned twice went with the first unpin")
	}
	s.Unpin(key(9))
	if _, ok := s.Get(key(9)); ok {
		t.Fatal("a value deleted while pinned stayed after its last unpin")
	}
	s.Unpin(key(0))
	for i := 20; i < 23; i++ {
		s.Put(key(i), val)
	}
	if _, ok := s.Get(key(0)); ok {
		t.Fatal("an unpinned value outlived three newer ones in a store of three")
	}
}

// A negative budget keeps everything; values larger than the budget do not stay unpinned.
func TestMemoryStore_Limits(t *testing.T) {
	s := NewMemoryStore(-1)
	for i := range 1000 {
		s.Put(key(i), make([]byte, 1000))
	}
	for i := range 1000 {
		if _, ok := s.Get(key(i)); !ok {
			t.Fatalf("value %d evicted from a store without a budget", i)
		}
	}
	small := NewMemoryStore(1000)
	small.Put(key(1), make([]byte, 2000))
	if _, ok := small.Get(key(1)); ok {
		t.Fatal("a value larger than the whole budget stayed")
	}
	small.PutPinned(key(2), make([]byte, 2000))
	if _, ok := small.Get(key(2)); !ok {
		t.Fatal("a pinned value larger than the budget was evicted")
	}
}

// Concurrent puts, pins, unpins and deletes across shards keep the accounting exact (run with
// -race).
func TestMemoryStore_Concurrent(t *testing.T) {
	s := NewMemoryStore(50_000).(*memStore)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				var k abi.Key
				copy(k[:], fmt.Sprintf("%d-%d", g, i%300))
				switch i % 4 {
				case 0:
					s.Put(k, make([]byte, i%50))
				case 1:
					if s.Pin(k) {
						s.Unpin(k)
					}
				case 2:
					s.PutPinned(k, make([]byte, 10))
					s.Unpin(k)
				case 3:
					s.Delete(k)
				}
			}
		})
	}
	wg.Wait()
	var total int64
	for i := range s.shards {
		sh := &s.shards[i]
		for _, e := range sh.m {
			if e.pins != 0 {
				t.Fatalf("entry left with %d pins", e.pins)
			}
			total += e.size()
		}
	}
	if got := s.unpinned.Load(); got != total || total > 50_000 {
		t.Fatalf("unpinned bytes counted %d, held %d, budget 50000", got, total)
	}
}
