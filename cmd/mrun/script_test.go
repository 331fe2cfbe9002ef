package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mrun-dev/mrun/project/toolchain"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/rogpeppe/go-internal/testscript"
)

// The end-to-end tests run the real command on the scripts in testdata/script: each script
// runs mrun as a separate process (exec mrun ...) and checks its stdout, stderr and exit
// status. The test binary is the mrun binary (testscript.Main), so nothing is built twice,
// and every process shares one compilation cache, warmed once, so that the 4 MB Go guest is
// compiled once per test run rather than once per command.

var update = flag.Bool("update", false, "rewrite the cmp files of failing scripts with the actual output")

func TestMain(m *testing.M) {
	testscript.Main(cleanupM{m}, map[string]func(){"mrun": func() {
		code := mainExit()
		// Leave the exit status where the "status" script command can check it.
		if work := os.Getenv("WORK"); work != "" {
			os.WriteFile(filepath.Join(work, ".mrun-status"), []byte(strconv.Itoa(code)), 0o644)
		}
		os.Exit(code)
	}})
}

// cleanupM removes the shared cache once the tests have run.
type cleanupM struct{ m *testing.M }

func (c cleanupM) Run() int {
	// Tests that run commands in this process get an empty result cache of their own, never
	// the user's.
	results, err := os.MkdirTemp("", "mrun-results-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(results)
	os.Setenv("MRUN_RESULT_CACHE", results)
	code := c.m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	if built.dir != "" { // the binary the cluster tests built
		os.RemoveAll(built.dir)
	}
	return code
}

var shared struct {
	once sync.Once
	dir  string
	err  error
}

// sharedCache returns the compilation cache every test shares, with the test modules in it.
func sharedCache(t testing.TB) string {
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "mrun-test-cache-")
		if shared.err != nil {
			return
		}
		ctx := context.Background()
		rt, err := runtime.New(ctx, runtime.Config{CacheDir: shared.dir})
		if err != nil {
			shared.err = err
			return
		}
		defer rt.Close(ctx)
		for _, m := range []string{"seed.wasm", "wat/fixtures.wasm", "wat/abi_example.wasm"} {
			if _, err := rt.LoadFile(ctx, filepath.Join("..", "..", "testdata", m)); err != nil {
				shared.err = err
				return
			}
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.dir
}

func TestScripts(t *testing.T) {
	cache := sharedCache(t)
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("MRUN_CACHE_DIR", cache)
			// Each script has a result cache of its own, empty at its start.
			env.Setenv("MRUN_RESULT_CACHE", filepath.Join(env.WorkDir, ".results"))
			// Scripts see the repository's modules and examples at the same relative paths.
			for _, dir := range []string{"testdata", "examples"} {
				if err := os.Symlink(filepath.Join(repo, dir), filepath.Join(env.WorkDir, dir)); err != nil {
					return err
				}
			}
			// testscript's HOME is /no-home: builds of function projects (mrun build) use the
			// user's Go caches and toolchain directory, as they would outside a test.
			for _, v := range []string{"GOCACHE", "GOMODCACHE", "GOPATH"} {
				if out, err := exec.Command("go", "env", v).Output(); err == nil {
					env.Setenv(v, strings.TrimSpace(string(out)))
				}
			}
			if d, err := toolchain.DefaultDir(); err == nil {
				env.Setenv("MRUN_TOOLCHAINS", d)
			}
			// CI=true: the new_* scripts check that the toolchains CI installed are the ones used.
			env.Setenv("CI", os.Getenv("CI"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			// toolchain:LANG: LANG's toolchain is installed. CI installs every one, so there a
			// missing toolchain fails the script instead of skipping it.
			lang, ok := strings.CutPrefix(cond, "toolchain:")
			if !ok {
				return false, fmt.Errorf("unknown condition %q", cond)
			}
			_, err := toolchain.Find(context.Background(), lang, toolchain.Config{})
			if err != nil && os.Getenv("CI") == "true" {
				return false, fmt.Errorf("CI installs every toolchain, but: %w", err)
			}
			return err == nil, nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"jsoneq":     cmdJSONEq,
			"tracecheck": cmdTraceCheck,
			"status":     cmdStatus,
		},
	})
}

