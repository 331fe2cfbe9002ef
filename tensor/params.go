package tensor

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/mrun-dev/mrun/abi"
)

// params reads the fields of a decoded MessagePack map (an expression or a kernel's keyword
// arguments). The first problem is kept in err and later reads return zero values, so a
// caller reads every field and checks err once.
type params struct {
	what string // "sum expression", "kernel gather": names the map in errors
	m    map[string]any
	err  error
}

func newParams(what string, v any) *params {
	m, ok := v.(map[string]any)
	p := &params{what: what, m: m}
	if !ok {
		p.err = &pathError{path: what, err: errors.New("must be a map with string keys, got " + typeName(v))}
	}
	return p
}

func typeName(v any) string {
	switch v.(type) {
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
	case []any:
		return "an array"
	case map[string]any, map[any]any:
		return "a map"
	case abi.Tensor:
		return "a tensor"
	}
	return fmt.Sprintf("%T", v)
}

func (p *params) fail(format string, args ...any) {
	if p.err == nil {
		p.err = &pathError{path: p.what, err: fmt.Errorf(format, args...)}
	}
}

// pathError is an error about the part of an expression or of a kernel's arguments at path.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string {
	return "tensor: " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "tensor: ")
}

func (e *pathError) Unwrap() error { return e.err }

func (p *params) has(key string) bool {
	v, ok := p.m[key]
	return ok && v != nil
}

func (p *params) get(key string) (any, bool) {
	if p.err != nil {
		return nil, false
	}
	v, ok := p.m[key]
	if !ok || v == nil {
		return nil, false
	}
	return v, true
}

// need reports a missing field.
func (p *params) need(key string) (any, bool) {
	v, ok := p.get(key)
	if !ok && p.err == nil {
		p.fail("field %q is missing", key)
	}
	return v, ok
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case uint64:
		return 0, false
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	}
	return 0, false
}

func (p *params) int(key string, def int64) int64 {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	n, ok := asInt(v)
	if !ok {
		p.fail("field %q must be an integer, got %s", key, typeName(v))
	}
	return n
}

func (p *params) needInt(key string) int64 {
	if _, ok := p.need(key); !ok {
		return 0
	}
	return p.int(key, 0)
}

func (p *params) float(key string, def float64) float64 {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	switch x := v.(type) {
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case float64:
		return x
	}
	p.fail("field %q must be a number, got %s", key, typeName(v))
	return 0
}

func (p *params) bool(key string, def bool) bool {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		p.fail("field %q must be a bool, got %s", key, typeName(v))
	}
	return b
}

func (p *params) str(key, def string) string {
	v, ok := p.get(key)
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		p.fail("field %q must be a string, got %s", key, typeName(v))
	}
	return s
}

// ints reads an array of integers; an integer alone reads as an array of one when single is
// set. It returns nil when the field is absent or nil.
func (p *params) ints(key string, single bool) []int {
	v, ok := p.get(key)
	if !ok {
		return nil
	}
	if n, ok := asInt(v); ok && single {
		return []int{int(n)}
	}
	xs, ok := v.([]any)
	if !ok {
		p.fail("field %q must be an array of integers, got %s", key, typeName(v))
		return nil
	}
	out := make([]int, len(xs))
	for i, x := range xs {
		n, ok := asInt(x)
		if !ok || n > math.MaxInt32 || n < math.MinInt32 {
			p.fail("field %q: element %d must be an integer below 2^31 in size, got %s", key, i, typeName(x))
			return nil
		}
		out[i] = int(n)
	}
	return out
}

// shape reads a shape: an array of non-negative sizes.
func (p *params) shape(key string) []int {
	if _, ok := p.need(key); !ok {
		return nil
	}
	s := p.ints(key, false)
	for _, d := range s {
		if d < 0 {
			p.fail("field %q: shape %v has a negative size", key, s)
		}
	}
	if len(s) > abi.MaxTensorDims {
		p.fail("field %q: %d dimensions, at most %d are allowed", key, len(s), abi.MaxTensorDims)
	}
	return s
}

func (p *params) dtype(key string, def abi.DType) abi.DType {
	s := p.str(key, "")
	if s == "" {
		return def
	}
	d, err := abi.ParseDType(s)
	if err != nil {
		p.fail("field %q: %v", key, err)
	}
	return d
}

// scalar reads a number or bool as float64, int64, uint64 or bool.
func (p *params) scalar(key string) any {
	v, ok := p.need(key)
	if !ok {
		return nil
	}
	switch v.(type) {
	case float64, int64, uint64, bool:
		return v
	}
	p.fail("field %q must be a number or a bool, got %s", key, typeName(v))
	return nil
}
