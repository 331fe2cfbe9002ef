package replay_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/replay"
	"github.com/mrun-dev/mrun/runtime"
)

// cacheDir is a compilation cache the tests share, so that the Go guest compiles once.
var cacheDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mrun-replay-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cacheDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func readModule(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// record runs fn(args...) of the module wasm, loaded as name with mc, on an engine whose
// executor is rec, and returns the call's key and the error of Execute.
func record(t *testing.T, rec *replay.Recorder, name string, wasm []byte, mc runtime.ModuleConfig, fn string, args ...any) (abi.Key, error) {
	t.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.LoadWith(ctx, name, wasm, mc)
	if err != nil {
		t.Fatal(err)
	}
	f, err := mod.Func(fn)
	if err != nil {
		t.Fatal(err)
	}
	rec.Next = dag.InProcess{}
	eng := dag.New(dag.Config{Executor: rec, Slots: 1})
	obj := dag.Call{Func: f, Args: args, NOutput: 1}.Spawn()[0]
	return obj.TaskKey(), eng.Execute(ctx, obj)
}

// replayDir reads the bundle in dir and replays it.
func replayDir(t *testing.T, dir string) (*replay.Bundle, replay.Outcome, error) {
	t.Helper()
	b, err := replay.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Replay(context.Background(), replay.Options{CacheDir: cacheDir})
	var ce *runtime.CallError
	if err != nil && !errors.As(err, &ce) {
		t.Fatalf("Replay: %v", err)
	}
	return b, replay.OutcomeOf(res, err), err
}

func TestReplay_failedCallGivesTheSameError(t *testing.T) {
	dir := t.TempDir()
	var notified []string
	rec := &replay.Recorder{Dir: dir, Notify: func(k replay.Kept) {
		notified = append(notified, fmt.Sprintf("%s %v %s %v", k.Func.Name(), k.Failed, filepath.Base(k.Path), k.Err))
	}}
	key, err := record(t, rec, "seed", readModule(t, "testdata/seed.wasm"), runtime.ModuleConfig{}, "fail", "the disk is full")
	if err == nil {
		t.Fatal("fail succeeded")
	}
	path, ok := rec.Path(key)
	if !ok {
		t.Fatal("no bundle written for the failed call")
	}
	if want := []string{"fail true fail-" + key.String()[:16] + " <nil>"}; fmt.Sprint(notified) != fmt.Sprint(want) {
		t.Errorf("Notify was told %q, want %q", notified, want)
	}
	b, got, rerr := replayDir(t, path)
	const want = "fail (module seed): the disk is full"
	if b.Outcome.Err != want {
		t.Errorf("recorded error %q, want %q", b.Outcome.Err, want)
	}
	if rerr == nil || rerr.Error() != want {
		t.Errorf("replayed error %v, want %q", rerr, want)
	}
	if d := got.Diff(b.Outcome); len(d) != 0 {
		t.Errorf("replay differs in %v", d)
	}
	if b.Function != "fail" || b.Module != "seed" || b.NOutput != 1 || b.Key != key {
		t.Errorf("bundle names %s.%s n_output %d key %s", b.Module, b.Function, b.NOutput, b.Key)
	}
	// The frame is the call's: [["the disk is full"], {}].
	wantFrame, _ := abi.EncodeFrame([]any{"the disk is full"}, nil)
	if !bytes.Equal(b.Frame, wantFrame) {
		t.Errorf("frame %x, want %x", b.Frame, wantFrame)
	}
}

func TestReplay_deterministicIsBitForBit(t *testing.T) {
	wasm := readModule(t, "testdata/seed.wasm")
	for _, c := range []struct {
		fn   string
		args []any
	}{
		{"clock", nil},          // the wall clock and a random number, in the result
		{"hello", []any{"ann"}}, // stdout and stderr
	} {
		t.Run(c.fn, func(t *testing.T) {
			dir := t.TempDir()
			rec := &replay.Recorder{Dir: dir, All: true}
			key, err := record(t, rec, "seed", wasm, runtime.ModuleConfig{Deterministic: true}, c.fn, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			path, ok := rec.Path(key)
			if !ok {
				t.Fatal("no bundle written with All")
			}
			b, got, err := replayDir(t, path)
			if err != nil {
				t.Fatal(err)
			}
			if !b.Modules[0].Config.Deterministic {
				t.Error("the bundle lost Deterministic")
			}
			if len(b.Outcome.Result) == 0 {
				t.Fatal("no result recorded")
			}
			if d := got.Diff(b.Outcome); len(d) != 0 {
				t.Errorf("replay differs in %v: result %x, recorded %x; stdout %q, recorded %q", d, got.Result, b.Outcome.Result, got.Stdout, b.Outcome.Stdout)
			}
		})
	}
	t.Run("clock without deterministic differs", func(t *testing.T) {
		dir := t.TempDir()
		rec := &replay.Recorder{Dir: dir, All: true}
		key, err := record(t, rec, "seed", wasm, runtime.ModuleConfig{}, "clock")
		if err != nil {
			t.Fatal(err)
		}
		path, _ := rec.Path(key)
		b, got, err := replayDir(t, path)
		if err != nil {
			t.Fatal(err)
		}
		if d := got.Diff(b.Outcome); fmt.Sprint(d) != "[result]" {
			t.Errorf("Diff = %v, want [result]", d)
		}
		if b.Outcome.Effects&runtime.ReadClock == 0 {
			t.Errorf("recorded effects %q, want clock among them", b.Outcome.Effects)
		}
	})
}

func TestReplay_moduleChangedOnDisk(t *testing.T) {
	wasm := readModule(t, "testdata/seed.wasm")
	file := filepath.Join(t.TempDir(), "seed.wasm")
	if err := os.WriteFile(file, wasm, 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &replay.Recorder{Dir: t.TempDir(), MaxInline: 1024}
	rec.ModuleFile(sha256.Sum256(wasm), file)
	key, err := record(t, rec, "seed", wasm, runtime.ModuleConfig{}, "fail", "x")
	if err == nil {
		t.Fatal("fail succeeded")
	}
	path, _ := rec.Path(key)
	if _, err := os.Stat(filepath.Join(path, "modules")); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(path, "modules")); len(entries) != 0 {
		t.Errorf("a module over MaxInline was kept in the bundle: %v", entries)
	}
	b, _, _ := replayDir(t, path) // the file is unchanged: it replays
	if b.Modules[0].Path != file {
		t.Errorf("module path %q, want %q", b.Modules[0].Path, file)
	}

	changed := append(wasm[:len(wasm):len(wasm)], 0) // a trailing byte: another build
	if err := os.WriteFile(file, changed, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = b.Replay(context.Background(), replay.Options{CacheDir: cacheDir})
	want := fmt.Sprintf("replay: module seed: module changed since the bundle was recorded: %s has SHA-256 %x, the bundle recorded %x: put the recorded build back at that path, or record the call again",
		file, sha256.Sum256(changed), sha256.Sum256(wasm))
	if err == nil || err.Error() != want {
		t.Errorf("Replay of a changed module: %v\nwant %s", err, want)
	}
	if !errors.Is(err, replay.ErrModuleChanged) {
		t.Errorf("%v does not wrap ErrModuleChanged", err)
	}
}

func TestReplay_nestedSpawnsRunAgain(t *testing.T) {
	rec := &replay.Recorder{Dir: t.TempDir()}
	key, err := record(t, rec, "giveup", readModule(t, "testdata/wat/giveup.wasm"), runtime.ModuleConfig{}, "outer")
	if err == nil {
		t.Fatal("outer succeeded")
	}
	path, ok := rec.Path(key)
	if !ok {
		t.Fatal("no bundle for outer")
	}
	b, got, rerr := replayDir(t, path)
	if d := got.Diff(b.Outcome); len(d) != 0 {
		t.Errorf("replay differs in %v: %v, recorded %q", d, rerr, b.Outcome.Err)
	}
	// The cause chain exists only if the children ran in the replay's engine.
	var te *dag.TaskError
	if !errors.As(rerr, &te) || te.Func != "driver" || !strings.Contains(te.Err.Error(), "driver gave up") {
		t.Errorf("replayed error %v has no failed driver in its chain", rerr)
	}
}

func TestRecorder_WriteKeepsFailuresInMemory(t *testing.T) {
	rec := &replay.Recorder{}
	key, err := record(t, rec, "seed", readModule(t, "testdata/seed.wasm"), runtime.ModuleConfig{}, "fail", "boom")
	if err == nil {
		t.Fatal("fail succeeded")
	}
	if _, ok := rec.Path(key); ok {
		t.Error("a bundle was written without Dir")
	}
	path, err := rec.Write(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(path)) })
	again, err := rec.Write(context.Background(), key)
	if err != nil || again != path {
		t.Errorf("second Write = %q, %v; want %q", again, err, path)
	}
	b, _, rerr := replayDir(t, path)
	if rerr == nil || rerr.Error() != "fail (module seed): boom" || b.Outcome.Err != rerr.Error() {
		t.Errorf("replayed %v, recorded %q", rerr, b.Outcome.Err)
	}
	var other abi.Key
	other[0] = 1
	_, err = rec.Write(context.Background(), other)
	if !errors.Is(err, replay.ErrNotKept) {
		t.Errorf("Write of an unknown task: %v, want ErrNotKept", err)
	}
}

func TestRecorder_successfulRetryDropsTheBundle(t *testing.T) {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.Load(ctx, "giveup", readModule(t, "testdata/wat/giveup.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := mod.Func("inc")
	dir := t.TempDir()
	fails := 1
	rec := &replay.Recorder{Dir: dir, Next: executorFunc(func(ctx context.Context, t *dag.Task) (runtime.Result, error) {
		if fails > 0 {
			fails--
			return runtime.Result{}, &runtime.CallError{Module: "giveup", Function: "inc", Err: errors.New("flaky")}
		}
		return runtime.Result{Value: []byte{0x01}}, nil
	})}
	eng := dag.New(dag.Config{Executor: rec, Slots: 1, Retries: 1})
	obj := dag.Call{Func: f, NOutput: 1}.Spawn()[0]
	if err := eng.Execute(ctx, obj); err != nil {
		t.Fatal(err)
	}
	if _, ok := rec.Path(obj.TaskKey()); ok {
		t.Error("the bundle of a failed attempt outlived the attempt that succeeded")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != ".modules" { // the module's bytes, which later bundles link to
			t.Errorf("left in the directory: %s", e.Name())
		}
	}
}

type executorFunc func(ctx context.Context, t *dag.Task) (runtime.Result, error)

func (f executorFunc) Run(ctx context.Context, t *dag.Task) (runtime.Result, error) { return f(ctx, t) }

// spawnFails runs fail(msg) for each message on one engine whose executor is rec, and returns
// the calls' keys.
func spawnFails(t *testing.T, rec *replay.Recorder, msgs ...string) []abi.Key {
	t.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	mod, err := rt.Load(ctx, "fixtures", readModule(t, "testdata/wat/fixtures.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := mod.Func("fail")
	eng := dag.New(dag.Config{Executor: rec, Slots: 1})
	var keys []abi.Key
	var objs []*dag.Object
	for _, m := range msgs {
		o := dag.Call{Func: f, Args: []any{m}}.Spawn()[0]
		objs = append(objs, o)
		keys = append(keys, o.TaskKey())
	}
	if err := eng.Execute(ctx, objs...); err == nil {
		t.Fatal("fail succeeded")
	}
	return keys
}

func TestRecorder_bundlesShareTheirModule(t *testing.T) {
	dir := t.TempDir()
	rec := &replay.Recorder{Dir: dir}
	keys := spawnFails(t, rec, "a", "b")
	wasm := readModule(t, "testdata/wat/fixtures.wasm")
	name := fmt.Sprintf("%x.wasm", sha256.Sum256(wasm))
	shared, err := os.Stat(filepath.Join(dir, ".modules", name))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		path, ok := rec.Path(k)
		if !ok {
			t.Fatalf("no bundle for %s", k)
		}
		st, err := os.Stat(filepath.Join(path, "modules", name))
		if err != nil {
			t.Fatal(err)
		}
		if !os.SameFile(st, shared) {
			t.Errorf("%s holds a copy of the module, not a link to .modules/%s", path, name)
		}
		if _, err := replay.Read(path); err != nil {
			t.Error(err)
		}
	}
}

func TestRecorder_MaxMemoryDropsTheOldest(t *testing.T) {
	rec := &replay.Recorder{MaxMemory: 1} // room for one bundle at a time
	keys := spawnFails(t, rec, "a", "b", "c")
	kept := 0
	for _, k := range keys {
		path, err := rec.Write(context.Background(), k)
		switch {
		case err == nil:
			kept++
			t.Cleanup(func() { os.RemoveAll(filepath.Dir(path)) })
		case !errors.Is(err, replay.ErrNotKept):
			t.Errorf("Write: %v", err)
		}
	}
	if kept != 1 {
		t.Errorf("%d bundles kept in memory, want 1 (MaxMemory 1 keeps the latest only)", kept)
	}
}
