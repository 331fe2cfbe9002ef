package graphfile

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// This file turns the bytes of a graph file (YAML, or JSON, which YAML parses too) into a tree
// of vnodes that remembers where every value came from, so that later checks can name the
// line. Nothing here knows what a task is.

// pos is a place in a graph file. The zero pos means "the file as a whole".
type pos struct{ line, col int }

// Error is a problem at a place in a graph file. It prints as file:line:col: message, the
// form editors and terminals turn into links.
type Error struct {
	file string
	pos  pos
	msg  string
}

// Error returns file:line:col: message, or file: message for the file as a whole.
func (e *Error) Error() string {
	if e.pos.line == 0 {
		return e.file + ": " + e.msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.file, e.pos.line, e.pos.col, e.msg)
}

// vkind is the kind of a vnode or sval.
type vkind uint8

const (
	vLit  vkind = iota // a scalar: nil, bool, int64, uint64, float64, string or []byte
	vList              // a sequence
	vMap               // a mapping with string keys, in file order
	vRef               // a reference: $task, $task[1], $item, ...
)

// vnode is one value of a graph file.
type vnode struct {
	kind    vkind
	pos     pos
	lit     any
	items   []*vnode // vList items; vMap values
	keys    []string // vMap keys
	keyPos  []pos    // vMap key positions
	ref     *refExpr // vRef
	literal bool     // vLit from a quoted, tagged or block string: never a reference
	hasRef  bool     // a reference is in this value, at any depth
	cache   *sval    // the value once resolved, when it has no references
}

// get returns the value of key k of a vMap, or nil.
func (n *vnode) get(k string) *vnode {
	for i, key := range n.keys {
		if key == k {
			return n.items[i]
		}
	}
	return nil
}

// refExpr is a parsed reference: a name and index steps, each an index or -1 for [*].
type refExpr struct {
	raw   string
	name  string
	steps []int
}

// Limits on what a graph file may make the parser build, so that a hostile or mistaken file
// fails with a message instead of exhausting memory.
const (
	maxNesting    = 256       // nesting of lists and maps
	maxAliasNodes = 1_000_000 // values produced by expanding YAML aliases
)

// DefaultMaxCalls is the usual limit on the calls a graph file expands to (mrun's --max-calls).
// At about CallBytes each, a graph at the limit plans and runs in under 2 GiB.
const DefaultMaxCalls = 1 << 20

// maxCalls is the limit Parse applies: DefaultMaxCalls, lowered by the fuzz tests.
var maxCalls = DefaultMaxCalls

// yamlReader converts one parsed YAML document into vnodes.
type yamlReader struct {
	file       string
	anchors    map[string]ast.Node
	aliasNodes int // values built through aliases so far
}

// parseYAML parses src (YAML or JSON) into a vnode tree.
func parseYAML(file string, src []byte) (v *vnode, err error) {
	src = bytes.TrimPrefix(src, byteOrderMark)
	// JSON is read without the YAML parser's copies. The JSON reader takes UTF-8 strings only
	// and ASCII between them, so the text needs checking only when it leaves a file to YAML.
	if v, ok := parseJSONGraph(src); ok {
		return v, nil
	}
	if err := checkText(file, src); err != nil {
		return nil, err
	}
	return parseYAMLText(file, src)
}

