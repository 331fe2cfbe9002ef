// Package gosig writes the signatures (abi/ABI.md section 10) of a Go guest's functions from
// the guest's source. Go's linker cannot write custom sections and reflection knows neither
// parameter names nor docs, so the source is the one place that has them: Dir parses a
// package, finds every export
//
//	//go:wasmexport mrun_fn_<name>
//	func e(p, n uint32) uint64 { return mrun.Call(p, n, f) }
//
// and describes f from its declaration: its parameters' names and Go types mapped to the value
// model, the keywords its body reads with mrun.Kwarg, its results, the first sentence of its
// doc comment, and the directives of that comment:
//
//	//mrun:impure               the function is impure
//	//mrun:type NAME TYPE       a narrower type for a parameter, a keyword, "result" (one
//	                            output) or "result.I" (output I, from 1) than its Go type says,
//	                            e.g. "//mrun:type t tensor[float64]" for an mrun.Tensor
//	//mrun:sig LINE             the whole signature, when the Go types allow more calls than
//	                            the function means to take; the doc comment still gives the doc
//
// A final variadic parameter args ...T is *args: T (any number of further arguments).
//
// What the source cannot tell is a Note, never a wrong signature: a type the mapping does not
// know becomes any; a function it cannot describe gets no signature. Mistakes that would write
// a wrong one (a malformed directive, a //mrun:type that contradicts the Go type) are errors.
package gosig

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mrun-dev/mrun/abi/sig"
)

// SDKPath is the import path of the Go SDK, whose Call, Kwargs and value types the analysis
// recognises.
const SDKPath = "github.com/mrun-dev/mrun/guests/go/mrun"

// exportPrefix is the prefix of the exports mrun calls (ABI.md section 1.4).
const exportPrefix = "mrun_fn_"

// ErrSource is wrapped by the errors of a source that cannot be described: it does not parse,
// or a directive is malformed or contradicts the Go types.
var ErrSource = errors.New("cannot describe the Go source")

// Result is what the analysis of a package found.
type Result struct {
	// Sigs are the signatures of the described functions, in source order.
	Sigs []*sig.Signature
	// Notes are what the analysis could not tell from the source, in source order.
	Notes []Note
}

// Note is something the analysis could not describe exactly: a type written as any, or a
// function left without a signature.
type Note struct {
	Pos  token.Position
	Func string // the function's name as mrun calls it
	Msg  string
}

// String returns "file:line:col: func: msg".
func (n Note) String() string { return fmt.Sprintf("%s: %s: %s", n.Pos, n.Func, n.Msg) }

// Dir describes the package in directory dir: its non-test Go files that a GOOS=wasip1
// GOARCH=wasm build compiles.
func Dir(dir string) (*Result, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSource, err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory: give the package's directory", ErrSource, dir)
	}
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = "wasip1", "wasm", false
	pkg, err := ctx.ImportDir(dir, 0)
	if err != nil {
		var noGo *build.NoGoError
		if errors.As(err, &noGo) {
			return nil, fmt.Errorf("%w: %s has no Go files for GOOS=wasip1 GOARCH=wasm", ErrSource, dir)
		}
		return nil, fmt.Errorf("%w: reading the package in %s: %v", ErrSource, dir, err)
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range pkg.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSource, err)
		}
		files = append(files, f)
	}
	return Files(fset, files)
}

