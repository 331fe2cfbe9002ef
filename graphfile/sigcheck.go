package graphfile

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/abi/sig"
)

// This file checks a task's arguments against the signature of the function it calls
// (abi/ABI.md section 10), before anything runs: the number of positional arguments, the
// keyword names, the literal types, and n_output. A function without a signature is not
// checked here; its call checks its arguments when it runs, as before signatures existed.

// Accepts reports whether a value of type have may be passed where want is expected. An
// unknown type, any, and a nil type (nothing is known) accept and are accepted by anything;
// an int is accepted for a float; list, map and tensor compare their element types when both
// sides name one.
func Accepts(want, have *sig.Type) bool {
	if want == nil || have == nil || !want.Known() || !have.Known() || want.Name == sig.Any || have.Name == sig.Any {
		return true
	}
	switch {
	case want.Name == sig.Float && have.Name == sig.Int:
		return true
	case want.Name != have.Name:
		return false
	}
	switch want.Name {
	case sig.List, sig.Map:
		return Accepts(want.Elem, have.Elem)
	case sig.Tensor:
		return want.DType == "" || have.DType == "" || want.DType == have.DType
	}
	return true
}

// TypeOf returns the type of a Go value as a graph file's literals and mrun call's arguments
// decode: int64 is int, []any is list[T] when every element has the same type T, and so on.
// It returns nil for a value whose type cannot be told (a type of a later revision).
func TypeOf(v any) *sig.Type {
	switch v := v.(type) {
	case nil:
		return &sig.Type{Name: sig.None}
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return &sig.Type{Name: sig.Int}
	case float32, float64:
		return &sig.Type{Name: sig.Float}
	case bool:
		return &sig.Type{Name: sig.Bool}
	case string:
		return &sig.Type{Name: sig.Str}
	case []byte:
		return &sig.Type{Name: sig.Bytes}
	case abi.Tensor:
		return &sig.Type{Name: sig.Tensor, DType: v.DType.String()}
	case abi.Table, *abi.Table:
		return &sig.Type{Name: sig.Table}
	case []any:
		ts := make([]*sig.Type, len(v))
		for i, x := range v {
			ts[i] = TypeOf(x)
		}
		return &sig.Type{Name: sig.List, Elem: common(ts)}
	case map[string]any:
		var ts []*sig.Type
		for _, x := range v {
			ts = append(ts, TypeOf(x))
		}
		return &sig.Type{Name: sig.Map, Elem: common(ts)}
	}
	return nil
}

// common returns the one type all of ts share, or nil.
func common(ts []*sig.Type) *sig.Type {
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
// positional arguments, the keyword names (suggesting a close one), the keywords it
// requires, the types of the values, and nOutput. The error names the function and the
// argument, as in `inc takes 1 positional argument (x: int), got 2`.
func CheckCall(s *sig.Signature, args []any, kwargs map[string]any, nOutput int) error {
	if msg := arity(s, len(args)); msg != "" {
		return fmt.Errorf("%s", msg)
	}
	if msg := nOutputMismatch(s, nOutput); msg != "" {
		return fmt.Errorf("%s", msg)
	}
	for i, a := range args {
		p := s.Params[i]
		if m := matchValue(a, p.Type); m != nil {
			return fmt.Errorf("%s", m.message(s.Name+" argument "+p.Name))
		}
	}
	keys := make([]string, 0, len(kwargs))
	for k := range kwargs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		kw, ok := s.Kwarg(k)
		if !ok {
			return fmt.Errorf("%s", unknownKwarg(s, k))
		}
		if m := matchValue(kwargs[k], kw.Type); m != nil {
			return fmt.Errorf("%s", m.message(s.Name+" keyword argument "+k))
		}
	}
	for _, kw := range s.Kwargs {
		if _, ok := kwargs[kw.Name]; !ok && kw.Required() {
			return fmt.Errorf("%s", missingKwarg(s, kw))
		}
	}
	return nil
}

// mismatch is a value that does not fit its parameter: at path inside the argument ("",
// or "[2]" for an element of a list), a value described by got where want is expected. It
// is made only when a check fails, so that a list of a million numbers is checked without
// allocating.
type mismatch struct {
	path, want, got string
}

// message says that the value what names does not fit: "inc argument xs[2] must be ...".
func (m *mismatch) message(what string) string {
	if m == nil {
		return ""
	}
	return fmt.Sprintf("%s%s must be %s, got %s", what, m.path, m.want, m.got)
}

