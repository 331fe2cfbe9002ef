package sig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mrun-dev/mrun/abi/wasmsection"
)

// maxDepth bounds the nesting of types (list[list[...]]), so that a hostile section cannot
// exhaust the stack.
const maxDepth = 32

// maxName is the longest function name, as ABI.md 1.4 allows (abi.MaxFuncName).
const maxName = 128

// Parse reads the text of a signature section (ABI.md section 10): UTF-8, one signature a line,
// blank lines and lines starting with "#" ignored. A malformed line, or a function described
// twice, is a *SyntaxError naming the line and column.
func Parse(text []byte) ([]*Signature, error) {
	var sigs []*Signature
	first := map[string]int{}
	for n, line := range strings.Split(string(text), "\n") {
		line = strings.TrimSuffix(line, "\r")
		s, err := parseLine(line, n+1)
		if err != nil {
			return nil, err
		}
		if s == nil {
			continue
		}
		if l, ok := first[s.Name]; ok {
			return nil, &SyntaxError{Line: n + 1, Column: 1, Msg: fmt.Sprintf("function %q is described twice (first on line %d)", s.Name, l)}
		}
		first[s.Name] = n + 1
		s.Line = n + 1
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// Read returns the signatures a WebAssembly module carries in its "mrun.signatures" custom
// section, without compiling or running it: none when it has no such section. More than one
// section, or one that does not parse, is an error; bytes that are not a module give an error
// wrapping wasmsection.ErrNotWasm. Whether each signature names a function
// the module exports is for the runtime to check, when it loads the module.
func Read(wasm []byte) ([]*Signature, error) {
	secs, err := wasmsection.Custom(wasm, SectionName)
	if err != nil {
		return nil, err
	}
	switch len(secs) {
	case 0:
		return nil, nil
	case 1:
		return Parse(secs[0])
	}
	return nil, fmt.Errorf("the module has %d %q custom sections, want at most one", len(secs), SectionName)
}

// Embed returns wasm with sigs, in canonical form, as its "mrun.signatures" custom section:
// the section the module had is replaced, every other section is copied byte for byte.
func Embed(wasm []byte, sigs []*Signature) ([]byte, error) {
	return wasmsection.Set(wasm, SectionName, Format(sigs))
}

// ParseLine reads one signature line, without its line end.
func ParseLine(line string) (*Signature, error) {
	s, err := parseLine(line, 1)
	if err == nil && s == nil {
		err = &SyntaxError{Line: 1, Column: 1, Msg: "no signature on the line"}
	}
	return s, err
}

type parser struct {
	s    string
	i    int
	line int
}

func (p *parser) errAt(i int, format string, args ...any) error {
	return &SyntaxError{Line: p.line, Column: i + 1, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) errf(format string, args ...any) error { return p.errAt(p.i, format, args...) }

func (p *parser) ws() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *parser) eat(tok string) bool {
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

// found describes what is at the parser's position, for error messages.
func (p *parser) found() string {
	if p.i >= len(p.s) {
		return "the end of the line"
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	return fmt.Sprintf("%q", r)
}

func (p *parser) expect(tok string) error {
	if !p.eat(tok) {
		return p.errf("want %q, found %s", tok, p.found())
	}
	return nil
}

func identStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func identByte(c byte) bool  { return identStart(c) || '0' <= c && c <= '9' }

func (p *parser) ident(what string) (string, error) {
	start := p.i
	if p.i >= len(p.s) || !identStart(p.s[p.i]) {
		return "", p.errf("want %s (a letter or _, then letters, digits or _), found %s", what, p.found())
	}
	for p.i < len(p.s) && identByte(p.s[p.i]) {
		p.i++
	}
	return p.s[start:p.i], nil
}

func parseLine(line string, n int) (*Signature, error) {
	p := &parser{s: line, line: n}
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRuneInString(line[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return nil, p.errAt(i, "invalid UTF-8")
		case r < ' ' && r != '\t' || r == 0x7f:
			return nil, p.errAt(i, "control character %q", r)
		}
		i += size
	}
	p.ws()
	if p.i == len(line) || line[p.i] == '#' {
		return nil, nil
	}
	s := &Signature{Pure: true, Params: []Param{}, Kwargs: []Kwarg{}}
	var err error
	if s.Name, err = p.funcName(); err != nil {
		return nil, err
	}
	p.ws()
	if err := p.expect("("); err != nil {
		return nil, err
	}
	if err := p.params(s); err != nil {
		return nil, err
	}
	p.ws()
	if err := p.expect("->"); err != nil {
		return nil, err
	}
	p.ws()
	if err := p.result(s); err != nil {
		return nil, err
	}
	p.ws()
	if strings.HasPrefix(p.s[p.i:], "impure") && (p.i+6 == len(p.s) || !identByte(p.s[p.i+6])) {
		p.i += 6
		s.Pure = false
		p.ws()
	}
	if p.eat("--") {
		s.Doc = strings.TrimSpace(p.s[p.i:])
		return s, nil
	}
	if p.i < len(p.s) {
		return nil, p.errf("want \"impure\", \"--\" and a doc, or the end of the line; found %s", p.found())
	}
	return s, nil
}

func (p *parser) funcName() (string, error) {
	start := p.i
	var name string
	if p.s[p.i] == '"' {
		dec := json.NewDecoder(strings.NewReader(p.s[p.i:]))
		if err := dec.Decode(&name); err != nil {
			return "", p.errf("a quoted function name must be a JSON string: %v", err)
		}
		p.i += int(dec.InputOffset())
	} else {
		for p.i < len(p.s) && nameByte(p.s[p.i]) {
			p.i++
		}
		name = p.s[start:p.i]
	}
	switch {
	case name == "":
		return "", p.errf("want a function name, found %s", p.found())
	case len(name) > maxName:
		return "", p.errAt(start, "function name is %d bytes, over the limit of %d", len(name), maxName)
	case strings.IndexByte(name, 0) >= 0:
		return "", p.errAt(start, "function name contains NUL")
	}
	return name, nil
}

// params reads the parameter list after "(" and the ")" that ends it.
func (p *parser) params(s *Signature) error {
	p.ws()
	if p.eat(")") {
		return nil
	}
	kw := false
	seen := map[string]bool{}
	for {
		p.ws()
		star := p.i
		if p.eat("*") {
			if kw {
				return p.errAt(star, "a second \"*\"")
			}
			kw = true
			p.ws()
			if p.i < len(p.s) && identStart(p.s[p.i]) {
				// *name: T takes any number of further positional arguments, as in Python;
				// keyword parameters may follow it directly.
				name, t, err := p.param(seen)
				if err != nil {
					return err
				}
				if p.i < len(p.s) && p.s[p.i] == '=' {
					return p.errf("*%s takes the remaining positional arguments and has no default", name)
				}
				s.Variadic = &Param{Name: name, Type: t}
			}
		} else {
			name, t, err := p.param(seen)
			if err != nil {
				return err
			}
			if !kw {
				if p.i < len(p.s) && p.s[p.i] == '=' {
					return p.errf("a positional parameter has no default: put keyword parameters after \"*\"")
				}
				s.Params = append(s.Params, Param{Name: name, Type: t})
			} else {
				k := Kwarg{Name: name, Type: t}
				if p.eat("=") {
					p.ws()
					if k.Default, err = p.literal(t); err != nil {
						return err
					}
				}
				s.Kwargs = append(s.Kwargs, k)
			}
		}
		p.ws()
		if p.eat(")") {
			break
		}
		if err := p.expect(","); err != nil {
			return p.errf("want \",\" or \")\", found %s", p.found())
		}
	}
	if kw && len(s.Kwargs) == 0 && s.Variadic == nil {
		return p.errAt(p.i-1, "\"*\" must be followed by keyword parameters")
	}
	return nil
}

// param reads "name: type" and the spaces after it; a name already in seen is an error, and
// the name is added to seen.
func (p *parser) param(seen map[string]bool) (string, Type, error) {
	at := p.i
	name, err := p.ident("a parameter name")
	if err != nil {
		return "", Type{}, err
	}
	if seen[name] {
		return "", Type{}, p.errAt(at, "parameter %q is described twice", name)
	}
	seen[name] = true
	p.ws()
	if err := p.expect(":"); err != nil {
		return "", Type{}, err
	}
	p.ws()
	t, err := p.typ(0)
	if err != nil {
		return "", Type{}, err
	}
	p.ws()
	return name, t, nil
}

func (p *parser) result(s *Signature) error {
	if !p.eat("(") {
		t, err := p.typ(0)
		s.Result = &t
		return err
	}
	start := p.i - 1
	for {
		p.ws()
		t, err := p.typ(0)
		if err != nil {
			return err
		}
		s.Outputs = append(s.Outputs, t)
		p.ws()
		if p.eat(")") {
			break
		}
		if !p.eat(",") {
			return p.errf("want \",\" or \")\", found %s", p.found())
		}
	}
	if len(s.Outputs) < 2 {
		return p.errAt(start, "a list of outputs has at least two types; write one output without parentheses")
	}
	return nil
}

func (p *parser) typ(depth int) (Type, error) {
	if depth >= maxDepth {
		return Type{}, p.errf("types nested over %d deep", maxDepth)
	}
	at := p.i
	name, err := p.ident("a type")
	if err != nil {
		return Type{}, err
	}
	t := Type{Name: name}
	p.ws()
	if !p.eat("[") {
		return t, nil
	}
	p.ws()
	switch name {
	case List:
		e, err := p.typ(depth + 1)
		if err != nil {
			return t, err
		}
		t.Elem = &e
	case Map:
		k := p.i
		key, err := p.ident("a key type")
		if err != nil {
			return t, err
		}
		if key != Str {
			return t, p.errAt(k, "map keys are str, not %s", key)
		}
		p.ws()
		if err := p.expect(","); err != nil {
			return t, err
		}
		p.ws()
		e, err := p.typ(depth + 1)
		if err != nil {
			return t, err
		}
		t.Elem = &e
	case Tensor:
		k := p.i
		if t.DType, err = p.ident("a dtype"); err != nil {
			return t, err
		}
		if !slices.Contains(DTypes, t.DType) {
			return t, p.errAt(k, "unknown dtype %q (want one of %s)", t.DType, strings.Join(DTypes, ", "))
		}
	case Int, Float, Bool, Str, Bytes, Any, None, Table:
		return t, p.errAt(at, "type %s takes no parameters", name)
	default:
		// A type of a later revision: keep its parameters as written.
		start, level := p.i, 1
		for ; p.i < len(p.s); p.i++ {
			if c := p.s[p.i]; c == '[' {
				if level++; level > maxDepth {
					return t, p.errf("types nested over %d deep", maxDepth)
				}
			} else if c == ']' {
				if level--; level == 0 {
					break
				}
			}
		}
		if level != 0 {
			return t, p.errf("want \"]\", found the end of the line")
		}
		t.Args = strings.TrimSpace(p.s[start:p.i])
		if t.Args == "" {
			return t, p.errf("empty \"[]\" after %s", name)
		}
	}
	p.ws()
	return t, p.expect("]")
}

// literal reads a JSON default for a keyword parameter of type t and returns it compacted.
func (p *parser) literal(t Type) (json.RawMessage, error) {
	at := p.i
	dec := json.NewDecoder(strings.NewReader(p.s[p.i:]))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil || p.i == len(p.s) {
		return nil, p.errf("want a JSON literal as the default, found %s", p.found())
	}
	p.i += int(dec.InputOffset())
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, p.errAt(at, "default: %v", err)
	}
	if err := fits(b.Bytes(), t); err != nil {
		return nil, p.errAt(at, "default %s %v", b.Bytes(), err)
	}
	return json.RawMessage(b.Bytes()), nil
}

// fits checks the JSON kind of a default against the type it is a default of; null fits
// every type. Only the outer kind is checked.
func fits(v []byte, t Type) error {
	if string(v) == "null" || !t.Known() || t.Name == Any {
		return nil
	}
	ok := false
	switch c := v[0]; {
	case c == '"':
		ok = t.Name == Str
	case c == 't' || c == 'f':
		ok = t.Name == Bool
	case c == '[':
		ok = t.Name == List
	case c == '{':
		ok = t.Name == Map
	default: // a number
		ok = t.Name == Float || t.Name == Int && !strings.ContainsAny(string(v), ".eE")
	}
	if !ok {
		return fmt.Errorf("is not a%s %s", article(t.String()), t)
	}
	return nil
}

func article(s string) string {
	if strings.ContainsRune("aeiou", rune(s[0])) {
		return "n"
	}
	return ""
}

// ParseType reads one type in the notation of a signature: "list[float]", "tensor[int8]".
func ParseType(text string) (Type, error) {
	p := &parser{s: text, line: 1}
	p.ws()
	t, err := p.typ(0)
	if err != nil {
		return Type{}, err
	}
	p.ws()
	if p.i < len(p.s) {
		return Type{}, p.errf("unexpected %s after the type", p.found())
	}
	return t, nil
}

// UnmarshalJSON reads a type from its text, as MarshalJSON writes it.
func (t *Type) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a type is a JSON string: %w", err)
	}
	v, err := ParseType(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}
