package runtime_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// The tests in this file check two promises of the sandbox. A guest blocked in a host call
// (asleep in poll_oneoff, waiting in a nested execute) stops when its call's context ends: the
// guests are in guests/wat/sleeper.wat, where sleep() sleeps for an hour. And no path in a
// mount, symbolic links included, resolves outside the mounted directory.

// lateBound is how long after its deadline an interrupted sleep may still run. The promise is
// 100 ms and a sleep is usually interrupted within 1-10 ms of it, but on a 2-core machine
// running other test binaries the scheduler alone has delayed the wake-up by 120 ms: the bound
// leaves room for that, and is still far from an hour.
const lateBound = 500 * time.Millisecond

// returns runs f and fails the test if it has not returned after 20 s (a sleeping guest that
// is not interrupted holds its goroutine for an hour; that goroutine is then left behind).
func returns[T any](t *testing.T, f func() T) T {
	t.Helper()
	done := make(chan T, 1)
	go func() { done <- f() }()
	select {
	case v := <-done:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("still running after 20 s: the guest is blocked in a host call")
		panic("unreachable")
	}
}

// late returns how long after ctx's deadline now is.
func late(ctx context.Context) time.Duration {
	d, _ := ctx.Deadline()
	return time.Since(d)
}

func TestSandbox_SleepInterrupted(t *testing.T) {
	for _, cfg := range []runtime.Config{{}, {Uninterruptible: true}} {
		m := load(t, newRuntime(t, cfg), "sleeper")
		for _, name := range []string{"sleep", "naps"} {
			t.Run(fmt.Sprintf("%s/uninterruptible=%v", name, cfg.Uninterruptible), func(t *testing.T) {
				// One successful call first, so that the pool holds an instance to reuse.
				if got, err := fn(t, m, "nap").Call(context.Background(), nilFrame); err != nil || string(got.Value) != "\xd2\x00\x00\x00\x00" {
					t.Fatalf("nap() = % x, %v; want errno 0", got.Value, err)
				}
				if m.Idle() != 1 {
					t.Fatalf("%d idle instances after nap, want 1", m.Idle())
				}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				err := returns(t, func() error { _, err := fn(t, m, name).Call(ctx, nilFrame); return err })
				d := late(ctx)
				t.Logf("interrupted %v after the deadline", d)
				if d > lateBound {
					t.Errorf("interrupted %v after the deadline, want at most %v", d, lateBound)
				}
				if !errors.Is(err, runtime.ErrInterrupted) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want interrupted by the deadline", err)
				}
				if want := name + " (module sleeper): interrupted: context deadline exceeded"; err.Error() != want {
					t.Fatalf("message %q, want %q", err, want)
				}
				if m.Idle() != 0 {
					t.Fatalf("%d idle instances: the interrupted instance went back to the pool", m.Idle())
				}
			})
		}
	}
}

// TestSandbox_SleepCancelled: cancelling the call's context (as SIGTERM does in the CLI) wakes
// the guest too, with the cancellation's cause.
func TestSandbox_SleepCancelled(t *testing.T) {
	m := load(t, newRuntime(t, runtime.Config{}), "sleeper")
	cause := errors.New("operator pressed stop")
	ctx, cancel := context.WithCancelCause(context.Background())
	time.AfterFunc(200*time.Millisecond, func() { cancel(cause) })
	err := returns(t, func() error { _, err := fn(t, m, "sleep").Call(ctx, nilFrame); return err })
	if !errors.Is(err, runtime.ErrInterrupted) || !errors.Is(err, cause) {
		t.Fatalf("err = %v, want interrupted with the cause", err)
	}
	if want := "sleep (module sleeper): interrupted: operator pressed stop"; err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
}

// TestSandbox_SleepDeterministic: a deterministic module's sleep returns at once (wazero's
// fake sleep), so an hour-long sleep succeeds without waiting and without a deadline.
func TestSandbox_SleepDeterministic(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	b := readWat(t, "sleeper")
	m, err := rt.LoadWith(context.Background(), "sleeper", b, runtime.ModuleConfig{Deterministic: true})
	if err != nil {
		t.Fatal(err)
	}
	res := returns(t, func() error {
		got, err := fn(t, m, "sleep").Call(context.Background(), nilFrame)
		if err == nil && string(got.Value) != "\xd2\x00\x00\x00\x00" {
			err = fmt.Errorf("sleep() = % x, want errno 0", got.Value)
		}
		return err
	})
	if res != nil {
		t.Fatal(res)
	}
}

