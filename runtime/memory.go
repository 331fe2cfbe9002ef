package runtime

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/mrun-dev/mrun/internal/bytesize"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Linear memory (RATIONALE.md: why linear memory is reserved address space, and why one
// budget covers a runtime): every instance's memory reserves its maximum as address space
// and commits pages as it grows, so growing never copies and the host holds only the pages a
// guest touched; the committed sizes of all instances of a Runtime are charged to its memory
// budget, and a grow the budget cannot cover fails (memory.grow returns -1).

const wasmPage = 65536

// maxMemory is the most linear memory an instance may have: 4 GiB less one page. wazero's
// compiled code reads the memory's length as 32 bits, so at exactly 4 GiB it reads 0 and
// every access traps as out of bounds (and memory.size returns 0).
const maxMemory = 1<<32 - wasmPage

// memBudget accounts the linear memory of every instance of one Runtime.
type memBudget struct {
	rt    *Runtime
	limit int64        // bytes; negative means no limit
	used  atomic.Int64 // bytes committed to live memories or promised to instances starting
	// closing is set by Runtime.Close: a memory freed from then on may belong to an instance
	// whose guest still runs, so its pages are given back but its addresses stay mapped.
	closing atomic.Bool
}

// newMemBudget returns the budget of rt: limit bytes, the default when zero, none when negative.
func newMemBudget(rt *Runtime, limit int64) *memBudget {
	if limit == 0 {
		limit = defaultMemoryBudget()
	}
	return &memBudget{rt: rt, limit: limit}
}

// DefaultMemoryBudget returns what Config.MemoryBudget is when zero, on this machine: three
// quarters of its memory, or of the cgroup's limit when that is lower.
func DefaultMemoryBudget() int64 { return defaultMemoryBudget() }

// defaultMemoryBudget is three quarters of the machine's memory (or of the cgroup's limit when
// that is lower), rounded down to MiB: the rest is for the host's own heap, compiled code and
// everything else the machine runs. Without a way to know, 4 GiB.
func defaultMemoryBudget() int64 {
	total := physicalMemory()
	if total <= 0 {
		return 4 << 30
	}
	return total / 4 * 3 &^ (1<<20 - 1)
}

