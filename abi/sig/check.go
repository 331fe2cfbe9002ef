package sig

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/mrun-dev/mrun/internal/suggest"
)

// This file checks one call's arguments against the signature of the function it calls, before
// the call runs: the number of positional arguments, the keyword names, the keywords required,
// the types of the values, and n_output. Graph files (with positions), `mrun call` and the Go
// API (package dag) all check through it, so that the three say the same thing.

// ErrArgs is wrapped by the errors of CheckCall: the arguments do not fit the signature.
var ErrArgs = errors.New("arguments do not fit the signature")

// CallError is a call whose arguments do not fit its function's signature. Its text names the
// function and the argument: `inc argument x must be int, got str "a"`.
type CallError struct{ Msg string }

func (e *CallError) Error() string { return e.Msg }

// Unwrap returns ErrArgs.
func (e *CallError) Unwrap() error { return ErrArgs }

func callError(format string, args ...any) error {
	return &CallError{Msg: fmt.Sprintf(format, args...)}
}

// Typed is a value that knows its type in the value model. TypeOf asks it: an
// abi.Tensor gives tensor[dtype], a dag.Object the result type its producer declares. A nil
// Type means that nothing is known, and fits every parameter.
type Typed interface {
	SigType() *Type
}

// Accepts reports whether a value of type have may be passed where want is expected. An
// unknown type, any, and a nil type (nothing is known) accept and are accepted by anything;
// an int is accepted for a float; list, map and tensor compare their element types when both
// sides name one.
func Accepts(want, have *Type) bool {
	if want == nil || have == nil || !want.Known() || !have.Known() || want.Name == Any || have.Name == Any {
		return true
	}
	switch {
	case want.Name == Float && have.Name == Int:
		return true
	case want.Name != have.Name:
		return false
	}
	switch want.Name {
	case List, Map:
		return Accepts(want.Elem, have.Elem)
	case Tensor:
		return want.DType == "" || have.DType == "" || want.DType == have.DType
	}
	return true
}

// TypeOf returns the type of a Go value as it is encoded for a call: int64 is int, []any is
// list[T] when every element has the same type T, []float64 is list[float], a map with string
// keys is map[str, T], a Typed value gives its own type. It returns nil for a value whose type
// cannot be told before it is encoded: a struct, a value with its own msgpack encoding, a
// type of a later revision.
func TypeOf(v any) *Type {
	switch v := v.(type) {
	case nil:
		return &Type{Name: None}
	case Typed:
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return &Type{Name: None} // a nil pointer encodes as nil
		}
		return v.SigType()
	case []any:
		ts := make([]*Type, len(v))
		for i, x := range v {
			ts[i] = TypeOf(x)
		}
		return &Type{Name: List, Elem: Common(ts)}
	case map[string]any:
		var ts []*Type
		for _, x := range v {
			ts = append(ts, TypeOf(x))
		}
		return &Type{Name: Map, Elem: Common(ts)}
	}
	if name := scalarName(v); name != "" {
		return &Type{Name: name}
	}
	return typeOfGo(reflect.TypeOf(v), 0)
}

// typeOfGo is the type a value of Go type t encodes to, judged from t alone, nil when unknown.
func typeOfGo(t reflect.Type, depth int) *Type {
	if depth > 16 || ownEncoding(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Bool:
		return &Type{Name: Bool}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Type{Name: Int}
	case reflect.Float32, reflect.Float64:
		return &Type{Name: Float}
	case reflect.String:
		return &Type{Name: Str}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && !ownEncoding(t.Elem()) {
			return &Type{Name: Bytes}
		}
		return &Type{Name: List, Elem: typeOfGo(t.Elem(), depth+1)}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil
		}
		return &Type{Name: Map, Elem: typeOfGo(t.Elem(), depth+1)}
	}
	return nil // interfaces, pointers (nil or not), structs, functions, channels
}

