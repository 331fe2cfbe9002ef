package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/internal/termsafe"
	"github.com/mrun-dev/mrun/runtime"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Environment variables that give the cluster flags their defaults.
const (
	clusterEnv      = "MRUN_CLUSTER"        // --cluster
	clusterNkeyEnv  = "MRUN_CLUSTER_NKEY"   // --nkey
	clusterCredsEnv = "MRUN_CLUSTER_CREDS"  // --creds
	clusterCAEnv    = "MRUN_CLUSTER_TLS_CA" // --tls-ca
)

// clusterFlags are the flags of every command that talks to a cluster.
type clusterFlags struct {
	url     string
	ackWait time.Duration
	nkey    string
	creds   string
	tlsCA   string
	tlsCert string
	tlsKey  string

	// timeout is --cluster-timeout, of the commands that run calls (addTimeoutFlag); zero
	// elsewhere, where the connection's default applies.
	timeout time.Duration
	// logf prints the connection's lines about the server's outages (logTo); nil: none.
	logf func(format string, args ...any)
}

// addFlags adds --cluster (default from MRUN_CLUSTER), the credentials and TLS flags, and
// the hidden --ack-wait.
func (c *clusterFlags) addFlags(fs *pflag.FlagSet, usage string) {
	fs.StringVar(&c.url, "cluster", os.Getenv(clusterEnv), usage)
	fs.DurationVar(&c.ackWait, "ack-wait", 0, "how long a worker may hold a call without a heartbeat before it goes to another (default: 30s; every coordinator and worker of a cluster must agree)")
	_ = fs.MarkHidden("ack-wait")
	fs.StringVar(&c.nkey, "nkey", os.Getenv(clusterNkeyEnv), "authenticate to the cluster with the nkey seed in `FILE`, as 'mrun cluster up' writes one per role (env "+clusterNkeyEnv+")")
	fs.StringVar(&c.creds, "creds", os.Getenv(clusterCredsEnv), "authenticate to the cluster with the NATS credentials `FILE` of a managed NATS deployment (env "+clusterCredsEnv+")")
	fs.StringVar(&c.tlsCA, "tls-ca", os.Getenv(clusterCAEnv), "trust the certificate authorities in PEM `FILE` for the cluster server's certificate (env "+clusterCAEnv+")")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "present the client certificate in PEM `FILE` to a cluster server that asks for one (with --tls-key)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "the key of --tls-cert, a PEM `FILE`")
}

// defaultClusterTimeout is the default of --cluster-timeout.
const defaultClusterTimeout = 5 * time.Minute

// addTimeoutFlag adds --cluster-timeout, for the commands that run calls on a cluster.
func (c *clusterFlags) addTimeoutFlag(fs *pflag.FlagSet) {
	fs.DurationVar(&c.timeout, "cluster-timeout", defaultClusterTimeout, "with --cluster, how long to wait for a cluster server that is unreachable before giving up, as in 30s or 1h")
}

// logTo makes the connection say when the server is unreachable, and when it is back, on
// the writer out returns at that moment: stderr, or the progress line's writer while one is
// drawn, so that the line appears above it instead of through it. tty says whether stderr is
// a terminal.
func (c *clusterFlags) logTo(tty bool, out func() io.Writer) {
	c.logf = func(format string, args ...any) {
		line := "mrun: " + fmt.Sprintf(format, args...)
		if tty {
			line = termsafe.String(line)
		}
		fmt.Fprintln(out(), line)
	}
}

// clusterUnreachable is the error of a command whose calls gave up on an unreachable cluster
// server after --cluster-timeout; it matches cluster.ErrUnreachable.
type clusterUnreachable struct{ err *cluster.UnreachableError }

func (e *clusterUnreachable) Error() string {
	return strings.Replace(e.err.Error(), "cluster.Options.ClusterTimeout", "--cluster-timeout", 1)
}

func (e *clusterUnreachable) Unwrap() error { return e.err }

