package tensor

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/vmihailenco/msgpack/v5"
)

// numpyCase is one case of testdata/numpy.json (written by testdata/gen.py).
type numpyCase struct {
	Name      string          `json:"name"`
	Expr      json.RawMessage `json:"expr"`
	Want      json.RawMessage `json:"want"`
	RTol      float64         `json:"rtol"`
	ATol      float64         `json:"atol"`
	Chunkings []any           `json:"chunkings"`
}

// leafOps are the operators whose chunks the test sets.
var leafOps = []string{"tensor", "arange", "linspace", "full", "zeros", "ones", "rand"}

// fromJSON turns a decoded JSON fixture value into the generic form abi.Decode gives:
// integers as int64, other numbers as float64, {"$tensor": …} as an abi.Tensor.
func fromJSON(v any) (any, error) {
	switch x := v.(type) {
	case json.Number:
		if i, err := x.Int64(); err == nil && !strings.ContainsAny(x.String(), ".eE") {
			return i, nil
		}
		return x.Float64()
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			var err error
			if out[i], err = fromJSON(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]any:
		if t, ok := x["$tensor"].(map[string]any); ok {
			d, err := abi.ParseDType(t["dtype"].(string))
			if err != nil {
				return nil, err
			}
			data, err := base64.StdEncoding.DecodeString(t["data"].(string))
			if err != nil {
				return nil, err
			}
			shape := []int{}
			for _, s := range t["shape"].([]any) {
				n, _ := s.(json.Number).Int64()
				shape = append(shape, int(n))
			}
			tt := abi.Tensor{DType: d, Shape: shape, Data: data}
			return tt, tt.Validate()
		}
		out := map[string]any{}
		for k, e := range x {
			var err error
			if out[k], err = fromJSON(e); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return v, nil
}

func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return fromJSON(v)
}

// setChunks sets the chunks of every leaf of expression v: chunking(i) for the i-th leaf.
func setChunks(v any, chunking func(i int) any, i *int) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			setChunks(e, chunking, i)
		}
	case map[string]any:
		if op, _ := x["op"].(string); slices.Contains(leafOps, op) {
			x["chunks"] = chunking(*i)
			*i++
		}
		for k, e := range x {
			if k != "value" {
				setChunks(e, chunking, i)
			}
		}
	}
}

// closeTo reports how got differs from want: dtype and shape exactly, integers and bools
// exactly, floats within atol + rtol·|want| (NaN matches NaN, infinities match themselves).
func closeTo(got, want abi.Tensor, rtol, atol float64) error {
	if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) {
		return fmt.Errorf("got %s, want %s", got, want)
	}
	if !isFloat(want.DType) {
		if !bytes.Equal(cast(got, abi.Bool).Data, cast(want, abi.Bool).Data) && want.DType == abi.Bool ||
			want.DType != abi.Bool && !bytes.Equal(got.Data, want.Data) {
			return fmt.Errorf("got %v, want %v", view[float64](cast(got, abi.Float64)), view[float64](cast(want, abi.Float64)))
		}
		return nil
	}
	g, w := view[float64](cast(got, abi.Float64)), view[float64](cast(want, abi.Float64))
	for i := range w {
		switch {
		case math.IsNaN(w[i]) && math.IsNaN(g[i]), w[i] == g[i]:
		case math.Abs(g[i]-w[i]) <= atol+rtol*math.Abs(w[i]):
		default:
			return fmt.Errorf("element %d is %v, want %v (rtol %g, atol %g); got %v", i, g[i], w[i], rtol, atol, g)
		}
	}
	return nil
}

// defaultChunkings are the chunk sizes every case runs with: whole leaves, 1, 2 and 3 per
// axis (ragged last chunks for 7 × 5), and leaves chunked differently from each other,
// which makes the planner rechunk operands of one operator.
var defaultChunkings = []any{int64(-1), int64(1), int64(2), int64(3), "mixed"}

func TestNumPy(t *testing.T) {
	raw, err := os.ReadFile("testdata/numpy.json")
	if err != nil {
		t.Fatal(err)
	}
	var fix struct {
		NumPy string      `json:"numpy"`
		Cases []numpyCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &fix); err != nil {
		t.Fatal(err)
	}
	if len(fix.Cases) < 100 {
		t.Fatalf("testdata/numpy.json holds %d cases, want the whole set (run testdata/gen.sh)", len(fix.Cases))
	}
	for _, c := range fix.Cases {
		t.Run(c.Name, func(t *testing.T) {
			wantV, err := decodeJSON(c.Want)
			if err != nil {
				t.Fatal(err)
			}
			want := wantV.(abi.Tensor)
			chunkings := defaultChunkings
			if c.Chunkings != nil {
				chunkings = nil
				for _, ch := range c.Chunkings {
					v, err := fromJSON(jsonNumbers(ch))
					if err != nil {
						t.Fatal(err)
					}
					chunkings = append(chunkings, v)
				}
			}
			for _, ch := range chunkings {
				expr, err := decodeJSON(c.Expr)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				setChunks(expr, func(i int) any {
					if ch == "mixed" {
						return int64(2 + i%3)
					}
					return ch
				}, &n)
				// Through the wire form, as a guest would send it.
				b, err := msgpack.Marshal(expr)
				if err != nil {
					t.Fatal(err)
				}
				v, err := abi.Decode(b)
				if err != nil {
					t.Fatal(err)
				}
				got, _, err := eval(context.Background(), newFakeEngine(), v)
				if err != nil {
					t.Fatalf("chunks %v: %v", ch, err)
				}
				if err := closeTo(got, want, c.RTol, c.ATol); err != nil {
					t.Errorf("chunks %v: %v", ch, err)
				}
			}
		})
	}
}

// jsonNumbers turns the float64s encoding/json gives an []any into json.Numbers.
func jsonNumbers(v any) any {
	switch x := v.(type) {
	case float64:
		return json.Number(fmt.Sprint(int64(x)))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonNumbers(e)
		}
		return out
	}
	return v
}