// parseYAMLText parses src with the YAML parser.
func parseYAMLText(file string, src []byte) (v *vnode, err error) {
	defer func() { // a parser bug must not crash mrun with a stack trace
		if r := recover(); r != nil {
			v, err = nil, &Error{file: file, msg: fmt.Sprintf("cannot parse the file as YAML (%v)", r)}
		}
	}()
	f, err := parser.ParseBytes(src, 0)
	if err != nil {
		return nil, yamlError(file, src, err)
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	switch len(docs) {
	case 0:
		return nil, &Error{file: file, msg: "the graph file is empty"}
	case 1:
	default:
		return nil, &Error{file: file, pos: posOf(docs[1].Body), msg: fmt.Sprintf("the graph file holds %d YAML documents; want one", len(docs))}
	}
	r := &yamlReader{file: file, anchors: map[string]ast.Node{}}
	return r.node(docs[0].Body, 0, false)
}

// yamlError turns a parser error into an Error at its token, with a hint for the mistakes
// YAML makes easy: a tab that indents a line, and a reference with an index unquoted inside
// [ ] or { }.
func yamlError(file string, src []byte, err error) error {
	if ye, ok := err.(yaml.Error); ok && ye.GetToken() != nil {
		p := ye.GetToken().Position
		line := lineAt(src, p.Line)
		if indent := strings.TrimLeft(line, " "); strings.HasPrefix(indent, "\t") && strings.Contains(ye.GetMessage(), "'\t'") {
			col := len(line) - len(indent) + 1
			return &Error{file: file, pos: pos{p.Line, col}, msg: "a tab indents this line: YAML indents with spaces only; replace the tab with spaces"}
		}
		msg := ye.GetMessage()
		if m := flowIndexRef.FindStringSubmatch(line); m != nil {
			msg += fmt.Sprintf(" (inside [ ] or { }, quote a reference with an index, as in %q, or write %s)", m[1], dotRef(m[1]))
		}
		return &Error{file: file, pos: pos{p.Line, p.Column}, msg: msg}
	}
	return &Error{file: file, msg: oneLine(err.Error())}
}

// flowIndexRef finds a reference with a [ ] index written unquoted after the [ , { or : of
// a flow collection, where YAML reads the [ as the start of a list.
var flowIndexRef = regexp.MustCompile(`[\[,{:]\s*(\$[A-Za-z_][A-Za-z0-9_-]*(?:\[[0-9*]*\])+)`)

// dotRef writes reference r, $t[0][*], in the dot form: $t.0.*.
func dotRef(r string) string {
	return strings.NewReplacer("[", ".", "]", "").Replace(r)
}

// lineAt returns line n (from 1) of src, without its line break.
func lineAt(src []byte, n int) string {
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return ""
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return strings.TrimSuffix(string(src), "\r")
}

// byteOrderMark is the UTF-8 byte-order mark some editors start a file with: it is skipped.
var byteOrderMark = []byte("\xef\xbb\xbf")

// wasmMagic starts every WebAssembly module.
var wasmMagic = []byte("\x00asm")

// checkText checks that src is text a graph file can be. A graph file is UTF-8: other bytes are an error at their place rather than
// text silently changed (the YAML parser would read a Latin-1 é as U+FFFD), and binary data,
// a WebAssembly module passed where a graph file goes most of all, is named as such rather
// than reported as a YAML syntax error deep inside it.
func checkText(file string, src []byte) error {
	if bytes.HasPrefix(src, wasmMagic) {
		return &Error{file: file, msg: "this is a WebAssembly module, not a graph file: call its functions with mrun call, or name it under modules: in a graph file"}
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return &Error{file: file, pos: textPos(src, i), msg: "binary data (byte 0x00): a graph file is YAML or JSON text"}
	}
	if utf8.Valid(src) {
		return nil
	}
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && n <= 1 {
			return &Error{file: file, pos: textPos(src, i), msg: fmt.Sprintf("invalid UTF-8 (byte 0x%02x): a graph file is UTF-8 text; save it as UTF-8", src[i])}
		}
		i += n
	}
	return nil
}

// textPos returns the place of src[off]: its line, and its column in characters, as the
// parsers count them.
func textPos(src []byte, off int) pos {
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	return pos{line, 1 + utf8.RuneCount(src[start:off])}
}

func posOf(n ast.Node) pos {
	if n == nil || n.GetToken() == nil || n.GetToken().Position == nil {
		return pos{}
	}
	p := n.GetToken().Position
	return pos{p.Line, p.Column}
}

func (r *yamlReader) errorf(n ast.Node, format string, args ...any) error {
	return &Error{file: r.file, pos: posOf(n), msg: fmt.Sprintf(format, args...)}
}

// jsonNumber is the grammar of a JSON number. YAML's core schema reads some of them (1e3) as
// strings; a graph file that is JSON means them as numbers.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$`)

