package runtime_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
)

// fuzzRT is one Runtime shared by the iterations of FuzzLoad, replaced after it has loaded
// many modules, since a Runtime keeps every module it loaded.
var fuzzRT struct {
	sync.Mutex
	rt     *runtime.Runtime
	loaded int
}

func loadRuntime(t *testing.T) *runtime.Runtime {
	fuzzRT.Lock()
	defer fuzzRT.Unlock()
	if fuzzRT.rt == nil || fuzzRT.loaded >= 100 {
		if fuzzRT.rt != nil {
			fuzzRT.rt.Close(context.Background())
		}
		rt, err := runtime.New(context.Background(), runtime.Config{MemoryLimitPages: 256})
		if err != nil {
			t.Fatal(err)
		}
		fuzzRT.rt, fuzzRT.loaded = rt, 0
	}
	return fuzzRT.rt
}

// FuzzLoad feeds arbitrary bytes to Runtime.Load: it must return a module or a
// *runtime.ModuleError, and never panic or hang. Loading runs no guest code.
func FuzzLoad(f *testing.F) {
	files, err := filepath.Glob("../testdata/wat/*.wasm")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed modules: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:len(b)-1])
		for _, at := range []int{8, len(b) / 3, len(b) - 2} { // flip a bit in a section header, in the middle, near the end
			if at >= 0 && at < len(b) {
				flipped := bytes.Clone(b)
				flipped[at] ^= 0x10
				f.Add(flipped)
			}
		}
	}
	for _, wasm := range hugeCounts { // the sections whose counts the precheck reads
		f.Add(wasm)
	}
	f.Fuzz(func(t *testing.T, wasm []byte) {
		rt := loadRuntime(t)
		m, err := rt.Load(context.Background(), "fuzz", wasm)
		if err != nil {
			var me *runtime.ModuleError
			if !errors.As(err, &me) || me.Module != "fuzz" {
				t.Fatalf("err = %#v, want a *runtime.ModuleError", err)
			}
			return
		}
		fuzzRT.Lock()
		fuzzRT.loaded++
		fuzzRT.Unlock()
		if m.Sum() != sha256.Sum256(wasm) {
			t.Fatal("module identity is not the SHA-256 of its bytes")
		}
		for _, fn := range m.Functions() {
			if err := abi.CheckFuncName(fn.Name()); err != nil {
				t.Fatalf("loaded function %q: %v", fn.Name(), err)
			}
		}
	})
}

// FuzzResult lets the fuzzer choose a guest's whole result frame: hostile.raw returns the
// payload of its bin argument as its result, unchanged. The host must either accept a frame
// that abi.ValidateResult accepts and that decodes, byte for byte, or fail the call with
// ErrMalformedResult and the validator's reason; the module's pool stays usable.
func FuzzResult(f *testing.F) {
	for _, seed := range [][]byte{
		{0xc0},
		{0x93, 0x01, 0xa3, 't', 'w', 'o', 0xcb, 0x40, 0x0c, 0, 0, 0, 0, 0, 0},
		{},
		{0xc1},
		{0x92, 0x01},
		{0x01, 0x02},
		{0xd6, 0x02, 0, 0, 0, 1},            // handle: reserved
		{0xd6, 0xff, 0, 0, 0, 1},            // timestamp 32
		{0xd4, 0x10, 0x00},                  // ext 16: opaque
		{0xdd, 0xff, 0xff, 0xff, 0xff},      // array32 claiming 4 G elements
		{0xdb, 0x7f, 0xff, 0xff, 0xff, 'a'}, // str32 claiming 2 GiB
		{0x81, 0xa1, 'k', 0x91, 0x90},       // {"k": [[]]}
		bytes.Repeat([]byte{0x91}, 600),     // nesting deeper than 512
		append(bytes.Repeat([]byte{0x91}, 511), 0), // 511 levels, then a value
	} {
		f.Add(seed)
	}
	rt, err := runtime.New(context.Background(), runtime.Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { rt.Close(context.Background()) })
	m, err := rt.LoadFile(context.Background(), "../testdata/wat/hostile.wasm")
	if err != nil {
		f.Fatal(err)
	}
	raw, err := m.Func("raw")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, result []byte) {
		if len(result) > 60000 { // the argument buffer holds 64 KiB
			t.Skip()
		}
		in, err := abi.EncodeFrame([]any{result}, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := raw.Call(context.Background(), in)
		verr := abi.ValidateResult(result)
		switch {
		case err == nil:
			if verr != nil {
				t.Fatalf("host accepted % x, which the validator rejects: %v", result, verr)
			}
			if !bytes.Equal(res.Value, result) {
				t.Fatalf("value % x, want % x", res.Value, result)
			}
			// abi.Decode decodes into Go values, where a map key cannot be an array or a map
			// (found by this target: 81 91 30 30, {[0]: 0}); anything else must decode.
			if _, err := abi.Decode(res.Value); err != nil && !strings.Contains(err.Error(), "cannot be a Go map key") {
				t.Fatalf("accepted result % x does not decode: %v", result, err)
			}
		case errors.Is(err, runtime.ErrMalformedResult):
			if verr == nil {
				t.Fatalf("host rejected % x, which the validator accepts: %v", result, err)
			}
			if want := "raw (module hostile): malformed result: " + verr.Error(); err.Error() != want {
				t.Fatalf("message %q, want %q", err, want)
			}
		default:
			t.Fatalf("err = %v, want a value or ErrMalformedResult", err)
		}
		// The pool still serves calls.
		if res, err := raw.Call(context.Background(), []byte{0x92, 0x91, 0xc4, 0x01, 0xc3, 0x80}); err != nil || !bytes.Equal(res.Value, []byte{0xc3}) {
			t.Fatalf("raw after % x: % x, %v", result, res.Value, err)
		}
	})
}