// Files describes the package made of files, parsed with comments into fset.
func Files(fset *token.FileSet, files []*ast.File) (*Result, error) {
	a := &analysis{fset: fset, funcs: map[string]*ast.FuncDecl{}, types: map[string]ast.Expr{}, consts: map[string]*ast.BasicLit{}}
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					a.funcs[d.Name.Name] = d
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.TypeParams == nil {
							a.types[s.Name.Name] = s.Type
						}
					case *ast.ValueSpec:
						if d.Tok == token.CONST && len(s.Values) == len(s.Names) {
							for i, n := range s.Names {
								if lit, ok := s.Values[i].(*ast.BasicLit); ok {
									a.consts[n.Name] = lit
								}
							}
						}
					}
				}
			}
		}
	}
	res := &Result{}
	seen := map[string]token.Position{}
	for _, f := range files {
		a.sdk = sdkName(f)
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Doc == nil {
				continue
			}
			name, ok := exportName(fd.Doc)
			if !ok {
				continue
			}
			pos := fset.Position(fd.Pos())
			if prev, dup := seen[name]; dup {
				return nil, fmt.Errorf("%w: %s: function %s is exported twice (first at %s)", ErrSource, pos, name, prev)
			}
			seen[name] = pos
			s, err := a.export(name, fd)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrSource, err)
			}
			if s != nil {
				res.Sigs = append(res.Sigs, s)
			}
		}
	}
	res.Notes = a.notes
	sort.SliceStable(res.Notes, func(i, j int) bool {
		p, q := res.Notes[i].Pos, res.Notes[j].Pos
		if p.Filename != q.Filename {
			return p.Filename < q.Filename
		}
		return p.Offset < q.Offset
	})
	return res, nil
}

// analysis holds what the package declares and collects the notes.
type analysis struct {
	fset   *token.FileSet
	funcs  map[string]*ast.FuncDecl // package-level functions
	types  map[string]ast.Expr      // package-level type declarations: name -> type
	consts map[string]*ast.BasicLit // package-level constants with a literal value
	sdk    string                   // the SDK's name in the current file; "" if not imported
	notes  []Note
}

func (a *analysis) note(pos token.Pos, fn, format string, args ...any) {
	a.notes = append(a.notes, Note{Pos: a.fset.Position(pos), Func: fn, Msg: fmt.Sprintf(format, args...)})
}

func (a *analysis) errorf(pos token.Pos, fn, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %s", a.fset.Position(pos), fn, fmt.Sprintf(format, args...))
}

// sdkName returns the name file f imports the SDK under, or "".
func sdkName(f *ast.File) string {
	for _, imp := range f.Imports {
		if strings.Trim(imp.Path.Value, "\"`") != SDKPath {
			continue
		}
		if imp.Name != nil {
			if imp.Name.Name == "_" || imp.Name.Name == "." {
				return ""
			}
			return imp.Name.Name
		}
		return "mrun"
	}
	return ""
}

// exportName returns the function name of a //go:wasmexport mrun_fn_<name> directive.
func exportName(doc *ast.CommentGroup) (string, bool) {
	for _, c := range doc.List {
		rest, ok := strings.CutPrefix(c.Text, "//go:wasmexport ")
		if !ok {
			continue
		}
		name, ok := strings.CutPrefix(strings.TrimSpace(rest), exportPrefix)
		if ok && name != "" {
			return name, true
		}
	}
	return "", false
}

// export describes the function that export fd (of mrun_fn_name) calls, or notes why it
// cannot and returns nil.
func (a *analysis) export(name string, fd *ast.FuncDecl) (*sig.Signature, error) {
	const want = "return mrun.Call(p, n, f)"
	if fd.Body == nil || len(fd.Body.List) != 1 {
		a.note(fd.Pos(), name, "the body of %s is not %q with f a function of this package: no signature", fd.Name.Name, want)
		return nil, nil
	}
	ret, ok := fd.Body.List[0].(*ast.ReturnStmt)
	var call *ast.CallExpr
	if ok && len(ret.Results) == 1 {
		call, _ = ret.Results[0].(*ast.CallExpr)
	}
	if call == nil || !a.isSDK(call.Fun, "Call") || len(call.Args) != 3 {
		a.note(fd.Pos(), name, "the body of %s is not %q with f a function of this package: no signature", fd.Name.Name, want)
		return nil, nil
	}
	fn := call.Args[2]
	if ix, ok := fn.(*ast.IndexExpr); ok { // an instance of a generic function: describe says why not
		fn = ix.X
	}
	switch f := fn.(type) {
	case *ast.Ident:
		decl := a.funcs[f.Name]
		if decl == nil {
			a.note(f.Pos(), name, "%s is not a function declared in this package: no signature (pass a named function to mrun.Call)", f.Name)
			return nil, nil
		}
		return a.describe(name, decl)
	case *ast.FuncLit:
		a.note(f.Pos(), name, "mrun.Call is given a function literal, whose doc and name the source does not give: no signature (declare it as a named function of this package)")
	case *ast.SelectorExpr:
		a.note(f.Pos(), name, "mrun.Call is given %s, from another package or a method value: no signature (wrap it in a named function of this package)", exprString(f))
	default:
		a.note(f.Pos(), name, "mrun.Call is given %s, not a function of this package: no signature", exprString(f))
	}
	return nil, nil
}

