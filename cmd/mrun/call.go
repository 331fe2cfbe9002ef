package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/mrun-dev/mrun/dag"
	"github.com/spf13/cobra"
)

type callOptions struct {
	*globalOptions
	module   string
	function string
	args     []string
}

func newCallCmd(g *globalOptions, io streams) *cobra.Command {
	o := &callOptions{globalOptions: g}
	return &cobra.Command{
		Use:   "call MODULE FUNCTION [ARG...]",
		Short: "Call one function of a module and print its result as JSON",
		Long: `Call one function of a WebAssembly module and print the result as JSON.

Each ARG is one JSON value (quote it for the shell). Integers stay integers;
numbers with a fraction or exponent are floats.`,
		Example: `  mrun call testdata/seed.wasm inc 0
  mrun call testdata/seed.wasm triage '[0.4,0.7,0.2,0.8]'`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("call needs a MODULE and a FUNCTION (see 'mrun call --help')")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			o.module, o.function, o.args = args[0], args[1], args[2:]
			return runCall(cmd.Context(), o, io)
		},
	}
}

func runCall(ctx context.Context, o *callOptions, io streams) error {
	args := make([]any, len(o.args))
	for i, s := range o.args {
		v, err := parseJSON(s)
		if err != nil {
			return usagef("argument %d (%q) is not JSON: %v", i+1, s, err)
		}
		args[i] = v
	}
	rt, err := newRuntime(ctx, o.globalOptions, 0)
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	mod, err := rt.LoadFile(ctx, o.module)
	if err != nil {
		return &usageError{err}
	}
	fn, err := mod.Func(o.function)
	if err != nil {
		return &usageError{err}
	}
	eng := dag.New(dag.Config{Events: func(ev dag.Event) {
		io.Err.Write(ev.Stdout)
		io.Err.Write(ev.Stderr)
	}})
	obj := dag.Spawn(fn, args...)
	if err := obj.Err(); err != nil {
		return &usageError{err}
	}
	if err := eng.Execute(ctx, obj); err != nil {
		return err
	}
	var v any
	if err := eng.Fetch(obj, &v); err != nil {
		return err
	}
	return printJSON(io, v)
}

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
			return nil, fmt.Errorf("result holds %v, which JSON cannot represent", v)
		}
	case float32:
		return toJSON(float64(v))
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
	}
	return v, nil
}

func printJSON(io streams, v any) error {
	v, err := toJSON(v)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(io.Out)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
