package dag_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// variant returns wasm with a custom section named name appended: the same functions, but
// other bytes, hence another module to a Runtime, which may hold another ModuleConfig. The
// section holds one byte besides its name (wazero v1.12.0 rejects an empty one at the end).
func variant(wasm []byte, name string) []byte {
	payload := append(append([]byte{byte(len(name))}, name...), 1)
	return append(append(slices.Clone(wasm), 0, byte(len(payload))), payload...)
}

// grantsRuntime loads, in a runtime of its own, priv with an environment variable and a mount
// holding secret.txt, and the deputy guest (relay(mod, fn, args...)) once per entry of
// deputies, under that name and with that configuration, where privHash in MaySpawn stands
// for priv's SHA-256. priv is the seed guest, which can read its grants, when seedPriv is set,
// and otherwise one more copy of the deputy: compiling the seed guest takes most of a minute
// under the race detector.
func grantsRuntime(t *testing.T, seedPriv bool, deputies map[string]runtime.ModuleConfig) map[string]*runtime.Module {
	t.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("the secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	deputy, err := os.ReadFile("../testdata/wat/deputy.wasm")
	if err != nil {
		t.Fatal(err)
	}
	privBin := variant(deputy, "priv")
	if seedPriv {
		if privBin, err = os.ReadFile("../testdata/seed.wasm"); err != nil {
			t.Fatal(err)
		}
	}
	mods := map[string]*runtime.Module{}
	if mods["priv"], err = rt.LoadWith(ctx, "priv", privBin, runtime.ModuleConfig{
		Env:    map[string]string{"PRIV_TOKEN": "s3cret"},
		Mounts: []runtime.Mount{{HostDir: dir, GuestPath: "/data"}},
	}); err != nil {
		t.Fatal(err)
	}
	for name, mc := range deputies {
		if i := slices.Index(mc.MaySpawn, privHash); i >= 0 {
			mc.MaySpawn = slices.Clone(mc.MaySpawn)
			mc.MaySpawn[i] = mods["priv"].SumHex()
		}
		if mods[name], err = rt.LoadWith(ctx, name, variant(deputy, name), mc); err != nil {
			t.Fatal(err)
		}
	}
	return mods
}

// privHash in a deputy's MaySpawn stands for priv's SHA-256 in hex.
const privHash = "<priv's SHA-256>"

// relay runs caller's relay(args...) and returns its value, or the guest's error message.
func relay(t *testing.T, caller *runtime.Module, args ...any) (any, string) {
	t.Helper()
	e := dag.New(dag.Config{})
	o := dag.Spawn(fn(t, caller, "relay"), args...)
	err := e.Execute(context.Background(), o)
	if err != nil {
		var ge *runtime.GuestError
		if !errors.As(err, &ge) {
			t.Fatalf("relay%v: %v, not a guest error", args, err)
		}
		return nil, ge.Message
	}
	vals, err := e.FetchAll(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return vals[0], ""
}

func TestGrants_Spawn(t *testing.T) {
	// With -short, priv is a deputy: refusals are the same, and an allowed spawn into priv
	// calls its one() instead of reading the secret.
	seedPriv := !testing.Short()
	mods := grantsRuntime(t, seedPriv, map[string]runtime.ModuleConfig{
		"evil":   {},
		"plain":  {},
		"ally":   {MaySpawn: []string{"priv"}},
		"same":   {Env: map[string]string{"PRIV_TOKEN": "s3cret"}},
		"other":  {Env: map[string]string{"PRIV_TOKEN": "guess"}},
		"det":    {Deterministic: true},
		"detok":  {Deterministic: true},
		"hashed": {MaySpawn: []string{privHash}},
	})
	for _, tc := range []struct {
		name   string
		caller string
		args   []any
		want   any
		err    string
	}{
		// The confused deputy: evil holds nothing and must not borrow priv's token or file.
		{"getenv refused", "evil", []any{"priv", "getenv", "PRIV_TOKEN"}, nil,
			"spawn priv.getenv: permission denied: module evil may not spawn into module priv, which holds capabilities evil lacks (env PRIV_TOKEN, mount /data); allow the edge with spawns: [priv] on module evil in the graph file, or runtime.ModuleConfig.MaySpawn"},
		{"readfile refused", "evil", []any{"priv", "readfile", "/data/secret.txt"}, nil,
			"spawn priv.readfile: permission denied: module evil may not spawn into module priv, which holds capabilities evil lacks (env PRIV_TOKEN, mount /data); allow the edge with spawns: [priv] on module evil in the graph file, or runtime.ModuleConfig.MaySpawn"},
		// Refused before the function is looked up: the caller learns nothing of priv.
		{"unknown function refused", "evil", []any{"priv", "nosuch"}, nil,
			"spawn priv.nosuch: permission denied: module evil may not spawn into module priv, which holds capabilities evil lacks (env PRIV_TOKEN, mount /data); allow the edge with spawns: [priv] on module evil in the graph file, or runtime.ModuleConfig.MaySpawn"},
		// The same variable with the same value is held; another value is not.
		{"env held, mount not", "same", []any{"priv", "getenv", "PRIV_TOKEN"}, nil,
			"spawn priv.getenv: permission denied: module same may not spawn into module priv, which holds capabilities same lacks (mount /data); allow the edge with spawns: [priv] on module same in the graph file, or runtime.ModuleConfig.MaySpawn"},
		{"env with another value", "other", []any{"priv", "getenv", "PRIV_TOKEN"}, nil,
			"spawn priv.getenv: permission denied: module other may not spawn into module priv, which holds capabilities other lacks (env PRIV_TOKEN, mount /data); allow the edge with spawns: [priv] on module other in the graph file, or runtime.ModuleConfig.MaySpawn"},
		// The allowed edge works, for both capabilities.
		{"allowed edge getenv", "ally", []any{"priv", "getenv", "PRIV_TOKEN"}, []any{"s3cret", true}, ""},
		{"allowed edge by hash", "hashed", []any{"priv", "getenv", "PRIV_TOKEN"}, []any{"s3cret", true}, ""},
		{"allowed edge readfile", "ally", []any{"priv", "readfile", "/data/secret.txt"}, "the secret", ""},
		// A target that holds nothing the caller lacks.
		{"no-grant target", "evil", []any{"plain", "one"}, int64(1), ""},
		// The caller's own module, by the empty name and by its own name.
		{"same module by empty name", "evil", []any{"", "one"}, int64(1), ""},
		{"same module by name", "evil", []any{"evil", "one"}, int64(1), ""},
		// A deterministic caller would gain real clocks and randomness.
		{"deterministic caller", "det", []any{"plain", "one"}, nil,
			"spawn plain.one: permission denied: module det may not spawn into module plain, which holds capabilities det lacks (real clocks and randomness); allow the edge with spawns: [plain] on module det in the graph file, or runtime.ModuleConfig.MaySpawn"},
		{"deterministic to deterministic", "det", []any{"detok", "one"}, int64(1), ""},
		{"non-deterministic to deterministic", "evil", []any{"detok", "one"}, int64(1), ""},
		// ally holds no grant but may spawn priv: through it, evil would reach priv.
		{"through an allowed deputy", "evil", []any{"ally", "relay", "priv", "getenv", "PRIV_TOKEN"}, nil,
			"spawn ally.relay: permission denied: module evil may not spawn into module ally, which holds capabilities evil lacks (spawn into priv); allow the edge with spawns: [ally] on module evil in the graph file, or runtime.ModuleConfig.MaySpawn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !seedPriv && tc.err == "" && tc.args[0] == "priv" {
				tc.args, tc.want = []any{"priv", "one"}, int64(1)
			}
			got, msg := relay(t, mods[tc.caller], tc.args...)
			if msg != tc.err || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("relay%v from %s = %#v, %q\nwant %#v, %q", tc.args, tc.caller, got, msg, tc.want, tc.err)
			}
		})
	}
}

