package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mrun-dev/mrun/project"
	"github.com/mrun-dev/mrun/project/toolchain"
	"github.com/spf13/cobra"
)

// The verbs of function projects outside this repository: mrun new, mrun build and mrun
// toolchain. What they do is package project's; here are only the flags and the printing.

func newNewCmd(io streams) *cobra.Command {
	var updateSDK bool
	cmd := &cobra.Command{
		Use:   "new LANG DIR",
		Short: "Start a function project in DIR: " + strings.Join(project.Languages(), ", "),
		Long: `Write a working mrun function project into DIR (new or empty): a module with
add(a: int, b: int) -> int and stats(xs: list[float]) -> (float, float), a graph
file that uses both, the language's build file, a README, and, for languages with
an SDK, a copy of the SDK carried inside this mrun (no network needed).

Languages: ` + strings.Join(project.Languages(), ", ") + `.

With --update-sdk, DIR is an existing project: its SDK copy is replaced with the
one this mrun carries.`,
		Example: `  mrun new c myfns && mrun build myfns && mrun call myfns/myfns.wasm add 2 3
  mrun new go ~/src/pricing
  mrun new --update-sdk ~/src/pricing`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case updateSDK && len(args) != 1:
				return usagef("new --update-sdk takes one project DIR (see 'mrun new --help')")
			case !updateSDK && len(args) != 2:
				return usagef("new needs a LANG (%s) and a DIR (see 'mrun new --help')", strings.Join(project.Languages(), ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if updateSDK {
				p, err := project.Open(args[0])
				if err != nil {
					return &usageError{err}
				}
				old := p.SDK
				changed, err := p.UpdateSDK()
				if err != nil {
					return err
				}
				if !changed {
					_, err = fmt.Fprintf(io.Out, "%s: the %s SDK is up to date (%s)\n", args[0], p.Language, p.SDK)
					return err
				}
				_, err = fmt.Fprintf(io.Out, "%s: updated the %s SDK from %s to %s\n", args[0], p.Language, old, p.SDK)
				return err
			}
			p, err := project.New(args[1], args[0])
			if err != nil {
				return &usageError{err}
			}
			fmt.Fprintf(io.Out, "created a %s project %q in %s\n", p.Language, p.Name, args[1])
			fmt.Fprintf(io.Out, "next:\n  mrun build %s\n  mrun call %s add 2 3\n  mrun run %s\n",
				args[1], filepath.Join(args[1], p.Name+".wasm"), filepath.Join(args[1], "graph.yaml"))
			return nil
		},
	}
	cmd.Flags().BoolVar(&updateSDK, "update-sdk", false, "replace the SDK copy of the existing project DIR with this mrun's")
	cmd.ValidArgsFunction = func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 && !updateSDK {
			return project.Languages(), cobra.ShellCompDirectiveNoFileComp
		}
		return nil, cobra.ShellCompDirectiveFilterDirs
	}
	return cmd
}

func newBuildCmd(io streams) *cobra.Command {
	var verbose, watch bool
	cmd := &cobra.Command{
		Use:   "build [DIR]",
		Short: "Build the function project in DIR (default: the current directory) into a module",
		Long: `Build the project mrun new made in DIR into DIR/NAME.wasm: find the language's
toolchain (or say which command installs it), compile with the flags an mrun
module needs (a WASI reactor, optimised, no debug info), write the functions'
signatures into the module, and load it as mrun does. Prints the module's path,
size, functions with their signatures, and the build time.

With --watch, build again whenever a source file changes, until interrupted.`,
		Example: `  mrun build
  mrun build ~/src/pricing -v
  mrun build --watch`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("build takes at most one project DIR; unexpected %q", args[1])
			}
			return nil
		},
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return nil, cobra.ShellCompDirectiveFilterDirs
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			if watch {
				return watchBuild(cmd.Context(), io, dir, verbose)
			}
			return runBuild(cmd.Context(), io, dir, verbose)
		},
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the commands the build runs, and their output")
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "build again whenever a source changes, until interrupted")
	return cmd
}

func runBuild(ctx context.Context, io streams, dir string, verbose bool) error {
	p, err := project.Open(dir)
	if err != nil {
		return &usageError{err}
	}
	o := project.BuildOptions{}
	if verbose {
		o.Log = io.Err
	}
	b, err := p.Build(ctx, o)
	switch {
	case errors.Is(err, toolchain.ErrMissing):
		return &usageError{err}
	case errors.Is(err, project.ErrBuild):
		// The compiler's own lines, as it printed them, then mrun's one line; exit status 1.
		first, rest, _ := strings.Cut(err.Error(), "\n")
		if rest != "" && !verbose { // -v printed them already
			fmt.Fprintln(io.Err, rest)
		}
		return &buildFailure{first}
	case err != nil:
		return err
	}
	rel := b.Path
	if r, err := filepath.Rel(mustGetwd(), b.Path); err == nil && !strings.HasPrefix(r, "..") {
		rel = r
	}
	fmt.Fprintf(io.Out, "%s: %d bytes, %s, built in %.1fs with %s\n", rel, b.Size, plural(len(b.Functions), "function"), b.Took.Seconds(), b.Toolchain.Version)
	for _, f := range b.Functions {
		fmt.Fprintf(io.Out, "  %s\n", f)
	}
	for _, n := range b.Notes {
		fmt.Fprintf(io.Err, "mrun: note: %s\n", n)
	}
	return nil
}

