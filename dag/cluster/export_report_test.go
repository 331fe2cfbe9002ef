package cluster

import (
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/vmihailenco/msgpack/v5"
)

// SetNoWorkerWait makes executors created afterwards say that no worker is connected once
// calls have waited d, and returns a function that restores the default.
func SetNoWorkerWait(d time.Duration) (restore func()) {
	prev := noWorkerWait
	noWorkerWait = d
	return func() { noWorkerWait = prev }
}

// DecodeEvent decodes and checks an event message as a coordinator receives it, and returns
// the dag.Event it would pass on, with fn standing for the function it names.
func DecodeEvent(b []byte, fn *runtime.Function) (*dag.Event, error) {
	var d doneMsg
	if err := abi.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	if d.Event == nil {
		return nil, nil
	}
	if err := d.Event.check(); err != nil {
		return nil, err
	}
	em := d.Event
	ev := &dag.Event{Kind: dag.EventKind(em.Kind), Key: abi.Key(em.Key), Parent: abi.Key(em.Parent), Depth: em.Depth, Func: fn}
	if em.Err != nil && fn != nil {
		ev.Err = fromWire(em.Err, fn, em.Stdout, em.Stderr)
	}
	return ev, nil
}

// EncodeEvent encodes an event message as a worker publishes it.
func EncodeEvent(kind dag.EventKind, key, parent abi.Key, depth int, module, fn string, errMsg string) []byte {
	em := &eventMsg{Kind: int(kind), Key: key[:], Parent: parent[:], Depth: depth, Module: module, Func: fn}
	if errMsg != "" {
		em.Err = &wireErr{Kind: kindGuest, Message: errMsg}
	}
	b, _ := msgpack.Marshal(&doneMsg{Event: em})
	return b
}
