package dag

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/mrun-dev/mrun/abi"
)

// Execution is one run of a graph: it holds (pins) every value it used or produced, the values
// of the tasks its functions spawned included, and the errors of the calls that failed, until
// Release. Held values are never evicted or forgotten; released ones stay in the store as a
// cache, up to Config.StoreBudget, and are computed again if they were evicted and are needed.
//
// An Execution is safe for concurrent use. Release must be called exactly when its values are
// no longer needed, like the Body of an http.Response; after Release, its values may be gone.
type Execution struct {
	e    *Engine
	l    *lease
	id   uint64
	objs []*Object
	err  error
}

// Run executes objs like Execute and returns the Execution, which holds their values and every
// value used to compute them until its Release. The Execution is returned even when err is not
// nil, so that the values that were produced can be fetched; Release it in every case.
func (e *Engine) Run(ctx context.Context, objs ...*Object) (*Execution, error) {
	x := &Execution{e: e, l: e.newLease(), id: e.nextID.Add(1), objs: objs}
	x.err = e.execute(ctx, x.l, x.id, objs)
	return x, x.err
}

// ID returns the execution's number, unique within its Engine: Event.Execution names it.
func (x *Execution) ID() uint64 { return x.id }

// Err returns the error Run returned.
func (x *Execution) Err() error { return x.err }

// Value returns the MessagePack bytes of o's value, which the execution produced or used. It
// fails with o's *TaskError if o's call failed, and with ErrNotExecuted if o was not part of
// the execution (or the execution was released).
func (x *Execution) Value(ctx context.Context, o *Object) ([]byte, error) {
	if err := readable(ctx, o); err != nil {
		return nil, err
	}
	if v, ok := x.l.private(o.Key()); ok {
		return v, nil
	}
	if x.l.holds(o.Key()) {
		if v, err := x.e.get(ctx, o.Key()); v != nil || err != nil {
			return v, err
		}
	}
	if err := x.e.failure(o); err != nil && x.l.failedOn(o.t.key) {
		return nil, err
	}
	return nil, fmt.Errorf("value of %s: %w", o, ErrNotExecuted)
}

// readable returns the error of reading the value of o under ctx before anything is looked
// up: o is nil, could not be spawned, or ctx has ended.
func readable(ctx context.Context, o *Object) error {
	switch {
	case o == nil:
		return errors.New("value: nil *Object")
	case o.t.spawnErr() != nil:
		return o.t.spawnErr()
	case ctx.Err() != nil:
		return fmt.Errorf("value of %s: %w", o, context.Cause(ctx))
	}
	return nil
}

// Fetch decodes o's value into v, which must be a pointer, like json.Unmarshal.
func (x *Execution) Fetch(ctx context.Context, o *Object, v any) error {
	return fetch(ctx, x, o, v)
}

// Release lets go of every value and error the execution holds. It is idempotent.
func (x *Execution) Release() { x.e.release(x.l) }

// Source is where Get and FetchAll read values: an *Engine or an *Execution.
type Source interface {
	Value(ctx context.Context, o *Object) ([]byte, error)
}

// Get returns o's value decoded as a T, for example dag.Get[int64](ctx, eng, o).
func Get[T any](ctx context.Context, src Source, o *Object) (T, error) {
	var v T
	err := fetch(ctx, src, o, &v)
	return v, err
}

func fetch(ctx context.Context, src Source, o *Object, v any) error {
	b, err := src.Value(ctx, o)
	if err != nil {
		return err
	}
	if err := abi.Unmarshal(b, v); err != nil {
		return fmt.Errorf("fetch %s: %w", o, err)
	}
	return nil
}

// lease is what one host-level execution holds: the keys it pinned in a PinStore, the failure
// records it keeps alive, and the values of its impure calls, which no other execution sees.
// Nested executions share their host-level execution's lease.
type lease struct {
	mu       sync.Mutex
	pinned   keyList
	held     map[abi.Key]struct{} // made on the first holds call: only fetching needs it
	failed   []abi.Key
	priv     map[abi.Key][]byte
	anyPriv  atomic.Bool // priv is not empty: most executions never take mu to read a value
	released bool
}

func (e *Engine) newLease() *lease { return &lease{} }

// private returns the value of k if this execution holds it as an impure call's value.
func (l *lease) private(k abi.Key) ([]byte, bool) {
	if !l.anyPriv.Load() {
		return nil, false
	}
	l.mu.Lock()
	v, ok := l.priv[k]
	l.mu.Unlock()
	return v, ok
}

func (l *lease) setPrivate(k abi.Key, v []byte) {
	l.mu.Lock()
	if l.priv == nil {
		l.priv = map[abi.Key][]byte{}
	}
	l.priv[k] = v
	l.anyPriv.Store(true)
	l.mu.Unlock()
}

// addPins records keys the execution pinned. It reports false, and records nothing, once the
// lease was released: the caller unpins them itself.
func (l *lease) addPins(keys ...abi.Key) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return false
	}
	l.pinned.add(keys)
	if l.held != nil {
		for _, k := range keys {
			l.held[k] = struct{}{}
		}
	}
	return true
}

// holds reports whether the execution pinned k.
func (l *lease) holds(k abi.Key) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = make(map[abi.Key]struct{}, l.pinned.len())
		l.pinned.each(func(p abi.Key) { l.held[p] = struct{}{} })
	}
	_, ok := l.held[k]
	return ok
}

func (l *lease) failedOn(k abi.Key) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.failed {
		if f == k {
			return true
		}
	}
	return false
}

