package replay

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// DefaultMaxInline is Recorder.MaxInline when zero: modules up to this size are kept in the
// bundle, larger ones by path when the Recorder knows their file.
const DefaultMaxInline = 64 << 20

// DefaultMaxMemory is Recorder.MaxMemory when zero.
const DefaultMaxMemory = 64 << 20

// ErrNotKept is wrapped by the error of Recorder.Write for a task whose bundle the Recorder
// does not hold.
var ErrNotKept = errors.New("no replay bundle kept for this task")

// Recorder is a dag.Executor that runs each call on Next and keeps a Bundle of each call that
// fails, or of every call when All is set. Bundles go to directories under Dir as the calls
// end; without Dir they stay in memory until Write writes one. The zero value runs calls in
// process and keeps the bundles of failed calls in memory. Set the fields before the first
// call; a Recorder is safe for concurrent use after that.
//
// A bundle is kept of calls in process only: an executor that shares its store with remote
// workers (dag.RemoteExecutor) hands Run no argument values. A call of a native module, or
// one that takes an Object by reference (dag.Ref), has no bundle (Notify is told why).
type Recorder struct {
	// Next runs the calls. Nil means dag.InProcess.
	Next dag.Executor
	// Dir, when set, is where bundles are written, one directory per task (see Path).
	Dir string
	// All keeps a bundle of every call, not only of those that fail.
	All bool
	// Limits are the limits of the runtime and engine that run the calls, written into each
	// bundle (Timeout is filled per call).
	Limits Limits
	// MaxInline is the size above which a module whose file is known (ModuleFile) is kept by
	// path and SHA-256 instead of its bytes. Zero means DefaultMaxInline.
	MaxInline int
	// MaxMemory bounds the bytes of the bundles kept in memory (without Dir): the oldest are
	// dropped first. Zero means DefaultMaxMemory.
	MaxMemory int
	// Notify, when set, is called after a task's bundle is written to Dir for the first time,
	// or could not be kept, from the goroutine that ran the call.
	Notify func(Kept)

	// seen holds the modules whose calls ran, as keys (*runtime.Module: no allocation per
	// lookup): read on every call, so without the mutex.
	seen sync.Map

	mu      sync.Mutex
	files   map[[32]byte]string // module files by SHA-256
	kept    map[abi.Key]*Bundle // in memory, without Dir
	order   []abi.Key           // kept, oldest first
	size    int                 // bytes of kept
	written map[abi.Key]string  // paths of the bundles written
	tmp     string              // where Write writes without Dir
	shared  map[[32]byte]string // module files the bundles' copies link to
}

var _ dag.Executor = (*Recorder)(nil)

// Kept says what became of the bundle of one call (Recorder.Notify).
type Kept struct {
	Key  abi.Key
	Func *runtime.Function
	// Failed says the call failed.
	Failed bool
	// Path is the bundle's directory; Err, when set, says why the call has none.
	Path string
	Err  error
}

// ModuleFile tells r that the module bytes with SHA-256 sum were read from the file at path,
// so that a bundle may refer to the file instead of holding a large module's bytes.
func (r *Recorder) ModuleFile(sum [32]byte, path string) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files == nil {
		r.files = map[[32]byte]string{}
	}
	r.files[sum] = abs
}

// Run runs t on Next and keeps its bundle when the call fails or All is set.
func (r *Recorder) Run(ctx context.Context, t *dag.Task) (runtime.Result, error) {
	next := r.Next
	if next == nil {
		next = dag.InProcess{}
	}
	mod := t.Func.Module()
	if _, ok := r.seen.Load(mod); !ok {
		r.seen.LoadOrStore(mod, true)
	}
	res, err := next.Run(ctx, t)
	if err == nil && !r.All {
		r.forget(t.Key) // an earlier attempt failed: this one did not
		return res, err
	}
	b, berr := r.bundle(ctx, t, res, err)
	if berr != nil {
		if r.Notify != nil {
			r.Notify(Kept{Key: t.Key, Func: t.Func, Failed: err != nil, Err: berr})
		}
		return res, err
	}
	r.keep(b, t.Func)
	return res, err
}

