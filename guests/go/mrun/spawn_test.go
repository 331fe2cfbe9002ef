//go:build !wasip1

package mrun

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// The tests of nested spawn replace the host's imports with testHost, which exists only
// outside a wasip1 guest.

// fakeHost implements the nested-spawn imports the way ABI.md section 2.2 describes them, for
// one call: a handle table, children that run Go functions on execute, and last_error.
type fakeHost struct {
	t       *testing.T
	fns     map[string]func(args []any) (any, error)
	tasks   []*fakeTask // handle h is tasks[h-1]
	lastErr string

	spawnCode   int32 // if non-zero, spawn fails with it
	executeCode int32 // if non-zero, execute returns it

	spawns, executes, fetches int
	nOutputs                  []uint32 // n_output of every spawn, flags included
	setErrorMsg               string
	failWithHandle            uint32
	failWithMsg               string
}

type fakeTask struct {
	fn    string
	frame []byte
	out   int // output index of a split task
	nOut  uint32
	first uint32 // handle of output 0
	done  bool
	value []byte
	err   string
}

// newFakeHost installs a fake host and a fresh guest codec for one test, and starts a call.
func newFakeHost(t *testing.T) *fakeHost {
	h := &fakeHost{t: t, fns: map[string]func([]any) (any, error){
		"inc": func(a []any) (any, error) { return toInt(a[0]) + 1, nil },
		"sum_all": func(a []any) (any, error) {
			var n int64
			for _, x := range a[0].([]any) {
				n += toInt(x)
			}
			return n, nil
		},
		"fail": func(a []any) (any, error) { return nil, errors.New(a[0].(string)) },
		"big":  func(a []any) (any, error) { return strings.Repeat("x", int(toInt(a[0]))), nil },
		"split": func(a []any) (any, error) {
			return []any{"a", "b", "c"}, nil
		},
	}}
	savedHost, savedGuest, savedGen, savedReport := testHost, guest, callGen, reportChild
	testHost, guest = h, newCodec()
	callGen++
	t.Cleanup(func() { testHost, guest, callGen, reportChild = savedHost, savedGuest, savedGen, savedReport })
	return h
}

// toInt is an integer the fake host decoded loosely: int64, or uint64 from an unsigned format.
func toInt(x any) int64 {
	if u, ok := x.(uint64); ok {
		return int64(u)
	}
	return x.(int64)
}

func (h *fakeHost) fail(code int32, format string, a ...any) int32 {
	h.lastErr = fmt.Sprintf(format, a...)
	return code
}

func (h *fakeHost) spawn(module, fn string, frame []byte, nOutput uint32) int32 {
	h.spawns++
	h.nOutputs = append(h.nOutputs, nOutput)
	nOutput &= 1<<24 - 1 // the count; the flags above it do not change what the fake runs
	if h.spawnCode != 0 {
		return h.fail(h.spawnCode, "spawn %s: refused with %d", fn, h.spawnCode)
	}
	if _, ok := h.fns[fn]; !ok || module != "" {
		return h.fail(codeInvalid, "spawn: module %q has no function %q", module, fn)
	}
	first := uint32(len(h.tasks) + 1)
	for i := range nOutput {
		h.tasks = append(h.tasks, &fakeTask{fn: fn, frame: bytes.Clone(frame), out: int(i), nOut: nOutput, first: first})
	}
	return int32(first)
}

func (h *fakeHost) task(handle uint32) *fakeTask {
	if handle == 0 || int(handle) > len(h.tasks) {
		return nil
	}
	return h.tasks[handle-1]
}

func (h *fakeHost) execute(handles []uint32) int32 {
	h.executes++
	if h.executeCode != 0 {
		return h.fail(h.executeCode, "execute: refused with %d", h.executeCode)
	}
	var r int32
	for _, hd := range handles {
		tk := h.task(hd)
		if tk == nil {
			return h.fail(codeInvalid, "execute: handle %d names nothing", hd)
		}
		h.run(tk)
		if tk.err != "" {
			r = 1
		}
	}
	return r
}