// watchBuild builds the project in dir now and after every change of its sources, printing
// each outcome (a failed build is printed, not returned), until ctx ends.
func watchBuild(ctx context.Context, io streams, dir string, verbose bool) error {
	p, err := project.Open(dir)
	if err != nil {
		return &usageError{err}
	}
	fmt.Fprintf(io.Err, "mrun: watching %s; interrupt to stop\n", dir)
	return p.Watch(ctx, 300*time.Millisecond, func() {
		if err := runBuild(ctx, io, dir, verbose); err != nil && ctx.Err() == nil {
			fmt.Fprintf(io.Err, "mrun: %s\n", oneLine(errorText(err)))
		}
	})
}

// buildFailure is a build the compiler refused: exit status 1, like a task that failed.
type buildFailure struct{ msg string }

func (e *buildFailure) Error() string { return e.msg }

func mustGetwd() string {
	wd, err := os.Getwd()
	if err != nil {
		return "/"
	}
	return wd
}

func newToolchainCmd(io streams) *cobra.Command {
	var dir string
	var system, verbose bool
	cmd := &cobra.Command{
		Use:   "toolchain",
		Short: "List or install the compilers mrun build uses",
		Long: `List or install the toolchain of each language mrun build knows, into the user's
cache directory (` + "$XDG_CACHE_HOME/mrun/toolchains" + `, or --dir, or $MRUN_TOOLCHAINS), without
root: C (clang, lld, wasi-libc), Rust (rustc and its wasm32 standard library) and
WebAssembly text (wabt) from Debian packages, downloaded with apt-get download and
unpacked there, leaving out the libraries the system has at the same version; the
AssemblyScript compiler and Zig with npm. mrun build uses a toolchain in that
directory first, then the system's. With install --system, the Debian packages
are installed system-wide with apt-get instead, as root or through sudo. Go is
not installed: it must be Go ` + toolchain.MinGo + ` or newer on PATH.`,
		Example: `  mrun toolchain list
  mrun toolchain install c
  mrun toolchain install --system rust
  mrun toolchain install zig --dir /opt/mrun-toolchains`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "", "where toolchains are installed (default: the user cache directory)")
	list := &cobra.Command{
		Use:   "list",
		Short: "Show each language's toolchain: its version and where it is, or what is missing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tcs, errs := toolchain.List(cmd.Context(), toolchain.Config{Dir: dir})
			tw := tabwriter.NewWriter(io.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LANGUAGE\tVERSION\tWHERE")
			for i, lang := range toolchain.Languages {
				if tcs[i] == nil {
					fmt.Fprintf(tw, "%s\t-\t%v\n", lang, errs[i])
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", lang, tcs[i].Version, tcs[i].Where)
				if verbose {
					for _, p := range tcs[i].Packages {
						fmt.Fprintf(tw, "\t  %s %s\t\n", p.Name, p.Version)
					}
				}
			}
			return tw.Flush()
		},
	}
	list.Flags().BoolVarP(&verbose, "verbose", "v", false, "also list the Debian packages each toolchain in the directory was unpacked from")
	install := &cobra.Command{
		Use:       "install LANG...",
		Short:     "Install the toolchains of the languages given",
		ValidArgs: toolchain.Languages,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usagef("toolchain install needs one or more languages: %s", strings.Join(toolchain.Languages, ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, lang := range args {
				if _, err := toolchain.Install(cmd.Context(), lang, toolchain.Config{Dir: dir, System: system, Log: io.Err}); err != nil {
					return err
				}
			}
			return nil
		},
	}
	install.Flags().BoolVar(&system, "system", false, "install Debian toolchains (c, rust, wat) system-wide with apt-get, as root or through sudo")
	which := &cobra.Command{
		Use:   "which LANG [TOOL...]",
		Short: "Print the path of LANG's compiler, or of other tools of it, for scripts",
		Long: `Print the path of a tool of LANG's toolchain: by default its compiler (go, cc,
rustc, asc, zig, wat2wasm); TOOLs name others, one path a line (node and
node_modules for assemblyscript, reactor for rust: the WASI reactor start file).
Exits 2, saying how to install it, when the toolchain is missing.`,
		Example: `  mrun toolchain which zig
  mrun toolchain which assemblyscript node_modules
  mrun toolchain which rust rustc reactor`,
		ValidArgs: toolchain.Languages,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 {
				return usagef("toolchain which needs a LANG (%s)", strings.Join(toolchain.Languages, ", "))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			tc, err := toolchain.Find(cmd.Context(), args[0], toolchain.Config{Dir: dir})
			if err != nil {
				return &usageError{err}
			}
			tools := args[1:]
			if len(tools) == 0 {
				tools = []string{toolchain.Compiler[args[0]]}
			}
			var paths []string
			for _, tool := range tools {
				path, ok := tc.Tools[tool]
				if !ok {
					names := make([]string, 0, len(tc.Tools))
					for n := range tc.Tools {
						names = append(names, n)
					}
					slices.Sort(names)
					return usagef("the %s toolchain has no tool %q (it has %s)", args[0], tool, strings.Join(names, ", "))
				}
				paths = append(paths, path)
			}
			_, err = fmt.Fprintln(io.Out, strings.Join(paths, "\n"))
			return err
		},
	}
	cmd.AddCommand(list, install, which)
	return cmd
}
