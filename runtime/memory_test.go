package runtime

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// BenchmarkNewInstance measures instantiating a module and closing the instance, what a call
// pays when its module's pool is empty: a WAT module with one page and the Go seed guest.
func BenchmarkNewInstance(b *testing.B) {
	for _, tc := range []struct{ name, path string }{
		{"wat", filepath.Join("..", "testdata", "wat", "fixtures.wasm")},
		{"go", filepath.Join("..", "testdata", "seed.wasm")},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx := context.Background()
			rt, err := New(ctx, Config{})
			if err != nil {
				b.Fatal(err)
			}
			defer rt.Close(ctx)
			wasm, err := os.ReadFile(tc.path)
			if err != nil {
				b.Fatal(err)
			}
			m, err := rt.Load(ctx, tc.name, wasm)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				inst, err := newInstance(ctx, m)
				if err != nil {
					b.Fatal(err)
				}
				inst.close()
			}
		})
	}
}

// membombEnv makes TestMemoryBomb_RSS run the bomb itself: it re-executes the test binary with
// it set, so that the peak resident memory it reads is the bomb's process alone.
const membombEnv = "MRUN_TEST_MEMBOMB_CHILD"

// The bound of TestMemoryBomb_RSS: a process running one memory bomb under a 256 MiB limit
// peaks below the limit plus this much (the Go runtime, wazero, the compiled module).
const (
	bombLimit    = 256 << 20
	bombOverhead = 64 << 20
)

// TestMemoryBomb_RSS: a guest that grows its memory as far as it can and touches every page
// holds no more of the host's memory than its limit plus a small overhead, and ends with the
// limit error.
func TestMemoryBomb_RSS(t *testing.T) {
	if os.Getenv(membombEnv) == "1" {
		membombChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryBomb_RSS$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), membombEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child process failed: %v\n%s", err, out)
	}
	var base, peak int64
	for line := range strings.Lines(string(out)) {
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "membomb: rss before %d KiB, peak %d KiB", &base, &peak); err == nil {
			break
		}
	}
	if peak == 0 {
		t.Fatalf("the child process reported no peak:\n%s", out)
	}
	t.Logf("peak resident memory %d MiB: %d MiB before the bomb, %d MiB of memory limit, %d MiB more",
		peak>>10, base>>10, bombLimit>>20, (peak<<10-base<<10-bombLimit)>>20)
	if peak<<10 > bombLimit+bombOverhead {
		t.Fatalf("a memory bomb under a %d MiB limit peaked at %d MiB of resident memory, want at most %d MiB",
			bombLimit>>20, peak>>10, (bombLimit+bombOverhead)>>20)
	}
}

// membombChild runs the memory bomb under a 256 MiB limit and prints the process's resident
// memory before and its peak after.
func membombChild(t *testing.T) {
	ctx := context.Background()
	rt := newTestRuntime(t, Config{MemoryLimitPages: bombLimit / wasmPage, MemoryBudget: -1})
	bomb := loadMembomb(t, rt, "membomb")
	before := procStatus(t, "VmRSS")
	_, err := bomb.Call(ctx, nil)
	want := "membomb (module membomb): trap: wasm error: unreachable (memory was at 4081 of its 4096-page limit: raise it with runtime.Config.MemoryLimitPages or ModuleConfig.MemoryLimitPages)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want %s", err, want)
	}
	fmt.Printf("membomb: rss before %d KiB, peak %d KiB\n", before, procStatus(t, "VmHWM"))
}

