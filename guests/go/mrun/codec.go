package mrun

import (
	"bytes"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"unsafe"

	"github.com/vmihailenco/msgpack/v5"
)

// maxKeptResult is the largest result buffer kept between calls; a larger one is dropped at the
// start of the next call so one huge result does not pin memory for the instance's lifetime.
const maxKeptResult = 4 << 20

// codec turns argument frames into Go calls and their results into result frames. It holds
// everything a call reuses: the input cursor, msgpack's decoder and encoder for the values the
// codec does not handle itself, the result buffer and the per-function plans. A guest has one;
// it is not safe for concurrent use.
type codec struct {
	in  []byte // input being decoded: an argument frame, or a keyword's value
	off int    // offset of the next unread byte of in
	// src says how long in lives, and so whether a decoded tensor may refer to it (see
	// inputLife): the argument frame and the keyword arguments live for the call, a fetched
	// value in the fetch buffer until the next fetch.
	src inputLife

	// scratch holds the call's tensor arguments whose elements are not aligned in the frame:
	// each is copied once to an aligned place here, reused by the next call.
	scratch     []byte
	scratchUsed int

	rd     bytes.Reader // in[rdBase:], while msgpack's decoder reads (viaMsgpack)
	rdBase int
	dec    *msgpack.Decoder
	anyMap func(*msgpack.Decoder) (any, error)

	out buffer // the result frame; valid until the next call
	enc *msgpack.Encoder

	// Nested spawn (spawn.go): the spawn argument frame, the handles of an execute, the buffer
	// values are fetched into and the one last_error messages are read into. All stay nil in a
	// function that does not spawn.
	spawnBuf []byte
	handles  []uint32
	fetchBuf []byte
	msgBuf   []byte

	kwSlab []kwargs // the kwargs of the calls to come (newKwargs)

	plans    map[planKey]*plan
	recent   [8]recentPlan // the plans of recently called function values
	decoders map[reflect.Type]decodeFunc
	encoders map[reflect.Type]encodeFunc
}

func newCodec() *codec {
	c := &codec{
		plans:    make(map[planKey]*plan),
		decoders: make(map[reflect.Type]decodeFunc),
		encoders: make(map[reflect.Type]encodeFunc),
	}
	c.dec = msgpack.NewDecoder(&c.rd)
	c.dec.UseLooseInterfaceDecoding(true)
	c.anyMap = c.anyMapHook
	c.enc = msgpack.NewEncoder(&c.out)
	c.enc.UseCompactInts(true)
	c.enc.SetSortMapKeys(true) // the same value always encodes to the same bytes
	return c
}

// plan is everything about a function's type that a call needs, worked out on its first call.
type plan struct {
	name string       // for messages: the Go function's name without its package
	typ  reflect.Type // the function's type
	err  error        // why the function cannot be called, if it cannot
	fast fastCall     // the direct call path, for the common shapes (fast.invoke != nil)

	argSlot, resSlot unsafe.Pointer // the direct call path's argument and result
	kwSlot           unsafe.Pointer // the Kwargs parameter in args, if the function has one

	params   []decodeFunc    // fixed positional parameters
	variadic reflect.Type    // type of the final ...T parameter as a slice, or nil
	varElem  decodeFunc      // decoder of T
	kwargs   bool            // the final parameter is Kwargs
	args     []reflect.Value // reused argument values: params, then the variadic slice or Kwargs
	clear    []int           // indexes of args that may hold references, zeroed after each call

	results []encodeFunc // non-error results
	errLast bool         // the final result is an error
}

// planKey identifies a plan: closures of one function literal share their code pointer and
// type, so one plan serves them all; the type tells apart the same code seen under different
// func types (a conversion to a named func type, or reflect.MakeFunc's shared stub).
type planKey struct {
	code uintptr
	typ  reflect.Type
}

// recentPlan remembers the plan of one function value by the two words of the interface that
// holds it: its type and its funcval pointer.
type recentPlan struct {
	typ, data unsafe.Pointer
	plan      *plan
}

