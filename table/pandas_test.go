package table_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/mrun-dev/mrun/table"
)

// evalFunc registers mrun:table in a new runtime and returns its eval function.
func evalFunc(t testing.TB) *runtime.Function {
	t.Helper()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close(ctx) })
	m, err := table.Register(ctx, rt)
	if err != nil {
		t.Fatal(err)
	}
	f, err := m.Func("eval")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// run evaluates expression x on a new engine with one slot and returns the table.
func run(t testing.TB, eval *runtime.Function, x any) (abi.Table, error) {
	t.Helper()
	e := dag.New(dag.Config{Slots: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a deadlock fails, not hangs
	defer cancel()
	o := dag.Spawn(eval, x)
	if err := e.Execute(ctx, o); err != nil {
		return abi.Table{}, err
	}
	var out abi.Table
	if err := e.Fetch(ctx, o, &out); err != nil {
		t.Fatal(err)
	}
	return out, nil
}

type fixture struct {
	Pandas string
	Cases  []struct {
		Name string
		Expr any
		Want struct {
			Columns []struct {
				Name string
				Type string
				Data []any
			}
		}
	}
}

// intsOf turns JSON numbers that are integers into int64 (they are integers in an
// expression), others into float64, throughout v.
func intsOf(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = intsOf(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = intsOf(x[k])
		}
	}
	return v
}

// setChunks sets chunk_rows on every source of expression v.
func setChunks(v any, rows int) {
	switch x := v.(type) {
	case []any:
		for _, y := range x {
			setChunks(y, rows)
		}
	case map[string]any:
		if x["op"] == "read_csv" {
			x["chunk_rows"] = int64(rows)
		}
		for _, y := range x {
			setChunks(y, rows)
		}
	}
}

// TestPandas checks every operation against pandas (testdata/gen.py wrote the results) for
// several chunkings of its 40- and 12-row inputs, ragged last chunks included: integers,
// strings, bools and row order exactly, floats within a relative 1e-12 (sums and means add
// in another order than pandas does).
func TestPandas(t *testing.T) {
	raw, err := os.ReadFile("testdata/pandas.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var fx fixture
	if err := dec.Decode(&fx); err != nil {
		t.Fatal(err)
	}
	eval := evalFunc(t)
	for _, c := range fx.Cases {
		for _, rows := range []int{1, 3, 7, 16, 1000} {
			t.Run(fmt.Sprintf("%s/rows=%d", c.Name, rows), func(t *testing.T) {
				expr := intsOf(c.Expr)
				setChunks(expr, rows)
				got, err := run(t, eval, expr)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Columns()) != len(c.Want.Columns) {
					t.Fatalf("got %s, want %d columns", got, len(c.Want.Columns))
				}
				for k, w := range c.Want.Columns {
					g := got.Columns()[k]
					if g.Name != w.Name || g.Type.String() != w.Type || g.Len() != len(w.Data) {
						t.Fatalf("column %d is %q %s of %d values, want %q %s of %d", k, g.Name, g.Type, g.Len(), w.Name, w.Type, len(w.Data))
					}
					checkColumn(t, g, w.Data)
				}
			})
		}
	}
}

func checkColumn(t *testing.T, c abi.Column, want []any) {
	t.Helper()
	for i, w := range want {
		var ok bool
		var g any
		switch c.Type {
		case abi.ColInt64:
			v, _ := c.Int64s()
			g = v[i]
			n, _ := w.(json.Number).Int64()
			ok = v[i] == n
		case abi.ColFloat64:
			v, _ := c.Float64s()
			g = v[i]
			if s, isStr := w.(string); isStr {
				ok = s == "NaN" && math.IsNaN(v[i]) || s == "Infinity" && math.IsInf(v[i], 1) || s == "-Infinity" && math.IsInf(v[i], -1)
			} else {
				f, _ := w.(json.Number).Float64()
				ok = v[i] == f || math.Abs(v[i]-f) <= 1e-12*math.Max(math.Abs(f), 1)
			}
		case abi.ColBool:
			v, _ := c.Bools()
			g = v[i]
			ok = v[i] == w
		case abi.ColString:
			v, _ := c.Strings()
			g = v[i]
			ok = v[i] == w
		}
		if !ok {
			t.Errorf("column %q row %d = %v, want %v", c.Name, i, g, w)
		}
	}
}

var _ = strings.Contains
