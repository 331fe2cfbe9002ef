package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/mrun-dev/mrun/internal/bytesize"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cache"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/graphfile"
	"github.com/mrun-dev/mrun/internal/termsafe"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// execOptions are the flags of the verbs that run tasks: call and run.
type execOptions struct {
	workers     int
	timeout     time.Duration // the whole command
	taskTimeout time.Duration // each attempt of each task, unless the graph file says otherwise
	retries     int
	memoryLimit memSize
	maxResult   byteSize
	maxOutput   byteSize
	maxArg      byteSize
	maxDepth    int
	maxTasks    int
	maxWaiting  int
	quiet       bool
	progress    bool
	progressSet bool // --progress was given: otherwise progress follows whether stderr is a terminal
	trace       string
	stats       bool         // --stats: what the tasks cost, on stderr after the run (stats.go)
	cluster     clusterFlags // run the calls on a cluster's workers instead of in process
	noCache     bool         // --no-cache: neither read nor write the result cache
	resultCache string       // --result-cache, the global flag
	storeBudget budgetSize   // --store-budget

	replay replayOptions // --keep-failed, --record (replay.go)

	dashboard dashboardOptions // --dashboard (dashboard.go)
}

func (o *execOptions) addFlags(fs *pflag.FlagSet) {
	fs.IntVarP(&o.workers, "workers", "w", 0, "how many tasks run at once (default: the number of CPUs)")
	fs.DurationVar(&o.timeout, "timeout", 0, "stop the whole command after this long, as in 30s or 5m (default: no limit)")
	fs.DurationVar(&o.taskTimeout, "task-timeout", 0, "interrupt an attempt of a task that runs longer than this, unless the task sets timeout: (default: no limit)")
	fs.IntVar(&o.retries, "retries", 0, "run a failed task again up to `N` times, unless the task sets retries: (default: 0)")
	fs.Var(&o.memoryLimit, "memory-limit", "cap each instance's linear memory, as in 64MiB or 1GiB (default: 4GiB, the WebAssembly maximum)")
	fs.Var(&o.maxResult, "max-result", "fail a call whose result is larger than this, as in 1MiB (default: 256MiB)")
	fs.Var(&o.maxOutput, "max-output", "keep at most this much of what one call writes to stdout, and to stderr (default: 1MiB)")
	fs.Var(&o.maxArg, "max-arg", "fail a call whose arguments encode to more than this, dependency values included, as in 1GiB (default: 256MiB)")
	fs.IntVar(&o.maxDepth, "max-depth", 0, "how deeply guests may nest spawns (default: 100)")
	fs.IntVar(&o.maxTasks, "max-tasks", 0, fmt.Sprintf("how many tasks guests may spawn in one run (default: one per 4 KiB of 3/4 of the machine's memory, at least 100000: %d here)", dag.DefaultMaxTasks()))
	fs.IntVar(&o.maxWaiting, "max-waiting", 0, "how many tasks may wait on nested spawns at once (default: 128)")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "do not show what guests write to stdout and stderr")
	fs.BoolVar(&o.progress, "progress", false, "show progress on stderr (default: when stderr is a terminal)")
	fs.StringVar(&o.trace, "trace", "", "write a Chrome trace-event `FILE` of the execution (open it in ui.perfetto.dev)")
	fs.BoolVar(&o.noCache, "no-cache", false, "run every call: neither read results from the result cache nor write them to it")
	fs.Var(&o.storeBudget, "store-budget", "keep at most this much of the values no run holds in memory, as in 64MiB (default: 256MiB)")
	o.cluster.addFlags(fs, "run the calls on the workers of the cluster at `URL`, as in nats://127.0.0.1:4222 (env "+clusterEnv+"; empty: in process)")
	o.cluster.addTimeoutFlag(fs)
	o.dashboard.addFlag(fs, "the run")
}

