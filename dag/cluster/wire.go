package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
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
	// The nesting limits of the graph the call belongs to, as its coordinator applies them:
	// the worker applies these or its own, whichever are stricter. 0: no limit sent.
	MaxDepth int `msgpack:"maxdepth"`
	MaxTasks int `msgpack:"maxtasks"`
	// Coord is the id of the coordinator's heartbeat in CoordinatorBucket; empty when it
	// keeps none.
	Coord string `msgpack:"coord"`
	// Budget names the task budget in BudgetBucket of the tree of nested calls the call
	// belongs to; empty for a host-level call.
	Budget string `msgpack:"budget"`
	// Nonce is the nonce of a call declared impure: its key is abi.ImpureKey of the content
	// key and the nonce. Empty for other calls.
	Nonce []byte `msgpack:"nonce,omitempty"`
	// Events is the subject of the coordinator that asked for the events of the calls the
	// call's guest spawns (Executor.SetEvents), and Root the attempt id of the host-level call
	// the tree of nested calls started from; both empty when nobody asked.
	Events string `msgpack:"events,omitempty"`
	Root   string `msgpack:"root,omitempty"`
}

// maxOutputs bounds a task message's n_output: a call with more outputs than this is not one
// a coordinator sends.
const maxOutputs = 1 << 20

// decodeTask decodes and checks a task message as a worker receives it: anyone who may
// publish to TaskSubject can send one, so its fields are checked before any is used.
func decodeTask(b []byte) (*taskMsg, error) {
	var t taskMsg
	// abi.Unmarshal checks the bytes first: msgpack alone allocates whatever length a string
	// or binary header claims (4 GiB for five bytes) before it finds the bytes missing.
	if err := abi.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	switch {
	case len(t.Key) != abi.KeySize:
		return nil, fmt.Errorf("key of %d bytes, want %d", len(t.Key), abi.KeySize)
	case len(t.Module) != 2*sha256.Size || !isLowerHex(t.Module):
		return nil, fmt.Errorf("module %q is not a SHA-256 in lowercase hex", t.Module)
	case t.Func == "":
		return nil, errors.New("no function")
	case t.NOutput < 1 || t.NOutput > maxOutputs:
		return nil, fmt.Errorf("n_output %d is outside 1 to %d", t.NOutput, maxOutputs)
	case t.Timeout < 0:
		return nil, fmt.Errorf("negative timeout %d", t.Timeout)
	case t.Depth < 0:
		return nil, fmt.Errorf("negative nesting depth %d", t.Depth)
	case t.MaxDepth < 0 || t.MaxTasks < 0:
		return nil, fmt.Errorf("negative limits: max depth %d, max tasks %d", t.MaxDepth, t.MaxTasks)
	case len(t.Nonce) != 0 && len(t.Nonce) != 16:
		return nil, fmt.Errorf("nonce of %d bytes, want 16", len(t.Nonce))
	case t.FrameRef != "" && len(t.Frame) > 0:
		return nil, errors.New("both an inline argument frame and a reference to one")
	}
	return &t, nil
}

