package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/runtime"
)

// TestModule_Identity: a module without capabilities is identified by its bytes alone; each
// setting that can change a result changes the identity, MaySpawn does not, and equal
// configurations (however spelled) give the same module.
func TestModule_Identity(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	b := readWat(t, "fixtures")
	dir := t.TempDir()
	other := t.TempDir()
	loadWith := func(name string, mc runtime.ModuleConfig) *runtime.Module {
		t.Helper()
		m, err := rt.LoadWith(context.Background(), name, b, mc)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	plain := loadWith("fixtures", runtime.ModuleConfig{})
	if plain.Identity() != plain.Sum() || plain.IdentityHex() != plain.SumHex() {
		t.Fatalf("a module without capabilities: Identity %s, want its Sum %s", plain.IdentityHex(), plain.SumHex())
	}
	// Pinned (recomputed by hand from the documented encoding): it is part of task keys.
	det := loadWith("det", runtime.ModuleConfig{Env: map[string]string{"B": "2", "A": "1"}, Deterministic: true, MemoryLimitPages: 16})
	if got, want := det.IdentityHex(), "5785b067573726a350d644c6aa8a67846c57d2fe87a0d8dda42efc21b91fd74e"; got != want {
		t.Errorf("Identity = %s, want %s", got, want)
	}
	if det.Sum() != plain.Sum() {
		t.Fatal("the Sum depends on the capabilities")
	}

	seen := map[[32]byte]string{plain.Identity(): "default", det.Identity(): "det"}
	for _, tt := range []struct {
		name string
		mc   runtime.ModuleConfig
	}{
		{"env", runtime.ModuleConfig{Env: map[string]string{"A": "1"}}},
		{"env value", runtime.ModuleConfig{Env: map[string]string{"A": "2"}}},
		{"env name", runtime.ModuleConfig{Env: map[string]string{"B": "1"}}},
		{"env empty", runtime.ModuleConfig{Env: map[string]string{"A": ""}}},
		{"env joined", runtime.ModuleConfig{Env: map[string]string{"A": "1B", "C": ""}}},
		{"mount", runtime.ModuleConfig{Mounts: []runtime.Mount{{HostDir: dir, GuestPath: "/data"}}}},
		{"mount guest path", runtime.ModuleConfig{Mounts: []runtime.Mount{{HostDir: dir, GuestPath: "/in"}}}},
		{"mount host dir", runtime.ModuleConfig{Mounts: []runtime.Mount{{HostDir: other, GuestPath: "/data"}}}},
		{"mount order", runtime.ModuleConfig{Mounts: []runtime.Mount{{HostDir: dir, GuestPath: "/a"}, {HostDir: other, GuestPath: "/b"}}}},
		{"mount order 2", runtime.ModuleConfig{Mounts: []runtime.Mount{{HostDir: other, GuestPath: "/b"}, {HostDir: dir, GuestPath: "/a"}}}},
		{"deterministic", runtime.ModuleConfig{Deterministic: true}},
		{"memory limit", runtime.ModuleConfig{MemoryLimitPages: 16}},
	} {
		m := loadWith(tt.name, tt.mc)
		if prev, ok := seen[m.Identity()]; ok {
			t.Errorf("%s: same identity as %s", tt.name, prev)
		}
		seen[m.Identity()] = tt.name
		if m.Sum() != plain.Sum() || m.Name() != tt.name {
			t.Errorf("%s: Sum %s, name %q", tt.name, m.SumHex(), m.Name())
		}
		if got, _ := rt.Module(m.Identity()); got != m {
			t.Errorf("%s: Runtime.Module does not find it by its identity", tt.name)
		}
		// Its own instances: it runs.
		if got, err := call(t, m, "const"); err != nil || len(got.([]any)) != 3 {
			t.Errorf("%s: const() = %v, %v", tt.name, got, err)
		}
	}

	// Equal configurations give the module loaded first, under its first name: a relative
	// host directory, a guest path spelled differently, a new map, MaySpawn in another order.
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	a := loadWith("a", runtime.ModuleConfig{Env: map[string]string{"K": "v"}, Mounts: []runtime.Mount{{HostDir: dir, GuestPath: "/data"}}, MaySpawn: []string{"x", "y"}})
	again := loadWith("again", runtime.ModuleConfig{Env: map[string]string{"K": "v"}, Mounts: []runtime.Mount{{HostDir: rel, GuestPath: "/data/"}}, MaySpawn: []string{"y", "x"}})
	if again != a {
		t.Fatalf("an equal configuration gave another module (%s, %s)", a.IdentityHex(), again.IdentityHex())
	}
	if m, _ := rt.Module(plain.Sum()); m != plain {
		t.Fatal("Runtime.Module(Sum) does not give the module without capabilities")
	}
}

// TestRuntime_LookupByHash: a SHA-256 names the module of those bytes without capabilities
// when one is loaded (its Identity); otherwise, with several configurations loaded, it is
// ambiguous and the error names them. An identity always names one module.
func TestRuntime_LookupByHash(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	b := readWat(t, "fixtures")
	x, err := rt.LoadWith(context.Background(), "x", b, runtime.ModuleConfig{Env: map[string]string{"A": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rt.Lookup(x.SumHex()); err != nil || got != x {
		t.Fatalf("Lookup(sum) with one configuration loaded = %v, %v", got, err)
	}
	y, err := rt.LoadWith(context.Background(), "y", b, runtime.ModuleConfig{Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	first, second := x, y
	if strings.Compare(x.IdentityHex(), y.IdentityHex()) > 0 {
		first, second = y, x
	}
	_, err = rt.Lookup(x.SumHex())
	want := "module SHA-256 " + x.SumHex() + " is ambiguous: those bytes are loaded with 2 different ModuleConfigs, as " +
		first.Name() + " (identity " + first.IdentityHex() + "), " + second.Name() + " (identity " + second.IdentityHex() + "); name one by its identity"
	if err == nil || err.Error() != want {
		t.Fatalf("Lookup(sum) = %v, want %q", err, want)
	}
	for _, m := range []*runtime.Module{x, y} {
		if got, err := rt.Lookup(m.IdentityHex()); err != nil || got != m {
			t.Fatalf("Lookup(identity of %s) = %v, %v", m.Name(), got, err)
		}
		if got, err := rt.Lookup(m.Name()); err != nil || got != m {
			t.Fatalf("Lookup(%s) = %v, %v", m.Name(), got, err)
		}
	}
	plain, err := rt.LoadWith(context.Background(), "x", b, runtime.ModuleConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rt.Lookup(x.SumHex()); err != nil || got != plain {
		t.Fatalf("Lookup(sum) with the module without capabilities loaded = %v, %v", got, err)
	}
	if _, err := rt.Lookup("x"); err == nil || !strings.HasPrefix(err.Error(), `module name "x" is ambiguous: loaded as the modules of identity `) {
		t.Fatalf("Lookup of a name two modules share: %v", err)
	}
}

// TestLoadWith_SharedCodeMemoryLimit: a configuration whose memory limit the module cannot
// start in is refused without disturbing the module already loaded from the same bytes, which
// shares its compiled code.
func TestLoadWith_SharedCodeMemoryLimit(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := loadSeed(t, rt, runtime.ModuleConfig{})
	b, err := os.ReadFile("../testdata/seed.wasm")
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.LoadWith(context.Background(), "small", b, runtime.ModuleConfig{MemoryLimitPages: 1})
	if !errors.Is(err, runtime.ErrMemoryLimit) {
		t.Fatalf("err = %v, want ErrMemoryLimit", err)
	}
	if got, err := call(t, m, "inc", 41); err != nil || got != int64(42) {
		t.Fatalf("inc(41) after the refused load = %v, %v", got, err)
	}
	env := loadSeed(t, rt, runtime.ModuleConfig{Env: map[string]string{"GREETING": "hi"}})
	if got, err := call(t, env, "inc", 1); err != nil || got != int64(2) {
		t.Fatalf("inc(1) on the second configuration = %v, %v", got, err)
	}
	if m.Idle() != 1 || env.Idle() != 1 {
		t.Fatalf("idle instances %d and %d, want one pool each", m.Idle(), env.Idle())
	}
}

// IdentityOf gives a module's identity without compiling it; the runtime's own memory limit
// is not part of it (cluster workers set theirs), the module's is.
func TestModule_IdentityOf(t *testing.T) {
	b := readWat(t, "fixtures")
	ctx := context.Background()
	limited, err := newRuntime(t, runtime.Config{MemoryLimitPages: 16}).Load(ctx, "f", b)
	if err != nil {
		t.Fatal(err)
	}
	if limited.Identity() != limited.Sum() {
		t.Fatalf("a runtime's limit changed a default module's identity: %s, Sum %s", limited.IdentityHex(), limited.SumHex())
	}
	own, err := newRuntime(t, runtime.Config{}).LoadWith(ctx, "f", b, runtime.ModuleConfig{MemoryLimitPages: 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*runtime.Module{limited, own} {
		id, err := runtime.IdentityOf(b, m.Config())
		if err != nil || id != m.Identity() {
			t.Fatalf("IdentityOf(%+v) = %x, %v; want %s", m.Config(), id, err, m.IdentityHex())
		}
	}
	if _, err := runtime.IdentityOf(b, runtime.ModuleConfig{Mounts: []runtime.Mount{{HostDir: "/nonexistent", GuestPath: "/d"}}}); err == nil {
		t.Fatal("IdentityOf accepted a mount of a missing directory")
	}
}