// run runs tk's task (all its outputs) after its dependencies, with their values spliced in.
func (h *fakeHost) run(tk *fakeTask) {
	if tk.done {
		return
	}
	c := newCodec()
	c.in = tk.frame
	var frame []byte
	if err := h.resolve(c, &frame); err != nil {
		tk.done, tk.err = true, err.Error()
		return
	}
	var args []any
	dec := msgpack.NewDecoder(bytes.NewReader(frame))
	dec.UseLooseInterfaceDecoding(true)
	var pair []any
	if err := dec.Decode(&pair); err != nil {
		h.t.Fatalf("fake host: frame %x: %v", frame, err)
	}
	args, _ = pair[0].([]any)
	v, err := h.fns[tk.fn](args)
	for i := range tk.nOut {
		out := h.tasks[tk.first-1+i]
		out.done = true
		switch {
		case err != nil:
			out.err = err.Error()
		case tk.nOut > 1:
			out.value = encode(h.t, v.([]any)[i])
		default:
			out.value = encode(h.t, v)
		}
	}
}

// resolve copies the value at c into out with every handle (ext 2) replaced by its Object's
// value, running dependencies first.
func (h *fakeHost) resolve(c *codec, out *[]byte) error {
	b := c.in[c.off]
	switch families[b] {
	case famExt:
		if b == 0xd6 && c.in[c.off+1] == byte(extHandle) {
			hd := be32(c.in[c.off+2:])
			c.off += 6
			dep := h.task(hd)
			if dep == nil {
				return fmt.Errorf("handle %d names nothing", hd)
			}
			h.run(dep)
			if dep.err != "" {
				return fmt.Errorf("dependency failed: %s", dep.err)
			}
			*out = append(*out, dep.value...)
			return nil
		}
	case famArray, famMap:
		start := c.off
		n, err := c.containerLen()
		if err != nil {
			return err
		}
		*out = append(*out, c.in[start:c.off]...)
		if families[b] == famMap {
			n *= 2
		}
		for range n {
			if err := h.resolve(c, out); err != nil {
				return err
			}
		}
		return nil
	}
	start := c.off
	if err := c.skip(); err != nil {
		return err
	}
	*out = append(*out, c.in[start:c.off]...)
	return nil
}

func (h *fakeHost) fetch(hd uint32, buf []byte) int64 {
	h.fetches++
	tk := h.task(hd)
	switch {
	case tk == nil:
		return int64(h.fail(codeInvalid, "fetch: handle %d was never issued in this call", hd))
	case !tk.done:
		return int64(h.fail(codeNotExecuted, "fetch: handle %d has no value yet: execute it first", hd))
	case tk.err != "":
		return int64(h.fail(codeFailed, "task %s failed: %s", tk.fn, tk.err))
	}
	if len(tk.value) <= len(buf) {
		copy(buf, tk.value)
	}
	return int64(len(tk.value))
}

func (h *fakeHost) lastError(buf []byte) int32 {
	if len(h.lastErr) <= len(buf) {
		copy(buf, h.lastErr)
	}
	return int32(len(h.lastErr))
}

func (h *fakeHost) failWith(hd uint32, msg string) { h.failWithHandle, h.failWithMsg = hd, msg }
func (h *fakeHost) setError(msg string)            { h.setErrorMsg = msg }

// spawnFrame is the frame of the last spawn, in hex.
func (h *fakeHost) lastFrame() string {
	if len(h.tasks) == 0 {
		return ""
	}
	return hex.EncodeToString(h.tasks[len(h.tasks)-1].frame)
}

type withObject struct {
	Name string
	Dep  Object
}

func TestSpawn_frame(t *testing.T) {
	h := newFakeHost(t)
	a, b := Spawn("inc", 1), Spawn("inc", 2)
	big := FromHandle(0x01020304)
	tests := []struct {
		name string
		args []any
		kw   map[string]any
		want string // hex of the argument frame
	}{
		{"ABI example inc(0)", []any{0}, nil, "92910080"},
		{"no arguments", nil, nil, "929080"},
		{"handle", []any{a}, nil, "9291" + "d60200000001" + "80"},
		{"handle is big-endian", []any{big}, nil, "9291" + "d60201020304" + "80"},
		{"by reference", []any{ByRef(b), 3}, nil, "9292" + "d60300000002" + "03" + "80"},
		{"tuple is a list of handles", []any{Tuple{a, b}}, nil, "9291" + "92d60200000001d60200000002" + "80"},
		{"[]any of handles", []any{[]any{a, "x"}}, nil, "9291" + "92d60200000001a178" + "80"},
		{"[]Object (reflective)", []any{[]Object{b}}, nil, "9291" + "91d60200000002" + "80"},
		{"map value", []any{map[string]any{"k": a}}, nil, "9291" + "81a16bd60200000001" + "80"},
		{"struct field (msgpack)", []any{withObject{"n", a}}, nil, "9291" + "82a44e616d65a16ea3446570d60200000001" + "80"},
		{"pointer to Object", []any{&b}, nil, "9291" + "d60200000002" + "80"},
		{"kwargs sorted like the host", []any{1}, map[string]any{"bb": 1, "a": a, "c": 2}, "929101" + "83a161d60200000001a16302a2626201"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Task{Func: "inc", Args: tt.args, Kwargs: tt.kw}.Spawn()[0]
			if err := o.Err(); err != nil {
				t.Fatal(err)
			}
			if got := h.lastFrame(); got != tt.want {
				t.Errorf("frame %s, want %s", got, tt.want)
			}
		})
	}
}

