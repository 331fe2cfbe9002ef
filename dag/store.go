package dag

import (
	"sync"
	"sync/atomic"

	"github.com/mrun-dev/mrun/abi"
)

// Store keeps results by Object key. Values are MessagePack bytes and are never modified after
// Put. Implementations must be safe for concurrent use.
type Store interface {
	Get(key abi.Key) ([]byte, bool)
	Put(key abi.Key, value []byte)
	Delete(key abi.Key)
}

// A PinStore is a Store that keeps the values executions hold (pin) apart from the others, which
// it may evict. An execution pins every value it uses or produces and unpins them when it is
// released, so a value is never evicted or forgotten while an execution needs it. The engine
// uses these methods when its Store has them; with a plain Store it checks presence with Get and
// cannot keep a value from being deleted while an execution uses it.
type PinStore interface {
	Store
	// Pin holds key's value, if the store has it, until a matching Unpin, and reports whether
	// it had it. Pins count: a value pinned twice needs two Unpins.
	Pin(key abi.Key) bool
	// PutPinned stores value under key and pins it, in one step.
	PutPinned(key abi.Key, value []byte)
	// Unpin releases one pin of key's value. An unpinned value may be evicted; one that was
	// Deleted while pinned goes with its last pin.
	Unpin(key abi.Key)
}

// DefaultStoreBudget is the memory store's byte budget for unpinned values when
// Config.StoreBudget is zero.
const DefaultStoreBudget = 256 << 20

// entryOverhead is what the memory store counts for one value beyond its bytes: the entry, its
// map slot and the slice header, so that a million tiny values count for what they hold.
const entryOverhead = 96

// storeShards is the number of independently locked parts of the memory store. Keys are
// hashes, so they spread evenly.
const storeShards = 64

// NewMemoryStore returns a PinStore that keeps values in memory: pinned values for as long as
// they are pinned, and unpinned ones up to budget bytes (values plus a small per-value overhead),
// evicting the least recently used beyond it. budget 0 means DefaultStoreBudget; a negative
// budget keeps every value until it is deleted.
//
// The store is split into shards, each with its own lock and its own least-recently-used list,
// so that concurrent executions rarely wait for one another. Eviction takes the oldest value of
// one shard after another in turn: an approximation of a global LRU order that never scans the
// whole store.
func NewMemoryStore(budget int64) PinStore {
	if budget == 0 {
		budget = DefaultStoreBudget
	}
	s := &memStore{budget: budget}
	for i := range s.shards {
		s.shards[i].m = map[abi.Key]*entry{}
		s.shards[i].lru.prev, s.shards[i].lru.next = &s.shards[i].lru, &s.shards[i].lru
	}
	return s
}

type memStore struct {
	shards   [storeShards]shard
	budget   int64        // bytes of unpinned values kept; < 0: no limit
	unpinned atomic.Int64 // bytes of unpinned values, overhead included
	evicting sync.Mutex   // held by the goroutine evicting
	next     atomic.Uint32
}

type shard struct {
	mu  sync.Mutex
	m   map[abi.Key]*entry
	lru entry // sentinel of the ring of unpinned entries, most recently used first
	_   [40]byte
}

type entry struct {
	key        abi.Key
	val        []byte
	pins       int32
	forget     bool // deleted while pinned: goes with its last pin
	prev, next *entry
}

func (e *entry) size() int64 { return int64(len(e.val)) + entryOverhead }

func (s *memStore) shard(k abi.Key) *shard { return &s.shards[k[0]%storeShards] }

