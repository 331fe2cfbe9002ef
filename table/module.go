package table

import (
	"context"
	"fmt"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
)

// ModuleName is the name the module is registered under; guests and graph files spawn its
// functions with it.
const ModuleName = "mrun:table"

// Version is the module's version, part of its identity: task keys change when it does, so
// cached chunks from an older planner or kernels are never reused.
const Version = "1"

// DefaultChunkRows is the number of rows in a chunk when a source sets no chunk_rows.
const DefaultChunkRows = 1 << 16

// FanIn is the most partials one combine task of a group-by takes.
const FanIn = 8

// Module returns the native module "mrun:table": the planner (function eval) and the
// kernels, each computing one chunk.
func Module() runtime.NativeModule {
	return runtime.NativeModule{Name: ModuleName, Version: Version, Funcs: map[string]runtime.NativeFunc{
		"eval":      evalFunc,
		"read_csv":  kernel(kReadCSV),
		"select":    kernel(kSelect),
		"filter":    kernel(kFilter),
		"assign":    kernel(kAssign),
		"head":      kernel(kHead),
		"sort":      kernel(kSort),
		"merge":     kernel(kMerge),
		"split":     kernel(kSplit),
		"groupby":   kernel(kGroupBy),
		"combine":   kernel(kCombine),
		"partition": kernel(kPartition),
		"join":      kernel(kJoin),
	}}
}

// Register loads Module into rt (cmd/mrun and embedders call it).
func Register(ctx context.Context, rt *runtime.Runtime) (*runtime.Module, error) {
	m, err := rt.LoadNative(ctx, Module())
	if err != nil {
		return nil, fmt.Errorf("table: register %s: %w", ModuleName, err)
	}
	return m, nil
}

