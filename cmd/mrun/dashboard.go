package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/dashboard"
	"github.com/mrun-dev/mrun/graphfile"
	"github.com/mrun-dev/mrun/internal/termsafe"
	"github.com/spf13/pflag"
)

// defaultDashboard is the address of --dashboard without a value.
const defaultDashboard = "127.0.0.1:8267"

// dashboardOptions is --dashboard [ADDR] and, once the execution starts, the dashboard it
// serves.
type dashboardOptions struct {
	addr  string // empty: no dashboard
	graph *graphfile.Graph
	// replay, when set, writes a replay bundle of a failed task (replay.go).
	replay func(ctx context.Context, key abi.Key) (string, error)
	// arguments, when set, summarises the arguments of a failed task (replay.go).
	arguments func(key abi.Key) (string, bool)

	srv *dashboard.Server // nil until started, and without --dashboard
	url string
	hs  *http.Server
	cl  *clusterDashboard // the workers of --cluster; nil: in process
}

// close stops serving the dashboard.
func (d *dashboardOptions) close() {
	if d.srv == nil {
		return
	}
	d.srv.Close()
	d.hs.Close()
	if d.cl != nil {
		d.cl.close()
	}
}

func (d *dashboardOptions) String() string { return d.addr }
func (d *dashboardOptions) Type() string   { return "addr" }

func (d *dashboardOptions) Set(s string) error {
	if s == "" {
		s = defaultDashboard
	}
	if _, _, err := net.SplitHostPort(s); err != nil {
		return fmt.Errorf("want HOST:PORT, as in %s, or 127.0.0.1:0 for any free port: %v", defaultDashboard, err)
	}
	d.addr = s
	return nil
}

// addFlag adds --dashboard, whose value is optional: --dashboard alone serves on
// defaultDashboard, --dashboard=ADDR on ADDR. what is what the page shows.
func (d *dashboardOptions) addFlag(fs *pflag.FlagSet, what string) {
	f := fs.VarPF(d, "dashboard", "", "serve a live web page of "+what+" on `ADDR`, as in --dashboard=127.0.0.1:9000 (alone: "+defaultDashboard+"; no authentication; the URL is printed on stderr)")
	f.NoOptDefVal = defaultDashboard
}

// listen starts serving h on the address of --dashboard, and prints its URL on w.
func (d *dashboardOptions) listen(h http.Handler, w io.Writer, command string) error {
	ln, err := net.Listen("tcp", d.addr)
	if err != nil {
		return usagef("--dashboard: %v (pass another address, as in --dashboard=127.0.0.1:0 for any free port)", err)
	}
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	d.url = "http://" + net.JoinHostPort(host, port) + "/"
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		h = loopbackOnly(h)
	}
	d.hs = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go d.hs.Serve(ln)
	fmt.Fprintf(w, "%s: dashboard at %s\n", command, d.url)
	return nil
}

// dashboardPlan prepares the dashboard of mrun run, if --dashboard is given: it groups the
// tasks as the graph file g does, and has the failed calls kept for its replay button (in
// process only: on a cluster, the workers run the calls).
func (x *execution) dashboardPlan(g *graphfile.Graph) {
	d := &x.opts.dashboard
	if d.addr == "" {
		return
	}
	d.graph = g
	if x.opts.cluster.url == "" {
		d.replay = x.replayHook() // replay.go
		d.arguments = x.opts.replay.recorder().Arguments
	}
}

