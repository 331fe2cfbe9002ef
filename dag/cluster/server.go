package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ServerConfig configures an embedded NATS server with JetStream.
type ServerConfig struct {
	Host     string // interface to listen on; default 127.0.0.1 (loopback only)
	Port     int    // 0 means 4222; -1 picks a free port
	StoreDir string // where JetStream keeps streams and buckets; required

	// CredsDir, when set, makes the server admit only connections that hold one of the keys
	// whose seed files are there, one per Role (KeyFile names them), and lets each do what
	// its role allows. Missing seed files are created. The server then sets the streams and
	// buckets up itself, since clients and workers may not.
	CredsDir string
	// Assets configures the streams and buckets the server creates with CredsDir (AckWait,
	// MaxDeliver and the size bounds of Options; the other fields are ignored), as the
	// first Connect configures them on a server without credentials.
	Assets Options
	// TLSCert and TLSKey are PEM files of the server's certificate and key: with them, the
	// server accepts only TLS connections.
	TLSCert, TLSKey string
	// TLSCA is a PEM file of certificate authorities: with it (and TLSCert), the server
	// also requires each client to present a certificate they signed.
	TLSCA string

	// Name is the server's name, unique in its cluster: JetStream tells the members apart
	// by it. Default "mrun" on a single server, and the host's name in a cluster.
	Name string
	// ClusterPort, when not zero, makes the server a member of a cluster of servers: it
	// listens there (-1: any free port) for the routes of the other members, and the
	// streams and buckets may then keep replicas on several of them (Assets.Replicas).
	ClusterPort int
	// ClusterHost is the interface ClusterPort listens on; default Host.
	ClusterHost string
	// ClusterName names the cluster; every member has the same. Default "mrun".
	ClusterName string
	// Routes are the members' route addresses, as in nats://10.0.0.6:6222 (its own may be
	// among them, so that every member has the same list): a server joins through the ones
	// that are up, and learns of the others from them. Required with ClusterPort.
	Routes []string
}

// clustered reports whether cfg makes the server a member of a cluster of servers.
func (cfg ServerConfig) clustered() bool { return cfg.ClusterPort != 0 || len(cfg.Routes) > 0 }

// Server is an embedded NATS server with JetStream, for a single machine, demos and tests.
// Any NATS server (2.10 or later) with JetStream enabled serves a cluster just as well.
type Server struct {
	s   *server.Server
	tls bool

	// assets is closed once the server has set the streams and buckets up (or never will):
	// see AssetsReady.
	assets    chan struct{}
	assetsErr error
	stop      context.CancelFunc
}

