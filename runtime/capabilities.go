package runtime

import (
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// ModuleConfig grants a module's instances capabilities beyond the default sandbox (no
// filesystem, no environment, real clocks and randomness) and sets limits for this module
// only. The zero value is the default sandbox.
type ModuleConfig struct {
	// Env is the environment the guest sees (WASI environ). Nothing else leaks in.
	Env map[string]string
	// Mounts are host directories the guest may read (never write), at the guest paths given.
	Mounts []Mount
	// Deterministic replaces the wall clock, the monotonic clock and sleep with wazero's fake
	// ones (the clock starts at a fixed instant and advances 1 ms per read; sleep returns at
	// once) and randomness with a fixed-seed stream, so that the same inputs give the same
	// outputs bit for bit. Each call of a deterministic module runs on a fresh instance (it
	// pays the instantiation: microseconds for a C guest, tens of milliseconds for a Go one), so that
	// its outcome does not depend on the calls that ran before it.
	Deterministic bool
	// MemoryLimitPages caps this module's linear memory, in 64 KiB pages, instead of
	// Config.MemoryLimitPages. Zero means the runtime's limit.
	MemoryLimitPages uint32
	// MaySpawn names the modules, by the name they were loaded under, their SHA-256 in hex
	// (which names every module loaded from those bytes) or their Identity in hex, whose tasks
	// this module's calls may spawn although those modules hold capabilities this one lacks.
	// Without an entry, such a nested spawn is refused (Module.CheckSpawn).
	MaySpawn []string
}

// Mount maps a host directory into the guest's filesystem, read-only.
type Mount struct {
	HostDir   string // an existing directory on the host
	GuestPath string // an absolute path in the guest, e.g. "/data"
}

func (mc ModuleConfig) check() error {
	if mc.MemoryLimitPages > 65536 {
		return fmt.Errorf("memory limit of %d pages exceeds the 4 GiB (65536 pages) WebAssembly maximum", mc.MemoryLimitPages)
	}
	for _, m := range mc.Mounts {
		if !path.IsAbs(m.GuestPath) {
			return fmt.Errorf("mount %s: guest path %q must be absolute", m.HostDir, m.GuestPath)
		}
		st, err := os.Stat(m.HostDir)
		if err != nil {
			return fmt.Errorf("mount %s: %w", m.HostDir, err)
		}
		if !st.IsDir() {
			return fmt.Errorf("mount %s: not a directory", m.HostDir)
		}
	}
	for _, ref := range mc.MaySpawn {
		if ref == "" {
			return fmt.Errorf("MaySpawn holds an empty module reference: name a module by the name it is loaded under or its SHA-256 in hex")
		}
	}
	for k := range mc.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("environment variable name %q is not valid", k)
		}
	}
	return nil
}

// sameConfig returns m, loaded with the capabilities and limits of mc (their Identity is
// equal), if it was loaded with the same MaySpawn too, else an error.
func (m *Module) sameConfig(mc ModuleConfig) (*Module, error) {
	if !slices.Equal(sortedRefs(m.config.MaySpawn), sortedRefs(mc.MaySpawn)) {
		return nil, &ModuleError{Module: m.name, Err: fmt.Errorf("already loaded with these capabilities and MaySpawn %q, not %q: load these bytes with one MaySpawn for each set of capabilities", m.config.MaySpawn, mc.MaySpawn)}
	}
	return m, nil
}

// sortedRefs returns refs sorted, without duplicates: the order of MaySpawn means nothing.
func sortedRefs(refs []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(refs)))
}

// Config returns the capabilities and limits the module was loaded with.
func (m *Module) Config() ModuleConfig { return m.config }

// apply adds the module's capabilities to an instance's configuration. It opens the mounts'
// directories, which the caller closes with the instance; reading them sets ReadFile in fx.
func (mc ModuleConfig) apply(cfg wazero.ModuleConfig, fx *Effects) (wazero.ModuleConfig, []*os.Root, error) {
	for _, k := range slices.Sorted(maps.Keys(mc.Env)) {
		cfg = cfg.WithEnv(k, mc.Env[k])
	}
	if len(mc.Mounts) == 0 {
		return cfg, nil, nil
	}
	roots, err := openRoots(mc.Mounts)
	if err != nil {
		return nil, nil, err
	}
	// wazero's own directory mount follows symbolic links out of the directory; a mount is
	// an os.Root instead, read-only as wazero's ReadFS makes it (writes fail with ENOSYS, as
	// they did with WithReadOnlyDirMount).
	fsc := wazero.NewFSConfig()
	for i, m := range mc.Mounts {
		fsc = fsc.(sysfs.FSConfig).WithSysFSMount(&sysfs.ReadFS{FS: &sysfs.AdaptFS{FS: mountFS{roots[i], fx}}}, m.GuestPath)
	}
	return cfg.WithFSConfig(fsc), roots, nil
}