// hugeCount reports whether wasm holds, at any offset, a LEB128 number of at least 2^24 that
// exceeds its length, not right after an i32.const or i64.const opcode: a vector count that
// would trigger the known bug of TestLoad_HugeVectorCount. It is deliberately broad, so that
// fuzzing looks for other failures.
func hugeCount(wasm []byte) bool {
	// Section by section: a section whose vector count is large and exceeds its size in bytes.
	if len(wasm) >= 8 {
		b := wasm[8:]
		for len(b) > 0 {
			id := b[0]
			size, n := binary.Uvarint(b[1:min(len(b), 11)])
			if n <= 0 {
				break
			}
			b = b[1+n:]
			payload := b[:min(size, uint64(len(b)))] // wazero reads a count before checking the section's size
			b = b[len(payload):]
			if id == 0 || id == 8 {
				continue // custom and start sections hold no vector
			}
			if count, _ := binary.Uvarint(payload[:min(len(payload), 5)]); count >= 1<<16 && count > uint64(len(payload)) {
				return true
			}
		}
	}
	// Anywhere: counts inside vector elements (parameters, locals, data bytes, names).
	for i := 0; i < len(wasm); i++ {
		if wasm[i] == 0x41 || wasm[i] == 0x42 { // i32.const, i64.const: skip the operand
			if _, n := binary.Uvarint(wasm[i+1 : min(i+11, len(wasm))]); n > 0 {
				i += n
			}
			continue
		}
		v, n := binary.Uvarint(wasm[i:min(i+5, len(wasm))])
		if n > 0 && v >= 1<<24 && v > uint64(len(wasm)) {
			return true
		}
	}
	return false
}

