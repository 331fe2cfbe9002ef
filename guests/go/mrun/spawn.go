package mrun

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"

	"github.com/vmihailenco/msgpack/v5"
)

// Nested spawn (ABI.md section 2.2): a running function spawns lazy children, executes some of
// them and fetches their values, through the imports mrun.spawn, execute, fetch and last_error.
// Everything here is valid only while Call runs a function: handles belong to the running call.
//
// The imports are reached through importSpawn, importExecute, importFetch, importLastError and
// importFailWith, which guest_wasip1.go implements with //go:wasmimport and guest_other.go with
// a fake for the package's tests. In a module none of whose functions spawns, nothing reaches
// them, so the linker leaves them out and the module imports only set_error; and a call that
// does not spawn pays nothing for nested spawn in any module.

// Extension types of Object references in argument frames (ABI.md section 5.1).
const (
	extHandle int8 = 2 // a handle: in spawn arguments a dependency, in a received frame a by-reference Object
	extByRef  int8 = 3 // a handle passed by reference: the child receives a handle of its own
)

// The guest's codec: it decodes argument frames, encodes results and spawn arguments, and
// decodes fetched values. A wasm instance runs one call at a time, so nothing here is locked.
var guest = newCodec()

// callGen numbers the calls of the instance; Call increments it before running a function. An
// Object remembers the call it was made in, because handles are numbered from 1 in every call:
// an Object kept in a package variable from an earlier call would otherwise silently name
// whatever has the same number in the present one.
var callGen uint32

// Object is a handle to the result of a task: a child spawned by the running function, or an
// Object passed to it by reference. Like an Object of Mars, it is lazy: Spawn only records the
// task, [Object.Execute] or [Tuple.Execute] runs it (with everything it depends on), and
// [Object.Fetch] reads its value.
//
// An Object is valid only during the call that made or received it. As an argument of Spawn,
// at any depth (a slice of Objects, a map value, a struct field), it is a dependency: the child
// runs after it and receives its value in its place. Wrap it in [ByRef] to pass the Object
// itself instead. A function receives an Object passed to it by reference in a parameter of
// type Object (or in an any parameter, as an Object value). An Object cannot be part of a
// result: return its fetched value.
//
// The zero Object names nothing. An Object whose spawn failed carries the error (see [Spawn]).
type Object struct {
	h   uint32 // the handle, ≥ 1
	gen uint32 // callGen of the call that made the Object; 0 for the zero Object
	err error  // why the spawn failed; h is 0 then
}

// Tuple is a list of Objects that execute together, like Mars's ExecutableTuple:
//
//	results, err := mrun.Tuple{a, b, c}.ExecuteFetch()
//
// As a spawn argument it is a list of dependencies. [SpawnN] and [Task.Spawn] return the
// outputs of one task as a Tuple.
type Tuple []Object

// Ref is an Object passed by reference: as a spawn argument (ext type 3) it is a dependency,
// but the child receives the Object itself, as a handle of its own, instead of its value. A
// driver uses it to hand an Object on to its children without fetching it.
type Ref struct{ obj Object }

// ByRef marks o to be passed by reference to a spawned child:
//
//	mrun.Spawn("train", mrun.ByRef(dataset), i) // train(dataset mrun.Object, i int)
func ByRef(o Object) Ref { return Ref{o} }

// Task is a spawn in its complete form: another module, keyword arguments, several outputs,
// an impure call. [Spawn], [SpawnIn] and [SpawnN] are its short forms.
//
// Set Impure for a function whose value may differ between calls with the same arguments
// (it reads the clock or draws random numbers). Tasks are named by their function and
// arguments, so three pure spawns of rand_matrix(10, 10) are one task with one value; three
// impure spawns are three tasks with three values, and none of them is served from or kept in
// a cache (ABI.md section 2.2):
//
//	m := mrun.Task{Func: "rand_matrix", Args: []any{10, 10}, Impure: true}.Spawn()[0]
type Task struct {
	Module  string         // the module's name or SHA-256 in hex; "" is the caller's own module
	Func    string         // the function's name, as in its export mrun_fn_<name>
	Args    []any          // positional arguments; Objects among them are dependencies
	Kwargs  map[string]any // keyword arguments
	NOutput int            // the number of outputs; 0 and 1 both mean one, undivided
	Impure  bool           // each spawn is a task of its own whose value is never shared or cached
}

