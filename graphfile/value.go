package graphfile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// ParseValue decodes one JSON value as a graph file's literal: integers are int64 (uint64 when
// larger), and a map whose only key is "$tensor" or "$table" is an abi.Tensor or abi.Table
// (docs/graph-format.md). An error about such a literal is a *LiteralError.
func ParseValue(s string) (any, error) {
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("more than one value")
	}
	return fromJSON(v)
}

func fromJSON(v any) (any, error) {
	var err error
	switch v := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return i, nil
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return u, nil
		}
		f, _ := v.Float64()
		return f, nil
	case []any:
		for i := range v {
			if v[i], err = fromJSON(v[i]); err != nil {
				return nil, err
			}
		}
	case map[string]any:
		for k := range v {
			if v[k], err = fromJSON(v[k]); err != nil {
				return nil, err
			}
		}
		if len(v) == 1 {
			for k, x := range v {
				switch tag, escaped := TaggedKey(k); {
				case escaped:
					return map[string]any{k[1:]: x}, nil
				case tag == "$tensor":
					return tensorLiteral(literalNode(x), tag)
				case tag == "$table":
					return tableLiteral(literalNode(x))
				}
			}
		}
	}
	return v, nil
}