// take charges n bytes to the budget if they fit.
func (b *memBudget) take(n int64) bool {
	if b.limit < 0 {
		b.used.Add(n)
		return true
	}
	for {
		u := b.used.Load()
		if u+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// give returns n bytes to the budget.
func (b *memBudget) give(n int64) { b.used.Add(-n) }

// reserve charges n bytes to the budget, closing idle pooled instances first if they do not fit.
func (b *memBudget) reserve(n int64) bool {
	if n <= 0 || b.take(n) {
		return true
	}
	b.rt.releaseIdle(func() bool { return b.limit-b.used.Load() >= n })
	return b.take(n)
}

// releaseIdle closes idle pooled instances, one at a time, until enough returns true or none
// is left. It runs on the goroutine of a guest that grows its memory, so it holds no lock while
// an instance closes.
func (rt *Runtime) releaseIdle(enough func() bool) {
	rt.mu.Lock()
	mods := slices.Collect(maps.Values(rt.modules))
	rt.mu.Unlock()
	for _, m := range mods {
		for !enough() {
			inst := m.pool.takeIdle()
			if inst == nil {
				break
			}
			inst.close()
		}
	}
}

// takeIdle removes an idle instance from the pool and returns it, or nil when there is none.
func (p *pool) takeIdle() *instance {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.idle)
	if n == 0 {
		return nil
	}
	inst := p.idle[n-1]
	p.idle[n-1] = nil
	p.idle = p.idle[:n-1]
	return inst
}

// guestModule is an instantiated guest together with its linear memory.
type guestModule struct {
	api.Module
	mem  *linearMemory // nil when the module has no memory
	tier *tier         // the code it runs
}

// instantiate instantiates m's compiled module with a linear memory charged to the runtime's
// budget. The memory the module starts with is charged before anything is created, so a
// runtime whose budget is spent refuses new instances with an error wrapping ErrLimit.
func (m *Module) instantiate(ctx context.Context, cfg wazero.ModuleConfig) (api.Module, error) {
	b := m.rt.mem
	start := int64(m.memMin) * wasmPage
	if !b.reserve(start) {
		return nil, fmt.Errorf("%w: a new instance needs %s of memory to start, but %s of the runtime's %s memory budget is in use (raise it with runtime.Config.MemoryBudget)",
			ErrLimit, bytesize.Text(start), bytesize.Text(b.used.Load()), bytesize.Text(b.limit))
	}
	a := &allocation{b: b, credit: start, limit: maxMemory}
	if limit := m.memoryLimit(); limit > 0 {
		a.limit = min(uint64(limit)*wasmPage, maxMemory)
	}
	t := m.useTier()
	guest, err := t.wz.InstantiateModule(experimental.WithMemoryAllocator(ctx, a), t.compiled, cfg)
	t.use.RUnlock()
	if err != nil {
		if a.mem != nil {
			a.mem.Free() // wazero may not have: it frees a memory when it closes the module
		} else {
			b.give(a.credit)
		}
		return nil, err
	}
	return &guestModule{Module: guest, mem: a.mem, tier: t}, nil
}

// memoryLimit returns the limit of the module's memory in pages, 0 when there is none.
func (m *Module) memoryLimit() uint32 {
	if m.config.MemoryLimitPages != 0 {
		return m.config.MemoryLimitPages
	}
	return m.rt.cfg.MemoryLimitPages
}

// allocation is the memory allocator of one instantiation.
type allocation struct {
	b      *memBudget
	credit int64  // charged by instantiate for the memory the module starts with
	limit  uint64 // the most memory the instance may have, in bytes
	mem    *linearMemory
}

// Allocate implements experimental.MemoryAllocator: it reserves max bytes of address space,
// or reuses a reservation of that size that a closed instance left.
func (a *allocation) Allocate(_, max uint64) experimental.LinearMemory {
	lm := &linearMemory{b: a.b, credit: a.credit, limit: a.limit}
	a.credit = 0
	if max = min(max, a.limit); max > 0 {
		if r, ok := spare.get(max); ok {
			lm.reservation = r
		} else if res, err := reserve(max); err == nil {
			lm.res = res
		}
		// Without a reservation (address space exhausted, or no mmap on this system) the
		// memory is a Go slice that grows by copying, as wazero's own; the budget still holds.
	}
	a.mem = lm
	return lm
}

// reservation is address space for one linear memory. Its first rw bytes are readable and
// writable, and of those the first dirty bytes may hold what an earlier instance wrote.
type reservation struct {
	res       []byte
	rw, dirty uint64
}

// Limits of the spare reservations kept for reuse. Reusing one saves mapping it and, above
// all, faulting in its pages again: zeroing a page that is already there is many times faster
// than the kernel handing over a fresh one (on virtual machines a fault can cost 10–20 µs).
const (
	spareCount = 16       // reservations kept
	spareBytes = 64 << 20 // bytes they may keep dirty (resident), together
	spareEach  = 16 << 20 // bytes one may keep dirty; the rest is given back to the kernel
)

// spare holds the reservations of closed instances, for the process's runtimes to reuse.
var spare sparePool

type sparePool struct {
	mu    sync.Mutex
	free  []reservation
	dirty uint64 // sum of free[i].dirty
}

// get returns a spare reservation of n bytes, if there is one.
func (p *sparePool) get(n uint64) (reservation, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.free) - 1; i >= 0; i-- {
		if r := p.free[i]; uint64(len(r.res)) == n {
			p.free = slices.Delete(p.free, i, i+1)
			p.dirty -= r.dirty
			return r, true
		}
	}
	return reservation{}, false
}

