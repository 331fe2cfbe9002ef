package main

import (
	"fmt"
	goruntime "runtime"
	"runtime/debug"

	"github.com/mrun-dev/mrun/abi"
	"github.com/spf13/cobra"
)

type versionOptions struct {
	io   streams
	json bool
}

func newVersionCmd(io streams) *cobra.Command {
	o := &versionOptions{io: io}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print mrun's version, and the Go, ABI and wazero versions it was built with",
		Example: `  mrun version
  mrun version --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(o)
		},
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object")
	return cmd
}

// buildInfo describes this binary; its JSON form is the output of version --json.
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
	ABI      int    `json:"abi"`
	Wazero   string `json:"wazero"`
}

func readBuildInfo() buildInfo {
	b := buildInfo{Version: "devel", Go: goruntime.Version(), Platform: goruntime.GOOS + "/" + goruntime.GOARCH, ABI: abi.Version, Wazero: "unknown"}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			b.Commit = s.Value
		}
	}
	for _, d := range info.Deps {
		if d.Path == "github.com/tetratelabs/wazero" {
			b.Wazero = d.Version
		}
	}
	return b
}

// versionString is the one-line version: "v0.3.0 (go1.26.8 linux/amd64, ABI v1, wazero v1.12.0)".
func versionString() string {
	b := readBuildInfo()
	s := b.Version
	if b.Commit != "" {
		s += " " + b.Commit[:min(12, len(b.Commit))]
	}
	return fmt.Sprintf("%s (%s %s, ABI v%d, wazero %s)", s, b.Go, b.Platform, b.ABI, b.Wazero)
}

func runVersion(o *versionOptions) error {
	if o.json {
		return writeJSON(o.io.Out, readBuildInfo())
	}
	_, err := fmt.Fprintf(o.io.Out, "mrun %s\n", versionString())
	return err
}
