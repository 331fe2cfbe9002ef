// Package sig reads and writes function signatures, the text a module carries in its
// "mrun.signatures" custom section (ABI.md section 10): one line per function, such as
//
//	inc(x: int) -> int  -- Adds one.
//
// It also checks a call's arguments against a signature (Signature.CheckCall), so that graph
// files, mrun call and the Go API (package dag) report a mismatch the same way, before anything
// runs. It depends on the standard library alone (and a spelling helper of this module), so
// every layer of mrun (the runtime that reads modules, the engine, the graph-file checker, the
// CLI) can use the same types.
package sig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SectionName is the name of the custom section that holds a module's signatures.
const SectionName = "mrun.signatures"

// ErrSyntax is wrapped by every *SyntaxError.
var ErrSyntax = errors.New("malformed signature")

// Type names of the value model (ABI.md section 5). A Type whose Name is none of these is a
// type of a later revision: it is kept as written and accepts any value.
const (
	Int    = "int"
	Float  = "float"
	Bool   = "bool"
	Str    = "str"
	Bytes  = "bytes"
	Any    = "any"
	None   = "none"
	List   = "list"   // list[T]
	Map    = "map"    // map, or map[str, T]
	Tensor = "tensor" // tensor, or tensor[dtype]
	Table  = "table"
)

// DTypes are the tensor element types of ABI.md section 5.3, in code order.
var DTypes = []string{"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64", "bool"}

// Type is the type of a parameter or a result.
type Type struct {
	// Name is one of the type names above, or the name of a type this version does not know.
	Name string
	// Elem is the element type of list[T] and the value type of map[str, T]; nil for a
	// plain map and for every other type.
	Elem *Type
	// DType is the element type of tensor[dtype]; empty for any tensor.
	DType string
	// Args is the text between the brackets of a type this version does not know.
	Args string
}

// Known reports whether t and every type inside it are types this version knows; an unknown
// type accepts any value.
func (t Type) Known() bool {
	switch t.Name {
	case Int, Float, Bool, Str, Bytes, Any, None, Tensor, Table:
		return true
	case List, Map:
		return t.Elem == nil || t.Elem.Known()
	}
	return false
}

// String returns the canonical text of t: "list[float]", "map[str, int]", "tensor[float64]".
func (t Type) String() string {
	switch {
	case t.Name == List && t.Elem != nil:
		return "list[" + t.Elem.String() + "]"
	case t.Name == Map && t.Elem != nil:
		return "map[str, " + t.Elem.String() + "]"
	case t.Name == Tensor && t.DType != "":
		return "tensor[" + t.DType + "]"
	case t.Args != "":
		return t.Name + "[" + t.Args + "]"
	}
	return t.Name
}

// MarshalJSON encodes t as its canonical text.
func (t Type) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// Param is a positional parameter.
type Param struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
}

// Kwarg is a keyword parameter.
type Kwarg struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
	// Default is the value used when the caller leaves the keyword out, as compact JSON;
	// empty when the keyword is required.
	Default json.RawMessage `json:"default,omitempty"`
}

// Required reports whether a caller must pass the keyword.
func (k Kwarg) Required() bool { return len(k.Default) == 0 }

// MarshalJSON adds "required" to the fields of k.
func (k Kwarg) MarshalJSON() ([]byte, error) {
	type plain Kwarg
	return json.Marshal(struct {
		plain
		Required bool `json:"required"`
	}{plain(k), k.Required()})
}

// Signature describes one user function of a module.
type Signature struct {
	// Name is the function's name, without the "mrun_fn_" prefix of its export.
	Name string `json:"name"`
	// Params are the positional parameters, in order.
	Params []Param `json:"params"`
	// Variadic, when not nil, takes any number of positional arguments after Params, each of
	// its type, as Python's *args does; nil when the function takes exactly len(Params).
	Variadic *Param `json:"variadic,omitempty"`
	// Kwargs are the keyword parameters, in the order written.
	Kwargs []Kwarg `json:"kwargs"`
	// Result is the type of the result when the function has one output.
	Result *Type `json:"result,omitempty"`
	// Outputs are the types of the outputs of a function meant to be spawned with
	// n_output = len(Outputs), at least 2; nil when it has one output (Result).
	Outputs []Type `json:"outputs,omitempty"`
	// Doc is a one-line description; empty when there is none.
	Doc string `json:"doc,omitempty"`
	// Pure reports that a call's result depends only on its arguments. Functions are pure
	// unless their line says "impure".
	Pure bool `json:"pure"`
	// Line is the line of the section text Parse read the signature from; 0 otherwise.
	Line int `json:"-"`
}

