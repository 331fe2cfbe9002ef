package table

import (
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/mrun-dev/mrun/abi"
)

// selectCols returns the columns names of f, in that order.
func selectCols(f *frame, names []string) (*frame, error) {
	out := &frame{n: f.n}
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			return nil, fmt.Errorf("table: select names column %q twice", name)
		}
		seen[name] = true
		c, err := f.column(name)
		if err != nil {
			return nil, fmt.Errorf("table: select: %w", unprefix(err))
		}
		out.cols = append(out.cols, *c)
	}
	return out, nil
}

func unprefix(err error) error { return errors.New(strings.TrimPrefix(err.Error(), "table: ")) }

// filterRows keeps the rows of f where the expression is true.
func filterRows(f *frame, src string) (*frame, error) {
	n, err := parseExpr(src)
	if err != nil {
		return nil, err
	}
	c, err := evalExpr(src, n, f)
	if err != nil {
		return nil, err
	}
	if c.typ != abi.ColBool {
		return nil, fmt.Errorf("table: filter expression %q is %s, not bool: compare it with something", src, c.typ)
	}
	var idx []int
	for i, b := range c.b {
		if b {
			idx = append(idx, i)
		}
	}
	return f.take(idx), nil
}

// assignCol returns f with column name set to the expression's value: replaced where f has
// a column of that name, appended otherwise.
func assignCol(f *frame, name, src string) (*frame, error) {
	n, err := parseExpr(src)
	if err != nil {
		return nil, err
	}
	c, err := evalExpr(src, n, f)
	if err != nil {
		return nil, err
	}
	c.name = name
	out := &frame{n: f.n, cols: slices.Clone(f.cols)}
	for k := range out.cols {
		if out.cols[k].name == name {
			out.cols[k] = c
			return out, nil
		}
	}
	out.cols = append(out.cols, c)
	return out, nil
}

// sortKeys resolves the columns of by in f.
func sortKeys(f *frame, by []string) ([]*col, error) {
	keys := make([]*col, len(by))
	for k, name := range by {
		c, err := f.column(name)
		if err != nil {
			return nil, err
		}
		keys[k] = c
	}
	return keys, nil
}

// sortRows sorts f by the columns by, stably (rows with equal keys keep their order); NaN
// goes last in either direction, as in pandas.
func sortRows(f *frame, by []string, desc []bool) (*frame, error) {
	keys, err := sortKeys(f, by)
	if err != nil {
		return nil, fmt.Errorf("table: sort: %w", unprefix(err))
	}
	idx := make([]int, f.n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		for k, c := range keys {
			if r := compareAt(c, a, c, b, desc[k]); r != 0 {
				return r
			}
		}
		return 0
	})
	return f.take(idx), nil
}

// sample returns s rows of f evenly spaced (all of them when f has fewer).
func sample(f *frame, s int) *frame {
	if f.n <= s {
		return f
	}
	idx := make([]int, s)
	for k := range idx {
		idx[k] = (2*k + 1) * f.n / (2 * s)
	}
	return f.take(idx)
}

// splitters picks n-1 rows of the sorted samples, evenly spaced: the bounds of n key ranges
// of about equal size.
func splitters(samples *frame, n int) *frame {
	idx := make([]int, n-1)
	for k := range idx {
		idx[k] = (k + 1) * samples.n / n
		if idx[k] >= samples.n { // fewer samples than ranges
			idx[k] = samples.n - 1
		}
	}
	if samples.n == 0 {
		idx = nil
	}
	return samples.take(idx)
}

// splitRanges cuts sorted f into len(split)+1 ranges: range p has the rows whose keys come
// after splitter p-1 and not after splitter p, so equal keys share a range.
func splitRanges(f, split *frame, by []string, desc []bool) ([]*frame, error) {
	keys, err := sortKeys(f, by)
	if err != nil {
		return nil, fmt.Errorf("table: split: %w", unprefix(err))
	}
	bounds, err := sortKeys(split, by)
	if err != nil {
		return nil, fmt.Errorf("table: split: splitters: %w", unprefix(err))
	}
	for k := range keys {
		if keys[k].typ != bounds[k].typ {
			return nil, fmt.Errorf("table: split: column %q is %s, its splitters %s", by[k], keys[k].typ, bounds[k].typ)
		}
	}
	out := make([]*frame, split.n+1)
	lo := 0
	for p := range out {
		hi := f.n
		if p < split.n {
			// The first row after splitter p: rows are sorted, so search.
			hi = lo + sort.Search(f.n-lo, func(i int) bool {
				for k, c := range keys {
					if r := compareAt(c, lo+i, bounds[k], p, desc[k]); r != 0 {
						return r > 0
					}
				}
				return false
			})
		}
		out[p] = f.slice(lo, hi)
		lo = hi
	}
	return out, nil
}

