package main

import "github.com/mrun-dev/mrun/guests/go/mrun"

// One export per function: the name after mrun_fn_ is the name mrun calls it by.

//go:wasmexport mrun_fn_inc
func incExport(p, n uint32) uint64 { return mrun.Call(p, n, inc) }

//go:wasmexport mrun_fn_sum_all
func sumAllExport(p, n uint32) uint64 { return mrun.Call(p, n, sum_all) }

//go:wasmexport mrun_fn_triage
func triageExport(p, n uint32) uint64 { return mrun.Call(p, n, triage) }

//go:wasmexport mrun_fn_fail
func failExport(p, n uint32) uint64 { return mrun.Call(p, n, fail) }

//go:wasmexport mrun_fn_trap
func trapExport(p, n uint32) uint64 { return mrun.Call(p, n, trap) }

//go:wasmexport mrun_fn_identity
func identityExport(p, n uint32) uint64 { return mrun.Call(p, n, identity) }

//go:wasmexport mrun_fn_burn
func burnExport(p, n uint32) uint64 { return mrun.Call(p, n, burn) }

//go:wasmexport mrun_fn_pow
func powExport(p, n uint32) uint64 { return mrun.Call(p, n, pow) }

//go:wasmexport mrun_fn_hello
func helloExport(p, n uint32) uint64 { return mrun.Call(p, n, hello) }

// Nested spawn (nested.go).

//go:wasmexport mrun_fn_driver
func driverExport(p, n uint32) uint64 { return mrun.Call(p, n, driver) }

//go:wasmexport mrun_fn_driver_n
func driverNExport(p, n uint32) uint64 { return mrun.Call(p, n, driver_n) }

//go:wasmexport mrun_fn_fib
func fibExport(p, n uint32) uint64 { return mrun.Call(p, n, fib) }

//go:wasmexport mrun_fn_fanout
func fanoutExport(p, n uint32) uint64 { return mrun.Call(p, n, fanout) }

//go:wasmexport mrun_fn_parent_fail
func parentFailExport(p, n uint32) uint64 { return mrun.Call(p, n, parent_fail) }

//go:wasmexport mrun_fn_catch
func catchExport(p, n uint32) uint64 { return mrun.Call(p, n, catch) }

//go:wasmexport mrun_fn_add
func addExport(p, n uint32) uint64 { return mrun.Call(p, n, add) }

//go:wasmexport mrun_fn_forward
func forwardExport(p, n uint32) uint64 { return mrun.Call(p, n, forward) }

//go:wasmexport mrun_fn_bogus
func bogusExport(p, n uint32) uint64 { return mrun.Call(p, n, bogus) }

//go:wasmexport mrun_fn_bomb
func bombExport(p, n uint32) uint64 { return mrun.Call(p, n, bomb) }

//go:wasmexport mrun_fn_deep
func deepExport(p, n uint32) uint64 { return mrun.Call(p, n, deep) }

//go:wasmexport mrun_fn_again
func againExport(p, n uint32) uint64 { return mrun.Call(p, n, again) }

//go:wasmexport mrun_fn_relay
func relayExport(p, n uint32) uint64 { return mrun.Call(p, n, relay) }

//go:wasmexport mrun_fn_getenv
func getenvExport(p, n uint32) uint64 { return mrun.Call(p, n, getenv) }

//go:wasmexport mrun_fn_readfile
func readfileExport(p, n uint32) uint64 { return mrun.Call(p, n, readfile) }

//go:wasmexport mrun_fn_writefile
func writefileExport(p, n uint32) uint64 { return mrun.Call(p, n, writefile) }

//go:wasmexport mrun_fn_clock
func clockExport(p, n uint32) uint64 { return mrun.Call(p, n, clock) }

// The rest of the conformance contract, guests/CONFORMANCE.md (main.go, nested.go, tensors.go).

//go:wasmexport mrun_fn_concat
func concatExport(p, n uint32) uint64 { return mrun.Call(p, n, concat) }

//go:wasmexport mrun_fn_rev_bytes
func revBytesExport(p, n uint32) uint64 { return mrun.Call(p, n, rev_bytes) }

//go:wasmexport mrun_fn_ints
func intsExport(p, n uint32) uint64 { return mrun.Call(p, n, ints) }

//go:wasmexport mrun_fn_fdiv
func fdivExport(p, n uint32) uint64 { return mrun.Call(p, n, fdiv) }

//go:wasmexport mrun_fn_greet
func greetExport(p, n uint32) uint64 { return mrun.Call(p, n, greet) }

//go:wasmexport mrun_fn_nothing
func nothingExport(p, n uint32) uint64 { return mrun.Call(p, n, nothing) }

//go:wasmexport mrun_fn_empties
func emptiesExport(p, n uint32) uint64 { return mrun.Call(p, n, empties) }

//go:wasmexport mrun_fn_divmod
func divmodExport(p, n uint32) uint64 { return mrun.Call(p, n, divmod) }

//go:wasmexport mrun_fn_nested_split
func nestedSplitExport(p, n uint32) uint64 { return mrun.Call(p, n, nested_split) }

//go:wasmexport mrun_fn_tensor_sum
func tensorSumExport(p, n uint32) uint64 { return mrun.Call(p, n, tensor_sum) }

//go:wasmexport mrun_fn_matmul
func matmulExport(p, n uint32) uint64 { return mrun.Call(p, n, matmul) }

//go:wasmexport mrun_fn_rand_matrix
func randMatrixExport(p, n uint32) uint64 { return mrun.Call(p, n, rand_matrix) }

//go:wasmexport mrun_fn_driver2
func driver2Export(p, n uint32) uint64 { return mrun.Call(p, n, driver2) }

//go:wasmexport mrun_fn_driver2_tensor
func driver2TensorExport(p, n uint32) uint64 { return mrun.Call(p, n, driver2_tensor) }

//go:wasmexport mrun_fn_sample_clocks
func sampleClocksExport(p, n uint32) uint64 { return mrun.Call(p, n, sample_clocks) }
