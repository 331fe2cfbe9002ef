package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/internal/termsafe"
	"github.com/mrun-dev/mrun/replay"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// replayOptions are the flags of call and run that keep replay bundles of their calls.
type replayOptions struct {
	keepFailed string // --keep-failed DIR: a bundle per failed task
	record     string // --record DIR: a bundle per task
	// rec keeps the bundles while the execution runs: made by recordBundles, or earlier by
	// replayHook, which keeps the failed calls in memory for the dashboard.
	rec *replay.Recorder
}

func (o *replayOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.keepFailed, "keep-failed", "", "write a replay bundle of each failed task under `DIR`, for mrun replay")
	fs.StringVar(&o.record, "record", "", "write a replay bundle of every task, failed or not, under `DIR`, for mrun replay")
}

// recorder returns the Recorder of the execution's bundles, made on first use.
func (o *replayOptions) recorder() *replay.Recorder {
	if o.rec == nil {
		o.rec = &replay.Recorder{}
	}
	return o.rec
}

// replayHook returns the function that writes the replay bundle of a failed task on demand
// (the dashboard's replay button): the execution then keeps its failed calls, in memory or
// under --keep-failed.
func (x *execution) replayHook() func(context.Context, abi.Key) (string, error) {
	return x.opts.replay.recorder().Write
}

// recordBundles makes cfg's executor keep replay bundles of the calls, as --keep-failed,
// --record or the dashboard ask.
func (x *execution) recordBundles(cfg *dag.Config) error {
	o := &x.opts.replay
	if o.keepFailed == "" && o.record == "" && o.rec == nil {
		return nil
	}
	if x.conn != nil {
		if o.keepFailed != "" || o.record != "" {
			return usagef("--keep-failed and --record keep the calls this process runs, and with --cluster the workers run them: run without --cluster to keep them")
		}
		return nil
	}
	if o.keepFailed != "" && o.record != "" && o.keepFailed != o.record {
		return usagef("--record %s keeps every task, the failed ones too: give it alone, or both flags the same DIR", o.record)
	}
	rec := o.recorder()
	rec.Dir, rec.All = o.keepFailed, o.record != ""
	if rec.All {
		rec.Dir = o.record
		if cfg.Cache != nil { // a record shows the calls: run them all, and keep what they return
			cfg.Cache = writeOnly{cfg.Cache}
		}
	}
	if rec.Dir != "" {
		if err := os.MkdirAll(rec.Dir, 0o755); err != nil {
			return usagef("--keep-failed: %v", err)
		}
	}
	rec.Limits = replay.Limits{
		MemoryLimitPages: x.opts.memoryLimit.pages, MaxResult: x.opts.maxResult.n, MaxOutput: x.opts.maxOutput.n,
		MaxDepth: x.opts.maxDepth, MaxTasks: x.opts.maxTasks, MaxWaiting: x.opts.maxWaiting, MaxArgument: x.opts.maxArg.n,
	}
	rec.Next = cfg.Executor
	rec.Notify = x.kept
	cfg.Executor = rec
	return nil
}

// kept says where the bundle of a failed task went, or why it has none.
func (x *execution) kept(k replay.Kept) {
	if !k.Failed || x.opts.replay.rec.Dir == "" {
		return
	}
	label := x.label(k.Key, k.Func)
	if k.Err != nil {
		fmt.Fprintf(x.errWriter(), "mrun: notice: no replay bundle of failed task %s: %v\n", label, k.Err)
		return
	}
	fmt.Fprintf(x.errWriter(), "mrun: replay bundle of failed task %s: %s\n", label, k.Path)
}

type replayCmdOptions struct {
	io     streams
	global *globalOptions
	bundle string
	quiet  bool
	json   bool
}

