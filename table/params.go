package table

import (
	"fmt"
	"math"

	"github.com/mrun-dev/mrun/abi"
)

// params reads the fields of a decoded MessagePack map (an expression or a kernel's keyword
// arguments). The first problem is kept in err and later reads return zero values, so a
// caller reads every field and checks err once.
type params struct {
	what string // "filter expression", "kernel sort": names the map in errors
	m    map[string]any
	err  error
}

func newParams(what string, v any) *params {
	m, ok := v.(map[string]any)
	p := &params{what: what, m: m}
	if !ok {
		p.err = fmt.Errorf("table: %s must be a map with string keys, got %s", what, typeName(v))
	}
	return p
}

func typeName(v any) string {
	switch x := v.(type) {
	case nil:
		return "nil"
	case bool:
		return "a bool"
	case int64, uint64:
		return "an integer"
	case float64:
		return "a float"
	case string:
		return "a string"
	case []byte:
		return "binary data"
	case []any:
		return "an array"
	case map[string]any, map[any]any:
		return "a map"
	case abi.Tensor:
		return "a tensor"
	case abi.Table:
		return "a table"
	case abi.Ext:
		return fmt.Sprintf("an extension value of type %d", x.Type)
	}
	return fmt.Sprintf("%T", v)
}

func (p *params) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("table: %s: %s", p.what, fmt.Sprintf(format, args...))
	}
}

func (p *params) get(key string, required bool) (any, bool) {
	if p.err != nil {
		return nil, false
	}
	v, ok := p.m[key]
	if !ok || v == nil {
		if required {
			p.fail("field %q is missing", key)
		}
		return nil, false
	}
	return v, true
}

func (p *params) str(key string, required bool) string {
	v, ok := p.get(key, required)
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		p.fail("field %q must be a string, got %s", key, typeName(v))
	}
	return s
}

// int reads an integer; a float with an integral value (JSON numbers) is accepted.
func (p *params) int(key string, def int64) int64 {
	v, ok := p.get(key, false)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case int64:
		return x
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	}
	p.fail("field %q must be an integer, got %s", key, typeName(v))
	return def
}

func (p *params) bool(key string) bool {
	v, ok := p.get(key, false)
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		p.fail("field %q must be a bool, got %s", key, typeName(v))
	}
	return b
}

// strs reads an array of strings; a single string is an array of one.
func (p *params) strs(key string, required bool) []string {
	v, ok := p.get(key, required)
	if !ok {
		return nil
	}
	if s, ok := v.(string); ok {
		return []string{s}
	}
	list, ok := v.([]any)
	if !ok {
		p.fail("field %q must be an array of strings, got %s", key, typeName(v))
		return nil
	}
	out := make([]string, len(list))
	for i, x := range list {
		if out[i], ok = x.(string); !ok {
			p.fail("field %q element %d must be a string, got %s", key, i, typeName(x))
			return nil
		}
	}
	return out
}

// bools reads an array of n bools; a single bool applies to all n.
func (p *params) bools(key string, n int) []bool {
	out := make([]bool, n)
	v, ok := p.get(key, false)
	if !ok {
		return out
	}
	if b, ok := v.(bool); ok {
		for i := range out {
			out[i] = b
		}
		return out
	}
	list, ok := v.([]any)
	if !ok || len(list) != n {
		p.fail("field %q must be a bool or an array of %d bools, got %s", key, n, typeName(v))
		return out
	}
	for i, x := range list {
		if out[i], ok = x.(bool); !ok {
			p.fail("field %q element %d must be a bool, got %s", key, i, typeName(x))
		}
	}
	return out
}