// ownEncoding reports whether values of type t may encode in a way of their own (msgpack's
// CustomEncoder and Marshaler, or a binary or text marshaler, on t or *t).
func ownEncoding(t reflect.Type) bool {
	for _, m := range []string{"EncodeMsgpack", "MarshalMsgpack", "MarshalBinary", "MarshalText", "SigType"} {
		if _, ok := t.MethodByName(m); ok {
			return true
		}
		if _, ok := reflect.PointerTo(t).MethodByName(m); ok {
			return true
		}
	}
	return false
}

// Common returns the one type all of ts share, or nil: the element type of a list whose
// elements are ts.
func Common(ts []*Type) *Type {
	if len(ts) == 0 || slices.Contains(ts, nil) {
		return nil
	}
	for _, t := range ts[1:] {
		if t.String() != ts[0].String() {
			return nil
		}
	}
	return ts[0]
}

// CheckCall checks the arguments of one call of the function s describes: the number of
// positional arguments, n_output, the types of the values, the keyword names (suggesting a
// close one), and the keywords it requires. The error is a *CallError naming the function
// and the argument, as in `inc takes 1 positional argument (x: int), got 2`.
func (s *Signature) CheckCall(args []any, kwargs map[string]any, nOutput int) error {
	if err := s.CheckArity(len(args)); err != nil {
		return err
	}
	if err := s.CheckNOutput(nOutput); err != nil {
		return err
	}
	for i, a := range args {
		what, t := s.Positional(i)
		if m := Match(a, t); m != nil {
			return callError("%s", m.Message(s.Name+" argument "+what))
		}
	}
	keys := make([]string, 0, len(kwargs))
	for k := range kwargs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kw, err := s.CheckKwargName(k)
		if err != nil {
			return err
		}
		if m := Match(kwargs[k], kw.Type); m != nil {
			return callError("%s", m.Message(s.Name+" keyword argument "+k))
		}
	}
	return s.CheckRequired(func(k string) bool { _, ok := kwargs[k]; return ok })
}

// Positional returns the name and type of positional argument i (from 0), which must be one
// the signature takes: a parameter's name, or for an argument past them the variadic
// parameter's name indexed, as in "args[0]".
func (s *Signature) Positional(i int) (name string, t Type) {
	if i < len(s.Params) {
		return s.Params[i].Name, s.Params[i].Type
	}
	return fmt.Sprintf("%s[%d]", s.Variadic.Name, i-len(s.Params)), s.Variadic.Type
}

// CheckArity reports a number of positional arguments the signature does not take: other
// than len(Params), or fewer with a variadic parameter.
func (s *Signature) CheckArity(n int) error {
	if n == len(s.Params) || n > len(s.Params) && s.Variadic != nil {
		return nil
	}
	params := make([]string, len(s.Params))
	for i, p := range s.Params {
		params[i] = p.Name + ": " + p.Type.String()
	}
	word := "positional arguments"
	if len(s.Params) == 1 {
		word = "positional argument"
	}
	switch {
	case s.Variadic != nil:
		return callError("%s takes at least %d %s (%s, *%s: %s), got %d", s.Name, len(s.Params), word, strings.Join(params, ", "), s.Variadic.Name, s.Variadic.Type.String(), n)
	case len(s.Params) == 0:
		return callError("%s takes no positional arguments, got %d", s.Name, n)
	}
	return callError("%s takes %d %s (%s), got %d", s.Name, len(s.Params), word, strings.Join(params, ", "), n)
}

// CheckNOutput reports an n_output the signature's outputs do not allow. A function declared
// -> (T1, T2) is called with n_output 2; one whose single result is a list, any, or a type
// this version does not know may be split into any number of outputs.
func (s *Signature) CheckNOutput(n int) error {
	if len(s.Outputs) > 0 {
		if n == len(s.Outputs) {
			return nil
		}
		outs := make([]string, len(s.Outputs))
		for i, t := range s.Outputs {
			outs[i] = t.String()
		}
		return callError("n_output is %d, but %s returns %d outputs (%s)", n, s.Name, len(s.Outputs), strings.Join(outs, ", "))
	}
	r := s.Result
	if n <= 1 || r == nil || !r.Known() || r.Name == List || r.Name == Any {
		return nil
	}
	return callError("n_output is %d, but %s returns one %s", n, s.Name, r.String())
}

