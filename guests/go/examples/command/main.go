// Command command is a Go guest built the wrong way on purpose: as a wasip1 command (plain
// GOOS=wasip1 GOARCH=wasm go build, without -buildmode=c-shared) instead of a reactor. It
// exports the ABI's functions with //go:wasmexport, but its Go runtime is only set up by
// _start, which mrun never calls, so the host must refuse it at load and name the fix.
// guests/go/build.sh builds it to testdata/go_command.wasm for the runtime's tests.
package main

import "unsafe"

var buf [256]byte

//go:wasmexport mrun_abi_v1
func marker() {}

//go:wasmexport mrun_alloc
func alloc(size uint32) uint32 {
	if size > uint32(len(buf)) {
		return 0
	}
	return uint32(uintptr(unsafe.Pointer(&buf[0])))
}

// nil is the one-byte frame c0.
var result = [1]byte{0xc0}

//go:wasmexport mrun_fn_x
func x(p, n uint32) uint64 {
	return uint64(uintptr(unsafe.Pointer(&result[0])))<<32 | 1
}

func main() {}
