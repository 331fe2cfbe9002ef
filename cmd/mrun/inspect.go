package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/internal/termsafe"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/spf13/cobra"
)

type inspectOptions struct {
	io       streams
	global   *globalOptions
	module   string
	function string // empty: the whole module
	json     bool
}

func newInspectCmd(g *globalOptions, io streams) *cobra.Command {
	o := &inspectOptions{io: io, global: g}
	cmd := &cobra.Command{
		Use:   "inspect MODULE [FUNCTION]",
		Short: "Show a module's functions and their signatures, ABI version, imports, memory, size and SHA-256",
		Long: `Show what a WebAssembly module offers mrun, read from its sections without
running any of its code: the functions it exports, with the signature and doc
of each function the module describes (abi/ABI.md section 10), the ABI version
it declares, the functions it imports, its declared memory limits, its size and
its SHA-256 (the module's identity in task keys).

With FUNCTION, show how to call that function: its signature and doc, each
parameter with its type and default, and its outputs.

The module is validated as 'mrun call' and 'mrun run' would load it.`,
		Example: `  mrun inspect testdata/seed.wasm
  mrun inspect testdata/wat/conformance.wasm greet
  mrun inspect testdata/seed.wasm --json | jq -r '.functions[]'
  mrun inspect testdata/wat/conformance.wasm --json | jq -r '.signatures[].text'`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("inspect needs a MODULE file (see 'mrun inspect --help')")
			case len(args) > 2:
				return usagef("inspect takes a MODULE file and at most one FUNCTION; unexpected %q (see 'mrun inspect --help')", args[2])
			}
			return nil
		},
		ValidArgsFunction: completeFiles("wasm"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.module = args[0]
			if len(args) == 2 {
				o.function = args[1]
			}
			return runInspect(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object")
	return cmd
}

// moduleInfo is what inspect reports; its JSON form is the --json output.
type moduleInfo struct {
	Name       string     `json:"name"`
	Path       string     `json:"path"`
	SHA256     string     `json:"sha256"`
	Size       int        `json:"size"`
	ABIVersion int        `json:"abi_version"`
	Memory     memoryInfo `json:"memory"`
	Functions  []string   `json:"functions"`
	// Signatures holds the functions the module describes, by name.
	Signatures map[string]signatureInfo `json:"signatures"`
	Imports    []string                 `json:"imports"`
	// Native is the version of a native module (Go code built into mrun); empty for a
	// WebAssembly module.
	Native string `json:"native,omitempty"`
}

// signatureInfo is a function's signature in inspect's JSON: its fields and its text.
type signatureInfo struct {
	*runtime.Signature
	Text string `json:"text"`
}

// functionInfo is the --json output of inspect MODULE FUNCTION.
type functionInfo struct {
	Module    string         `json:"module"`
	Name      string         `json:"name"`
	Signature *signatureInfo `json:"signature"` // null: the module does not describe it
}

type memoryInfo struct {
	MinPages uint32  `json:"min_pages"`
	MaxPages *uint32 `json:"max_pages"` // null: the module declares no maximum
}

func runInspect(ctx context.Context, o *inspectOptions) error {
	rt, err := newRuntime(ctx, o.global, runtime.Config{})
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	mod, err := loadInspected(ctx, rt, o.module) // a file, or a native module (native.go)
	if err != nil {
		return &usageError{err}
	}
	if o.function != "" {
		return inspectFunction(o, mod)
	}
	info := moduleInfo{
		Name: mod.Name(), Path: o.module, SHA256: mod.SumHex(), Size: mod.Size(),
		ABIVersion: mod.ABIVersion(), Functions: []string{}, Imports: mod.Imports(),
		Signatures: map[string]signatureInfo{},
	}
	if info.Imports == nil {
		info.Imports = []string{}
	}
	if mod.Native() {
		info.Native = mod.Version()
	}
	lines := map[string]string{}
	var sigs []*sig.Signature
	for _, f := range mod.Functions() {
		info.Functions = append(info.Functions, f.Name())
		if sg := f.Signature(); sg != nil {
			info.Signatures[f.Name()] = signatureInfo{sg, sg.String()}
			lines[f.Name()] = sg.String()
			sigs = append(sigs, sg)
		}
	}
	if !o.json {
		noteUnknownTypes(o.io, sigs)
	}
	minP, maxP, hasMax := mod.Memory()
	info.Memory.MinPages = minP
	if hasMax {
		info.Memory.MaxPages = &maxP
	}
	if o.json {
		return writeResult(o.io, info)
	}
	shown := o.shown
	mem := fmt.Sprintf("%s minimum, no maximum", pages(minP))
	if hasMax {
		mem = fmt.Sprintf("%s minimum, %s maximum", pages(minP), pages(maxP))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "module     %s (%s)\n", info.Name, info.Path)
	fmt.Fprintf(&b, "sha256     %s\n", info.SHA256)
	if mod.Native() { // Go code in this binary: no bytes, no memory, no sandbox
		fmt.Fprintf(&b, "native     version %s, built into this mrun\n", info.Native)
	} else {
		fmt.Fprintf(&b, "size       %s (%d bytes)\n", bytesText(uint64(info.Size)), info.Size)
		fmt.Fprintf(&b, "abi        v%d\n", info.ABIVersion)
		fmt.Fprintf(&b, "memory     %s\n", mem)
	}
	fmt.Fprintf(&b, "functions  %d\n", len(info.Functions))
	for _, f := range info.Functions {
		if l, ok := lines[f]; ok {
			f = l
		}
		fmt.Fprintf(&b, "  %s\n", shown(f))
	}
	fmt.Fprintf(&b, "imports    %d\n", len(info.Imports))
	for _, i := range info.Imports {
		fmt.Fprintf(&b, "  %s\n", shown(i))
	}
	_, err = fmt.Fprint(o.io.Out, b.String())
	return err
}

// shown returns s, read from the module file, which is untrusted: on a terminal, its
// control characters are shown escaped, as guest output is.
func (o *inspectOptions) shown(s string) string {
	if o.io.OutTTY {
		return termsafe.String(s)
	}
	return s
}

// inspectFunction prints the usage of one function of mod.
func inspectFunction(o *inspectOptions, mod *runtime.Module) error {
	f, err := mod.Func(o.function)
	if err != nil {
		return &usageError{err}
	}
	sg := f.Signature()
	if o.json {
		info := functionInfo{Module: mod.Name(), Name: f.Name()}
		if sg != nil {
			info.Signature = &signatureInfo{sg, sg.String()}
		}
		return writeResult(o.io, info)
	}
	var b strings.Builder
	if sg == nil {
		fmt.Fprintf(&b, "%s\n  The module does not describe this function's signature (abi/ABI.md section 10).\n", o.shown(f.Name()))
		_, err := fmt.Fprint(o.io.Out, b.String())
		return err
	}
	fmt.Fprintf(&b, "%s\n", o.shown(sg.Call()))
	if sg.Doc != "" {
		fmt.Fprintf(&b, "  %s\n", o.shown(sg.Doc))
	}
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	if len(sg.Params) > 0 || sg.Variadic != nil {
		fmt.Fprintf(w, "\npositional\n")
		for i, p := range sg.Params {
			fmt.Fprintf(w, "  %d\t%s\t%s\n", i, p.Name, p.Type)
		}
		if v := sg.Variadic; v != nil {
			fmt.Fprintf(w, "  %d…\t*%s\t%s\t(any number of them)\n", len(sg.Params), v.Name, v.Type)
		}
	}
	if len(sg.Kwargs) > 0 {
		fmt.Fprintf(w, "\nkeyword\n")
		for _, k := range sg.Kwargs {
			def := "required"
			if !k.Required() {
				def = "default " + string(k.Default)
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\n", k.Name, k.Type, o.shown(def))
		}
	}
	w.Flush()
	if len(sg.Outputs) > 0 {
		fmt.Fprintf(&b, "\noutputs (n_output %d)\n", len(sg.Outputs))
		for i, t := range sg.Outputs {
			fmt.Fprintf(&b, "  %d  %s\n", i, t)
		}
	} else if sg.Result != nil {
		fmt.Fprintf(&b, "\nresult  %s\n", sg.Result)
	}
	if !sg.Pure {
		fmt.Fprintf(&b, "\nimpure: its results depend on more than its arguments\n")
	}
	_, err = fmt.Fprint(o.io.Out, b.String())
	return err
}

// pages describes n 64 KiB pages: "17 pages (1.1 MiB)".
func pages(n uint32) string {
	return fmt.Sprintf("%s (%s)", plural(int(n), "page"), bytesText(uint64(n)*pageSize))
}

// bytesText prints a size in binary units with one decimal: 4.1 MiB.
func bytesText(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
