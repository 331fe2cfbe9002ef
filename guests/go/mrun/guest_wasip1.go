//go:build wasip1

package mrun

import (
	"runtime"
	"unsafe"
)

// The guest's state (the codec, guest, is in spawn.go). A wasm instance runs one call at a
// time, so nothing here is locked.
var argBuf []byte // the argument buffer: owned by the host from mrun_alloc to the next mrun_alloc

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

// The imports of module mrun (ABI.md section 2). Pointers are passed as unsafe.Pointer, which
// the compiler lowers to an i32 offset into linear memory; the Go heap does not move, and each
// wrapper keeps its memory alive across the call.

//go:wasmimport mrun set_error
func hostSetError(msg unsafe.Pointer, n uint32)

//go:wasmimport mrun fail_with
func hostFailWith(h uint32, msg unsafe.Pointer, n uint32)

//go:wasmimport mrun spawn
func hostSpawn(mod unsafe.Pointer, modLen uint32, fn unsafe.Pointer, fnLen uint32, args unsafe.Pointer, argsLen uint32, nOutput uint32) int32

//go:wasmimport mrun execute
func hostExecute(handles unsafe.Pointer, count uint32) int32

//go:wasmimport mrun fetch
func hostFetch(h uint32, buf unsafe.Pointer, cap uint32) int64

//go:wasmimport mrun last_error
func hostLastError(buf unsafe.Pointer, cap uint32) int32

func importSetError(msg string) {
	hostSetError(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	runtime.KeepAlive(msg)
}

func importFailWith(h uint32, msg string) {
	hostFailWith(h, unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
	runtime.KeepAlive(msg)
}

func importSpawn(module, fn string, frame []byte, nOutput uint32) int32 {
	h := hostSpawn(unsafe.Pointer(unsafe.StringData(module)), uint32(len(module)),
		unsafe.Pointer(unsafe.StringData(fn)), uint32(len(fn)),
		unsafe.Pointer(unsafe.SliceData(frame)), uint32(len(frame)), nOutput)
	runtime.KeepAlive(module)
	runtime.KeepAlive(fn)
	runtime.KeepAlive(frame)
	return h
}

// importExecute passes handles as the ABI's little-endian u32 array: wasm memory is
// little-endian, so a []uint32 already is one.
func importExecute(handles []uint32) int32 {
	r := hostExecute(unsafe.Pointer(unsafe.SliceData(handles)), uint32(len(handles)))
	runtime.KeepAlive(handles)
	return r
}

func importFetch(h uint32, buf []byte) int64 {
	n := hostFetch(h, unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
	runtime.KeepAlive(buf)
	return n
}

func importLastError(buf []byte) int32 {
	n := hostLastError(unsafe.Pointer(unsafe.SliceData(buf)), uint32(len(buf)))
	runtime.KeepAlive(buf)
	return n
}

// Call runs fn with the arguments in the frame [argsPtr, argsPtr+argsLen) and returns its result
// frame packed as (ptr<<32)|len: a function export is one line that calls it.
//
//	//go:wasmexport mrun_fn_inc
//	func incExport(p, n uint32) uint64 { return mrun.Call(p, n, inc) }
//
// fn is any Go function; see the package documentation for the parameter and result shapes it
// may have. The work of inspecting fn's type is done once per function and cached. The result
// frame stays valid until the next call. Errors (a bad frame, wrong arguments, an error returned
// by fn) are reported to the host with set_error, or with fail_with when the error wraps a
// [*TaskError]. A panic in fn is not recovered: the instance traps and the host discards it.
func Call(argsPtr, argsLen uint32, fn any) uint64 {
	callGen++ // Objects of earlier calls are stale from here on
	frame, ok := argFrame(argsPtr, argsLen)
	if !ok {
		importSetError("mrun: the argument frame is not inside the buffer returned by mrun_alloc")
		return 0
	}
	res, err := guest.call(frame, fn)
	if err != nil {
		report(err)
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
