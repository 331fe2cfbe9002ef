package runtime_test

import (
	"bytes"
	"context"
	"errors"
	goruntime "runtime"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/runtime"
)

// running waits until rt runs n calls.
func running(t *testing.T, rt *runtime.Runtime, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.Running(rt) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d calls running, want %d", runtime.Running(rt), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// blockingNested is an engine whose Execute blocks until release is closed, then runs child
// on the context the guest's call gave it, as an engine runs a nested task.
type blockingNested struct {
	started, release chan struct{}
	child            *runtime.Function
	childErr         error
}

func (n *blockingNested) Spawn(context.Context, string, string, []byte, int, runtime.SpawnOptions) (uint32, error) {
	return 1, nil
}

func (n *blockingNested) Execute(ctx context.Context, _ []uint32) (bool, error) {
	close(n.started)
	<-n.release
	_, n.childErr = n.child.Call(ctx, nilFrame)
	return true, nil
}

func (n *blockingNested) Fetch(context.Context, uint32) ([]byte, error) {
	return nil, runtime.ErrNotReady
}
func (n *blockingNested) Cause(uint32) error { return nil }

// TestClose_WaitsForRunningCall: Close refuses new calls at once but waits for a call that is
// running, which then returns its result; the nested calls that call makes are still accepted.
func TestClose_WaitsForRunningCall(t *testing.T) {
	rt, err := runtime.New(context.Background(), runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	waitSleep := fn(t, load(t, rt, "sleeper"), "wait_sleep")
	konst := fn(t, load(t, rt, "fixtures"), "const")
	eng := &blockingNested{started: make(chan struct{}), release: make(chan struct{}), child: konst}
	type outcome struct {
		res runtime.Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := waitSleep.Call(runtime.WithNested(context.Background(), eng), nilFrame)
		done <- outcome{res, err}
	}()
	<-eng.started // the call is inside execute
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	closed := make(chan error, 1)
	go func() { closed <- rt.Close(ctx) }()

	// Once Close has begun, a new call is refused; the running one goes on.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := konst.Call(context.Background(), nilFrame)
		if err != nil {
			const want = "const (module fixtures): runtime is closed: it accepts no calls or loads once Close has begun"
			if !errors.Is(err, runtime.ErrClosed) || errors.Is(err, runtime.ErrTrap) || errors.Is(err, runtime.ErrInterrupted) || err.Error() != want {
				t.Fatalf("a call after Close began: %v, want %q", err, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("calls were still accepted 10 s after Close began")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v while a call was running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(eng.release)
	select {
	case o := <-done:
		if o.err != nil || !bytes.Equal(o.res.Value, []byte{0xd2, 0, 0, 0, 0}) {
			t.Fatalf("the running call gave %x, %v; want d200000000 (execute's code 0)", o.res.Value, o.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the running call did not return")
	}
	if eng.childErr != nil {
		t.Fatalf("the running call's nested call failed: %v", eng.childErr)
	}
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the last call ended")
	}
}

// TestClose_InterruptsRunningCalls: when Close's context ends, the calls still running are
// interrupted, a guest in a loop and one asleep alike, even when they were called without a
// cancellable context. Their errors say the runtime was closed; they are not traps.
func TestClose_InterruptsRunningCalls(t *testing.T) {
	for _, tc := range []struct{ module, fn string }{{"fixtures", "loop"}, {"sleeper", "sleep"}} {
		t.Run(tc.fn, func(t *testing.T) {
			rt, err := runtime.New(context.Background(), runtime.Config{})
			if err != nil {
				t.Fatal(err)
			}
			f := fn(t, load(t, rt, tc.module), tc.fn)
			done := make(chan error, 1)
			go func() {
				_, err := f.Call(context.Background(), nilFrame)
				done <- err
			}()
			running(t, rt, 1)
			time.Sleep(10 * time.Millisecond) // let the guest reach its loop or sleep
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			closed := make(chan error, 1)
			go func() { closed <- rt.Close(ctx) }()
			select {
			case err := <-closed:
				const want = "runtime: close: 1 call or load still running was interrupted: context deadline exceeded"
				if !errors.Is(err, context.DeadlineExceeded) || err.Error() != want {
					t.Fatalf("Close = %v, want %q", err, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Close waited for a guest that never returns")
			}
			select {
			case err := <-done:
				want := tc.fn + " (module " + tc.module + "): interrupted: runtime is closed: the call was still running when the context given to Runtime.Close ended"
				var ce *runtime.CallError
				if !errors.As(err, &ce) || !errors.Is(err, runtime.ErrClosed) || !errors.Is(err, runtime.ErrInterrupted) || errors.Is(err, runtime.ErrTrap) || err.Error() != want {
					t.Fatalf("err = %v, want a *CallError %q", err, want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the call did not end after Close")
			}
			if _, err := f.Call(context.Background(), nilFrame); !errors.Is(err, runtime.ErrClosed) {
				t.Fatalf("a call on a closed runtime: %v", err)
			}
			if err := rt.Close(context.Background()); err != nil {
				t.Fatalf("second Close = %v, want nil", err)
			}
		})
	}
}

// TestClose_RefusesNewWork: once closed, a runtime refuses calls and loads with ErrClosed,
// and closing it again returns nil.
func TestClose_RefusesNewWork(t *testing.T) {
	rt, err := runtime.New(context.Background(), runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	konst := fn(t, load(t, rt, "fixtures"), "const")
	if err := rt.Close(context.Background()); err != nil {
		t.Fatalf("Close = %v", err)
	}
	_, err = konst.Call(context.Background(), nilFrame)
	if want := "const (module fixtures): runtime is closed: it accepts no calls or loads once Close has begun"; !errors.Is(err, runtime.ErrClosed) || errors.Is(err, runtime.ErrTrap) || err == nil || err.Error() != want {
		t.Fatalf("call after Close: %v, want %q", err, want)
	}
	_, err = rt.LoadFile(context.Background(), "../testdata/wat/sleeper.wasm")
	if want := "module sleeper: runtime is closed: it accepts no calls or loads once Close has begun"; !errors.Is(err, runtime.ErrClosed) || err == nil || err.Error() != want {
		t.Fatalf("load after Close: %v, want %q", err, want)
	}
	if err := rt.Close(context.Background()); err != nil {
		t.Fatalf("second Close = %v, want nil", err)
	}
}

// TestClose_Concurrent: calls racing with Close (and with a second Close) either succeed or
// fail with ErrClosed; none is interrupted, since they all end before Close's context does.
func TestClose_Concurrent(t *testing.T) {
	rt, err := runtime.New(context.Background(), runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	konst := fn(t, load(t, rt, "fixtures"), "const")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for {
				if _, err := konst.Call(context.Background(), nilFrame); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for deadline := time.Now().Add(10 * time.Second); runtime.Running(rt) == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // until calls run, so that Close races them
	}
	closeErrs := make(chan error, 2)
	for range 2 {
		wg.Go(func() { closeErrs <- rt.Close(context.Background()) })
	}
	wg.Wait()
	close(errs)
	close(closeErrs)
	for err := range errs {
		if !errors.Is(err, runtime.ErrClosed) || errors.Is(err, runtime.ErrInterrupted) || errors.Is(err, runtime.ErrTrap) {
			t.Errorf("a call racing Close: %v", err)
		}
	}
	for err := range closeErrs {
		if err != nil {
			t.Errorf("Close = %v", err)
		}
	}
}

// TestHostile_MemoryReturnsToBaseline: instances discarded after traps and memory bombs give
// their memory back; the host's heap does not grow with the number of hostile calls.
func TestHostile_MemoryReturnsToBaseline(t *testing.T) {
	rt := newRuntime(t, runtime.Config{MemoryLimitPages: 256}) // 16 MiB per instance
	m := load(t, rt, "hostile")
	bomb, trap := fn(t, m, "membomb"), fn(t, m, "membomb_trap")
	heap := func() uint64 {
		goruntime.GC()
		goruntime.GC()
		var ms goruntime.MemStats
		goruntime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	bomb.Call(context.Background(), nilFrame) // warm up: pools, compiled code
	trap.Call(context.Background(), nilFrame)
	base := heap()
	for range 40 { // 40 × 16 MiB would be 640 MiB if nothing were released
		if _, err := bomb.Call(context.Background(), nilFrame); err != nil {
			t.Fatal(err)
		}
		if _, err := trap.Call(context.Background(), nilFrame); !errors.Is(err, runtime.ErrTrap) {
			t.Fatalf("membomb_trap: %v", err)
		}
	}
	if after := heap(); after > base+64<<20 {
		t.Fatalf("heap in use grew from %d MiB to %d MiB over 80 hostile calls", base>>20, after>>20)
	}
}
