package mrun

import (
	"errors"
	"fmt"
)

// The negative return codes of spawn, execute and fetch (ABI.md section 2.2).
const (
	codeInvalid     = -1
	codeFailed      = -2
	codeNotExecuted = -3
	codeLimit       = -4
	codeCancelled   = -5
	codeUnsupported = -6
)

// Errors of nested spawn, one per return code of the host's imports; test for them with
// errors.Is. The errors themselves are of types [*HostError] and [*TaskError], which carry the
// host's message.
var (
	// ErrInvalid: a bad handle (of another call, never issued, or the zero Object), an
	// unknown module or function, a malformed argument frame, or a bad number of outputs.
	ErrInvalid = errors.New("mrun: invalid handle or spawn")
	// ErrFailed: the Object's task failed; the error is a *TaskError.
	ErrFailed = errors.New("mrun: the task failed")
	// ErrNotExecuted: the Object has no value yet; execute it first.
	ErrNotExecuted = errors.New("mrun: the Object was not executed")
	// ErrLimit: the nesting depth or the task budget of the execution would be exceeded.
	ErrLimit = errors.New("mrun: the depth or task limit of the execution is reached")
	// ErrCancelled: the execution is being cancelled; return as soon as possible.
	ErrCancelled = errors.New("mrun: the execution is cancelled")
	// ErrUnsupported: the call was not started by an engine (a bare runtime call), so it
	// cannot spawn.
	ErrUnsupported = errors.New("mrun: nested spawn is not available in this call")
)

// HostError is a failure of the host's spawn, execute or fetch that is not a failed task:
// the host's return code and its message (from last_error), verbatim.
type HostError struct {
	Op      string // "spawn", "execute" or "fetch"
	Code    int32  // the negative return code: -1 invalid, -3 not executed, -4 limit, ...
	Message string // the host's explanation, verbatim
}

// Error returns the host's message, or a description of the code if the host gave none.
func (e *HostError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	if s := e.Unwrap(); s != nil {
		return fmt.Sprintf("%s (%s returned %d)", s, e.Op, e.Code)
	}
	return fmt.Sprintf("mrun: %s returned %d", e.Op, e.Code)
}

// Unwrap returns the sentinel error of the code (ErrInvalid, ErrLimit, ...), or nil for a
// code ABI.md does not define.
func (e *HostError) Unwrap() error {
	switch e.Code {
	case codeInvalid:
		return ErrInvalid
	case codeFailed:
		return ErrFailed
	case codeNotExecuted:
		return ErrNotExecuted
	case codeLimit:
		return ErrLimit
	case codeCancelled:
		return ErrCancelled
	case codeUnsupported:
		return ErrUnsupported
	}
	return nil
}

// TaskError is the failure of a child: [Object.Execute], [Tuple.Execute] and [Object.Fetch]
// return it when the task of the Object with handle Handle failed. Message is the host's
// account of the failure (from last_error), verbatim: the child's error, and its own causes.
//
// A function may inspect it and carry on, or give up by returning it, wrapped or not:
//
//	if err := child.Execute(); err != nil {
//		return fmt.Errorf("train: %w", err)
//	}
//
// When the error a function returns wraps a TaskError of the same call (errors.As), the call
// fails through fail_with instead of set_error: its message is still err.Error(), and the host
// also records the child as the cause, so the host's error chain reads parent → child → the
// child's own cause.
type TaskError struct {
	Handle  uint32 // the failed Object's handle in the call that got the error
	Message string // the host's message, verbatim
	gen     uint32 // the call the handle belongs to
}

// Error returns the host's message.
func (e *TaskError) Error() string { return e.Message }

// Unwrap returns ErrFailed.
func (e *TaskError) Unwrap() error { return ErrFailed }

// reportChild is set to importFailWith when the first TaskError is made. Call consults it to
// name a failed child as the cause of its error; until then it is nil, so a module that never
// fetches or executes does not import fail_with at all, and failing calls skip errors.As.
var reportChild func(h uint32, msg string)

func setFailWith() { reportChild = importFailWith }

// report fails the running call with err.Error(), through fail_with if err wraps a TaskError
// of this call, through set_error otherwise.
func report(err error) {
	msg := err.Error()
	if reportChild != nil {
		var te *TaskError
		if errors.As(err, &te) && te.gen == callGen {
			reportChild(te.Handle, msg)
			return
		}
	}
	importSetError(msg)
}
