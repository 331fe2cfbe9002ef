package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/nats-io/nats.go"
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
	watch   bool // keep an index of the bucket's keys
	watcher jetstream.KeyWatcher
	stop    context.CancelFunc // ends the watcher
	ready   chan struct{}      // closed once the watcher has delivered the bucket's current keys
	gen     int                // counts the watchers started: updates of an older one are ignored
}

// newStore returns a Store; with watch, it keeps an index of the bucket's keys (a
// coordinator plans with many lookups of values nobody produced yet; a worker, whose nested
// graphs are small, saves the server from sending it every new key).
func newStore(c *Conn, watch bool) *Store {
	s := &Store{c: c, index: map[string]struct{}{}, known: map[string]struct{}{}, cache: map[abi.Key][]byte{}, watch: watch}
	s.mu.Lock()
	s.startWatch()
	s.mu.Unlock()
	return s
}

// startWatch starts a watcher of the bucket's keys, if s keeps an index. s.mu is held.
func (s *Store) startWatch() {
	s.ready = make(chan struct{})
	s.watcher, s.stop = nil, nil
	if !s.watch {
		close(s.ready)
		return
	}
	ctx, stop := context.WithCancel(context.Background())
	w, err := s.c.results.WatchAll(ctx, jetstream.MetaOnly())
	if err != nil { // without the index every Get asks the server
		stop()
		close(s.ready)
		return
	}
	s.gen++
	s.stop, s.watcher = stop, w
	go s.watchKeys(w, s.ready, s.gen)
}

// restart forgets the keys the server held, and watches them anew: the server restarted
// without its data, and its bucket with it. The values read stay cached: a key names its
// value, wherever it is stored.
func (s *Store) restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop != nil {
		s.stop()
	}
	clear(s.index)
	clear(s.known)
	s.startWatch()
}

func (s *Store) watchKeys(w jetstream.KeyWatcher, ready chan struct{}, gen int) {
	first := true
	for e := range w.Updates() {
		if e == nil { // the end of the bucket's current keys
			if first {
				close(ready)
				first = false
			}
			continue
		}
		s.mu.Lock()
		if s.gen != gen {
			s.mu.Unlock()
			continue
		}
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
		close(ready)
	}
}