// CheckKwargName returns the keyword parameter k, or an error that s has none by that name,
// suggesting a close one.
func (s *Signature) CheckKwargName(k string) (Kwarg, error) {
	if kw, ok := s.Kwarg(k); ok {
		return kw, nil
	}
	names := make([]string, len(s.Kwargs))
	for i, kw := range s.Kwargs {
		names[i] = kw.Name
	}
	msg := fmt.Sprintf("%s has no keyword argument %q", s.Name, k)
	switch best := suggest.Closest(k, names); {
	case best != "":
		return Kwarg{}, callError("%s; did you mean %q?", msg, best)
	case len(names) == 0:
		return Kwarg{}, callError("%s (it takes none)", msg)
	}
	return Kwarg{}, callError("%s (it takes %s)", msg, strings.Join(names, ", "))
}

// CheckRequired reports the first keyword parameter without a default that given says is
// missing.
func (s *Signature) CheckRequired(given func(name string) bool) error {
	for _, kw := range s.Kwargs {
		if kw.Required() && !given(kw.Name) {
			return callError("%s needs keyword argument %q (%s: %s)", s.Name, kw.Name, kw.Name, kw.Type.String())
		}
	}
	return nil
}

// A Mismatch is a value that does not fit its parameter: at Path inside the argument ("", or
// "[2]" for an element of a list), a value described by Got where Want is expected. It is
// made only when a check fails, so that a list of a million numbers is checked without
// allocating.
type Mismatch struct {
	Path, Want, Got string
}

// Message says that the value what names does not fit: "inc argument xs[2] must be int, got
// str".
func (m *Mismatch) Message(what string) string {
	return fmt.Sprintf("%s%s must be %s, got %s", what, m.Path, m.Want, m.Got)
}

// At returns m moved one level down, to the element step ("[2]", `["k"]`) of the value m was
// at.
func (m *Mismatch) At(step string) *Mismatch {
	m.Path = step + m.Path
	return m
}

// Match reports how the Go value v does not fit type want, or nil when it fits.
func Match(v any, want Type) *Mismatch {
	switch x := v.(type) {
	case []any:
		if want.Name == List && want.Elem != nil {
			for i, e := range x {
				if m := Match(e, *want.Elem); m != nil {
					return m.At(fmt.Sprintf("[%d]", i))
				}
			}
			return nil
		}
	case map[string]any:
		if want.Name == Map && want.Elem != nil {
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if m := Match(x[k], *want.Elem); m != nil {
					return m.At(fmt.Sprintf("[%q]", k))
				}
			}
			return nil
		}
	}
	if name := scalarName(v); name != "" { // without allocating
		have := Type{Name: name}
		if Accepts(&want, &have) {
			return nil
		}
		return &Mismatch{Want: want.String(), Got: describe(v, &have)}
	}
	if want.Name == Any || !want.Known() {
		return nil
	}
	have := TypeOf(v)
	if Accepts(&want, have) {
		return nil
	}
	return &Mismatch{Want: want.String(), Got: describe(v, have)}
}

// describe names a value for a message: its type, and its text when short.
func describe(v any, t *Type) string {
	switch v.(type) {
	case nil:
		return "null"
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, bool, string:
		b, err := json.Marshal(v)
		if err == nil && len(b) <= 40 {
			return t.String() + " " + string(b)
		}
	}
	return t.String()
}

// scalarName returns the type name of a number, bool, string, bytes or nil, or "".
func scalarName(v any) string {
	switch v.(type) {
	case nil:
		return None
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return Int
	case float32, float64:
		return Float
	case bool:
		return Bool
	case string:
		return Str
	case []byte:
		return Bytes
	}
	return ""
}
