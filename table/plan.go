package table

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/vmihailenco/msgpack/v5"
)

// ref is how the planner holds one chunk: the handle of the task that computes it, or the
// chunk itself, cut from a source.
type ref struct {
	h uint32
	t *abi.Table
}

// handleArg encodes a handle (ABI.md section 5.1, ext type 2) in a spawn's argument frame:
// the engine gives the child the Object's value in its place.
type handleArg uint32

// EncodeMsgpack writes the handle as a fixext4 of type abi.ExtHandle.
func (h handleArg) EncodeMsgpack(enc *msgpack.Encoder) error {
	if err := enc.EncodeExtHeader(abi.ExtHandle, 4); err != nil {
		return err
	}
	_, err := enc.Writer().Write(binary.BigEndian.AppendUint32(nil, uint32(h)))
	return err
}

func (r ref) arg() any {
	if r.h != 0 {
		return handleArg(r.h)
	}
	return *r.t
}

func args(rs []ref) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = r.arg()
	}
	return out
}

// ops are the operations of an expression, sources first.
var ops = []string{"table", "read_csv", "read_parquet", "chunks", "select", "filter", "assign", "head", "sort", "groupby", "join"}

// planner lowers an expression into chunk tasks spawned through a runtime.Nested.
type planner struct {
	n     runtime.Nested
	spawn int // tasks spawned
}

// task spawns kernel fn of this module with the given arguments and returns its first
// output's handle.
func (pl *planner) task(ctx context.Context, fn string, pos []any, kw map[string]any, nOutput int) (ref, error) {
	frame, err := abi.EncodeFrame(pos, kw)
	if err != nil {
		return ref{}, fmt.Errorf("table: encode the arguments of kernel %s: %w", fn, err)
	}
	h, err := pl.n.Spawn(ctx, ModuleName, fn, frame, nOutput, runtime.SpawnOptions{})
	if err != nil {
		return ref{}, fmt.Errorf("table: spawn kernel %s: %w", fn, err)
	}
	pl.spawn++
	return ref{h: h}, nil
}