func TestTask_Spawn_impure(t *testing.T) {
	h := newFakeHost(t)
	tests := []struct {
		name string
		task Task
		want uint32 // spawn's n_output
	}{
		{"pure", Task{Func: "inc", Args: []any{1}}, 1},
		{"impure", Task{Func: "inc", Args: []any{1}, Impure: true}, 1<<30 | 1},
		{"impure, NOutput 1", Task{Func: "inc", Args: []any{1}, NOutput: 1, Impure: true}, 1<<30 | 1},
		{"pure split", Task{Func: "split", NOutput: 3}, 3},
		{"impure split", Task{Func: "split", NOutput: 3, Impure: true}, 1<<30 | 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spawns := len(h.nOutputs)
			outs := tt.task.Spawn()
			if err := outs[0].Err(); err != nil {
				t.Fatal(err)
			}
			if len(h.nOutputs) != spawns+1 {
				t.Fatalf("%d spawns reached the host, want 1", len(h.nOutputs)-spawns)
			}
			if got := h.nOutputs[spawns]; got != tt.want {
				t.Errorf("n_output %#x, want %#x", got, tt.want)
			}
			n := max(tt.task.NOutput, 1)
			if len(outs) != n {
				t.Fatalf("%d Objects, want %d", len(outs), n)
			}
			for i, o := range outs {
				if o.Handle() != outs[0].Handle()+uint32(i) {
					t.Errorf("output %d has handle %d after output 0's %d", i, o.Handle(), outs[0].Handle())
				}
			}
		})
	}
	// The short forms stay pure.
	Spawn("inc", 1)
	SpawnIn("", "inc", 1)
	SpawnN("split", 3)
	if got := h.nOutputs[len(h.nOutputs)-3:]; !reflect.DeepEqual(got, []uint32{1, 1, 3}) {
		t.Errorf("n_output of Spawn, SpawnIn and SpawnN: %v, want [1 1 3]", got)
	}
	// An impure split's outputs hold the values of its outputs.
	got, err := Task{Func: "split", NOutput: 3, Impure: true}.Spawn().ExecuteFetch()
	if err != nil || !reflect.DeepEqual(got, []any{"a", "b", "c"}) {
		t.Errorf("impure split = %v, %v; want [a b c]", got, err)
	}
}

