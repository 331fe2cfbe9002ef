package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/mrun-dev/mrun/internal/bytesize"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cache"
	"github.com/mrun-dev/mrun/internal/termsafe"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes, mapped in one place (exitCode).
const (
	exitOK          = 0
	exitTaskFail    = 1   // a task failed or timed out: the message names the task, function and cause
	exitUsage       = 2   // bad command line or bad input (module, graph file, arguments)
	exitInterrupted = 130 // interrupted (Ctrl-C), as shells report SIGINT
)

// streams are the command's I/O, injected so commands are tested without a subprocess.
type streams struct {
	In       io.Reader
	Out, Err io.Writer
	// ErrTTY reports whether Err is a terminal: the live progress line is drawn only there,
	// and guest output and error messages have their control characters escaped.
	ErrTTY bool
	// OutTTY reports whether Out is a terminal: results printed there have the control
	// characters JSON leaves as they are (DEL, C1) escaped too.
	OutTTY bool
}

// usageError marks errors in what the user typed.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// errInterrupted is returned when the user interrupts a run.
var errInterrupted = errors.New("interrupted")

// globalOptions are the flags every command shares.
type globalOptions struct {
	cacheDir    string
	resultCache string   // --result-cache: the persistent result cache's directory
	cpuProfile  string   // hidden flag: profile the whole command, a worker's life included
	profile     *os.File // the profile being written

	memBudget budgetSize // --memory-budget: the linear memory of all instances together
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, io streams) int {
	root, g := newRootCmd(io)
	root.SetArgs(numbersAsArgs(root, args))
	err := root.ExecuteContext(ctx)
	if g.profile != nil {
		pprof.StopCPUProfile()
		g.profile.Close()
	}
	if err == nil {
		return exitOK
	}
	if rep := (*reportedError)(nil); errors.As(err, &rep) {
		return exitCode(rep.err)
	}
	if ctx.Err() != nil { // whatever was interrupted (a compile, a task) failed because of it
		err = errInterrupted
	}
	msg := "mrun: " + oneLine(errorText(err))
	if io.ErrTTY { // error messages carry guest text: set_error messages, trap messages
		msg = termsafe.String(msg)
	}
	fmt.Fprintln(io.Err, msg)
	return exitCode(err)
}

// argsAreValues is the annotation of a command whose positional arguments are values, which
// may be negative numbers: call.
const argsAreValues = "mrun/args-are-values"