// unreachable returns the error the user sees when Execute failed because the cluster
// server stayed unreachable: one line that says so, rather than the first task it stopped.
func unreachable(err error) error {
	var ue *cluster.UnreachableError
	if errors.As(err, &ue) {
		return &clusterUnreachable{ue}
	}
	return err
}

// connect connects to the cluster, or explains why it cannot: an unreachable server, or one
// that refuses the credentials, is a mistake in the input, like a missing file (exit status 2).
// Messages show the URL with any password in it redacted.
func (c *clusterFlags) connect(ctx context.Context, name string) (*cluster.Conn, error) {
	if c.ackWait < 0 {
		return nil, usagef("--ack-wait must not be negative, got %s", c.ackWait)
	}
	if c.timeout < 0 {
		return nil, usagef("--cluster-timeout must not be negative, got %s", c.timeout)
	}
	if c.nkey != "" && c.creds != "" {
		return nil, usagef("--nkey and --creds both give credentials: pass one")
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return nil, usagef("--tls-cert and --tls-key go together: pass both")
	}
	for _, f := range []struct{ flag, path string }{{"--nkey", c.nkey}, {"--creds", c.creds}, {"--tls-ca", c.tlsCA}, {"--tls-cert", c.tlsCert}, {"--tls-key", c.tlsKey}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return nil, usagef("%s: %v", f.flag, err)
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := cluster.Connect(cctx, c.url, cluster.Options{AckWait: c.ackWait, Name: name,
		NkeyFile: c.nkey, CredsFile: c.creds, TLSCA: c.tlsCA, TLSCert: c.tlsCert, TLSKey: c.tlsKey,
		ClusterTimeout: c.timeout, Logf: c.logf})
	if err != nil {
		if ctx.Err() != nil {
			return nil, errInterrupted
		}
		msg := strings.TrimPrefix(err.Error(), "cluster: ")
		switch {
		case errors.Is(err, cluster.ErrUnreachable): // it went away while the streams were set up
			return nil, fmt.Errorf("--cluster %s: %s", cluster.Redact(c.url), msg)
		case errors.Is(err, cluster.ErrAuth) && c.nkey == "" && c.creds == "":
			return nil, usagef("--cluster %s: %s: this server asks for credentials: pass --nkey FILE (client.nk, worker.nk or admin.nk from the directory 'mrun cluster up' printed) or --creds FILE", cluster.Redact(c.url), msg)
		case errors.Is(err, cluster.ErrAuth):
			return nil, usagef("--cluster %s: %s: pass the --nkey or --creds FILE this server gave out", cluster.Redact(c.url), msg)
		case errors.Is(err, cluster.ErrDenied) || errors.Is(err, cluster.ErrCredentials):
			return nil, usagef("--cluster %s: %s", cluster.Redact(c.url), msg)
		case strings.Contains(msg, "x509: certificate signed by unknown authority"):
			return nil, usagef("--cluster %s: %s: pass the authority that signed the server's certificate with --tls-ca FILE", cluster.Redact(c.url), msg)
		case strings.Contains(msg, "tls: certificate required") || strings.Contains(msg, "connection closed by remote after TLS handshake"):
			return nil, usagef("--cluster %s: %s: does the server ask for a client certificate? pass --tls-cert and --tls-key", cluster.Redact(c.url), msg)
		}
		return nil, usagef("--cluster %s: %s (is a server running there? start one with 'mrun cluster up')", cluster.Redact(c.url), msg)
	}
	return conn, nil
}

// denied explains an error that follows the server's refusal of an operation to this
// command's credentials (the cause of a context from Conn.WatchDenied): what was refused,
// and which role's key the command needs. Other errors it returns as they are.
func denied(ctx context.Context, err error, role cluster.Role) error {
	cause := context.Cause(ctx)
	if !errors.Is(cause, cluster.ErrDenied) {
		return err
	}
	return usagef("%v: this needs the %s's credentials (--nkey %s, from the directory 'mrun cluster up' printed)", cause, role, filepath.Base(cluster.KeyFile("", role)))
}

func newClusterCmd(io streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Start a cluster's server, show its workers, or prune its results",
		Long: `A cluster runs the calls of mrun run and mrun call on workers, on this
machine or others, through a NATS server with JetStream: 'mrun cluster up'
starts one, 'mrun worker --cluster URL' joins a worker to it, and
'mrun run --cluster URL' (or MRUN_CLUSTER=URL) runs a graph there.
See docs/distributed.md.`,
		Example: `  mrun cluster up
  mrun worker --cluster nats://127.0.0.1:4222 &
  mrun run --cluster nats://127.0.0.1:4222 examples/seed.yaml
  mrun cluster status --cluster nats://127.0.0.1:4222`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("cluster needs a command: up, status or prune (see 'mrun cluster --help')")
		},
	}
	cmd.AddCommand(newClusterUpCmd(io), newClusterStatusCmd(io), newClusterPruneCmd(io))
	return cmd
}

