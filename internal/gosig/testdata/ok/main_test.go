package main

import "github.com/mrun-dev/mrun/guests/go/mrun"

//go:wasmexport mrun_fn_test_only
func testExport(p, n uint32) uint64 { return mrun.Call(p, n, inc) }