func decodeJSON(ts *testscript.TestScript, name, text string) any {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		ts.Fatalf("%s is not JSON: %v\n%s", name, err, text)
	}
	if dec.More() {
		ts.Fatalf("%s holds more than one JSON value", name)
	}
	return v
}

// cmdJSONEq: jsoneq A B — A and B (stdout, stderr or files) hold equal JSON values.
func cmdJSONEq(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: jsoneq stdout|stderr|FILE stdout|stderr|FILE")
	}
	a := decodeJSON(ts, args[0], ts.ReadFile(args[0]))
	b := decodeJSON(ts, args[1], ts.ReadFile(args[1]))
	eq := reflect.DeepEqual(a, b)
	if eq == neg {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if neg {
			ts.Fatalf("%s and %s are equal JSON: %s", args[0], args[1], ja)
		}
		ts.Fatalf("%s and %s differ:\n%s\n%s", args[0], args[1], ja, jb)
	}
}

// cmdTraceCheck: tracecheck FILE N [TASK...] — FILE is a Chrome trace-event JSON object whose
// complete events are exactly one per task, N of them, each on a slot lane with its key and
// function in args; the named tasks are among them.
func cmdTraceCheck(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: tracecheck FILE N [TASK...]")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	var trace struct {
		TraceEvents []struct {
			Name string         `json:"name"`
			Ph   string         `json:"ph"`
			Ts   *float64       `json:"ts"`
			Dur  *float64       `json:"dur"`
			Pid  *int           `json:"pid"`
			Tid  *int           `json:"tid"`
			Args map[string]any `json:"args"`
		} `json:"traceEvents"`
		DisplayTimeUnit string `json:"displayTimeUnit"`
	}
	if err := json.Unmarshal([]byte(ts.ReadFile(args[0])), &trace); err != nil {
		ts.Fatalf("%s is not trace-event JSON: %v", args[0], err)
	}
	lanes := map[int]string{}
	for _, ev := range trace.TraceEvents {
		if ev.Ph == "M" && ev.Name == "thread_name" {
			lanes[*ev.Tid], _ = ev.Args["name"].(string)
		}
	}
	keys := map[string]bool{}
	names := map[string]bool{}
	for _, ev := range trace.TraceEvents {
		if ev.Ph != "X" {
			continue
		}
		switch {
		case ev.Ts == nil || ev.Dur == nil || ev.Pid == nil || ev.Tid == nil:
			ts.Fatalf("complete event %q lacks ts, dur, pid or tid", ev.Name)
		case *ev.Dur < 0 || *ev.Ts < 0:
			ts.Fatalf("complete event %q has a negative time", ev.Name)
		case !strings.HasPrefix(lanes[*ev.Tid], "slot "):
			ts.Fatalf("complete event %q is on lane %d (%q), not a slot's", ev.Name, *ev.Tid, lanes[*ev.Tid])
		}
		key, _ := ev.Args["key"].(string)
		fn, _ := ev.Args["function"].(string)
		if len(key) != 32 || fn == "" || ev.Args["task"] != ev.Name {
			ts.Fatalf("complete event %q: args want key, function and task, got %v", ev.Name, ev.Args)
		}
		if keys[key] {
			ts.Fatalf("task %s has two complete events", key)
		}
		keys[key] = true
		names[ev.Name] = true
	}
	if len(keys) != want {
		ts.Fatalf("%s has %d complete events, want %d", args[0], len(keys), want)
	}
	for _, n := range args[2:] {
		if !names[n] {
			ts.Fatalf("%s has no complete event for task %q", args[0], n)
		}
	}
	fmt.Fprintf(ts.Stdout(), "%d tasks traced\n", len(keys))
}

// cmdStatus implements "status N": the last mrun run exited with status N. testscript's
// "! exec" only tells failure from success; mrun's exit codes mean something (1: a task
// failed, 2: bad input), so scripts pin them. The mrun wrapper in TestMain records each exit
// status in $WORK/.mrun-status.
func cmdStatus(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: status N")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("status: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(ts.Getenv("WORK"), ".mrun-status"))
	if err != nil {
		ts.Fatalf("status: no exit status recorded: %v", err)
	}
	got, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		ts.Fatalf("status: no exit status recorded: %v", err)
	}
	if got != want {
		ts.Fatalf("exit status %d, want %d", got, want)
	}
}