type clusterUpOptions struct {
	io       streams
	host     string
	port     int
	data     string
	auth     bool
	authSet  bool // --auth was given, as true or false
	credsDir string
	tlsCert  string
	tlsKey   string
	tlsCA    string

	// A member of a cluster of servers: --name, --cluster-name, --cluster-listen, --routes
	// and --replicas.
	name          string
	clusterName   string
	clusterListen string
	routes        string
	replicas      int
	dashboard     dashboardOptions // --dashboard (dashboard.go)
}

func newClusterUpCmd(io streams) *cobra.Command {
	o := &clusterUpOptions{io: io}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run a NATS server with JetStream for a cluster, until interrupted",
		Long: `Run an embedded NATS server with JetStream that workers and coordinators
connect to, until SIGINT or SIGTERM.

The URL to connect to is printed as one line on stdout, so that scripts can
read it. The server listens on the loopback interface unless --host says
otherwise.

Listening beyond loopback, the server admits only programs that hold one of
the keys it writes into --creds-dir (default DIR/creds, with --data DIR), one
per role: client.nk for mrun run, mrun call and mrun cluster status; worker.nk
for mrun worker; admin.nk for mrun cluster prune. Pass one with --nkey FILE.
A server restarted on the same directory keeps its keys. On loopback the server
is open to every program on this machine, unless --auth. --tls-cert and
--tls-key make it accept TLS connections only; --tls-ca then also asks each
client for a certificate that authority signed.

Without --data, streams and buckets live in a new temporary directory that is
removed when the server stops; with --data DIR they are kept there, and a
server restarted on the same DIR carries on with the calls and results it held.
Any NATS server (2.10 or later) with JetStream enabled serves a cluster just as
well.`,
		Example: `  # loopback only, on the default port
  mrun cluster up

  # for workers on other machines, keeping its state and keys across restarts
  mrun cluster up --host 0.0.0.0 --data /var/lib/mrun/nats \
      --tls-cert server.pem --tls-key server-key.pem
  mrun worker --cluster tls://10.0.0.5:4222 --nkey worker.nk --tls-ca ca.pem

  # any free port; read the URL from stdout
  url=$(mrun cluster up --port -1 | head -1)

  # one of three servers, on 10.0.0.5, .6 and .7, keeping three copies of everything
  mrun cluster up --host 0.0.0.0 --data /var/lib/mrun/nats --name a \
      --cluster-listen 0.0.0.0:6222 --replicas 3 \
      --routes nats://10.0.0.5:6222,nats://10.0.0.6:6222,nats://10.0.0.7:6222
  mrun worker --cluster nats://10.0.0.5:4222,nats://10.0.0.6:4222,nats://10.0.0.7:4222`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.authSet = cmd.Flags().Changed("auth")
			return runClusterUp(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.host, "host", "127.0.0.1", "the interface to listen on (0.0.0.0: every interface)")
	cmd.Flags().IntVar(&o.port, "port", 4222, "the port to listen on (-1: any free port)")
	cmd.Flags().StringVar(&o.data, "data", "", "keep streams and buckets in `DIR` (default: a temporary directory, removed on exit)")
	cmd.Flags().BoolVar(&o.auth, "auth", false, "admit only holders of the keys in --creds-dir (default: on, unless --host is a loopback address)")
	cmd.Flags().StringVar(&o.credsDir, "creds-dir", "", "write, or reuse, one key per role in `DIR` (default: DIR/creds of --data)")
	cmd.Flags().StringVar(&o.tlsCert, "tls-cert", "", "serve TLS only, with the certificate in PEM `FILE` (with --tls-key)")
	cmd.Flags().StringVar(&o.tlsKey, "tls-key", "", "the key of --tls-cert, a PEM `FILE`")
	cmd.Flags().StringVar(&o.tlsCA, "tls-ca", "", "ask each client for a certificate signed by an authority in PEM `FILE`")
	cmd.Flags().StringVar(&o.name, "name", "", "this server's `NAME`, unique in its cluster of servers (default: the host's name)")
	cmd.Flags().StringVar(&o.clusterName, "cluster-name", "mrun", "the `NAME` of the cluster of servers, the same on every one")
	cmd.Flags().StringVar(&o.clusterListen, "cluster-listen", "", "join a cluster of servers, listening for the others' routes on `HOST:PORT`, as in 0.0.0.0:6222 (with --routes)")
	cmd.Flags().StringVar(&o.routes, "routes", "", "the route addresses of the servers of the cluster, this one's among them, separated by commas: `URLS` as in nats://10.0.0.5:6222,nats://10.0.0.6:6222")
	cmd.Flags().IntVar(&o.replicas, "replicas", 1, "keep `N` copies of every stream and bucket, on N servers of the cluster (at most 5; 3 for three servers)")
	o.dashboard.addFlag(cmd.Flags(), "the cluster's workers")
	return cmd
}