// put keeps r for reuse, or unmaps it when the pool is full.
func (p *sparePool) put(r reservation) {
	if r.dirty > spareEach {
		if discard(r.res[spareEach:r.dirty]) == nil {
			r.dirty = spareEach
		}
	}
	p.mu.Lock()
	if len(p.free) < spareCount && p.dirty+r.dirty <= spareBytes {
		p.free = append(p.free, r)
		p.dirty += r.dirty
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	release(r.res)
}

// linearMemory is one instance's linear memory: a reservation of its maximum size, committed
// (readable and writable) up to its current size. It implements experimental.LinearMemory.
type linearMemory struct {
	b           *memBudget
	reservation // res is nil when the memory is the Go slice buf

	limit uint64 // bytes; growing past it fails

	mu      sync.Mutex
	buf     []byte  // the memory as wazero sees it: res[:size], or a Go slice
	credit  int64   // bytes charged at admission and not committed yet
	refused refusal // why the last grow failed, if it did
	freed   bool
}

// Reallocate implements experimental.LinearMemory: it commits memory up to size bytes and
// returns it, or returns nil (memory.grow returns -1) when the budget cannot cover it.
func (lm *linearMemory) Reallocate(size uint64) []byte {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if lm.freed {
		return nil
	}
	have := uint64(len(lm.buf))
	if size <= have {
		if lm.buf == nil {
			lm.buf = []byte{}
		}
		return lm.buf[:size:size]
	}
	switch {
	case size > lm.limit && lm.limit == maxMemory:
		lm.refused = refusedMaxMemory
		return nil
	case size > lm.limit:
		lm.refused = refusedLimit
		return nil
	case lm.res != nil && size > uint64(len(lm.res)):
		return nil // past the module's declared maximum: wazero checks that first
	}
	grow := int64(size - have)
	paid := min(grow, lm.credit)
	if need := grow - paid; need > 0 {
		lm.mu.Unlock() // releasing idle instances frees other memories
		ok := lm.b.reserve(need)
		lm.mu.Lock()
		if !ok {
			lm.refused = refusedBudget
			return nil
		}
		if lm.freed {
			lm.b.give(need)
			return nil
		}
	}
	lm.credit -= paid
	if lm.res != nil {
		if size > lm.rw {
			if err := commit(lm.res[lm.rw:size]); err != nil {
				lm.b.give(grow - paid)
				lm.credit += paid
				return nil
			}
			lm.rw = size
		}
		// Memory grows zeroed: clear what an earlier instance of a reused reservation wrote.
		if end := min(size, lm.dirty); have < end {
			clear(lm.res[have:end])
		}
		lm.dirty = max(lm.dirty, size)
		lm.buf = lm.res[:size:size]
	} else {
		lm.buf = append(lm.buf, make([]byte, grow)...)[:size:size]
	}
	lm.refused = refusedNone
	return lm.buf
}

// Free implements experimental.LinearMemory: it unmaps the memory and returns its bytes to
// the budget. wazero calls it when the instance closes.
func (lm *linearMemory) Free() {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if lm.freed {
		return
	}
	lm.freed = true
	lm.b.give(int64(len(lm.buf)) + lm.credit)
	lm.credit = 0
	if lm.res != nil {
		if lm.b.closing.Load() {
			// Runtime.Close closes instances whose guests may still be running (they stop at
			// their next check): unmapping or reusing the memory could crash the process or
			// hand the guest's writes to another instance, so only give the pages back.
			discard(lm.res[:lm.dirty])
		} else {
			spare.put(lm.reservation)
		}
		lm.reservation = reservation{}
	}
	lm.buf = nil
}

// refusal is why a linear memory did not grow.
type refusal uint8

const (
	refusedNone      refusal = iota
	refusedLimit             // the module's or the runtime's MemoryLimitPages
	refusedMaxMemory         // maxMemory, with no limit configured
	refusedBudget            // the runtime's MemoryBudget
)

// refusal returns why the guest's last attempt to grow its memory failed, if it did.
func (g *guestModule) refusal() refusal {
	if g.mem == nil {
		return refusedNone
	}
	g.mem.mu.Lock()
	defer g.mem.mu.Unlock()
	return g.mem.refused
}

// noteMemoryLimit adds to a trap the likely reason when the guest's memory had reached its
// limit or the runtime's memory budget: most guests trap (a Go guest panics "out of memory")
// when memory.grow fails. The trap then matches ErrLimit too.
func (inst *instance) noteMemoryLimit(te *TrapError) {
	if inst.guest.IsClosed() {
		return
	}
	pages := inst.mem.Size() / wasmPage
	limit := inst.mod.memoryLimit()
	limitNote := fmt.Sprintf(" (memory was at %d of its %d-page limit: raise it with runtime.Config.MemoryLimitPages or ModuleConfig.MemoryLimitPages)", pages, limit)
	mostNote := fmt.Sprintf(" (memory was at %d pages, the most an instance can have: 4 GiB less one page)", pages)
	if g, ok := inst.guest.(*guestModule); ok {
		switch g.refusal() {
		case refusedLimit:
			te.addLimitNote(limitNote)
			return
		case refusedMaxMemory:
			te.addLimitNote(mostNote)
			return
		case refusedBudget:
			te.addLimitNote(fmt.Sprintf(" (memory was at %d pages when the runtime's %s memory budget ran out: raise it with runtime.Config.MemoryBudget)", pages, bytesize.Text(inst.mod.rt.mem.limit)))
			return
		}
	}
	// The grow that failed may have asked for more than the maximum the module declares
	// (wazero refuses that itself), or a guest may have wanted more memory than the limit in
	// one step and failed far below it; the runtimes of Go ("fatal error: out of memory") and
	// Rust ("memory allocation of N bytes failed") say so on stderr. Guests grow memory in
	// chunks, so count within an eighth of the cap (at most 16 MiB) as at the cap.
	cap, declared := limit, false
	if cap == 0 || cap > maxMemory/wasmPage {
		cap = maxMemory / wasmPage
	}
	if inst.mod.hasMax && inst.mod.memMax < cap {
		cap, declared = inst.mod.memMax, true
	}
	if pages+min(cap/8, 256) < cap && !outOfMemory(inst.stderr.b) {
		return
	}
	switch {
	case declared:
		te.addLimitNote(fmt.Sprintf(" (memory was at %d of the %d-page maximum the module declares: raise the maximum where the module is built)", pages, cap))
	case cap == maxMemory/wasmPage:
		te.addLimitNote(fmt.Sprintf(" (memory was at %d pages, near the most an instance can have: 4 GiB less one page)", pages))
	default:
		te.addLimitNote(limitNote)
	}
}
