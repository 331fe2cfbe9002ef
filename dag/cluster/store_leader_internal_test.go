package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The leader of ResultBucket's stream answers for the values stored (inline, and in
// ValueStore), and says nothing for a key never stored, deleted or purged.
func TestReadExisting(t *testing.T) {
	ctx, c := testConn(t, Options{InlineMax: 16})
	small, large := []byte{0x2a}, bytes.Repeat([]byte{7}, 100)
	names := map[string][]byte{fmt.Sprintf("%064x", 1): small, fmt.Sprintf("%064x", 2): large}
	for name, v := range names {
		if err := writeValue(ctx, c, name, v); err != nil {
			t.Fatal(err)
		}
	}
	for name, want := range names {
		e, err := readLeader(ctx, c, name)
		if err != nil || e == nil {
			t.Fatalf("leader entry of %s: %x, %v", name, e, err)
		}
		v, err := decodeEntry(ctx, c, name, e)
		if err != nil || !bytes.Equal(v, want) {
			t.Fatalf("leader value of %s: %x, %v; want %x", name, v, err, want)
		}
		if v, err := readExisting(ctx, c, name); err != nil || !bytes.Equal(v, want) {
			t.Fatalf("readExisting(%s): %x, %v; want %x", name, v, err, want)
		}
	}
	never, deleted, purged := fmt.Sprintf("%064x", 3), fmt.Sprintf("%064x", 4), fmt.Sprintf("%064x", 5)
	for _, name := range []string{deleted, purged} {
		if err := writeValue(ctx, c, name, small); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.results.Delete(ctx, deleted); err != nil {
		t.Fatal(err)
	}
	if err := c.results.Purge(ctx, purged); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{never, deleted, purged} {
		if e, err := readLeader(ctx, c, name); e != nil || err != nil {
			t.Fatalf("leader entry of %s, not stored: %x, %v; want nothing", name, e, err)
		}
		if v, err := readExisting(ctx, c, name); v != nil || err != nil {
			t.Fatalf("readExisting(%s), not stored: %x, %v; want nothing", name, v, err)
		}
	}
}

// With three servers keeping three replicas, a value written through one server is read at
// once through another: a read that a replica answers before it holds the write (a busy
// machine shows it now and then) is asked again of the leader.
func TestReadExisting_ThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three servers")
	}
	routes := make([]string, 3)
	for i := range routes {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		routes[i] = "nats://" + l.Addr().String()
		l.Close()
	}
	urls := make([]string, len(routes))
	for i := range routes {
		port, _ := strconv.Atoi(routes[i][strings.LastIndex(routes[i], ":")+1:])
		s, err := StartServer(ServerConfig{Port: -1, StoreDir: t.TempDir(), Name: fmt.Sprint("n", i+1), ClusterPort: port, Routes: routes})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Shutdown)
		urls[i] = s.URL()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conns := make([]*Conn, len(urls))
	for i, url := range urls {
		c, err := Connect(ctx, url, Options{Replicas: 3})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		conns[i] = c
	}
	for i := range 1000 {
		name := fmt.Sprintf("%064x", i+1)
		v := []byte(strconv.Itoa(i))
		if err := writeValue(ctx, conns[i%3], name, v); err != nil {
			t.Fatal(err)
		}
		if got, err := readExisting(ctx, conns[(i+1)%3], name); err != nil || !bytes.Equal(got, v) {
			t.Fatalf("value %d read through another server right after its write: %q, %v; want %q", i, got, err, v)
		}
	}
}
