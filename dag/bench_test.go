package dag_test

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"sync"
	"testing"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dashboard"
	"github.com/mrun-dev/mrun/internal/gobaseline"
	"github.com/mrun-dev/mrun/runtime"
)

// The benchmarks run each graph on mrun and, as a baseline, the same graph as plain Go:
// one goroutine per task, waiting on its dependencies' channels, running the same
// computation natively. They report tasks/s and ns/task; compare the two lines of a pair.

func report(b *testing.B, tasks int) {
	b.Helper()
	per := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(tasks)
	b.ReportMetric(per, "ns/task")
	b.ReportMetric(1e9/per, "tasks/s")
}

// mustExecute executes with a cancellable context, as real callers (the CLI, servers) do:
// that is what arms interruption of running guests.
func mustExecute(b *testing.B, e *dag.Engine, objs ...*dag.Object) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.Execute(ctx, objs...); err != nil {
		b.Fatal(err)
	}
}

// The guests the benchmarks compare, loaded on first use: compiling each takes a while, and
// `go test -bench X` should pay only for the modules X uses.
var (
	cGuest   = loadOnce(func() *runtime.Runtime { return rt }, "../testdata/c/conformance.wasm")
	watGuest = loadOnce(func() *runtime.Runtime { return rt }, "../testdata/wat/conformance.wasm")
	fastSeed = loadOnce(fastRuntime, "../testdata/seed.wasm")
	fastC    = loadOnce(fastRuntime, "../testdata/c/conformance.wasm")
)

// fastRuntime is a runtime compiled without interruption checks.
var fastRuntime = sync.OnceValue(func() *runtime.Runtime {
	fast, err := runtime.New(context.Background(), runtime.Config{Uninterruptible: true})
	if err != nil {
		panic(err)
	}
	return fast
})

// loadOnce returns a function that loads the module at path into the runtime of rt the first
// time it is called.
func loadOnce(rt func() *runtime.Runtime, path string) func() *runtime.Module {
	return sync.OnceValue(func() *runtime.Module {
		m, err := rt().LoadFile(context.Background(), path)
		if err == nil {
			err = m.WaitCompiled(context.Background()) // measure compiled code, not the interpreter
		}
		if err != nil {
			panic(err)
		}
		return m
	})
}

// BenchmarkFanOut10k: 10,000 inc calls and a sum_all over all of them, in every guest
// language the conformance suite builds without a runtime of its own (C, hand-written WAT)
// and in Go.
func BenchmarkFanOut10k(b *testing.B) {
	const n = 10_000
	fanoutWith := func(b *testing.B, m *runtime.Module, events func(dag.Event)) {
		inc, sumAll := fn(b, m, "inc"), fn(b, m, "sum_all")
		for b.Loop() {
			objs := make(dag.Tuple, n)
			for i := range objs {
				objs[i] = dag.Spawn(inc, i)
			}
			total := dag.Spawn(sumAll, objs)
			e := dag.New(dag.Config{Events: events})
			mustExecute(b, e, total)
			var got int
			if err := e.Fetch(context.Background(), total, &got); err != nil || got != 50_005_000 {
				b.Fatalf("sum = %d, %v", got, err)
			}
		}
		report(b, n+1)
	}
	fanout := func(b *testing.B, m *runtime.Module) { fanoutWith(b, m, nil) }
	b.Run("mrun-c", func(b *testing.B) { fanout(b, cGuest()) })
	// With accounting: an Events function that adds up every call's Usage, as a run's
	// statistics (mrun run --stats) do; benchfmt compares it with mrun-c.
	b.Run("mrun-c-accounting", func(b *testing.B) {
		var mu sync.Mutex
		var sum dag.Usage
		fanoutWith(b, cGuest(), func(ev dag.Event) {
			if ev.Kind != dag.EventFinish && ev.Kind != dag.EventFail {
				return
			}
			mu.Lock()
			sum.Wall += ev.Usage.Wall
			sum.Guest += ev.Usage.Guest
			sum.PeakMemory = max(sum.PeakMemory, ev.Usage.PeakMemory)
			sum.ArgBytes += ev.Usage.ArgBytes
			sum.ResultBytes += ev.Usage.ResultBytes
			sum.Spawned += ev.Usage.Spawned
			sum.Attempts += ev.Usage.Attempts
			mu.Unlock()
		})
		if sum.Attempts != b.N*(n+1) {
			b.Fatalf("%d attempts counted, want %d", sum.Attempts, b.N*(n+1))
		}
	})
	// With the dashboard: its server fed with every event (nobody watching), the tasks
	// planned in two groups as a graph file's would be; benchfmt compares it with mrun-c.
	b.Run("mrun-c-dashboard", func(b *testing.B) {
		dash := dashboard.New(dashboard.Config{})
		defer dash.Close()
		fanoutWith(b, cGuest(), dash.Event)
	})
	b.Run("mrun-wat", func(b *testing.B) { fanout(b, watGuest()) })
	b.Run("mrun-go", func(b *testing.B) { fanout(b, seed) })
	b.Run("mrun-c-uninterruptible", func(b *testing.B) { fanout(b, fastC()) })
	b.Run("mrun-go-uninterruptible", func(b *testing.B) { fanout(b, fastSeed()) })
	b.Run("goroutines", func(b *testing.B) {
		for b.Loop() {
			if gobaseline.FanOut(n) != 50_005_000 {
				b.Fatal("wrong sum")
			}
		}
		report(b, n+1)
	})
}