func runClusterUp(ctx context.Context, o *clusterUpOptions) error {
	if o.port < -1 || o.port > 65535 {
		return usagef("--port must be a port number, or -1 for any free port; got %d", o.port)
	}
	dir := o.data
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mrun-cluster-")
		if err != nil {
			return &usageError{err}
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return usagef("--data: %v", err)
	}
	port := o.port
	if port == 0 {
		return usagef("--port must be a port number, or -1 for any free port; got 0")
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together: pass both")
	}
	if o.tlsCA != "" && o.tlsCert == "" {
		return usagef("--tls-ca asks clients for certificates over TLS: pass --tls-cert and --tls-key as well")
	}
	loopback := isLoopback(o.host)
	auth := !loopback
	if o.authSet {
		auth = o.auth
	}
	if o.credsDir != "" && !auth {
		return usagef("--creds-dir hands out keys, but --auth=false turns them off")
	}
	cfg := cluster.ServerConfig{Host: o.host, Port: port, StoreDir: dir, TLSCert: o.tlsCert, TLSKey: o.tlsKey, TLSCA: o.tlsCA}
	if err := o.clusterConfig(&cfg); err != nil {
		return err
	}
	if auth {
		cfg.CredsDir = o.credsDir
		if cfg.CredsDir == "" {
			cfg.CredsDir = filepath.Join(dir, "creds")
		}
	}
	srv, err := cluster.StartServer(cfg)
	if err != nil {
		return &usageError{err}
	}
	defer srv.Shutdown()
	fmt.Fprintln(o.io.Out, srv.URL())
	fmt.Fprintf(o.io.Err, "mrun cluster up: JetStream server at %s, data in %s; stop it with Ctrl-C\n", srv.URL(), dir)
	switch {
	case auth:
		fmt.Fprintf(o.io.Err, "mrun cluster up: credentials in %s: pass one with --nkey: %s (mrun run, call, cluster status), %s (mrun worker), %s (mrun cluster prune)\n",
			cfg.CredsDir, cluster.KeyFile(cfg.CredsDir, cluster.RoleClient), cluster.KeyFile(cfg.CredsDir, cluster.RoleWorker), cluster.KeyFile(cfg.CredsDir, cluster.RoleAdmin))
	case loopback:
		fmt.Fprintln(o.io.Err, "mrun cluster up: no authentication: every program on this machine may use the cluster (--auth requires keys)")
	default:
		fmt.Fprintf(o.io.Err, "mrun cluster up: WARNING: no authentication (--auth=false): anyone who reaches %s may submit calls, and write and delete results\n", srv.URL())
	}
	if cfg.ClusterPort != 0 {
		fmt.Fprintf(o.io.Err, "mrun cluster up: server %s of cluster %s, routes on %s; streams and buckets with %d replicas once enough servers are up\n", srv.Name(), o.clusterName, srv.ClusterURL(), cfg.Assets.Replicas)
		go func() {
			if srv.AssetsReady(ctx) == nil {
				fmt.Fprintf(o.io.Err, "mrun cluster up: streams and buckets ready, with %d replicas\n", cfg.Assets.Replicas)
			}
		}()
	}
	if err := serveClusterDashboard(ctx, &o.dashboard, o.io, srv, cfg.CredsDir, o.tlsCert); err != nil {
		return err
	}
	<-ctx.Done()
	fmt.Fprintln(o.io.Err, "mrun cluster up: stopping")
	return nil
}

