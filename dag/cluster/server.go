package cluster

import (
	"context"
	"errors"
	"fmt"
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
}

// Server is an embedded NATS server with JetStream, for a single machine, demos and tests.
// Any NATS server (2.10 or later) with JetStream enabled serves a cluster just as well.
type Server struct {
	s   *server.Server
	tls bool
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
	opts := &server.Options{
		Host: cfg.Host, Port: cfg.Port, JetStream: true, StoreDir: cfg.StoreDir,
		NoSigs: true, NoLog: true, ServerName: "mrun",
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
	srv := &Server{s: s, tls: cfg.TLSCert != ""}
	if cfg.CredsDir != "" {
		// Clients and workers only bind to the assets: create them, as the admin, through an
		// in-process connection (which needs no TLS).
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		inproc := "nats://" + strings.TrimPrefix(strings.TrimPrefix(s.ClientURL(), "tls://"), "nats://")
		opts := cfg.Assets
		opts.Name, opts.NkeyFile, opts.CredsFile, opts.TLSCA, opts.TLSCert, opts.TLSKey = "mrun cluster up", KeyFile(cfg.CredsDir, RoleAdmin), "", "", "", ""
		c, err := connect(ctx, inproc, opts, true,
			nats.InProcessServer(s))
		if err != nil {
			srv.Shutdown()
			return nil, err
		}
		c.Close()
	}
	return srv, nil
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
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
