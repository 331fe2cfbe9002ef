package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/internal/termsafe"
)

// parseJSON decodes one JSON value, keeping integers as int64 (uint64 when larger).
func parseJSON(s string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one value")
	}
	return fromJSON(v), nil
}

func fromJSON(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return u
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = fromJSON(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = fromJSON(v[k])
		}
	}
	return v
}

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
	case []any:
		for i := range v {
			x, err := toJSON(v[i])
			if err != nil {
				return nil, err
			}
			v[i] = x
		}
	case map[string]any:
		for k := range v {
			x, err := toJSON(v[k])
			if err != nil {
				return nil, err
			}
			v[k] = x
		}
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			j, err := toJSON(x)
			if err != nil {
				return nil, err
			}
			m[fmt.Sprint(k)] = j
		}
		return m, nil
	case *jsonObject:
		for i := range v.vals {
			x, err := toJSON(v.vals[i])
			if err != nil {
				return nil, err
			}
			v.vals[i] = x
		}
	}
	return v, nil
}

// jsonObject is a JSON object that keeps its keys in the order they were added, so that
// outputs print in the order the graph file lists them.
type jsonObject struct {
	keys []string
	vals []any
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

// tensorJSON prints a tensor as {"dtype": …, "shape": […], "data": nested lists}, the data
// nested like NumPy's tolist().
func tensorJSON(t abi.Tensor) (any, error) {
	flat, err := tensorValues(t)
	if err != nil {
		return nil, err
	}
	var nest func(shape []int, xs []any) []any
	nest = func(shape []int, xs []any) []any {
		if len(shape) <= 1 {
			return xs
		}
		out := make([]any, shape[0])
		step := 0
		if shape[0] > 0 {
			step = len(xs) / shape[0]
		}
		for i := range out {
			out[i] = nest(shape[1:], xs[i*step:(i+1)*step])
		}
		return out
	}
	var data any
	if len(t.Shape) == 0 {
		data = flat[0]
	} else {
		data = nest(t.Shape, flat)
	}
	o := &jsonObject{}
	o.add("dtype", t.DType.String())
	o.add("shape", append([]int{}, t.Shape...))
	o.add("data", data)
	return toJSON(o)
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