func (s *Store) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watch = false
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
	s.mu.Lock()
	ready := s.ready
	v, cached := s.cache[k]
	s.mu.Unlock()
	if cached {
		return v, nil
	}
	name := k.String()
	select {
	case <-ready:
	default:
		// The index of the bucket's keys is still loading (a cluster that stored a million
		// values takes seconds). A value read directly is the value, keys being
		// content-addressed: a run whose outputs are stored answers at once. Only a miss needs
		// the index, which says which keys exist without a read for each.
		v, err := readValue(ctx, s.c, name)
		if err == nil && v != nil {
			s.mu.Lock()
			s.cache[k] = v
			s.mu.Unlock()
			return v, nil
		}
		<-ready
	}
	s.mu.Lock()
	v, cached = s.cache[k]
	_, indexed := s.index[name]
	_, known := s.known[name]
	watching := s.watcher != nil
	s.mu.Unlock()
	if cached {
		return v, nil
	}
	if !watching || indexed || known {
		read := readValue
		if indexed || known {
			read = readExisting
		}
		err := s.c.retry(ctx, func(ctx context.Context) error {
			var err error
			v, err = read(ctx, s.c, name)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	if v == nil {
		return s.restore(ctx, k)
	}
	s.mu.Lock()
	s.cache[k] = v
	s.mu.Unlock()
	return v, nil
}

// restore computes again a value this process's executor had computed, when the server has
// lost it (it restarted without its data): nil, nil for any other value missing.
func (s *Store) restore(ctx context.Context, k abi.Key) ([]byte, error) {
	if s.c.outage.epoch.Load() == 0 {
		return nil, nil
	}
	s.c.mu.Lock()
	x := s.c.exec
	s.c.mu.Unlock()
	if x == nil {
		return nil, nil
	}
	name := k.String()
	if ok, err := x.restore(ctx, name); !ok || err != nil {
		return nil, err
	}
	var v []byte
	err := s.c.retry(ctx, func(ctx context.Context) error {
		var err error
		v, err = readValue(ctx, s.c, name)
		return err
	})
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
	err := s.c.retry(context.Background(), func(ctx context.Context) error { return writeValue(ctx, s.c, k.String(), v) })
	if err == nil {
		s.mu.Lock()
		s.cache[k] = v
		s.known[k.String()] = struct{}{}
		s.mu.Unlock()
	}
}

// forget drops the keys named from the index and the cache: this process removed them from
// the bucket (Prune), and a read of one must not find what its watcher has not yet heard of.
func (s *Store) forget(names []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range names {
		delete(s.index, name)
		delete(s.known, name)
		if k, err := abi.ParseKey(name); err == nil {
			delete(s.cache, k)
		}
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
	return decodeEntry(ctx, c, name, e.Value())
}

// decodeEntry returns the value an entry of ResultBucket holds, reading it from ValueStore
// when the entry names an object there.
func decodeEntry(ctx context.Context, c *Conn, name string, b []byte) ([]byte, error) {
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

// readExisting reads the value stored under name, which this process knows was stored (a
// worker reported it, or the bucket's watcher saw it). A read goes to any replica of the
// bucket (a direct get), and a replica may not yet hold what its leader confirmed: when the
// read finds nothing, the stream's leader is asked, which holds every confirmed write.
func readExisting(ctx context.Context, c *Conn, name string) ([]byte, error) {
	v, err := readValue(ctx, c, name)
	if v != nil || err != nil {
		return v, err
	}
	e, err := readLeader(ctx, c, name)
	if e == nil || err != nil {
		return nil, err
	}
	return decodeEntry(ctx, c, name, e)
}

// leaderReadTimeout bounds a read from the leader when the caller's context has no deadline,
// as the JetStream client bounds its own requests.
const leaderReadTimeout = 5 * time.Second

// readLeader reads the entry of name in ResultBucket from the leader of its stream: nil, nil
// when the key holds nothing or was deleted.
func readLeader(ctx context.Context, c *Conn, name string) ([]byte, error) {
	req, err := json.Marshal(struct {
		LastFor string `json:"last_by_subj"`
	}{"$KV." + ResultBucket + "." + name})
	if err != nil {
		return nil, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, leaderReadTimeout)
		defer cancel()
	}
	m, err := c.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.KV_"+ResultBucket, req)
	if err != nil {
		return nil, fmt.Errorf("read value %s from the leader: %w", name, err)
	}
	var resp struct {
		Message *struct {
			Header []byte `json:"hdrs"`
			Data   []byte `json:"data"`
		} `json:"message"`
		Error *jetstream.APIError `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return nil, fmt.Errorf("read value %s from the leader: %w", name, err)
	}
	if resp.Error != nil {
		if resp.Error.ErrorCode == jetstream.JSErrCodeMessageNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("read value %s from the leader: %w", name, resp.Error)
	}
	if resp.Message == nil {
		return nil, fmt.Errorf("read value %s from the leader: %w", name, jetstream.ErrInvalidJetStreamResponse)
	}
	if len(resp.Message.Header) > 0 {
		h, err := nats.DecodeHeadersMsg(resp.Message.Header)
		if err != nil {
			return nil, fmt.Errorf("read value %s from the leader: %w", name, err)
		}
		if op := h.Get("KV-Operation"); op != "" { // DEL or PURGE: the key was removed
			return nil, nil
		}
	}
	return resp.Message.Data, nil
}

// createMsg returns the message that creates key name in ResultBucket with entry, as
// jetstream.KeyValue.Create would: the server refuses it when the key holds something.
func createMsg(name string, entry []byte) *nats.Msg {
	return &nats.Msg{Subject: "$KV." + ResultBucket + "." + name, Data: entry, Header: nats.Header{jetstream.ExpectedLastSubjSeqHeader: {"0"}}}
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
	m := createMsg(name, entry)
	for attempt := 0; ; attempt++ {
		// A create, as jetstream.KeyValue.Create makes it, without its decoding of the answer;
		// a key that holds something (a value, or the marker of one deleted) is left to
		// Create, which writes over a deleted one.
		_, err := c.jsPublish(ctx, m)
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			_, err = c.results.Create(ctx, name, entry)
		}
		if err == nil || errors.Is(err, jetstream.ErrKeyExists) {
			return nil
		}
		if attempt >= 5 || ctx.Err() != nil {
			return fmt.Errorf("write value %s: %w", name, err)
		}
		time.Sleep(time.Duration(50<<attempt) * time.Millisecond) // the server may be restarting
	}
}
