// Package replay keeps what it takes to run one call again: its module, function, argument
// frame and capabilities, and what the call did. A Recorder wraps an engine's executor and
// keeps such a Bundle for each call that fails (or each call, when recording); Bundle.Replay
// runs the call again in a fresh runtime and engine, and Outcome.Diff says whether it did the
// same thing.
//
// A bundle holds only what the call could see: the module's bytes, its ModuleConfig (the
// environment it was given, its mounts, whether it was deterministic, its memory limit, the
// modules it may spawn), the argument frame exactly as the guest received it, and the limits
// of the runtime that ran it. Nothing of the host's own environment goes into it.
//
// # On disk
//
// A bundle is a directory (format version 1):
//
//	bundle.json            the manifest: what was called, with which capabilities, and what happened
//	args.msgpack           the argument frame, byte for byte as the guest received it
//	modules/SHA256.wasm    the bytes of each module kept in the bundle, named by their SHA-256 in hex
//	stdout, stderr         what the call wrote, when it wrote something
//	result.msgpack         the result frame, when the call succeeded
//
// bundle.json is a JSON object:
//
//	{
//	  "format": "mrun-replay-bundle",
//	  "version": 1,
//	  "key": "…32 hex digits: the task key…",
//	  "module": "seed",                  // the name of the called module, in modules
//	  "function": "fail",
//	  "n_output": 1,
//	  "modules": [{
//	    "name": "seed",
//	    "sha256": "…",
//	    "size": 1954632,
//	    "path": "/abs/seed.wasm",        // only for a module not kept in the bundle
//	    "env": {"K": "V"},
//	    "mounts": [{"host": "/abs/data", "guest": "/data"}],
//	    "deterministic": true,
//	    "memory_limit_pages": 0,
//	    "may_spawn": []
//	  }],
//	  "limits": {"memory_limit_pages": 0, "max_result": 0, "max_output": 0,
//	             "max_depth": 0, "max_tasks": 0, "max_waiting": 0, "max_argument": 0,
//	             "timeout": "1.5s"},
//	  "outcome": {"failed": true, "error": "…", "effects": ["clock"],
//	              "stdout": true, "stderr": false, "result": false}
//	}
//
// Zero limits are the runtime's and engine's defaults. A module larger than
// Recorder.MaxInline whose file the Recorder knows (Recorder.ModuleFile) is kept by path and
// SHA-256 only; Replay refuses it when the file's bytes no longer have that SHA-256. Readers
// refuse versions they do not know.
package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
)

// Version is the version of the on-disk format that Write writes and Read reads.
const Version = 1

// formatName marks a bundle's manifest.
const formatName = "mrun-replay-bundle"

// The files of a bundle directory.
const (
	manifestFile = "bundle.json"
	argsFile     = "args.msgpack"
	resultFile   = "result.msgpack"
	stdoutFile   = "stdout"
	stderrFile   = "stderr"
	modulesDir   = "modules"
)

// maxManifest bounds the manifest Read accepts: a real one is a few KiB.
const maxManifest = 16 << 20

// ErrModuleChanged is wrapped by the error of Replay when a module kept by path no longer has
// the bytes the bundle recorded.
var ErrModuleChanged = errors.New("module changed since the bundle was recorded")

// Bundle is one call, with everything needed to run it again, and what it did.
type Bundle struct {
	// Key is the task key of the call.
	Key abi.Key
	// Module is the name of the called function's module, one of Modules; Function is the
	// function's name.
	Module, Function string
	// NOutput is the number of outputs the call was spawned with.
	NOutput int
	// Frame is the argument frame, exactly as the guest received it.
	Frame []byte
	// Modules are the called module and, when it spawns nested tasks, the other modules its
	// spawns may name, with the capabilities each was loaded with.
	Modules []Module
	// Limits are the limits of the runtime and engine that ran the call.
	Limits Limits
	// Outcome is what the call did.
	Outcome Outcome
}

// Module is a module of a Bundle: its bytes, or where they were read, and its capabilities.
type Module struct {
	// Name is the name it was loaded under, which nested spawns name it by.
	Name string
	// SHA256 is the SHA-256 of its bytes.
	SHA256 [32]byte
	// Size is its length in bytes.
	Size int
	// Bytes are its bytes; nil when the bundle keeps only Path.
	Bytes []byte
	// Path is the file the bytes were read from, for a module kept by reference.
	Path string
	// Config is the capabilities and limits it was loaded with.
	Config runtime.ModuleConfig
}

