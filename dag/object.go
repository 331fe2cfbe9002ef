package dag

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/runtime"
)

// ref is embedded in Object so that an Object inside arguments encodes as an abi reference.
type ref = abi.Ref

// Object is the lazy result of a spawned call, or one output of a call spawned with several
// outputs. Nothing runs when an Object is created; Engine.Execute runs it. An Object passed as
// an argument to another spawn, directly or nested at any depth in slices, arrays, maps and
// struct fields, makes that call depend on it: the function receives the Object's value.
//
// Objects are immutable and may be shared between goroutines and engines.
type Object struct {
	ref
	t     *task
	index int // output index within t, 0 when t has one output
}

// Key returns the Object's content-derived key (see abi.TaskKey and abi.OutputKey).
// Promoted from the embedded reference; documented here for readers of Object.

// TaskKey returns the key of the call that produces the Object: the Object's own key when the
// call has one output, and the key its output keys derive from otherwise. Events and
// TaskErrors name calls by this key.
func (o *Object) TaskKey() abi.Key { return o.t.key }

// Func returns the function that produces the Object.
func (o *Object) Func() *runtime.Function { return o.t.fn }

// Output returns which output of its call the Object is (0-based), and how many there are.
func (o *Object) Output() (index, of int) { return o.index, o.t.nOutput }

// Err returns the error that made spawning the Object impossible (for example an argument
// that cannot be encoded), or nil. Execute reports the same error.
func (o *Object) Err() error { return o.t.spawnErr() }

// String formats the Object like Mars: Object <op=inc, key=e0b3…>.
func (o *Object) String() string {
	op := "?"
	if o.t.fn != nil {
		op = o.t.fn.Name()
	}
	if o.t.nOutput > 1 {
		return fmt.Sprintf("Object <op=%s, output=%d/%d, key=%s>", op, o.index, o.t.nOutput, o.Key())
	}
	return fmt.Sprintf("Object <op=%s, key=%s>", op, o.Key())
}

// Tuple is a list of Objects executed and fetched together, like Mars's ExecutableTuple.
type Tuple []*Object

// Keys returns the keys of the Objects in order.
func (t Tuple) Keys() []abi.Key {
	keys := make([]abi.Key, len(t))
	for i, o := range t {
		keys[i] = o.Key()
	}
	return keys
}

// task is one spawned call: the unit the engine schedules. A million-task graph holds a
// million of them, so the fields only some calls need are packed or behind pointers.
type task struct {
	fn      *runtime.Function
	key     abi.Key
	nOutput int
	tmpl    *abi.Template
	links   *taskLinks // nil when the call takes no Object: the leaves of a fan-out
	// one holds the Object of a call with one output, the common case, so that a task and its
	// Object are one allocation; rare.more holds all the Objects of a call with several.
	one     [1]*Object
	first   Object
	rare    *taskRare     // nil unless the call has several outputs or failed to spawn
	timeout time.Duration // per attempt; -1: the engine's default
	retries int32         // -1: the engine's default
	// anyByRef says some hole is passed by reference (see Ref).
	anyByRef bool
	// impure says the call was declared impure (Call.Impure): its key mixes in nonce, drawn
	// at spawn, and its values stay with the execution that computed them.
	impure bool
	nonce  *[16]byte
}

// taskLinks holds the Objects a task's arguments name.
type taskLinks struct {
	holes []*Object // aligned with tmpl.Holes(): the Object each reference names
	deps  []*task   // distinct producer tasks of holes
}

// holes returns the Object each reference of t's template names, in order.
func (t *task) holes() []*Object {
	if t.links == nil {
		return nil
	}
	return t.links.holes
}

// deps returns the distinct tasks t's references name.
func (t *task) deps() []*task {
	if t.links == nil {
		return nil
	}
	return t.links.deps
}

// taskRare holds what few tasks need.
type taskRare struct {
	more []*Object // the Objects of a call with several outputs
	err  error     // spawn-time failure
}

// spawnErr returns the error that made spawning t impossible, or nil.
func (t *task) spawnErr() error {
	if t.rare == nil {
		return nil
	}
	return t.rare.err
}

// Call is the full form of a spawn: a function, positional and keyword arguments, and the
// number of outputs. Spawn and SpawnN cover the common cases.
type Call struct {
	Func    *runtime.Function
	Args    []any
	Kwargs  map[string]any
	NOutput int // 0 or 1: the call has one output; k ≥ 2: the result is split into k Objects
	// Timeout limits the wall-clock time of each attempt; zero means the engine's
	// Config.Timeout. The guest is interrupted when it passes.
	Timeout time.Duration
	// Retries is how many times to run the call again if it fails; zero means the engine's
	// Config.Retries, a negative number means never.
	Retries int
	// Impure declares that the function's result may differ between calls with the same
	// arguments (it samples randomness, reads the clock or files). Each spawn of an impure
	// call is a task of its own, with a key of its own, and its values, and those of every
	// call that uses them, are never shared with other executions or cached. Calls that read
	// the wall clock, randomness or a mounted file during the call are treated so anyway once
	// they ran, but identical spawns of them in one graph are one task: declare them impure.
	Impure bool
}

