package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

var seed = filepath.Join("..", "..", "testdata", "seed.wasm")

// compileDir is shared by the tests' services: the seed module compiles once (seconds), and
// every later service loads its machine code from there (a fraction of a second).
var compileDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mrun-service-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	compileDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// newTestService starts a service on the seed module, closed when the test ends; edit changes
// the configuration first.
func newTestService(t *testing.T, edit func(*config)) *service {
	t.Helper()
	cfg := config{Module: seed, Timeout: 30 * time.Second, MaxPending: 1024, StoreBudget: 1 << 20, CompileDir: compileDir}
	if edit != nil {
		edit(&cfg)
	}
	s, err := newService(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.close(context.Background()) })
	return s
}

// startServer serves s's handler over HTTP for the test, and returns a client that keeps
// enough connections open for conns concurrent requests.
func startServer(t *testing.T, s *service, conns int) (*httptest.Server, *http.Client) {
	srv := httptest.NewServer(s.handler())
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = conns
	c := &http.Client{Transport: tr}
	t.Cleanup(tr.CloseIdleConnections)
	return srv, c
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

func do(c *http.Client, method, url, body string) (answer, error) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, raw: string(b)}
	if err := json.Unmarshal(b, &a.body); err != nil {
		return a, fmt.Errorf("%s %s: answer %q is not a JSON object: %v", method, url, b, err)
	}
	return a, nil
}

// sumOf is what POST /sum answers: Σ (offset+i+1) for i < n.
func sumOf(n, offset int64) int64 { return n*offset + n*(n+1)/2 }

func postSum(c *http.Client, base string, n, offset int64) error {
	a, err := do(c, "POST", base+"/sum", fmt.Sprintf(`{"n": %d, "offset": %d}`, n, offset))
	if err != nil {
		return err
	}
	want := fmt.Sprintf(`{"sum":%d}`+"\n", sumOf(n, offset))
	if a.status != http.StatusOK || a.raw != want {
		return fmt.Errorf("sum n=%d offset=%d: got %d %q, want 200 %q", n, offset, a.status, a.raw, want)
	}
	return nil
}