// parsed completes the options once cobra has parsed the flags.
func (o *execOptions) parsed(cmd *cobra.Command) error {
	o.progressSet = cmd.Flags().Changed("progress")
	switch {
	case o.workers < 0:
		return usagef("--workers must be at least 1, got %d", o.workers)
	case o.timeout < 0:
		return usagef("--timeout must not be negative, got %s", o.timeout)
	case o.taskTimeout < 0:
		return usagef("--task-timeout must not be negative, got %s", o.taskTimeout)
	case o.retries < 0:
		return usagef("--retries must not be negative, got %d", o.retries)
	case o.maxDepth < 0:
		return usagef("--max-depth must not be negative, got %d", o.maxDepth)
	case o.maxTasks < 0:
		return usagef("--max-tasks must not be negative, got %d", o.maxTasks)
	case o.maxWaiting < 0:
		return usagef("--max-waiting must not be negative, got %d", o.maxWaiting)
	}
	if o.cluster.url != "" {
		// The workers' runtimes run the calls: their limits are the workers' flags.
		for _, f := range []string{"memory-limit", "max-result", "max-output"} {
			if cmd.Flags().Changed(f) {
				return usagef("--%s limits calls run in process; with --cluster, give it to mrun worker instead", f)
			}
		}
	}
	return nil
}

// clusterSlots is how many calls a coordinator keeps in flight on a cluster by default: they
// wait on the workers, not on this machine's CPUs.
const clusterSlots = 1024

// connect connects x to the cluster of --cluster, if one is given. The connection lasts until
// x.close, so that values can be fetched after the execution.
func (x *execution) connect(ctx context.Context) error {
	if x.opts.cluster.url == "" {
		return nil
	}
	x.opts.cluster.logTo(x.io.ErrTTY, x.errWriter)
	conn, err := x.opts.cluster.connect(ctx, x.command)
	if err != nil {
		return err
	}
	x.conn = conn
	return nil
}

// errWriter is where lines of the connection's go: through the progress line while the
// execution runs (it prints them above the line it draws), straight to stderr otherwise.
func (x *execution) errWriter() io.Writer {
	if p := x.liveProg.Load(); p != nil {
		return p
	}
	return x.io.Err
}

// close closes the connection to the cluster, if there is one.
func (x *execution) close() {
	if x.conn != nil {
		x.conn.Close()
	}
}

// runtimeConfig is the runtime configuration the flags ask for.
func (o *execOptions) runtimeConfig() runtime.Config {
	return runtime.Config{MemoryLimitPages: o.memoryLimit.pages, MaxResult: o.maxResult.n, MaxOutput: o.maxOutput.n}
}

// memSize is a flag holding a memory size, stored in 64 KiB WebAssembly pages.
type memSize struct {
	pages uint32
	text  string
}

const pageSize = 64 << 10

func (m *memSize) String() string { return m.text }
func (m *memSize) Type() string   { return "size" }

// Set parses sizes like 65536, 512KiB, 64MiB, 4GiB (see bytesize.Parse) and rounds down to whole
// pages.
func (m *memSize) Set(s string) error {
	n, err := bytesize.Parse(s)
	if err != nil {
		return err
	}
	pages := n / pageSize
	if pages == 0 {
		return fmt.Errorf("%s is less than one 64KiB page", s)
	}
	m.pages, m.text = uint32(pages), s
	return nil
}

// byteSize is a flag holding a size in bytes.
type byteSize struct {
	n    int
	text string
}

func (b *byteSize) String() string { return b.text }
func (b *byteSize) Type() string   { return "size" }

func (b *byteSize) Set(s string) error {
	n, err := bytesize.Parse(s)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s is too small: the limit must be at least 1 byte", s)
	}
	b.n, b.text = int(n), s
	return nil
}

// timeoutError is the cause of a context cancelled by --timeout.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string { return fmt.Sprintf("timed out after %s", e.d) }

// taskFailure is the error of an execution in which a task failed. It names the first failed
// task in the order the user wrote them, its function, key and cause, and counts the rest.
type taskFailure struct {
	label     string // the task as the user names it: incs[3], or the function for call
	function  string // module.function
	key       abi.Key
	cause     error
	others    int // other tasks that failed
	cancelled int // tasks interrupted because the command was stopped, other than this one
	notRun    int // tasks that never started
	// stopped: this task did not fail of itself, it was interrupted because the command was
	// stopped (--timeout)
	stopped bool
	// causes are the failed children the guest named with fail_with, from this task's child
	// down to the root cause.
	causes []causeLink
}

// causeLink is one failed child in a chain of causes.
type causeLink struct {
	label    string // the task as the user sees it: driver/inc
	function string // module.function
	key      abi.Key
	text     string // its error, without the parts the line already says
}