// planFor returns the cached plan for fn, making it on first use.
//
// Finding a plan by the function's code pointer takes reflection (≈120 ns in wasm, a quarter of
// a call of inc), so the plans of recent function values are found first by the words of the
// interface holding fn: an unsafe but long-stable layout, compared only, never dereferenced. A
// top-level function's funcval is static, so its words never change; a closure's funcval is
// new with each closure and simply misses.
func (c *codec) planFor(fn any) *plan {
	w := (*[2]unsafe.Pointer)(unsafe.Pointer(&fn))
	r := &c.recent[uintptr(w[1])>>3%uintptr(len(c.recent))]
	if r.plan != nil && r.typ == w[0] && r.data == w[1] {
		return r.plan
	}
	p := c.lookupPlan(fn)
	if p.typ != nil {
		*r = recentPlan{w[0], w[1], p}
	}
	return p
}

// lookupPlan finds fn's plan by its code pointer and type, or makes it.
func (c *codec) lookupPlan(fn any) *plan {
	t := reflect.TypeOf(fn)
	if t == nil || t.Kind() != reflect.Func {
		return &plan{err: fmt.Errorf("mrun: Call needs a function, got %T", fn)}
	}
	fv := reflect.ValueOf(fn)
	if fv.IsNil() {
		return &plan{err: fmt.Errorf("mrun: Call with a nil %s", typeString(t))}
	}
	key := planKey{fv.Pointer(), t}
	p := c.plans[key]
	if p == nil {
		p = c.newPlan(t, funcName(key.code))
		c.plans[key] = p
	}
	return p
}

// funcName is the name of the function at code without its package path: "inc", "T.Method".
func funcName(code uintptr) string {
	f := runtime.FuncForPC(code)
	if f == nil {
		return "function"
	}
	name := f.Name()
	name = name[strings.LastIndexByte(name, '/')+1:]
	if i := strings.IndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	return strings.TrimSuffix(name, "-fm")
}

func (c *codec) newPlan(t reflect.Type, name string) *plan {
	p := &plan{name: name, typ: t, fast: fastCalls[t]}
	if p.fast.arg != nil {
		p.argSlot = reflect.New(p.fast.argType).UnsafePointer()
	}
	if p.fast.res != nil {
		p.resSlot = reflect.New(p.fast.resType).UnsafePointer()
	}
	fail := func(format string, a ...any) *plan {
		p.err = fmt.Errorf("mrun: cannot call %s (%s): %s", name, typeString(t), fmt.Sprintf(format, a...))
		return p
	}

	nin := t.NumIn()
	switch {
	case t.IsVariadic():
		nin--
		p.variadic = t.In(nin)
		if p.varElem = c.decoderFor(p.variadic.Elem()); p.varElem == nil {
			return fail("cannot decode arguments into %s", typeString(p.variadic.Elem()))
		}
	case nin > 0 && t.In(nin-1) == kwargsType:
		nin--
		p.kwargs = true
	}
	for i := range nin {
		pt := t.In(i)
		if pt == kwargsType {
			return fail("mrun.Kwargs must be the last parameter")
		}
		d := c.decoderFor(pt)
		if d == nil {
			return fail("cannot decode argument %d into %s", i+1, typeString(pt))
		}
		p.params = append(p.params, d)
	}
	for i := range t.NumIn() {
		p.args = append(p.args, reflect.New(t.In(i)).Elem())
		switch t.In(i).Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
			reflect.Float32, reflect.Float64:
		default:
			p.clear = append(p.clear, i)
		}
	}

	if p.kwargs {
		p.kwSlot = p.args[len(p.args)-1].Addr().UnsafePointer()
	}

	nout := t.NumOut()
	if nout > 0 && t.Out(nout-1) == errorType {
		nout--
		p.errLast = true
	}
	for i := range nout {
		rt := t.Out(i)
		if rt == errorType {
			return fail("error must be the last result")
		}
		e := c.encoderFor(rt)
		if e == nil {
			return fail("cannot encode result %d of type %s", i+1, typeString(rt))
		}
		p.results = append(p.results, e)
	}
	return p
}