func TestSpawn_errors(t *testing.T) {
	t.Run("host refuses", func(t *testing.T) {
		h := newFakeHost(t)
		h.spawnCode = codeLimit
		o := Spawn("inc", 1)
		var he *HostError
		if !errors.As(o.Err(), &he) || he.Op != "spawn" || he.Code != codeLimit || he.Message != "spawn inc: refused with -4" {
			t.Fatalf("Err() = %#v", o.Err())
		}
		if !errors.Is(o.Err(), ErrLimit) || o.Handle() != 0 {
			t.Errorf("Err() = %v, handle %d", o.Err(), o.Handle())
		}
		// The error travels: into a dependent spawn, and out of Execute and Fetch, without
		// crossing to the host again.
		h.spawnCode = 0
		spawns := h.spawns
		dep := Spawn("sum_all", []any{o})
		if dep.Err() != o.Err() {
			t.Errorf("dependent spawn: %v", dep.Err())
		}
		if err := (Tuple{Spawn("inc", 1), o}).Execute(); err != o.Err() {
			t.Errorf("Execute: %v", err)
		}
		var v any
		if err := dep.Fetch(&v); err != o.Err() {
			t.Errorf("Fetch: %v", err)
		}
		if h.spawns != spawns+1 || h.executes != 0 || h.fetches != 0 {
			t.Errorf("%d spawns, %d executes, %d fetches after the failed spawn", h.spawns-spawns, h.executes, h.fetches)
		}
	})
	t.Run("unknown function", func(t *testing.T) {
		newFakeHost(t)
		err := Spawn("nope").Err()
		if !errors.Is(err, ErrInvalid) || err.Error() != `spawn: module "" has no function "nope"` {
			t.Errorf("Err() = %v", err)
		}
	})
	t.Run("unencodable argument", func(t *testing.T) {
		h := newFakeHost(t)
		for _, tt := range []struct {
			task Task
			want string
		}{
			{Task{Func: "inc", Args: []any{1, make(chan int)}}, "spawn inc: argument 2: cannot encode chan int"},
			{Task{Func: "inc", Kwargs: map[string]any{"f": func() {}}}, `spawn inc: keyword argument "f": cannot encode func()`},
			{Task{Func: "inc", NOutput: -1}, "mrun: invalid handle or spawn: spawn inc: NOutput -1 is out of range"},
			{Task{Func: "inc", Args: []any{Object{}}}, "mrun: invalid handle or spawn: the zero Object names no task"},
		} {
			if err := tt.task.Spawn()[0].Err(); err == nil || err.Error() != tt.want {
				t.Errorf("%+v: %v, want %s", tt.task, err, tt.want)
			}
		}
		if h.spawns != 0 {
			t.Errorf("%d spawns reached the host", h.spawns)
		}
	})
	t.Run("stale Object", func(t *testing.T) {
		newFakeHost(t)
		o := Spawn("inc", 1)
		callGen++ // the next call
		want := "mrun: invalid handle or spawn: Object 1 belongs to an earlier call: handles are valid only in the call that made them"
		if err := o.Execute(); !errors.Is(err, ErrInvalid) || err.Error() != want {
			t.Errorf("Execute: %v", err)
		}
		if err := Spawn("inc", o).Err(); err == nil || err.Error() != want {
			t.Errorf("Spawn: %v", err)
		}
	})
}

func TestTuple_ExecuteFetch(t *testing.T) {
	h := newFakeHost(t)
	results := make(Tuple, 10)
	for i := range results {
		results[i] = Spawn("inc", i)
	}
	got, err := results.ExecuteFetch()
	want := []any{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), int64(9), int64(10)}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ExecuteFetch = %v, %v", got, err)
	}
	if h.executes != 1 || h.fetches != 10 {
		t.Errorf("%d executes and %d fetches, want 1 and 10", h.executes, h.fetches)
	}

	// fanout: one spawn over the list of Objects, executing only the sum.
	total := Spawn("sum_all", results)
	if err := total.Execute(); err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := total.Fetch(&sum); err != nil || sum != 55 {
		t.Errorf("sum = %d, %v", sum, err)
	}
	var s string
	if err := total.Fetch(&s); err == nil || err.Error() != "mrun: fetch of Object 11: cannot decode integer into string" {
		t.Errorf("Fetch into a string: %v", err)
	}
	if err := total.Fetch(s); err == nil || err.Error() != "mrun: Fetch needs a non-nil pointer, got string" {
		t.Errorf("Fetch into a non-pointer: %v", err)
	}
	if (Tuple{}).Execute() != nil || h.executes != 2 {
		t.Errorf("an empty Tuple crossed to the host")
	}
}

