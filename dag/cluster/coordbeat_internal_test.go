package cluster

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"
)

// After an outage, a coordinator writes its heartbeat as soon as the server is back, not at
// its next tick: a server down longer than CoordinatorTTL has expired the heartbeat, and the
// workers, back at the same moment, would drop the coordinator's queued calls as those of a
// coordinator gone.
func TestCoordinatorBeatsWhenBack(t *testing.T) {
	dir := t.TempDir()
	srv, err := StartServer(ServerConfig{Port: -1, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL()
	port, _ := strconv.Atoi(url[strings.LastIndexByte(url, ':')+1:])
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Connect(ctx, url, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	x := c.Executor()
	if x.coord == "" {
		t.Fatal("the executor keeps no heartbeat")
	}
	// The heartbeat expired while the server was away.
	if err := c.coordinators.Delete(ctx, x.id); err != nil {
		t.Fatal(err)
	}
	srv.Shutdown()
	for !c.isDown() {
		time.Sleep(10 * time.Millisecond)
	}
	if srv, err = StartServer(ServerConfig{Port: port, StoreDir: dir}); err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown()
	if err := c.waitUp(ctx); err != nil {
		t.Fatal(err)
	}
	// The tick is every CoordinatorTTL/3 (10 s): the heartbeat must be there well before.
	if _, err := c.coordinators.Get(ctx, x.id); err != nil {
		t.Fatalf("the coordinator's heartbeat once the server is back: %v", err)
	}
}

// A worker whose connection has just come back from an outage does not take a coordinator
// without a heartbeat for gone until coordGrace has passed: the coordinator was cut off too.
func TestCoordAliveGraceAfterOutage(t *testing.T) {
	ctx, c := testConn(t, Options{})
	w := &worker{c: c, coords: map[string]time.Time{}}
	if w.coordAlive(ctx, "gone") {
		t.Fatal("a coordinator without a heartbeat is alive, with no outage")
	}
	c.outage.mu.Lock()
	c.outage.cur = &outage{} // reconnected, the server's state being checked
	c.outage.mu.Unlock()
	if !w.coordAlive(ctx, "gone") {
		t.Fatal("a coordinator without a heartbeat is gone while the worker's outage is ending")
	}
	c.outage.mu.Lock()
	c.outage.cur = nil
	c.outage.mu.Unlock()
	c.outage.back.Store(time.Now().UnixNano())
	if !w.coordAlive(ctx, "gone") {
		t.Fatal("a coordinator without a heartbeat is gone just after the worker's outage ended")
	}
	c.outage.back.Store(time.Now().Add(-2 * coordGrace).UnixNano())
	if w.coordAlive(ctx, "gone") {
		t.Fatal("a coordinator without a heartbeat is alive long after the outage: the grace answer was cached")
	}
	if _, err := c.coordinators.Put(ctx, "here", []byte("now")); err != nil {
		t.Fatal(err)
	}
	if !w.coordAlive(ctx, "here") {
		t.Fatal("a coordinator with a heartbeat is gone")
	}
}