// negativeNumber matches a JSON number with a minus sign: -5, -1.5, -1e3.
var negativeNumber = regexp.MustCompile(`^-(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// numbersAsArgs lets a negative number be a positional argument of a command whose arguments
// are values, without "--": pflag reads -5 as the shorthand flag 5, and has no option to read
// it otherwise. No flag of mrun is a digit, so a negative number that is not the value of a
// flag is an argument. When there is one, the command line is given to cobra as the command,
// its flags (with their values), "--" and the positional arguments in their order, which
// pflag reads exactly as it would have read them interspersed; any other command line is
// given as it is. Unknown flags stay where they are, for pflag to report.
func numbersAsArgs(root *cobra.Command, args []string) []string {
	cmd, rest, err := root.Find(args)
	if err != nil || cmd.Annotations[argsAreValues] == "" {
		return args
	}
	fs := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError) // its flags and the root's
	fs.AddFlagSet(cmd.Flags())
	fs.AddFlagSet(cmd.InheritedFlags())
	var flags, pos []string
	numbers := false
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case a == "--":
			pos = append(pos, rest[i+1:]...)
			i = len(rest)
		case negativeNumber.MatchString(a):
			pos = append(pos, a)
			numbers = true
		case strings.HasPrefix(a, "-") && len(a) > 1:
			flags = append(flags, a)
			if takesNext(fs, a) && i+1 < len(rest) {
				i++
				flags = append(flags, rest[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	if !numbers {
		return args
	}
	out := strings.Fields(cmd.CommandPath())[1:] // the command's names, without mrun
	out = append(out, flags...)
	out = append(out, "--")
	return append(out, pos...)
}

// takesNext reports whether pflag reads the argument after the flag argument a as a's value:
// --name or -xn, where the flag (n, the last of the shorthands) needs a value and a holds
// none.
func takesNext(fs *pflag.FlagSet, a string) bool {
	if name, ok := strings.CutPrefix(a, "--"); ok {
		f := fs.Lookup(name)
		return f != nil && f.NoOptDefVal == ""
	}
	for i := 1; i < len(a); i++ {
		f := fs.ShorthandLookup(a[i : i+1])
		switch {
		case f == nil:
			return false // an unknown shorthand: pflag fails on it
		case f.NoOptDefVal == "":
			return i == len(a)-1 // -n 2 takes the next argument; -n2 and -n=2 hold the value
		}
	}
	return false
}

// exitCode maps an error to the process exit code. It is the only place that does.
func exitCode(err error) int {
	var (
		tf *taskFailure
		te *dag.TaskError
		ce *runtime.CallError
		to *timeoutError
		cu *clusterUnreachable
		bf *buildFailure
	)
	switch {
	case errors.Is(err, errInterrupted):
		return exitInterrupted
	case errors.As(err, &tf), errors.As(err, &te), errors.As(err, &ce), errors.As(err, &to), errors.As(err, &cu), errors.As(err, &bf):
		return exitTaskFail
	}
	return exitUsage
}

// errorText is the message for err, with cobra's multi-line messages made into one line.
func errorText(err error) string {
	msg := err.Error()
	if !strings.HasPrefix(msg, "unknown command ") {
		return msg
	}
	// cobra: `unknown command "rnu" for "mrun"` + "\n\nDid you mean this?\n\trun\n"
	first, rest, _ := strings.Cut(msg, "\n")
	var names []string
	for _, l := range strings.Split(rest, "\n") {
		if strings.HasPrefix(l, "\t") {
			names = append(names, fmt.Sprintf("%q", strings.TrimSpace(l)))
		}
	}
	if len(names) > 0 {
		return fmt.Sprintf("%s (did you mean %s?) (see 'mrun --help')", first, strings.Join(names, " or "))
	}
	return first + " (see 'mrun --help')"
}

// oneLine keeps an error on a single line of stderr.
func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func newRootCmd(io streams) (*cobra.Command, *globalOptions) {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "mrun",
		Short: "Run WebAssembly functions in parallel, sandboxed",
		Long: `mrun runs functions compiled to WebAssembly as a graph of parallel, sandboxed tasks.

Functions are exports of mrun guest modules (see abi/ABI.md); values cross the
host/guest boundary as MessagePack and print as JSON. Results go to stdout;
guest output, progress and errors go to stderr.

Exit status: 0 success, 1 a task failed or timed out, 2 bad command line or
bad input (module, graph file, arguments), 130 interrupted.`,
		Example: `  # run the seed graph and print its outputs as JSON
  mrun run examples/seed.yaml

  # call one function
  mrun call testdata/seed.wasm inc 41

  # what does a module export?
  mrun inspect testdata/seed.wasm`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(io.In)
	root.SetOut(io.Out)
	root.SetErr(io.Err)
	root.SetVersionTemplate("mrun {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{fmt.Errorf("%w (see '%s --help')", err, c.CommandPath())}
	})
	root.PersistentFlags().StringVar(&g.cacheDir, "cache-dir", defaultCacheDir(),
		"cache compiled module code in `DIR`, shared by runs (empty: no cache; env MRUN_CACHE_DIR)")
	defaultResults, _ := cache.DefaultDir()
	root.PersistentFlags().StringVar(&g.resultCache, "result-cache", defaultResults,
		"keep results of pure calls in `DIR` for later runs; see mrun cache (empty: no cache; env "+cache.EnvDir+")")
	root.PersistentFlags().Var(&g.memBudget, "memory-budget",
		"cap the memory of all guest instances together, as in 512MiB or 16GiB; a guest whose memory would grow past it fails (default: 3/4 of the machine's memory)")
	root.PersistentFlags().StringVar(&g.cpuProfile, "cpuprofile", "", "write a CPU profile of the command to `FILE`")
	_ = root.PersistentFlags().MarkHidden("cpuprofile")
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if g.cpuProfile == "" {
			return nil
		}
		f, err := os.Create(g.cpuProfile)
		if err != nil {
			return usagef("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		g.profile = f
		return nil
	}
	root.AddCommand(
		newRunCmd(g, io),
		newCallCmd(g, io),
		newReplayCmd(g, io),
		newInspectCmd(g, io),
		newSigCmd(g, io),
		newGraphCmd(io),
		newWorkerCmd(g, io),
		newClusterCmd(io),
		newCacheCmd(g, io),
		newNewCmd(io),
		newBuildCmd(io),
		newToolchainCmd(io),
		newVersionCmd(io),
	)
	addBuiltinExamples(root)
	return root, g
}

// addBuiltinExamples gives cobra's own help and completion commands examples, like the rest.
func addBuiltinExamples(root *cobra.Command) {
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	examples := map[string]string{
		"help":       "  mrun help run",
		"completion": "  source <(mrun completion bash)\n  mrun completion zsh > \"${fpath[1]}/_mrun\"",
		"bash":       "  source <(mrun completion bash)",
		"zsh":        "  mrun completion zsh > \"${fpath[1]}/_mrun\"",
		"fish":       "  mrun completion fish > ~/.config/fish/completions/mrun.fish",
		"powershell": "  mrun completion powershell | Out-String | Invoke-Expression",
	}
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		if ex, ok := examples[c.Name()]; ok && c.Example == "" {
			c.Example = ex
		}
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(root)
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

// newRuntime starts a runtime configured as cfg, with the shared options.
func newRuntime(ctx context.Context, g *globalOptions, cfg runtime.Config) (*runtime.Runtime, error) {
	cfg.CacheDir = g.cacheDir
	cfg.MemoryBudget = g.memBudget.n
	// With a compilation cache, the process would wait at its exit for the compiler to fill
	// it, so running the first calls on the interpreter meanwhile would only make it end
	// later: compile first, once per module and cache. Without one, the interpreter answers
	// sooner and the compilation stops at exit.
	cfg.WaitForCompiler = g.cacheDir != ""
	rt, err := runtime.New(ctx, cfg)
	if err != nil && g.cacheDir != "" {
		// An unusable cache directory must not stop the work: compile in memory instead.
		cfg.CacheDir = ""
		cfg.WaitForCompiler = false
		rt, err = runtime.New(ctx, cfg)
	}
	if err != nil {
		return nil, &usageError{err}
	}
	if err := registerNative(ctx, rt); err != nil { // native.go
		rt.Close(context.Background())
		return nil, err
	}
	return rt, nil
}

// oneArg accepts exactly one positional argument, what the command calls it (a GRAPH file).
func oneArg(what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) == 0:
			return usagef("%s needs %s (see '%s --help')", cmd.Name(), what, cmd.CommandPath())
		case len(args) > 1:
			return usagef("%s takes one argument, %s; unexpected %q (see '%s --help')", cmd.Name(), what, args[1], cmd.CommandPath())
		}
		return nil
	}
}

// budgetSize is the --memory-budget flag: a size in bytes, which unlike the per-instance
// limits may exceed 4GiB.
type budgetSize struct {
	n    int64
	text string
}

func (b *budgetSize) String() string { return b.text }
func (b *budgetSize) Type() string   { return "size" }

// Set parses sizes like 512MiB or 16GiB, with the units bytesize.Parse accepts.
func (b *budgetSize) Set(s string) error {
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit, uerr := bytesize.Parse("1" + s[len(num):]) // the unit alone, in bytes
	n, err := strconv.ParseInt(num, 10, 64)
	if uerr != nil || err != nil {
		return fmt.Errorf("%q is not a size like 512MiB or 16GiB", s)
	}
	if n == 0 {
		return fmt.Errorf("%s is too small: the budget must be more than 0", s)
	}
	if n > math.MaxInt64/int64(unit) {
		return fmt.Errorf("%s is too large", s)
	}
	b.n, b.text = n*int64(unit), s
	return nil
}