// Spawn records a call of function fn of the caller's own module with the positional
// arguments args, and returns its Object; nothing runs until it is executed. Objects among the
// arguments, at any depth, are dependencies (see [Object]).
//
// A spawn that fails (an unknown function, an argument that cannot be encoded, a task budget
// exhausted, a cancelled execution) does not return an error: the Object carries it, and
// [Object.Err] reports it. Executing or fetching that Object, or any Tuple holding it, returns
// the error; so does spawning with it as an argument, whose Object then carries the same
// error. A loop that spawns thousands of children therefore needs no error check per spawn
// (as in Mars, where spawn returns an Object and failures surface at execute), and no error
// is lost: it comes out of the Execute or Fetch the function needs to get any value at all.
// Check [Object.Err] to stop spawning at once, as a function should when the budget is spent
// ([ErrLimit]) or the execution is cancelled ([ErrCancelled]).
//
// The driver of the Mars guide, spawning ten incs and returning their values:
//
//	func driver() ([]any, error) {
//		results := make(mrun.Tuple, 10)
//		for i := range results {
//			results[i] = mrun.Spawn("inc", i)
//		}
//		return results.ExecuteFetch() // [1, 2, ..., 10]
//	}
func Spawn(fn string, args ...any) Object {
	return guest.spawn("", fn, args, nil)
}

// SpawnIn is [Spawn] for a function of another module of the same runtime, named by the name
// it was loaded under or by its SHA-256 in 64 lowercase hex digits.
func SpawnIn(module, fn string, args ...any) Object {
	return guest.spawn(module, fn, args, nil)
}

// SpawnN is [Spawn] for a function with n outputs: its result, an array of n values, is split
// into n Objects, like a Mars spawn with n_output=n.
func SpawnN(fn string, n int, args ...any) Tuple {
	return Task{Func: fn, Args: args, NOutput: n}.Spawn()
}

// Spawn records the call t describes and returns its NOutput Objects (one when NOutput is 0).
// Errors are carried by the Objects, as with [Spawn].
func (t Task) Spawn() Tuple {
	n := t.NOutput
	if n == 0 {
		n = 1
	}
	if n < 0 || n > maxOutputs {
		err := fmt.Errorf("%w: spawn %s: NOutput %d is out of range", ErrInvalid, t.Func, t.NOutput)
		return Tuple{{err: err}}
	}
	nOutput := uint32(n)
	if t.Impure {
		nOutput |= spawnImpure
	}
	out := make(Tuple, n)
	first := guest.spawnN(t.Module, t.Func, t.Args, t.Kwargs, nOutput)
	if n == 1 {
		out[0] = first
		return out
	}
	for i := range out {
		out[i] = first
		if first.err == nil {
			out[i].h += uint32(i)
		}
	}
	return out
}

// maxOutputs bounds NOutput, so that a wrong number fails the spawn instead of allocating a
// huge Tuple. Functions with more outputs than this return a list.
const maxOutputs = 1 << 16

// spawnImpure is the flag of spawn's n_output that marks the task impure (ABI.md section 2.2);
// the output count is in the low 24 bits.
const spawnImpure = 1 << 30

// FromHandle returns the Object that the handle h names in the running call. Handles are
// numbered as ABI.md section 2.2 says: first the Objects passed by reference, then the outputs
// of each spawn in order. It is an escape hatch for code that gets handle numbers some other
// way, such as tests of a host; an Object from Spawn or a parameter is the normal way.
func FromHandle(h uint32) Object { return Object{h: h, gen: callGen} }

// Handle returns the handle that o stands for in the running call, or 0 if o names nothing.
func (o Object) Handle() uint32 { return o.h }

// Err returns the error of o's spawn, or nil if the spawn succeeded. It does not say whether
// the task itself will succeed: that is for [Object.Execute] to find out.
func (o Object) Err() error { return o.err }

// Execute runs o's task and everything it depends on, if they have not run yet, and waits
// for it; see [Tuple.Execute].
func (o Object) Execute() error { return guest.execute([]Object{o}) }

// Fetch decodes o's value into the value ptr points to, as a parameter of that type would be
// decoded: an *any receives int64, float64, string, []any, map[string]any and so on. o must
// have been executed, or be an Object received by reference; otherwise Fetch returns an error
// wrapping [ErrNotExecuted]. If o's task failed, the error is a [*TaskError].
func (o Object) Fetch(ptr any) error { return guest.fetch(o, ptr) }