// clusterConfig sets cfg up for a member of a cluster of servers, from --name,
// --cluster-name, --cluster-listen, --routes and --replicas.
func (o *clusterUpOptions) clusterConfig(cfg *cluster.ServerConfig) error {
	if o.replicas < 1 || o.replicas > cluster.MaxReplicas {
		return usagef("--replicas must be between 1 and %d, got %d", cluster.MaxReplicas, o.replicas)
	}
	cfg.Name, cfg.ClusterName, cfg.Assets.Replicas = o.name, o.clusterName, o.replicas
	switch {
	case o.clusterListen == "" && o.routes == "" && o.replicas > 1:
		return usagef("--replicas %d keeps copies on %d servers: join this one to a cluster of at least as many with --cluster-listen HOST:PORT and --routes URLS", o.replicas, o.replicas)
	case o.clusterListen == "" && o.routes == "":
		return nil
	case o.clusterListen == "":
		return usagef("--routes joins a cluster of servers: pass --cluster-listen HOST:PORT too, where the others reach this one, as in 0.0.0.0:6222")
	case o.routes == "":
		return usagef("--cluster-listen needs --routes: the route addresses of the cluster's servers, as in nats://10.0.0.5:6222,nats://10.0.0.6:6222,nats://10.0.0.7:6222")
	}
	host, p, err := net.SplitHostPort(o.clusterListen)
	port, perr := strconv.Atoi(p)
	if err != nil || perr != nil || port < 1 || port > 65535 {
		return usagef("--cluster-listen wants HOST:PORT, as in 0.0.0.0:6222; got %q", o.clusterListen)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	cfg.ClusterHost, cfg.ClusterPort = host, port
	for r := range strings.SplitSeq(o.routes, ",") {
		if r = strings.TrimSpace(r); r != "" {
			cfg.Routes = append(cfg.Routes, r)
		}
	}
	return nil
}

// isLoopback reports whether host, as given to --host, names only the loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type clusterStatusOptions struct {
	io      streams
	cluster clusterFlags
	json    bool
}