// BenchmarkChain1000: inc applied 1,000 times, each call depending on the previous one, so
// the time per task is the latency of one hop.
func BenchmarkChain1000(b *testing.B) {
	const n = 1000
	chain := func(b *testing.B, m *runtime.Module) {
		inc := fn(b, m, "inc")
		for b.Loop() {
			obj := dag.Spawn(inc, 0)
			for range n - 1 {
				obj = dag.Spawn(inc, obj)
			}
			e := dag.New(dag.Config{})
			mustExecute(b, e, obj)
			var got int
			if err := e.Fetch(context.Background(), obj, &got); err != nil || got != n {
				b.Fatalf("chain = %d, %v", got, err)
			}
		}
		report(b, n)
	}
	b.Run("mrun-c", func(b *testing.B) { chain(b, cGuest()) })
	b.Run("mrun-go", func(b *testing.B) { chain(b, seed) })
	b.Run("goroutines", func(b *testing.B) {
		for b.Loop() {
			gobaseline.Chain(n)
		}
		report(b, n)
	})
}

// burnIters makes one burn call take roughly 20 ms in the default (interruptible) runtime;
// the same call takes ≈1.5 ms uninterruptible and less natively.
const burnIters = 650_000

func TestBurnNativeMatchesGuest(t *testing.T) {
	obj := dag.Spawn(fn(t, seed, "burn"), 1000)
	if got := execute(t, dag.New(dag.Config{}), obj)[0]; got != int64(gobaseline.Burn(1000)) {
		t.Fatalf("guest burn(1000) = %v, native %d: the benchmark baseline computes something else", got, gobaseline.Burn(1000))
	}
}

// BenchmarkCPU64: 64 independent CPU-bound calls of about 20 ms each, on one slot and on
// two: with two CPUs, the second should take half the time of the first. The uninterruptible
// variant runs on two slots.
func BenchmarkCPU64(b *testing.B) {
	const n = 64
	cpu := func(b *testing.B, m *runtime.Module, slots int) {
		burn := fn(b, m, "burn")
		for b.Loop() {
			objs := make(dag.Tuple, n)
			for i := range objs {
				objs[i] = dag.Spawn(burn, burnIters+i)
			}
			mustExecute(b, dag.New(dag.Config{Slots: slots}), objs...)
		}
		report(b, n)
	}
	b.Run("mrun-1slot", func(b *testing.B) { cpu(b, seed, 1) })
	b.Run("mrun-2slots", func(b *testing.B) { cpu(b, seed, 2) })
	b.Run("mrun-uninterruptible", func(b *testing.B) { cpu(b, fastSeed(), 2) })
	native := func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			sem := make(chan struct{}, 2*n) // unbounded in practice: the Go scheduler shares the CPUs
			// The results are kept: with the result unused, the compiler drops the checksum and
			// most of the work with it.
			out := make([]int, n)
			for i := range n {
				wg.Go(func() {
					sem <- struct{}{}
					out[i] = gobaseline.Burn(burnIters + i)
					<-sem
				})
			}
			wg.Wait()
			if out[0] == out[1] {
				b.Fatal("burn gave the same checksum for different n")
			}
		}
		report(b, n)
	}
	b.Run("goroutines", native)
	// The baseline on one CPU: how much faster plain Go gets from the second CPU in this run is
	// the most the slots can get (less when other processes are busy).
	b.Run("goroutines-1cpu", func(b *testing.B) {
		defer goruntime.GOMAXPROCS(goruntime.GOMAXPROCS(1))
		native(b)
	})
}

