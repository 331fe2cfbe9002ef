// Command service is an HTTP service that runs WebAssembly functions on an embedded mrun
// engine, the way a long-running Go program should: one runtime and one engine for the whole
// process (like a *sql.DB), one execution per request released when the request ends, a
// deadline on every request, errors mapped to HTTP statuses, one log line per request with the
// number of calls it ran, and a graceful shutdown.
//
//	go run ./examples/service [-addr :8080] [-module testdata/seed.wasm] [-timeout 2s] ...
//
//	curl -s -d '{"n": 100, "offset": 7}' localhost:8080/sum
//	curl -s 'localhost:8080/call/pow?arg=2&exp=10'
//
// See README.md beside this file, and docs/embedding.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal, the next one kills the process at once: a second Ctrl-C is for
	// an operator who will not wait for the graceful shutdown.
	context.AfterFunc(ctx, stop)
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "service:", err)
		os.Exit(1)
	}
}

// run parses the flags, starts the service and serves until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "localhost:8080", "address to listen on")
	cfg := config{Log: slog.New(slog.NewTextHandler(stderr, nil))}
	fs.StringVar(&cfg.Module, "module", defaultModule(), "the WebAssembly module to serve (it must have inc and sum_all for POST /sum)")
	fs.DurationVar(&cfg.Timeout, "timeout", 2*time.Second, "deadline of each request: calls still running then are interrupted, and the answer is 504")
	fs.IntVar(&cfg.Slots, "slots", 0, "how many calls run at once, across all requests (0: one per CPU)")
	fs.Int64Var(&cfg.StoreBudget, "store-budget", 64<<20, "bytes of values no request holds that the engine keeps as a cache (0: the engine's default, 256 MiB; negative: no limit)")
	fs.IntVar(&cfg.MaxPending, "max-pending", 256, "requests in progress at once; more are answered 429 at once")
	funcs := fs.String("funcs", "", "comma-separated functions /call may run (empty: all of the module's)")
	fs.StringVar(&cfg.CacheDir, "cache", "", "directory of a persistent result cache shared with later runs (empty: none)")
	fs.StringVar(&cfg.CompileDir, "compile-cache", "", "directory where compiled machine code is kept, so that a restart loads the module in a fraction of the time (empty: none)")
	grace := fs.Duration("grace", 10*time.Second, "on SIGINT or SIGTERM, how long requests in progress get to finish before their calls are interrupted")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: everything is set by flags (see -help)", fs.Arg(0))
	}
	if *funcs != "" {
		cfg.Funcs = strings.Split(*funcs, ",")
	}

	s, err := newService(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		s.close(ctx)
		return fmt.Errorf("listen (-addr): %w", err)
	}
	cfg.Log.Info("listening", "addr", ln.Addr().String(), "module", cfg.Module, "slots", s.eng.Slots(),
		"timeout", cfg.Timeout, "store_budget", cfg.StoreBudget)
	return serve(ctx, s, ln, *grace, cfg.Log)
}

// serve answers requests on ln until ctx ends, then shuts down in order: the HTTP server first,
// which stops accepting connections and waits for the requests in progress, then the runtime,
// which interrupts the calls of any request still running (those answer 503). One grace
// period bounds both steps, as an orchestrator's termination grace period bounds the process.
// It closes the runtime in every case.
func serve(ctx context.Context, s *service, ln net.Listener, grace time.Duration, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           s.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		// Requests are bounded by -timeout once read; these bound slow or idle clients.
		ReadTimeout: 30 * time.Second,
		IdleTimeout: 2 * time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		closeCtx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		return errors.Join(fmt.Errorf("serve: %w", err), s.close(closeCtx))
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var errs []error
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("shut the HTTP server down: %w (raise -grace to let requests finish)", err))
	}
	if err := s.close(sctx); err != nil {
		errs = append(errs, err)
	}
	<-served // http.ErrServerClosed
	log.Info("stopped")
	return errors.Join(errs...)
}

// defaultModule returns the seed module of this repository: testdata/seed.wasm found from
// this source file's directory, or from the working directory when the binary was built
// elsewhere or with -trimpath.
func defaultModule() string {
	if _, file, _, ok := goruntime.Caller(0); ok && filepath.IsAbs(file) {
		p := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "seed.wasm")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return filepath.Join("testdata", "seed.wasm")
}