// isSDK reports whether e is the SDK's name sel (mrun.Call), explicitly instantiated or not.
func (a *analysis) isSDK(e ast.Expr, sel string) bool {
	switch x := e.(type) {
	case *ast.IndexExpr:
		e = x.X
	case *ast.IndexListExpr:
		e = x.X
	}
	s, ok := e.(*ast.SelectorExpr)
	if !ok || a.sdk == "" {
		return false
	}
	id, ok := s.X.(*ast.Ident)
	return ok && id.Name == a.sdk && s.Sel.Name == sel
}

// exprString returns the source text of a short expression.
func exprString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprString(x.X) + "." + x.Sel.Name
	case *ast.StarExpr:
		return "*" + exprString(x.X)
	case *ast.ArrayType:
		if x.Len == nil {
			return "[]" + exprString(x.Elt)
		}
		return "[...]" + exprString(x.Elt)
	case *ast.MapType:
		return "map[" + exprString(x.Key) + "]" + exprString(x.Value)
	case *ast.FuncLit:
		return "func literal"
	case *ast.ChanType:
		return "chan " + exprString(x.Value)
	case *ast.FuncType:
		return "func(...)"
	case *ast.InterfaceType:
		return "interface{...}"
	case *ast.StructType:
		return "struct{...}"
	case *ast.IndexExpr, *ast.IndexListExpr:
		return "a generic type"
	}
	return fmt.Sprintf("%T", e)
}

// directives are the //mrun: lines of a doc comment.
type directives struct {
	impure bool
	types  []typeDirective
	line   string // //mrun:sig
	pos    token.Pos
}

type typeDirective struct {
	name string
	typ  sig.Type
	text string
	pos  token.Pos
}

func (a *analysis) directives(name string, doc *ast.CommentGroup) (directives, error) {
	var d directives
	if doc == nil {
		return d, nil
	}
	for _, c := range doc.List {
		rest, ok := strings.CutPrefix(c.Text, "//mrun:")
		if !ok {
			continue
		}
		verb, arg, _ := strings.Cut(rest, " ")
		arg = strings.TrimSpace(arg)
		switch verb {
		case "impure":
			if arg != "" {
				return d, a.errorf(c.Pos(), name, "//mrun:impure takes nothing after it, found %q", arg)
			}
			d.impure = true
		case "type":
			p, text, ok := strings.Cut(arg, " ")
			text = strings.TrimSpace(text)
			if !ok || p == "" || text == "" {
				return d, a.errorf(c.Pos(), name, "want //mrun:type NAME TYPE, as in //mrun:type t tensor[float64]; found %q", c.Text)
			}
			t, err := sig.ParseType(text)
			if err != nil {
				return d, a.errorf(c.Pos(), name, "//mrun:type %s: %v", p, err)
			}
			d.types = append(d.types, typeDirective{name: p, typ: t, text: text, pos: c.Pos()})
		case "sig":
			if arg == "" || d.line != "" {
				return d, a.errorf(c.Pos(), name, "want one //mrun:sig LINE, as in //mrun:sig fail(msg: str) -> none")
			}
			d.line, d.pos = arg, c.Pos()
		default:
			return d, a.errorf(c.Pos(), name, "unknown directive //mrun:%s (want //mrun:impure, //mrun:type or //mrun:sig)", verb)
		}
	}
	if d.line != "" && len(d.types) > 0 {
		return d, a.errorf(d.pos, name, "//mrun:sig gives the whole signature: drop the //mrun:type lines")
	}
	return d, nil
}

