package runtime_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/mrun-dev/mrun/runtime"
)

// A Go guest built as a command (without -buildmode=c-shared) never starts its Go runtime
// under mrun, which calls no _start: the host refuses it at load and names the build command.
func TestLoad_GoCommand(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	wasm, err := os.ReadFile(filepath.Join("..", "testdata", "go_command.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.Load(context.Background(), "command", wasm)
	want := "module command: invalid export: it is a Go command (it exports _start and no _initialize), whose Go runtime only _start would set up, and mrun never calls _start: build it as a reactor with GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o fns.wasm ."
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if !errors.Is(err, runtime.ErrBadExport) {
		t.Errorf("err = %v, want it to match ErrBadExport", err)
	}
}

// The seed module, a Go reactor, still loads: it exports _initialize and no _start.
func TestLoad_GoReactor(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	if _, err := rt.LoadFile(context.Background(), filepath.Join("..", "testdata", "seed.wasm")); err != nil {
		t.Fatal(err)
	}
}

// A module whose memory starts at 65536 pages (exactly 4 GiB) is refused at load: an
// instance has at most 4 GiB less one page. A runtime memory limit below 65536 pages refuses
// it first, with the limit's message; a limit of 65536 pages, the largest allowed, does not.
func TestLoad_Memory4GiB(t *testing.T) {
	most := "module mem4g: memory limit too low for this module: its memory starts at 65536 pages (4 GiB), over the most an instance can have, 65535 pages (4 GiB less one page): declare a smaller minimum where the module is built"
	tests := []struct {
		name string
		cfg  runtime.Config
		want string
	}{
		{"no limit", runtime.Config{}, most},
		{"limit 65536", runtime.Config{MemoryLimitPages: 65536}, most},
		{"limit 1024", runtime.Config{MemoryLimitPages: 1024}, "module mem4g: memory limit too low for this module (1024 pages of 64 KiB): its memory starts at 65536 pages, over limit of 1024 pages"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newRuntime(t, tt.cfg)
			_, err := rt.LoadFile(context.Background(), filepath.Join("..", "testdata", "wat", "mem4g.wasm"))
			if err == nil || err.Error() != tt.want {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
			if !errors.Is(err, runtime.ErrMemoryLimit) {
				t.Errorf("err = %v, want it to match ErrMemoryLimit", err)
			}
		})
	}
	// The module's own limit is checked the same way.
	rt := newRuntime(t, runtime.Config{})
	wasm, err := os.ReadFile(filepath.Join("..", "testdata", "wat", "mem4g.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = rt.LoadWith(context.Background(), "mem4g", wasm, runtime.ModuleConfig{MemoryLimitPages: 65536})
	if err == nil || err.Error() != most {
		t.Fatalf("LoadWith: err = %v\nwant %s", err, most)
	}
}

// An allocator that hands out a region running past the end of memory fails the call with
// ErrAlloc, naming the size asked for and the region, and the instance is discarded.
func TestCall_AllocOutOfBounds(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	m := load(t, rt, "allocpast")
	for range 2 {
		_, err := fn(t, m, "x").Call(context.Background(), frame(t, nil, nil))
		want := "x (module allocpast): allocator failed: mrun_alloc(256) returned 65500: the region [65500, 65756) lies outside guest memory of 65536 bytes"
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v\nwant %s", err, want)
		}
		if !errors.Is(err, runtime.ErrAlloc) || !errors.Is(err, runtime.ErrMalformedResult) || errors.Is(err, runtime.ErrTrap) {
			t.Errorf("err = %v, want it to match ErrAlloc and ErrMalformedResult, not ErrTrap", err)
		}
		if n := m.Idle(); n != 0 {
			t.Errorf("%d idle instances after the allocator failed, want 0 (discarded)", n)
		}
	}
}

// ErrAlloc is its own error: a malformed result does not match it.
func TestErrAlloc_NotMalformed(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	_, err := fn(t, load(t, rt, "hostile"), "bad_msgpack").Call(context.Background(), frame(t, nil, nil))
	if !errors.Is(err, runtime.ErrMalformedResult) || errors.Is(err, runtime.ErrAlloc) {
		t.Fatalf("err = %v, want ErrMalformedResult and not ErrAlloc", err)
	}
}
