package table

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mrun-dev/mrun/abi"
)

// This file is the small expression language of filter and assign (docs/tables.md):
//
//	or   := and ("or" and)*
//	and  := not ("and" not)*
//	not  := "not" not | cmp
//	cmp  := sum (("==" | "!=" | "<" | "<=" | ">" | ">=") sum)?
//	sum  := prod (("+" | "-") prod)*
//	prod := neg (("*" | "/") neg)*
//	neg  := "-" neg | atom
//	atom := number | string | "true" | "false" | column | "(" or ")"
//
// A column is a name of letters, digits and '_' that does not start with a digit, or any
// name between backquotes. Strings are quoted with ' or ", with \ escaping the next character.

// node is a parsed expression.
type node struct {
	op   string // "col", "lit", "not", "neg", "and", "or", "+", "==", …
	name string // col
	lit  any    // lit: int64, float64, string or bool
	x, y *node
	pos  int // byte offset in the source, for errors
}

type token struct {
	kind string // "num", "str", "ident", "op", "eof"
	text string
	val  any
	pos  int
}

// exprError is a syntax or type error in an expression, at a byte offset of its source.
func exprError(src string, pos int, format string, args ...any) error {
	return fmt.Errorf("table: expression %q, at offset %d: %s", src, pos, fmt.Sprintf(format, args...))
}

