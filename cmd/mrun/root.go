package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/spf13/cobra"
)

// Exit codes, mapped in one place (exitCode).
const (
	exitOK       = 0
	exitTaskFail = 1 // a task failed: the message names the task, function and cause
	exitUsage    = 2 // bad command line or bad input (module, graph, arguments)
)

// streams are the command's I/O, injected so commands are tested without a subprocess.
type streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// usageError marks errors in what the user typed.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// globalOptions are the flags every command shares.
type globalOptions struct {
	cacheDir string
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, io streams) int {
	root := newRootCmd(io)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(io.Err, "mrun: "+oneLine(err.Error()))
	return exitCode(err)
}

func exitCode(err error) int {
	var te *dag.TaskError
	var ce *runtime.CallError
	switch {
	case errors.As(err, &te), errors.As(err, &ce):
		return exitTaskFail
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return exitTaskFail
	}
	return exitUsage
}

// oneLine keeps an error on a single line of stderr.
func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func newRootCmd(io streams) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "mrun",
		Short: "Run WebAssembly functions in parallel, sandboxed",
		Long: `mrun runs functions compiled to WebAssembly as a graph of parallel, sandboxed tasks.

Functions are exports of mrun guest modules (see abi/ABI.md); values cross the
host/guest boundary as MessagePack and print as JSON.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.PersistentFlags().StringVar(&g.cacheDir, "cache-dir", defaultCacheDir(),
		"directory for compiled module code (empty: no cache)")
	root.AddCommand(newCallCmd(g, io))
	return root
}

func defaultCacheDir() string {
	if d := os.Getenv("MRUN_CACHE_DIR"); d != "" {
		return d
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "mrun", "wazero")
}

// newRuntime starts a runtime with the shared options.
func newRuntime(ctx context.Context, g *globalOptions, memoryLimitPages uint32) (*runtime.Runtime, error) {
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: g.cacheDir, MemoryLimitPages: memoryLimitPages})
	if err != nil && g.cacheDir != "" {
		// An unusable cache directory must not stop the work: compile in memory instead.
		rt, err = runtime.New(ctx, runtime.Config{MemoryLimitPages: memoryLimitPages})
	}
	if err != nil {
		return nil, &usageError{err}
	}
	return rt, nil
}
