package cluster

import (
	"errors"
	"fmt"

	"github.com/mrun-dev/mrun/runtime"
)

// taskMsg is one attempt of a call, as published to TaskSubject (MessagePack).
type taskMsg struct {
	ID       string `msgpack:"id"`      // unique per attempt: completions and cancellations name it
	Key      []byte `msgpack:"key"`     // the call's task key
	Module   string `msgpack:"module"`  // SHA-256 of the module, hex: its name in ModuleStore
	ModName  string `msgpack:"modname"` // the name the coordinator loaded it under, for messages
	Func     string `msgpack:"fn"`
	NOutput  int    `msgpack:"n"`
	Frame    []byte `msgpack:"frame"`    // canonical argument frame; dependencies are ext-1 keys
	FrameRef string `msgpack:"frameref"` // instead of Frame when it is large: its name in FrameStore
	Reply    string `msgpack:"reply"`    // where to publish the doneMsg
	Timeout  int64  `msgpack:"timeout"`  // nanoseconds the attempt may run; 0: no limit
	Depth    int    `msgpack:"depth"`    // nesting depth of the call
}

// doneMsg reports the end of an attempt to the coordinator that published it.
type doneMsg struct {
	ID     string   `msgpack:"id"`
	Worker string   `msgpack:"worker"`
	Err    *wireErr `msgpack:"err"` // nil: the outputs are in ResultBucket
	Stdout []byte   `msgpack:"stdout"`
	Stderr []byte   `msgpack:"stderr"`
}

// wireErr is a call's error as it crosses the network: its kind, so that the coordinator can
// rebuild an error that errors.Is matches like the in-process one, and its text.
type wireErr struct {
	Kind    string `msgpack:"kind"`
	Message string `msgpack:"msg"`
	Exited  bool   `msgpack:"exited"`
	Code    uint32 `msgpack:"code"`
}

// Kinds of wireErr.
const (
	kindGuest       = "guest"
	kindTrap        = "trap"
	kindMalformed   = "malformed"
	kindLimit       = "limit"
	kindInterrupted = "interrupted"
	kindWorker      = "worker" // the worker could not run the call (missing module or input)
	kindModule      = "module" // the worker refused the module's bytes: a kindWorker the coordinator uploads again after
)

// toWire classifies the error of a call run on a worker.
func toWire(err error) *wireErr {
	var ce *runtime.CallError
	inner := err
	if errors.As(err, &ce) {
		inner = ce.Err
	}
	var ge *runtime.GuestError
	var te *runtime.TrapError
	switch {
	case errors.As(inner, &ge):
		return &wireErr{Kind: kindGuest, Message: ge.Message}
	case errors.As(inner, &te):
		return &wireErr{Kind: kindTrap, Message: te.Reason, Exited: te.Exited, Code: te.ExitCode}
	case errors.Is(inner, runtime.ErrMalformedResult):
		return &wireErr{Kind: kindMalformed, Message: inner.Error()}
	case errors.Is(inner, runtime.ErrLimit):
		return &wireErr{Kind: kindLimit, Message: inner.Error()}
	case errors.Is(inner, runtime.ErrInterrupted):
		return &wireErr{Kind: kindInterrupted, Message: inner.Error()}
	case errors.As(inner, new(*moduleMismatch)):
		return &wireErr{Kind: kindModule, Message: inner.Error()}
	}
	return &wireErr{Kind: kindWorker, Message: inner.Error()}
}

// remoteError is the text of an error raised on a worker, for kinds that have no type of
// their own; it matches the sentinel it wraps.
type remoteError struct {
	msg  string
	kind error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.kind }

// errWorker is wrapped by errors of a worker that could not run a call.
var errWorker = errors.New("worker could not run the call")

// fromWire rebuilds the error of an attempt of fn, as a *runtime.CallError like the one the
// in-process executor returns, so that retries and messages behave the same.
func fromWire(w *wireErr, fn *runtime.Function, stdout, stderr []byte) error {
	var inner error
	switch w.Kind {
	case kindGuest:
		inner = &runtime.GuestError{Message: w.Message}
	case kindTrap:
		inner = &runtime.TrapError{Reason: w.Message, Exited: w.Exited, ExitCode: w.Code}
	case kindMalformed:
		inner = &remoteError{msg: w.Message, kind: runtime.ErrMalformedResult}
	case kindLimit:
		inner = &remoteError{msg: w.Message, kind: runtime.ErrLimit}
	case kindInterrupted:
		inner = &remoteError{msg: w.Message, kind: runtime.ErrInterrupted}
	default: // kindWorker, kindModule
		inner = &remoteError{msg: fmt.Sprintf("%v: %s", errWorker, w.Message), kind: errWorker}
	}
	return &runtime.CallError{Module: fn.Module().Name(), Function: fn.Name(), Err: inner, Stdout: stdout, Stderr: stderr}
}