func newClusterStatusCmd(io streams) *cobra.Command {
	o := &clusterStatusOptions{io: io}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List a cluster's workers: slots, calls running, done and failed",
		Long: `List the workers of a cluster, one line each, from the heartbeats they write
every few seconds: a worker missing for 10 seconds is gone from the list.

DONE and FAILED count the calls the worker finished since it started. At its
last heartbeat, RUNNING is how many calls were running their guest (at most
SLOTS: a call waiting on the calls its guest spawned gives its slot back) and
STORING how many had returned and were storing their outputs and reporting.`,
		Example: `  mrun cluster status --cluster nats://127.0.0.1:4222
  MRUN_CLUSTER=nats://10.0.0.5:4222 mrun cluster status --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runClusterStatus(cmd.Context(), o)
		},
	}
	o.cluster.addFlags(cmd.Flags(), "the cluster's server, as in nats://127.0.0.1:4222 (env "+clusterEnv+")")
	cmd.Flags().BoolVar(&o.json, "json", false, "print a JSON list of the workers")
	return cmd
}

func runClusterStatus(ctx context.Context, o *clusterStatusOptions) error {
	if o.cluster.url == "" {
		return usagef("status needs --cluster URL, or %s (see 'mrun cluster status --help')", clusterEnv)
	}
	conn, err := o.cluster.connect(ctx, "mrun cluster status")
	if err != nil {
		return err
	}
	defer conn.Close()
	ws, err := conn.Workers(ctx)
	if err != nil {
		return fmt.Errorf("list the workers of %s: %w", cluster.Redact(o.cluster.url), err)
	}
	slices.SortFunc(ws, func(a, b cluster.WorkerInfo) int { return strings.Compare(a.ID, b.ID) })
	if o.json {
		if ws == nil {
			ws = []cluster.WorkerInfo{}
		}
		b, err := json.Marshal(ws)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.io.Out, "%s\n", b)
		return err
	}
	if len(ws) == 0 {
		fmt.Fprintf(o.io.Err, "no workers at %s\n", cluster.Redact(o.cluster.url))
		return nil
	}
	tw := tabwriter.NewWriter(o.io.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WORKER\tHOST\tPID\tSLOTS\tRUNNING\tSTORING\tDONE\tFAILED\tLAST SEEN")
	now := time.Now()
	for _, w := range ws {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s ago\n", w.ID, w.Host, w.PID, w.Slots, w.Running, w.Storing, w.Done, w.Failed,
			max(now.Sub(w.LastSeen), 0).Round(100*time.Millisecond))
	}
	return tw.Flush()
}

type clusterPruneOptions struct {
	io        streams
	cluster   clusterFlags
	olderThan time.Duration
	dryRun    bool
	json      bool
	modules   bool
}

func newClusterPruneCmd(io streams) *cobra.Command {
	o := &clusterPruneOptions{io: io, olderThan: -1}
	cmd := &cobra.Command{
		Use:   "prune",
		Short: "Remove results stored longer ago than --older-than",
		Long: `Remove from a cluster the results stored longer ago than --older-than, and
the large values that go with them. A cluster keeps every result until then:
results are content-addressed, so a later run of the same call reuses them.

Prune while no graph runs: a graph that has planned on a result being there
fails with "input … is not in mrun_results" when it is removed; a graph that
plans afterwards computes it again. Modules stay, unless --modules: then the
modules uploaded longer ago than --older-than go too, only while no call is
queued or running (a coordinator uploads a module again when it needs it).
--older-than 0 removes every result; --dry-run only counts.`,
		Example: `  mrun cluster prune --cluster nats://127.0.0.1:4222 --older-than 24h
  MRUN_CLUSTER=nats://10.0.0.5:4222 mrun cluster prune --older-than 0 --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runClusterPrune(cmd.Context(), o)
		},
	}
	o.cluster.addFlags(cmd.Flags(), "the cluster's server, as in nats://127.0.0.1:4222 (env "+clusterEnv+")")
	cmd.Flags().DurationVar(&o.olderThan, "older-than", -1, "remove results stored longer ago than this, as in 24h or 30m (required; 0: all)")
	cmd.Flags().BoolVar(&o.dryRun, "dry-run", false, "count what would be removed, and remove nothing")
	cmd.Flags().BoolVar(&o.json, "json", false, "print what was removed as JSON")
	cmd.Flags().BoolVar(&o.modules, "modules", false, "also remove the modules uploaded longer ago than --older-than (refused while calls are queued)")
	return cmd
}