// BenchmarkTriage: the seed's triage split with n_output=2 feeding two sum_all calls.
func BenchmarkTriage(b *testing.B) {
	data := []float64{0.4, 0.7, 0.2, 0.8}
	b.Run("mrun-go", func(b *testing.B) {
		triage, sumAll := fn(b, seed, "triage"), fn(b, seed, "sum_all")
		for b.Loop() {
			parts := dag.SpawnN(triage, 2, data)
			sa, sb := dag.Spawn(sumAll, parts[0]), dag.Spawn(sumAll, parts[1])
			e := dag.New(dag.Config{})
			mustExecute(b, e, sa, sb)
		}
		report(b, 3)
	})
	b.Run("goroutines", func(b *testing.B) {
		for b.Loop() {
			tasks := gobaseline.Run(3, func(i int) []int {
				if i == 0 {
					return nil
				}
				return []int{0}
			}, func(i int, in []any) any {
				if i == 0 {
					var lo, hi []float64
					for _, v := range data {
						if v < 0.5 {
							lo = append(lo, v)
						} else {
							hi = append(hi, v)
						}
					}
					return [2][]float64{lo, hi}
				}
				s := 0.0
				for _, v := range in[0].([2][]float64)[i-1] {
					s += v
				}
				return s
			})
			<-tasks[1].Done
			<-tasks[2].Done
		}
		report(b, 3)
	})
}

// BenchmarkNested20x100: 20 driver tasks in parallel, each spawning about 100 inc children
// from inside the guest (100 to 119, so that the drivers' keys differ and all of them run),
// executing them and fetching their values. Reported per child.
func BenchmarkNested20x100(b *testing.B) {
	const drivers, children = 20, 100
	const total = drivers*children + drivers*(drivers-1)/2
	reportChildren := func(b *testing.B) {
		per := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / float64(total)
		b.ReportMetric(per, "ns/task")
		b.ReportMetric(1e9/per, "tasks/s")
	}
	b.Run("mrun-go", func(b *testing.B) {
		driverN := fn(b, seed, "driver_n")
		for b.Loop() {
			objs := make(dag.Tuple, drivers)
			for i := range objs {
				objs[i] = dag.Spawn(driverN, children+i)
			}
			mustExecute(b, dag.New(dag.Config{}), objs...)
		}
		reportChildren(b)
	})
	b.Run("goroutines", func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			for d := range drivers {
				wg.Go(func() {
					kids := gobaseline.Run(children+d, func(int) []int { return nil }, func(i int, _ []any) any { return i + 1 })
					out := make([]any, len(kids))
					for i, k := range kids {
						<-k.Done
						out[i] = k.Val
					}
				})
			}
			wg.Wait()
		}
		reportChildren(b)
	})
}

// BenchmarkConcurrent200: one engine, 200 executions of 20 inc calls and a sum_all over them,
// each execution on inputs of its own so that none reuses another's values, each one Run,
// Fetch and Release. serial runs them one after another, concurrent all at once from 200
// goroutines; the two rates should be close, since the executions share only the engine's
// slots and store.
func BenchmarkConcurrent200(b *testing.B) {
	const executions, width = 200, 20
	const tasks = executions * (width + 1)
	inc, sumAll := fn(b, cGuest(), "inc"), fn(b, cGuest(), "sum_all")
	// one builds, runs, checks and releases execution j of the iteration whose inputs start at
	// base.
	one := func(ctx context.Context, e *dag.Engine, base int) error {
		objs := make(dag.Tuple, width)
		want := 0
		for i := range objs {
			objs[i] = dag.Spawn(inc, base+i)
			want += base + i + 1
		}
		total := dag.Spawn(sumAll, objs)
		x, err := e.Run(ctx, total)
		defer x.Release()
		if err != nil {
			return err
		}
		var got int
		if err := x.Fetch(ctx, total, &got); err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("sum_all from %d = %d, want %d", base, got, want)
		}
		return nil
	}
	base := 0 // inputs never repeat, not even across iterations
	bench := func(b *testing.B, all func(ctx context.Context, e *dag.Engine, base int) error) {
		for b.Loop() {
			ctx, cancel := context.WithCancel(context.Background())
			err := all(ctx, dag.New(dag.Config{}), base)
			cancel()
			if err != nil {
				b.Fatal(err)
			}
			base += executions * width
		}
		report(b, tasks)
	}
	b.Run("serial", func(b *testing.B) {
		bench(b, func(ctx context.Context, e *dag.Engine, base int) error {
			for j := range executions {
				if err := one(ctx, e, base+j*width); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("concurrent", func(b *testing.B) {
		bench(b, func(ctx context.Context, e *dag.Engine, base int) error {
			errs := make([]error, executions)
			var wg sync.WaitGroup
			for j := range executions {
				wg.Go(func() { errs[j] = one(ctx, e, base+j*width) })
			}
			wg.Wait()
			return errors.Join(errs...)
		})
	})
}
