package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
)

// call runs fn with args and decodes the result.
func call(t *testing.T, m *runtime.Module, fn string, args ...any) (any, error) {
	t.Helper()
	f, err := m.Func(fn)
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.Call(context.Background(), frame(t, args, nil))
	if err != nil {
		return nil, err
	}
	return abi.Decode(res.Value)
}

func loadSeed(t *testing.T, rt *runtime.Runtime, mc runtime.ModuleConfig) *runtime.Module {
	t.Helper()
	b, err := os.ReadFile("../testdata/seed.wasm")
	if err != nil {
		t.Fatal(err)
	}
	m, err := rt.LoadWith(context.Background(), "seed", b, mc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCapabilities_DefaultSandbox(t *testing.T) {
	t.Setenv("MRUN_SECRET", "host only")
	m := loadSeed(t, newRuntime(t, runtime.Config{}), runtime.ModuleConfig{})
	if got, _ := call(t, m, "getenv", "MRUN_SECRET"); !reflect.DeepEqual(got, []any{"", false}) {
		t.Fatalf("the host environment leaked: %v", got)
	}
	if _, err := call(t, m, "readfile", "/etc/hostname"); err == nil || !strings.Contains(err.Error(), "open /etc/hostname") {
		t.Fatalf("reading a host file: %v", err)
	}
	// Real clocks and randomness by default: two calls differ.
	a, _ := call(t, m, "clock")
	b, _ := call(t, m, "clock")
	if reflect.DeepEqual(a, b) {
		t.Fatalf("clock() returned %v twice", a)
	}
}

func TestCapabilities_EnvAndMounts(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := loadSeed(t, newRuntime(t, runtime.Config{}), runtime.ModuleConfig{
		Env:    map[string]string{"GREETING": "hi"},
		Mounts: []runtime.Mount{{HostDir: dir, GuestPath: "/data"}},
	})
	if got, _ := call(t, m, "getenv", "GREETING"); !reflect.DeepEqual(got, []any{"hi", true}) {
		t.Fatalf("getenv = %v", got)
	}
	if got, err := call(t, m, "readfile", "/data/hello.txt"); err != nil || got != "from the host" {
		t.Fatalf("readfile = %v, %v", got, err)
	}
	_, err := call(t, m, "writefile", "/data/new.txt", "x")
	if err == nil {
		t.Fatal("wrote into a read-only mount")
	}
	if _, statErr := os.Stat(filepath.Join(dir, "new.txt")); !errors.Is(statErr, os.ErrNotExist) {
		t.Fatalf("the file was created on the host: %v", statErr)
	}
}

func TestCapabilities_Deterministic(t *testing.T) {
	run := func() any {
		m := loadSeed(t, newRuntime(t, runtime.Config{}), runtime.ModuleConfig{Deterministic: true})
		v, err := call(t, m, "clock")
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if a, b := run(), run(); !reflect.DeepEqual(a, b) {
		t.Fatalf("deterministic instances gave %v and %v", a, b)
	}
}

// TestCapabilities_DeterministicPerCall checks that a deterministic call's outcome does not
// depend on the calls that ran before it in the same module: the second call of clock sees
// the clock the first call saw, and so does a call after one that read randomness (rand_matrix).
func TestCapabilities_DeterministicPerCall(t *testing.T) {
	m := loadSeed(t, newRuntime(t, runtime.Config{}), runtime.ModuleConfig{Deterministic: true})
	first, err := call(t, m, "clock")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"clock", "rand_matrix", "clock"} {
		var args []any
		if f == "rand_matrix" {
			args = []any{3, 3}
		}
		v, err := call(t, m, f, args...)
		if err != nil {
			t.Fatal(err)
		}
		if f == "clock" && !reflect.DeepEqual(v, first) {
			t.Fatalf("clock gave %v after other calls, %v on a fresh module", v, first)
		}
	}
	if n := m.Idle(); n != 0 {
		t.Fatalf("a deterministic module keeps %d idle instances, want 0", n)
	}
}

func TestCapabilities_Errors(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	b, _ := os.ReadFile("../testdata/wat/fixtures.wasm")
	for _, tt := range []struct {
		mc   runtime.ModuleConfig
		want string
	}{
		{runtime.ModuleConfig{Mounts: []runtime.Mount{{HostDir: "/no/such/dir", GuestPath: "/d"}}}, "module x: mount /no/such/dir: stat /no/such/dir: no such file or directory"},
		{runtime.ModuleConfig{Mounts: []runtime.Mount{{HostDir: t.TempDir(), GuestPath: "rel"}}}, `guest path "rel" must be absolute`},
		{runtime.ModuleConfig{Env: map[string]string{"A=B": "c"}}, `module x: environment variable name "A=B" is not valid`},
		{runtime.ModuleConfig{MemoryLimitPages: 70000}, "module x: memory limit of 70000 pages exceeds the 4 GiB (65536 pages) WebAssembly maximum"},
	} {
		if _, err := rt.LoadWith(context.Background(), "x", b, tt.mc); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
	plain, err := rt.LoadWith(context.Background(), "fixtures", b, runtime.ModuleConfig{})
	if err != nil {
		t.Fatal(err)
	}
	// The same bytes with other capabilities are another module, with another identity.
	det, err := rt.LoadWith(context.Background(), "fixtures", b, runtime.ModuleConfig{Deterministic: true})
	if err != nil || det == plain || det.Identity() == plain.Identity() || det.Sum() != plain.Sum() {
		t.Fatalf("reloading with other capabilities: %v", err)
	}
	// The same capabilities with another MaySpawn would share the identity: refused.
	_, err = rt.LoadWith(context.Background(), "fixtures", b, runtime.ModuleConfig{Deterministic: true, MaySpawn: []string{"x"}})
	if want := `module fixtures: already loaded with these capabilities and MaySpawn [], not ["x"]: load these bytes with one MaySpawn for each set of capabilities`; err == nil || err.Error() != want {
		t.Fatalf("reloading with another MaySpawn: %v, want %q", err, want)
	}
}

func TestLimits_PerModuleMemory(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	b, _ := os.ReadFile("../testdata/wat/fixtures.wasm")
	m, err := rt.LoadWith(context.Background(), "fixtures", b, runtime.ModuleConfig{MemoryLimitPages: 3})
	if err != nil {
		t.Fatal(err)
	}
	// 2 pages after the argument buffer is allocated; the third fits, the fourth does not.
	for _, want := range []bool{true, false} {
		if got, err := call(t, m, "grow", 1); err != nil || got != want {
			t.Fatalf("grow(1) = %v, %v; want %v", got, err, want)
		}
	}
	// Other modules of the runtime keep the runtime's limit (none).
	other := load(t, rt, "abi_example")
	if got, err := call(t, other, "inc", 1); err != nil || got != int64(2) {
		t.Fatalf("inc(1) = %v, %v", got, err)
	}
}

func TestLimits_MaxResult(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MaxResult: 1000})
	m := load(t, rt, "fixtures")
	_, err := call(t, m, "big")
	if !errors.Is(err, runtime.ErrLimit) || !strings.HasSuffix(err.Error(), "result of 1048581 bytes is over the limit of 1000 bytes (raise it with runtime.Config.MaxResult)") {
		t.Fatalf("err = %v", err)
	}
	if got, err := call(t, m, "const"); err != nil || !reflect.DeepEqual(got, []any{int64(1), "two", 3.5}) {
		t.Fatalf("const after a too-large result = %v, %v", got, err)
	}
}

func TestLimits_MemoryTrapNamesTheLimit(t *testing.T) {
	m := loadSeed(t, newRuntime(t, runtime.Config{}), runtime.ModuleConfig{MemoryLimitPages: 128})
	_, err := call(t, m, "identity", strings.Repeat("x", 16<<20))
	if !errors.Is(err, runtime.ErrTrap) || !strings.Contains(err.Error(), "-page limit: raise it with runtime.Config.MemoryLimitPages or ModuleConfig.MemoryLimitPages)") {
		t.Fatalf("err = %v", err)
	}
	if got, err := call(t, m, "inc", 1); err != nil || got != int64(2) {
		t.Fatalf("inc(1) after the memory trap = %v, %v", got, err)
	}
}