func (sh *shard) unlink(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (sh *shard) pushFront(e *entry) {
	e.prev, e.next = &sh.lru, sh.lru.next
	sh.lru.next.prev = e
	sh.lru.next = e
}

func (s *memStore) Get(k abi.Key) ([]byte, bool) {
	sh := s.shard(k)
	sh.mu.Lock()
	e, ok := sh.m[k]
	if !ok {
		sh.mu.Unlock()
		return nil, false
	}
	if e.pins == 0 && sh.lru.next != e {
		sh.unlink(e)
		sh.pushFront(e)
	}
	v := e.val
	sh.mu.Unlock()
	return v, true
}

func (s *memStore) Put(k abi.Key, v []byte) { s.put(k, v, false) }

func (s *memStore) PutPinned(k abi.Key, v []byte) { s.put(k, v, true) }

func (s *memStore) put(k abi.Key, v []byte, pin bool) {
	sh := s.shard(k)
	var grew int64
	sh.mu.Lock()
	e, ok := sh.m[k]
	switch {
	case !ok:
		e = &entry{key: k, val: v}
		sh.m[k] = e
		if pin {
			e.pins = 1
		} else {
			sh.pushFront(e)
			grew = e.size()
		}
	case e.pins == 0:
		if pin { // leaves the unpinned set
			sh.unlink(e)
			grew = -e.size()
			e.pins = 1
		} else {
			grew = int64(len(v)) - int64(len(e.val))
			if sh.lru.next != e {
				sh.unlink(e)
				sh.pushFront(e)
			}
		}
		e.val = v
	default: // pinned: a value is the same whoever computed it, but keep the newest bytes
		e.val = v
		e.forget = false
		if pin {
			e.pins++
		}
	}
	sh.mu.Unlock()
	s.grow(grew)
}

func (s *memStore) Pin(k abi.Key) bool {
	sh := s.shard(k)
	sh.mu.Lock()
	e, ok := sh.m[k]
	if !ok {
		sh.mu.Unlock()
		return false
	}
	var grew int64
	if e.pins == 0 {
		sh.unlink(e)
		grew = -e.size()
	}
	e.pins++
	sh.mu.Unlock()
	s.grow(grew)
	return true
}

func (s *memStore) Unpin(k abi.Key) {
	sh := s.shard(k)
	var grew int64
	sh.mu.Lock()
	if e, ok := sh.m[k]; ok && e.pins > 0 {
		e.pins--
		if e.pins == 0 {
			if e.forget {
				delete(sh.m, k)
			} else {
				sh.pushFront(e)
				grew = e.size()
			}
		}
	}
	sh.mu.Unlock()
	s.grow(grew)
}

func (s *memStore) Delete(k abi.Key) {
	sh := s.shard(k)
	var grew int64
	sh.mu.Lock()
	if e, ok := sh.m[k]; ok {
		if e.pins > 0 {
			e.forget = true
		} else {
			sh.unlink(e)
			delete(sh.m, k)
			grew = -e.size()
		}
	}
	sh.mu.Unlock()
	s.grow(grew)
}

// grow adds n to the bytes of unpinned values and evicts when they pass the budget.
func (s *memStore) grow(n int64) {
	if n == 0 {
		return
	}
	if total := s.unpinned.Add(n); n < 0 || s.budget < 0 || total <= s.budget {
		return
	}
	// One evictor at a time; the others leave the work to it. It looks again after it lets go,
	// for what others added meanwhile.
	for s.unpinned.Load() > s.budget && s.evicting.TryLock() {
		progress := s.evict()
		s.evicting.Unlock()
		if !progress {
			return
		}
	}
}

// evict removes least recently used unpinned values, one shard after another, until they fit
// the budget, and reports whether it removed any. Called with s.evicting held.
func (s *memStore) evict() (progress bool) {
	for empty := 0; s.unpinned.Load() > s.budget && empty < storeShards; {
		sh := &s.shards[s.next.Add(1)%storeShards]
		sh.mu.Lock()
		e := sh.lru.prev
		if e == &sh.lru {
			sh.mu.Unlock()
			empty++
			continue
		}
		empty = 0
		sh.unlink(e)
		delete(sh.m, e.key)
		sh.mu.Unlock()
		s.unpinned.Add(-e.size())
		progress = true
	}
	return progress
}