func (e *taskFailure) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "task %s (%s, key %s): %s", e.label, e.function, e.key, causeText(e.cause))
	for _, c := range e.causes {
		if strings.Contains(b.String(), c.text) { // the parent's message already quotes it
			continue
		}
		fmt.Fprintf(&b, ": caused by task %s (%s, key %s): %s", c.label, c.function, c.key, c.text)
	}
	var more []string
	if e.others > 0 {
		more = append(more, fmt.Sprintf("%s failed", plural(e.others, "other task")))
	}
	switch {
	case e.cancelled > 0 && e.stopped:
		more = append(more, fmt.Sprintf("%s cancelled", plural(e.cancelled, "other task")))
	case e.cancelled > 0:
		more = append(more, fmt.Sprintf("%s cancelled", plural(e.cancelled, "task")))
	}
	if e.notRun > 0 {
		more = append(more, fmt.Sprintf("%d did not run", e.notRun))
	}
	if len(more) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(more, ", "))
	}
	return b.String()
}

func (e *taskFailure) Unwrap() error { return e.cause }

// causeText is a failed call's error without the parts the message already says, with the
// engine's advice on raising a limit given in terms of mrun's flags and fields.
func causeText(err error) string {
	var ce *runtime.CallError
	if errors.As(err, &ce) && ce == err {
		return cliHints.Replace(ce.Err.Error())
	}
	return cliHints.Replace(err.Error())
}

// cliHints turns the Go API's "raise it with" advice into the command's.
var cliHints = strings.NewReplacer(
	"(raise it with dag.Call.Timeout or dag.Config.Timeout)", "(raise it with --task-timeout, or timeout: in a graph file)",
	"(raise it with runtime.Config.MaxResult)", "(raise it with --max-result)",
	"(raise it with dag.Config.MaxDepth)", "(raise it with --max-depth)",
	"(raise it with dag.Config.MaxTasks)", "(raise it with --max-tasks)",
	"(raise it with dag.Config.MaxWaiting)", "(raise it with --max-waiting)",
	"(raise it with dag.Config.MaxArgument)", "(raise it with --max-arg)",
	"raise it with runtime.Config.MemoryLimitPages or ModuleConfig.MemoryLimitPages)", "raise it with --memory-limit, or memory_limit: in a graph file)",
	"raise it with runtime.Config.MemoryBudget)", "raise it with --memory-budget)",
)

// execution runs spawned Objects on an engine and reports on them as events arrive: guest
// output, progress, the trace, and failures.
type execution struct {
	opts *execOptions
	io   streams
	// tasks names the host-level tasks by task key and orders them as the user wrote them. It
	// is filled before the execution starts and only read while it runs.
	tasks map[abi.Key]hostTask
	// prefix marks guest output lines with the task's label ([incs[3]] ...); call prints
	// the output of its single task as it is.
	prefix bool
	// command is the command line, recorded in the trace.
	command string

	prog *progress
	// liveProg is prog while the execution runs, for lines written from other goroutines.
	liveProg atomic.Pointer[progress]
	trace    *tracer
	stats    *stats        // --stats; nil without
	conn     *cluster.Conn // nil: calls run in process
	// stopping is closed when the whole command is stopped (--timeout, Ctrl-C): calls
	// interrupted then are cancelled, not failed.
	stopping <-chan struct{}

	// same lists, by task key, the labels of the host-level calls after the first that have
	// that key: identical calls, which run once.
	same map[abi.Key][]string

	mu       sync.Mutex
	nested   map[abi.Key]string // labels of tasks spawned by guests
	failures []failedTask
	effects  []dag.Event // finish events of host-level calls that read the clock, randomness or files

	cache       *cache.Cache // the result cache, once opened
	cacheOpened bool
}

// hostTask is a task the user spawned: a call of a graph file, or the call of mrun call.
// Labels are made when needed, so that a 100,000-call graph does not format 100,000 names.
type hostTask struct {
	call *graphfile.Call // nil for mrun call
	name string          // the label when call is nil
	rank int
}

func (h hostTask) label() string {
	if h.call != nil {
		return h.call.Label()
	}
	return h.name
}

type failedTask struct {
	key       abi.Key
	fn        *runtime.Function
	err       error
	sequence  int  // order of failure, for tasks the user did not spawn
	cancelled bool // interrupted because the command was stopped: no failure of its own
}

func newExecution(opts *execOptions, io streams, prefix bool, command string) *execution {
	return &execution{
		opts: opts, io: io, prefix: prefix, command: command,
		tasks: map[abi.Key]hostTask{}, nested: map[abi.Key]string{},
	}
}

