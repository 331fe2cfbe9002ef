package runtime

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// This file decides whether a call of one module may spawn a task of another (ABI.md section
// 2.2, nested spawn by module name or hash). The callee runs with its own module's grants, so
// an unchecked spawn would let a module with no grants borrow the environment and mounts of
// any module loaded beside it. RATIONALE.md, "Why may a module not spawn into a module that
// holds more?", gives the rule and its reasons.

// ErrDenied is wrapped by the error that refuses a nested spawn into a module holding
// capabilities its caller lacks (Module.CheckSpawn). The guest's spawn sees code -1 (invalid).
var ErrDenied = errors.New("permission denied")

// Missing returns the capabilities target grants that mc does not, for an error message: one
// "env NAME" per environment variable of target that mc lacks or sets to another value (the
// name only, never the value), one "mount /GUEST" per mount of target whose host directory
// lies in none of mc's mounts, and "real clocks and randomness" when mc is Deterministic and
// target is not. Env names are sorted, mounts follow target's order. A memory limit is a
// resource, not a grant, and is not compared; neither is MaySpawn, whose names only a Runtime
// can resolve (Module.CheckSpawn compares it). An empty result means mc covers target.
func (mc ModuleConfig) Missing(target ModuleConfig) []string {
	var missing []string
	if len(target.Env) > 0 {
		for _, k := range slices.Sorted(maps.Keys(target.Env)) {
			if v, ok := mc.Env[k]; !ok || v != target.Env[k] {
				missing = append(missing, "env "+k)
			}
		}
	}
	for _, tm := range target.Mounts {
		if !slices.ContainsFunc(mc.Mounts, func(m Mount) bool { return within(m.HostDir, tm.HostDir) }) {
			missing = append(missing, "mount "+tm.GuestPath)
		}
	}
	if mc.Deterministic && !target.Deterministic {
		missing = append(missing, "real clocks and randomness")
	}
	return missing
}

// within reports whether host directory dir is root or lies below it, once both are absolute
// and their symbolic links resolved: a link inside root may point anywhere.
func within(root, dir string) bool {
	root, dir = realDir(root), realDir(dir)
	if root == "" || dir == "" {
		return false
	}
	rel, err := filepath.Rel(root, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// realDir returns dir absolute with its symbolic links resolved, or "" if it cannot.
func realDir(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return ""
	}
	return real
}

// CheckSpawn returns nil if the calls of m may spawn tasks of target, and otherwise an error
// wrapping ErrDenied that names both modules, what target holds that m lacks and how to allow
// the edge. A module may always spawn its own functions, and any module whose grants it holds
// itself (ModuleConfig.Missing is empty). It may spawn a module that holds more only when its
// ModuleConfig.MaySpawn names target, by name or SHA-256 in hex. The modules target may spawn
// count among target's grants: m must be able to spawn them too (or name them in its own
// MaySpawn), or else a module with no grants could reach a privileged module through one that
// holds none itself but was allowed the edge.
func (m *Module) CheckSpawn(target *Module) error {
	missing := m.lacks(target, nil)
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w: module %s may not spawn into module %s, which holds capabilities %s lacks (%s); allow the edge with spawns: [%s] on module %s in the graph file, or runtime.ModuleConfig.MaySpawn",
		ErrDenied, m.name, target.name, m.name, strings.Join(missing, ", "), target.name, m.name)
}

// lacks returns what t holds that m lacks. seen holds the modules already being compared, so
// that edges which form a cycle end; nil until t has edges.
func (m *Module) lacks(t *Module, seen map[*Module]bool) []string {
	if t == m || t.native || m.allows(t) || seen[t] { // a native module holds no capabilities
		return nil
	}
	missing := m.config.Missing(t.config)
	if len(t.config.MaySpawn) == 0 {
		return missing
	}
	if seen == nil {
		seen = map[*Module]bool{}
	}
	seen[t] = true
	for _, ref := range t.config.MaySpawn {
		if slices.Contains(m.config.MaySpawn, ref) {
			continue
		}
		// A name that resolves to no module, or to several, cannot be shown to be covered.
		x, err := m.rt.Lookup(ref)
		if err != nil || len(m.lacks(x, seen)) > 0 {
			missing = append(missing, "spawn into "+ref)
		}
	}
	return missing
}

// allows reports whether m's MaySpawn names t, by name, Identity or SHA-256 in hex. A SHA-256
// names every module loaded from those bytes, whatever its capabilities.
func (m *Module) allows(t *Module) bool {
	for _, ref := range m.config.MaySpawn {
		if ref == t.name || len(ref) == 64 && (ref == t.SumHex() || ref == t.IdentityHex()) {
			return true
		}
	}
	return false
}

// clone returns a copy of mc that shares no map or slice with it, so that a caller changing
// its ModuleConfig after LoadWith cannot change what a loaded module holds or may spawn.
func (mc ModuleConfig) clone() ModuleConfig {
	mc.Env = maps.Clone(mc.Env)
	mc.Mounts = slices.Clone(mc.Mounts)
	mc.MaySpawn = slices.Clone(mc.MaySpawn)
	return mc
}