// keyList is a list of keys in chunks of a fixed size: it grows without copying, and wastes
// at most one chunk, where a slice that doubles holds up to twice what it needs (16 MiB more
// for a million keys).
type keyList struct {
	chunks [][]abi.Key
}

const keyChunk = 1024

func (kl *keyList) add(keys []abi.Key) {
	for _, k := range keys {
		n := len(kl.chunks)
		if n == 0 || len(kl.chunks[n-1]) == keyChunk {
			kl.chunks = append(kl.chunks, make([]abi.Key, 0, keyChunk))
			n++
		}
		kl.chunks[n-1] = append(kl.chunks[n-1], k)
	}
}

func (kl *keyList) len() int {
	if len(kl.chunks) == 0 {
		return 0
	}
	return (len(kl.chunks)-1)*keyChunk + len(kl.chunks[len(kl.chunks)-1])
}

func (kl *keyList) each(f func(abi.Key)) {
	for _, c := range kl.chunks {
		for _, k := range c {
			f(k)
		}
	}
}

// failRec is the error of a failed call, kept while an execution (or Execute's caller, until
// Forget) holds it.
type failRec struct {
	err  error
	refs int
}

// pin holds the value of key k for l: in a PinStore until l is released; with a plain Store
// it only checks that the value is there.
func (e *Engine) pin(l *lease, keys ...abi.Key) bool {
	if e.pins == nil {
		for _, k := range keys {
			if _, ok := e.store.Get(k); !ok {
				return false
			}
		}
		return true
	}
	for i, k := range keys {
		if !e.pins.Pin(k) {
			for _, p := range keys[:i] {
				e.pins.Unpin(p)
			}
			return false
		}
	}
	if !l.addPins(keys...) {
		for _, k := range keys {
			e.pins.Unpin(k)
		}
	}
	return true
}

// put stores a value l produced, pinned for l.
func (e *Engine) put(l *lease, k abi.Key, v []byte) {
	if e.pins == nil {
		e.store.Put(k, v)
		return
	}
	e.pins.PutPinned(k, v)
	if !l.addPins(k) {
		e.pins.Unpin(k)
	}
}

// hold records the failures of r's calls in l.
func (e *Engine) recordFailures(l *lease, failed []*node) {
	if len(failed) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released {
		return
	}
	for _, n := range failed {
		f := e.fails[n.t.key]
		if f == nil {
			f = &failRec{}
			e.fails[n.t.key] = f
		}
		f.err = n.err
		f.refs++
		l.failed = append(l.failed, n.t.key)
	}
}

// release drops everything l holds.
func (e *Engine) release(l *lease) {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return
	}
	l.released = true
	pinned, failed := l.pinned, l.failed
	l.pinned, l.failed, l.held, l.priv = keyList{}, nil, nil, nil
	l.anyPriv.Store(false)
	l.mu.Unlock()
	if e.pins != nil {
		pinned.each(e.pins.Unpin)
	}
	if len(failed) > 0 {
		e.mu.Lock()
		for _, k := range failed {
			e.unrefFailure(k)
		}
		e.mu.Unlock()
	}
}

// unrefFailure drops one reference to k's failure record. Called with e.mu held.
func (e *Engine) unrefFailure(k abi.Key) {
	if f := e.fails[k]; f != nil {
		if f.refs--; f.refs <= 0 {
			delete(e.fails, k)
		}
	}
}

// kept is what Execute keeps for one requested Object until Forget: a pin of its value, or its
// impure value. Failure records are kept by task key in Engine.keptFails.
type kept struct {
	pinned bool
	priv   []byte
}

// keep moves what x holds for objs, and the failures of every call of the execution, into the
// engine's kept set, for Execute's callers, who fetch from the Engine and let go with Forget.
func (e *Engine) keep(x *Execution, objs []*Object) {
	x.l.mu.Lock()
	failed := x.l.failed
	x.l.mu.Unlock()
	if len(failed) > 0 {
		e.mu.Lock()
		for _, k := range failed {
			if f := e.fails[k]; f != nil && !e.keptFails[k] {
				f.refs++
				e.keptFails[k] = true
			}
		}
		e.mu.Unlock()
	}
	for _, o := range objs {
		if o.t.spawnErr() != nil {
			continue
		}
		k := o.Key()
		v, priv := x.l.private(k)
		e.mu.Lock()
		kp := e.kept[k]
		if kp == nil {
			kp = &kept{}
			e.kept[k] = kp
		}
		switch {
		case priv:
			if kp.priv == nil {
				e.keptPriv.Add(1)
			}
			kp.priv = v
		case !kp.pinned && e.pins != nil && e.pins.Pin(k):
			kp.pinned = true
		}
		e.mu.Unlock()
	}
}

// Forget drops the values and errors of objs: those Execute keeps for them, and the values in
// the store, so that they are computed again if executed. A value that an Execution holds stays
// until that execution is released.
func (e *Engine) Forget(objs ...*Object) {
	for _, o := range objs {
		if o == nil || o.t.spawnErr() != nil {
			continue
		}
		k := o.Key()
		e.mu.Lock()
		kp := e.kept[k]
		delete(e.kept, k)
		if e.keptFails[o.t.key] {
			delete(e.keptFails, o.t.key)
			e.unrefFailure(o.t.key)
		}
		if kp != nil && kp.priv != nil {
			e.keptPriv.Add(-1)
		}
		e.mu.Unlock()
		if kp != nil && kp.pinned {
			e.pins.Unpin(k)
		}
		e.store.Delete(k)
	}
}
