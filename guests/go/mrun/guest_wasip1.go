//go:build wasip1

package mrun

import (
	"runtime"
	"unsafe"
)

// The guest's state. A wasm instance runs one call at a time, so nothing here is locked.
//
// Nested spawn, in a later revision of the ABI, adds the imports mrun.spawn, execute, fetch,
// read and release here, behind new functions (Spawn, Execute, Fetch) that are valid only while
// Call runs a function: their handles belong to the running task.
var (
	guest  = newCodec()
	argBuf []byte // the argument buffer: owned by the host from mrun_alloc to the next mrun_alloc
)

// abiV1 is the ABI version marker; the host reads its name and never calls it.
//
//go:wasmexport mrun_abi_v1
func abiV1() {}

// alloc hands the host an argument buffer of at least size bytes. The previous buffer returns
// to the guest: it is reused when big enough, or left to the garbage collector. A size the Go
// heap cannot provide makes the Go runtime abort, which the host sees as a trap.
//
//go:wasmexport mrun_alloc
func alloc(size uint32) uint32 {
	if uint64(size) > uint64(cap(argBuf)) || argBuf == nil {
		n := max(uint64(size), 2*uint64(cap(argBuf)), 4096)
		argBuf = make([]byte, min(n, 1<<32-1))
	}
	argBuf = argBuf[:cap(argBuf)]
	return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(argBuf))))
}

//go:wasmimport mrun set_error
func setError(msg unsafe.Pointer, n uint32)

// Call runs fn with the arguments in the frame [argsPtr, argsPtr+argsLen) and returns its result
// frame packed as (ptr<<32)|len: a function export is one line that calls it.
//
//	//go:wasmexport mrun_fn_inc
//	func incExport(p, n uint32) uint64 { return mrun.Call(p, n, inc) }
//
// fn is any Go function; see the package documentation for the parameter and result shapes it
// may have. The work of inspecting fn's type is done once per function and cached. The result
// frame stays valid until the next call. Errors (a bad frame, wrong arguments, an error returned
// by fn) are reported to the host with set_error. A panic in fn is not recovered: the instance
// traps and the host discards it.
func Call(argsPtr, argsLen uint32, fn any) uint64 {
	frame, ok := argFrame(argsPtr, argsLen)
	if !ok {
		fail("mrun: the argument frame is not inside the buffer returned by mrun_alloc")
		return 0
	}
	res, err := guest.call(frame, fn)
	if err != nil {
		fail(err.Error())
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(res))))<<32 | uint64(len(res))
}

// argFrame returns the frame as a slice of the argument buffer, which is where the ABI says the
// host writes it; anything else is refused instead of being turned into a wild pointer.
func argFrame(ptr, n uint32) ([]byte, bool) {
	if argBuf == nil {
		return nil, false
	}
	base := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(argBuf))))
	p := uint64(ptr)
	if p < base || p-base+uint64(n) > uint64(len(argBuf)) {
		return nil, false
	}
	return argBuf[p-base : p-base+uint64(n)], true
}

func fail(msg string) {
	setError(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	runtime.KeepAlive(msg)
}