// agg is one aggregation of a group-by: function fn of column col, output column name.
type agg struct {
	col, fn, name string
}

var aggFuncs = []string{"sum", "mean", "count", "min", "max"}

// groupIndex gives each row of f its group by the key columns: gid[i] is the group of row i
// (-1 for a row with a NaN key, dropped as pandas drops it), first[g] the first row of group
// g, groups numbered in order of first appearance.
func groupIndex(keys []*col, n int) (gid []int32, first []int) {
	gid = make([]int32, n)
	if len(keys) == 1 && (keys[0].typ == abi.ColInt64 || keys[0].typ == abi.ColTimestamp) {
		if first, ok := denseIndex(keys[0].i, gid); ok {
			return gid, first
		}
		m := make(map[int64]int32)
		for i, v := range keys[0].i {
			g, ok := m[v]
			if !ok {
				g = int32(len(first))
				m[v] = g
				first = append(first, i)
			}
			gid[i] = g
		}
		return gid, first
	}
	m := make(map[string]int32)
	var buf []byte
rows:
	for i := range gid {
		buf = buf[:0]
		for _, c := range keys {
			if c.typ == abi.ColFloat64 && math.IsNaN(c.f[i]) {
				gid[i] = -1
				continue rows
			}
			buf = appendKey(buf, c, i)
		}
		g, ok := m[string(buf)]
		if !ok {
			g = int32(len(first))
			m[string(buf)] = g
			first = append(first, i)
		}
		gid[i] = g
	}
	return gid, first
}

// denseIndex is groupIndex for one int64 key whose values span a range no wider than the
// rows (or 4,096 values): a slice indexed by value - min replaces the map, with the same
// numbering. It reports false, having done nothing, for a wider range.
func denseIndex(keys []int64, gid []int32) (first []int, ok bool) {
	if len(keys) == 0 {
		return nil, true
	}
	lo, hi := keys[0], keys[0]
	for _, v := range keys {
		lo, hi = min(lo, v), max(hi, v)
	}
	span := uint64(hi) - uint64(lo) // hi - lo without overflow
	if span >= uint64(max(len(keys), 4096)) {
		return nil, false
	}
	slot := make([]int32, span+1) // group + 1; 0 for none yet
	for i, v := range keys {
		s := &slot[uint64(v)-uint64(lo)]
		if *s == 0 {
			first = append(first, i)
			*s = int32(len(first))
		}
		gid[i] = *s - 1
	}
	return first, true
}

// reduce aggregates c by group: fn is sum, count (of values that are not NaN), fsum (a sum
// as float64, for means), min or max. NaN is skipped, as pandas skips missing values.
func reduce(fn string, c *col, gid []int32, ng int) (col, error) {
	bad := func() (col, error) {
		return col{}, fmt.Errorf("table: groupby: %s of column %q, of type %s, is not defined", fn, c.name, c.typ)
	}
	switch fn {
	case "count":
		out := make([]int64, ng)
		for i, g := range gid {
			if g >= 0 && !(c.typ == abi.ColFloat64 && math.IsNaN(c.f[i])) {
				out[g]++
			}
		}
		return col{typ: abi.ColInt64, i: out}, nil
	case "sum", "fsum":
		switch {
		case c.typ == abi.ColFloat64 || fn == "fsum" && c.typ == abi.ColInt64:
			out := make([]float64, ng)
			if c.typ == abi.ColInt64 {
				for i, g := range gid {
					if g >= 0 {
						out[g] += float64(c.i[i])
					}
				}
			} else {
				for i, g := range gid {
					if x := c.f[i]; g >= 0 && x == x {
						out[g] += x
					}
				}
			}
			return col{typ: abi.ColFloat64, f: out}, nil
		case c.typ == abi.ColInt64 && fn == "sum":
			out := make([]int64, ng)
			for i, g := range gid {
				if g >= 0 {
					out[g] += c.i[i]
				}
			}
			return col{typ: abi.ColInt64, i: out}, nil
		case c.typ == abi.ColBool:
			out := make([]int64, ng)
			for i, g := range gid {
				if g >= 0 && c.b[i] {
					out[g]++
				}
			}
			if fn == "fsum" {
				return col{typ: abi.ColFloat64, f: floats(col{typ: abi.ColInt64, i: out})}, nil
			}
			return col{typ: abi.ColInt64, i: out}, nil
		}
		return bad()
	case "min", "max":
		sign := 1
		if fn == "max" {
			sign = -1
		}
		if c.typ == abi.ColFloat64 {
			out := make([]float64, ng)
			for g := range out {
				out[g] = math.NaN()
			}
			for i, g := range gid {
				if x := c.f[i]; g >= 0 && x == x && (out[g] != out[g] || sign*cmpOrdered(x, out[g]) < 0) {
					out[g] = x
				}
			}
			return col{typ: abi.ColFloat64, f: out}, nil
		}
		seen := make([]bool, ng)
		idx := make([]int, ng)
		for i, g := range gid {
			if g >= 0 && (!seen[g] || sign*compareAt(c, i, c, idx[g], false) < 0) {
				seen[g], idx[g] = true, i
			}
		}
		return c.take(idx), nil
	}
	return bad()
}