// add records the host-level task that produces objs: c, or the function call named name. The
// first task given a key keeps it: identical calls are one task.
func (x *execution) add(c *graphfile.Call, name string, objs dag.Tuple) {
	k := objs[0].TaskKey()
	if _, ok := x.tasks[k]; !ok {
		x.tasks[k] = hostTask{call: c, name: name, rank: len(x.tasks)}
	} else if c != nil {
		if x.same == nil {
			x.same = map[abi.Key][]string{}
		}
		if len(x.same[k]) < 3 { // enough to name them in a notice
			x.same[k] = append(x.same[k], c.Label())
		}
	}
}

// label names the task with key k.
func (x *execution) label(k abi.Key, fn *runtime.Function) string {
	if t, ok := x.tasks[k]; ok {
		return t.label()
	}
	x.mu.Lock()
	l, ok := x.nested[k]
	x.mu.Unlock()
	if ok {
		return l
	}
	if fn != nil {
		return fn.Name()
	}
	return k.String()
}

// execute runs objs and waits for them. It returns the engine, to fetch values from, and a
// *taskFailure if a task failed.
func (x *execution) execute(ctx context.Context, objs []*dag.Object) (*dag.Engine, error) {
	cfg := dag.Config{Slots: x.opts.workers, Events: x.event, Timeout: x.opts.taskTimeout, Retries: x.opts.retries,
		MaxDepth: x.opts.maxDepth, MaxTasks: x.opts.maxTasks, MaxWaiting: x.opts.maxWaiting, MaxArgument: x.opts.maxArg.n}
	cfg.StoreBudget = x.opts.storeBudget.n
	if x.conn != nil {
		cfg.Executor, cfg.Store = x.conn.Executor(), x.conn.Store()
		x.conn.Executor().SetNesting(x.opts.maxDepth, x.opts.maxTasks) // the workers apply them too
		x.conn.Executor().SetEvents(x.event)                           // nested calls count as in process
		if cfg.Slots == 0 {
			cfg.Slots = clusterSlots
		}
	} else if c := x.resultCache(); c != nil {
		cfg.Cache = c
		if x.opts.trace != "" { // a trace shows the calls: run them all, and keep what they return
			cfg.Cache = writeOnly{c}
		}
	}
	if err := x.recordBundles(&cfg); err != nil { // replay.go
		return nil, err
	}
	eng := dag.New(cfg)
	var traceFile *os.File
	if x.opts.trace != "" { // created now, so that a bad path fails before anything runs
		f, err := os.Create(x.opts.trace)
		if err != nil {
			return nil, usagef("--trace: %v", err)
		}
		traceFile = f
		defer traceFile.Close()
	}
	runCtx := ctx
	if x.opts.timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeoutCause(ctx, x.opts.timeout, &timeoutError{x.opts.timeout})
		defer cancel()
	}
	show := x.opts.progress
	if !x.opts.progressSet {
		show = x.io.ErrTTY
	}
	start := time.Now()
	x.stopping = runCtx.Done()
	x.prog = newProgress(x.io.Err, x.io.ErrTTY, show, x.opts.progressSet, len(x.tasks), start)
	x.liveProg.Store(x.prog)
	defer x.liveProg.Store(nil)
	if traceFile != nil {
		x.trace = newTracer(start, eng.Slots())
	}
	if x.opts.stats {
		x.stats = newStats()
	}
	if err := x.startDashboard(); err != nil {
		return nil, err
	}
	x.prog.start()
	err := eng.Execute(runCtx, objs...)
	x.prog.stop()
	x.stats.write(x.io.Err, x.label)
	x.noticeImpure()
	switch {
	case err != nil && ctx.Err() != nil:
		err = errInterrupted
	case errors.Is(err, cluster.ErrUnreachable):
		err = unreachable(err)
	case err != nil:
		err = x.failure(runCtx, err)
	}
	x.dashboardEnd(err)
	if traceFile != nil { // written when tasks failed too: that is when it helps most
		werr := x.trace.write(traceFile, x.command)
		if cerr := traceFile.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil && err == nil {
			err = usagef("--trace: %v", werr)
		}
	}
	if err != nil {
		return nil, err
	}
	return eng, nil
}

