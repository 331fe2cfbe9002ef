package cluster_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dag/cluster"
	"github.com/mrun-dev/mrun/runtime"
)

// A cluster on one machine: an embedded server, a worker, and an engine whose calls run on
// that worker. On several machines, each worker and the coordinator connect to one server.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "mrun-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := cluster.StartServer(cluster.ServerConfig{Port: -1, StoreDir: dir})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Shutdown()

	// A worker: its own connection and runtime, running calls until its context ends.
	wconn, err := cluster.Connect(ctx, srv.URL(), cluster.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer wconn.Close()
	wrt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer wrt.Close(context.Background())
	wctx, stopWorker := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = wconn.RunWorker(wctx, cluster.WorkerConfig{Runtime: wrt, Slots: 2}) })
	defer wg.Wait()
	defer stopWorker()

	// The coordinator: the engine of every program, with the cluster's executor and store.
	conn, err := cluster.Connect(ctx, srv.URL(), cluster.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close(context.Background())
	mod, err := rt.LoadFile(ctx, "../../testdata/c/conformance.wasm")
	if err != nil {
		log.Fatal(err)
	}
	inc, _ := mod.Func("inc")
	sumAll, _ := mod.Func("sum_all")
	eng := dag.New(dag.Config{Executor: conn.Executor(), Store: conn.Store()})

	incs := make(dag.Tuple, 10)
	for i := range incs {
		incs[i] = dag.Spawn(inc, i)
	}
	total := dag.Spawn(sumAll, incs)
	if err := eng.Execute(ctx, total); err != nil {
		log.Fatal(err)
	}
	var sum int
	if err := eng.Fetch(ctx, total, &sum); err != nil {
		log.Fatal(err)
	}
	fmt.Println(sum)

	// Results stay on the cluster, for later runs, until pruned.
	st, err := conn.Prune(ctx, cluster.PruneOptions{DryRun: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Results, "results stored")
	// Output:
	// 55
	// 11 results stored
}