// synopsis returns the first sentence of a doc comment, on one line.
func synopsis(c *ast.CommentGroup) string {
	if c == nil {
		return ""
	}
	return strings.Join(strings.Fields(new(doc.Package).Synopsis(c.Text())), " ")
}

// describe returns the signature of fd, the function behind export name, or nil with a note.
func (a *analysis) describe(name string, fd *ast.FuncDecl) (*sig.Signature, error) {
	d, err := a.directives(name, fd.Doc)
	if err != nil {
		return nil, err
	}
	docText := synopsis(fd.Doc)
	if docText == "" {
		a.note(fd.Pos(), name, "%s has no doc comment: the signature has no doc (write one, starting with %q)", fd.Name.Name, fd.Name.Name+" ")
	}
	if d.line != "" {
		s, err := sig.ParseLine(d.line)
		if err != nil {
			return nil, a.errorf(d.pos, name, "//mrun:sig: %v", err)
		}
		if s.Name != name {
			return nil, a.errorf(d.pos, name, "//mrun:sig describes %s, but the export is mrun_fn_%s", s.Name, name)
		}
		if s.Doc == "" {
			s.Doc = docText
		}
		s.Pure = s.Pure && !d.impure
		s.Line = 0
		return s, nil
	}
	if fd.Type.TypeParams != nil {
		a.note(fd.Pos(), name, "%s is generic: no signature (mrun.Call needs an instance; describe it with //mrun:sig)", fd.Name.Name)
		return nil, nil
	}
	s := &sig.Signature{Name: name, Doc: docText, Pure: !d.impure}

	// Parameters, and the keywords of a final mrun.Kwargs.
	var fields []*ast.Field
	if fd.Type.Params != nil {
		fields = fd.Type.Params.List
	}
	kwName := ""
	for fi, f := range fields {
		if fi == len(fields)-1 && a.isSDK(f.Type, "Kwargs") {
			if len(f.Names) == 1 && f.Names[0].Name != "_" {
				kwName = f.Names[0].Name
			}
			break
		}
		if el, ok := f.Type.(*ast.Ellipsis); ok {
			// A final ...T takes any number of further arguments: *name: T.
			vname := "args"
			if len(f.Names) == 1 && f.Names[0].Name != "_" {
				vname = f.Names[0].Name
			}
			s.Variadic = &sig.Param{Name: vname, Type: a.typeOf(el.Elt, name, "parameter "+vname)}
			break
		}
		names := f.Names
		if len(names) == 0 {
			names = []*ast.Ident{nil}
		}
		for _, id := range names {
			pname := ""
			if id != nil && id.Name != "_" {
				pname = id.Name
			}
			if pname == "" {
				pname = fmt.Sprintf("arg%d", len(s.Params)+1)
				a.note(f.Pos(), name, "parameter %d of %s has no name: called %s", len(s.Params)+1, fd.Name.Name, pname)
			}
			s.Params = append(s.Params, sig.Param{Name: pname, Type: a.typeOf(f.Type, name, "parameter "+pname)})
		}
	}
	if kwName != "" {
		var ok bool
		if s.Kwargs, ok = a.keywords(name, kwName, fd.Body); !ok {
			return nil, nil
		}
	}

	// Results: a final error is how the function fails, not an output.
	var results []ast.Expr
	if fd.Type.Results != nil {
		for _, f := range fd.Type.Results.List {
			for range max(1, len(f.Names)) {
				results = append(results, f.Type)
			}
		}
	}
	if n := len(results); n > 0 {
		if id, ok := results[n-1].(*ast.Ident); ok && id.Name == "error" {
			results = results[:n-1]
		}
	}
	switch len(results) {
	case 0:
		s.Result = &sig.Type{Name: sig.None}
	case 1:
		t := a.typeOf(results[0], name, "the result")
		s.Result = &t
	default:
		for i, r := range results {
			s.Outputs = append(s.Outputs, a.typeOf(r, name, fmt.Sprintf("output %d", i+1)))
		}
	}

	for _, td := range d.types {
		if err := a.refine(s, td, name); err != nil {
			return nil, err
		}
	}
	// A name the grammar cannot hold, or one name twice, would make a line mrun refuses.
	seen := map[string]bool{}
	names := make([]string, 0, len(s.Params)+len(s.Kwargs))
	for _, p := range s.Params {
		names = append(names, p.Name)
	}
	if s.Variadic != nil {
		names = append(names, s.Variadic.Name)
	}
	for _, k := range s.Kwargs {
		names = append(names, k.Name)
	}
	for _, n := range names {
		if !isIdent(n) {
			a.note(fd.Pos(), name, "parameter or keyword %q is not an ASCII identifier, which a signature needs: no signature (rename it, or describe the function with //mrun:sig)", n)
			return nil, nil
		}
		if seen[n] {
			a.note(fd.Pos(), name, "%q is both a parameter and a keyword: no signature (rename one)", n)
			return nil, nil
		}
		seen[n] = true
	}
	return s, nil
}