// bundle makes the bundle of call t, which returned res and err. It copies what it keeps:
// the engine reuses t and owns res.
func (r *Recorder) bundle(ctx context.Context, t *dag.Task, res runtime.Result, err error) (*Bundle, error) {
	mod := t.Func.Module()
	if mod.Native() {
		return nil, fmt.Errorf("module %s is built into mrun: its calls have no replay bundle", mod.Name())
	}
	if t.Inputs == nil && len(t.Template.Deps()) > 0 {
		return nil, errors.New("the executor reads the call's arguments from a shared store: no replay bundle in this mode")
	}
	for i := range t.Template.Deps() {
		if t.Template.ByRef(i) {
			return nil, errors.New("the call takes an Object by reference, which exists only in its execution: no replay bundle")
		}
	}
	b := &Bundle{
		Key: t.Key, Module: mod.Name(), Function: t.Func.Name(), NOutput: t.NOutput,
		Frame:   t.Template.AppendFrame(nil, t.Inputs),
		Limits:  r.Limits,
		Outcome: OutcomeOf(res, err),
	}
	b.Limits.Timeout = 0
	var te *dag.TimeoutError
	if err != nil && errors.As(context.Cause(ctx), &te) {
		b.Limits.Timeout = te.Timeout
	}
	if b.Outcome.Result != nil {
		b.Outcome.Result = append([]byte(nil), b.Outcome.Result...)
	}
	b.Modules = append(b.Modules, r.module(mod))
	if mod.Nested() { // its spawns may name the other modules that ran
		var others []*runtime.Module
		r.seen.Range(func(k, _ any) bool {
			if m := k.(*runtime.Module); m != mod && !m.Native() {
				others = append(others, m)
			}
			return true
		})
		names := map[string]bool{mod.Name(): true}
		for _, m := range others {
			if !names[m.Name()] {
				names[m.Name()] = true
				b.Modules = append(b.Modules, r.module(m))
			}
		}
	}
	return b, nil
}

// module describes m for a bundle.
func (r *Recorder) module(m *runtime.Module) Module {
	bm := Module{Name: m.Name(), SHA256: m.Sum(), Size: m.Size(), Bytes: m.Bytes(), Config: m.Config()}
	limit := r.MaxInline
	if limit <= 0 {
		limit = DefaultMaxInline
	}
	if bm.Size > limit {
		r.mu.Lock()
		path, ok := r.files[bm.SHA256]
		r.mu.Unlock()
		if ok {
			bm.Bytes, bm.Path = nil, path
		}
	}
	return bm
}

// keep writes b to Dir, or keeps it in memory.
func (r *Recorder) keep(b *Bundle, fn *runtime.Function) {
	if r.Dir == "" {
		r.remember(b)
		return
	}
	path := filepath.Join(r.Dir, dirName(b.Function, b.Key))
	err := write(path, b, r.sharedModule)
	r.mu.Lock()
	if r.written == nil {
		r.written = map[abi.Key]string{}
	}
	_, again := r.written[b.Key]
	if err == nil {
		r.written[b.Key] = path
	}
	r.mu.Unlock()
	if r.Notify != nil && (err != nil || !again) {
		r.Notify(Kept{Key: b.Key, Func: fn, Failed: b.Outcome.Failed, Path: path, Err: err})
	}
}

// sharedModuleDir is the directory, under Dir, of the module files that the bundles' copies
// are hard links to.
const sharedModuleDir = ".modules"