// TestSandbox_SleepInGraph: the engine's per-task timeouts (Config.Timeout, Call.Timeout) and
// the cancellation of a whole execution reach a sleeping guest.
func TestSandbox_SleepInGraph(t *testing.T) {
	m := load(t, newRuntime(t, runtime.Config{}), "sleeper")
	sleep, naps := fn(t, m, "sleep"), fn(t, m, "naps")
	timeout := func(d time.Duration) string {
		return fmt.Sprintf("interrupted: task timeout of %v exceeded (raise it with dag.Call.Timeout or dag.Config.Timeout)", d)
	}
	tests := []struct {
		name string
		cfg  dag.Config
		obj  *dag.Object
		want string // the cause after the task's name
	}{
		{"Config.Timeout", dag.Config{Timeout: 300 * time.Millisecond}, dag.Spawn(sleep), timeout(300 * time.Millisecond)},
		{"Call.Timeout", dag.Config{Timeout: time.Hour}, dag.Call{Func: naps, Timeout: 200 * time.Millisecond}.Spawn()[0], timeout(200 * time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := dag.New(tt.cfg)
			start := time.Now()
			err := returns(t, func() error { return e.Execute(context.Background(), tt.obj) })
			var te *dag.TimeoutError
			if !errors.Is(err, runtime.ErrInterrupted) || !errors.As(err, &te) {
				t.Fatalf("err = %v, want interrupted by the task timeout", err)
			}
			d := time.Since(start) - te.Timeout
			t.Logf("interrupted %v after the task timeout", d)
			if d > lateBound {
				t.Errorf("interrupted %v after the task timeout, want at most %v", d, lateBound)
			}
			want := fmt.Sprintf("task %s (key %s, module sleeper): %s", tt.obj.Func().Name(), tt.obj.Key(), tt.want)
			if err.Error() != want {
				t.Fatalf("message\n got %q\nwant %q", err, want)
			}
		})
	}
	t.Run("cancel", func(t *testing.T) {
		cause := errors.New("the run was stopped")
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(200*time.Millisecond, func() { cancel(cause) })
		o := dag.Spawn(sleep)
		err := returns(t, func() error { return dag.New(dag.Config{}).Execute(ctx, o) })
		if !errors.Is(err, runtime.ErrInterrupted) || !errors.Is(err, cause) {
			t.Fatalf("err = %v, want interrupted with the cause", err)
		}
		if want := fmt.Sprintf("task sleep (key %s, module sleeper): interrupted: the run was stopped", o.Key()); err.Error() != want {
			t.Fatalf("message\n got %q\nwant %q", err, want)
		}
	})
}

// TestSandbox_NestedExecuteInterrupted: a guest blocked in a nested execute while its child
// sleeps returns when its own timeout passes; the child is interrupted with it.
func TestSandbox_NestedExecuteInterrupted(t *testing.T) {
	m := load(t, newRuntime(t, runtime.Config{}), "sleeper")
	o := dag.Call{Func: fn(t, m, "wait_sleep"), Timeout: 300 * time.Millisecond}.Spawn()[0]
	start := time.Now()
	err := returns(t, func() error { return dag.New(dag.Config{}).Execute(context.Background(), o) })
	d := time.Since(start) - 300*time.Millisecond
	t.Logf("returned %v after the timeout", d)
	if d > lateBound {
		t.Errorf("returned %v after the timeout, want at most %v", d, lateBound)
	}
	var te *dag.TimeoutError
	if !errors.Is(err, runtime.ErrInterrupted) || !errors.As(err, &te) {
		t.Fatalf("err = %v, want interrupted by the task timeout", err)
	}
	want := fmt.Sprintf("task wait_sleep (key %s, module sleeper): interrupted: task timeout of 300ms exceeded (raise it with dag.Call.Timeout or dag.Config.Timeout)", o.Key())
	if err.Error() != want {
		t.Fatalf("message\n got %q\nwant %q", err, want)
	}
}