func runClusterPrune(ctx context.Context, o *clusterPruneOptions) error {
	if o.cluster.url == "" {
		return usagef("prune needs --cluster URL, or %s (see 'mrun cluster prune --help')", clusterEnv)
	}
	if o.olderThan < 0 {
		return usagef("prune needs --older-than, as in 24h (0 removes every result)")
	}
	conn, err := o.cluster.connect(ctx, "mrun cluster prune")
	if err != nil {
		return err
	}
	defer conn.Close()
	pctx, stop := conn.WatchDenied(ctx) // a client's or worker's key: refused at once
	defer stop()
	st, err := conn.Prune(pctx, cluster.PruneOptions{OlderThan: o.olderThan, DryRun: o.dryRun, Modules: o.modules})
	if err != nil {
		if ctx.Err() != nil {
			return errInterrupted
		}
		if errors.Is(context.Cause(pctx), cluster.ErrDenied) {
			return fmt.Errorf("prune %s: %w", cluster.Redact(o.cluster.url), denied(pctx, err, cluster.RoleAdmin))
		}
		return fmt.Errorf("prune %s: %s", cluster.Redact(o.cluster.url), strings.TrimPrefix(err.Error(), "cluster: prune: "))
	}
	if o.json {
		out := map[string]any{"dry_run": o.dryRun, "results": st.Results, "values": st.Values,
			"value_bytes": st.ValueBytes, "kept_results": st.KeptResults}
		if o.modules {
			out["modules"], out["module_bytes"] = st.Modules, st.ModuleBytes
		}
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(o.io.Out, "%s\n", b)
		return err
	}
	verb := "removed"
	if o.dryRun {
		verb = "would remove"
	}
	_, err = fmt.Fprintf(o.io.Out, "%s %s and %s (%s) stored more than %v ago; %s stay\n", verb,
		plural(st.Results, "result"), plural(st.Values, "large value"), bytesText(st.ValueBytes), o.olderThan,
		plural(st.KeptResults, "younger result"))
	if err == nil && o.modules {
		_, err = fmt.Fprintf(o.io.Out, "%s %s (%s) uploaded more than %v ago\n", verb, plural(st.Modules, "module"), bytesText(st.ModuleBytes), o.olderThan)
	}
	return err
}

type workerOptions struct {
	io          streams
	global      *globalOptions
	cluster     clusterFlags
	slots       int
	id          string
	quiet       bool
	memoryLimit memSize
	maxResult   byteSize
	maxOutput   byteSize
	maxTimeout  time.Duration
	maxDepth    int
	maxTasks    int
	storeWait   time.Duration
}

