package gosig

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/token"
	"strconv"

	"github.com/mrun-dev/mrun/abi/sig"
)

var anyType = sig.Type{Name: sig.Any}

func list(elem sig.Type) sig.Type { return sig.Type{Name: sig.List, Elem: &elem} }

// typeOf maps the Go type e to the value model (ABI.md section 5), as the SDK decodes and
// encodes it; what the source does not tell becomes any, with a note naming what.
func (a *analysis) typeOf(e ast.Expr, fn, what string) sig.Type {
	return a.mapType(e, fn, what, map[string]bool{})
}

func (a *analysis) mapType(e ast.Expr, fn, what string, seen map[string]bool) sig.Type {
	unknown := func(why string) sig.Type {
		a.note(e.Pos(), fn, "%s: %s, written as any", what, why)
		return anyType
	}
	switch x := e.(type) {
	case *ast.ParenExpr:
		return a.mapType(x.X, fn, what, seen)
	case *ast.Ident:
		switch x.Name {
		case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "uintptr", "byte", "rune":
			return sig.Type{Name: sig.Int}
		case "float32", "float64":
			return sig.Type{Name: sig.Float}
		case "bool":
			return sig.Type{Name: sig.Bool}
		case "string":
			return sig.Type{Name: sig.Str}
		case "any":
			return anyType
		}
		if u, ok := a.types[x.Name]; ok {
			if seen[x.Name] {
				return anyType // a recursive type: its depth has no end
			}
			seen[x.Name] = true
			defer delete(seen, x.Name)
			return a.mapType(u, fn, what, seen)
		}
		return unknown("type " + x.Name + " is not one the SDK maps to a value")
	case *ast.StarExpr:
		return a.mapType(x.X, fn, what, seen)
	case *ast.SelectorExpr:
		if id, ok := x.X.(*ast.Ident); ok && id.Name == a.sdk && a.sdk != "" {
			switch x.Sel.Name {
			case "Tensor":
				return sig.Type{Name: sig.Tensor}
			case "Table":
				return sig.Type{Name: sig.Table}
			case "Object", "Raw", "Ref":
				return anyType
			case "Tuple":
				return list(anyType)
			}
		}
		return unknown("type " + exprString(x) + " is not one the SDK maps to a value")
	case *ast.ArrayType:
		if id, ok := x.Elt.(*ast.Ident); ok && (id.Name == "byte" || id.Name == "uint8") {
			return sig.Type{Name: sig.Bytes}
		}
		return list(a.mapType(x.Elt, fn, what, seen))
	case *ast.MapType:
		if id, ok := x.Key.(*ast.Ident); !ok || id.Name != "string" {
			return unknown("map keys of type " + exprString(x.Key) + " are not str")
		}
		v := a.mapType(x.Value, fn, what, seen)
		return sig.Type{Name: sig.Map, Elem: &v}
	case *ast.StructType:
		return sig.Type{Name: sig.Map}
	case *ast.InterfaceType:
		if x.Methods == nil || len(x.Methods.List) == 0 {
			return anyType
		}
	}
	return unknown(exprString(e) + " is not a type the SDK maps to a value")
}

// keywords returns the keyword parameters body reads from its mrun.Kwargs parameter kw: each
// mrun.Kwarg(kw, "name", def) gives a keyword of def's type with def as its default, each
// kw.Get("name", &v) a keyword of v's type and kw.Has("name") one of any, whose default is
// null (the function handles its absence). A keyword read twice is described once. When the
// body reads keywords the source does not name (a name that is not a constant, kw.Names, kw
// passed to another function), a signature would refuse keywords the function takes: ok is
// false, and each reason is a note.
func (a *analysis) keywords(fn, kw string, body *ast.BlockStmt) (_ []sig.Kwarg, ok bool) {
	if body == nil {
		return nil, true
	}
	ok = true
	unknown := func(pos token.Pos, format string, args ...any) {
		a.note(pos, fn, format+": no signature, which would refuse keywords the function takes (describe it with //mrun:sig)", args...)
		ok = false
	}
	locals := localTypes(body)
	var out []sig.Kwarg
	index := map[string]int{}
	add := func(k sig.Kwarg, pos token.Pos) {
		if i, ok := index[k.Name]; ok {
			if prev := out[i]; prev.Type.String() != k.Type.String() || string(prev.Default) != string(k.Default) {
				a.note(pos, fn, "keyword %q is read twice, differently: described as the first read says", k.Name)
			}
			return
		}
		index[k.Name] = len(out)
		out = append(out, k)
	}
	isKw := func(e ast.Expr) bool { id, ok := e.(*ast.Ident); return ok && id.Name == kw }
	read := map[token.Pos]bool{} // the uses of kw that read keywords the source names
	passed := map[token.Pos]string{}
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if s, ok := call.Fun.(*ast.SelectorExpr); ok && isKw(s.X) {
			read[s.X.Pos()] = true
		}
		switch {
		case a.isSDK(call.Fun, "Kwarg") && len(call.Args) == 3 && isKw(call.Args[0]):
			read[call.Args[0].Pos()] = true
			name, ok := a.constString(call.Args[1])
			if !ok {
				unknown(call.Args[1].Pos(), "mrun.Kwarg reads a keyword whose name is not a constant string")
				return true
			}
			var explicit ast.Expr
			switch f := call.Fun.(type) {
			case *ast.IndexExpr:
				explicit = f.Index
			case *ast.IndexListExpr:
				explicit = f.Indices[0]
			}
			add(a.kwargDefault(fn, name, explicit, call.Args[2]), call.Pos())
		case isSelectorOf(call.Fun, kw, "Has") && len(call.Args) == 1:
			name, ok := a.constString(call.Args[0])
			if !ok {
				unknown(call.Args[0].Pos(), "%s.Has asks for a keyword whose name is not a constant string", kw)
				return true
			}
			add(sig.Kwarg{Name: name, Type: anyType, Default: json.RawMessage("null")}, call.Pos())
		case isSelectorOf(call.Fun, kw, "Names"):
			unknown(call.Pos(), "%s.Names lists keywords the source does not name", kw)
		case isSelectorOf(call.Fun, kw, "Get") && len(call.Args) == 2:
			name, ok := a.constString(call.Args[0])
			if !ok {
				unknown(call.Args[0].Pos(), "%s.Get reads a keyword whose name is not a constant string", kw)
				return true
			}
			t := anyType
			if u, ok := call.Args[1].(*ast.UnaryExpr); ok && u.Op == token.AND {
				if id, ok := u.X.(*ast.Ident); ok && locals[id.Name] != nil {
					t = a.typeOf(locals[id.Name], fn, "keyword "+name)
				} else {
					a.note(call.Args[1].Pos(), fn, "keyword %q: the type of %s is not declared with var in %s, written as any", name, exprString(u.X), fn)
				}
			}
			add(sig.Kwarg{Name: name, Type: t, Default: json.RawMessage("null")}, call.Pos())
		default:
			for _, arg := range call.Args {
				if isKw(arg) {
					passed[arg.Pos()] = exprString(call.Fun)
				}
			}
		}
		return true
	})
	// Any other use (passed on, copied, captured) may read keywords elsewhere.
	ast.Inspect(body, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == kw && !read[id.Pos()] {
			if to, ok := passed[id.Pos()]; ok {
				unknown(id.Pos(), "%s is passed to %s, which may read keywords the source here does not name", kw, to)
			} else {
				unknown(id.Pos(), "%s is used other than by mrun.Kwarg, Get, Has and Len, so keywords may be read where the source here does not name them", kw)
			}
		}
		return true
	})
	return out, ok
}