// NOutput returns the number of outputs: len(Outputs), or 1.
func (s *Signature) NOutput() int {
	if len(s.Outputs) > 0 {
		return len(s.Outputs)
	}
	return 1
}

// Kwarg returns the keyword parameter called name.
func (s *Signature) Kwarg(name string) (Kwarg, bool) {
	for _, k := range s.Kwargs {
		if k.Name == name {
			return k, true
		}
	}
	return Kwarg{}, false
}

// Call returns the head of the canonical line, without the doc: "inc(x: int) -> int".
func (s *Signature) Call() string {
	var b strings.Builder
	b.WriteString(funcName(s.Name))
	b.WriteByte('(')
	for i, p := range s.Params {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.Name + ": " + p.Type.String())
	}
	if s.Variadic != nil {
		if len(s.Params) > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*" + s.Variadic.Name + ": " + s.Variadic.Type.String())
	}
	if len(s.Kwargs) > 0 {
		if len(s.Params) > 0 && s.Variadic == nil {
			b.WriteString(", ")
		}
		if s.Variadic == nil {
			b.WriteString("*")
		}
		for _, k := range s.Kwargs {
			b.WriteString(", " + k.Name + ": " + k.Type.String())
			if !k.Required() {
				b.WriteString(" = " + string(k.Default))
			}
		}
	}
	b.WriteString(") -> ")
	if len(s.Outputs) > 0 {
		b.WriteByte('(')
		for i, t := range s.Outputs {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(t.String())
		}
		b.WriteByte(')')
	} else if s.Result != nil {
		b.WriteString(s.Result.String())
	}
	if !s.Pure {
		b.WriteString("  impure")
	}
	return b.String()
}

// String returns the canonical line of s, which Parse reads back to an equal Signature:
// "inc(x: int) -> int  -- Adds one."
func (s *Signature) String() string {
	if s.Doc == "" {
		return s.Call()
	}
	return s.Call() + "  -- " + s.Doc
}

// Format returns the section text for sigs: their canonical lines, each ending in "\n".
func Format(sigs []*Signature) []byte {
	var b bytes.Buffer
	for _, s := range sigs {
		b.WriteString(s.String())
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// funcName writes a name as is when Parse reads it back as a plain name, else quoted.
func funcName(n string) string {
	if n != "" && n[0] != '#' && n[0] != '"' {
		plain := true
		for i := 0; i < len(n); i++ {
			if !nameByte(n[i]) {
				plain = false
				break
			}
		}
		if plain {
			return n
		}
	}
	return strconv.Quote(n)
}

func nameByte(c byte) bool {
	return c > ' ' && c != 0x7f && c != '(' && c != ')' && c != '"'
}

// SyntaxError is a malformed line of a signature section.
type SyntaxError struct {
	Line   int // 1-based
	Column int // 1-based, in bytes
	Msg    string
}

// Error returns "line L, column C: msg".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// Unwrap returns ErrSyntax.
func (e *SyntaxError) Unwrap() error { return ErrSyntax }

// UnknownTypes returns the types of s's parameters and outputs that this version does not
// know, as written (each once, in order): a later revision's types, or a misspelling such as
// "flaot". Both accept any value, so a tool that writes or shows signatures tells its user.
func (s *Signature) UnknownTypes() []string {
	var out []string
	seen := map[string]bool{}
	add := func(t Type) {
		if !t.Known() && !seen[t.String()] {
			seen[t.String()] = true
			out = append(out, t.String())
		}
	}
	for _, p := range s.Params {
		add(p.Type)
	}
	for _, k := range s.Kwargs {
		add(k.Type)
	}
	if s.Result != nil {
		add(*s.Result)
	}
	for _, t := range s.Outputs {
		add(t)
	}
	return out
}
