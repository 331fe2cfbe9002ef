package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cache"
	"github.com/mrun-dev/mrun/runtime"
)

// maxSumN bounds n in POST /sum: a request may fan out to at most this many calls, so that one
// request cannot take the engine's every slot for long.
const maxSumN = 10_000

// maxBody bounds a request body.
const maxBody = 1 << 20

// config is what a service is built from: the flags, or a test.
type config struct {
	Module      string        // path of the WebAssembly module
	Timeout     time.Duration // per-request deadline
	Slots       int           // calls run at once; 0: GOMAXPROCS
	StoreBudget int64         // bytes of released values the engine keeps as a cache
	MaxPending  int           // requests in progress at once; more get 429
	Funcs       []string      // functions GET/POST /call may run; empty: all of the module's
	CacheDir    string        // persistent result cache; empty: none
	CompileDir  string        // persistent compiled-code cache; empty: none
	Store       dag.Store     // replaces the engine's memory store (tests count its pins)
	Log         *slog.Logger
}

// service is one process's runtime and engine, shared by every request, like a *sql.DB.
type service struct {
	rt          *runtime.Runtime
	eng         *dag.Engine
	inc, sumAll *runtime.Function
	funcs       map[string]*runtime.Function // what /call exposes
	timeout     time.Duration
	pending     chan struct{} // one token per request in progress
	log         *slog.Logger

	seq     atomic.Uint64
	tallies sync.Map // request label -> *tally, while the request runs
}

// tally counts what the engine did for one request, from its events.
type tally struct {
	ran    atomic.Int64 // calls handed to the executor
	cached atomic.Int64 // calls whose values came from the persistent result cache
}

// newService starts the runtime, loads the module and builds the engine.
func newService(ctx context.Context, cfg config) (*service, error) {
	if cfg.Timeout <= 0 {
		return nil, fmt.Errorf("the request timeout must be positive, got %v (set it with -timeout)", cfg.Timeout)
	}
	if cfg.MaxPending <= 0 {
		return nil, fmt.Errorf("the limit on requests in progress must be positive, got %d (set it with -max-pending)", cfg.MaxPending)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	rt, err := runtime.New(ctx, runtime.Config{CacheDir: cfg.CompileDir})
	if err != nil {
		return nil, fmt.Errorf("start the runtime: %w", err)
	}
	s := &service{rt: rt, timeout: cfg.Timeout, pending: make(chan struct{}, cfg.MaxPending), log: cfg.Log}
	if err := s.load(ctx, cfg); err != nil {
		rt.Close(ctx)
		return nil, err
	}
	dc := dag.Config{Slots: cfg.Slots, StoreBudget: cfg.StoreBudget, Store: cfg.Store, Events: s.event}
	if cfg.CacheDir != "" {
		c, err := cache.Open(cfg.CacheDir, cache.Options{Logf: func(format string, args ...any) {
			cfg.Log.Warn("result cache: " + fmt.Sprintf(format, args...))
		}})
		if err != nil {
			rt.Close(ctx)
			return nil, fmt.Errorf("open the result cache (-cache): %w", err)
		}
		dc.Cache = c
	}
	s.eng = dag.New(dc)
	return s, nil
}

// load loads the module and looks up the functions the service calls.
func (s *service) load(ctx context.Context, cfg config) error {
	mod, err := s.rt.LoadFile(ctx, cfg.Module)
	if err != nil {
		return fmt.Errorf("load the module (-module): %w", err)
	}
	if s.inc, err = mod.Func("inc"); err != nil {
		return fmt.Errorf("POST /sum needs inc: %w", err)
	}
	if s.sumAll, err = mod.Func("sum_all"); err != nil {
		return fmt.Errorf("POST /sum needs sum_all: %w", err)
	}
	s.funcs = map[string]*runtime.Function{}
	if len(cfg.Funcs) == 0 {
		for _, f := range mod.Functions() {
			s.funcs[f.Name()] = f
		}
		return nil
	}
	for _, name := range cfg.Funcs {
		f, err := mod.Func(name)
		if err != nil {
			return fmt.Errorf("-funcs: %w", err)
		}
		s.funcs[name] = f
	}
	return nil
}

// close shuts the runtime down: the calls running get until ctx ends to finish, then fail
// with runtime.ErrClosed, as do calls made after.
func (s *service) close(ctx context.Context) error { return s.rt.Close(ctx) }

// event is the engine's Config.Events: it counts the calls of each request in progress.
func (s *service) event(ev dag.Event) {
	if ev.Kind != dag.EventStart && ev.Kind != dag.EventCached {
		return
	}
	v, ok := s.tallies.Load(ev.Label)
	if !ok {
		return
	}
	if ev.Kind == dag.EventStart {
		v.(*tally).ran.Add(1)
	} else {
		v.(*tally).cached.Add(1)
	}
}

// handler returns the service's HTTP handler.
func (s *service) handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /sum", s.endpoint(s.sum))
	mux.Handle("GET /call/{fn}", s.endpoint(s.call))
	mux.Handle("POST /call/{fn}", s.endpoint(s.call))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	return mux
}

