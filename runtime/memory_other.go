//go:build !linux

package runtime

import "errors"

var errNoReserve = errors.New("address space reservations are implemented on Linux only")

// reserve fails: on this system linear memory is a Go slice that grows by copying.
func reserve(n uint64) ([]byte, error) { return nil, errNoReserve }

func commit(b []byte) error    { return errNoReserve }
func release(res []byte) error { return errNoReserve }
func discard(b []byte) error   { return errNoReserve }

// physicalMemory returns 0: unknown, so the default budget is 4 GiB.
func physicalMemory() int64 { return 0 }