// StartServer starts an embedded JetStream server and waits until it accepts connections.
func StartServer(cfg ServerConfig) (*Server, error) {
	if cfg.StoreDir == "" {
		return nil, errors.New("cluster: the server needs a store directory")
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.Port == 0 {
		cfg.Port = 4222
	}
	if cfg.Assets.Replicas < 0 || cfg.Assets.Replicas > MaxReplicas {
		return nil, fmt.Errorf("cluster: replicas must be between 1 and %d, got %d", MaxReplicas, cfg.Assets.Replicas)
	}
	if cfg.Assets.Replicas > 1 && !cfg.clustered() {
		return nil, fmt.Errorf("cluster: %d replicas need a cluster of at least %d servers: give this one a cluster port and the other servers' routes", cfg.Assets.Replicas, cfg.Assets.Replicas)
	}
	opts := &server.Options{
		Host: cfg.Host, Port: cfg.Port, JetStream: true, StoreDir: cfg.StoreDir,
		NoSigs: true, NoLog: true, ServerName: cfg.Name,
	}
	if opts.ServerName == "" {
		opts.ServerName = "mrun"
		if cfg.clustered() {
			h, err := os.Hostname()
			if err != nil || h == "" {
				return nil, errors.New("cluster: a server in a cluster needs a name of its own, and this host has none: set ServerConfig.Name (mrun cluster up --name)")
			}
			opts.ServerName = h
		}
	}
	if cfg.clustered() {
		if cfg.ClusterPort == 0 {
			return nil, errors.New("cluster: a server with routes to others needs a cluster port of its own to be reached on: set ServerConfig.ClusterPort (mrun cluster up --cluster-listen)")
		}
		if len(cfg.Routes) == 0 {
			// JetStream would refuse to start, and the embedded server stops only in its log.
			return nil, errors.New("cluster: a server in a cluster needs the route addresses of the other servers: set ServerConfig.Routes (mrun cluster up --routes)")
		}
		opts.Cluster = server.ClusterOpts{Name: cfg.ClusterName, Host: cfg.ClusterHost, Port: cfg.ClusterPort}
		if opts.Cluster.Name == "" {
			opts.Cluster.Name = "mrun"
		}
		if opts.Cluster.Host == "" {
			opts.Cluster.Host = cfg.Host
		}
		for _, r := range cfg.Routes {
			u, err := url.Parse(strings.TrimSpace(r))
			if err != nil || u.Host == "" || (u.Scheme != "nats" && u.Scheme != "nats-route") {
				return nil, fmt.Errorf("cluster: route %q: want a member's route address, as in nats://10.0.0.6:6222", r)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	if cfg.CredsDir != "" {
		keys, err := loadOrCreateKeys(cfg.CredsDir)
		if err != nil {
			return nil, err
		}
		if opts.Nkeys, err = nkeyUsers(keys); err != nil {
			return nil, err
		}
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, errors.New("cluster: the server's TLS needs both a certificate and its key")
	}
	if cfg.TLSCA != "" && cfg.TLSCert == "" {
		return nil, errors.New("cluster: client certificates need the server's own TLS certificate and key as well")
	}
	if cfg.TLSCert != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: cfg.TLSCert, KeyFile: cfg.TLSKey, CaFile: cfg.TLSCA, Verify: cfg.TLSCA != ""})
		if err != nil {
			return nil, fmt.Errorf("cluster: server TLS: %w", err)
		}
		opts.TLSConfig, opts.TLS, opts.TLSVerify, opts.TLSTimeout = tc, true, cfg.TLSCA != "", 5
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("cluster: server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("cluster: the server on %s:%d did not start within 10 s (is the port in use?)", cfg.Host, cfg.Port)
	}
	ctx, stop := context.WithCancel(context.Background())
	srv := &Server{s: s, tls: cfg.TLSCert != "", assets: make(chan struct{}), stop: stop}
	if cfg.CredsDir == "" && cfg.Assets.Replicas <= 1 {
		close(srv.assets)
		return srv, nil
	}
	// Clients and workers only bind to the assets: create them, as the admin, through an
	// in-process connection (which needs no TLS). Replicated assets are set up here too,
	// so that no client creates them first with a single replica.
	inproc := "nats://" + strings.TrimPrefix(strings.TrimPrefix(s.ClientURL(), "tls://"), "nats://")
	aopts := cfg.Assets
	aopts.Name, aopts.NkeyFile, aopts.CredsFile, aopts.TLSCA, aopts.TLSCert, aopts.TLSKey = "mrun cluster up", "", "", "", "", ""
	if cfg.CredsDir != "" {
		aopts.NkeyFile = KeyFile(cfg.CredsDir, RoleAdmin)
	}
	setup := func(ctx context.Context) error {
		c, err := connect(ctx, inproc, aopts, true, nats.InProcessServer(s))
		if err == nil {
			c.Close()
		}
		return err
	}
	if !cfg.clustered() {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := setup(sctx); err != nil {
			srv.Shutdown()
			return nil, err
		}
		close(srv.assets)
		return srv, nil
	}
	// A member of a cluster sets them up once enough members are up to hold their
	// replicas: until then every attempt fails, so it keeps trying in the background.
	go func() {
		defer close(srv.assets)
		for {
			// Requests time out until the servers have elected a JetStream leader.
			for !s.JetStreamIsCurrent() && ctx.Err() == nil {
				time.Sleep(100 * time.Millisecond)
			}
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := setup(actx)
			cancel()
			if err == nil || ctx.Err() != nil {
				srv.assetsErr = err
				return
			}
			select {
			case <-ctx.Done():
				srv.assetsErr = ctx.Err()
				return
			case <-time.After(time.Second):
			}
		}
	}()
	return srv, nil
}

// AssetsReady waits until the server has set up the cluster's streams and buckets, as it
// does with credentials or replicas (at once on a single server; in a cluster of servers,
// once enough members are up to hold the replicas), and returns nil; or returns ctx's error
// when it ends first, or the server's last error when it was shut down first.
func (s *Server) AssetsReady(ctx context.Context) error {
	select {
	case <-s.assets:
		return s.assetsErr
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Name returns the server's name, as JetStream reports the leader of a stream.
func (s *Server) Name() string { return s.s.Name() }

// ClusterURL returns the address other members of its cluster route to, as in
// nats://127.0.0.1:6222, or "" for a server outside a cluster.
func (s *Server) ClusterURL() string {
	a := s.s.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats://" + a.String()
}

// URL returns the address clients connect to, e.g. nats://127.0.0.1:4222, or
// tls://127.0.0.1:4222 for a server with TLS.
func (s *Server) URL() string {
	u := s.s.ClientURL()
	if s.tls && strings.HasPrefix(u, "nats://") {
		u = "tls://" + strings.TrimPrefix(u, "nats://")
	}
	return u
}

// Shutdown stops the server and waits until it has.
func (s *Server) Shutdown() {
	s.stop()
	<-s.assets
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