// readWat returns the bytes of testdata/wat/NAME.wasm.
func readWat(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "wat", name+".wasm"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSandbox_MountLinks: no path in a mount resolves outside its directory, whatever symbolic
// links the directory holds; links whose relative target stays inside work. The guest is the
// Go seed module; readfile returns the file or the error os.ReadFile got, errno included.
func TestSandbox_MountLinks(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the Go seed module; TestSandbox_MountWASI covers escapes under -short")
	}
	root := t.TempDir()
	mnt := filepath.Join(root, "mnt")
	write := func(name, data string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		t.Helper()
		if err := os.Symlink(target, filepath.Join(mnt, name)); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "secret.txt"), "host secret")
	write(filepath.Join(root, "outdir", "file.txt"), "outside")
	write(filepath.Join(mnt, "inside.txt"), "inside")
	write(filepath.Join(mnt, "sub", "deep.txt"), "deep")
	link("inside.txt", "to_inside")
	link("../inside.txt", "sub/up_inside")
	link("chain_in2", "chain_in")
	link("sub/up_inside", "chain_in2")
	link("sub", "dir_in")
	link("../secret.txt", "outside_file")
	link("../outdir", "outside_dir")
	link("/", "slash")
	link(filepath.Join(root, "secret.txt"), "abs_file")
	link(filepath.Join(mnt, "inside.txt"), "abs_inside")
	link("chain_out2", "chain_out")
	link("chain_out3", "chain_out2")
	link("../secret.txt", "chain_out3")
	link("../../../../../../../../etc/passwd", "sub/dotdots")
	link("../sub/../../secret.txt", "sub/sneaky")
	link("../mnt/inside.txt", "climb_back")
	link("/proc/self/environ", "environ")
	link("loop_b", "loop_a")
	link("loop_a", "loop_b")
	mkfifo(t, filepath.Join(mnt, "fifo"))
	t.Setenv("MRUN_HOST_SECRET", "host secret")

	m := loadSeed(t, newRuntime(t, runtime.Config{}), runtime.ModuleConfig{
		Mounts: []runtime.Mount{{HostDir: mnt, GuestPath: "/data"}},
	})
	// The errno texts of Go's wasip1 port.
	const (
		eperm  = "Operation not permitted"
		enoent = "No such file or directory"
		eloop  = "Too many symbolic links"
	)
	tests := []struct {
		path string
		want string // the contents, or the errno's text
	}{
		{"inside.txt", "inside"},
		{"sub/deep.txt", "deep"},
		{"to_inside", "inside"},         // a relative link inside
		{"sub/up_inside", "inside"},     // a link with ".." that stays inside
		{"chain_in", "inside"},          // a chain of links that stays inside
		{"dir_in/deep.txt", "deep"},     // a link to a directory inside
		{"outside_file", eperm},         // a relative link to a file outside
		{"outside_dir/file.txt", eperm}, // a link to a directory outside
		{"slash/etc/passwd", eperm},     // a link to /
		{"abs_file", eperm},             // an absolute link
		{"abs_inside", eperm},           // an absolute link, even to a file inside
		{"chain_out", eperm},            // a chain of links that ends outside
		{"sub/dotdots", eperm},          // ".." past the root
		{"sub/sneaky", eperm},           // ".." chains that end outside
		{"climb_back", eperm},           // ".." above the root, even to come back in
		{"environ", eperm},              // /proc/self/environ
		{"loop_a", eloop},               // a cycle of links
		{"missing.txt", enoent},
		{"fifo", eperm}, // would block forever without a writer
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			path := "/data/" + tt.path
			type result struct {
				v   any
				err error
			}
			r := returns(t, func() result { v, err := call(t, m, "readfile", path); return result{v, err} })
			if tt.want == eperm || tt.want == enoent || tt.want == eloop {
				want := fmt.Sprintf("readfile (module seed): open %s: %s", path, tt.want)
				if r.err == nil || r.err.Error() != want {
					t.Fatalf("readfile(%q) = %q, %v; want the error %q", path, r.v, r.err, want)
				}
				return
			}
			if r.err != nil || r.v != tt.want {
				t.Fatalf("readfile(%q) = %q, %v; want %q", path, r.v, r.err, tt.want)
			}
		})
	}
}