// failure turns the error of Execute into the error the user sees: the first failed task in
// the order of the graph, with counts of the others.
func (x *execution) failure(ctx context.Context, err error) error {
	x.mu.Lock()
	fs := slices.Clone(x.failures)
	x.mu.Unlock()
	var timedOut *timeoutError
	errors.As(context.Cause(ctx), &timedOut)
	notRun := int(x.prog.total.Load() - x.prog.started.Load())
	if len(fs) > 0 {
		// Calls whose values were already there (in a cluster's store, or the result cache)
		// did not start either: only the calls a failure stopped did not run.
		notRun = int(x.prog.skipped.Load())
		if timedOut != nil {
			notRun = int(x.prog.total.Load() - x.prog.started.Load() - x.prog.stored.Load() - x.prog.cached.Load())
		}
	}
	if len(fs) == 0 {
		if timedOut != nil {
			return fmt.Errorf("%w (%d of %d tasks did not run)", timedOut, notRun, x.prog.total.Load())
		}
		return err
	}
	// The first failure in the order the user wrote the tasks; a task that failed of itself
	// before one the stopped command interrupted.
	slices.SortStableFunc(fs, func(a, b failedTask) int {
		if a.cancelled != b.cancelled {
			if a.cancelled {
				return 1
			}
			return -1
		}
		ta, oka := x.tasks[a.key]
		tb, okb := x.tasks[b.key]
		switch {
		case oka && okb:
			return ta.rank - tb.rank
		case oka:
			return -1
		case okb:
			return 1
		}
		return a.sequence - b.sequence
	})
	f := fs[0]
	causes := x.causes(f.err)
	inChain := make(map[abi.Key]bool, len(causes))
	for _, c := range causes {
		inChain[c.key] = true
	}
	failed, cancelled := 0, 0
	for _, o := range fs[1:] {
		switch {
		case o.cancelled:
			cancelled++
		case !inChain[o.key]: // the line names the tasks of the chain: they are not "other"
			failed++
		}
	}
	return &taskFailure{
		label:     x.label(f.key, f.fn),
		function:  f.fn.Module().Name() + "." + f.fn.Name(),
		key:       f.key,
		cause:     f.err,
		others:    failed,
		cancelled: cancelled,
		notRun:    notRun,
		stopped:   f.cancelled,
		causes:    causes,
	}
}

// maxCauses bounds the chain of causes the error line follows: a guest decides its depth.
const maxCauses = 100

// causes follows the failed children that guests named with fail_with, from the failed call's
// error err down to the root cause: a driver that gives up on a failed child fails with a
// message of its own ("driver gave up"), and the child's error is only in the chain.
func (x *execution) causes(err error) []causeLink {
	var links []causeLink
	for len(links) < maxCauses {
		var ge *runtime.GuestError
		if !errors.As(err, &ge) || ge.Cause == nil {
			break
		}
		var te *dag.TaskError
		if !errors.As(ge.Cause, &te) {
			break
		}
		label := x.label(te.Key, nil)
		if label == te.Key.String() { // not seen starting: a task of another execution
			label = te.Func
		}
		links = append(links, causeLink{
			label:    label,
			function: te.Module + "." + te.Func,
			key:      te.Key,
			text:     causeText(te.Err),
		})
		err = te.Err
	}
	return links
}

// event receives the engine's events, from the goroutines that run the tasks.
func (x *execution) event(ev dag.Event) {
	x.stats.event(ev)
	x.dashboardEvent(ev)
	switch ev.Kind {
	case dag.EventStart:
		if ev.Depth > 0 {
			x.nestedStarted(ev)
		}
		x.prog.started.Add(1)
		if x.trace != nil {
			parent := ""
			if ev.Depth > 0 {
				parent = x.label(ev.Parent, nil)
			}
			x.trace.start(ev, x.label(ev.Key, ev.Func), parent)
		}
	case dag.EventCached, dag.EventStored:
		if ev.Depth > 0 {
			x.nestedStarted(ev) // counted and named, though it does not start
		}
		if ev.Kind == dag.EventCached {
			x.prog.cached.Add(1)
		} else {
			x.prog.stored.Add(1)
		}
		if x.trace != nil {
			x.trace.reused(ev, x.label(ev.Key, ev.Func))
		}
	case dag.EventFinish:
		if ev.Effects != 0 && ev.Depth == 0 && len(x.same[ev.Key]) > 0 {
			x.mu.Lock()
			x.effects = append(x.effects, ev)
			x.mu.Unlock()
		}
		x.prog.done.Add(1)
		if x.trace != nil {
			x.trace.end(ev, "done")
		}
		x.guestOutput(ev)
	case dag.EventFail:
		cancelled := x.cancelledBy(ev.Err)
		status := "failed"
		if cancelled {
			x.prog.cancelled.Add(1)
			status = "cancelled"
		} else {
			x.prog.failed.Add(1)
		}
		if x.trace != nil {
			x.trace.end(ev, status)
		}
		x.guestOutput(ev)
		x.mu.Lock()
		x.failures = append(x.failures, failedTask{key: ev.Key, fn: ev.Func, err: ev.Err, sequence: len(x.failures), cancelled: cancelled})
		x.mu.Unlock()
	case dag.EventRetry:
		x.prog.retried.Add(1)
		if x.trace != nil {
			x.trace.retry(ev)
		}
	case dag.EventSkip:
		if ev.Depth > 0 {
			x.prog.total.Add(1)
		}
		x.prog.skipped.Add(1)
		if x.trace != nil {
			x.trace.skip(ev, x.label(ev.Key, ev.Func))
		}
	}
}

