//go:build !wasip1

package mrun

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
//
// Call only works in a guest built with GOOS=wasip1 GOARCH=wasm; elsewhere it exists so that
// guest code compiles, is vetted and can be unit-tested on the host, and it panics if called.
func Call(argsPtr, argsLen uint32, fn any) uint64 {
	panic("mrun.Call: only a wasip1/wasm guest can be called by mrun")
}
