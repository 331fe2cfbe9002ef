package runtime

import (
	"errors"
	"fmt"
	"time"
)

// Errors a module can fail to load with. They are wrapped in a *ModuleError; match them with
// errors.Is.
var (
	// ErrNotWasm means the bytes are not a WebAssembly binary module.
	ErrNotWasm = errors.New("not a WebAssembly module")
	// ErrNotMrun means the module has no ABI version marker export.
	ErrNotMrun = errors.New("not an mrun module")
	// ErrVersion means the module was built for an ABI version this host does not implement.
	ErrVersion = errors.New("unsupported ABI version")
	// ErrNoMemory means the module does not export its linear memory as "memory".
	ErrNoMemory = errors.New("no exported memory")
	// ErrNoAlloc means the module does not export the allocator "mrun_alloc".
	ErrNoAlloc = errors.New("missing allocator")
	// ErrBadExport means an export the ABI gives meaning to has the wrong type or name.
	ErrBadExport = errors.New("invalid export")
	// ErrBadImport means the module imports something the host does not provide.
	ErrBadImport = errors.New("invalid import")
	// ErrMemoryLimit means the module declares more initial memory than Config.MemoryLimitPages.
	ErrMemoryLimit = errors.New("memory limit too low for this module")
	// ErrBadSignature means the module's "mrun.signatures" custom section is malformed, appears
	// twice, or describes a function the module does not export (ABI.md section 10).
	ErrBadSignature = errors.New("invalid signature")
)

// ErrUnknownFunction is returned when a module has no user function of the requested name.
var ErrUnknownFunction = errors.New("unknown function")

// ModuleError reports a module that cannot be loaded or instantiated.
type ModuleError struct {
	Module string // the module's name (file base name, or the name given to Load)
	Err    error  // wraps one of the Err* sentinels or a wazero error
}

// Error returns "module NAME: cause".
func (e *ModuleError) Error() string { return fmt.Sprintf("module %s: %v", e.Module, e.Err) }

// Unwrap returns the cause.
func (e *ModuleError) Unwrap() error { return e.Err }

// Sentinels for how a call failed, wrapped by the error inside a *CallError.
var (
	// ErrTrap means the guest trapped (unreachable, out-of-bounds access, stack overflow,
	// proc_exit, a Go panic, ...). The instance was discarded.
	ErrTrap = errors.New("trap")
	// ErrMalformedResult means the guest returned a result frame that breaks the ABI.
	ErrMalformedResult = errors.New("malformed result")
	// ErrInterrupted means the call's context was cancelled or timed out while the guest ran,
	// or that Runtime.Close stopped the call (the error then wraps ErrClosed too).
	ErrInterrupted = errors.New("interrupted")
	// ErrClosed means the runtime was closed: Runtime.Close had begun before the call or load
	// started, or its context ended while the call still ran and the call was interrupted
	// (then the error wraps ErrInterrupted too). It never wraps ErrTrap: the guest is not at
	// fault.
	ErrClosed = errors.New("runtime is closed")
	// ErrAlloc means the guest's allocator, mrun_alloc, returned 0 or a region that does not
	// lie inside its memory when the host asked it for an argument buffer: the guest is out of
	// memory, or its allocator is broken. The instance was discarded. The error names the
	// size asked for and what mrun_alloc returned. For callers written before ErrAlloc
	// existed, errors.Is also matches it with ErrMalformedResult.
	ErrAlloc error = allocError{}
)

// allocError is the type of ErrAlloc. Hosts before ErrAlloc reported an allocator failure
// as a malformed result, so it matches ErrMalformedResult too.
type allocError struct{}

func (allocError) Error() string        { return "allocator failed" }
func (allocError) Is(target error) bool { return target == ErrMalformedResult }

// CallError reports a call that did not produce a result. Err is a *GuestError, a *TrapError,
// or an error wrapping ErrMalformedResult, ErrAlloc, ErrInterrupted or an instantiation failure.
type CallError struct {
	Module   string // module name
	Function string // function name, without the export prefix
	Err      error
	Stdout   []byte // what the call wrote to stdout before it failed (capped)
	Stderr   []byte // what the call wrote to stderr before it failed (capped)
	// Effects is what the call read of the world before it failed, as in Result.Effects.
	Effects Effects
	// Guest and Memory are what Result.Guest and Result.Memory would have been: how long the
	// guest's code ran before the call failed, and the size of its instance's linear memory
	// then. Both are zero when the guest did not run (no instance could be had, the argument
	// buffer could not be allocated, the call was cancelled before it started).
	Guest  time.Duration
	Memory uint64
}

// Error returns "NAME (module MOD): cause".
func (e *CallError) Error() string {
	return fmt.Sprintf("%s (module %s): %v", e.Function, e.Module, e.Err)
}

// Unwrap returns the cause.
func (e *CallError) Unwrap() error { return e.Err }

// GuestError is an error the guest reported with set_error or fail_with. Message is exactly
// what the guest wrote (invalid UTF-8 replaced, capped at 64 KiB).
type GuestError struct {
	Message string
	// Cause is the error of the failed child task the guest named with fail_with, or nil.
	Cause error
}

// Error returns the guest's message verbatim.
func (e *GuestError) Error() string { return e.Message }

// Unwrap returns Cause, so errors.As finds the child's error through the parent's.
func (e *GuestError) Unwrap() error { return e.Cause }

// TrapError describes a trap. It matches ErrTrap with errors.Is.
type TrapError struct {
	Reason   string // the runtime's description, e.g. "wasm error: unreachable"
	ExitCode uint32 // the code passed to proc_exit, when that is how the guest ended
	Exited   bool   // whether the guest called proc_exit
	// Message is what the guest passed to set_error (or fail_with) before it trapped, if
	// anything: runtimes that abort by trapping (AssemblyScript's abort, a panic handler)
	// often say why first.
	Message string
	// MemoryLimit reports that the guest's memory had reached its limit (runtime.Config or
	// ModuleConfig.MemoryLimitPages, the maximum the module declares, or 4 GiB less a page) or the
	// runtime's memory budget (Config.MemoryBudget) when it trapped: Reason then ends with a
	// note that names the limit and how to raise it, and the error matches ErrLimit too.
	MemoryLimit bool

	note string // the note about the memory limit, also shown when the guest exited
}

// Error returns "trap: reason", followed by the guest's own message when it set one.
func (e *TrapError) Error() string {
	s := "trap: " + e.Reason
	if e.Exited {
		s = fmt.Sprintf("trap: guest exited with code %d", e.ExitCode) + e.note
	}
	if e.Message != "" {
		s += " (the guest reported: " + e.Message + ")"
	}
	return s
}

// Is makes errors.Is(err, ErrTrap) true, and errors.Is(err, ErrLimit) when the trap followed
// the guest's memory reaching its limit.
func (e *TrapError) Is(target error) bool {
	return target == ErrTrap || (target == ErrLimit && e.MemoryLimit)
}

// addLimitNote marks the trap as caused by a memory limit, explained by note.
func (e *TrapError) addLimitNote(note string) {
	e.Reason += note
	e.note = note
	e.MemoryLimit = true
}
