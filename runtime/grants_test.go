package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/mrun-dev/mrun/runtime"
)

func TestModuleConfig_Missing(t *testing.T) {
	data := t.TempDir()
	sub := filepath.Join(data, "sub")
	other := t.TempDir()
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	// A link inside data that leads out of it: lexically below data, really elsewhere.
	escape := filepath.Join(data, "escape")
	if err := os.Symlink(other, escape); err != nil {
		t.Fatal(err)
	}
	mount := func(host, guest string) []runtime.Mount { return []runtime.Mount{{HostDir: host, GuestPath: guest}} }
	for _, tc := range []struct {
		name           string
		caller, target runtime.ModuleConfig
		want           []string
	}{
		{"both empty", runtime.ModuleConfig{}, runtime.ModuleConfig{}, nil},
		{"caller holds more", runtime.ModuleConfig{Env: map[string]string{"A": "1"}, Mounts: mount(data, "/d")}, runtime.ModuleConfig{}, nil},
		{"env names sorted, values never shown",
			runtime.ModuleConfig{Env: map[string]string{"B": "2"}},
			runtime.ModuleConfig{Env: map[string]string{"C": "secret", "A": "secret", "B": "2"}},
			[]string{"env A", "env C"}},
		{"env with another value", runtime.ModuleConfig{Env: map[string]string{"A": "1"}}, runtime.ModuleConfig{Env: map[string]string{"A": "2"}}, []string{"env A"}},
		{"same host directory at another guest path", runtime.ModuleConfig{Mounts: mount(data, "/x")}, runtime.ModuleConfig{Mounts: mount(data, "/data")}, nil},
		{"a directory below the caller's mount", runtime.ModuleConfig{Mounts: mount(data, "/data")}, runtime.ModuleConfig{Mounts: mount(sub, "/sub")}, nil},
		{"a relative spelling of the same directory", runtime.ModuleConfig{Mounts: mount(data, "/data")}, runtime.ModuleConfig{Mounts: mount(filepath.Join(sub, ".."), "/data")}, nil},
		{"a directory above the caller's mount", runtime.ModuleConfig{Mounts: mount(sub, "/sub")}, runtime.ModuleConfig{Mounts: mount(data, "/data")}, []string{"mount /data"}},
		{"a link out of the caller's mount", runtime.ModuleConfig{Mounts: mount(data, "/data")}, runtime.ModuleConfig{Mounts: mount(escape, "/e")}, []string{"mount /e"}},
		{"another directory", runtime.ModuleConfig{Mounts: mount(data, "/data")}, runtime.ModuleConfig{Mounts: mount(other, "/data")}, []string{"mount /data"}},
		{"a directory that does not exist", runtime.ModuleConfig{Mounts: mount(data, "/data")}, runtime.ModuleConfig{Mounts: mount(filepath.Join(data, "gone"), "/g")}, []string{"mount /g"}},
		{"deterministic caller", runtime.ModuleConfig{Deterministic: true}, runtime.ModuleConfig{}, []string{"real clocks and randomness"}},
		{"deterministic target", runtime.ModuleConfig{}, runtime.ModuleConfig{Deterministic: true}, nil},
		{"a memory limit is not a grant", runtime.ModuleConfig{MemoryLimitPages: 1}, runtime.ModuleConfig{MemoryLimitPages: 100}, nil},
		{"everything, in order",
			runtime.ModuleConfig{Deterministic: true},
			runtime.ModuleConfig{Env: map[string]string{"TOKEN": "x"}, Mounts: append(mount(other, "/o"), mount(data, "/d")...)},
			[]string{"env TOKEN", "mount /o", "mount /d", "real clocks and randomness"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.caller.Missing(tc.target); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Missing = %q, want %q", got, tc.want)
			}
		})
	}
}

