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