// stateName is the name of state column k of aggregation j in a partial.
func stateName(j int, k string) string { return fmt.Sprintf("\x00%d%s", j, k) }

// groupBy aggregates f by the key columns. The result is a partial: the keys, then the
// state of each aggregation (a sum and a count for a mean); combine merges partials. When
// final, it is the result instead: the keys and one column per aggregation, sorted by the
// keys, as pandas' groupby(keys, sort=True).agg(…).reset_index() gives.
func groupBy(f *frame, keys []string, aggs []agg, partialIn, final bool) (*frame, error) {
	kc, err := sortKeys(f, keys)
	if err != nil {
		return nil, fmt.Errorf("table: groupby: %w", unprefix(err))
	}
	gid, first := groupIndex(kc, f.n)
	ng := len(first)
	out := &frame{n: ng}
	for _, c := range kc {
		out.cols = append(out.cols, c.take(first))
	}
	for j, a := range aggs {
		var states []col
		if partialIn {
			switch a.fn {
			case "mean":
				s, err1 := f.column(stateName(j, "s"))
				c, err2 := f.column(stateName(j, "c"))
				if err := cmpErr(err1, err2); err != nil {
					return nil, fmt.Errorf("table: groupby: the partial has no state for %s(%s): %w", a.fn, a.col, err)
				}
				if s.typ != abi.ColFloat64 || c.typ != abi.ColInt64 {
					return nil, fmt.Errorf("table: groupby: the partial's state for %s(%s) is %s and %s, not float64 and int64", a.fn, a.col, s.typ, c.typ)
				}
				rs, _ := reduce("sum", s, gid, ng)
				rc, _ := reduce("sum", c, gid, ng)
				rs.name, rc.name = s.name, c.name
				states = []col{rs, rc}
			default:
				s, err := f.column(stateName(j, ""))
				if err != nil {
					return nil, fmt.Errorf("table: groupby: the partial has no state for %s(%s): %w", a.fn, a.col, err)
				}
				fn := a.fn
				if fn == "count" {
					fn = "sum"
				}
				r, err := reduce(fn, s, gid, ng)
				if err != nil {
					return nil, err
				}
				r.name = s.name
				states = []col{r}
			}
		} else {
			c, err := f.column(a.col)
			if err != nil {
				return nil, fmt.Errorf("table: groupby: %w", unprefix(err))
			}
			if a.fn == "mean" {
				rs, err := reduce("fsum", c, gid, ng)
				if err != nil {
					return nil, err
				}
				rc, _ := reduce("count", c, gid, ng) // count is defined for every type
				rs.name, rc.name = stateName(j, "s"), stateName(j, "c")
				states = []col{rs, rc}
			} else {
				r, err := reduce(a.fn, c, gid, ng)
				if err != nil {
					return nil, err
				}
				r.name = stateName(j, "")
				states = []col{r}
			}
		}
		if !final {
			out.cols = append(out.cols, states...)
			continue
		}
		r := states[0]
		if a.fn == "mean" {
			m := make([]float64, ng)
			for g := range m {
				m[g] = states[0].f[g] / float64(states[1].i[g])
			}
			r = col{typ: abi.ColFloat64, f: m}
		}
		r.name = a.name
		out.cols = append(out.cols, r)
	}
	if !final {
		return out, nil
	}
	for k := range keys {
		for _, a := range aggs {
			if a.name == keys[k] {
				return nil, fmt.Errorf("table: groupby: aggregation %s(%s) is named %q, as a key column is: name it otherwise", a.fn, a.col, a.name)
			}
		}
	}
	return sortRows(out, keys, make([]bool, len(keys)))
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// hashKey returns the partition of row i by the key columns: FNV-1a of the key's encoding,
// the same in every process.
func hashKey(keys []*col, i int, buf []byte) (uint64, []byte) {
	buf = buf[:0]
	for _, c := range keys {
		buf = appendJoinKey(buf, c, i)
	}
	h := fnv.New64a()
	h.Write(buf)
	return h.Sum64(), buf
}

// appendJoinKey is appendKey with every NaN one key, as pandas' merge matches NaN with NaN.
func appendJoinKey(dst []byte, c *col, i int) []byte {
	if c.typ == abi.ColFloat64 && math.IsNaN(c.f[i]) {
		return append(dst, 0xff, 0xf8, 0, 0, 0, 0, 0, 0) // one NaN for all
	}
	return appendKey(dst, c, i)
}

// partition splits f into n parts by the hash of its key columns, keeping row order.
func partition(f *frame, on []string, n int) ([]*frame, error) {
	keys, err := sortKeys(f, on)
	if err != nil {
		return nil, fmt.Errorf("table: join: %w", unprefix(err))
	}
	idx := make([][]int, n)
	var buf []byte
	for i := 0; i < f.n; i++ {
		var h uint64
		h, buf = hashKey(keys, i, buf)
		p := h % uint64(n)
		idx[p] = append(idx[p], i)
	}
	out := make([]*frame, n)
	for p := range out {
		out[p] = f.take(idx[p])
	}
	return out, nil
}

// join is the inner join of l and r on the columns on, with pandas' columns: l's columns,
// then r's other than on; a name both have outside on gets "_x" on l's side and "_y" on r's.
// Rows are sorted by the keys; rows of equal keys come in l's order, each with its matches in
// r's order (pandas' merge(l, r, on=on, how="inner", sort=True)).
func join(l, r *frame, on []string) (*frame, error) {
	lk, err := sortKeys(l, on)
	if err != nil {
		return nil, fmt.Errorf("table: join: left side: %w", unprefix(err))
	}
	rk, err := sortKeys(r, on)
	if err != nil {
		return nil, fmt.Errorf("table: join: right side: %w", unprefix(err))
	}
	for k := range lk {
		if lk[k].typ != rk[k].typ {
			return nil, fmt.Errorf("table: join: key %q is %s on the left and %s on the right: make them one type (assign)", on[k], lk[k].typ, rk[k].typ)
		}
	}
	build := map[string][]int{}
	var buf []byte
	for i := 0; i < r.n; i++ {
		buf = buf[:0]
		for _, c := range rk {
			buf = appendJoinKey(buf, c, i)
		}
		build[string(buf)] = append(build[string(buf)], i)
	}
	var li, ri []int
	for i := 0; i < l.n; i++ {
		buf = buf[:0]
		for _, c := range lk {
			buf = appendJoinKey(buf, c, i)
		}
		for _, j := range build[string(buf)] {
			li, ri = append(li, i), append(ri, j)
		}
	}
	pairs := make([]int, len(li))
	for p := range pairs {
		pairs[p] = p
	}
	slices.SortStableFunc(pairs, func(a, b int) int {
		for _, c := range lk {
			if x := compareAt(c, li[a], c, li[b], false); x != 0 {
				return x
			}
		}
		return 0
	})
	lidx, ridx := make([]int, len(pairs)), make([]int, len(pairs))
	for k, p := range pairs {
		lidx[k], ridx[k] = li[p], ri[p]
	}
	isKey := map[string]bool{}
	for _, k := range on {
		isKey[k] = true
	}
	lnames, rnames := map[string]bool{}, map[string]bool{}
	for _, c := range l.cols {
		lnames[c.name] = true
	}
	for _, c := range r.cols {
		rnames[c.name] = true
	}
	out := &frame{n: len(pairs)}
	for k := range l.cols {
		c := l.cols[k].take(lidx)
		if !isKey[c.name] && rnames[c.name] {
			c.name += "_x"
		}
		out.cols = append(out.cols, c)
	}
	for k := range r.cols {
		if isKey[r.cols[k].name] {
			continue
		}
		c := r.cols[k].take(ridx)
		if lnames[c.name] {
			c.name += "_y"
		}
		out.cols = append(out.cols, c)
	}
	seen := map[string]bool{}
	for _, c := range out.cols {
		if seen[c.name] {
			return nil, fmt.Errorf("table: join: the result would have two columns named %q: rename one side's (select, assign)", c.name)
		}
		seen[c.name] = true
	}
	return out, nil
}