// isIdent reports whether s is an identifier of the signature grammar: an ASCII letter or _,
// then letters, digits or _.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '_' && !('a' <= c && c <= 'z') && !('A' <= c && c <= 'Z') && !(i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// refine applies a //mrun:type directive to s.
func (a *analysis) refine(s *sig.Signature, td typeDirective, fn string) error {
	var slot *sig.Type
	for i := range s.Params {
		if s.Params[i].Name == td.name {
			slot = &s.Params[i].Type
		}
	}
	for i := range s.Kwargs {
		if s.Kwargs[i].Name == td.name {
			slot = &s.Kwargs[i].Type
		}
	}
	if s.Variadic != nil && s.Variadic.Name == td.name {
		slot = &s.Variadic.Type
	}
	switch {
	case td.name == "result" && s.Result != nil:
		slot = s.Result
	case strings.HasPrefix(td.name, "result."):
		var i int
		if _, err := fmt.Sscanf(td.name, "result.%d", &i); err == nil && i >= 1 && i <= len(s.Outputs) && td.name == fmt.Sprintf("result.%d", i) {
			slot = &s.Outputs[i-1]
		}
	}
	if slot == nil {
		return a.errorf(td.pos, fn, "//mrun:type %s: no parameter, keyword or result is called %s (results are \"result\", or \"result.1\" to \"result.%d\" for outputs)", td.name, td.name, max(2, len(s.Outputs)))
	}
	if !narrows(*slot, td.typ) {
		return a.errorf(td.pos, fn, "//mrun:type %s %s: the Go type says %s, which %s does not narrow", td.name, td.text, slot, td.typ.String())
	}
	*slot = td.typ
	return nil
}

// narrows reports whether type to says no more than from allows: any becomes anything, list,
// map and tensor gain or lose their element type, and the same goes for their elements.
func narrows(from, to sig.Type) bool {
	if from.Name == sig.Any {
		return true
	}
	if from.Name != to.Name {
		return false
	}
	switch from.Name {
	case sig.List, sig.Map:
		return from.Elem == nil || to.Elem == nil || narrows(*from.Elem, *to.Elem)
	case sig.Tensor:
		return from.DType == "" || from.DType == to.DType
	}
	return from.String() == to.String()
}