// TestSandbox_MountWASI: a mount offers what guests' libcs use (open, stat, seek, read and
// readdir, through raw WASI calls in guests/wat/fsprobe.wat) and refuses what leaves it, errno
// for errno (WASI numbers: 63 EPERM, 44 ENOENT, 54 ENOTDIR).
func TestSandbox_MountWASI(t *testing.T) {
	root := t.TempDir()
	mnt := filepath.Join(root, "mnt")
	for _, dir := range []string{filepath.Join(mnt, "sub"), filepath.Join(root, "outside")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(mnt, "a.txt"), []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "outside", "f"), []byte("outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"link": "a.txt", "out": "../outside"} {
		if err := os.Symlink(target, filepath.Join(mnt, name)); err != nil {
			t.Fatal(err)
		}
	}
	mkfifo(t, filepath.Join(mnt, "fifo"))
	rt := newRuntime(t, runtime.Config{})
	m, err := rt.LoadWith(context.Background(), "fsprobe", readWat(t, "fsprobe"), runtime.ModuleConfig{
		Mounts: []runtime.Mount{{HostDir: mnt, GuestPath: "/data"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// probe calls f(path) and returns its bin result, or "errno N".
	probe := func(f, path string) any {
		t.Helper()
		type result struct {
			v   any
			err error
		}
		r := returns(t, func() result { v, err := call(t, m, f, path); return result{v, err} })
		if r.err != nil {
			t.Fatalf("%s(%q): %v", f, path, r.err)
		}
		if code, ok := r.v.(int64); ok {
			return fmt.Sprintf("errno %d", code)
		}
		return r.v
	}
	// The dirents of WASI fd_readdir: d_next u64, d_ino u64, d_namlen u32, d_type u8, 3 bytes
	// of padding, then the name. Types: 3 directory, 4 regular file, 7 symbolic link, 0 other.
	list := func(path string) any {
		t.Helper()
		v := probe("list", path)
		b, ok := v.([]byte)
		if !ok {
			return v
		}
		got := map[string]int{}
		for len(b) >= 24 {
			n := int(binary.LittleEndian.Uint32(b[16:]))
			if name := string(b[24 : 24+n]); name != ".." && binary.LittleEndian.Uint64(b[8:]) == 0 { // wazero gives ".." none
				t.Errorf("list(%q): entry %q has no inode", path, b[24:24+n])
			}
			got[string(b[24:24+n])] = int(b[20])
			b = b[24+n:]
		}
		return got
	}
	seekread := func(path string) any {
		t.Helper()
		v := probe("seekread", path)
		b, ok := v.([]byte)
		if !ok {
			return v
		}
		return fmt.Sprintf("size %d, seek %d, read %q", binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[8:]), b[16:])
	}
	for _, tt := range []struct {
		got, want any
	}{
		{list("."), map[string]int{".": 3, "..": 3, "a.txt": 4, "sub": 3, "link": 7, "out": 7, "fifo": 0}},
		{list("sub"), map[string]int{".": 3, "..": 3}},
		{list("out"), "errno 63"},
		{list("a.txt"), "errno 54"},
		{list("nope"), "errno 44"},
		{seekread("a.txt"), `size 10, seek 2, read "23456789"`},
		{seekread("link"), `size 10, seek 2, read "23456789"`},
		{seekread("out/f"), "errno 63"},
		{seekread("../mnt/a.txt"), "errno 63"},
		{seekread("fifo"), "errno 63"},
		{seekread("nope"), "errno 44"},
	} {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("got %v, want %v", tt.got, tt.want)
		}
	}
}

// TestSandbox_SleepInInitialize: an _initialize asleep is interrupted by the context of the
// call that needed the instance, and no instance is pooled.
func TestSandbox_SleepInInitialize(t *testing.T) {
	m := load(t, newRuntime(t, runtime.Config{}), "sleepinit")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := returns(t, func() error { _, err := fn(t, m, "x").Call(ctx, nilFrame); return err })
	if d := late(ctx); d > lateBound {
		t.Errorf("interrupted %v after the deadline, want at most %v", d, lateBound)
	}
	if want := "x (module sleepinit): _initialize: interrupted: context deadline exceeded"; err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if !errors.Is(err, runtime.ErrInterrupted) || m.Idle() != 0 {
		t.Fatalf("err = %v (want ErrInterrupted), %d idle instances (want 0)", err, m.Idle())
	}
}

// TestSandbox_MountGone: a mounted directory removed after the module was loaded fails the
// call that needs a new instance, naming the mount.
func TestSandbox_MountGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t, runtime.Config{})
	m, err := rt.LoadWith(context.Background(), "fsprobe", readWat(t, "fsprobe"), runtime.ModuleConfig{
		Mounts: []runtime.Mount{{HostDir: dir, GuestPath: "/data"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	_, err = call(t, m, "list", ".")
	want := fmt.Sprintf("list (module fsprobe): mount %s at /data: open %s: no such file or directory (check ModuleConfig.Mounts)", dir, dir)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