// TestSum_concurrent sends 200 requests at once, each with inputs of its own, and checks every
// answer exactly: the executions share the engine's slots and store without mixing values.
func TestSum_concurrent(t *testing.T) {
	s := newTestService(t, nil)
	srv, c := startServer(t, s, 200)
	const requests, n = 200, 100
	var wg sync.WaitGroup
	errs := make(chan error, requests)
	for i := range requests {
		wg.Go(func() {
			if err := postSum(c, srv.URL, n, int64(i)*1000); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// countingStore is the engine's memory store, counting the pins executions hold.
type countingStore struct {
	dag.PinStore
	pins atomic.Int64
}

func (c *countingStore) Pin(k abi.Key) bool {
	if c.PinStore.Pin(k) {
		c.pins.Add(1)
		return true
	}
	return false
}

func (c *countingStore) PutPinned(k abi.Key, v []byte) {
	c.PinStore.PutPinned(k, v)
	c.pins.Add(1)
}

func (c *countingStore) Unpin(k abi.Key) {
	c.PinStore.Unpin(k)
	c.pins.Add(-1)
}

func heapInuse() uint64 {
	var ms goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestSum_memoryFlat sends 20,000 requests with distinct inputs (220,000 calls, each value new)
// and checks that the process's heap stays flat once the store's cache is full: each request's
// execution lets go of its values when released, so what stays is the cache of released
// values that StoreBudget bounds, and nothing per request.
//
// The budget is 1 MiB, which the 2,000 warm-up requests already fill (22,000 values of about
// 105 counted bytes each: 2.2 MiB), so from then on each new value evicts an old one. The
// heap may still grow by what the budget undercounts (a value's entry, map slot and bytes take
// up to twice the 96 bytes of overhead the store counts: at most 2 MiB more for 1 MiB of
// budget), plus noise from pools, connections and the GC's timing (a few MiB). The bound of
// 8 MiB leaves room for both; measured here, the growth was under 1 MiB, and an engine whose
// executions were never released kept all 198,000 new values and grew by 23 MiB.
//
// Besides the heap, the test counts the store's pins: once every request has ended, no
// execution may hold a value.
func TestSum_memoryFlat(t *testing.T) {
	const budget = 1 << 20
	const warmup, n, workers = 2_000, 10, 8
	total := 20_000
	if testing.Short() {
		total = 4_000
	}
	store := &countingStore{PinStore: dag.NewMemoryStore(budget)}
	s := newTestService(t, func(c *config) { c.Store = store })
	srv, c := startServer(t, s, workers)

	var next atomic.Int64
	send := func(upto int64) error {
		var wg sync.WaitGroup
		errs := make(chan error, workers)
		for range workers {
			wg.Go(func() {
				for {
					i := next.Add(1) - 1
					if i >= upto {
						return
					}
					if err := postSum(c, srv.URL, n, i*n); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		return <-errs
	}
	start := time.Now()
	if err := send(warmup); err != nil {
		t.Fatal(err)
	}
	before := heapInuse()
	if err := send(int64(total)); err != nil {
		t.Fatal(err)
	}
	after := heapInuse()
	took := time.Since(start)
	growth := int64(after) - int64(before)
	t.Logf("%d requests of %d calls in %v (%.0f µs per request); HeapInuse after %d: %.1f MiB, at the end: %.1f MiB, growth %.2f MiB",
		total, n+1, took.Round(time.Millisecond), float64(took.Microseconds())/float64(total), warmup,
		float64(before)/(1<<20), float64(after)/(1<<20), float64(growth)/(1<<20))
	if p := store.pins.Load(); p != 0 {
		t.Errorf("after every request ended, executions still pin %d values: requests leave state in the engine", p)
	}
	if growth > 8<<20 {
		t.Errorf("HeapInuse grew by %.1f MiB between request %d and %d, more than the 8 MiB bound for a 1 MiB store budget", float64(growth)/(1<<20), warmup, total)
	}
}

// TestHTTPErrors checks what a caller sees for each kind of failure: the status, and a
// message that says what to do.
func TestHTTPErrors(t *testing.T) {
	const timeout = 500 * time.Millisecond
	s := newTestService(t, func(c *config) { c.Timeout = timeout })
	srv, c := startServer(t, s, 1)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		want                     string // the answer's value, or its error message
	}{
		{"call", "GET", "/call/inc?arg=41", "", 200, "42"},
		{"keyword argument", "GET", "/call/pow?arg=2&exp=10", "", 200, "1024"},
		{"string argument", "GET", "/call/hello?arg=world", "", 200, "hello, world"},
		{"post", "POST", "/call/sum_all", `{"args": [[1, 2.5, 3]]}`, 200, "6.5"},
		{"guest error", "GET", "/call/fail?arg=boom", "", 422, "boom"},
		{"guest error in a sum", "POST", "/sum", `{"n": 2, "offset": 9223372036854775804}`, 422, "sum_all: integer overflow at element 1"},
		{"argument the signature refuses", "POST", "/call/inc", `{"args": ["x"]}`, 400, `cannot spawn inc: inc argument x must be int, got str "x"`},
		{"timeout", "GET", "/call/burn?arg=100000000000", "", 504, "the request's deadline of 500ms passed (raise it with -timeout)"},
		{"trap", "GET", "/call/trap", "", 500, "internal error; the server's log has the details under req-"},
		{"bad JSON", "POST", "/sum", `{"n":`, 400, "the body is not valid JSON for this endpoint: unexpected EOF"},
		{"unknown field", "POST", "/sum", `{"n": 1, "x": 2}`, 400, `the body is not valid JSON for this endpoint: json: unknown field "x"`},
		{"two values", "POST", "/sum", `{"n": 1} {"n": 2}`, 400, "the body holds more than one JSON value"},
		{"no n", "POST", "/sum", `{"offset": 1}`, 400, `the body needs "n", how many numbers to add`},
		{"n too large", "POST", "/sum", `{"n": 10001}`, 400, "n must be between 0 and 10000, got 10001"},
		{"offset too large", "POST", "/sum", `{"n": 2, "offset": 9223372036854775807}`, 400, "offset + n - 1 must fit in a 64-bit integer"},
		{"body too large", "POST", "/call/identity", `{"args": ["` + strings.Repeat("x", maxBody) + `"]}`, 413, "the body is larger than 1048576 bytes: http: request body too large"},
		{"no such function", "GET", "/call/nope", "", 404, `no function "nope": this service runs add, again, bogus, `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			a, err := do(c, tc.method, srv.URL+tc.path, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if a.status != tc.status {
				t.Fatalf("status %d, want %d; answer %s", a.status, tc.status, a.raw)
			}
			if tc.status == 200 {
				if got := fmt.Sprint(a.body["value"]); got != tc.want {
					t.Errorf("value %s, want %s", got, tc.want)
				}
				return
			}
			msg, _ := a.body["error"].(string)
			if strings.HasSuffix(tc.want, " ") || strings.HasSuffix(tc.want, "-") {
				if !strings.HasPrefix(msg, tc.want) {
					t.Errorf("error %q, want it to start with %q", msg, tc.want)
				}
			} else if msg != tc.want {
				t.Errorf("error %q, want %q", msg, tc.want)
			}
			if req, _ := a.body["request"].(string); !strings.HasPrefix(req, "req-") {
				t.Errorf(`"request" is %q, want the request's label`, req)
			}
			// The deadline interrupts the guest's loop: the answer comes soon after it, not
			// when the loop would have ended (minutes). The margin holds on a loaded machine.
			if took := time.Since(start); tc.status == 504 && took > timeout+2*time.Second {
				t.Errorf("the timeout's answer took %v, more than 2 s past the %v deadline", took, timeout)
			}
		})
	}
}

// TestHTTPErrors_busy checks that a request over -max-pending is turned away at once with 429,
// instead of queuing behind the others until its deadline.
func TestHTTPErrors_busy(t *testing.T) {
	s := newTestService(t, func(c *config) { c.MaxPending = 1; c.Timeout = 300 * time.Millisecond })
	srv, c := startServer(t, s, 2)
	done := make(chan answer, 1)
	go func() {
		a, _ := do(c, "GET", srv.URL+"/call/burn?arg=100000000000", "")
		done <- a
	}()
	waitRunning(t, s)
	a, err := do(c, "GET", srv.URL+"/call/inc?arg=1", "")
	if err != nil {
		t.Fatal(err)
	}
	want := "1 requests are in progress, the limit (raise it with -max-pending); retry later"
	if a.status != http.StatusTooManyRequests || a.body["error"] != want {
		t.Errorf("got %d %s, want 429 with error %q", a.status, a.raw, want)
	}
	if a := <-done; a.status != http.StatusGatewayTimeout {
		t.Errorf("the long request: got %d %s, want 504", a.status, a.raw)
	}
}

// waitRunning waits until a call of some request is running.
func waitRunning(t *testing.T, s *service) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		running := false
		s.tallies.Range(func(_, v any) bool {
			running = v.(*tally).ran.Load() > 0
			return !running
		})
		if running {
			return
		}
	}
	t.Fatal("no call started within 20 s")
}

// TestRequestLog checks the one line logged per request: its label and how many calls it ran,
// counted from the engine's events for that label. The same sum again runs nothing (the
// store still has its value), and a new service that shares the persistent result cache
// takes it from there.
func TestRequestLog(t *testing.T) {
	cacheDir := t.TempDir()
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "took" {
				return slog.Attr{}
			}
			return a
		},
	}))
	edit := func(c *config) { c.Log, c.CacheDir = logger, cacheDir }
	s := newTestService(t, edit)
	srv, c := startServer(t, s, 1)
	for range 2 {
		if err := postSum(c, srv.URL, 5, 1000); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := do(c, "GET", srv.URL+"/call/fail?arg=boom", ""); err != nil {
		t.Fatal(err)
	}
	s2 := newTestService(t, edit)
	srv2, c2 := startServer(t, s2, 1)
	if err := postSum(c2, srv2.URL, 5, 1000); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	got := logs.String()
	mu.Unlock()
	want := `level=INFO msg=request label=req-1 method=POST path=/sum status=200 tasks=6 cached=0
level=INFO msg=request label=req-2 method=POST path=/sum status=200 tasks=0 cached=0
level=INFO msg=request label=req-3 method=GET path=/call/fail status=422 tasks=1 cached=0 error="task fail (key 43f03713ad79131606b456544953db00, module seed): boom"
level=INFO msg=request label=req-1 method=POST path=/sum status=200 tasks=0 cached=1
`
	if got != want {
		t.Errorf("log:\n%s\nwant:\n%s", got, want)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// burnValue is what the seed's burn(n) returns.
func burnValue(n int) int64 {
	x, sum := uint64(0x9e3779b97f4a7c15), uint64(0)
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		sum += x
	}
	return int64(sum >> 1)
}

// serveTest runs serve on a loopback port until the returned cancel is called; serve's error
// arrives on the channel.
func serveTest(t *testing.T, s *service, grace time.Duration) (url string, cancel func(), served <-chan error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- serve(ctx, s, ln, grace, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(cancel)
	return "http://" + ln.Addr().String(), cancel, errc
}

// TestServe_shutdown checks the graceful shutdown: the request in progress when the signal
// comes gets its answer, serve returns nil, and the runtime is closed after, so that a
// request that reaches the handler then is answered 503.
func TestServe_shutdown(t *testing.T) {
	s := newTestService(t, nil)
	url, stop, served := serveTest(t, s, 20*time.Second)
	const n = 10_000_000 // a few hundred milliseconds
	done := make(chan answer, 1)
	go func() {
		a, err := do(http.DefaultClient, "GET", fmt.Sprintf("%s/call/burn?arg=%d", url, n), "")
		if err != nil {
			t.Error(err)
		}
		done <- a
	}()
	waitRunning(t, s)
	stop()
	a := <-done
	if want := fmt.Sprintf(`{"value":%d}`+"\n", burnValue(n)); a.status != 200 || a.raw != want {
		t.Errorf("the request in progress: got %d %q, want 200 %q", a.status, a.raw, want)
	}
	if err := <-served; err != nil {
		t.Errorf("serve: %v", err)
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Error("the server still accepts connections after shutting down")
	}
	rec := httptest.NewRecorder()
	s.handler().ServeHTTP(rec, httptest.NewRequest("GET", "/call/inc?arg=1", nil))
	if want := "the service is shutting down; retry on another instance"; rec.Code != 503 || !strings.Contains(rec.Body.String(), want) {
		t.Errorf("a call after shutdown: got %d %s, want 503 %q", rec.Code, rec.Body, want)
	}
}

// TestServe_shutdownGrace checks that a request still running when the grace period ends is
// interrupted and answered 503, and that serve says so.
func TestServe_shutdownGrace(t *testing.T) {
	s := newTestService(t, nil)
	const grace = 200 * time.Millisecond
	url, stop, served := serveTest(t, s, grace)
	done := make(chan answer, 1)
	go func() {
		a, err := do(http.DefaultClient, "GET", url+"/call/burn?arg=100000000000", "")
		if err != nil {
			t.Error(err)
		}
		done <- a
	}()
	waitRunning(t, s)
	start := time.Now()
	stop()
	err := <-served
	want := "shut the HTTP server down: context deadline exceeded (raise -grace to let requests finish)\n" +
		"runtime: close: 1 call or load still running was interrupted: context deadline exceeded"
	if err == nil || err.Error() != want {
		t.Errorf("serve: %v, want %q", err, want)
	}
	a := <-done
	if a.status != 503 || a.body["error"] != "the service is shutting down; retry on another instance" {
		t.Errorf("the request in progress: got %d %s, want 503", a.status, a.raw)
	}
	if took := time.Since(start); took > grace+2*time.Second {
		t.Errorf("the interrupted request answered %v after the signal, more than 2 s past the %v grace", took, grace)
	}
}

// TestStatusOf maps each kind of error to its status.
func TestStatusOf(t *testing.T) {
	guest := func(msg string) error {
		return &dag.TaskError{Func: "inc", Err: &runtime.CallError{Function: "inc", Err: &runtime.GuestError{Message: msg}}}
	}
	dependent := &dag.TaskError{Func: "sum_all", Err: fmt.Errorf("%w: %w", dag.ErrDependencyFailed, guest("inc: bad"))}
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 200},
		{"bad input", badRequest("n must be between 0 and 10000, got -1"), 400},
		{"service's own", &httpError{404, "no function"}, 404},
		{"cannot spawn", fmt.Errorf("%w inc: argument 0: unsupported type", dag.ErrSpawn), 400},
		{"guest error", guest("boom"), 422},
		{"guest error of a dependency", dependent, 422},
		{"request deadline", &dag.TaskError{Err: &runtime.CallError{Err: fmt.Errorf("%w: %w", runtime.ErrInterrupted, &deadlineError{time.Second})}}, 504},
		{"request deadline, calls not started", fmt.Errorf("execute: %w", context.DeadlineExceeded), 504},
		{"task timeout", &dag.TaskError{Err: &runtime.CallError{Err: fmt.Errorf("%w: %w", runtime.ErrInterrupted, &dag.TimeoutError{Timeout: time.Second})}}, 504},
		{"guest error caused by a timeout", &runtime.GuestError{Message: "child timed out", Cause: &dag.TimeoutError{}}, 504},
		{"client gone", fmt.Errorf("execute: %w", context.Canceled), 499},
		{"argument too large", &dag.TaskError{Err: &dag.ArgumentError{Size: 1 << 30, Limit: 1 << 28}}, 413},
		{"memory limit", &dag.TaskError{Err: &runtime.CallError{Err: &runtime.TrapError{Reason: "out of memory", MemoryLimit: true}}}, 413},
		{"limit", fmt.Errorf("%w: result too large", runtime.ErrLimit), 413},
		{"body too large", fmt.Errorf("decode: %w", &http.MaxBytesError{Limit: 1}), 413},
		{"busy", &httpError{429, "busy"}, 429},
		{"runtime closed", &dag.TaskError{Err: &runtime.CallError{Err: runtime.ErrClosed}}, 503},
		{"interrupted by Close", &dag.TaskError{Err: &runtime.CallError{Err: fmt.Errorf("%w: %w", runtime.ErrInterrupted, runtime.ErrClosed)}}, 503},
		{"trap", &dag.TaskError{Err: &runtime.CallError{Err: &runtime.TrapError{Reason: "wasm error: unreachable"}}}, 500},
		{"anything else", errors.New("disk on fire"), 500},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := statusOf(tc.err); got != tc.want {
				t.Errorf("statusOf(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
	// The message of a failure that spread is the guest's message of the call that failed.
	s := &service{timeout: time.Second}
	if got := s.message(dependent, 422, "req-1"); got != "inc: bad" {
		t.Errorf("message of a dependent's failure = %q, want %q", got, "inc: bad")
	}
}
