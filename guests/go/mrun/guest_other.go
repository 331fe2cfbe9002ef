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
// by fn) are reported to the host with set_error, or with fail_with when the error wraps a
// [*TaskError]. A panic in fn is not recovered: the instance traps and the host discards it.
//
// Call only works in a guest built with GOOS=wasip1 GOARCH=wasm; elsewhere it exists so that
// guest code compiles, is vetted and can be unit-tested on the host, and it panics if called.
// So do Spawn, Execute and Fetch.
func Call(argsPtr, argsLen uint32, fn any) uint64 {
	panic("mrun.Call: only a wasip1/wasm guest can be called by mrun")
}

// hostImports is the host's side of the ABI outside a wasip1 guest: the package's tests set
// it to a fake host. It has the Go signatures of the import wrappers in guest_wasip1.go.
type hostImports interface {
	spawn(module, fn string, frame []byte, nOutput uint32) int32
	execute(handles []uint32) int32
	fetch(h uint32, buf []byte) int64
	lastError(buf []byte) int32
	failWith(h uint32, msg string)
	setError(msg string)
}

var testHost hostImports

func host() hostImports {
	if testHost == nil {
		panic("mrun: nested spawn only works in a wasip1/wasm guest called by mrun")
	}
	return testHost
}

func importSpawn(module, fn string, frame []byte, nOutput uint32) int32 {
	return host().spawn(module, fn, frame, nOutput)
}

func importExecute(handles []uint32) int32   { return host().execute(handles) }
func importFetch(h uint32, buf []byte) int64 { return host().fetch(h, buf) }
func importLastError(buf []byte) int32       { return host().lastError(buf) }
func importFailWith(h uint32, msg string)    { host().failWith(h, msg) }
func importSetError(msg string)              { host().setError(msg) }
