package graphfile

import (
	"fmt"

	"github.com/mrun-dev/mrun/abi/sig"
)

// checkSignature checks task t's arguments and n_output against s, the signature of the
// function it calls; nil s (an undescribed function) passes. A foreach task's arguments are
// checked once, as written, with $item of the foreach's element type when that is known.
// The tasks t refers to are checked already (Check goes dependencies first), so the types
// of their results are known when their functions describe them.
func (g *Graph) checkSignature(t *taskSpec, s *sig.Signature) error {
	if s == nil {
		return nil
	}
	fail := func(p pos, msg string) error { return g.errorf(p, "task %q: %s", t.name, msg) }
	var args []*vnode
	argsPos := t.callPos
	if t.args != nil {
		args, argsPos = t.args.items, t.args.pos
	}
	if err := s.CheckArity(len(args)); err != nil {
		if len(args) > len(s.Params) && s.Variadic == nil {
			argsPos = args[len(s.Params)].pos
		}
		return fail(argsPos, err.Error())
	}
	if err := s.CheckNOutput(t.nOutput); err != nil {
		msg := err.Error()
		p := t.nOutPos
		if p == (pos{}) {
			p = t.callPos
		}
		if len(s.Outputs) > 0 {
			msg += fmt.Sprintf(": set n_output: %d", len(s.Outputs))
		}
		return fail(p, msg)
	}
	elem := g.elemType(t)
	for i, a := range args {
		name, typ := s.Positional(i)
		if p, m := g.matchNode(a, typ, elem); m != nil {
			return fail(p, m.Message(s.Name+" argument "+name))
		}
	}
	given := map[string]bool{}
	if t.kwargs != nil {
		for i, k := range t.kwargs.keys {
			given[k] = true
			kw, err := s.CheckKwargName(k)
			if err != nil {
				return fail(t.kwargs.keyPos[i], err.Error())
			}
			if p, m := g.matchNode(t.kwargs.items[i], kw.Type, elem); m != nil {
				return fail(p, m.Message(s.Name+" keyword argument "+k))
			}
		}
	}
	if err := s.CheckRequired(func(k string) bool { return given[k] }); err != nil {
		p := t.callPos
		if t.kwargs != nil {
			p = t.kwargs.pos
		}
		return fail(p, err.Error())
	}
	return nil
}

// matchNode reports where and how the value n does not fit type want, or nil. elem is the
// type of $item, nil when unknown.
func (g *Graph) matchNode(n *vnode, want sig.Type, elem *sig.Type) (pos, *sig.Mismatch) {
	switch n.kind {
	case vLit:
		return n.pos, sig.Match(n.lit, want)
	case vList:
		if want.Name == sig.List && want.Elem != nil {
			for i, x := range n.items {
				if p, m := g.matchNode(x, *want.Elem, elem); m != nil {
					return p, m.At(fmt.Sprintf("[%d]", i))
				}
			}
			return n.pos, nil
		}
	case vMap:
		if want.Name == sig.Map && want.Elem != nil {
			for i, x := range n.items {
				if p, m := g.matchNode(x, *want.Elem, elem); m != nil {
					return p, m.At(fmt.Sprintf("[%q]", n.keys[i]))
				}
			}
			return n.pos, nil
		}
	}
	have := g.nodeType(n, elem)
	if sig.Accepts(&want, have) {
		return n.pos, nil
	}
	m := &sig.Mismatch{Want: want.String(), Got: have.String()}
	if n.kind == vRef {
		m.Got += " " + n.ref.raw
	}
	return n.pos, m
}

// nodeType returns the type of the value n, nil when it cannot be told before the run.
func (g *Graph) nodeType(n *vnode, elem *sig.Type) *sig.Type {
	switch n.kind {
	case vLit:
		return sig.TypeOf(n.lit)
	case vList, vMap:
		ts := make([]*sig.Type, len(n.items))
		for i, x := range n.items {
			ts[i] = g.nodeType(x, elem)
		}
		name := sig.List
		if n.kind == vMap {
			name = sig.Map
		}
		return &sig.Type{Name: name, Elem: sig.Common(ts)}
	case vRef:
		return g.refType(n.ref, elem)
	}
	return nil
}

// refType returns the type of a reference's value, nil when unknown: $index is an int, $item
// has the foreach's element type, and $task the type its function declares, indexed through
// its levels (foreach instances, then outputs).
func (g *Graph) refType(r *refExpr, elem *sig.Type) *sig.Type {
	switch r.name {
	case "index":
		if len(r.steps) == 0 {
			return &sig.Type{Name: sig.Int}
		}
		return nil
	case "item":
		return indexType(elem, r.steps)
	}
	d := g.task(r.name)
	if d == nil || g.sigs[d] == nil {
		return nil
	}
	return g.taskType(d, g.sigs[d], r.steps)
}

// indexType applies index steps to a value of type t, nil when unknown.
func indexType(t *sig.Type, steps []int) *sig.Type {
	for i, st := range steps {
		if t == nil || t.Name != sig.List {
			return nil
		}
		if st < 0 { // [*]: the rest applies to every element
			return &sig.Type{Name: sig.List, Elem: indexType(t.Elem, steps[i+1:])}
		}
		t = t.Elem
	}
	return t
}

// taskType is the type of $d with index steps, d's function described by s.
func (g *Graph) taskType(d *taskSpec, s *sig.Signature, steps []int) *sig.Type {
	// One call's value: its single output, or the list of its outputs.
	output := func(k int) *sig.Type {
		switch {
		case d.nOutput == 1:
			return s.Result
		case k < len(s.Outputs):
			return &s.Outputs[k]
		case len(s.Outputs) == 0 && s.Result != nil && s.Result.Name == sig.List:
			return s.Result.Elem
		}
		return nil
	}
	call := func(steps []int) *sig.Type {
		if d.nOutput == 1 {
			if len(steps) > 0 {
				return nil
			}
			return output(0)
		}
		if len(steps) == 0 || steps[0] < 0 {
			ts := make([]*sig.Type, d.nOutput)
			for k := range ts {
				ts[k] = output(k)
			}
			return &sig.Type{Name: sig.List, Elem: sig.Common(ts)}
		}
		if len(steps) > 1 {
			return nil
		}
		return output(steps[0])
	}
	if d.foreach == nil {
		return call(steps)
	}
	switch {
	case len(steps) == 0:
		return &sig.Type{Name: sig.List, Elem: call(nil)}
	case steps[0] < 0:
		return &sig.Type{Name: sig.List, Elem: call(steps[1:])}
	}
	return call(steps[1:])
}

// elemType returns the type of a foreach task's $item, nil when unknown or when t has no
// foreach.
func (g *Graph) elemType(t *taskSpec) *sig.Type {
	f := t.foreach
	switch {
	case f == nil:
		return nil
	case f.kind == vMap && len(f.keys) == 1 && f.keys[0] == "range":
		return &sig.Type{Name: sig.Int}
	case f.kind == vList:
		return g.nodeType(f, nil).Elem
	case f.kind == vRef:
		if lt := g.refType(f.ref, nil); lt != nil && lt.Name == sig.List {
			return lt.Elem
		}
	}
	return nil
}