// sharedModule returns the path of a file under Dir holding data, the bytes of the module
// with SHA-256 sum, writing it on first use; "" when it cannot.
func (r *Recorder) sharedModule(sum [32]byte, data []byte) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p, ok := r.shared[sum]; ok {
		return p
	}
	if r.shared == nil {
		r.shared = map[[32]byte]string{}
	}
	root := r.Dir
	if root == "" {
		root = r.tmp
	}
	p := filepath.Join(root, sharedModuleDir, hex.EncodeToString(sum[:])+".wasm")
	if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Size() == int64(len(data)) {
		// written by an earlier process: Read checks the SHA-256 of every bundle's copy
	} else if os.MkdirAll(filepath.Dir(p), 0o755) != nil || writeFile(p, data) != nil {
		p = ""
	}
	r.shared[sum] = p
	return p
}

// remember keeps b in memory, dropping the oldest bundles beyond MaxMemory.
func (r *Recorder) remember(b *Bundle) {
	limit := r.maxMemory()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.kept == nil {
		r.kept = map[abi.Key]*Bundle{}
	}
	if old, ok := r.kept[b.Key]; ok {
		r.size -= memSize(old)
		r.order = deleteKey(r.order, b.Key)
	}
	r.kept[b.Key] = b
	r.order = append(r.order, b.Key)
	r.size += memSize(b)
	for r.size > limit && len(r.order) > 1 {
		k := r.order[0]
		r.order = r.order[1:]
		r.size -= memSize(r.kept[k])
		delete(r.kept, k)
	}
}

func (r *Recorder) maxMemory() int {
	if r.MaxMemory <= 0 {
		return DefaultMaxMemory
	}
	return r.MaxMemory
}

// forget drops what r keeps of the task with key k: an attempt of it succeeded.
func (r *Recorder) forget(k abi.Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.kept[k]; ok {
		r.size -= memSize(b)
		r.order = deleteKey(r.order, k)
		delete(r.kept, k)
	}
	if path, ok := r.written[k]; ok {
		delete(r.written, k)
		os.RemoveAll(path)
	}
}

func deleteKey(keys []abi.Key, k abi.Key) []abi.Key {
	for i, x := range keys {
		if x == k {
			return append(keys[:i], keys[i+1:]...)
		}
	}
	return keys
}

// memSize is what a bundle kept in memory costs, module bytes aside: the modules hold them.
func memSize(b *Bundle) int {
	return len(b.Frame) + len(b.Outcome.Stdout) + len(b.Outcome.Stderr) + len(b.Outcome.Result) + len(b.Outcome.Err) + 512
}

// Path returns the directory of the bundle written for the task with key k, if there is one.
func (r *Recorder) Path(k abi.Key) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.written[k]
	return p, ok
}

// Write writes the bundle of the task with key k, if r keeps one, and returns its directory:
// the one under Dir it was written to already, or a new one (under Dir, or under a temporary
// directory made for r when Dir is empty). Its signature is the dashboard's replay hook.
func (r *Recorder) Write(ctx context.Context, k abi.Key) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	r.mu.Lock()
	if p, ok := r.written[k]; ok {
		r.mu.Unlock()
		return p, nil
	}
	b, ok := r.kept[k]
	dir := r.Dir
	if ok && dir == "" {
		if r.tmp == "" {
			tmp, err := os.MkdirTemp("", "mrun-replay-")
			if err != nil {
				r.mu.Unlock()
				return "", fmt.Errorf("write replay bundle: %w", err)
			}
			r.tmp = tmp
		}
		dir = r.tmp
	}
	r.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("task %s: %w: only the latest failed calls of this process are kept in memory, up to %d bytes", k, ErrNotKept, r.maxMemory())
	}
	path := filepath.Join(dir, dirName(b.Function, b.Key))
	if err := write(path, b, r.sharedModule); err != nil {
		return "", err
	}
	r.mu.Lock()
	if r.written == nil {
		r.written = map[abi.Key]string{}
	}
	r.written[k] = path
	r.mu.Unlock()
	return path, nil
}

// dirName is the name of the directory of the bundle of a call of fn with key k: the function's
// name, kept to safe characters, and the key's first 16 hex digits.
func dirName(fn string, k abi.Key) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			return r
		}
		return '_'
	}, fn)
	if len(safe) > 48 {
		safe = safe[:48]
	}
	return safe + "-" + k.String()[:16]
}
