package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mrun-dev/mrun/runtime"
)

// effects calls fn of m without arguments and returns what it read of the world.
func effects(t *testing.T, m *runtime.Module, name string) runtime.Effects {
	t.Helper()
	res, err := fn(t, m, name).Call(context.Background(), nilFrame)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(res.Value) != 1 || res.Value[0] != 0 {
		t.Fatalf("%s returned %x, want 00 (WASI success)", name, res.Value)
	}
	return res.Effects
}

// TestEffects_WASI: a call reports exactly the wall clock and randomness it read; the
// monotonic clock and what _initialize read do not count, and a reused instance starts every
// call with none.
func TestEffects_WASI(t *testing.T) {
	m := load(t, newRuntime(t, runtime.Config{}), "effects")
	// One goroutine: every call reuses the instance the first one made, whose _initialize read
	// the wall clock and randomness.
	for _, tt := range []struct {
		fn   string
		want runtime.Effects
	}{
		{"none", 0},
		{"wall", runtime.ReadClock},
		{"none", 0},
		{"mono", 0},
		{"random", runtime.ReadRandom},
		{"mono", 0},
		{"wall_random", runtime.ReadClock | runtime.ReadRandom},
		{"none", 0},
	} {
		if got := effects(t, m, tt.fn); got != tt.want {
			t.Errorf("%s: Effects = %d (%q), want %d (%q)", tt.fn, got, got, tt.want, tt.want)
		}
	}
	if m.Idle() != 1 {
		t.Fatalf("%d idle instances, want the one all calls shared", m.Idle())
	}
}

// TestEffects_FailedCall: a call that read the clock and then trapped reports it on its
// *CallError.
func TestEffects_FailedCall(t *testing.T) {
	m := load(t, newRuntime(t, runtime.Config{}), "effects")
	_, err := fn(t, m, "wall_trap").Call(context.Background(), nilFrame)
	var ce *runtime.CallError
	if !errors.As(err, &ce) || !errors.Is(err, runtime.ErrTrap) || ce.Effects != runtime.ReadClock {
		t.Fatalf("err = %v (Effects %q), want a trap with Effects clock", err, effectsOf(err))
	}
}

func effectsOf(err error) runtime.Effects {
	var ce *runtime.CallError
	if errors.As(err, &ce) {
		return ce.Effects
	}
	return 0
}

// TestEffects_Deterministic: a deterministic module's fake clocks and seeded randomness are
// not effects.
func TestEffects_Deterministic(t *testing.T) {
	b := readWat(t, "effects")
	m, err := newRuntime(t, runtime.Config{}).LoadWith(context.Background(), "effects", b, runtime.ModuleConfig{Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"wall", "random", "wall_random", "mono"} {
		if got := effects(t, m, name); got != 0 {
			t.Errorf("%s: Effects = %q, want none", name, got)
		}
	}
}

// TestEffects_GoGuest: a Go guest's start-up reads of randomness and the clocks, and its
// runtime's use of the monotonic clock, are not effects; time.Now is, and so is reading a file
// under a mount.
func TestEffects_GoGuest(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hello.txt"), []byte("from the host"), 0o644); err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t, runtime.Config{})
	m := loadSeed(t, rt, runtime.ModuleConfig{Mounts: []runtime.Mount{{HostDir: dir, GuestPath: "/data"}}})
	for _, tt := range []struct {
		fn   string
		args []any
		want runtime.Effects
	}{
		{"inc", []any{1}, 0},
		{"clock", nil, runtime.ReadClock},
		{"inc", []any{2}, 0},
		{"readfile", []any{"/data/hello.txt"}, runtime.ReadFile},
		{"inc", []any{3}, 0},
	} {
		res, err := fn(t, m, tt.fn).Call(context.Background(), frame(t, tt.args, nil))
		if err != nil {
			t.Fatalf("%s: %v", tt.fn, err)
		}
		if res.Effects != tt.want {
			t.Errorf("%s: Effects = %q, want %q", tt.fn, res.Effects, tt.want)
		}
	}
	// A file that is not there is news from the host too.
	_, err := fn(t, m, "readfile").Call(context.Background(), frame(t, []any{"/data/missing.txt"}, nil))
	if effectsOf(err) != runtime.ReadFile {
		t.Errorf("readfile of a missing file: %v with Effects %q, want a failure with Effects file", err, effectsOf(err))
	}
}

func TestEffects_String(t *testing.T) {
	for _, tt := range []struct {
		e    runtime.Effects
		want string
	}{
		{0, ""},
		{runtime.ReadClock, "clock"},
		{runtime.ReadRandom, "random"},
		{runtime.ReadFile, "file"},
		{runtime.ReadClock | runtime.ReadFile, "clock+file"},
		{runtime.ReadClock | runtime.ReadRandom | runtime.ReadFile, "clock+random+file"},
		{runtime.ReadRandom | 0x80, "random+0x80"},
	} {
		if got := tt.e.String(); got != tt.want {
			t.Errorf("Effects(%d).String() = %q, want %q", uint8(tt.e), got, tt.want)
		}
	}
}