// deputyAs loads testdata/wat/deputy.wasm as another module (its bytes end in a custom
// section named name, so its SHA-256 differs) under name with mc.
func deputyAs(t *testing.T, rt *runtime.Runtime, name string, mc runtime.ModuleConfig) *runtime.Module {
	t.Helper()
	b, err := os.ReadFile("../testdata/wat/deputy.wasm")
	if err != nil {
		t.Fatal(err)
	}
	// wazero v1.12.0 rejects an empty custom section at the end of a module: one byte of data.
	b = append(append(b, 0, byte(len(name)+2), byte(len(name))), name...)
	b = append(b, 1)
	m, err := rt.LoadWith(context.Background(), name, b, mc)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestModule_CheckSpawn(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	secret := runtime.ModuleConfig{Env: map[string]string{"TOKEN": "x"}}
	priv := deputyAs(t, rt, "priv", secret)
	mods := map[string]*runtime.Module{
		"priv":    priv,
		"evil":    deputyAs(t, rt, "evil", runtime.ModuleConfig{}),
		"byname":  deputyAs(t, rt, "byname", runtime.ModuleConfig{MaySpawn: []string{"priv"}}),
		"byhash":  deputyAs(t, rt, "byhash", runtime.ModuleConfig{MaySpawn: []string{priv.SumHex()}}),
		"twin":    deputyAs(t, rt, "twin", secret),
		"relay":   deputyAs(t, rt, "relay", runtime.ModuleConfig{MaySpawn: []string{"priv"}}),
		"relay2":  deputyAs(t, rt, "relay2", runtime.ModuleConfig{MaySpawn: []string{"relay"}}),
		"ghost":   deputyAs(t, rt, "ghost", runtime.ModuleConfig{MaySpawn: []string{"nothing-by-this-name"}}),
		"ghostok": deputyAs(t, rt, "ghostok", runtime.ModuleConfig{MaySpawn: []string{"nothing-by-this-name", "ghost"}}),
		"cycle1":  deputyAs(t, rt, "cycle1", runtime.ModuleConfig{MaySpawn: []string{"cycle2"}}),
		"cycle2":  deputyAs(t, rt, "cycle2", runtime.ModuleConfig{MaySpawn: []string{"cycle1"}}),
	}
	for _, tc := range []struct {
		caller, target string
		err            string // "" when allowed
	}{
		{"evil", "evil", ""},
		{"priv", "priv", ""},
		{"priv", "evil", ""},
		{"evil", "priv", "permission denied: module evil may not spawn into module priv, which holds capabilities evil lacks (env TOKEN); allow the edge with spawns: [priv] on module evil in the graph file, or runtime.ModuleConfig.MaySpawn"},
		{"byname", "priv", ""},
		{"byhash", "priv", ""},
		{"twin", "priv", ""}, // the same grants
		// relay holds nothing itself but may spawn priv: that edge is one of its grants.
		{"evil", "relay", "permission denied: module evil may not spawn into module relay, which holds capabilities evil lacks (spawn into priv); allow the edge with spawns: [relay] on module evil in the graph file, or runtime.ModuleConfig.MaySpawn"},
		{"evil", "relay2", "permission denied: module evil may not spawn into module relay2, which holds capabilities evil lacks (spawn into relay); allow the edge with spawns: [relay2] on module evil in the graph file, or runtime.ModuleConfig.MaySpawn"},
		{"byname", "relay", ""}, // byname may spawn priv itself
		{"byhash", "relay", ""}, // the same module, named another way
		{"twin", "relay2", ""},  // twin holds all priv holds
		// An edge to a module that is not loaded cannot be shown to be covered...
		{"evil", "ghost", "permission denied: module evil may not spawn into module ghost, which holds capabilities evil lacks (spawn into nothing-by-this-name); allow the edge with spawns: [ghost] on module evil in the graph file, or runtime.ModuleConfig.MaySpawn"},
		// ...unless the caller names it too.
		{"ghostok", "ghost", ""},
		// Edges that form a cycle end, and hold nothing beyond themselves.
		{"evil", "cycle1", ""},
		{"cycle2", "cycle1", ""},
	} {
		t.Run(tc.caller+"->"+tc.target, func(t *testing.T) {
			err := mods[tc.caller].CheckSpawn(mods[tc.target])
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("CheckSpawn = %v, want nil", err)
			case tc.err != "" && (err == nil || err.Error() != tc.err || !errors.Is(err, runtime.ErrDenied)):
				t.Fatalf("CheckSpawn = %v\nwant %s", err, tc.err)
			}
		})
	}
}

func TestModuleConfig_MaySpawnLoad(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	b, err := os.ReadFile("../testdata/wat/deputy.wasm")
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.LoadWith(context.Background(), "d", b, runtime.ModuleConfig{MaySpawn: []string{"a", ""}})
	const want = "module d: MaySpawn holds an empty module reference: name a module by the name it is loaded under or its SHA-256 in hex"
	if err == nil || err.Error() != want {
		t.Fatalf("LoadWith = %v, want %s", err, want)
	}
	mc := runtime.ModuleConfig{MaySpawn: []string{"a"}}
	m, err := rt.LoadWith(context.Background(), "d", b, mc)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Config().MaySpawn; !slices.Equal(got, []string{"a"}) {
		t.Fatalf("Config().MaySpawn = %q", got)
	}
	// The same bytes with other edges are another configuration of one module.
	if _, err := rt.LoadWith(context.Background(), "d", b, runtime.ModuleConfig{MaySpawn: []string{"b"}}); err == nil {
		t.Fatal("loaded the same bytes with another MaySpawn")
	}
}

func ExampleModule_CheckSpawn() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)
	load := func(name, file string, mc runtime.ModuleConfig) *runtime.Module {
		wasm, err := os.ReadFile(filepath.Join("..", "testdata", "wat", file))
		if err != nil {
			panic(err)
		}
		m, err := rt.LoadWith(ctx, name, wasm, mc)
		if err != nil {
			panic(err)
		}
		return m
	}
	priv := load("priv", "deputy.wasm", runtime.ModuleConfig{Env: map[string]string{"TOKEN": "s3cret"}})
	evil := load("evil", "nested.wasm", runtime.ModuleConfig{})
	ally := load("ally", "fixtures.wasm", runtime.ModuleConfig{MaySpawn: []string{"priv"}})

	fmt.Println(evil.CheckSpawn(priv)) // evil lacks TOKEN
	fmt.Println(ally.CheckSpawn(priv)) // the edge is allowed
	fmt.Println(priv.CheckSpawn(evil)) // evil holds nothing priv lacks
	// Output:
	// permission denied: module evil may not spawn into module priv, which holds capabilities evil lacks (env TOKEN); allow the edge with spawns: [priv] on module evil in the graph file, or runtime.ModuleConfig.MaySpawn
	// <nil>
	// <nil>
}

func TestModuleConfig_CopiedOnLoad(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	mc := runtime.ModuleConfig{Env: map[string]string{"A": "1"}, MaySpawn: []string{"a"}}
	m := deputyAs(t, rt, "copied", mc)
	// The caller's config changing after the load must not change what the module holds.
	mc.Env["A"], mc.Env["B"] = "changed", "added"
	mc.MaySpawn[0] = "priv"
	got := m.Config()
	if !reflect.DeepEqual(got.Env, map[string]string{"A": "1"}) || !slices.Equal(got.MaySpawn, []string{"a"}) {
		t.Fatalf("Config() = env %v, may spawn %q after the caller changed its copy", got.Env, got.MaySpawn)
	}
}