// cancelledBy reports whether a call failed with err because the whole command was stopped
// (--timeout, Ctrl-C) while it ran: that is no failure of the call's own, in process or on a
// cluster, where the workers interrupt it when the coordinator cancels it.
func (x *execution) cancelledBy(err error) bool {
	select {
	case <-x.stopping:
		return errors.Is(err, runtime.ErrInterrupted)
	default:
		return false
	}
}

// writeOnly is a result cache that is written to and never read.
type writeOnly struct{ c dag.Cache }

func (w writeOnly) Get(abi.Key) ([]byte, bool) { return nil, false }
func (w writeOnly) Put(k abi.Key, v []byte)    { w.c.Put(k, v) }

// noticeImpure prints one notice naming the identical host-level calls that ran once although
// the call read the clock, randomness or a mounted file: each would likely have given another
// value, and pure: false says so.
func (x *execution) noticeImpure() {
	x.mu.Lock()
	evs := x.effects
	x.mu.Unlock()
	if len(evs) == 0 {
		return
	}
	slices.SortFunc(evs, func(a, b dag.Event) int { return x.tasks[a.Key].rank - x.tasks[b.Key].rank })
	var names []string
	for _, ev := range evs {
		labels := append([]string{x.tasks[ev.Key].label()}, x.same[ev.Key]...)
		names = append(names, fmt.Sprintf("%s (read %s)", strings.Join(labels, ", "), ev.Effects))
	}
	fmt.Fprintf(x.io.Err, "mrun: notice: identical calls ran once although they read the clock, randomness or files, so they share one value: %s; give such a task pure: false to run each call\n",
		strings.Join(names, "; "))
}

// nestedStarted names a task spawned by a guest after its parent, and counts it.
func (x *execution) nestedStarted(ev dag.Event) {
	x.prog.total.Add(1)
	if _, ok := x.tasks[ev.Key]; ok {
		return
	}
	parent := x.label(ev.Parent, nil)
	x.mu.Lock()
	if _, ok := x.nested[ev.Key]; !ok {
		x.nested[ev.Key] = parent + "/" + ev.Func.Name()
	}
	x.mu.Unlock()
}

// guestOutput shows what a call wrote, on stderr: stdout holds only results. On a terminal,
// control characters are escaped (see internal/termsafe); elsewhere the bytes are exact.
func (x *execution) guestOutput(ev dag.Event) {
	if x.opts.quiet || len(ev.Stdout)+len(ev.Stderr) == 0 {
		return
	}
	var b bytes.Buffer
	if !x.prefix && ev.Depth == 0 {
		b.Write(ev.Stdout)
		b.Write(ev.Stderr)
	} else {
		p := "[" + x.label(ev.Key, ev.Func) + "] "
		for _, out := range [][]byte{ev.Stdout, ev.Stderr} {
			for line := range bytes.Lines(out) {
				b.WriteString(p)
				b.Write(line)
			}
			if len(out) > 0 && out[len(out)-1] != '\n' {
				b.WriteByte('\n')
			}
		}
	}
	out := b.Bytes()
	if x.io.ErrTTY { // a guest must not drive the terminal; a pipe or a file gets its bytes
		out = termsafe.Bytes(out)
	}
	x.prog.Write(out)
}