// endpoint wraps the work of one request: it admits the request or answers 429, labels its
// context so that the engine's events name it, bounds it with the per-request deadline,
// writes the JSON answer or maps the error to a status, and logs one line.
func (s *service) endpoint(work func(ctx context.Context, r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		label := "req-" + strconv.FormatUint(s.seq.Add(1), 10)
		w.Header().Set("X-Request-Id", label)
		t := &tally{}
		var out any
		var err error
		select {
		case s.pending <- struct{}{}:
			s.tallies.Store(label, t)
			ctx, cancel := context.WithTimeoutCause(dag.WithLabel(r.Context(), label), s.timeout, &deadlineError{s.timeout})
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
			out, err = work(ctx, r)
			cancel()
			s.tallies.Delete(label)
			<-s.pending
		default:
			err = &httpError{http.StatusTooManyRequests, fmt.Sprintf("%d requests are in progress, the limit (raise it with -max-pending); retry later", cap(s.pending))}
			w.Header().Set("Retry-After", "1")
		}
		var body []byte
		if err == nil {
			if body, err = json.Marshal(out); err != nil {
				err = &httpError{http.StatusInternalServerError, fmt.Sprintf("the result cannot be written as JSON: %v", err)}
			}
		}
		status := statusOf(err)
		if err != nil {
			body, _ = json.Marshal(errorBody{Error: s.message(err, status, label), Request: label})
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(append(body, '\n'))

		attrs := []any{"label", label, "method", r.Method, "path", r.URL.Path, "status", status,
			"tasks", t.ran.Load(), "cached", t.cached.Load(), "took", time.Since(start).Round(time.Microsecond)}
		if err != nil {
			attrs = append(attrs, "error", err.Error())
		}
		s.log.Info("request", attrs...)
	})
}

// errorBody is the JSON answer of a failed request.
type errorBody struct {
	Error   string `json:"error"`
	Request string `json:"request"` // the label in the server's log line
}

// httpError is a failure the service itself decides: bad input, no such function, busy.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &httpError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

// deadlineError is the cause of a request's context when its deadline passes: it says which
// limit that was and how to raise it, and matches context.DeadlineExceeded.
type deadlineError struct{ d time.Duration }

func (e *deadlineError) Error() string {
	return fmt.Sprintf("the request's deadline of %v passed (raise it with -timeout)", e.d)
}

func (e *deadlineError) Unwrap() error { return context.DeadlineExceeded }

// statusClientClosed is the status logged for a request whose client went away (nginx's 499):
// nobody reads the answer.
const statusClientClosed = 499

// statusOf maps an error of a request to its HTTP status. The order matters: an error may
// match several cases (a guest error whose child was interrupted by the deadline, a trap at a
// memory limit), and the first says best what the caller should do.
func statusOf(err error) int {
	var he *httpError
	var te *dag.TimeoutError
	var ae *dag.ArgumentError
	var ge *runtime.GuestError
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.As(err, &he):
		return he.status
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, runtime.ErrClosed):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &te):
		return http.StatusGatewayTimeout
	case errors.Is(err, context.Canceled):
		return statusClientClosed
	case errors.As(err, &ae), errors.Is(err, runtime.ErrLimit):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, dag.ErrSpawn):
		return http.StatusBadRequest
	case errors.As(err, &ge):
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// message is what the answer of a failed request says: enough for the caller to act on, and
// nothing of the server's insides when the fault is not the caller's.
func (s *service) message(err error, status int, label string) string {
	var he *httpError
	if errors.As(err, &he) {
		return he.msg
	}
	switch status {
	case http.StatusServiceUnavailable:
		return "the service is shutting down; retry on another instance"
	case http.StatusGatewayTimeout:
		var de *deadlineError
		var te *dag.TimeoutError
		switch {
		case errors.As(err, &de):
			return de.Error()
		case errors.As(err, &te):
			return te.Error()
		}
		return (&deadlineError{s.timeout}).Error()
	case statusClientClosed:
		return "the client closed the request"
	case http.StatusUnprocessableEntity:
		// The message the failing call's guest reported, not that of the calls that failed
		// because they depended on it.
		var ge *runtime.GuestError
		if rc := dag.RootCause(err); rc != nil && errors.As(rc, &ge) {
			return ge.Message
		}
		if errors.As(err, &ge) {
			return ge.Message
		}
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		if rc := dag.RootCause(err); rc != nil {
			return rc.Error()
		}
		return err.Error()
	}
	return fmt.Sprintf("internal error; the server's log has the details under %s", label)
}