// procStatus returns a field of /proc/self/status in KiB.
func procStatus(t *testing.T, field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb int64
			if _, err := fmt.Sscanf(rest, "%d kB", &kb); err != nil {
				t.Fatalf("%s: %q: %v", field, line, err)
			}
			return kb
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

func newTestRuntime(t *testing.T, cfg Config) *Runtime {
	t.Helper()
	rt, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

// loadMembomb loads guests/wat/membomb.wat and returns its function fn.
func loadMembomb(t *testing.T, rt *Runtime, fn string) *Function {
	t.Helper()
	m, err := rt.LoadFile(context.Background(), filepath.Join("..", "testdata", "wat", "membomb.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Func(fn)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// holdMemory starts an instance of m outside its pool, as if it were running a call, and
// grows its memory by pages.
func holdMemory(t *testing.T, m *Module, pages uint32) *instance {
	t.Helper()
	inst, err := newInstance(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := inst.mem.Grow(pages); !ok {
		inst.close()
		t.Fatalf("growing an instance of %s by %d pages failed", m.Name(), pages)
	}
	return inst
}

// TestMemoryBudget_RefusesGrow: two instances whose memory together would exceed the
// runtime's budget: the second one's memory.grow fails, and its trap is the budget's error.
func TestMemoryBudget_RefusesGrow(t *testing.T) {
	rt := newTestRuntime(t, Config{MemoryBudget: 8 << 20}) // 128 pages
	bomb := loadMembomb(t, rt, "membomb")
	held := holdMemory(t, bomb.Module(), 64) // 65 pages in use
	_, err := bomb.Call(context.Background(), nil)
	// The bomb starts at 1 page and grows by 16: 66, 82, 98, 114 pages in all; 130 would not fit.
	want := "membomb (module membomb): trap: wasm error: unreachable (memory was at 49 pages when the runtime's 8 MiB memory budget ran out: raise it with runtime.Config.MemoryBudget)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if !errors.Is(err, ErrLimit) || !errors.Is(err, ErrTrap) {
		t.Fatalf("errors.Is(err, ErrLimit) = %v, errors.Is(err, ErrTrap) = %v, want both true", errors.Is(err, ErrLimit), errors.Is(err, ErrTrap))
	}
	if got := rt.mem.used.Load(); got != 65*wasmPage {
		t.Fatalf("after the bomb's instance was discarded, the budget counts %d bytes, want %d", got, 65*wasmPage)
	}
	held.close()
	if got := rt.mem.used.Load(); got != 0 {
		t.Fatalf("with every instance closed, the budget counts %d bytes, want 0", got)
	}
}

// TestMemoryBudget_ReleasesIdle: when memory does not fit the budget, idle pooled instances
// (of any module) are closed to make room before a grow fails.
func TestMemoryBudget_ReleasesIdle(t *testing.T) {
	rt := newTestRuntime(t, Config{MemoryBudget: 8 << 20})
	other, err := rt.LoadFile(context.Background(), filepath.Join("..", "testdata", "wat", "fixtures.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	other.pool.put(holdMemory(t, other, 100)) // idle, 101 pages
	bomb := loadMembomb(t, rt, "membomb")
	_, err = bomb.Call(context.Background(), nil)
	want := "membomb (module membomb): trap: wasm error: unreachable (memory was at 113 pages when the runtime's 8 MiB memory budget ran out: raise it with runtime.Config.MemoryBudget)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
	if n := other.Idle(); n != 0 {
		t.Fatalf("%d idle instances of fixtures are left, want 0: the budget should have closed it", n)
	}
}

// TestMemoryBudget_Admission: a new instance whose initial memory does not fit the budget
// fails to start with the budget's error.
func TestMemoryBudget_Admission(t *testing.T) {
	rt := newTestRuntime(t, Config{MemoryBudget: 2 * wasmPage})
	bomb := loadMembomb(t, rt, "membomb")
	held := holdMemory(t, bomb.Module(), 1)
	defer held.close()
	_, err := bomb.Call(context.Background(), nil)
	want := "membomb (module membomb): instantiate: limit exceeded: a new instance needs 64 KiB of memory to start, but 128 KiB of the runtime's 128 KiB memory budget is in use (raise it with runtime.Config.MemoryBudget)"
	if err == nil || err.Error() != want || !errors.Is(err, ErrLimit) {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

// TestMemoryLimit_Errors: whichever limit memory reaches, the trap names it, its value and
// how to raise it, and matches ErrLimit.
func TestMemoryLimit_Errors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		fn   string
		want string
	}{{
		"configured limit", Config{MemoryLimitPages: 18}, "membomb",
		"membomb (module membomb): trap: wasm error: unreachable (memory was at 17 of its 18-page limit: raise it with runtime.Config.MemoryLimitPages or ModuleConfig.MemoryLimitPages)",
	}, {
		// The bomb grows 16 pages at a time: its last grow fails well below the limit.
		"grow in large steps", Config{MemoryLimitPages: 48}, "membomb",
		"membomb (module membomb): trap: wasm error: unreachable (memory was at 33 of its 48-page limit: raise it with runtime.Config.MemoryLimitPages or ModuleConfig.MemoryLimitPages)",
	}, {
		// No limit: memory grows to 4 GiB less one page of address space (touching one page).
		"WebAssembly maximum", Config{MemoryBudget: 8 << 30}, "grow_max",
		"grow_max (module membomb): trap: wasm error: unreachable (memory was at 65535 pages, the most an instance can have: 4 GiB less one page)",
	}, {
		// No limit, 1 MiB steps: the grow that fails asks for more than 4 GiB, which wazero
		// refuses itself, so the runtime tells from how full memory is.
		"near the WebAssembly maximum", Config{MemoryBudget: 8 << 30}, "grow_untouched",
		"grow_untouched (module membomb): trap: wasm error: unreachable (memory was at 65521 pages, near the most an instance can have: 4 GiB less one page)",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			rt := newTestRuntime(t, tc.cfg)
			_, err := loadMembomb(t, rt, tc.fn).Call(context.Background(), nil)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
			if !errors.Is(err, ErrLimit) || !errors.Is(err, ErrTrap) {
				t.Fatalf("errors.Is(err, ErrLimit) = %v, errors.Is(err, ErrTrap) = %v, want both true", errors.Is(err, ErrLimit), errors.Is(err, ErrTrap))
			}
		})
	}
}

// TestMemory_ReuseIsZeroed: the memory of a closed instance is reused for a new one, and the
// new instance's memory reads as zeroes (but for its data segment) however the old one wrote.
func TestMemory_ReuseIsZeroed(t *testing.T) {
	rt := newTestRuntime(t, Config{MemoryLimitPages: 48}) // a reservation size no other test uses
	bomb := loadMembomb(t, rt, "membomb")
	if _, err := bomb.Call(context.Background(), nil); !errors.Is(err, ErrLimit) {
		t.Fatalf("the bomb: %v, want a limit error", err) // wrote to 33 pages, then trapped
	}
	if !spareHolds(48 * wasmPage) {
		t.Fatal("the bomb's instance was discarded, but its reservation was not kept for reuse")
	}
	inst := holdMemory(t, bomb.Module(), 47)
	defer inst.close()
	if spareHolds(48 * wasmPage) {
		t.Fatal("a new instance of the same maximum did not reuse the spare reservation")
	}
	mem, _ := inst.mem.Read(0, inst.mem.Size())
	for i, b := range mem {
		if want := byte(0); i == 16 {
			want = 0xc0 // the module's data segment
		} else if b != want {
			t.Fatalf("byte %d of a new instance's memory is %#x, want %#x", i, b, want)
		}
	}
}

// spareHolds reports whether a spare reservation of n bytes is kept.
func spareHolds(n int) bool {
	spare.mu.Lock()
	defer spare.mu.Unlock()
	return slices.ContainsFunc(spare.free, func(r reservation) bool { return len(r.res) == n })
}