// Execute runs the tasks of t's Objects, with every task they depend on, in parallel where the
// graph allows, and waits until all have finished. Tasks that already ran are not run again.
//
// It returns nil if every Object has a value. If some failed, it returns the [*TaskError] of
// the first of them in t's order, and the values of the others can still be fetched. If an
// Object's spawn had failed, it returns that error without running anything. Other errors
// are of type [*HostError]: [ErrCancelled] when the execution is being cancelled, in which case the
// function should return as soon as it can.
func (t Tuple) Execute() error { return guest.execute(t) }

// Fetch returns the values of t's Objects, decoded as for an any parameter. It stops at the
// first Object that has no value (see [Object.Fetch]).
func (t Tuple) Fetch() ([]any, error) {
	vals := make([]any, len(t))
	for i, o := range t {
		if err := guest.fetch(o, &vals[i]); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

// ExecuteFetch executes t and returns its values: Mars's ExecutableTuple(t).execute().fetch().
func (t Tuple) ExecuteFetch() ([]any, error) {
	if err := t.Execute(); err != nil {
		return nil, err
	}
	return t.Fetch()
}

// check returns why o cannot be used in the running call, or nil.
func (o Object) check() error {
	switch {
	case o.err != nil:
		return o.err
	case o.gen == 0:
		return fmt.Errorf("%w: the zero Object names no task", ErrInvalid)
	case o.gen != callGen:
		return fmt.Errorf("%w: Object %d belongs to an earlier call: handles are valid only in the call that made them", ErrInvalid, o.h)
	}
	return nil
}

// EncodeMsgpack writes o as a handle (ext type 2), so that an Object nested in a spawn
// argument that msgpack encodes (a struct field) is a dependency too. It makes Object a
// msgpack.CustomEncoder; the SDK's own encoder handles Objects without it.
func (o Object) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeObject(enc, o, extHandle) }

// EncodeMsgpack writes r as a by-reference handle (ext type 3).
func (r Ref) EncodeMsgpack(enc *msgpack.Encoder) error { return encodeObject(enc, r.obj, extByRef) }

// DecodeMsgpack reads a handle (ext type 2) into o, so that an Object received by reference
// inside a struct parameter decodes too. It makes *Object a msgpack.CustomDecoder.
func (o *Object) DecodeMsgpack(dec *msgpack.Decoder) error {
	id, n, err := dec.DecodeExtHeader()
	if err != nil {
		return err
	}
	if id != extHandle || n != 4 {
		return fmt.Errorf("cannot decode ext type %d of %d bytes into mrun.Object", id, n)
	}
	var p [4]byte
	if err := dec.ReadFull(p[:]); err != nil {
		return err
	}
	*o = Object{h: be32(p[:]), gen: callGen}
	return nil
}

func be32(p []byte) uint32 {
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8 | uint32(p[3])
}

// errObjectResult is why an Object cannot be encoded outside spawn arguments.
var errObjectResult = errors.New("an mrun.Object cannot be part of a result: fetch it and return its value")

// objectError carries the error of a failed spawn through the encoders, so that spawning with
// that Object as an argument fails with the very same error.
type objectError struct{ err error }

func (e *objectError) Error() string { return e.err.Error() }

// encodeObject writes o as an ext of type ext through msgpack's encoder.
func encodeObject(enc *msgpack.Encoder, o Object, ext int8) error {
	if w, ok := enc.Writer().(*buffer); ok && !w.spawning {
		return errObjectResult
	}
	if err := o.check(); err != nil {
		return &objectError{err}
	}
	if err := enc.EncodeExtHeader(ext, 4); err != nil {
		return err
	}
	_, err := enc.Writer().Write([]byte{byte(o.h >> 24), byte(o.h >> 16), byte(o.h >> 8), byte(o.h)})
	return err
}

// writeObject is encodeObject for the codec's own encoders: a fixext 4.
func (c *codec) writeObject(o Object, ext int8) error {
	if !c.out.spawning {
		return errObjectResult
	}
	if err := o.check(); err != nil {
		return &objectError{err}
	}
	c.out.b = append(c.out.b, 0xd6, byte(ext), byte(o.h>>24), byte(o.h>>16), byte(o.h>>8), byte(o.h))
	return nil
}

// readObject consumes a handle (ext type 2, a fixext 4), as a received frame holds an Object
// passed by reference.
func (c *codec) readObject() (Object, error) {
	b, err := c.peek()
	if err != nil {
		return Object{}, err
	}
	if families[b] != famExt {
		return Object{}, mismatch(b, objectType)
	}
	start := c.off
	id, n, err := c.extHeader()
	if err == nil && (id != extHandle || n != 4) {
		c.off = start
		return Object{}, &decodeError{msg: fmt.Sprintf("cannot decode ext type %d of %d bytes into mrun.Object", id, n)}
	}
	var p []byte
	if err == nil {
		p, err = c.take(4)
	}
	if err != nil {
		return Object{}, err
	}
	return Object{h: be32(p), gen: callGen}, nil
}

func decodeObject(c *codec, v reflect.Value) error {
	o, err := c.readObject()
	if err == nil {
		*(*Object)(v.Addr().UnsafePointer()) = o // the codec decodes into addressable values
	}
	return err
}

var (
	objectType = reflect.TypeFor[Object]()
	refType    = reflect.TypeFor[Ref]()
)

// spawnFrame encodes the argument frame [args, kwargs] of a spawn, with Objects as handles. It
// borrows the result buffer, which is idle while the function runs, and returns a frame valid
// until the next spawn. The error of an Object among the arguments comes back unchanged.
func (c *codec) spawnFrame(fn string, args []any, kw map[string]any) ([]byte, error) {
	saved := c.out.b
	c.out.b, c.out.spawning = c.spawnBuf[:0], true
	err := c.encodeSpawnArgs(args, kw)
	frame := c.out.b
	c.out.b, c.out.spawning = saved, false
	if cap(frame) <= maxKeptResult {
		c.spawnBuf = frame
	} else {
		c.spawnBuf = nil
	}
	if err != nil {
		var oe *objectError
		if errors.As(err, &oe) {
			return nil, oe.err
		}
		return nil, fmt.Errorf("spawn %s: %w", fn, err)
	}
	return frame, nil
}

func (c *codec) encodeSpawnArgs(args []any, kw map[string]any) error {
	c.out.b = append(c.out.b, 0x92)
	c.writeHeader(famArray, len(args))
	for i, a := range args {
		if err := c.encodeAny(a); err != nil {
			return argumentError(fmt.Sprintf("argument %d", i+1), err)
		}
	}
	c.writeHeader(famMap, len(kw))
	keys := make([]string, 0, len(kw))
	for k := range kw {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	for _, k := range keys {
		c.writeString(k)
		if err := c.encodeAny(kw[k]); err != nil {
			return argumentError(fmt.Sprintf("keyword argument %q", k), err)
		}
	}
	return nil
}

// argumentError names the argument that could not be encoded, keeping an Object's error as is.
func argumentError(what string, err error) error {
	var oe *objectError
	if errors.As(err, &oe) {
		return oe
	}
	return fmt.Errorf("%s: %s", what, wireMessage(err))
}

// spawn spawns a one-output task.
func (c *codec) spawn(module, fn string, args []any, kw map[string]any) Object {
	return c.spawnN(module, fn, args, kw, 1)
}

// spawnN spawns a task with n outputs and returns the Object of output 0; the others have the
// next n-1 handles. n is spawn's n_output: the count, with the impure flag if it is set.
func (c *codec) spawnN(module, fn string, args []any, kw map[string]any, n uint32) Object {
	frame, err := c.spawnFrame(fn, args, kw)
	if err != nil {
		return Object{err: err}
	}
	h := importSpawn(module, fn, frame, n)
	if h < 0 {
		return Object{err: c.importError("spawn", 0, int64(h))}
	}
	if h == 0 {
		return Object{err: fmt.Errorf("%w: spawn %s: the host returned handle 0", ErrInvalid, fn)}
	}
	return Object{h: uint32(h), gen: callGen}
}

// execute runs objs; see Tuple.Execute.
func (c *codec) execute(objs []Object) error {
	if len(objs) == 0 {
		return nil
	}
	c.handles = c.handles[:0]
	for _, o := range objs {
		if err := o.check(); err != nil {
			return err
		}
		c.handles = append(c.handles, o.h)
	}
	switch r := importExecute(c.handles); {
	case r == 0:
		return nil
	case r == 1:
		// Some failed: find the first, with a fetch that copies nothing.
		for _, o := range objs {
			if n := importFetch(o.h, nil); n < 0 {
				return c.importError("fetch", o.h, n)
			}
		}
		return fmt.Errorf("mrun: execute reported a failure, but every Object has a value")
	case r < 0:
		return c.importError("execute", 0, int64(r))
	default:
		return fmt.Errorf("mrun: execute returned %d", r)
	}
}

// fetchBufSize is the size of the buffer values are fetched into: big enough that fetching
// is one crossing in the common case. A larger value is fetched again into a buffer of its
// exact size, which is kept for later fetches up to maxKeptResult.
const fetchBufSize = 64 << 10

// fetchValue returns o's value: a view of the fetch buffer, valid until the next fetch, or
// (owned) a buffer of its own when it is too large for the buffer that is kept.
func (c *codec) fetchValue(o Object) (val []byte, owned bool, err error) {
	if err := o.check(); err != nil {
		return nil, false, err
	}
	if c.fetchBuf == nil {
		c.fetchBuf = make([]byte, fetchBufSize)
	}
	buf := c.fetchBuf
	n := importFetch(o.h, buf)
	if n < 0 {
		return nil, false, c.importError("fetch", o.h, n)
	}
	if n > int64(len(buf)) {
		if n > math.MaxUint32 {
			return nil, false, fmt.Errorf("mrun: the value of Object %d is %d bytes, more than a wasm32 memory holds", o.h, n)
		}
		buf = make([]byte, n)
		if n <= maxKeptResult {
			c.fetchBuf = buf
		} else {
			owned = true
		}
		switch m := importFetch(o.h, buf); {
		case m < 0:
			return nil, false, c.importError("fetch", o.h, m)
		case m != n:
			return nil, false, fmt.Errorf("mrun: the value of Object %d changed from %d to %d bytes", o.h, n, m)
		}
	}
	return buf[:n], owned, nil
}

// fetch decodes o's value into *ptr.
func (c *codec) fetch(o Object, ptr any) error {
	val, owned, err := c.fetchValue(o)
	if err != nil {
		return err
	}
	// A tensor may refer to a value in a buffer of its own; one in the reused fetch buffer is
	// copied.
	in, off, src := c.in, c.off, c.src
	c.in, c.off, c.src = val, 0, inputShared
	if owned {
		c.src = inputOwned
	}
	switch p := ptr.(type) {
	case *any: // Tuple.Fetch, and the commonest target
		*p, err = c.decodeAny()
	case *int:
		var n int64
		n, err = c.readInt(intType, math.MinInt, math.MaxInt)
		*p = int(n)
	default:
		rv := reflect.ValueOf(ptr)
		if rv.Kind() != reflect.Pointer || rv.IsNil() {
			c.in, c.off, c.src = in, off, src
			return fmt.Errorf("mrun: Fetch needs a non-nil pointer, got %T", ptr)
		}
		dec := c.decoderFor(rv.Elem().Type())
		if dec == nil {
			c.in, c.off, c.src = in, off, src
			return fmt.Errorf("mrun: Fetch cannot decode into %s", typeString(rv.Elem().Type()))
		}
		err = dec(c, rv.Elem())
	}
	c.in, c.off, c.src = in, off, src
	if err != nil {
		path, msg := splitPath(err)
		return fmt.Errorf("mrun: fetch of Object %d%s: %s", o.h, path, msg)
	}
	return nil
}

// importError turns the negative code of an import into an error, with the host's message
// from last_error. A fetch of a failed Object (−2) is a *TaskError, anything else a *HostError.
func (c *codec) importError(op string, h uint32, code int64) error {
	msg := c.lastError()
	if code == codeFailed && op == "fetch" {
		setFailWith()
		return &TaskError{Handle: h, Message: msg, gen: callGen}
	}
	return &HostError{Op: op, Code: int32(max(code, math.MinInt32)), Message: msg}
}

// lastError returns the message of the last failed import of the running call.
func (c *codec) lastError() string {
	if c.msgBuf == nil {
		c.msgBuf = make([]byte, 512)
	}
	n := importLastError(c.msgBuf)
	if n > int32(len(c.msgBuf)) {
		c.msgBuf = make([]byte, n)
		n = min(importLastError(c.msgBuf), n)
	}
	if n <= 0 {
		return ""
	}
	return string(c.msgBuf[:n])
}
