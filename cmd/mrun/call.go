package main

import (
	"context"
	"strings"

	"github.com/mrun-dev/mrun/dag"
	"github.com/spf13/cobra"
)

type callOptions struct {
	io       streams
	global   *globalOptions
	exec     execOptions
	module   string
	function string
	args     []string
	kwargs   string
	nOutput  int
}

func newCallCmd(g *globalOptions, io streams) *cobra.Command {
	o := &callOptions{io: io, global: g}
	cmd := &cobra.Command{
		Use:   "call MODULE FUNCTION [ARG...]",
		Short: "Call one function of a module and print its result as JSON",
		Long: `Call one function of a WebAssembly module and print the result as JSON.

Each ARG is one JSON value (quote it for the shell). Integers stay integers;
numbers with a fraction or exponent are floats. --kwargs passes keyword
arguments as a JSON object. With --n-output K the function must return a list
of K values, and they print as a JSON list.

What the function writes to stdout and stderr is shown on stderr (stdout holds
only the result), unless --quiet.`,
		Example: `  mrun call testdata/seed.wasm inc 0
  mrun call testdata/seed.wasm triage '[0.4,0.7,0.2,0.8]' --n-output 2
  mrun call testdata/seed.wasm pow 2 --kwargs '{"exp": 10}'
  mrun call testdata/seed.wasm burn 100000000 --timeout 1s`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return usagef("call needs a MODULE and a FUNCTION (see 'mrun call --help')")
			}
			return nil
		},
		ValidArgsFunction: completeCall(g),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.module, o.function, o.args = args[0], args[1], args[2:]
			if err := o.exec.parsed(cmd); err != nil {
				return err
			}
			if o.nOutput < 1 {
				return usagef("--n-output must be at least 1, got %d", o.nOutput)
			}
			return runCall(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.kwargs, "kwargs", "", "keyword arguments as a `JSON` object, as in '{\"exp\": 10}'")
	cmd.Flags().IntVarP(&o.nOutput, "n-output", "n", 1, "split the result, a list of K values, into K outputs")
	o.exec.addFlags(cmd.Flags())
	return cmd
}

func runCall(ctx context.Context, o *callOptions) error {
	args := make([]any, len(o.args))
	for i, s := range o.args {
		v, err := parseJSON(s)
		if err != nil {
			return usagef("argument %d (%q) is not JSON: %v", i+1, s, err)
		}
		args[i] = v
	}
	var kwargs map[string]any
	if o.kwargs != "" {
		v, err := parseJSON(o.kwargs)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return usagef("--kwargs %q is not a JSON object", o.kwargs)
		}
		kwargs = m
	}
	rt, err := newRuntime(ctx, o.global, o.exec.memoryLimit.pages)
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
	objs := dag.Call{Func: fn, Args: args, Kwargs: kwargs, NOutput: o.nOutput}.Spawn()
	if err := objs[0].Err(); err != nil {
		return &usageError{err}
	}
	x := newExecution(&o.exec, o.io, false, "mrun call "+strings.Join(append([]string{o.module, o.function}, o.args...), " "))
	x.add(nil, fn.Name(), objs)
	eng, err := x.execute(ctx, objs)
	if err != nil {
		return err
	}
	vals, err := eng.FetchAll(objs...)
	if err != nil {
		return err
	}
	if o.nOutput == 1 {
		return writeJSON(o.io.Out, vals[0])
	}
	return writeJSON(o.io.Out, vals)
}

// completeCall completes a module file, then the names of its functions.
func completeCall(g *globalOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return []string{"wasm"}, cobra.ShellCompDirectiveFilterFileExt
		case 1:
			rt, err := newRuntime(cmd.Context(), g, 0)
			if err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			defer rt.Close(context.Background())
			mod, err := rt.LoadFile(cmd.Context(), args[0])
			if err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			var names []string
			for _, f := range mod.Functions() {
				if strings.HasPrefix(f.Name(), toComplete) {
					names = append(names, f.Name())
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
}