func isSelectorOf(e ast.Expr, recv, sel string) bool {
	s, ok := e.(*ast.SelectorExpr)
	if !ok || s.Sel.Name != sel {
		return false
	}
	id, ok := s.X.(*ast.Ident)
	return ok && id.Name == recv
}

// localTypes returns the types of the variables body declares with var NAME TYPE.
func localTypes(body *ast.BlockStmt) map[string]ast.Expr {
	m := map[string]ast.Expr{}
	ast.Inspect(body, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && vs.Type != nil {
			for _, id := range vs.Names {
				m[id.Name] = vs.Type
			}
		}
		return true
	})
	return m
}

// constString returns the value of a string literal or of a package constant that is one.
func (a *analysis) constString(e ast.Expr) (string, bool) {
	lit := a.literal(e)
	if lit == nil || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// literal returns e as a basic literal, looking through package constants.
func (a *analysis) literal(e ast.Expr) *ast.BasicLit {
	switch x := e.(type) {
	case *ast.BasicLit:
		return x
	case *ast.Ident:
		return a.consts[x.Name]
	case *ast.ParenExpr:
		return a.literal(x.X)
	}
	return nil
}

// kwargDefault describes keyword name read by mrun.Kwarg with the default def, and the type
// argument explicit when the call gives one.
func (a *analysis) kwargDefault(fn, name string, explicit, def ast.Expr) sig.Kwarg {
	k := sig.Kwarg{Name: name}
	var v any
	var t sig.Type
	known := true
	neg := false
	e := def
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.SUB {
		neg, e = true, u.X
	}
	if lit := a.literal(e); lit != nil {
		switch lit.Kind {
		case token.INT, token.CHAR:
			t = sig.Type{Name: sig.Int}
			if lit.Kind == token.CHAR {
				r, _, _, err := strconv.UnquoteChar(lit.Value[1:len(lit.Value)-1], '\'')
				v, known = int64(r), err == nil
			} else if n, err := strconv.ParseInt(lit.Value, 0, 64); err == nil {
				v = n
				if neg {
					v = -n
				}
			} else if n, err := strconv.ParseUint(lit.Value, 0, 64); err == nil && !neg {
				v = n
			} else {
				known = false
			}
		case token.FLOAT:
			t = sig.Type{Name: sig.Float}
			f, err := strconv.ParseFloat(lit.Value, 64)
			if neg {
				f = -f
			}
			v, known = f, err == nil
		case token.STRING:
			t = sig.Type{Name: sig.Str}
			s, err := strconv.Unquote(lit.Value)
			v, known = s, err == nil && !neg
		default:
			known = false
		}
	} else if id, ok := e.(*ast.Ident); ok && (id.Name == "true" || id.Name == "false") && !neg {
		t, v = sig.Type{Name: sig.Bool}, id.Name == "true"
	} else if ok && id.Name == "nil" {
		t, v = anyType, nil
	} else {
		known = false
	}
	if explicit != nil {
		t = a.typeOf(explicit, fn, "keyword "+name)
	}
	if !known {
		if explicit == nil {
			t = anyType
		}
		a.note(def.Pos(), fn, "keyword %q: its default is not a literal: described with the default null", name)
		k.Type, k.Default = t, json.RawMessage("null")
		return k
	}
	k.Type, k.Default = t, jsonLiteral(v)
	return k
}

// jsonLiteral returns v as compact JSON, with <, > and & as themselves.
func jsonLiteral(v any) json.RawMessage {
	if f, ok := v.(float64); ok {
		s := strconv.FormatFloat(f, 'g', -1, 64)
		if !bytes.ContainsAny([]byte(s), ".eEn") { // keep it a float literal: 2.0, not 2
			s += ".0"
		}
		return json.RawMessage(s)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v) // strings, integers, bools and nil always encode
	return json.RawMessage(bytes.TrimSpace(b.Bytes()))
}
