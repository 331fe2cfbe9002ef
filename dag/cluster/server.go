package cluster

import (
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerConfig configures an embedded NATS server with JetStream.
type ServerConfig struct {
	Host     string // interface to listen on; default 127.0.0.1 (loopback only)
	Port     int    // 0 means 4222; -1 picks a free port
	StoreDir string // where JetStream keeps streams and buckets; required
}

// Server is an embedded NATS server with JetStream, for a single machine, demos and tests.
// Any NATS server (2.10 or later) with JetStream enabled serves a cluster just as well.
type Server struct {
	s *server.Server
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
	s, err := server.NewServer(&server.Options{
		Host: cfg.Host, Port: cfg.Port, JetStream: true, StoreDir: cfg.StoreDir,
		NoSigs: true, NoLog: true, ServerName: "mrun",
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("cluster: the server on %s:%d did not start within 10 s (is the port in use?)", cfg.Host, cfg.Port)
	}
	return &Server{s: s}, nil
}

// URL returns the address clients connect to, e.g. nats://127.0.0.1:4222.
func (s *Server) URL() string { return s.s.ClientURL() }

// Shutdown stops the server and waits until it has.
func (s *Server) Shutdown() {
	s.s.Shutdown()
	s.s.WaitForShutdown()
}
