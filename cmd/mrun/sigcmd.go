package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/internal/atomicfile"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/spf13/cobra"
)

type sigAddOptions struct {
	io      streams
	global  *globalOptions
	module  string
	sigFile string // empty: ask the module (runtime.ExportDescribe)
	output  string
	timeout time.Duration
}

func newSigCmd(g *globalOptions, io streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sig",
		Short: "Give a module's functions typed signatures",
		Long: `Work with the signatures a module carries in its "mrun.signatures" custom
section (abi/ABI.md section 10): one line per function, such as

  inc(x: int) -> int  -- Adds one.

'mrun inspect' shows them.`,
		Args: cobra.NoArgs,
	}
	o := &sigAddOptions{io: io, global: g}
	add := &cobra.Command{
		Use:   "add MODULE [SIGFILE]",
		Short: "Write signatures into MODULE's custom section",
		Long: `Read the signature lines of SIGFILE ("-" for standard input), check them, and
write them into MODULE's "mrun.signatures" custom section, in canonical form,
replacing the section the module had (an empty SIGFILE removes it). The result
is checked as 'mrun inspect' loads a module (every function described must be
exported) before MODULE is replaced, or written to --output. Any toolchain's
module can get signatures this way: the other sections are copied byte for byte.

Without SIGFILE, ask the module: call its mrun_describe export once, in a fresh
instance with no capabilities, interrupted after --describe-timeout. This is the
build step of toolchains that cannot write a custom section.`,
		Example: `  mrun sig add fns.wasm fns.sigs
  echo 'inc(x: int) -> int  -- Adds one.' | mrun sig add fns.wasm - -o fns.typed.wasm
  mrun sig add fns.wasm`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
				return usagef("sig add needs a MODULE file (see 'mrun sig add --help')")
			case 1, 2:
			default:
				return usagef("sig add takes a MODULE file and at most one SIGFILE; unexpected %q (see 'mrun sig add --help')", args[2])
			}
			o.module = args[0]
			if len(args) == 2 {
				o.sigFile = args[1]
			}
			return runSigAdd(cmd.Context(), o)
		},
	}
	add.Flags().StringVarP(&o.output, "output", "o", "", "write the module here instead of replacing MODULE")
	add.Flags().DurationVar(&o.timeout, "describe-timeout", 10*time.Second, "without SIGFILE: how long mrun_describe may run")
	cmd.AddCommand(add, newSigGoCmd(io))
	return cmd
}

func runSigAdd(ctx context.Context, o *sigAddOptions) error {
	wasm, err := os.ReadFile(o.module)
	if err != nil {
		return &usageError{err}
	}
	rt, err := newRuntime(ctx, o.global, runtime.Config{})
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	name := strings.TrimSuffix(filepath.Base(o.module), ".wasm")
	var text []byte
	switch o.sigFile {
	case "":
		if o.timeout <= 0 {
			return usagef("--describe-timeout must be more than 0")
		}
		mod, err := rt.Load(ctx, name, wasm)
		if err != nil {
			return &usageError{err}
		}
		dctx, cancel := context.WithTimeoutCause(ctx, o.timeout, fmt.Errorf("%s ran for longer than --describe-timeout %v", runtime.ExportDescribe, o.timeout))
		text, err = mod.Describe(dctx)
		cancel()
		if err != nil {
			return err
		}
		o.sigFile = runtime.ExportDescribe
	case "-":
		text, err = io.ReadAll(o.io.In)
	default:
		text, err = os.ReadFile(o.sigFile)
	}
	if err != nil {
		return &usageError{err}
	}
	sigs, err := sig.Parse(text)
	if err != nil {
		var se *sig.SyntaxError
		if errors.As(err, &se) {
			return usagef("%s:%d:%d: %s", o.sigFile, se.Line, se.Column, se.Msg)
		}
		return &usageError{err}
	}
	out, err := sig.Embed(wasm, sigs)
	if err != nil {
		return usagef("%s: %v", o.module, err)
	}
	if _, err := rt.Load(ctx, name, out); err != nil {
		return &usageError{err}
	}
	dest := o.output
	if dest == "" {
		dest = o.module
	}
	if err := atomicfile.Write(dest, out); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.io.Out, "%s: %s in %d bytes\n", dest, plural(len(sigs), "signature"), len(out))
	noteUnknownTypes(o.io, sigs)
	return err
}

// noteUnknownTypes tells, on stderr, of each type in sigs this mrun does not know: a later
// revision's type or a misspelling, which accepts any value either way.
func noteUnknownTypes(io streams, sigs []*sig.Signature) {
	for _, s := range sigs {
		for _, t := range s.UnknownTypes() {
			fmt.Fprintf(io.Err, "mrun: note: %s: type %q is not one this mrun knows, so it accepts any value (a misspelling?)\n", s.Name, t)
		}
	}
}
