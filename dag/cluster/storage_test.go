package cluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/nats-io/nats-server/v2/server"
)

// A server with less JetStream storage than the streams and buckets reserve refuses to create
// them; the connection says why and what to change, and smaller limits fit.
func TestConnect_StorageShort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := cluster.Connect(ctx, smallServer(t), cluster.Options{})
	const hint = "the server cannot reserve this asset's size limit on its disk (the streams and buckets reserve about 4.6 GiB by default); free disk space on the server (it offers 75% of what is free when it starts), give it more JetStream storage (max_file_store), or lower cluster.Options.MaxStoreBytes and MaxQueueBytes"
	if err == nil || !strings.Contains(err.Error(), hint) {
		t.Fatalf("Connect to a server with 1 GiB of storage: %v, want an error saying %q", err, hint)
	}
	conn, err := cluster.Connect(ctx, smallServer(t), cluster.Options{MaxStoreBytes: 128 << 20, MaxQueueBytes: 64 << 20})
	if err != nil {
		t.Fatalf("Connect with smaller limits: %v", err)
	}
	conn.Close()
}

// smallServer starts a JetStream server that may store 1 GiB, and returns its URL.
func smallServer(t *testing.T) string {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: t.TempDir(), JetStreamMaxStore: 1 << 30, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("the server did not start")
	}
	t.Cleanup(s.Shutdown)
	return s.ClientURL()
}