// Limits are the limits under which a call ran. Zero fields are the defaults.
type Limits struct {
	// MemoryLimitPages, MaxResult and MaxOutput are the runtime's (runtime.Config).
	MemoryLimitPages uint32
	MaxResult        int
	MaxOutput        int
	// MaxDepth, MaxTasks, MaxWaiting and MaxArgument are the engine's (dag.Config); they
	// bound the call's nested spawns.
	MaxDepth, MaxTasks, MaxWaiting, MaxArgument int
	// Timeout is the per-attempt timeout that interrupted the call, or zero.
	Timeout time.Duration
}

// Outcome is what a call did.
type Outcome struct {
	// Failed says the call failed; Err is its error's text then.
	Failed bool
	Err    string
	// Stdout and Stderr are what it wrote (capped as the runtime caps them).
	Stdout, Stderr []byte
	// Result is the result frame of a call that succeeded.
	Result []byte
	// Effects is what the call read of the world: the clock, randomness, files.
	Effects runtime.Effects
}

// Diff lists what differs between o and want, the recorded outcome: "error", "stdout",
// "stderr", "result". It is empty when the outcomes are the same, byte for byte.
func (o Outcome) Diff(want Outcome) []string {
	var d []string
	if o.Failed != want.Failed || o.Err != want.Err {
		d = append(d, "error")
	}
	if !bytes.Equal(o.Stdout, want.Stdout) {
		d = append(d, "stdout")
	}
	if !bytes.Equal(o.Stderr, want.Stderr) {
		d = append(d, "stderr")
	}
	if !bytes.Equal(o.Result, want.Result) {
		d = append(d, "result")
	}
	return d
}

// manifest is bundle.json.
type manifest struct {
	Format   string           `json:"format"`
	Version  int              `json:"version"`
	Key      string           `json:"key"`
	Module   string           `json:"module"`
	Function string           `json:"function"`
	NOutput  int              `json:"n_output"`
	Modules  []manifestModule `json:"modules"`
	Limits   manifestLimits   `json:"limits"`
	Outcome  manifestOutcome  `json:"outcome"`
}

