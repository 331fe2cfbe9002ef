package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
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
	json     bool // print a table result as JSON rows

	env           []string // K=V
	mounts        []string // HOST:GUEST
	deterministic bool
	modConfig     runtime.ModuleConfig // from env, mounts and deterministic
}

func newCallCmd(g *globalOptions, io streams) *cobra.Command {
	o := &callOptions{io: io, global: g}
	cmd := &cobra.Command{
		Use:   "call MODULE FUNCTION [ARG...]",
		Short: "Call one function of a module and print its result as JSON",
		Long: `Call one function of a WebAssembly module and print the result as JSON.
MODULE is a .wasm file, or the name of a module built into mrun: mrun:tensor
(chunked tensors; docs/tensors.md) or mrun:table (tables; docs/tables.md).

Each ARG is one JSON value (quote it for the shell). Integers stay integers;
numbers with a fraction or exponent are floats. A negative number, as in -5 or
-1.5, is an argument wherever it stands: it needs no --. A tensor is written
{"$tensor": {"dtype": "float64", "shape": [2], "data": [1, 2]}} and a table
{"$table": {"columns": [{"name": "a", "type": "int64", "data": [1, 2]}]}},
the forms results print in. --kwargs passes keyword arguments as a JSON
object. With --n-output K the function must return a list of K values, and
they print as a JSON list. A table result prints as an aligned text table on
a terminal, and as JSON rows with --json.

What the function writes to stdout and stderr is shown on stderr (stdout holds
only the result), unless --quiet.

The function runs sandboxed: no files, no environment, real clocks. --env gives
it environment variables, --mount lets it read (never write) a host directory
at a path of its own, and --deterministic gives it a fixed clock and seeded
randomness, so the same inputs give the same outputs.

--timeout bounds the whole command; --task-timeout bounds each attempt of the
call, and with --retries N a failed attempt runs again, up to N more times.`,
		Example: `  mrun call testdata/seed.wasm inc 0
  mrun call testdata/seed.wasm triage '[0.4,0.7,0.2,0.8]' --n-output 2
  mrun call testdata/seed.wasm pow 2 --kwargs '{"exp": 10}'
  mrun call testdata/seed.wasm burn 100000000 --timeout 1s
  mrun call testdata/seed.wasm getenv '"HOME"' --env HOME=/home/ann
  mrun call testdata/seed.wasm readfile '"/data/in.txt"' --mount ./data:/data`,
		Annotations: map[string]string{argsAreValues: "true"}, // mrun call f.wasm inc -5
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
			if err := o.parseModuleConfig(); err != nil {
				return err
			}
			if o.exec.cluster.url != "" {
				for _, f := range []string{"env", "mount", "deterministic"} {
					if cmd.Flags().Changed(f) {
						return usagef("--%s: a cluster cannot give its workers' calls module capabilities yet; call without --cluster", f)
					}
				}
			}
			return runCall(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.kwargs, "kwargs", "", "keyword arguments as a `JSON` object, as in '{\"exp\": 10}'")
	cmd.Flags().BoolVar(&o.json, "json", false, "print a table result as JSON rows, one object per row, even on a terminal")
	cmd.Flags().IntVarP(&o.nOutput, "n-output", "n", 1, "split the result, a list of K values, into K outputs")
	cmd.Flags().StringArrayVar(&o.env, "env", nil, "set the guest's environment variable `K=V` (repeatable; default: an empty environment)")
	cmd.Flags().StringArrayVar(&o.mounts, "mount", nil, "let the guest read the host directory HOST at GUEST, an absolute path: `HOST:GUEST` (repeatable, read-only)")
	cmd.Flags().BoolVar(&o.deterministic, "deterministic", false, "give the guest a fixed clock and seeded randomness instead of real ones")
	o.exec.addFlags(cmd.Flags())
	o.exec.replay.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&o.exec.stats, "stats", false, statsUsage)
	return cmd
}

