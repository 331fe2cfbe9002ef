package main

import "github.com/mrun-dev/mrun/guests/go/mrun"

// A file a wasip1 build leaves out: its export is not described.

//go:wasmexport mrun_fn_linux_only
func linuxExport(p, n uint32) uint64 { return mrun.Call(p, n, inc) }
