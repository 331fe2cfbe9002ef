// Package abi is the contract between the mrun host and WebAssembly guests: the names a module
// exports and imports, how argument and result frames are laid out, the MessagePack value model,
// Object references, and how keys are derived. ABI.md in this directory is the normative text;
// this package implements the parts the host needs and is shared by runtime and dag so that
// neither imports the other.
//
// Everything that touches MessagePack bytes lives here: encoding Go values into frames,
// validating and slicing guest output without decoding it, canonicalising arguments for keys,
// and splicing dependency values into argument frames.
package abi

import (
	"encoding/hex"
	"errors"
	"fmt"
)

// Version is the ABI version this host implements. A module declares the version it was built
// for by exporting a function named MarkerPrefix followed by the number.
const Version = 1

// Names of the exports and imports defined by ABI.md.
const (
	// ExportMemory is the linear memory every guest must export.
	ExportMemory = "memory"
	// MarkerPrefix starts the name of the version marker export, e.g. "mrun_abi_v1".
	MarkerPrefix = "mrun_abi_v"
	// ExportAlloc is the guest allocator that hands the host its argument buffer.
	ExportAlloc = "mrun_alloc"
	// ExportInitialize is the optional reactor initialiser, called once per instance.
	ExportInitialize = "_initialize"
	// FuncPrefix starts the export name of every user function.
	FuncPrefix = "mrun_fn_"
	// ImportModule is the module name of the host functions.
	ImportModule = "mrun"
	// ImportSetError is the host function a guest calls to fail the running call.
	ImportSetError = "set_error"
)

// MaxFuncName is the longest function name, in bytes, that ABI.md allows.
const MaxFuncName = 128

// MaxErrorMessage is how many bytes of a guest error message the host keeps.
const MaxErrorMessage = 64 << 10

// ReservedImports are names in ImportModule that ABI.md sets aside for later use.
var ReservedImports = []string{"read", "release"}

// Marker returns the name of the version marker export for the version this host implements.
func Marker() string { return fmt.Sprintf("%s%d", MarkerPrefix, Version) }

// Extension type numbers mrun gives meaning to (ABI.md section 5).
const (
	// ExtRef is the MessagePack extension type of an Object reference; the payload is a Key.
	ExtRef int8 = 1
	// ExtHandle is a guest-side Object handle; the payload is a 4-byte big-endian number.
	ExtHandle int8 = 2
	// ExtByRef is an Object passed by reference: the callee receives a handle, not the value.
	// The payload is a Key on the host side and a 4-byte handle on the guest side.
	ExtByRef int8 = 3
	// ExtReservedMax is the highest extension type reserved by mrun; 1 through it are mrun's.
	ExtReservedMax int8 = 15
)

// KeySize is the length in bytes of a Key.
const KeySize = 16

// Key identifies an Object by its content: the module, the function, the number of outputs and
// the canonical arguments, with dependencies named by their own keys.
type Key [KeySize]byte

// String returns the key as 32 lowercase hex digits.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// IsZero reports whether k is the zero key, which no Object has.
func (k Key) IsZero() bool { return k == Key{} }

// ParseKey parses the 32-hex-digit form produced by Key.String.
func ParseKey(s string) (Key, error) {
	var k Key
	if len(s) != 2*KeySize {
		return k, fmt.Errorf("abi: key %q: want %d hex digits, got %d", s, 2*KeySize, len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, fmt.Errorf("abi: key %q: %w", s, err)
	}
	return k, nil
}

// ErrMalformed is wrapped by every error about bytes that are not a well-formed frame.
var ErrMalformed = errors.New("malformed msgpack")

// FrameError reports where and why a frame is not well formed.
type FrameError struct {
	Offset int    // byte offset of the problem within the frame
	Reason string // what is wrong, in a few words
}

// Error returns "malformed msgpack at byte N: reason".
func (e *FrameError) Error() string {
	return fmt.Sprintf("%s at byte %d: %s", ErrMalformed, e.Offset, e.Reason)
}

// Unwrap lets errors.Is(err, ErrMalformed) match.
func (e *FrameError) Unwrap() error { return ErrMalformed }

func malformed(off int, format string, args ...any) error {
	return &FrameError{Offset: off, Reason: fmt.Sprintf(format, args...)}
}