// Kwargs are keyword arguments: passed last to Spawn or SpawnN, they become the call's
// keyword arguments, as in Spawn(fn, x, dag.Kwargs{"scale": 2}).
type Kwargs map[string]any

// Spawn returns a lazy Object for fn(args...). Nothing runs until the Object is executed.
func Spawn(fn *runtime.Function, args ...any) *Object {
	return Call{Func: fn, Args: args}.Spawn()[0]
}

// SpawnN is Spawn with n outputs: fn must return an array of n values, and output i becomes
// the i-th Object of the returned Tuple.
func SpawnN(fn *runtime.Function, n int, args ...any) Tuple {
	return Call{Func: fn, Args: args, NOutput: n}.Spawn()
}

// ErrSpawn is wrapped by errors about calls that could not be spawned.
var ErrSpawn = errors.New("cannot spawn")

// Spawn returns the call's outputs: one Object, or NOutput Objects. Problems with the call
// (no function, an argument that cannot be encoded, a nil Object argument, a negative
// NOutput) do not panic: the Objects carry the error, and executing them returns it.
func (c Call) Spawn() Tuple {
	t := &task{fn: c.Func, nOutput: max(c.NOutput, 1), timeout: c.Timeout, retries: int32(min(c.Retries, math.MaxInt32)), impure: c.Impure}
	switch {
	case c.Timeout == 0:
		t.timeout = -1 // the engine's default
	case c.Timeout < 0:
		t.timeout = 0
	}
	switch {
	case c.Retries == 0:
		t.retries = -1 // the engine's default
	case c.Retries < 0:
		t.retries = 0
	}
	if err := t.init(c); err != nil {
		name := "<nil>"
		if c.Func != nil {
			name = c.Func.Name()
		}
		t.rare = &taskRare{err: fmt.Errorf("%w %s: %w", ErrSpawn, name, err)}
	}
	t.makeOutputs()
	return t.outputs()
}

// outputs returns the call's Objects, output 0 first.
func (t *task) outputs() []*Object {
	if t.rare != nil && t.rare.more != nil {
		return t.rare.more
	}
	return t.one[:]
}

func (t *task) makeOutputs() {
	outs := t.one[:]
	if t.nOutput > 1 {
		outs = make([]*Object, t.nOutput)
		if t.rare == nil {
			t.rare = &taskRare{}
		}
		t.rare.more = outs
	}
	for i := range outs {
		o := &t.first
		if i > 0 {
			o = &Object{}
		}
		*o = Object{t: t, index: i}
		switch {
		case t.spawnErr() != nil: // no key: executing the Object reports the error before anything runs
		case t.nOutput == 1:
			o.ref = abi.NewRef(t.key)
		default:
			o.ref = abi.NewRef(abi.OutputKey(t.key, i))
		}
		outs[i] = o
	}
}

func (t *task) init(c Call) error {
	if c.Func == nil {
		return errors.New("no function")
	}
	if c.NOutput < 0 {
		return fmt.Errorf("n_output must be at least 1, got %d", c.NOutput)
	}
	if n := len(c.Args); n > 0 {
		if kw, ok := c.Args[n-1].(Kwargs); ok {
			c.Args = c.Args[:n-1]
			merged := make(map[string]any, len(c.Kwargs)+len(kw))
			for k, v := range kw {
				if _, dup := c.Kwargs[k]; dup {
					return fmt.Errorf("keyword argument %q is given both in Kwargs and in Call.Kwargs", k)
				}
				merged[k] = v
			}
			for k, v := range c.Kwargs {
				merged[k] = v
			}
			c.Kwargs = merged
		}
	}
	for i, a := range c.Args {
		if _, ok := a.(Kwargs); ok {
			return fmt.Errorf("argument %d: dag.Kwargs must be the last argument", i)
		}
	}
	var objs []*Object
	for i, a := range c.Args {
		if err := collect(reflect.ValueOf(a), &objs, 0); err != nil {
			return fmt.Errorf("argument %d: %w", i, err)
		}
	}
	for k, a := range c.Kwargs {
		if err := collect(reflect.ValueOf(a), &objs, 0); err != nil {
			return fmt.Errorf("keyword argument %q: %w", k, err)
		}
	}
	var byKey map[abi.Key]*Object
	if len(objs) > 0 {
		byKey = make(map[abi.Key]*Object, len(objs))
	}
	for _, o := range objs {
		if o.t.spawnErr() != nil {
			return fmt.Errorf("argument depends on an Object that could not be spawned: %w", o.t.spawnErr())
		}
		byKey[o.Key()] = o
	}
	if s := c.Func.Signature(); s != nil {
		// Checked here, so that Execute reports a mismatch before any task runs; a function
		// without a signature checks its arguments when it runs.
		if err := s.CheckCall(c.Args, c.Kwargs, max(c.NOutput, 1)); err != nil {
			return err
		}
	}
	tmpl, err := abi.EncodeTemplate(c.Args, c.Kwargs)
	if err != nil {
		return err
	}
	return t.link(tmpl, byKey)
}