func newReplayCmd(g *globalOptions, io streams) *cobra.Command {
	o := &replayCmdOptions{io: io, global: g}
	cmd := &cobra.Command{
		Use:   "replay BUNDLE",
		Short: "Run one recorded call again and say whether it did the same",
		Long: `Run the call of a replay bundle again, in this process, and print its result
as mrun call does, or fail with its error (exit status 1).

mrun run and mrun call write a bundle of each failed task with --keep-failed DIR,
and of every task with --record DIR. A bundle holds the module (or its path and
SHA-256, for a large one), the function, the argument frame exactly as the guest
received it, the module's capabilities (environment, mounts, deterministic,
memory limit, the modules it may spawn) and what the call did: its error, what it
wrote to stdout and stderr, its result. Tasks a spawning guest spawns run again
too, in a fresh engine.

A line on stderr says whether the outcome is the recorded one (error, stdout,
stderr and result, byte for byte). A module with deterministic: true (or mrun
call --deterministic) has a fixed clock and seeded randomness, so a call that
ran on a fresh instance replays bit for bit; one that reads the real clock or
randomness differs from run to run.`,
		Example: `  mrun call testdata/seed.wasm fail '"the disk is full"' --keep-failed bundles
  mrun replay bundles/fail-0123456789abcdef

  mrun run --record rec --deterministic examples/seed.yaml
  mrun replay rec/inc-0123456789abcdef`,
		Args: oneArg("a BUNDLE directory"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.bundle = args[0]
			return runReplay(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "do not show what the guest writes to stdout and stderr")
	cmd.Flags().BoolVar(&o.json, "json", false, "print a table result as JSON rows, one object per row, even on a terminal")
	return cmd
}

func runReplay(ctx context.Context, o *replayCmdOptions) error {
	b, err := replay.Read(o.bundle)
	if err != nil {
		return &usageError{err}
	}
	res, err := b.Replay(ctx, replay.Options{CacheDir: o.global.cacheDir, MemoryBudget: o.global.memBudget.n})
	var ce *runtime.CallError
	if err != nil && !errors.As(err, &ce) {
		return &usageError{err}
	}
	got := replay.OutcomeOf(res, err)
	if !o.quiet && len(got.Stdout)+len(got.Stderr) > 0 {
		out := append(append([]byte(nil), got.Stdout...), got.Stderr...)
		if o.io.ErrTTY {
			out = termsafe.Bytes(out)
		}
		o.io.Err.Write(out)
	}
	fmt.Fprintln(o.io.Err, "mrun: "+sameText(b, got))
	if err != nil {
		// The children's labels are their functions' names: the bundle holds no graph.
		causes := newExecution(&execOptions{}, o.io, false, "").causes(err)
		return &taskFailure{label: b.Function, function: b.Module + "." + b.Function, key: b.Key, cause: err, causes: causes}
	}
	if b.NOutput == 1 {
		v, err := abi.Decode(res.Value)
		if err != nil {
			return fmt.Errorf("the result of %s: %w", b.Function, err)
		}
		return writeCallResult(o.io, v, o.json)
	}
	parts, err := abi.SplitArray(res.Value, b.NOutput)
	if err != nil {
		return fmt.Errorf("the result of %s: %w", b.Function, err)
	}
	vals := make([]any, len(parts))
	for i, p := range parts {
		if vals[i], err = abi.Decode(p); err != nil {
			return fmt.Errorf("output %d of %s: %w", i, b.Function, err)
		}
	}
	return writeResult(o.io, vals)
}

// sameText says whether got, the outcome of the replay, is b's recorded one, and if not, in
// what and why it may be.
func sameText(b *replay.Bundle, got replay.Outcome) string {
	diff := got.Diff(b.Outcome)
	if len(diff) == 0 {
		return "replay: the outcome is the recorded one, byte for byte (error, stdout, stderr, result)"
	}
	var s strings.Builder
	fmt.Fprintf(&s, "replay: the outcome differs from the recorded one in %s", strings.Join(diff, ", "))
	if fx := b.Outcome.Effects | got.Effects; fx&(runtime.ReadClock|runtime.ReadRandom) != 0 {
		fmt.Fprintf(&s, " (the call read %s, which is not the same from run to run: give its module deterministic: true in a graph file, or use mrun call --deterministic, to replay it bit for bit)", strings.ReplaceAll((fx&^runtime.ReadFile).String(), "+", " and "))
	} else if b.Modules[0].Config.Deterministic {
		s.WriteString(" (its module is deterministic: something else the call read has changed since, such as a file under a mount, or the bundle was recorded by an mrun that reused instances of deterministic modules)")
	}
	if b.Outcome.Failed && got.Err != b.Outcome.Err {
		fmt.Fprintf(&s, "; the recorded error was: %s", oneLine(b.Outcome.Err))
	}
	if !b.Outcome.Failed && got.Failed {
		s.WriteString("; the recorded call succeeded")
	}
	return s.String()
}