// hugeCounts are inputs that make Runtime.Load kill the process (TestLoad_HugeVectorCount).
var hugeCounts = map[string][]byte{
	// found by FuzzLoad: an import section declaring 0xdfbae54a imports
	"imports": []byte("\x00asm\x01\x00\x00\x00\x02t\x9a\xca\xeb\xfd\fU\xbf\xfew\xbb\x1d\x14E#\x80\x10\xe4X\xfa\x9d/\xf5\x11G~j\xfe]\b\xce\xeb6f\x12\xfe\xc2\x19T\xf1[\x86\x92.\xff"),
	// found by FuzzLoad: a code section declaring 2^30 function bodies
	"code": []byte("\x00asm\x01\x00\x00\x00\nA\x80\x80\x80\x80\x04\x10\a\v\t\x00A\x80\x02A\x04\x10\a\v\t\x00A\x80\x02A\x00\x10\a\v\t\x00A\x88\x02A\x06\x10\a\v\t\x00A\x90\x02A\b\x10\a\vU\x01\x01\x7fA\x80\b-\x00\x00A\xf8\x00G\x04@A\x80\b!\x00\x02@\x03@ \x00A\x80\x80\x04F\r\x01 \x00A\xf8\x00:\x00\x00 \x00A\x01j!\x00\f\x00\v\v\vA\x80\x06A\x80\b6\x02\x00A\x84\x06A\x80\xf8\x036\x02\x00A\x01A\x80\x06A\x01A\x88\x06\x10\x00\v0\x01\x02 "),
	// a type section with one function type of 2^32-1 parameters
	"params": []byte("\x00asm\x01\x00\x00\x00\x01\x08\x01\x60\xff\xff\xff\xff\x0f\x00"),
	// a name section whose function-name subsection declares 2^32-16 names
	"names": []byte("\x00asm\x01\x00\x00\x00\x00\x0d\x04name\x01\x06\xf0\xff\xff\xff\x0f\x00"),
	// a name section whose local-name subsection declares 2^32-16 locals of function 0
	"locals": []byte("\x00asm\x01\x00\x00\x00\x00\x0f\x04name\x02\x08\x01\x00\xf0\xff\xff\xff\x0f\x00"),
	// a table, and an element segment of 2^32-1 function indices (30 bytes)
	"elements": []byte("\x00asm\x01\x00\x00\x00\x04\x04\x01\x70\x00\x00\x09\x0a\x01\x00\x41\x00\x0b\xff\xff\xff\xff\x0f"),
	// the same with an element segment of 2^32-1 constant expressions
	"element exprs": []byte("\x00asm\x01\x00\x00\x00\x04\x04\x01\x70\x00\x00\x09\x0a\x01\x04\x41\x00\x0b\xff\xff\xff\xff\x0f"),
	// an import whose module name declares 2^32-1 bytes
	"import name": []byte("\x00asm\x01\x00\x00\x00\x02\x06\x01\xff\xff\xff\xff\x0f"),
	// an export whose name declares 2^32-1 bytes
	"export name": []byte("\x00asm\x01\x00\x00\x00\x07\x06\x01\xff\xff\xff\xff\x0f"),
	// a custom section whose name declares 2^32-1 bytes
	"custom name": []byte("\x00asm\x01\x00\x00\x00\x00\x05\xff\xff\xff\xff\x0f"),
	// a memory, and a data segment of 2^32-1 bytes
	"data": []byte("\x00asm\x01\x00\x00\x00\x05\x03\x01\x00\x01\x0b\x0a\x01\x00\x41\x00\x0b\xff\xff\xff\xff\x0f"),
}

// TestLoad_HugeVectorCount: wazero v1.12.0 allocates a vector as soon as it reads the vector's
// declared length, before reading its elements (internal/wasm/binary: section.go
// decodeImportSection make([]wasm.Import, vs); value.go decodeValueTypes make(..., 0, num);
// the same in the function, table, global, export, element, code, data and name sections).
// So Runtime.Load of a few untrusted bytes kills the whole process with "fatal error: runtime:
// out of memory" (not a recoverable panic) instead of returning a *ModuleError: 54 bytes
// found by FuzzLoad ("imports"), 148 bytes declaring 2^30 function bodies, also found by
// FuzzLoad ("code"), and 18 bytes declaring a type of 2^32-1 parameters
// ("params"), and 30 bytes declaring an element segment of 2^32-1 function indices
// ("elements": a 96 GiB allocation). Counts of a few hundred million do not crash but take
// seconds and GiBs.
// Runtime.Load now checks declared counts against the bytes that follow them first
// (runtime/precheck.go), so each of these is an ordinary error.
func TestLoad_HugeVectorCount(t *testing.T) {
	for name, wasm := range hugeCounts {
		if !hugeCount(wasm) {
			t.Fatalf("%s: hugeCount does not recognise the input", name)
		}
	}
	rt := newRuntime(t, runtime.Config{})
	for name, wasm := range hugeCounts {
		_, err := rt.Load(context.Background(), name, wasm)
		var me *runtime.ModuleError
		if !errors.As(err, &me) || !errors.Is(err, runtime.ErrNotWasm) {
			t.Errorf("%s: err = %v, want a *ModuleError wrapping ErrNotWasm", name, err)
		}
	}
}