// at returns m moved one level down, to the element step ("[2]") of the value m was at.
func (m *mismatch) at(step string) *mismatch {
	m.path = step + m.path
	return m
}

// matchValue reports how v does not fit type want, or nil.
func matchValue(v any, want sig.Type) *mismatch {
	switch x := v.(type) {
	case []any:
		if want.Name == sig.List && want.Elem != nil {
			for i, e := range x {
				if m := matchValue(e, *want.Elem); m != nil {
					return m.at(fmt.Sprintf("[%d]", i))
				}
			}
			return nil
		}
	case map[string]any:
		if want.Name == sig.Map && want.Elem != nil {
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				if m := matchValue(x[k], *want.Elem); m != nil {
					return m.at(fmt.Sprintf("[%q]", k))
				}
			}
			return nil
		}
	}
	if name := scalarName(v); name != "" { // without allocating
		have := sig.Type{Name: name}
		if Accepts(&want, &have) {
			return nil
		}
		return &mismatch{want: want.String(), got: describe(v, &have)}
	}
	have := TypeOf(v)
	if Accepts(&want, have) {
		return nil
	}
	return &mismatch{want: want.String(), got: describe(v, have)}
}

// describe names a value for a message: its type, and its text when short.
func describe(v any, t *sig.Type) string {
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

// arity reports a wrong number of positional arguments, or "".
func arity(s *sig.Signature, n int) string {
	if n == len(s.Params) {
		return ""
	}
	if len(s.Params) == 0 {
		return fmt.Sprintf("%s takes no positional arguments, got %d", s.Name, n)
	}
	params := make([]string, len(s.Params))
	for i, p := range s.Params {
		params[i] = p.Name + ": " + p.Type.String()
	}
	return fmt.Sprintf("%s takes %s (%s), got %d", s.Name, plural(len(s.Params), "positional argument"), strings.Join(params, ", "), n)
}

// nOutputMismatch reports an n_output the signature's outputs do not allow, or "". A
// function declared -> (T1, T2) is called with n_output 2; one whose single result is a list,
// any, or a type this version does not know may be split into any number of outputs.
func nOutputMismatch(s *sig.Signature, n int) string {
	if len(s.Outputs) > 0 {
		if n == len(s.Outputs) {
			return ""
		}
		outs := make([]string, len(s.Outputs))
		for i, t := range s.Outputs {
			outs[i] = t.String()
		}
		return fmt.Sprintf("n_output is %d, but %s returns %d outputs (%s)", n, s.Name, len(s.Outputs), strings.Join(outs, ", "))
	}
	r := s.Result
	if n == 1 || r == nil || !r.Known() || r.Name == sig.List || r.Name == sig.Any {
		return ""
	}
	return fmt.Sprintf("n_output is %d, but %s returns one %s", n, s.Name, r.String())
}

// unknownKwarg says that s has no keyword k, suggesting a close one.
func unknownKwarg(s *sig.Signature, k string) string {
	names := make([]string, len(s.Kwargs))
	for i, kw := range s.Kwargs {
		names[i] = kw.Name
	}
	msg := fmt.Sprintf("%s has no keyword argument %q", s.Name, k)
	if best := closest(k, names); best != "" {
		return fmt.Sprintf("%s; did you mean %q?", msg, best)
	}
	if len(names) == 0 {
		return msg + " (it takes none)"
	}
	return fmt.Sprintf("%s (it takes %s)", msg, strings.Join(names, ", "))
}

func missingKwarg(s *sig.Signature, kw sig.Kwarg) string {
	return fmt.Sprintf("%s needs keyword argument %q (%s: %s)", s.Name, kw.Name, kw.Name, kw.Type.String())
}

// closest returns the one of names nearest to s, when it is close enough to be a slip.
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(strings.ToLower(s), strings.ToLower(n)); d < bestD && d < len(s) {
			best, bestD = n, d
		}
	}
	return best
}

// scalarName returns the type name of a number, bool, string, bytes or nil, or "".
func scalarName(v any) string {
	switch v.(type) {
	case nil:
		return sig.None
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return sig.Int
	case float32, float64:
		return sig.Float
	case bool:
		return sig.Bool
	case string:
		return sig.Str
	case []byte:
		return sig.Bytes
	}
	return ""
}
