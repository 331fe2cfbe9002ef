package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/internal/atomicfile"
	"github.com/mrun-dev/mrun/internal/gosig"
	"github.com/spf13/cobra"
)

type sigGoOptions struct {
	io     streams
	dir    string
	output string
}

// newSigGoCmd is 'mrun sig go': the signatures of a Go guest, from its source.
func newSigGoCmd(io streams) *cobra.Command {
	o := &sigGoOptions{io: io}
	cmd := &cobra.Command{
		Use:   "go [DIR]",
		Short: "Print the signatures of a Go guest package, read from its source",
		Long: `Read the Go guest package in DIR (the current directory by default) as a
GOOS=wasip1 GOARCH=wasm build would, and print the signature lines of the functions
it exports with

  //go:wasmexport mrun_fn_<name>
  func e(p, n uint32) uint64 { return mrun.Call(p, n, f) }

in canonical form, ready for 'mrun sig add MODULE.wasm -'. Each line comes from
f's declaration: its parameter names and Go types (int, float64, string, []byte,
[]T, map[string]T, mrun.Tensor, mrun.Table, ...; an mrun.Object, an any or a
type the SDK does not map is any), the keywords f reads with mrun.Kwarg and
their defaults, its results (an error result is how f fails; two or more other
results are outputs), the first sentence of its doc comment, and these lines in
that comment:

  //mrun:impure             the result depends on more than the arguments
  //mrun:type NAME TYPE     a narrower type than the Go type says, for a
                            parameter, a keyword, "result" or "result.I"
  //mrun:sig LINE           the whole signature (a variadic function needs one)

What the source does not tell is printed on stderr as a note: a type written as
any, a function left without a signature (variadic, a function literal, another
package's function), a missing doc. A source that does not parse or a malformed
directive is an error, and nothing is printed.`,
		Example: `  mrun sig go ./examples/seed
  mrun sig go -o seed.sigs && mrun sig add seed.wasm seed.sigs
  mrun sig go | mrun sig add seed.wasm -`,
		RunE: func(cmd *cobra.Command, args []string) error {
			switch len(args) {
			case 0:
				o.dir = "."
			case 1:
				o.dir = args[0]
			default:
				return usagef("sig go takes at most one DIR; unexpected %q (see 'mrun sig go --help')", args[1])
			}
			return runSigGo(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the lines to this file instead of standard output")
	return cmd
}

func runSigGo(_ context.Context, o *sigGoOptions) error {
	res, err := gosig.Dir(o.dir)
	if err != nil {
		if errors.Is(err, gosig.ErrSource) {
			return &usageError{err}
		}
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintf(o.io.Err, "mrun: note: %s\n", n)
	}
	if len(res.Sigs) == 0 {
		return usagef("%s: no function to describe: the package has no //go:wasmexport mrun_fn_<name> export of the form 'return mrun.Call(p, n, f)'", o.dir)
	}
	text := sig.Format(res.Sigs)
	// What sig add will read: a line that does not read back is a bug here, not in the source.
	if _, err := sig.Parse(text); err != nil {
		return fmt.Errorf("sig go: the signatures of %s do not read back: %w", o.dir, err)
	}
	if o.output == "" {
		_, err = o.io.Out.Write(text)
		return err
	}
	if err := atomicfile.Write(o.output, text); err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.io.Out, "%s: %s\n", o.output, plural(len(res.Sigs), "signature"))
	return err
}