func isLowerHex(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// checkKey recomputes the key of t's call from its module hash, function, n_output and
// argument template, as the coordinator derived it: a worker stores the call's outputs under
// that key, so a message whose key names another call (and would plant a value under it) is
// refused before anything runs.
func (t *taskMsg) checkKey(tmpl *abi.Template) error {
	var sum [sha256.Size]byte
	if _, err := hex.Decode(sum[:], []byte(t.Module)); err != nil {
		return fmt.Errorf("module hash %q: %w", t.Module, err)
	}
	k := abi.TaskKey(sum, t.Func, t.NOutput, tmpl)
	if len(t.Nonce) == 16 {
		k = abi.ImpureKey(k, [16]byte(t.Nonce))
	}
	if string(k[:]) != string(t.Key) {
		return fmt.Errorf("the task message's key %x is not the key of its call (%s.%s with %d output(s) and its arguments, key %s): refusing to run it, nothing was stored", t.Key, t.ModName, t.Func, t.NOutput, k)
	}
	return nil
}

// doneMsg reports the end of an attempt to the coordinator that published it.
type doneMsg struct {
	ID     string   `msgpack:"id"`
	Worker string   `msgpack:"worker"`
	Err    *wireErr `msgpack:"err"` // nil: the outputs are in ResultBucket
	Stdout []byte   `msgpack:"stdout"`
	Stderr []byte   `msgpack:"stderr"`
	// Took is how long the attempt took to read its inputs and run its guest, in
	// nanoseconds; 0 when it did not run (its outputs were found stored) or the worker does
	// not say. Coordinators size batches of calls with it.
	Took int64 `msgpack:"took,omitempty"`
	// Event, when set, makes the message an event of a nested call instead of a completion.
	Event *eventMsg `msgpack:"ev,omitempty"`
	// Usage is what the attempt cost, as its worker measured it (dag.Usage; the worker is
	// Worker). Nil from workers that do not say: coordinators then report only the worker and
	// what they measure themselves, and coordinators that do not know the field skip it.
	Usage *usageMsg `msgpack:"usage,omitempty"`
}

// usageMsg is a dag.Usage as it crosses the network: in a completion, what one attempt cost
// on the worker that sends it; in the event of a nested call, the Usage of that event.
type usageMsg struct {
	Wall     int64  `msgpack:"wall,omitempty"`  // nanoseconds; events only
	Guest    int64  `msgpack:"guest,omitempty"` // nanoseconds
	Memory   uint64 `msgpack:"mem,omitempty"`
	Args     int    `msgpack:"args,omitempty"`
	Result   int    `msgpack:"result,omitempty"`
	Spawned  int    `msgpack:"spawned,omitempty"`
	Attempts int    `msgpack:"attempts,omitempty"` // events only
	Worker   string `msgpack:"worker,omitempty"`   // events only
}

// usage is what the attempt d reports cost, for dag.Task.Usage: the worker's measurements,
// and its name.
func (d *doneMsg) usage() dag.Usage {
	u := d.Usage.usage()
	u.Wall, u.Attempts, u.Worker = 0, 0, d.Worker // the coordinator's engine counts those
	return u
}

// toUsageMsg returns u for the wire, nil when it says nothing.
func toUsageMsg(u dag.Usage) *usageMsg {
	if u == (dag.Usage{}) {
		return nil
	}
	return &usageMsg{Wall: int64(u.Wall), Guest: int64(u.Guest), Memory: u.PeakMemory, Args: u.ArgBytes,
		Result: u.ResultBytes, Spawned: u.Spawned, Attempts: u.Attempts, Worker: u.Worker}
}

// usage returns the dag.Usage u carries; anyone who may publish to a coordinator's subject
// can send one, so negative counts and times are read as zero.
func (u *usageMsg) usage() dag.Usage {
	if u == nil {
		return dag.Usage{}
	}
	return dag.Usage{Wall: time.Duration(max(u.Wall, 0)), Guest: time.Duration(max(u.Guest, 0)), PeakMemory: u.Memory,
		ArgBytes: max(u.Args, 0), ResultBytes: max(u.Result, 0), Spawned: max(u.Spawned, 0), Attempts: max(u.Attempts, 0),
		Worker: u.Worker}
}

// eventMsg is a dag.Event of a call a worker's guest spawned, as it crosses the network to
// the coordinator of the host-level call the tree started from.
type eventMsg struct {
	Root    string   `msgpack:"root"`   // the attempt id of the host-level call
	Kind    int      `msgpack:"kind"`   // a dag.EventKind
	Key     []byte   `msgpack:"key"`    // the nested call's key
	Parent  []byte   `msgpack:"parent"` // the key of the call whose guest spawned it
	Depth   int      `msgpack:"depth"`
	Module  string   `msgpack:"module"` // SHA-256 of its module, hex
	Func    string   `msgpack:"fn"`
	Err     *wireErr `msgpack:"err,omitempty"`
	Stdout  []byte   `msgpack:"stdout,omitempty"`
	Stderr  []byte   `msgpack:"stderr,omitempty"`
	Attempt int      `msgpack:"attempt,omitempty"`
	Impure  bool     `msgpack:"impure,omitempty"`
	// Usage is the event's dag.Usage, on EventFinish and EventFail; nil from earlier workers.
	Usage *usageMsg `msgpack:"usage,omitempty"`
}

// maxEventOutput bounds the output an event carries, per stream, so that an event fits a
// message whatever the call wrote (its completion carries all of it).
const maxEventOutput = 64 << 10

// check refuses an event message no worker sends: events come from anyone who may publish
// to the coordinator's subject.
func (e *eventMsg) check() error {
	switch {
	case e.Kind < int(dag.EventStart) || e.Kind > int(dag.EventStored):
		return fmt.Errorf("event kind %d", e.Kind)
	case len(e.Key) != abi.KeySize || len(e.Parent) != abi.KeySize:
		return fmt.Errorf("keys of %d and %d bytes, want %d", len(e.Key), len(e.Parent), abi.KeySize)
	case e.Depth < 1:
		return fmt.Errorf("nesting depth %d of a nested call", e.Depth)
	case len(e.Module) != 2*sha256.Size || !isLowerHex(e.Module):
		return fmt.Errorf("module %q is not a SHA-256 in lowercase hex", e.Module)
	case e.Func == "":
		return errors.New("no function")
	case len(e.Stdout) > maxEventOutput || len(e.Stderr) > maxEventOutput:
		return fmt.Errorf("output of %d and %d bytes, more than %d", len(e.Stdout), len(e.Stderr), maxEventOutput)
	}
	return nil
}

// wireErr is a call's error as it crosses the network: its kind, so that the coordinator can
// rebuild an error that errors.Is matches like the in-process one, and its text.
type wireErr struct {
	Kind    string `msgpack:"kind"`
	Message string `msgpack:"msg"`
	Exited  bool   `msgpack:"exited"`
	Code    uint32 `msgpack:"code"`
	// Of a trap: whether it followed the guest's memory reaching a limit (so that the
	// coordinator's error matches runtime.ErrLimit too), and what the guest reported first.
	MemoryLimit bool   `msgpack:"memlimit,omitempty"`
	GuestMsg    string `msgpack:"guestmsg,omitempty"`
}

// Kinds of wireErr.
const (
	kindGuest       = "guest"
	kindTrap        = "trap"
	kindMalformed   = "malformed"
	kindAlloc       = "alloc" // the guest's allocator failed (runtime.ErrAlloc)
	kindLimit       = "limit"
	kindInterrupted = "interrupted"
	kindWorker      = "worker"         // the worker could not run the call (missing module or input)
	kindModule      = "module"         // the worker refused the module's bytes: a kindWorker after which the coordinator checks its upload again
	kindNoModule    = "module-missing" // the module is not in ModuleStore (pruned): the coordinator uploads it again and retries once
	kindDropped     = "dropped"        // the worker took the coordinator for gone: a coordinator that hears of it is not, and sends the call again
	kindUnbatched   = "unbatched"      // a worker refused the batch the call was in: the coordinator sends it alone (never on the wire: from an advisory)
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
		return &wireErr{Kind: kindTrap, Message: te.Reason, Exited: te.Exited, Code: te.ExitCode,
			MemoryLimit: te.MemoryLimit, GuestMsg: te.Message}
	case errors.Is(inner, runtime.ErrAlloc): // before ErrMalformedResult, which it also matches
		return &wireErr{Kind: kindAlloc, Message: inner.Error()}
	case errors.Is(inner, runtime.ErrMalformedResult):
		return &wireErr{Kind: kindMalformed, Message: inner.Error()}
	case errors.Is(inner, runtime.ErrLimit):
		return &wireErr{Kind: kindLimit, Message: inner.Error()}
	case errors.Is(inner, runtime.ErrInterrupted):
		return &wireErr{Kind: kindInterrupted, Message: inner.Error()}
	case errors.As(inner, new(*moduleMismatch)):
		return &wireErr{Kind: kindModule, Message: inner.Error()}
	case errors.As(inner, new(moduleMissing)):
		return &wireErr{Kind: kindNoModule, Message: inner.Error()}
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
		inner = &runtime.TrapError{Reason: w.Message, Exited: w.Exited, ExitCode: w.Code,
			MemoryLimit: w.MemoryLimit, Message: w.GuestMsg}
	case kindMalformed:
		inner = &remoteError{msg: w.Message, kind: runtime.ErrMalformedResult}
	case kindAlloc:
		inner = &remoteError{msg: w.Message, kind: runtime.ErrAlloc}
	case kindLimit:
		inner = &remoteError{msg: w.Message, kind: runtime.ErrLimit}
	case kindInterrupted:
		inner = &remoteError{msg: w.Message, kind: runtime.ErrInterrupted}
	case kindNoModule: // matches errModuleAgain, so that Run uploads the module again and retries once
		inner = &remoteError{msg: fmt.Sprintf("%v: %s", errWorker, w.Message), kind: errModuleAgain}
	case kindDropped: // matches errDropped, so that Run writes its heartbeat and sends the call again
		inner = &remoteError{msg: fmt.Sprintf("%v: %s", errWorker, w.Message), kind: errDropped}
	case kindUnbatched: // matches errUnbatched, so that Run sends the call again, alone
		inner = &remoteError{msg: fmt.Sprintf("%v: %s", errWorker, w.Message), kind: errUnbatched}
	default: // kindWorker, kindModule
		inner = &remoteError{msg: fmt.Sprintf("%v: %s", errWorker, w.Message), kind: errWorker}
	}
	return &runtime.CallError{Module: fn.Module().Name(), Function: fn.Name(), Err: inner, Stdout: stdout, Stderr: stderr}
}