// call runs fn with the arguments in frame and returns the result frame, which stays valid
// until the next call. An error's text is what the caller sees: the function's own error
// verbatim, or an SDK error that names the function.
func (c *codec) call(frame []byte, fn any) ([]byte, error) {
	p := c.planFor(fn)
	if p.err != nil {
		return nil, p.err
	}
	c.in, c.off, c.src = frame, 0, inputCall
	if cap(c.out.b) > maxKeptResult {
		c.out.b = nil
	}
	if len(c.scratch) > maxKeptResult {
		c.scratch = nil
	}
	c.scratchUsed = 0
	c.out.b = c.out.b[:0]
	n, err := p.beginArgs(c)
	if err == nil {
		if p.fast.invoke != nil {
			err = c.callFast(p, fn)
		} else {
			err = c.callReflect(p, fn, n)
		}
	}
	if err != nil {
		return nil, err
	}
	return c.out.b, nil
}

// callReflect runs fn through reflection: any shape the SDK supports.
func (c *codec) callReflect(p *plan, fn any, n int) error {
	if err := p.decodeArgs(c, n); err != nil {
		p.release()
		return err
	}
	var out []reflect.Value
	if p.variadic != nil {
		out = reflect.ValueOf(fn).CallSlice(p.args)
	} else {
		out = reflect.ValueOf(fn).Call(p.args)
	}
	p.release()
	return c.encodeResults(p, out)
}

// release drops the arguments' references so the garbage collector can free them.
func (p *plan) release() {
	for _, i := range p.clear {
		p.args[i].SetZero()
	}
}

// beginArgs reads the frame up to the first positional argument, and checks their number.
func (p *plan) beginArgs(c *codec) (int, error) {
	if len(c.in) < 3 || c.in[0] != 0x92 {
		return 0, p.malformed("want an array [positional, keyword]")
	}
	var n int
	if b := c.in[1]; b >= 0x90 && b <= 0x9f {
		n, c.off = int(b&0x0f), 2
	} else {
		c.off = 1
		if families[b] != famArray {
			return 0, p.malformed("positional arguments are not an array")
		}
		var err error
		if n, err = c.containerLen(); err != nil {
			return 0, p.malformed(wireMessage(err))
		}
	}
	want := len(p.params)
	if n == want || (p.variadic != nil && n > want) {
		return n, nil
	}
	return 0, p.arityError(want, n)
}

// decodeArgs decodes n positional arguments and the keywords into p.args.
func (p *plan) decodeArgs(c *codec, n int) error {
	for i, d := range p.params {
		if err := d(c, p.args[i]); err != nil {
			return p.argError(i, err)
		}
	}
	if p.variadic != nil {
		fixed := len(p.params)
		s := reflect.MakeSlice(p.variadic, n-fixed, n-fixed)
		for i := range n - fixed {
			if err := p.varElem(c, s.Index(i)); err != nil {
				return p.argError(fixed+i, err)
			}
		}
		p.args[fixed].Set(s)
	}
	return p.endArgs(c)
}

func (p *plan) malformed(why string) error {
	return fmt.Errorf("%s: malformed argument frame: %s", p.name, why)
}

func (p *plan) argError(i int, err error) error {
	path, msg := splitPath(err)
	return fmt.Errorf("%s: argument %d%s: %s", p.name, i+1, path, msg)
}

// arityError reports a wrong number of positional arguments the way Python does.
func (p *plan) arityError(want, n int) error {
	qualifier := ""
	if p.variadic != nil {
		qualifier = "at least "
	}
	was := "were"
	if n == 1 {
		was = "was"
	}
	switch {
	case want == 0:
		return fmt.Errorf("%s: takes no positional arguments but %d %s given", p.name, n, was)
	case want == 1:
		return fmt.Errorf("%s: takes %s1 positional argument but %d %s given", p.name, qualifier, n, was)
	}
	return fmt.Errorf("%s: takes %s%d positional arguments but %d %s given", p.name, qualifier, want, n, was)
}