func TestObject_Fetch(t *testing.T) {
	t.Run("not executed", func(t *testing.T) {
		newFakeHost(t)
		var v any
		err := Spawn("inc", 1).Fetch(&v)
		var he *HostError
		if !errors.As(err, &he) || !errors.Is(err, ErrNotExecuted) || he.Message != "fetch: handle 1 has no value yet: execute it first" {
			t.Errorf("Fetch = %#v", err)
		}
	})
	t.Run("never issued", func(t *testing.T) {
		newFakeHost(t)
		var v any
		err := FromHandle(99).Fetch(&v)
		if !errors.Is(err, ErrInvalid) || err.Error() != "fetch: handle 99 was never issued in this call" {
			t.Errorf("Fetch = %v", err)
		}
	})
	t.Run("large values", func(t *testing.T) {
		h := newFakeHost(t)
		for _, n := range []int{10, fetchBufSize - 5, fetchBufSize, 5 * fetchBufSize} {
			o := Spawn("big", n)
			var s string
			fetches := h.fetches
			if err := o.Execute(); err != nil {
				t.Fatal(err)
			}
			if err := o.Fetch(&s); err != nil || s != strings.Repeat("x", n) {
				t.Fatalf("big(%d): %d bytes, %v", n, len(s), err)
			}
			if got, want := h.fetches-fetches, 1+btoi(n > fetchBufSize-5); got != want {
				t.Errorf("big(%d): %d fetches, want %d", n, got, want)
			}
		}
		// The grown buffer is kept: the next large value takes one crossing.
		o := Spawn("big", 4*fetchBufSize)
		fetches := h.fetches
		var s string
		if err := o.Execute(); err != nil {
			t.Fatal(err)
		}
		if err := o.Fetch(&s); err != nil || len(s) != 4*fetchBufSize || h.fetches != fetches+1 {
			t.Errorf("after growing: %d bytes, %v, %d fetches", len(s), err, h.fetches-fetches)
		}
	})
	t.Run("several outputs", func(t *testing.T) {
		h := newFakeHost(t)
		Spawn("inc", 0) // handle 1
		outs := SpawnN("split", 3)
		if len(outs) != 3 || outs[0].Handle() != 2 || outs[2].Handle() != 4 || h.tasks[1].nOut != 3 {
			t.Fatalf("SpawnN = %+v", outs)
		}
		got, err := outs[1:].ExecuteFetch()
		if err != nil || !reflect.DeepEqual(got, []any{"b", "c"}) {
			t.Errorf("ExecuteFetch = %v, %v", got, err)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestTaskError(t *testing.T) {
	h := newFakeHost(t)
	ok, bad := Spawn("inc", 1), Spawn("fail", "Boom.")
	err := Tuple{ok, bad}.Execute()
	var te *TaskError
	if !errors.As(err, &te) || te.Handle != 2 || te.Message != "task fail failed: Boom." || err.Error() != te.Message {
		t.Fatalf("Execute = %#v", err)
	}
	if !errors.Is(err, ErrFailed) {
		t.Error("a TaskError is not ErrFailed")
	}
	var v int
	if err := ok.Fetch(&v); err != nil || v != 2 {
		t.Errorf("the other child: %d, %v", v, err)
	}
	if err := bad.Fetch(&v); !errors.As(err, &te) || te.Handle != 2 {
		t.Errorf("Fetch of the failed child = %v", err)
	}
	// A dependent of a failed child fails too, and its own error names the cause.
	dep := Spawn("sum_all", []any{bad})
	if err := dep.Execute(); !errors.As(err, &te) || te.Handle != dep.Handle() {
		t.Errorf("Execute of a dependent = %#v", err)
	}

	// Returning it, wrapped, fails the call through fail_with, naming the child.
	report(fmt.Errorf("parent: %w", &TaskError{Handle: 2, Message: "task fail failed: Boom.", gen: callGen}))
	if h.failWithHandle != 2 || h.failWithMsg != "parent: task fail failed: Boom." || h.setErrorMsg != "" {
		t.Errorf("fail_with(%d, %q), set_error(%q)", h.failWithHandle, h.failWithMsg, h.setErrorMsg)
	}
	h.failWithHandle, h.failWithMsg = 0, ""
	report(errors.New("plain"))
	if h.setErrorMsg != "plain" || h.failWithMsg != "" {
		t.Errorf("plain error: set_error(%q), fail_with(%q)", h.setErrorMsg, h.failWithMsg)
	}
	// A TaskError of an earlier call names no child of this one.
	stale := &TaskError{Handle: 2, Message: "old", gen: callGen}
	callGen++
	report(stale)
	if h.setErrorMsg != "old" || h.failWithMsg != "" {
		t.Errorf("stale TaskError: set_error(%q), fail_with(%q)", h.setErrorMsg, h.failWithMsg)
	}
}

func TestHostError(t *testing.T) {
	tests := []struct {
		code int32
		is   error
		text string
	}{
		{codeInvalid, ErrInvalid, "mrun: invalid handle or spawn (fetch returned -1)"},
		{codeFailed, ErrFailed, "mrun: the task failed (fetch returned -2)"},
		{codeNotExecuted, ErrNotExecuted, "mrun: the Object was not executed (fetch returned -3)"},
		{codeLimit, ErrLimit, "mrun: the depth or task limit of the execution is reached (fetch returned -4)"},
		{codeCancelled, ErrCancelled, "mrun: the execution is cancelled (fetch returned -5)"},
		{codeUnsupported, ErrUnsupported, "mrun: nested spawn is not available in this call (fetch returned -6)"},
		{-7, nil, "mrun: fetch returned -7"},
	}
	for _, tt := range tests {
		err := &HostError{Op: "fetch", Code: tt.code}
		if errors.Unwrap(err) != tt.is || err.Error() != tt.text {
			t.Errorf("code %d: unwraps to %v, text %q", tt.code, errors.Unwrap(err), err.Error())
		}
		err.Message = "the host's words"
		if err.Error() != "the host's words" {
			t.Errorf("code %d with a message: %q", tt.code, err.Error())
		}
	}
	t.Run("execute", func(t *testing.T) {
		h := newFakeHost(t)
		h.executeCode = codeCancelled
		err := Spawn("inc", 1).Execute()
		var he *HostError
		if !errors.As(err, &he) || he.Op != "execute" || !errors.Is(err, ErrCancelled) || he.Message != "execute: refused with -5" {
			t.Errorf("Execute = %#v", err)
		}
	})
	t.Run("long message", func(t *testing.T) {
		h := newFakeHost(t)
		long := strings.Repeat("m", 2000)
		h.fns["fail"] = func([]any) (any, error) { return nil, errors.New(long) }
		err := Spawn("fail").Execute()
		if err == nil || err.Error() != "task fail failed: "+long {
			t.Errorf("Execute = %.60v...", err)
		}
	})
}

// Objects passed by reference arrive as handles (ext 2) in a parameter of type Object, or as
// an Object in an any parameter; an Object cannot be a result.
func TestCodec_call_objects(t *testing.T) {
	gen := callGen
	tests := []struct {
		name  string
		fn    any
		frame string
		want  string // result in hex, or the error
	}{
		{"Object parameter", func(o Object, n int) uint32 { return o.Handle() + uint32(n) }, "9292d6020000000a0180", "0b"},
		{"Object in any", func(x any) uint32 { return x.(Object).Handle() }, "9291d6020000000780", "07"},
		{"Objects in a slice", func(t Tuple) int { return len(t) }, "929192d60200000001d6020000000280", "02"},
		{"Object in a struct (msgpack)", func(w withObject) uint32 { return w.Dep.Handle() }, "929181a3446570d6020000000380", "03"},
		{"Object keyword", func(kw Kwargs) (uint32, error) {
			o, err := Kwarg(kw, "o", Object{})
			return o.Handle(), err
		}, "929081a16fd60200000005", "05"},
		{"integer into Object", func(o Object) {}, "92910180", "func1: argument 1: cannot decode integer into mrun.Object"},
		{"other ext into Object", func(o Object) {}, "9291d6050000000180", "func1: argument 1: cannot decode ext type 5 of 4 bytes into mrun.Object"},
		{"Object result", func(o Object) Object { return o }, "9291d6020000000180", "func1: cannot encode the result: an mrun.Object cannot be part of a result: fetch it and return its value"},
		{"Object in any result", func(x any) any { return x }, "9291d6020000000180", "func1: cannot encode the result: an mrun.Object cannot be part of a result: fetch it and return its value"},
		{"Ref result", func() []any { return []any{ByRef(Object{})} }, "929080", "func1: cannot encode the result: an mrun.Object cannot be part of a result: fetch it and return its value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr, _ := hex.DecodeString(tt.frame)
			res, err := newCodec().call(fr, tt.fn)
			got := hex.EncodeToString(res)
			if err != nil {
				got = objectsLit.ReplaceAllString(err.Error(), "func1")
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
	if callGen != gen {
		t.Error("decoding changed callGen")
	}
}

var objectsLit = regexp.MustCompile(`TestCodec_call_objects\.func\d+`)

// nullHost is a host whose spawn and fetch cost nothing: inc's value is always 42.
type nullHost struct{ n int32 }

func (h *nullHost) spawn(string, string, []byte, uint32) int32 { h.n++; return h.n }
func (h *nullHost) execute([]uint32) int32                     { return 0 }
func (h *nullHost) fetch(_ uint32, buf []byte) int64           { buf[0] = 42; return 1 }
func (h *nullHost) lastError([]byte) int32                     { return 0 }
func (h *nullHost) failWith(uint32, string)                    {}
func (h *nullHost) setError(string)                            {}

// BenchmarkSpawnFetch measures the SDK's side of one child of a driver: spawn inc(i), then
// fetch and decode its value (the execute is shared by all the children, so left out).
func BenchmarkSpawnFetch(b *testing.B) {
	saved, savedGuest := testHost, guest
	testHost, guest = &nullHost{}, newCodec()
	callGen++
	b.Cleanup(func() { testHost, guest = saved, savedGuest })
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		o := Spawn("inc", i)
		var v any
		if err := o.Fetch(&v); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
