package runtime

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

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
	mem *linearMemory // nil when the module has no memory
}

// instantiate instantiates m's compiled module with a linear memory charged to the runtime's
// budget. The memory the module starts with is charged before anything is created, so a
// runtime whose budget is spent refuses new instances with an error wrapping ErrLimit.
func (m *Module) instantiate(ctx context.Context, cfg wazero.ModuleConfig) (api.Module, error) {
	b := m.rt.mem
	start := int64(m.memMin) * wasmPage
	if !b.reserve(start) {
		return nil, fmt.Errorf("%w: a new instance needs %s of memory to start, but %s of the runtime's %s memory budget is in use (raise it with runtime.Config.MemoryBudget)",
			ErrLimit, sizeText(start), sizeText(b.used.Load()), sizeText(b.limit))
	}
	a := &allocation{b: b, credit: start}
	guest, err := m.wz.InstantiateModule(experimental.WithMemoryAllocator(ctx, a), m.compiled, cfg)
	if err != nil {
		if a.mem != nil {
			a.mem.Free() // wazero may not have: it frees a memory when it closes the module
		} else {
			b.give(a.credit)
		}
		return nil, err
	}
	return &guestModule{Module: guest, mem: a.mem}, nil
}

// allocation is the memory allocator of one instantiation.
type allocation struct {
	b      *memBudget
	credit int64 // charged by instantiate for the memory the module starts with
	mem    *linearMemory
}

// Allocate implements experimental.MemoryAllocator: it reserves max bytes of address space.
func (a *allocation) Allocate(_, max uint64) experimental.LinearMemory {
	lm := &linearMemory{b: a.b, credit: a.credit}
	a.credit = 0
	if max > 0 {
		if res, err := reserve(max); err == nil {
			lm.res = res
		}
		// Without a reservation (address space exhausted, or no mmap on this system) the
		// memory is a Go slice that grows by copying, as wazero's own; the budget still holds.
	}
	a.mem = lm
	return lm
}

// linearMemory is one instance's linear memory: a reservation of its maximum size, committed
// (readable and writable) up to its current size. It implements experimental.LinearMemory.
type linearMemory struct {
	b   *memBudget
	res []byte // the reservation, or nil when the memory is the Go slice buf

	mu      sync.Mutex
	buf     []byte // the memory as wazero sees it: res[:size], or a Go slice
	credit  int64  // bytes charged at admission and not committed yet
	refused uint64 // the size in bytes of the last grow refused; 0 after one succeeds
	ceiling bool   // whether that grow was refused for going past maxMemory, not the budget
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
	if size > maxMemory || (lm.res != nil && size > uint64(len(lm.res))) {
		lm.refused, lm.ceiling = size, true
		return nil
	}
	grow := int64(size - have)
	paid := min(grow, lm.credit)
	if need := grow - paid; need > 0 {
		lm.mu.Unlock() // releasing idle instances frees other memories
		ok := lm.b.reserve(need)
		lm.mu.Lock()
		if !ok {
			lm.refused, lm.ceiling = size, false
			return nil
		}
		if lm.freed {
			lm.b.give(need)
			return nil
		}
	}
	lm.credit -= paid
	if lm.res != nil {
		if err := commit(lm.res[have:size]); err != nil {
			lm.b.give(grow - paid)
			lm.credit += paid
			return nil
		}
		lm.buf = lm.res[:size:size]
	} else {
		lm.buf = append(lm.buf, make([]byte, grow)...)[:size:size]
	}
	lm.refused = 0
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
			// their next check): unmapping would crash the process, so only give the pages back.
			discard(lm.res[:len(lm.buf)])
		} else {
			release(lm.res)
		}
		lm.res = nil
	}
	lm.buf = nil
}

// refusal reports whether the guest's last attempt to grow its memory failed here, and
// whether it failed for going past maxMemory rather than the runtime's memory budget.
func (g *guestModule) refusal() (refused, ceiling bool) {
	if g.mem == nil {
		return false, false
	}
	g.mem.mu.Lock()
	defer g.mem.mu.Unlock()
	return g.mem.refused != 0, g.mem.ceiling
}

// noteMemoryLimit adds to a trap the likely reason when the guest's memory had reached its
// limit or the runtime's memory budget: most guests trap (a Go guest panics "out of memory")
// when memory.grow fails. The trap then matches ErrLimit too.
func (inst *instance) noteMemoryLimit(te *TrapError) {
	if inst.guest.IsClosed() {
		return
	}
	pages := inst.mem.Size() / wasmPage
	if g, ok := inst.guest.(*guestModule); ok {
		switch refused, ceiling := g.refusal(); {
		case refused && !ceiling:
			te.addLimitNote(fmt.Sprintf(" (memory was at %d pages when the runtime's %s memory budget ran out: raise it with runtime.Config.MemoryBudget)", pages, sizeText(inst.mod.rt.mem.limit)))
			return
		case refused && pages == maxMemory/wasmPage:
			te.addLimitNote(fmt.Sprintf(" (memory was at %d pages, the most an instance can have: 4 GiB less one page)", pages))
			return
		}
	}
	limit := inst.mod.config.MemoryLimitPages
	if limit == 0 {
		limit = inst.mod.rt.cfg.MemoryLimitPages
	}
	if limit == 0 || limit > maxMemory/wasmPage {
		limit = maxMemory / wasmPage
	}
	declared := inst.mod.hasMax && inst.mod.memMax < limit
	if declared {
		limit = inst.mod.memMax
	}
	// Guests grow memory in chunks (a Go guest by several MiB), so a failed grow can leave
	// some pages unused: count within an eighth of the cap (at most 16 MiB) as at the cap. A
	// single large allocation can fail far below the cap; the runtimes of Go ("fatal error:
	// out of memory") and Rust ("memory allocation of N bytes failed") say so on stderr.
	if pages+min(limit/8, 256) < limit && !outOfMemory(inst.stderr.b) {
		return
	}
	switch {
	case declared:
		te.addLimitNote(fmt.Sprintf(" (memory was at %d of the %d-page maximum the module declares: raise the maximum where the module is built)", pages, limit))
	case limit == maxMemory/wasmPage:
		te.addLimitNote(fmt.Sprintf(" (memory was at %d pages, near the most an instance can have: 4 GiB less one page)", pages))
	default:
		te.addLimitNote(fmt.Sprintf(" (memory was at %d of its %d-page limit: raise it with runtime.Config.MemoryLimitPages or ModuleConfig.MemoryLimitPages)", pages, limit))
	}
}

// sizeText writes n bytes in the largest binary unit that divides it.
func sizeText(n int64) string {
	switch {
	case n != 0 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n != 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n != 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