func newWorkerCmd(g *globalOptions, io streams) *cobra.Command {
	o := &workerOptions{io: io, global: g}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the calls of a cluster on this machine, until interrupted",
		Long: `Join a cluster as a worker: pull calls from its server as slots are free, run
them, and write their results back, until SIGINT or SIGTERM.

Modules come from the cluster (each is compiled once per worker, and cached in
--cache-dir); arguments and results are read from and written to the cluster's
result bucket, so values pass between workers without going through the
program that runs the graph. A call is acknowledged only once its results are
stored: if the worker dies, the call runs again elsewhere.

--memory-limit, --max-result and --max-output limit the calls this worker
runs, as they do for mrun call and mrun run in process. --max-timeout,
--max-depth and --max-tasks limit them too, whatever the graph allows: a call
gets the stricter of the worker's limits and its graph's. One line per event
(start, stop, trouble reaching the server) goes to stderr, unless --quiet.`,
		Example: `  mrun worker --cluster nats://127.0.0.1:4222
  MRUN_CLUSTER=nats://10.0.0.5:4222 mrun worker --slots 8 --memory-limit 1GiB`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWorker(cmd.Context(), o)
		},
	}
	o.cluster.addFlags(cmd.Flags(), "the cluster's server, as in nats://127.0.0.1:4222 (env "+clusterEnv+")")
	cmd.Flags().IntVar(&o.slots, "slots", goruntime.NumCPU(), "how many calls run at once")
	cmd.Flags().StringVar(&o.id, "id", "", "the worker's name in mrun cluster status (default: host-pid-random)")
	cmd.Flags().BoolVarP(&o.quiet, "quiet", "q", false, "log nothing on stderr")
	cmd.Flags().Var(&o.memoryLimit, "memory-limit", "cap each instance's linear memory, as in 64MiB or 1GiB (default: 4GiB, the WebAssembly maximum)")
	cmd.Flags().Var(&o.maxResult, "max-result", "fail a call whose result is larger than this, as in 1MiB (default: 256MiB)")
	cmd.Flags().Var(&o.maxOutput, "max-output", "keep at most this much of what one call writes to stdout, and to stderr (default: 1MiB)")
	cmd.Flags().DurationVar(&o.maxTimeout, "max-timeout", 0, "interrupt a call that runs longer than this, whatever its own timeout, as in 10m (default: none)")
	cmd.Flags().IntVar(&o.maxDepth, "max-depth", 0, "how deeply the calls' guests may nest spawns (default: the graph's, else 100)")
	cmd.Flags().IntVar(&o.maxTasks, "max-tasks", 0, fmt.Sprintf("how many tasks one call's guest may spawn (default: the graph's, else one per 4 KiB of 3/4 of the machine's memory: %d here)", dag.DefaultMaxTasks()))
	cmd.Flags().DurationVar(&o.storeWait, "store-wait", cluster.DefaultStoreWait, "how long to keep trying to store a finished call's results while the server is away, before leaving the call to run again once it is back")
	return cmd
}

func runWorker(ctx context.Context, o *workerOptions) error {
	if o.cluster.url == "" {
		return usagef("worker needs --cluster URL, or %s (see 'mrun worker --help')", clusterEnv)
	}
	switch {
	case o.slots < 1:
		return usagef("--slots must be at least 1, got %d", o.slots)
	case o.maxTimeout < 0:
		return usagef("--max-timeout must not be negative, got %s", o.maxTimeout)
	case o.maxDepth < 0:
		return usagef("--max-depth must not be negative, got %d", o.maxDepth)
	case o.maxTasks < 0:
		return usagef("--max-tasks must not be negative, got %d", o.maxTasks)
	case o.storeWait <= 0:
		return usagef("--store-wait must be positive, got %s", o.storeWait)
	}
	conn, err := o.cluster.connect(ctx, "mrun worker")
	if err != nil {
		return err
	}
	defer conn.Close()
	rt, err := newRuntime(ctx, o.global, runtime.Config{MemoryLimitPages: o.memoryLimit.pages, MaxResult: o.maxResult.n, MaxOutput: o.maxOutput.n})
	if err != nil {
		return err
	}
	defer rt.Close(context.Background())
	logf := func(format string, args ...any) {
		if !o.quiet {
			line := strings.Replace(fmt.Sprintf(format, args...), "WorkerConfig.StoreWait", "--store-wait", 1)
			if o.io.ErrTTY { // names and errors in a task message come from whoever published it
				line = termsafe.String(line)
			}
			fmt.Fprintf(o.io.Err, "%s mrun %s\n", time.Now().Format("15:04:05.000"), line)
		}
	}
	wctx, stop := conn.WatchDenied(ctx) // a client's key: the worker stops at its first fetch
	defer stop()
	err = conn.RunWorker(wctx, cluster.WorkerConfig{Runtime: rt, Slots: o.slots, ID: o.id, Logf: logf,
		MaxTimeout: o.maxTimeout, MaxDepth: o.maxDepth, MaxTasks: o.maxTasks, StoreWait: o.storeWait})
	return denied(wctx, err, cluster.RoleWorker)
}