func runCall(ctx context.Context, o *callOptions) error {
	args := make([]any, len(o.args))
	for i, s := range o.args {
		v, err := parseJSON(s)
		if le := (*litError)(nil); errors.As(err, &le) {
			return usagef("argument %d: %v", i+1, err)
		}
		if err != nil {
			return usagef("argument %d (%q) is not JSON: %v", i+1, s, err)
		}
		args[i] = v
	}
	var kwargs map[string]any
	if o.kwargs != "" {
		v, err := parseJSON(o.kwargs)
		if le := (*litError)(nil); errors.As(err, &le) {
			return usagef("--kwargs: %v", err)
		}
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return usagef("--kwargs %q is not a JSON object", o.kwargs)
		}
		kwargs = m
	}
	rt, err := newRuntime(ctx, o.global, o.exec.runtimeConfig())
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	mod, err := loadModuleFile(ctx, rt, o.module, o.modConfig)
	if err != nil {
		return &usageError{err}
	}
	fn, err := mod.Func(o.function)
	if err != nil {
		return &usageError{err}
	}
	if s := fn.Signature(); s != nil {
		if err := s.CheckCall(args, kwargs, o.nOutput); err != nil {
			// With the right number of arguments, a wrong --n-output for declared outputs is
			// what CheckCall reports first: say how to fix it in the flag's terms.
			if len(args) == len(s.Params) && len(s.Outputs) > 0 && o.nOutput != len(s.Outputs) {
				return usagef("%v: pass --n-output %d", err, s.NOutput())
			}
			return &usageError{err}
		}
	}
	objs := dag.Call{Func: fn, Args: args, Kwargs: kwargs, NOutput: o.nOutput}.Spawn()
	if err := objs[0].Err(); err != nil {
		return &usageError{err}
	}
	o.exec.resultCache = o.global.resultCache
	x := newExecution(&o.exec, o.io, false, "mrun call "+strings.Join(append([]string{o.module, o.function}, o.args...), " "))
	if err := x.connect(ctx); err != nil {
		return err
	}
	defer x.close()
	x.add(nil, fn.Name(), objs)
	eng, err := x.execute(ctx, objs)
	if err != nil {
		return err
	}
	vals, err := eng.FetchAll(ctx, objs...)
	if err != nil {
		return err
	}
	if o.nOutput == 1 {
		return writeCallResult(o.io, vals[0], o.json)
	}
	return writeResult(o.io, vals)
}

// parseModuleConfig reads --env, --mount and --deterministic.
func (o *callOptions) parseModuleConfig() error {
	// --memory-limit is the module's limit, so that it is part of the module's identity: a
	// call can return another value under another limit.
	mc := runtime.ModuleConfig{Deterministic: o.deterministic, MemoryLimitPages: o.exec.memoryLimit.pages}
	for _, e := range o.env {
		k, v, ok := strings.Cut(e, "=")
		if !ok || k == "" {
			return usagef("--env %q: want NAME=VALUE, as in --env HOME=/home/ann", e)
		}
		if mc.Env == nil {
			mc.Env = map[string]string{}
		}
		mc.Env[k] = v
	}
	for _, m := range o.mounts {
		i := strings.LastIndex(m, ":")
		if i <= 0 || !path.IsAbs(m[i+1:]) {
			return usagef("--mount %q: want HOST:GUEST with GUEST an absolute path, as in --mount ./data:/data", m)
		}
		host, guest := m[:i], m[i+1:]
		if err := checkDir(host); err != nil {
			return usagef("--mount %q: %v", m, err)
		}
		mc.Mounts = append(mc.Mounts, runtime.Mount{HostDir: host, GuestPath: guest})
	}
	o.modConfig = mc
	return nil
}

// checkDir reports why dir cannot be mounted, if it cannot.
func checkDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return err
	case !st.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}

// loadModuleFile loads the module file at path with capabilities mc, under the file's base
// name, as runtime.LoadFile names it.
func loadModuleFile(ctx context.Context, rt *runtime.Runtime, file string, mc runtime.ModuleConfig) (*runtime.Module, error) {
	if isNativeRef(file) { // built in, not a file (native.go)
		if len(mc.Env) > 0 || len(mc.Mounts) > 0 || mc.Deterministic || mc.MemoryLimitPages > 0 || len(mc.MaySpawn) > 0 {
			return nil, fmt.Errorf("%s is a native module, built into mrun: it takes no --env, --mount, --deterministic or --memory-limit", file)
		}
		return loadInspected(ctx, rt, file)
	}
	name := strings.TrimSuffix(filepath.Base(file), ".wasm")
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, &runtime.ModuleError{Module: name, Err: err}
	}
	return rt.LoadWith(ctx, name, b, mc)
}

// completeCall completes a module file, then the names of its functions.
func completeCall(g *globalOptions) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		switch len(args) {
		case 0:
			return []string{"wasm"}, cobra.ShellCompDirectiveFilterFileExt
		case 1:
			rt, err := newRuntime(cmd.Context(), g, runtime.Config{})
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