// each spawns kernel fn once per chunk of in.
func (pl *planner) each(ctx context.Context, fn string, in []ref, kw map[string]any) ([]ref, error) {
	out := make([]ref, len(in))
	for i, r := range in {
		var err error
		if out[i], err = pl.task(ctx, fn, []any{r.arg()}, kw, 1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// chunks cuts f into chunks of rows rows (the last one ragged), at least one.
func chunks(f *frame, rows int) ([]ref, error) {
	var out []ref
	for lo := 0; lo < f.n || lo == 0; lo += rows {
		t, err := f.slice(lo, min(lo+rows, f.n)).table()
		if err != nil {
			return nil, err
		}
		out = append(out, ref{t: &t})
	}
	return out, nil
}

// sourceChunks reads the chunks of a chunks source: each a table, or an Object passed by
// reference (a handle the planner passes on to the tasks that read the chunk). Every chunk
// must have the columns of the first: for an Object, the planner reads only the column
// descriptors at the head of its value, which in process is the stored value itself, not a
// copy.
func (pl *planner) sourceChunks(ctx context.Context, p *params) ([]ref, error) {
	v, _ := p.get("chunks", true)
	if p.err != nil {
		return nil, p.err
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("table: %s: chunks must be an array of tables or Objects passed by reference, got %s", p.what, typeName(v))
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("table: %s: chunks lists no chunk", p.what)
	}
	out := make([]ref, len(list))
	var first string
	for i, x := range list {
		var cols string
		switch c := x.(type) {
		case abi.Ext:
			if c.Type != abi.ExtHandle || len(c.Data) != 4 || binary.BigEndian.Uint32(c.Data) == 0 {
				return nil, fmt.Errorf("table: %s: chunk %d must be a table or an Object passed by reference, got %s", p.what, i, typeName(x))
			}
			h := binary.BigEndian.Uint32(c.Data)
			b, err := pl.n.Fetch(ctx, h)
			if err != nil {
				return nil, fmt.Errorf("table: %s: chunk %d: %w", p.what, i, err)
			}
			if cols, ok = valueSchema(b); !ok {
				v, _ := abi.Decode(b)
				return nil, fmt.Errorf("table: %s: chunk %d is an Object whose value is not a table: it is %s", p.what, i, typeName(v))
			}
			out[i] = ref{h: h}
		case abi.Table:
			cols, out[i] = schema(c), ref{t: &c}
		default:
			return nil, fmt.Errorf("table: %s: chunk %d must be a table or an Object passed by reference, got %s", p.what, i, typeName(x))
		}
		if i == 0 {
			first = cols
		} else if cols != first {
			return nil, fmt.Errorf("table: %s: chunk %d has columns %s, chunk 0 has %s: every chunk must have the same columns", p.what, i, cols, first)
		}
	}
	return out, nil
}

// valueSchema describes the columns of the table that value b is, as schema does, reading
// only its column descriptors; ok is false when b is not a table.
func valueSchema(b []byte) (string, bool) {
	p, end, ok := extTable(b, 0)
	if !ok || end != len(b) || len(p) < 16 {
		return "", false
	}
	n := int(binary.LittleEndian.Uint32(p))
	s, off := "[", 16
	for k := range n {
		if off+4 > len(p) {
			return "", false
		}
		nl := int(binary.LittleEndian.Uint16(p[off+2:]))
		if off+4+nl > len(p) {
			return "", false
		}
		if k > 0 {
			s += ", "
		}
		s += strconv.Quote(string(p[off+4:off+4+nl])) + " " + abi.ColumnType(p[off]).String()
		off += 4 + nl
	}
	return s + "]", true
}

// schema describes t's columns, names and types, for errors.
func schema(t abi.Table) string {
	s := "["
	for k, c := range t.Columns() {
		if k > 0 {
			s += ", "
		}
		s += strconv.Quote(c.Name) + " " + c.Type.String()
	}
	return s + "]"
}

// lower plans expression v (at path, for errors) and returns the refs of its chunks, in
// row order.
func (pl *planner) lower(ctx context.Context, v any, path string) ([]ref, error) {
	p := newParams(path, v)
	op := p.str("op", true)
	if p.err != nil {
		return nil, p.err
	}
	path = path + " (" + op + ")"
	p.what = path
	if !slices.Contains(ops, op) {
		return nil, fmt.Errorf("table: %s: unknown op %q (want one of %q)", path, op, ops)
	}
	if op == "chunks" {
		return pl.sourceChunks(ctx, p)
	}
	if op == "read_parquet" {
		return lowerParquet(p, path) // parquet.go
	}
	if op == "table" || op == "read_csv" {
		rows := p.int("chunk_rows", DefaultChunkRows)
		if p.err == nil && rows < 1 {
			p.fail("chunk_rows must be 1 or more, got %d", rows)
		}
		var f *frame
		var err error
		if op == "table" {
			x, _ := p.get("value", true)
			if p.err != nil {
				return nil, p.err
			}
			t, ok := x.(abi.Table)
			if !ok {
				return nil, fmt.Errorf("table: %s: value must be a table, got %s", path, typeName(x))
			}
			f, err = fromTable(t)
		} else {
			b, types, err := csvParams(p)
			if err != nil {
				return nil, err
			}
			if p.err != nil {
				return nil, p.err
			}
			return pl.readCSV(ctx, b, types, int(rows))
		}
		if err != nil {
			return nil, err
		}
		if p.err != nil {
			return nil, p.err
		}
		return chunks(f, int(rows))
	}
	x, _ := p.get("x", true)
	if p.err != nil {
		return nil, p.err
	}
	in, err := pl.lower(ctx, x, path+".x")
	if err != nil {
		return nil, err
	}
	switch op {
	case "select":
		cols := p.strs("columns", true)
		if p.err == nil && len(cols) == 0 {
			p.fail("columns names no column")
		}
		if p.err != nil {
			return nil, p.err
		}
		return pl.each(ctx, "select", in, map[string]any{"columns": cols})
	case "filter":
		src := p.str("where", true)
		if p.err != nil {
			return nil, p.err
		}
		if _, err := parseExpr(src); err != nil {
			return nil, err
		}
		return pl.each(ctx, "filter", in, map[string]any{"where": src})
	case "assign":
		name, src := p.str("name", true), p.str("expr", true)
		if p.err != nil {
			return nil, p.err
		}
		if _, err := parseExpr(src); err != nil {
			return nil, err
		}
		return pl.each(ctx, "assign", in, map[string]any{"name": name, "expr": src})
	case "head":
		n := p.int("n", 5)
		if p.err != nil {
			return nil, p.err
		}
		kw := map[string]any{"n": n}
		heads, err := pl.each(ctx, "head", in, kw)
		if err != nil || len(heads) == 1 {
			return heads, err
		}
		r, err := pl.task(ctx, "head", args(heads), kw, 1)
		return []ref{r}, err
	case "sort":
		by := p.strs("by", true)
		desc := p.bools("descending", len(by))
		if p.err == nil && len(by) == 0 {
			p.fail("by names no column")
		}
		if p.err != nil {
			return nil, p.err
		}
		return pl.sort(ctx, in, by, desc)
	case "groupby":
		keys := p.strs("keys", true)
		av, _ := p.get("aggs", true)
		if p.err != nil {
			return nil, p.err
		}
		aggs, err := parseAggs(av)
		if err != nil {
			return nil, err
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("table: %s: keys names no column", path)
		}
		enc := make([]any, len(aggs))
		for i, a := range aggs {
			enc[i] = []any{a.col, a.fn, a.name}
		}
		kw := func(final bool) map[string]any {
			return map[string]any{"keys": keys, "aggs": enc, "final": final}
		}
		parts := make([]ref, len(in))
		for i, r := range in {
			if parts[i], err = pl.task(ctx, "groupby", []any{r.arg()}, kw(len(in) == 1), 1); err != nil {
				return nil, err
			}
		}
		if len(parts) == 1 {
			return parts, nil
		}
		for len(parts) > FanIn {
			groups := (len(parts) + FanIn - 1) / FanIn
			next := make([]ref, groups)
			for g := range next {
				lo, hi := g*len(parts)/groups, (g+1)*len(parts)/groups
				if next[g], err = pl.task(ctx, "combine", args(parts[lo:hi]), kw(false), 1); err != nil {
					return nil, err
				}
			}
			parts = next
		}
		r, err := pl.task(ctx, "combine", args(parts), kw(true), 1)
		return []ref{r}, err
	case "join":
		on := p.strs("on", true)
		y, _ := p.get("y", true)
		np := p.int("partitions", 0)
		if p.err == nil && len(on) == 0 {
			p.fail("on names no column")
		}
		if p.err != nil {
			return nil, p.err
		}
		right, err := pl.lower(ctx, y, path+".y")
		if err != nil {
			return nil, err
		}
		if np == 0 {
			np = int64(min(max(len(in), len(right)), MaxPartitions))
		}
		if np < 1 || np > MaxPartitions {
			return nil, fmt.Errorf("table: %s: partitions must be 1 to %d, got %d", path, MaxPartitions, np)
		}
		return pl.join(ctx, in, right, on, int(np))
	}
	return nil, fmt.Errorf("table: the planner has no lowering for op %q", op)
}

// samples is the number of sorted keys each chunk's sort task samples to choose the key
// ranges of a sort.
const samples = 32

// sort sorts each chunk in a task that also samples its keys, chooses n-1 splitters from the
// samples (n chunks), cuts each sorted chunk into the n key ranges (a split task per chunk)
// and merges each range in a task of its own: the result is n chunks in order, and no task
// sees more than a range of the sorted rows. Equal keys share a range, and a range's merge
// takes the chunks in order, so the sort is stable.
func (pl *planner) sort(ctx context.Context, in []ref, by []string, desc []bool) ([]ref, error) {
	kw := map[string]any{"by": by, "descending": desc}
	if len(in) == 1 {
		return pl.each(ctx, "sort", in, kw)
	}
	n := min(len(in), MaxPartitions)
	sorted := make([]ref, len(in))
	handles := make([]uint32, len(in))
	for i, r := range in {
		h, err := pl.task(ctx, "sort", []any{r.arg()}, map[string]any{"by": by, "descending": desc, "samples": samples}, 2)
		if err != nil {
			return nil, err
		}
		sorted[i], handles[i] = h, h.h+1
	}
	if _, err := pl.n.Execute(ctx, handles); err != nil {
		return nil, fmt.Errorf("table: execute %d sort tasks: %w", len(in), err)
	}
	parts := make([]*frame, len(in))
	for i, h := range handles {
		b, err := pl.n.Fetch(ctx, h)
		if err != nil {
			return nil, fmt.Errorf("table: sort chunk %d: %w", i, err)
		}
		var t abi.Table
		if err := abi.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("table: the key sample of sort chunk %d is not a table: %w", i, err)
		}
		if parts[i], err = fromTable(t); err != nil {
			return nil, err
		}
	}
	all, err := concat(parts)
	if err != nil {
		return nil, err
	}
	if all.n == 0 { // every chunk is empty
		r, err := pl.task(ctx, "merge", args(sorted), kw, 1)
		return []ref{r}, err
	}
	if all, err = sortRows(all, by, desc); err != nil {
		return nil, err
	}
	split, err := splitters(all, n).table()
	if err != nil {
		return nil, err
	}
	ranges := make([][]ref, n) // ranges[p][c]: range p of chunk c
	for _, r := range sorted {
		h, err := pl.task(ctx, "split", []any{r.arg(), split}, map[string]any{"by": by, "descending": desc, "n": n}, n)
		if err != nil {
			return nil, err
		}
		for p := range ranges {
			ranges[p] = append(ranges[p], ref{h: h.h + uint32(p)})
		}
	}
	out := make([]ref, n)
	for p := range out {
		if out[p], err = pl.task(ctx, "merge", args(ranges[p]), kw, 1); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// join partitions both sides by the hash of the keys (one partition task per chunk, with an
// output per partition), joins each partition in a task of its own and sorts the joined
// partitions by the keys (by key ranges, as sort does): the result is one chunk per
// partition, in key order.
func (pl *planner) join(ctx context.Context, left, right []ref, on []string, np int) ([]ref, error) {
	split := func(side []ref) ([][]ref, error) {
		parts := make([][]ref, np) // parts[p][c]: partition p of chunk c
		for _, r := range side {
			if np == 1 {
				parts[0] = append(parts[0], r)
				continue
			}
			h, err := pl.task(ctx, "partition", []any{r.arg()}, map[string]any{"on": on, "n": np}, np)
			if err != nil {
				return nil, err
			}
			for p := range parts {
				parts[p] = append(parts[p], ref{h: h.h + uint32(p)})
			}
		}
		return parts, nil
	}
	lp, err := split(left)
	if err != nil {
		return nil, err
	}
	rp, err := split(right)
	if err != nil {
		return nil, err
	}
	joined := make([]ref, np)
	for p := range joined {
		pos := append(args(lp[p]), args(rp[p])...)
		if joined[p], err = pl.task(ctx, "join", pos, map[string]any{"on": on, "nleft": len(lp[p])}, 1); err != nil {
			return nil, err
		}
	}
	if np == 1 {
		return joined, nil
	}
	// Each joined partition is sorted by the keys, and equal keys are in one partition: a
	// sort by key ranges orders the whole as pandas does, keeping each key's rows in order.
	return pl.sort(ctx, joined, on, make([]bool, len(on)))
}

// errNoEngine is returned by eval when it runs outside an engine.
var errNoEngine = errors.New("table: eval spawns chunk tasks, so it must run as a task of an engine (spawn mrun:table eval), not as a bare call")

// evalFunc is the planner: its one positional argument is an expression; it returns the
// table.
func evalFunc(ctx context.Context, args []byte) ([]byte, error) {
	n, ok := runtime.NestedFrom(ctx)
	if !ok {
		return nil, errNoEngine
	}
	pos, _, err := decodeFrame(args)
	if err != nil {
		return nil, err
	}
	if len(pos) != 1 {
		return nil, fmt.Errorf("table: eval takes one expression, got %d arguments", len(pos))
	}
	b, _, err := eval(ctx, n, pos[0])
	return b, err
}

// eval plans expression v, runs its chunk tasks through n and returns the result, encoded,
// and how many tasks it spawned.
func eval(ctx context.Context, n runtime.Nested, v any) ([]byte, int, error) {
	pl := &planner{n: n}
	refs, err := pl.lower(ctx, v, "expression")
	if err != nil {
		return nil, pl.spawn, err
	}
	var handles []uint32
	for _, r := range refs {
		if r.h != 0 {
			handles = append(handles, r.h)
		}
	}
	if len(handles) > 0 {
		if _, err := n.Execute(ctx, handles); err != nil {
			return nil, pl.spawn, fmt.Errorf("table: execute %d chunk tasks: %w", pl.spawn, err)
		}
	}
	frames := make([]*frame, len(refs))
	for i, r := range refs {
		t := r.t
		if t == nil {
			b, err := n.Fetch(ctx, r.h)
			if err != nil {
				return nil, pl.spawn, fmt.Errorf("table: chunk %d of the result: %w", i, err)
			}
			if len(refs) == 1 {
				return slices.Clone(b), pl.spawn, nil
			}
			var c abi.Table
			if err := abi.Unmarshal(b, &c); err != nil {
				return nil, pl.spawn, fmt.Errorf("table: chunk %d of the result is not a table: %w", i, err)
			}
			t = &c
		}
		if frames[i], err = fromTable(*t); err != nil {
			return nil, pl.spawn, err
		}
	}
	f, err := concat(frames)
	if err != nil {
		return nil, pl.spawn, err
	}
	b, err := encodeFrame(f)
	return b, pl.spawn, err
}