func (r *yamlReader) node(n ast.Node, depth int, viaAlias bool) (*vnode, error) {
	if depth > maxNesting {
		return nil, r.errorf(n, "values nest deeper than %d levels", maxNesting)
	}
	if viaAlias {
		r.aliasNodes++
		if r.aliasNodes > maxAliasNodes {
			return nil, r.errorf(n, "YAML aliases expand to more than %d values", maxAliasNodes)
		}
	}
	p := posOf(n)
	switch n := n.(type) {
	case *ast.NullNode:
		return &vnode{kind: vLit, pos: p}, nil
	case *ast.BoolNode:
		return &vnode{kind: vLit, pos: p, lit: n.Value}, nil
	case *ast.IntegerNode:
		switch v := n.Value.(type) {
		case int64:
			return &vnode{kind: vLit, pos: p, lit: v}, nil
		case uint64: // the parser's choice for every non-negative integer
			if v <= math.MaxInt64 {
				return &vnode{kind: vLit, pos: p, lit: int64(v)}, nil
			}
			return &vnode{kind: vLit, pos: p, lit: v}, nil
		}
		return nil, r.errorf(n, "integer %s is out of range", n.Token.Value)
	case *ast.FloatNode:
		return &vnode{kind: vLit, pos: p, lit: n.Value}, nil
	case *ast.InfinityNode:
		return &vnode{kind: vLit, pos: p, lit: n.Value}, nil
	case *ast.NanNode:
		return &vnode{kind: vLit, pos: p, lit: math.NaN()}, nil
	case *ast.StringNode:
		if n.Token.Type == token.StringType && jsonNumber.MatchString(n.Value) {
			return &vnode{kind: vLit, pos: p, lit: jsonNumberValue(n.Value)}, nil
		}
		return r.str(n.Value, p)
	case *ast.LiteralNode: // block scalars (| and >) are text, never references
		return &vnode{kind: vLit, pos: p, lit: n.Value.Value, literal: true}, nil
	case *ast.AnchorNode:
		r.anchors[n.Name.GetToken().Value] = n.Value
		return r.node(n.Value, depth, viaAlias)
	case *ast.AliasNode:
		name := n.Value.GetToken().Value
		target, ok := r.anchors[name]
		if !ok {
			return nil, r.errorf(n, "unknown YAML alias *%s", name)
		}
		v, err := r.node(target, depth+1, true)
		if err != nil {
			return nil, err
		}
		return v, nil
	case *ast.TagNode:
		return r.tag(n, depth, viaAlias)
	case *ast.SequenceNode:
		v := &vnode{kind: vList, pos: p, items: make([]*vnode, 0, len(n.Values))}
		for _, item := range n.Values {
			x, err := r.node(item, depth+1, viaAlias)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, x)
			v.hasRef = v.hasRef || x.hasRef
		}
		return v, nil
	case *ast.MappingNode:
		v := &vnode{kind: vMap, pos: p}
		if len(n.Values) > 0 {
			v.pos = posOf(n.Values[0].Key)
		}
		if err := r.mapping(v, n.Values, depth, viaAlias); err != nil {
			return nil, err
		}
		return r.tagged(v)
	case *ast.MappingValueNode: // a single-pair mapping
		v := &vnode{kind: vMap, pos: posOf(n.Key)}
		if err := r.mapping(v, []*ast.MappingValueNode{n}, depth, viaAlias); err != nil {
			return nil, err
		}
		return r.tagged(v)
	}
	return nil, r.errorf(n, "unsupported YAML %s", n.Type())
}

// str reads a plain or quoted string: a reference when it starts with $, a literal otherwise;
// $$ starts a literal that begins with one $.
func (r *yamlReader) str(s string, p pos) (*vnode, error) {
	if !strings.HasPrefix(s, "$") {
		return &vnode{kind: vLit, pos: p, lit: s}, nil
	}
	if strings.HasPrefix(s, "$$") {
		return &vnode{kind: vLit, pos: p, lit: s[1:], literal: true}, nil
	}
	ref, err := parseRef(s)
	if err != nil {
		return nil, &Error{file: r.file, pos: p, msg: err.Error()}
	}
	return &vnode{kind: vRef, pos: p, ref: ref, hasRef: true}, nil
}

func jsonNumberValue(s string) any {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		return u
	}
	f, _ := strconv.ParseFloat(s, 64) // the grammar matched: only a range error is possible
	return f
}

// tagged returns the value the map v stands for: a tensor for {"$tensor": …}, a table for
// {"$table": …} (see taggedMap), and v itself for any other map.
func (r *yamlReader) tagged(v *vnode) (*vnode, error) {
	x, err := taggedMap(v)
	if err != nil {
		p := v.pos
		if le := (*LiteralError)(nil); errors.As(err, &le) && le.at != nil && le.at.pos.line > 0 {
			p = le.at.pos
		}
		return nil, &Error{file: r.file, pos: p, msg: err.Error()}
	}
	return x, nil
}

func (r *yamlReader) tag(n *ast.TagNode, depth int, viaAlias bool) (*vnode, error) {
	tag := n.Start.Value
	switch tag {
	case "!!binary", "!!str":
		s, ok := scalarText(n.Value)
		if !ok {
			return nil, r.errorf(n, "%s needs a scalar", tag)
		}
		if tag == "!!str" {
			return &vnode{kind: vLit, pos: posOf(n), lit: s, literal: true}, nil
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, r.errorf(n, "!!binary: %v", err)
		}
		return &vnode{kind: vLit, pos: posOf(n), lit: b, literal: true}, nil
	case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq":
		return r.node(n.Value, depth, viaAlias)
	case "!tensor":
		v, err := r.node(n.Value, depth, viaAlias)
		if err != nil {
			return nil, err
		}
		t, err := tensorLiteral(v, "!tensor")
		if err != nil {
			return nil, r.errorf(n, "%v", err)
		}
		return &vnode{kind: vLit, pos: posOf(n), lit: t, literal: true}, nil
	}
	return nil, r.errorf(n, "unsupported YAML tag %s (mrun knows !tensor, !!binary and !!str)", tag)
}