// link attaches the template to t: it finds the Object of every reference, the distinct
// producer tasks t depends on, and derives t's key.
func (t *task) link(tmpl *abi.Template, byKey map[abi.Key]*Object) error {
	t.tmpl = tmpl
	holes := tmpl.Holes()
	if len(holes) > 0 {
		l := &taskLinks{holes: make([]*Object, 0, len(holes)), deps: make([]*task, 0, len(byKey))}
		seen := make(map[*task]bool, len(byKey))
		for _, h := range holes {
			o, ok := byKey[h.Key]
			if !ok {
				return fmt.Errorf("argument holds a reference to object %s that is not an Object argument", h.Key)
			}
			l.holes = append(l.holes, o)
			t.anyByRef = t.anyByRef || h.ByRef
			if !seen[o.t] {
				seen[o.t] = true
				l.deps = append(l.deps, o.t)
			}
		}
		t.links = l
	}
	t.key = abi.TaskKey(t.fn.Module().Identity(), t.fn.Name(), t.nOutput, tmpl)
	if t.impure {
		t.nonce = new([16]byte)
		if _, err := rand.Read(t.nonce[:]); err != nil {
			return fmt.Errorf("draw the nonce of an impure call: %w", err)
		}
		t.key = abi.ImpureKey(t.key, *t.nonce)
	}
	return nil
}

// SigType returns the type of o's value as the signature of its function declares it (ABI.md
// section 10), or nil when the function does not describe its result: it is how a task that
// takes o as an argument is checked against its own function's signature at spawn.
func (o *Object) SigType() *sig.Type {
	if o.t.fn == nil {
		return nil
	}
	s := o.t.fn.Signature()
	switch {
	case s == nil:
		return nil
	case o.t.nOutput == 1:
		return s.Result
	case o.index < len(s.Outputs):
		return &s.Outputs[o.index]
	case len(s.Outputs) == 0 && s.Result != nil && s.Result.Name == sig.List:
		return s.Result.Elem // a list split into n_output outputs: each is an element
	}
	return nil
}

// Ref passes o by reference: the function receives a handle to o (ABI.md section 2.2) that
// it can fetch, or forward to tasks it spawns, instead of o's value. o still runs first.
func Ref(o *Object) any {
	if o == nil {
		return objectByRef{}
	}
	return objectByRef{byRef: abi.NewByRef(o.Key()), o: o}
}

// objectByRef is what Ref returns; the embedded abi.ByRef encodes it as ext type 3.
type objectByRef struct {
	byRef
	o *Object
}

type byRef = abi.ByRef

var byRefType = reflect.TypeFor[objectByRef]()

var objectType = reflect.TypeFor[*Object]()

// holdsObjects caches, per type, whether a value of that type can contain an *Object, so that
// large plain data (a []float64 tensor, say) is not walked.
var holdsObjects sync.Map // reflect.Type -> bool

func mayHold(t reflect.Type) bool {
	if v, ok := holdsObjects.Load(t); ok {
		return v.(bool)
	}
	holdsObjects.Store(t, true) // provisional: breaks recursion on self-referential types
	var r bool
	switch t.Kind() {
	case reflect.Interface:
		r = true
	case reflect.Pointer:
		r = t == objectType || mayHold(t.Elem())
	case reflect.Struct:
		if t == byRefType {
			r = true
			break
		}
		for i := 0; i < t.NumField(); i++ {
			if f := t.Field(i); f.IsExported() && mayHold(f.Type) {
				r = true
				break
			}
		}
	case reflect.Slice, reflect.Array:
		r = mayHold(t.Elem())
	case reflect.Map:
		r = mayHold(t.Key()) || mayHold(t.Elem())
	}
	holdsObjects.Store(t, r)
	return r
}

// collect appends every *Object reachable from v to objs.
func collect(v reflect.Value, objs *[]*Object, depth int) error {
	if !v.IsValid() || !mayHold(v.Type()) {
		return nil
	}
	if depth > abi.MaxDepth {
		return fmt.Errorf("arguments nest deeper than %d (is there a cycle?)", abi.MaxDepth)
	}
	switch v.Kind() {
	case reflect.Interface:
		return collect(v.Elem(), objs, depth+1)
	case reflect.Pointer:
		if v.Type() == objectType {
			if v.IsNil() {
				return errors.New("nil *Object")
			}
			*objs = append(*objs, v.Interface().(*Object))
			return nil
		}
		if v.IsNil() {
			return nil
		}
		return collect(v.Elem(), objs, depth+1)
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if err := collect(v.Index(i), objs, depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if err := collect(it.Key(), objs, depth+1); err != nil {
				return err
			}
			if err := collect(it.Value(), objs, depth+1); err != nil {
				return err
			}
		}
	case reflect.Struct:
		if v.Type() == byRefType {
			o := v.Interface().(objectByRef).o
			if o == nil {
				return errors.New("Ref of a nil *Object")
			}
			*objs = append(*objs, o)
			return nil
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				if err := collect(v.Field(i), objs, depth+1); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
