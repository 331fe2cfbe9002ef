package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/graphfile"
	"github.com/mrun-dev/mrun/internal/termsafe"
)

// parseJSON decodes one JSON value as graphfile.ParseValue does; an error about a tensor or
// table literal is a *litError.
func parseJSON(s string) (any, error) { return graphfile.ParseValue(s) }

// litError is a tensor or table literal that cannot be built.
type litError = graphfile.LiteralError

// toJSON turns a decoded value into something encoding/json prints faithfully.
func toJSON(v any) (any, error) {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("the result holds %v, which JSON cannot represent", v)
		}
	case float32:
		return toJSON(float64(v))
	case abi.Tensor:
		return tensorJSON(v)
	case abi.Table:
		return tableJSON(v)
	case []any:
		for i := range v {
			x, err := toJSON(v[i])
			if err != nil {
				return nil, err
			}
			v[i] = x
		}
	case map[string]any:
		o := &jsonObject{}
		for _, k := range slices.Sorted(maps.Keys(v)) { // the order encoding/json prints
			o.add(k, v[k])
		}
		return toJSON(o)
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[fmt.Sprint(k)] = x
		}
		return toJSON(m)
	case *graphfile.Map:
		return toJSON(&jsonObject{keys: v.Keys, vals: v.Values})
	case *jsonObject:
		if v.done {
			return v, nil
		}
		for i := range v.vals {
			x, err := toJSON(v.vals[i])
			if err != nil {
				return nil, err
			}
			v.vals[i] = x
		}
		// A plain map that would read back as a tagged value (its only key is $tensor, $table
		// or one of them with more $s) gets one more $.
		if len(v.keys) == 1 {
			if _, escaped := graphfile.TaggedKey("$" + v.keys[0]); escaped {
				v.keys[0] = "$" + v.keys[0]
			}
		}
		v.done = true
	}
	return v, nil
}

// jsonObject is a JSON object that keeps its keys in the order they were added, so that
// outputs print in the order the graph file lists them.
type jsonObject struct {
	keys []string
	vals []any
	done bool // toJSON has converted the values and escaped the key: it leaves it alone
}

func (o *jsonObject) add(k string, v any) {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// MarshalJSON writes the object with its keys in order.
func (o *jsonObject) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := encodeJSON(&b, k); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := encodeJSON(&b, o.vals[i]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encodeJSON writes v without a trailing newline and without HTML escaping.
func encodeJSON(w *bytes.Buffer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	w.Truncate(w.Len() - 1)
	return nil
}

// writeResult prints v, a result, as one line of JSON on the command's stdout. encoding/json
// escapes the C0 controls in strings; on a terminal DEL and the C1 controls are escaped too,
// so that a result cannot drive the terminal either.
func writeResult(io streams, v any) error {
	if !io.OutTTY {
		return writeJSON(io.Out, v)
	}
	var b bytes.Buffer
	if err := writeJSON(&b, v); err != nil {
		return err
	}
	_, err := io.Out.Write(termsafe.JSON(b.Bytes()))
	return err
}

// writeCallResult prints v, the result of mrun call: a table as JSON rows with rows set, as
// aligned text on a terminal, and otherwise as writeResult prints any result.
func writeCallResult(io streams, v any, rows bool) error {
	if t, ok := v.(abi.Table); ok {
		switch {
		case rows:
			r, err := tableRows(t)
			if err != nil {
				return err
			}
			return writeResult(io, r)
		case io.OutTTY:
			s, err := textTable(t)
			if err != nil {
				return err
			}
			_, err = io.Out.Write([]byte(s))
			return err
		}
	}
	return writeResult(io, v)
}

// writeResultJSON prints b, a result writeJSON wrote before, as writeResult would print it.
func writeResultJSON(io streams, b []byte) error {
	if io.OutTTY {
		b = termsafe.JSON(b)
	}
	_, err := io.Out.Write(b)
	return err
}

// writeJSON prints v as one line of JSON.
func writeJSON(w io.Writer, v any) error {
	v, err := toJSON(v)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// tensorJSON prints a tensor as {"$tensor": {"dtype": …, "shape": […], "data": […]}}, the data
// flat in row-major order and the floats JSON has no numbers for as "NaN", "Infinity" and
// "-Infinity": the form tensorLiteral reads.
func tensorJSON(t abi.Tensor) (any, error) {
	flat, err := tensorValues(t)
	if err != nil {
		return nil, err
	}
	for i, x := range flat {
		switch x := x.(type) {
		case float64:
			flat[i] = jsonFloat(x)
		case float32:
			if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
				flat[i] = jsonFloat(f)
			}
		}
	}
	inner := &jsonObject{done: true}
	inner.add("dtype", t.DType.String())
	inner.add("shape", append([]int{}, t.Shape...))
	inner.add("data", flat)
	o := &jsonObject{done: true}
	o.add("$tensor", inner)
	return o, nil
}

// tensorValues returns the elements of t as JSON-ready values, in row-major order.
func tensorValues(t abi.Tensor) ([]any, error) {
	var out []any
	add := func(xs []any) { out = xs }
	var err error
	switch t.DType {
	case abi.Int8:
		err = each[int8](t, add)
	case abi.Int16:
		err = each[int16](t, add)
	case abi.Int32:
		err = each[int32](t, add)
	case abi.Int64:
		err = each[int64](t, add)
	case abi.Uint8:
		err = each[uint8](t, add)
	case abi.Uint16:
		err = each[uint16](t, add)
	case abi.Uint32:
		err = each[uint32](t, add)
	case abi.Uint64:
		err = each[uint64](t, add)
	case abi.Float32:
		err = each[float32](t, add)
	case abi.Float64:
		err = each[float64](t, add)
	case abi.Bool:
		err = each[bool](t, add)
	default:
		err = t.Validate()
	}
	return out, err
}

func each[T abi.Element](t abi.Tensor, f func([]any)) error {
	xs, err := abi.Elements[T](t)
	if err != nil {
		return err
	}
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	f(out)
	return nil
}