func scalarText(n ast.Node) (string, bool) {
	switch n := n.(type) {
	case *ast.StringNode:
		return n.Value, true
	case *ast.LiteralNode:
		return n.Value.Value, true
	case ast.ScalarNode:
		return n.GetToken().Value, true
	}
	return "", false
}

// mapping fills v with the pairs of a YAML mapping. Merge keys (<<) add the pairs of other
// mappings that v does not set itself, as YAML 1.1 defines them.
func (r *yamlReader) mapping(v *vnode, pairs []*ast.MappingValueNode, depth int, viaAlias bool) error {
	var merges []*vnode
	seen := make(map[string]bool, len(pairs))
	for _, kv := range pairs {
		if _, ok := kv.Key.(*ast.MergeKeyNode); ok {
			m, err := r.node(kv.Value, depth+1, viaAlias)
			if err != nil {
				return err
			}
			switch m.kind {
			case vMap:
				merges = append(merges, m)
			case vList:
				for _, x := range m.items {
					if x.kind != vMap {
						return r.errorf(kv.Value, "a merge key (<<) takes a mapping or a list of mappings")
					}
					merges = append(merges, x)
				}
			default:
				return r.errorf(kv.Value, "a merge key (<<) takes a mapping or a list of mappings")
			}
			continue
		}
		key, ok := keyText(kv.Key)
		if !ok {
			return r.errorf(kv.Key, "map keys must be scalars")
		}
		if seen[key] {
			return r.errorf(kv.Key, "mapping key %q already defined", key)
		}
		seen[key] = true
		x, err := r.node(kv.Value, depth+1, viaAlias)
		if err != nil {
			return err
		}
		v.keys = append(v.keys, key)
		v.keyPos = append(v.keyPos, posOf(kv.Key))
		v.items = append(v.items, x)
		v.hasRef = v.hasRef || x.hasRef
	}
	for _, m := range merges {
		for i, k := range m.keys {
			if !seen[k] {
				seen[k] = true
				v.keys = append(v.keys, k)
				v.keyPos = append(v.keyPos, m.keyPos[i])
				v.items = append(v.items, m.items[i])
				v.hasRef = v.hasRef || m.items[i].hasRef
			}
		}
	}
	return nil
}

func keyText(n ast.MapKeyNode) (string, bool) {
	switch k := ast.Node(n).(type) {
	case *ast.StringNode:
		return k.Value, true
	case *ast.TagNode:
		return scalarText(k.Value)
	case *ast.NullNode:
		return "null", true
	case ast.ScalarNode:
		return k.GetToken().Value, true
	}
	return "", false
}

// refName is the grammar of names that references use: task names and item, index.
var refName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// parseRef parses "$name" followed by index steps: ".2" or "[2]" selects element 2, ".*" or
// "[*]" every element. The dot form needs no quotes inside YAML's [ ] and { }.
func parseRef(s string) (*refExpr, error) {
	rest := s[1:]
	end := strings.IndexAny(rest, ".[")
	if end < 0 {
		end = len(rest)
	}
	r := &refExpr{raw: s, name: rest[:end]}
	if !refName.MatchString(r.name) {
		return nil, fmt.Errorf("bad reference %q: a reference is $ and a task name (letters, digits, _ and -), and $$ starts a string that begins with $", s)
	}
	rest = rest[end:]
	for rest != "" {
		var ix string
		switch rest[0] {
		case '.':
			n := strings.IndexAny(rest[1:], ".[")
			if n < 0 {
				n = len(rest) - 1
			}
			ix, rest = rest[1:1+n], rest[1+n:]
		case '[':
			n := strings.IndexByte(rest, ']')
			if n < 0 {
				return nil, fmt.Errorf("bad reference %q: missing ]", s)
			}
			ix, rest = rest[1:n], rest[n+1:]
		default:
			return nil, fmt.Errorf("bad reference %q: expected .INDEX or .* after $%s", s, r.name)
		}
		if ix == "*" {
			r.steps = append(r.steps, -1)
			continue
		}
		n, err := strconv.Atoi(ix)
		if err != nil || n < 0 || ix != strconv.Itoa(n) {
			return nil, fmt.Errorf("bad reference %q: index %q is not a whole number or *", s, ix)
		}
		r.steps = append(r.steps, n)
	}
	return r, nil
}