// endArgs reads the keyword map, into the Kwargs parameter if the function has one, and checks
// that the frame ends there.
func (p *plan) endArgs(c *codec) error {
	if c.off == len(c.in)-1 && c.in[c.off] == 0x80 { // no keywords, the common case
		c.off++
		if p.kwargs {
			*(*Kwargs)(p.kwSlot) = Kwargs{}
		}
		return nil
	}
	b, err := c.peek()
	if err != nil || families[b] != famMap {
		return p.malformed("keyword arguments are not a map")
	}
	n, err := c.containerLen()
	if err != nil {
		return p.malformed(wireMessage(err))
	}
	if n > 0 {
		if err := p.decodeKwargs(c, n); err != nil {
			return err
		}
	} else if p.kwargs {
		*(*Kwargs)(p.kwSlot) = Kwargs{}
	}
	if c.off != len(c.in) {
		return p.malformed(fmt.Sprintf("%d bytes after the keyword arguments", len(c.in)-c.off))
	}
	return nil
}

// decodeKwargs reads n keyword arguments into the Kwargs parameter, or refuses them if the
// function has none. Only their names are read here; values are decoded when the function asks.
func (p *plan) decodeKwargs(c *codec, n int) error {
	start := c.off
	kw := c.newKwargs() // wasted if refused: an error ends the call anyway
	kw.p, kw.c, kw.n = p, c, uint32(n)
	if n > len(kw.inlineArgs) {
		kw.argsExt = make([]keyword, n)
	}
	args := kw.args()
	for i := range args {
		name, err := c.strBytes(stringType)
		if err != nil {
			return p.malformed("keyword: " + wireMessage(err))
		}
		from := c.off - start
		if !c.skipShort() {
			if err := c.skip(); err != nil {
				return p.malformed(wireMessage(err))
			}
		}
		args[i] = keyword{uint32(from - len(name)), uint32(from), uint32(c.off - start)}
	}
	if !p.kwargs {
		names := make([]string, n)
		for i, a := range args {
			names[i] = string(c.in[start+int(a.nameAt) : start+int(a.start)])
		}
		return fmt.Errorf("%s: unexpected keyword argument%s %s", p.name, plural(n), quoteList(names))
	}
	if kw.size = uint32(c.off - start); int(kw.size) > len(kw.inlineRaw) {
		kw.rawExt = make([]byte, kw.size)
	}
	copy(kw.raw(), c.in[start:c.off])
	*(*Kwargs)(p.kwSlot) = Kwargs{kw}
	return nil
}

// newKwargs returns a zero kwargs for a call's keyword arguments. A Kwargs may outlive its
// call, so none is ever reused; they are allocated kwargsSlab at a time instead, because one
// allocation per call was most of the cost of a call with keywords in wasm. A Kwargs kept
// after its call keeps its slab alive, 4 KB at most.
func (c *codec) newKwargs() *kwargs {
	if len(c.kwSlab) == 0 {
		c.kwSlab = make([]kwargs, kwargsSlab)
	}
	kw := &c.kwSlab[0]
	c.kwSlab = c.kwSlab[1:]
	return kw
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func quoteList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", n)
	}
	return b.String()
}

// result turns an encoding failure into the call's error.
func (p *plan) result(err error) error {
	if err != nil {
		return fmt.Errorf("%s: cannot encode the result: %s", p.name, wireMessage(err))
	}
	return nil
}

func (c *codec) encodeResults(p *plan, out []reflect.Value) error {
	if p.errLast {
		if e := out[len(out)-1]; !e.IsNil() {
			return e.Interface().(error)
		}
	}
	switch len(p.results) {
	case 0:
		c.writeNil()
	case 1:
		return p.result(p.results[0](c, out[0]))
	default:
		// Several results are the function's outputs, like a Python tuple: one array.
		c.writeHeader(famArray, len(p.results))
		for i, e := range p.results {
			if err := e(c, out[i]); err != nil {
				return fmt.Errorf("%s: cannot encode result %d: %s", p.name, i+1, wireMessage(err))
			}
		}
	}
	return nil
}
