package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dashboard"
	"github.com/mrun-dev/mrun/runtime"
)

// Example mounts the dashboard on a service's own mux, under /dashboard/, and feeds it the
// events of an execution.
func Example() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer rt.Close(ctx)
	mod, err := rt.LoadFile(ctx, "../testdata/c/conformance.wasm")
	if err != nil {
		log.Fatal(err)
	}
	inc, _ := mod.Func("inc")

	dash := dashboard.New(dashboard.Config{Title: "ten incs"})
	defer dash.Close()
	mux := http.NewServeMux()
	mux.Handle("/dashboard/", http.StripPrefix("/dashboard", dash))
	srv := httptest.NewServer(mux) // a service: http.ListenAndServe(addr, mux)
	defer srv.Close()

	incs := make(dag.Tuple, 10)
	for i := range incs {
		incs[i] = dag.Spawn(inc, i)
		dash.Plan(incs[i].TaskKey(), "incs") // one group, drawn as one node
	}
	eng := dag.New(dag.Config{Events: dash.Event})
	dash.End(eng.Execute(ctx, incs...))

	// What the page receives, a few times a second, from srv.URL + "/dashboard/events".
	resp, err := http.Get(srv.URL + "/dashboard/api/state")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var st dashboard.State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d of %d done, %s\n", st.Title, st.Total.Done, st.Total.Planned, st.Result)
	// Output:
	// ten incs: 10 of 10 done, finished
}
