package main

import "github.com/mrun-dev/mrun/guests/go/mrun"

//go:wasmexport mrun_fn_inc
func incExport(p, n uint32) uint64 { return mrun.Call(p, n, inc) }

// inc returns x + 1.
func inc(x int) int { return x + 1 }

func main() {}