// kernel adapts a kernel to a NativeFunc: it decodes the argument frame [positional tables,
// keyword arguments] (the tables' numeric columns read in place, so valid until the kernel
// returns; every result is encoded afresh) and encodes the result, a table or (for partition) an array of tables.
func kernel(f func(pos []*frame, kw *params) (any, error)) runtime.NativeFunc {
	return func(ctx context.Context, args []byte) ([]byte, error) {
		frames, kw, err := decodeTables(args)
		if err != nil {
			return nil, err
		}
		v, err := f(frames, kw)
		if err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case *frame:
			return encodeFrame(x)
		case []*frame:
			out := appendArrayHeader(nil, len(x))
			for _, f := range x {
				t, err := f.table()
				if err != nil {
					return nil, err
				}
				if out, err = abi.AppendTable(out, t); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		return nil, fmt.Errorf("table: kernel returned %T", v)
	}
}

func encodeFrame(f *frame) ([]byte, error) {
	t, err := f.table()
	if err != nil {
		return nil, err
	}
	return abi.AppendTable(nil, t)
}

func appendArrayHeader(dst []byte, n int) []byte {
	switch {
	case n < 16:
		return append(dst, 0x90|byte(n))
	case n < 1<<16:
		return append(dst, 0xdc, byte(n>>8), byte(n))
	}
	return append(dst, 0xdd, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// decodeFrame splits an argument frame (ABI.md section 3) into its positional arguments
// and its keyword arguments.
func decodeFrame(args []byte) ([]any, *params, error) {
	v, err := abi.Decode(args)
	if err != nil {
		return nil, nil, fmt.Errorf("table: argument frame: %w", err)
	}
	frame, ok := v.([]any)
	if !ok || len(frame) != 2 {
		return nil, nil, fmt.Errorf("table: argument frame must be [positional, keyword], got %s", typeName(v))
	}
	pos, ok := frame[0].([]any)
	if !ok {
		return nil, nil, fmt.Errorf("table: positional arguments must be an array, got %s", typeName(frame[0]))
	}
	kw := newParams("keyword arguments", frame[1])
	if frame[1] == nil {
		kw = newParams("keyword arguments", map[string]any{})
	}
	return pos, kw, kw.err
}

func one(fn string, pos []*frame) (*frame, error) {
	if len(pos) != 1 {
		return nil, fmt.Errorf("table: kernel %s takes one table, got %d", fn, len(pos))
	}
	return pos[0], nil
}

// kReadCSV: a piece of a CSV (the header and some records, which start line lines later in
// the whole CSV) parsed, and a table of no rows with its columns' types (of no columns when
// the piece has no records), which the planner reads to unify the pieces' types.
func kReadCSV(pos []*frame, kw *params) (any, error) {
	if len(pos) != 0 {
		return nil, fmt.Errorf("table: kernel read_csv takes no tables, got %d", len(pos))
	}
	line := kw.int("line", 0)
	data, types, err := csvParams(kw)
	if err != nil {
		return nil, err
	}
	if kw.err != nil {
		return nil, kw.err
	}
	f, err := readCSVAt(data, types, int(line))
	if err != nil {
		return nil, err
	}
	schema := f.slice(0, 0)
	if f.n == 0 {
		schema = &frame{} // no records: no say in the CSV's types
	}
	return []*frame{f, schema}, nil
}

func kSelect(pos []*frame, kw *params) (any, error) {
	f, err := one("select", pos)
	cols := kw.strs("columns", true)
	if err := cmpErr(err, kw.err); err != nil {
		return nil, err
	}
	return selectCols(f, cols)
}

func kFilter(pos []*frame, kw *params) (any, error) {
	f, err := one("filter", pos)
	src := kw.str("where", true)
	if err := cmpErr(err, kw.err); err != nil {
		return nil, err
	}
	return filterRows(f, src)
}

func kAssign(pos []*frame, kw *params) (any, error) {
	f, err := one("assign", pos)
	name, src := kw.str("name", true), kw.str("expr", true)
	if err := cmpErr(err, kw.err); err != nil {
		return nil, err
	}
	return assignCol(f, name, src)
}

// kHead: the first n rows of its tables, taken in order.
func kHead(pos []*frame, kw *params) (any, error) {
	n := int(kw.int("n", 5))
	if kw.err != nil {
		return nil, kw.err
	}
	f, err := concat(pos)
	if err != nil {
		return nil, err
	}
	return f.slice(0, min(max(n, 0), f.n)), nil
}

func sortParams(kw *params) ([]string, []bool) {
	by := kw.strs("by", true)
	return by, kw.bools("descending", len(by))
}

// kSort: its table sorted; with samples s > 0, also a sample of the sorted keys (s rows
// evenly spaced), as a second output.
func kSort(pos []*frame, kw *params) (any, error) {
	f, err := one("sort", pos)
	by, desc := sortParams(kw)
	s := int(kw.int("samples", 0))
	if err := cmpErr(err, kw.err); err != nil {
		return nil, err
	}
	sorted, err := sortRows(f, by, desc)
	if err != nil || s <= 0 {
		return sorted, err
	}
	keys, _ := selectCols(sorted, by) // sortRows found every column
	return []*frame{sorted, sample(keys, s)}, nil
}

// kSplit: a sorted table (positional 0) cut into n key ranges by n-1 splitters (positional
// 1, the key columns, sorted): range p holds the rows after splitter p-1 and up to splitter p.
func kSplit(pos []*frame, kw *params) (any, error) {
	by, desc := sortParams(kw)
	n := int(kw.int("n", 0))
	if kw.err != nil {
		return nil, kw.err
	}
	if len(pos) != 2 {
		return nil, fmt.Errorf("table: kernel split takes a table and its splitters, got %d tables", len(pos))
	}
	if n < 1 || n > MaxPartitions || pos[1].n != n-1 {
		return nil, fmt.Errorf("table: kernel split: %d splitters cannot make %d ranges", pos[1].n, n)
	}
	return splitRanges(pos[0], pos[1], by, desc)
}

// kMerge: its tables, each sorted, merged in order; of equal rows, the earlier table's
// first. A stable sort of their concatenation gives exactly that.
func kMerge(pos []*frame, kw *params) (any, error) {
	by, desc := sortParams(kw)
	if kw.err != nil {
		return nil, kw.err
	}
	f, err := concat(pos)
	if err != nil {
		return nil, err
	}
	return sortRows(f, by, desc)
}

// groupParams reads keys, aggs (an array of [column, function] or [column, function,
// name]) and final.
func groupParams(kw *params) ([]string, []agg, bool, error) {
	keys := kw.strs("keys", true)
	final := kw.bool("final")
	v, _ := kw.get("aggs", true)
	if kw.err != nil {
		return nil, nil, false, kw.err
	}
	aggs, err := parseAggs(v)
	return keys, aggs, final, err
}

func parseAggs(v any) ([]agg, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("table: groupby: aggs must be an array of [column, function] pairs, got %s", typeName(v))
	}
	out := make([]agg, len(list))
	for i, x := range list {
		a, ok := x.([]any)
		if ok && (len(a) == 2 || len(a) == 3) {
			c, ok1 := a[0].(string)
			fn, ok2 := a[1].(string)
			name := c + "_" + fn
			ok3 := true
			if len(a) == 3 {
				name, ok3 = a[2].(string)
			}
			if ok1 && ok2 && ok3 {
				out[i] = agg{col: c, fn: fn, name: name}
				found := false
				for _, f := range aggFuncs {
					found = found || f == fn
				}
				if !found {
					return nil, fmt.Errorf("table: groupby: aggregation %d: unknown function %q (want one of %q)", i, fn, aggFuncs)
				}
				continue
			}
		}
		return nil, fmt.Errorf("table: groupby: aggregation %d must be [column, function] or [column, function, name], strings", i)
	}
	return out, nil
}

func kGroupBy(pos []*frame, kw *params) (any, error) {
	f, err := one("groupby", pos)
	if err != nil {
		return nil, err
	}
	keys, aggs, final, err := groupParams(kw)
	if err != nil {
		return nil, err
	}
	return groupBy(f, keys, aggs, false, final)
}

// kCombine: partials of a group-by merged into one partial, or the result when final.
func kCombine(pos []*frame, kw *params) (any, error) {
	keys, aggs, final, err := groupParams(kw)
	if err != nil {
		return nil, err
	}
	f, err := concat(pos)
	if err != nil {
		return nil, err
	}
	return groupBy(f, keys, aggs, true, final)
}

func kPartition(pos []*frame, kw *params) (any, error) {
	f, err := one("partition", pos)
	on := kw.strs("on", true)
	n := kw.int("n", 0)
	if err := cmpErr(err, kw.err); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxPartitions {
		return nil, fmt.Errorf("table: partition: n must be 1 to %d, got %d", MaxPartitions, n)
	}
	return partition(f, on, int(n))
}

// kJoin: the first nleft tables are parts of the left side, the others of the right side.
func kJoin(pos []*frame, kw *params) (any, error) {
	on := kw.strs("on", true)
	nl := int(kw.int("nleft", 1))
	if kw.err != nil {
		return nil, kw.err
	}
	if nl < 1 || nl >= len(pos) {
		return nil, fmt.Errorf("table: kernel join needs 1 or more left and right tables, got nleft %d of %d", nl, len(pos))
	}
	l, err := concat(pos[:nl])
	if err != nil {
		return nil, err
	}
	r, err := concat(pos[nl:])
	if err != nil {
		return nil, err
	}
	return join(l, r, on)
}

// MaxPartitions is the most partitions a join may use.
const MaxPartitions = 1024
