package runtime_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/runtime"
)

// A module the compilation cache does not hold serves its first calls on the interpreter;
// once the compiler is done, new instances run compiled code and the interpreted ones left
// idle are closed.
func TestTiered_InterpreterThenCompiled(t *testing.T) {
	ctx := context.Background()
	rt, release := heldRuntime(t)
	m := load(t, rt, "fixtures")
	if !m.Interpreted() {
		t.Fatal("a module not in the compilation cache started compiled")
	}
	count := fn(t, m, "counter")
	for want := int64(1); want <= 2; want++ {
		if got := counter(t, count); got != want {
			t.Fatalf("counter = %d on the interpreter, want %d (the instance is reused)", got, want)
		}
	}
	if m.Idle() != 1 {
		t.Fatalf("%d idle instances, want 1", m.Idle())
	}
	release <- struct{}{} // the compiler goes on
	if err := m.WaitCompiled(ctx); err != nil {
		t.Fatal(err)
	}
	if m.Interpreted() {
		t.Fatal("still interpreted once the compiler finished")
	}
	if m.Idle() != 0 {
		t.Fatalf("%d idle instances after the switch, want 0: interpreted ones are closed", m.Idle())
	}
	for want := int64(1); want <= 2; want++ {
		if got := counter(t, count); got != want {
			t.Fatalf("counter = %d on compiled code, want %d (a fresh instance, then reused)", got, want)
		}
	}
}

// Modules loaded from the same bytes with other capabilities share the code and the switch.
func TestTiered_SharedBySameBytes(t *testing.T) {
	ctx := context.Background()
	rt, release := heldRuntime(t)
	b, err := os.ReadFile(filepath.Join("..", "testdata", "wat", "fixtures.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := rt.Load(ctx, "a", b)
	if err != nil {
		t.Fatal(err)
	}
	d, err := rt.LoadWith(ctx, "d", b, runtime.ModuleConfig{Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Interpreted() || !d.Interpreted() {
		t.Fatalf("interpreted: %v and %v, want both", a.Interpreted(), d.Interpreted())
	}
	release <- struct{}{}
	if err := d.WaitCompiled(ctx); err != nil {
		t.Fatal(err)
	}
	if a.Interpreted() || d.Interpreted() {
		t.Fatalf("interpreted after the switch: %v and %v, want neither", a.Interpreted(), d.Interpreted())
	}
	if got := counter(t, fn(t, d, "counter")); got != 1 {
		t.Fatalf("counter = %d, want 1", got)
	}
}

// The compiled code lands in the compilation cache, so the next runtime with that cache
// starts the module compiled; WaitForCompiler does so without a cache.
func TestTiered_StartsCompiled(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first := newTieredRuntime(t, runtime.Config{CacheDir: dir})
	m := load(t, first, "fixtures")
	if !m.Interpreted() {
		t.Fatal("started compiled with an empty cache")
	}
	if err := m.WaitCompiled(ctx); err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []runtime.Config{{CacheDir: dir}, {WaitForCompiler: true}} {
		m := load(t, newTieredRuntime(t, cfg), "fixtures")
		if m.Interpreted() {
			t.Fatalf("%+v: started on the interpreter", cfg)
		}
		if err := m.WaitCompiled(ctx); err != nil {
			t.Fatal(err)
		}
		if got := counter(t, fn(t, m, "counter")); got != 1 {
			t.Fatalf("counter = %d, want 1", got)
		}
	}
}

// Close waits for a compilation in the background when its code would land in the cache,
// and closes both tiers' runtimes (the package's TestMain fails on a goroutine left behind);
// the next runtime with that cache starts the module compiled.
func TestTiered_CloseWaitsForCompiler(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	release := runtime.HoldCompiler(rt)
	m := load(t, rt, "fixtures")
	counter(t, fn(t, m, "counter"))
	closed := make(chan error)
	go func() { closed <- rt.Close(ctx) }()
	awaitClosing(t, rt)
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while the compiler was held", err)
	default:
	}
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if m.Interpreted() {
		t.Fatal("Close returned before the compiler finished")
	}
	if m := load(t, newTieredRuntime(t, runtime.Config{CacheDir: dir}), "fixtures"); m.Interpreted() {
		t.Fatal("the next runtime with the cache started on the interpreter")
	}
}

// Without a compilation cache, Close does not compile what nothing would use.
func TestTiered_CloseCancelsWithoutCache(t *testing.T) {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	release := runtime.HoldCompiler(rt)
	m := load(t, rt, "fixtures")
	closed := make(chan error)
	go func() { closed <- rt.Close(ctx) }()
	awaitClosing(t, rt)
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !m.Interpreted() {
		t.Fatal("compiled after Close began on a runtime without a cache")
	}
	if err := m.WaitCompiled(ctx); err != nil {
		t.Fatalf("WaitCompiled after Close: %v", err)
	}
}

// awaitClosing waits until Close has begun on rt.
func awaitClosing(t *testing.T, rt *runtime.Runtime) {
	t.Helper()
	for range 1000 {
		if runtime.Closing(rt) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("Close did not begin within 5 s")
}

func newTieredRuntime(t *testing.T, cfg runtime.Config) *runtime.Runtime {
	t.Helper()
	rt, err := runtime.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(context.Background()) })
	return rt
}

// The sandbox holds on the interpreter: the hostile-guest and sandbox tests pass with every
// module left there (MRUN_TEST_TIER=interpreter, see newRuntime).
func TestTiered_SandboxOnInterpreter(t *testing.T) {
	if os.Getenv("MRUN_TEST_TIER") != "" {
		t.Skip("already running on one tier")
	}
	if testing.Short() {
		t.Skip("-short: .ci/run runs every runtime test on the interpreter")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^(TestHostile|TestSandbox|TestCall_)", "-test.count", "1")
	cmd.Env = append(os.Environ(), "MRUN_TEST_TIER=interpreter")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("hostile and sandbox tests on the interpreter: %v\n%s", err, out)
	}
}

// heldRuntime returns a runtime whose compilations in the background wait for a send on release
// (runtime.HoldCompiler); both end with the test.
func heldRuntime(t *testing.T) (*runtime.Runtime, chan struct{}) {
	t.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	release := runtime.HoldCompiler(rt)
	t.Cleanup(func() {
		close(release)
		rt.Close(ctx)
	})
	return rt, release
}
