package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/nats-io/nats.go/jetstream"
)

// Entries of ResultBucket start with a tag byte.
const (
	tagInline = 0 // the value follows
	tagObject = 1 // the value is the object of this name in ValueStore
)

// Store is the engine Store of a cluster: values live in ResultBucket (large ones in
// ValueStore), where workers write them. It keeps an index of the keys the bucket holds, fed
// by a watcher, so that asking about a value nobody has produced costs no round trip, and a
// cache of the values it has read.
type Store struct {
	c *Conn

	mu      sync.Mutex
	index   map[string]struct{} // keys in the bucket, as the watcher last saw them
	known   map[string]struct{} // keys this process learnt exist before the watcher said so
	cache   map[abi.Key][]byte
	watcher jetstream.KeyWatcher
	stop    context.CancelFunc // ends the watcher
	ready   chan struct{}      // closed once the watcher has delivered the bucket's current keys
}

// newStore returns a Store; with watch, it keeps an index of the bucket's keys (a
// coordinator plans with many lookups of values nobody produced yet; a worker, whose nested
// graphs are small, saves the server from sending it every new key).
func newStore(c *Conn, watch bool) *Store {
	s := &Store{c: c, index: map[string]struct{}{}, known: map[string]struct{}{}, cache: map[abi.Key][]byte{}, ready: make(chan struct{})}
	if !watch {
		close(s.ready)
		return s
	}
	ctx, stop := context.WithCancel(context.Background())
	w, err := c.results.WatchAll(ctx, jetstream.MetaOnly())
	if err != nil { // without the index every Get asks the server
		stop()
		close(s.ready)
		return s
	}
	s.stop = stop
	s.watcher = w
	go s.watch()
	return s
}

func (s *Store) watch() {
	first := true
	for e := range s.watcher.Updates() {
		if e == nil { // the end of the bucket's current keys
			if first {
				close(s.ready)
				first = false
			}
			continue
		}
		s.mu.Lock()
		switch e.Operation() {
		case jetstream.KeyValuePut:
			s.index[e.Key()] = struct{}{}
			delete(s.known, e.Key())
		default: // deleted or purged (Prune): forget the value, so that a plan computes it again
			delete(s.index, e.Key())
			delete(s.known, e.Key())
			if k, err := abi.ParseKey(e.Key()); err == nil {
				delete(s.cache, k)
			}
		}
		s.mu.Unlock()
	}
	if first {
		close(s.ready)
	}
}

func (s *Store) close() {
	if s.stop != nil {
		s.stop()
	}
}

// learn records that key holds a value (a worker reported it), before the watcher may have.
func (s *Store) learn(k abi.Key) {
	s.mu.Lock()
	if _, ok := s.index[k.String()]; !ok {
		s.known[k.String()] = struct{}{}
	}
	s.mu.Unlock()
}

// Get returns the value of key k, reading it from the cluster when this process has not.
func (s *Store) Get(k abi.Key) ([]byte, bool) {
	v, err := s.get(context.Background(), k)
	return v, err == nil && v != nil
}

func (s *Store) get(ctx context.Context, k abi.Key) ([]byte, error) {
	<-s.ready
	name := k.String()
	s.mu.Lock()
	v, cached := s.cache[k]
	_, indexed := s.index[name]
	_, known := s.known[name]
	s.mu.Unlock()
	if cached {
		return v, nil
	}
	if s.watcher != nil && !indexed && !known {
		return nil, nil
	}
	v, err := readValue(ctx, s.c, name)
	if err != nil || v == nil {
		return nil, err
	}
	s.mu.Lock()
	s.cache[k] = v
	s.mu.Unlock()
	return v, nil
}

// Put stores v under k in the cluster. Values are content-addressed, so a key that already
// holds a value keeps it.
func (s *Store) Put(k abi.Key, v []byte) {
	if err := writeValue(context.Background(), s.c, k.String(), v); err == nil {
		s.mu.Lock()
		s.cache[k] = v
		s.known[k.String()] = struct{}{}
		s.mu.Unlock()
	}
}

// Delete removes k's value from the cluster.
func (s *Store) Delete(k abi.Key) {
	name := k.String()
	s.mu.Lock()
	delete(s.cache, k)
	delete(s.known, name)
	delete(s.index, name)
	s.mu.Unlock()
	ctx := context.Background()
	if e, err := s.c.results.Get(ctx, name); err == nil && len(e.Value()) > 0 && e.Value()[0] == tagObject {
		_ = s.c.values.Delete(ctx, string(e.Value()[1:]))
	}
	_ = s.c.results.Purge(ctx, name)
}

// readValue reads the value stored under name (a key in hex): nil, nil when there is none.
func readValue(ctx context.Context, c *Conn, name string) ([]byte, error) {
	e, err := c.results.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read value %s: %w", name, err)
	}
	b := e.Value()
	if len(b) == 0 {
		return nil, fmt.Errorf("read value %s: empty entry", name)
	}
	switch b[0] {
	case tagInline:
		return b[1:], nil
	case tagObject:
		v, err := c.values.GetBytes(ctx, string(b[1:]))
		if err != nil {
			return nil, fmt.Errorf("read value %s from %s: %w", name, ValueStore, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("read value %s: unknown entry tag %d", name, b[0])
}

// writeValue stores v under name unless a value is already there: a call that runs twice
// (a redelivery, a retry) produces the same value, and the first one stays.
func writeValue(ctx context.Context, c *Conn, name string, v []byte) error {
	entry := append([]byte{tagInline}, v...)
	if len(v) > c.opts.InlineMax {
		if _, err := c.values.PutBytes(ctx, name, v); err != nil {
			return fmt.Errorf("write value %s to %s: %w", name, ValueStore, err)
		}
		entry = append([]byte{tagObject}, name...)
	}
	for attempt := 0; ; attempt++ {
		_, err := c.results.Create(ctx, name, entry)
		if err == nil || errors.Is(err, jetstream.ErrKeyExists) {
			return nil
		}
		if attempt >= 5 || ctx.Err() != nil {
			return fmt.Errorf("write value %s: %w", name, err)
		}
		time.Sleep(time.Duration(50<<attempt) * time.Millisecond) // the server may be restarting
	}
}
