package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/mrun-dev/mrun/internal/termsafe"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/spf13/cobra"
)

type inspectOptions struct {
	io     streams
	global *globalOptions
	module string
	json   bool
}

func newInspectCmd(g *globalOptions, io streams) *cobra.Command {
	o := &inspectOptions{io: io, global: g}
	cmd := &cobra.Command{
		Use:   "inspect MODULE",
		Short: "Show a module's functions, ABI version, imports, memory, size and SHA-256",
		Long: `Show what a WebAssembly module offers mrun, read from its export and import
sections without running any of its code: the functions it exports, the ABI
version it declares, the functions it imports, its declared memory limits, its
size and its SHA-256 (the module's identity in task keys).

The module is validated as 'mrun call' and 'mrun run' would load it.`,
		Example: `  mrun inspect testdata/seed.wasm
  mrun inspect testdata/seed.wasm --json | jq -r '.functions[]'`,
		Args:              oneArg("a MODULE file"),
		ValidArgsFunction: completeFiles("wasm"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.module = args[0]
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
	Imports    []string   `json:"imports"`
	// Native is the version of a native module (Go code built into mrun); empty for a
	// WebAssembly module.
	Native string `json:"native,omitempty"`
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
	info := moduleInfo{
		Name: mod.Name(), Path: o.module, SHA256: mod.SumHex(), Size: mod.Size(),
		ABIVersion: mod.ABIVersion(), Functions: []string{}, Imports: mod.Imports(),
	}
	if info.Imports == nil {
		info.Imports = []string{}
	}
	if mod.Native() {
		info.Native = mod.Version()
	}
	for _, f := range mod.Functions() {
		info.Functions = append(info.Functions, f.Name())
	}
	minP, maxP, hasMax := mod.Memory()
	info.Memory.MinPages = minP
	if hasMax {
		info.Memory.MaxPages = &maxP
	}
	if o.json {
		return writeResult(o.io, info)
	}
	// Function and import names come from the module file, which is untrusted: on a
	// terminal, their control characters are shown escaped, as guest output is.
	shown := func(s string) string {
		if o.io.OutTTY {
			return termsafe.String(s)
		}
		return s
	}
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
		fmt.Fprintf(&b, "  %s\n", shown(f))
	}
	fmt.Fprintf(&b, "imports    %d\n", len(info.Imports))
	for _, i := range info.Imports {
		fmt.Fprintf(&b, "  %s\n", shown(i))
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