// nestedSlot is the capacity of a call run outside the engine's workers, as a cluster worker
// holds it.
type nestedSlot struct{}

func (nestedSlot) Release()                        {}
func (nestedSlot) Acquire(_ context.Context) error { return nil }

// A cluster worker runs a pulled call with Engine.Nested: its spawns meet the same rule.
func TestGrants_NestedOutsideWorkers(t *testing.T) {
	mods := grantsRuntime(t, false, map[string]runtime.ModuleConfig{"evil": {}})
	e := dag.New(dag.Config{})
	n, release := e.Nested(abi.Key{}, fn(t, mods["evil"], "relay"), 0, nestedSlot{}, nil)
	defer release()
	frame := []byte{0x92, 0x91, 0xa0 | 16}
	frame = append(append(frame, "/data/secret.txt"...), 0x80)
	_, err := n.Spawn(context.Background(), "priv", "readfile", frame, 1, runtime.SpawnOptions{})
	const want = "spawn priv.readfile: permission denied: module evil may not spawn into module priv, which holds capabilities evil lacks (env PRIV_TOKEN, mount /data); allow the edge with spawns: [priv] on module evil in the graph file, or runtime.ModuleConfig.MaySpawn"
	if err == nil || err.Error() != want || !errors.Is(err, runtime.ErrDenied) {
		t.Fatalf("Spawn = %v\nwant %s (and runtime.ErrDenied)", err, want)
	}
	if _, err := n.Spawn(context.Background(), "evil", "one", []byte{0x92, 0x90, 0x80}, 1, runtime.SpawnOptions{}); err != nil {
		t.Fatalf("a spawn into the caller's own module: %v", err)
	}
}