func lex(src string) ([]token, error) {
	var out []token
	i := 0
	for i < len(src) {
		r, w := utf8.DecodeRuneInString(src[i:])
		switch {
		case unicode.IsSpace(r):
			i += w
		case r >= '0' && r <= '9' || r == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			isFloat := false
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.' || src[j] == 'e' || src[j] == 'E' ||
				(src[j] == '+' || src[j] == '-') && (src[j-1] == 'e' || src[j-1] == 'E')) {
				if src[j] == '.' || src[j] == 'e' || src[j] == 'E' {
					isFloat = true
				}
				j++
			}
			text := src[i:j]
			var v any
			var err error
			if isFloat {
				v, err = strconv.ParseFloat(text, 64)
			} else {
				v, err = strconv.ParseInt(text, 10, 64)
			}
			if err != nil {
				return nil, exprError(src, i, "bad number %q", text)
			}
			out = append(out, token{kind: "num", text: text, val: v, pos: i})
			i = j
		case r == '\'' || r == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(src) && src[j] != byte(r); j++ {
				if src[j] == '\\' && j+1 < len(src) {
					j++
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) {
				return nil, exprError(src, i, "string is not closed")
			}
			out = append(out, token{kind: "str", text: src[i : j+1], val: b.String(), pos: i})
			i = j + 1
		case r == '`':
			j := strings.IndexByte(src[i+1:], '`')
			if j < 0 {
				return nil, exprError(src, i, "column name in backquotes is not closed")
			}
			out = append(out, token{kind: "ident", text: src[i+1 : i+1+j], pos: i})
			i += j + 2
		case r == '_' || unicode.IsLetter(r):
			j := i
			for j < len(src) {
				r, w := utf8.DecodeRuneInString(src[j:])
				if r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					break
				}
				j += w
			}
			out = append(out, token{kind: "ident", text: src[i:j], pos: i})
			i = j
		default:
			op := ""
			for _, o := range []string{"==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "(", ")"} {
				if strings.HasPrefix(src[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				return nil, exprError(src, i, "unexpected %q", r)
			}
			out = append(out, token{kind: "op", text: op, pos: i})
			i += len(op)
		}
	}
	return append(out, token{kind: "eof", pos: len(src)}), nil
}

type exprParser struct {
	src  string
	toks []token
	k    int
}

// parseExpr parses src.
func parseExpr(src string) (*node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &exprParser{src: src, toks: toks}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "eof" {
		return nil, exprError(src, t.pos, "unexpected %q after the expression", t.text)
	}
	return n, nil
}

func (p *exprParser) peek() token { return p.toks[p.k] }

// word reports whether the next token is the keyword w, and consumes it if so.
func (p *exprParser) word(w string) bool {
	if t := p.peek(); t.kind == "ident" && t.text == w && p.src[t.pos] != '`' {
		p.k++
		return true
	}
	return false
}

func (p *exprParser) sym(ops ...string) (string, int, bool) {
	t := p.peek()
	if t.kind == "op" {
		for _, o := range ops {
			if t.text == o {
				p.k++
				return o, t.pos, true
			}
		}
	}
	return "", 0, false
}

func (p *exprParser) or() (*node, error) {
	x, err := p.and()
	for err == nil {
		pos := p.peek().pos
		if !p.word("or") {
			break
		}
		var y *node
		if y, err = p.and(); err == nil {
			x = &node{op: "or", x: x, y: y, pos: pos}
		}
	}
	return x, err
}

func (p *exprParser) and() (*node, error) {
	x, err := p.not()
	for err == nil {
		pos := p.peek().pos
		if !p.word("and") {
			break
		}
		var y *node
		if y, err = p.not(); err == nil {
			x = &node{op: "and", x: x, y: y, pos: pos}
		}
	}
	return x, err
}

func (p *exprParser) not() (*node, error) {
	pos := p.peek().pos
	if p.word("not") {
		x, err := p.not()
		return &node{op: "not", x: x, pos: pos}, err
	}
	return p.cmp()
}

func (p *exprParser) cmp() (*node, error) {
	x, err := p.sum()
	if err != nil {
		return nil, err
	}
	if op, pos, ok := p.sym("==", "!=", "<=", ">=", "<", ">"); ok {
		y, err := p.sum()
		if err != nil {
			return nil, err
		}
		x = &node{op: op, x: x, y: y, pos: pos}
		if _, pos, ok := p.sym("==", "!=", "<=", ">=", "<", ">"); ok {
			return nil, exprError(p.src, pos, "comparisons do not chain: join them with and")
		}
	}
	return x, nil
}

func (p *exprParser) sum() (*node, error) {
	x, err := p.prod()
	for err == nil {
		op, pos, ok := p.sym("+", "-")
		if !ok {
			break
		}
		var y *node
		if y, err = p.prod(); err == nil {
			x = &node{op: op, x: x, y: y, pos: pos}
		}
	}
	return x, err
}

func (p *exprParser) prod() (*node, error) {
	x, err := p.neg()
	for err == nil {
		op, pos, ok := p.sym("*", "/")
		if !ok {
			break
		}
		var y *node
		if y, err = p.neg(); err == nil {
			x = &node{op: op, x: x, y: y, pos: pos}
		}
	}
	return x, err
}

func (p *exprParser) neg() (*node, error) {
	if _, pos, ok := p.sym("-"); ok {
		x, err := p.neg()
		return &node{op: "neg", x: x, pos: pos}, err
	}
	return p.atom()
}

func (p *exprParser) atom() (*node, error) {
	t := p.peek()
	switch t.kind {
	case "num", "str":
		p.k++
		return &node{op: "lit", lit: t.val, pos: t.pos}, nil
	case "ident":
		p.k++
		quoted := p.src[t.pos] == '`'
		switch {
		case !quoted && t.text == "true":
			return &node{op: "lit", lit: true, pos: t.pos}, nil
		case !quoted && t.text == "false":
			return &node{op: "lit", lit: false, pos: t.pos}, nil
		case !quoted && (t.text == "and" || t.text == "or" || t.text == "not"):
			return nil, exprError(p.src, t.pos, "expected a value, found %q", t.text)
		}
		return &node{op: "col", name: t.text, pos: t.pos}, nil
	case "op":
		if t.text == "(" {
			p.k++
			x, err := p.or()
			if err != nil {
				return nil, err
			}
			if _, _, ok := p.sym(")"); !ok {
				return nil, exprError(p.src, p.peek().pos, "expected \")\"")
			}
			return x, nil
		}
	case "eof":
		return nil, exprError(p.src, t.pos, "the expression ends where a value is expected")
	}
	return nil, exprError(p.src, t.pos, "expected a value, found %q", t.text)
}

// evalExpr computes n over the rows of f, as a column of f.n values (name unset).
func evalExpr(src string, n *node, f *frame) (col, error) {
	switch n.op {
	case "col":
		c, err := f.column(n.name)
		if err != nil {
			return col{}, exprError(src, n.pos, "%v", strings.TrimPrefix(err.Error(), "table: "))
		}
		return *c, nil
	case "lit":
		return broadcast(n.lit, f.n), nil
	}
	x, err := evalExpr(src, n.x, f)
	if err != nil {
		return col{}, err
	}
	switch n.op {
	case "not":
		if x.typ != abi.ColBool {
			return col{}, exprError(src, n.pos, "not needs a bool, got %s", x.typ)
		}
		out := make([]bool, len(x.b))
		for i, v := range x.b {
			out[i] = !v
		}
		return col{typ: abi.ColBool, b: out}, nil
	case "neg":
		switch x.typ {
		case abi.ColInt64:
			out := make([]int64, len(x.i))
			for i, v := range x.i {
				out[i] = -v
			}
			return col{typ: abi.ColInt64, i: out}, nil
		case abi.ColFloat64:
			out := make([]float64, len(x.f))
			for i, v := range x.f {
				out[i] = -v
			}
			return col{typ: abi.ColFloat64, f: out}, nil
		}
		return col{}, exprError(src, n.pos, "- needs a number, got %s", x.typ)
	}
	y, err := evalExpr(src, n.y, f)
	if err != nil {
		return col{}, err
	}
	switch n.op {
	case "and", "or":
		if x.typ != abi.ColBool || y.typ != abi.ColBool {
			return col{}, exprError(src, n.pos, "%s needs bools, got %s and %s", n.op, x.typ, y.typ)
		}
		out := make([]bool, len(x.b))
		for i := range out {
			if n.op == "and" {
				out[i] = x.b[i] && y.b[i]
			} else {
				out[i] = x.b[i] || y.b[i]
			}
		}
		return col{typ: abi.ColBool, b: out}, nil
	case "+", "-", "*", "/":
		return arith(src, n, x, y)
	}
	return compare(src, n, x, y)
}

// broadcast returns literal v repeated n times.
func broadcast(v any, n int) col {
	switch x := v.(type) {
	case int64:
		out := make([]int64, n)
		for i := range out {
			out[i] = x
		}
		return col{typ: abi.ColInt64, i: out}
	case float64:
		out := make([]float64, n)
		for i := range out {
			out[i] = x
		}
		return col{typ: abi.ColFloat64, f: out}
	case bool:
		out := make([]bool, n)
		for i := range out {
			out[i] = x
		}
		return col{typ: abi.ColBool, b: out}
	}
	out := make([]string, n)
	for i := range out {
		out[i] = v.(string)
	}
	return col{typ: abi.ColString, s: out}
}

func isNum(t abi.ColumnType) bool { return t == abi.ColInt64 || t == abi.ColFloat64 }

// floats returns a numeric column as float64 values.
func floats(c col) []float64 {
	if c.typ == abi.ColFloat64 {
		return c.f
	}
	out := make([]float64, len(c.i))
	for i, v := range c.i {
		out[i] = float64(v)
	}
	return out
}

// arith computes + - * / as pandas does: int64 with int64 stays int64 (wrapping on
// overflow) except for /, which is true division; any float makes float64.
func arith(src string, n *node, x, y col) (col, error) {
	if !isNum(x.typ) || !isNum(y.typ) {
		return col{}, exprError(src, n.pos, "%s needs numbers, got %s and %s", n.op, x.typ, y.typ)
	}
	if x.typ == abi.ColInt64 && y.typ == abi.ColInt64 && n.op != "/" {
		out := make([]int64, len(x.i))
		for i := range out {
			switch n.op {
			case "+":
				out[i] = x.i[i] + y.i[i]
			case "-":
				out[i] = x.i[i] - y.i[i]
			default:
				out[i] = x.i[i] * y.i[i]
			}
		}
		return col{typ: abi.ColInt64, i: out}, nil
	}
	a, b := floats(x), floats(y)
	out := make([]float64, len(a))
	for i := range out {
		switch n.op {
		case "+":
			out[i] = a[i] + b[i]
		case "-":
			out[i] = a[i] - b[i]
		case "*":
			out[i] = a[i] * b[i]
		default:
			out[i] = a[i] / b[i]
		}
	}
	return col{typ: abi.ColFloat64, f: out}, nil
}

// compare computes a comparison. Numbers compare with numbers (an int64 with a float64 as
// float64), strings with strings, bools with bools, timestamps with timestamps or with an
// RFC 3339 string literal. NaN compares unequal to everything, as in pandas.
func compare(src string, n *node, x, y col) (col, error) {
	if x.typ == abi.ColTimestamp && y.typ == abi.ColString && n.y.op == "lit" {
		if y2, err := timeLit(src, n.y); err != nil {
			return col{}, err
		} else {
			y = broadcast(y2, len(x.i))
			y.typ = abi.ColTimestamp
		}
	}
	if y.typ == abi.ColTimestamp && x.typ == abi.ColString && n.x.op == "lit" {
		x2, err := timeLit(src, n.x)
		if err != nil {
			return col{}, err
		}
		x = broadcast(x2, len(y.i))
		x.typ = abi.ColTimestamp
	}
	num := isNum(x.typ) && isNum(y.typ)
	if !num && x.typ != y.typ {
		return col{}, exprError(src, n.pos, "%s compares %s with %s: compare numbers with numbers, strings with strings, bools with bools, timestamps with timestamps", n.op, x.typ, y.typ)
	}
	if num && x.typ != y.typ {
		x, y = col{typ: abi.ColFloat64, f: floats(x)}, col{typ: abi.ColFloat64, f: floats(y)}
	}
	out := make([]bool, x.len())
	for i := range out {
		var r int
		if x.typ == abi.ColFloat64 && (math.IsNaN(x.f[i]) || math.IsNaN(y.f[i])) {
			out[i] = n.op == "!="
			continue
		}
		r = compareAt(&x, i, &y, i, false)
		switch n.op {
		case "==":
			out[i] = r == 0
		case "!=":
			out[i] = r != 0
		case "<":
			out[i] = r < 0
		case "<=":
			out[i] = r <= 0
		case ">":
			out[i] = r > 0
		default:
			out[i] = r >= 0
		}
	}
	return col{typ: abi.ColBool, b: out}, nil
}

func timeLit(src string, n *node) (int64, error) {
	t, err := time.Parse(time.RFC3339Nano, n.lit.(string))
	if err != nil {
		return 0, exprError(src, n.pos, "%q is not an RFC 3339 time to compare a timestamp with", n.lit)
	}
	return t.UnixNano(), nil
}