// loopbackOnly refuses requests that name another host than a loopback one: a web page
// whose domain is made to resolve to 127.0.0.1 (DNS rebinding) must not read what the
// dashboard shows of a run on this machine.
func loopbackOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.Host)
		if err != nil {
			host = r.Host
		}
		if ip := net.ParseIP(strings.Trim(host, "[]")); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			http.Error(w, "the dashboard on a loopback address answers requests for localhost, 127.0.0.1 or [::1] only", http.StatusMisdirectedRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// startDashboard starts the dashboard of --dashboard, if given, for the execution: it
// groups the tasks as the graph file does (or by function for mrun call), and on a cluster
// lists the workers.
func (x *execution) startDashboard() error {
	d := &x.opts.dashboard
	if d.addr == "" {
		return nil
	}
	cfg := dashboard.Config{
		Title:      x.command,
		Label:      func(k abi.Key) string { return x.label(k, nil) },
		Cancelled:  x.cancelledBy,
		Replay:     d.replay,
		Arguments:  d.arguments,
		ReplayHint: "run the graph again with mrun run --keep-failed DIR to keep a replay bundle of each failed task, then mrun replay DIR/BUNDLE",
	}
	if x.opts.cluster.url != "" {
		cfg.ReplayHint = "a cluster's workers keep no replay bundles: run the graph again without --cluster, with --keep-failed DIR, then mrun replay DIR/BUNDLE"
	}
	if c := x.opts.cluster; c.url != "" {
		// A connection of its own: it lists the workers after the execution's is closed,
		// while mrun run keeps serving the dashboard.
		d.cl = &clusterDashboard{url: c.url, opts: cluster.Options{Name: x.command + " --dashboard",
			NkeyFile: c.nkey, CredsFile: c.creds, TLSCA: c.tlsCA, TLSCert: c.tlsCert, TLSKey: c.tlsKey}}
		cfg.Workers = d.cl.workers
	}
	srv := dashboard.New(cfg)
	if d.graph != nil {
		nodes := d.graph.Nodes(false)
		for _, n := range nodes {
			var deps []string
			for _, i := range n.Deps {
				deps = append(deps, nodes[i].Name)
			}
			srv.Group(n.Name, n.Func, deps...)
		}
	}
	for k, t := range x.tasks {
		srv.Plan(k, taskGroup(t))
	}
	if err := d.listen(srv, x.io.Err, "mrun"); err != nil {
		srv.Close()
		return err
	}
	d.srv = srv
	return nil
}

// taskGroup is the group of a host-level task: its task in the graph file (incs for incs[3]),
// or its function for mrun call.
func taskGroup(t hostTask) string {
	if t.call == nil {
		return t.name
	}
	l := t.call.Label()
	if i := strings.IndexByte(l, '['); i > 0 && strings.HasSuffix(l, "]") {
		return l[:i]
	}
	return l
}

// dashboardEvent passes ev to the dashboard, if one is served.
func (x *execution) dashboardEvent(ev dag.Event) {
	if s := x.opts.dashboard.srv; s != nil {
		s.Event(ev)
	}
}

// dashboardEnd tells the dashboard, if one is served, that the execution ended with err.
func (x *execution) dashboardEnd(err error) {
	if s := x.opts.dashboard.srv; s != nil {
		s.End(err)
	}
}

// workerLister lists the workers of the cluster conn is connected to, for the dashboard.
func workerLister(conn *cluster.Conn) func(context.Context) ([]dashboard.Worker, error) {
	return func(ctx context.Context) ([]dashboard.Worker, error) {
		ws, err := conn.Workers(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]dashboard.Worker, len(ws))
		for i, w := range ws {
			out[i] = dashboard.Worker{ID: w.ID, Host: w.Host, PID: w.PID, Slots: w.Slots, Running: w.Running,
				Done: w.Done, Failed: w.Failed, LastSeen: w.LastSeen}
		}
		return out, nil
	}
}

// lingerDashboard keeps the dashboard of mrun run serving after the graph ended with err,
// until the command is interrupted, and then returns err. Without a dashboard it returns err
// at once. A failed graph's error is printed at once, and its exit status is then that of
// the interruption.
func lingerDashboard(ctx context.Context, d *dashboardOptions, io streams, err error) error {
	switch {
	case d.addr == "":
		return err
	case d.srv == nil:
		if err == nil {
			fmt.Fprintln(io.Err, "mrun: --dashboard: nothing ran: the outputs came from the result cache (--no-cache runs the graph)")
		}
		return err
	case ctx.Err() != nil: // interrupted while the graph ran
		d.close()
		return err
	}
	defer d.close()
	if err != nil {
		msg := "mrun: " + oneLine(errorText(err))
		if io.ErrTTY {
			msg = termsafe.String(msg)
		}
		fmt.Fprintln(io.Err, msg)
	}
	fmt.Fprintf(io.Err, "mrun: the graph ended; the dashboard keeps serving at %s until interrupted (Ctrl-C)\n", d.url)
	<-ctx.Done()
	if err != nil {
		return &reportedError{err}
	}
	return nil
}

// reportedError is the error of a command that has printed it already and then waited, as
// mrun run --dashboard serves after a failed graph: the command's status is the error's, not
// the interruption's that ended the wait, and it is not printed again.
type reportedError struct{ err error }

func (e *reportedError) Error() string { return e.err.Error() }
func (e *reportedError) Unwrap() error { return e.err }

// clusterDashboard is the dashboard of mrun cluster up --dashboard: the workers of the
// cluster the server serves, polled through a client connection of its own.
type clusterDashboard struct {
	url  string
	opts cluster.Options

	mu   sync.Mutex
	conn *cluster.Conn
}

func (c *clusterDashboard) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

func (c *clusterDashboard) workers(ctx context.Context) ([]dashboard.Worker, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == nil {
		conn, err := cluster.Connect(ctx, c.url, c.opts)
		if err != nil {
			return nil, fmt.Errorf("connect to %s: %w", cluster.Redact(c.url), err)
		}
		c.conn = conn
	}
	return workerLister(c.conn)(ctx)
}

// serveClusterDashboard serves, with --dashboard, a dashboard of the workers of the cluster
// whose server srv serves, until ctx is done. creds is the server's credentials directory
// (empty: no authentication) and tlsCA the authority of its certificate, if any.
func serveClusterDashboard(ctx context.Context, d *dashboardOptions, io streams, srv *cluster.Server, creds, tlsCA string) error {
	if d.addr == "" {
		return nil
	}
	cd := &clusterDashboard{url: srv.URL(), opts: cluster.Options{Name: "mrun cluster up --dashboard", TLSCA: tlsCA}}
	if creds != "" {
		cd.opts.NkeyFile = cluster.KeyFile(creds, cluster.RoleClient)
	}
	s := dashboard.New(dashboard.Config{Title: "mrun cluster " + srv.URL(), Workers: cd.workers})
	if err := d.listen(s, io.Err, "mrun cluster up"); err != nil {
		s.Close()
		return err
	}
	d.srv, d.cl = s, cd
	go func() {
		<-ctx.Done()
		d.close()
	}()
	return nil
}