// sumRequest is the body of POST /sum.
type sumRequest struct {
	N      *int  `json:"n"`
	Offset int64 `json:"offset"`
}

// sum answers POST /sum {"n": N, "offset": K} with {"sum": Σ inc(K+i) for i < N}: N calls of
// inc and one of sum_all over their values, run as one execution.
func (s *service) sum(ctx context.Context, r *http.Request) (any, error) {
	var req sumRequest
	if err := decodeJSON(r.Body, &req); err != nil {
		return nil, err
	}
	switch {
	case req.N == nil:
		return nil, badRequest(`the body needs "n", how many numbers to add`)
	case *req.N < 0 || *req.N > maxSumN:
		return nil, badRequest("n must be between 0 and %d, got %d", maxSumN, *req.N)
	case *req.N > 0 && req.Offset > math.MaxInt64-int64(*req.N-1):
		return nil, badRequest("offset + n - 1 must fit in a 64-bit integer")
	}
	incs := make(dag.Tuple, *req.N)
	for i := range incs {
		incs[i] = dag.Spawn(s.inc, req.Offset+int64(i))
	}
	total := dag.Spawn(s.sumAll, incs)

	x, err := s.eng.Run(ctx, total)
	defer x.Release() // even on error: the execution holds what it computed
	if err != nil {
		return nil, err
	}
	sum, err := dag.Get[int64](ctx, x, total)
	if err != nil {
		return nil, err
	}
	return map[string]int64{"sum": sum}, nil
}

// callRequest is the body of POST /call/{fn}.
type callRequest struct {
	Args   []any          `json:"args"`
	Kwargs map[string]any `json:"kwargs"`
}

// call answers GET /call/{fn}?arg=A&arg=B&name=V and POST /call/{fn} {"args": [A, B],
// "kwargs": {"name": V}} with {"value": fn(A, B, name=V)}. In a query, each value is JSON, or
// else a string.
func (s *service) call(ctx context.Context, r *http.Request) (any, error) {
	name := r.PathValue("fn")
	fn, ok := s.funcs[name]
	if !ok {
		names := make([]string, 0, len(s.funcs))
		for n := range s.funcs {
			names = append(names, n)
		}
		slices.Sort(names)
		return nil, &httpError{http.StatusNotFound, fmt.Sprintf("no function %q: this service runs %s", name, strings.Join(names, ", "))}
	}
	var req callRequest
	if r.Method == http.MethodPost {
		if err := decodeJSON(r.Body, &req); err != nil {
			return nil, err
		}
	} else {
		for key, vals := range r.URL.Query() {
			for _, v := range vals {
				if key == "arg" {
					req.Args = append(req.Args, queryValue(v))
					continue
				}
				if req.Kwargs == nil {
					req.Kwargs = map[string]any{}
				}
				req.Kwargs[key] = queryValue(v)
			}
		}
	}
	obj := dag.Call{Func: fn, Args: req.Args, Kwargs: req.Kwargs}.Spawn()[0]
	x, err := s.eng.Run(ctx, obj)
	defer x.Release()
	if err != nil {
		return nil, err
	}
	v, err := dag.Get[any](ctx, x, obj)
	if err != nil {
		return nil, err
	}
	return map[string]any{"value": v}, nil
}

// decodeJSON decodes one JSON value from body into v, strictly: unknown fields and trailing
// data are errors, and numbers become int64 (uint64 above MaxInt64) when they are integers.
func decodeJSON(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("the body is larger than %d bytes: %w", mbe.Limit, err)
		}
		return badRequest("the body is not valid JSON for this endpoint: %v", err)
	}
	if dec.More() {
		return badRequest("the body holds more than one JSON value")
	}
	switch v := v.(type) {
	case *callRequest:
		for i, a := range v.Args {
			v.Args[i] = numbers(a)
		}
		for k, a := range v.Kwargs {
			v.Kwargs[k] = numbers(a)
		}
	}
	return nil
}

// queryValue reads a query parameter as JSON, or as a string when it is not JSON, so that
// ?arg=41 is a number and ?arg=world a string.
func queryValue(s string) any {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil || dec.More() {
		return s
	}
	return numbers(v)
}

// numbers replaces the json.Numbers in v by int64, uint64 or float64, so that guests taking
// integers receive integers.
func numbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(v), 10, 64); err == nil {
			return u
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i, e := range v {
			v[i] = numbers(e)
		}
	case map[string]any:
		for k, e := range v {
			v[k] = numbers(e)
		}
	}
	return v
}