type manifestModule struct {
	Name          string            `json:"name"`
	SHA256        string            `json:"sha256"`
	Size          int               `json:"size"`
	Path          string            `json:"path,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	Mounts        []manifestMount   `json:"mounts,omitempty"`
	Deterministic bool              `json:"deterministic,omitempty"`
	MemoryPages   uint32            `json:"memory_limit_pages,omitempty"`
	MaySpawn      []string          `json:"may_spawn,omitempty"`
}

type manifestMount struct {
	Host  string `json:"host"`
	Guest string `json:"guest"`
}

type manifestLimits struct {
	MemoryLimitPages uint32 `json:"memory_limit_pages,omitempty"`
	MaxResult        int    `json:"max_result,omitempty"`
	MaxOutput        int    `json:"max_output,omitempty"`
	MaxDepth         int    `json:"max_depth,omitempty"`
	MaxTasks         int    `json:"max_tasks,omitempty"`
	MaxWaiting       int    `json:"max_waiting,omitempty"`
	MaxArgument      int    `json:"max_argument,omitempty"`
	Timeout          string `json:"timeout,omitempty"`
}

type manifestOutcome struct {
	Failed  bool     `json:"failed"`
	Error   string   `json:"error,omitempty"`
	Effects []string `json:"effects,omitempty"`
	Stdout  bool     `json:"stdout,omitempty"`
	Stderr  bool     `json:"stderr,omitempty"`
	Result  bool     `json:"result,omitempty"`
}

// Write writes b to the directory dir, creating it, in the format of the package comment.
// Files of another bundle already in dir are replaced.
func Write(dir string, b *Bundle) error { return write(dir, b, nil) }

// write is Write. shared, when set, returns the path of a file holding a module's bytes that
// the bundle's copy may be a hard link to, or "": the bundles of one Recorder share the
// disk space of their modules and still stand alone.
func write(dir string, b *Bundle, shared func(sum [32]byte, data []byte) string) error {
	m, err := b.manifest()
	if err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	js, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("write bundle %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, modulesDir), 0o755); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	files := map[string][]byte{argsFile: b.Frame}
	for _, f := range []struct {
		name string
		data []byte
		keep bool
	}{{stdoutFile, b.Outcome.Stdout, len(b.Outcome.Stdout) > 0}, {stderrFile, b.Outcome.Stderr, len(b.Outcome.Stderr) > 0}, {resultFile, b.Outcome.Result, !b.Outcome.Failed}} {
		if f.keep {
			files[f.name] = f.data
		} else if err := os.Remove(filepath.Join(dir, f.name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("write bundle: %w", err)
		}
	}
	for _, mod := range b.Modules {
		if mod.Bytes == nil {
			continue
		}
		name := filepath.Join(modulesDir, hex.EncodeToString(mod.SHA256[:])+".wasm")
		if shared != nil {
			if src := shared(mod.SHA256, mod.Bytes); src != "" {
				dst := filepath.Join(dir, name)
				os.Remove(dst)
				if os.Link(src, dst) == nil {
					continue
				}
			}
		}
		files[name] = mod.Bytes
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := writeFile(filepath.Join(dir, name), files[name]); err != nil {
			return err
		}
	}
	// The manifest last: a bundle whose writing was cut short has none, and Read says so.
	return writeFile(filepath.Join(dir, manifestFile), append(js, '\n'))
}

// writeFile writes data to path through a temporary file, so that a reader never sees half.
func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}

// manifest checks b and returns its manifest.
func (b *Bundle) manifest() (*manifest, error) {
	m := &manifest{
		Format: formatName, Version: Version, Key: b.Key.String(),
		Module: b.Module, Function: b.Function, NOutput: b.NOutput,
		Limits: manifestLimits{
			MemoryLimitPages: b.Limits.MemoryLimitPages, MaxResult: b.Limits.MaxResult, MaxOutput: b.Limits.MaxOutput,
			MaxDepth: b.Limits.MaxDepth, MaxTasks: b.Limits.MaxTasks, MaxWaiting: b.Limits.MaxWaiting, MaxArgument: b.Limits.MaxArgument,
		},
		Outcome: manifestOutcome{
			Failed: b.Outcome.Failed, Error: b.Outcome.Err, Effects: effectNames(b.Outcome.Effects),
			Stdout: len(b.Outcome.Stdout) > 0, Stderr: len(b.Outcome.Stderr) > 0, Result: !b.Outcome.Failed,
		},
	}
	if b.Limits.Timeout > 0 {
		m.Limits.Timeout = b.Limits.Timeout.String()
	}
	for _, mod := range b.Modules {
		if mod.Bytes == nil && mod.Path == "" {
			return nil, fmt.Errorf("module %s has neither bytes nor a path", mod.Name)
		}
		mm := manifestModule{
			Name: mod.Name, SHA256: hex.EncodeToString(mod.SHA256[:]), Size: mod.Size,
			Env: mod.Config.Env, Deterministic: mod.Config.Deterministic, MemoryPages: mod.Config.MemoryLimitPages,
			MaySpawn: mod.Config.MaySpawn,
		}
		if mod.Bytes == nil {
			mm.Path = mod.Path
		}
		for _, mt := range mod.Config.Mounts {
			mm.Mounts = append(mm.Mounts, manifestMount{Host: mt.HostDir, Guest: mt.GuestPath})
		}
		m.Modules = append(m.Modules, mm)
	}
	if _, err := m.check(); err != nil {
		return nil, err
	}
	return m, nil
}

// Read reads the bundle in directory dir. A module kept by path is not read: Replay reads it
// and checks its SHA-256.
func Read(dir string) (*Bundle, error) {
	js, err := readFile(dir, manifestFile, maxManifest)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if st, serr := os.Stat(dir); serr != nil || !st.IsDir() {
				return nil, fmt.Errorf("read bundle %s: not a directory: give the directory mrun printed for the failed task", dir)
			}
			return nil, fmt.Errorf("read bundle %s: no %s in it: not a replay bundle, or its writing was cut short", dir, manifestFile)
		}
		return nil, fmt.Errorf("read bundle %s: %w", dir, err)
	}
	b, err := parseManifest(js)
	if err != nil {
		return nil, fmt.Errorf("read bundle %s: %s: %w", dir, manifestFile, err)
	}
	if b.Frame, err = readFile(dir, argsFile, -1); err != nil {
		return nil, fmt.Errorf("read bundle %s: %w", dir, err)
	}
	m := b.manifest
	if m.Outcome.Stdout {
		if b.Outcome.Stdout, err = readFile(dir, stdoutFile, -1); err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", dir, err)
		}
	}
	if m.Outcome.Stderr {
		if b.Outcome.Stderr, err = readFile(dir, stderrFile, -1); err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", dir, err)
		}
	}
	if m.Outcome.Result {
		if b.Outcome.Result, err = readFile(dir, resultFile, -1); err != nil {
			return nil, fmt.Errorf("read bundle %s: %w", dir, err)
		}
		if b.Outcome.Result == nil {
			b.Outcome.Result = []byte{}
		}
	}
	for i := range b.Modules {
		mod := &b.Modules[i]
		if mod.Path != "" {
			continue
		}
		sum := hex.EncodeToString(mod.SHA256[:])
		if mod.Bytes, err = readFile(dir, filepath.Join(modulesDir, sum+".wasm"), -1); err != nil {
			return nil, fmt.Errorf("read bundle %s: module %s: %w", dir, mod.Name, err)
		}
		if got := sha256.Sum256(mod.Bytes); got != mod.SHA256 {
			return nil, fmt.Errorf("read bundle %s: module %s: %s/%s.wasm is corrupt: its SHA-256 is %x", dir, mod.Name, modulesDir, sum, got)
		}
	}
	return b.Bundle, nil
}

// readFile reads the file name of the bundle in dir, refusing one larger than limit bytes
// (limit < 0: no limit).
func readFile(dir, name string, limit int64) ([]byte, error) {
	path := filepath.Join(dir, name)
	if limit >= 0 {
		st, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if st.Size() > limit {
			return nil, fmt.Errorf("%s is %d bytes, more than a bundle's %s can be (%d)", name, st.Size(), name, limit)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// parsed is a parsed manifest and the Bundle it describes, without the files' contents.
type parsed struct {
	*Bundle
	manifest *manifest
}

// parseManifest decodes and checks a manifest.
func parseManifest(js []byte) (parsed, error) {
	var m manifest
	dec := json.NewDecoder(bytes.NewReader(js))
	if err := dec.Decode(&m); err != nil {
		return parsed{}, fmt.Errorf("not valid JSON: %w", err)
	}
	if dec.More() {
		return parsed{}, errors.New("not valid JSON: more than one value")
	}
	if m.Format != formatName {
		return parsed{}, fmt.Errorf("format is %q, not %q: not a replay bundle", m.Format, formatName)
	}
	if m.Version != Version {
		if m.Version > Version {
			return parsed{}, fmt.Errorf("format version %d is newer than this mrun reads (%d): replay it with the mrun that wrote it, or a newer one", m.Version, Version)
		}
		return parsed{}, fmt.Errorf("format version %d is not one this mrun reads (%d)", m.Version, Version)
	}
	b, err := m.check()
	if err != nil {
		return parsed{}, err
	}
	return parsed{Bundle: b, manifest: &m}, nil
}

// check checks m and returns the Bundle it describes, without the files' contents.
func (m *manifest) check() (*Bundle, error) {
	key, err := abi.ParseKey(m.Key)
	if err != nil {
		return nil, fmt.Errorf("key %q: %w", m.Key, err)
	}
	if m.Function == "" {
		return nil, errors.New("function is missing")
	}
	if m.NOutput < 1 || m.NOutput > runtime.SpawnCountMask {
		return nil, fmt.Errorf("n_output is %d: want 1 to %d", m.NOutput, runtime.SpawnCountMask)
	}
	b := &Bundle{Key: key, Module: m.Module, Function: m.Function, NOutput: m.NOutput}
	if len(m.Modules) == 0 {
		return nil, errors.New("modules is empty")
	}
	names := map[string]bool{}
	for i, mm := range m.Modules {
		if mm.Name == "" {
			return nil, fmt.Errorf("modules[%d] has no name", i)
		}
		if names[mm.Name] {
			return nil, fmt.Errorf("modules[%d]: module %s is listed twice", i, mm.Name)
		}
		names[mm.Name] = true
		raw, err := hex.DecodeString(mm.SHA256)
		if err != nil || len(raw) != 32 {
			return nil, fmt.Errorf("module %s: sha256 %q is not 64 hex digits", mm.Name, mm.SHA256)
		}
		if mm.Size < 0 {
			return nil, fmt.Errorf("module %s: size %d is negative", mm.Name, mm.Size)
		}
		mod := Module{Name: mm.Name, Size: mm.Size, Path: mm.Path, Config: runtime.ModuleConfig{
			Env: mm.Env, Deterministic: mm.Deterministic, MemoryLimitPages: mm.MemoryPages, MaySpawn: mm.MaySpawn,
		}}
		copy(mod.SHA256[:], raw)
		if mm.Path != "" && !filepath.IsAbs(mm.Path) {
			return nil, fmt.Errorf("module %s: path %q is not absolute", mm.Name, mm.Path)
		}
		for _, mt := range mm.Mounts {
			if mt.Host == "" || !strings.HasPrefix(mt.Guest, "/") {
				return nil, fmt.Errorf("module %s: mount %q:%q needs a host directory and an absolute guest path", mm.Name, mt.Host, mt.Guest)
			}
			mod.Config.Mounts = append(mod.Config.Mounts, runtime.Mount{HostDir: mt.Host, GuestPath: mt.Guest})
		}
		b.Modules = append(b.Modules, mod)
	}
	if !names[m.Module] {
		return nil, fmt.Errorf("module %q, the called function's, is not in modules", m.Module)
	}
	l := m.Limits
	for _, v := range []struct {
		name string
		n    int
	}{{"max_result", l.MaxResult}, {"max_output", l.MaxOutput}, {"max_depth", l.MaxDepth}, {"max_tasks", l.MaxTasks}, {"max_waiting", l.MaxWaiting}} {
		if v.n < 0 {
			return nil, fmt.Errorf("limits: %s is %d: it must not be negative", v.name, v.n)
		}
	}
	if l.MemoryLimitPages > 65536 {
		return nil, fmt.Errorf("limits: memory_limit_pages is %d, over the 65536 pages of 4 GiB", l.MemoryLimitPages)
	}
	b.Limits = Limits{MemoryLimitPages: l.MemoryLimitPages, MaxResult: l.MaxResult, MaxOutput: l.MaxOutput,
		MaxDepth: l.MaxDepth, MaxTasks: l.MaxTasks, MaxWaiting: l.MaxWaiting, MaxArgument: l.MaxArgument}
	if l.Timeout != "" {
		d, err := time.ParseDuration(l.Timeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("limits: timeout %q is not a positive duration such as 1.5s", l.Timeout)
		}
		b.Limits.Timeout = d
	}
	o := m.Outcome
	if o.Failed && o.Result {
		return nil, errors.New("outcome: a failed call has no result")
	}
	if !o.Failed && o.Error != "" {
		return nil, errors.New("outcome: a call that succeeded has no error")
	}
	fx, err := parseEffects(o.Effects)
	if err != nil {
		return nil, fmt.Errorf("outcome: %w", err)
	}
	b.Outcome = Outcome{Failed: o.Failed, Err: o.Error, Effects: fx}
	return b, nil
}

// effectNames returns the names of the effects in fx, one per bit.
func effectNames(fx runtime.Effects) []string {
	var names []string
	for i := range 8 {
		if bit := runtime.Effects(1 << i); fx&bit != 0 {
			names = append(names, bit.String())
		}
	}
	return names
}

// parseEffects is the inverse of effectNames.
func parseEffects(names []string) (runtime.Effects, error) {
	var fx runtime.Effects
next:
	for _, n := range names {
		for i := range 8 {
			if bit := runtime.Effects(1 << i); bit.String() == n {
				fx |= bit
				continue next
			}
		}
		return 0, fmt.Errorf("effect %q is not one of clock, random, file", n)
	}
	return fx, nil
}
