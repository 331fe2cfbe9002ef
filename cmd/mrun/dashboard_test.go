package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dashboard"
)

// browser returns the path of a headless-capable Chromium, or skips the test: it fails
// instead when CI=true, where .ci/run installs one. MRUN_CHROMIUM names one explicitly.
func browser(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("MRUN_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium to test the dashboard page in: install it (apt-get install -y chromium) or name one with MRUN_CHROMIUM"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// page opens a headless browser tab for the test.
func page(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser(t)), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 1000))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	// Started now, before the run it is to watch: a browser can take seconds to start.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start the browser: %v", err)
	}
	return ctx
}

// dashboardRun runs mrun with args in this process, and returns the URL of the dashboard it
// prints, and a function that interrupts it and returns its exit code and stderr.
func dashboardRun(t *testing.T, args ...string) (url string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, append([]string{"--cache-dir", sharedCache(t)}, args...), streams{Out: &out, Err: &errb})
	}()
	exit := -1
	stop = func() (int, string) {
		cancel()
		if exit >= 0 {
			return exit, errb.String()
		}
		select {
		case exit = <-code:
			return exit, errb.String()
		case <-time.After(time.Minute):
			t.Fatalf("mrun did not stop after the interrupt; stderr:\n%s", errb.String())
			return 0, ""
		}
	}
	t.Cleanup(func() { stop() })
	re := regexp.MustCompile(`dashboard at (http://\S+)`)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			return m[1], stop
		}
		select {
		case c := <-code:
			t.Fatalf("mrun exited with %d before serving a dashboard; stderr:\n%s", c, errb.String())
		default:
		}
	}
	t.Fatalf("no dashboard URL on stderr:\n%s", errb.String())
	return "", nil
}

// waitPage evaluates the JavaScript expression until it is true.
func waitPage(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
	}
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	t.Fatalf("the page never showed %s (%s); it reads:\n%s", what, expr, text)
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// screenshot writes the element sel as docs/img/dashboard-NAME.png under the directory of
// MRUN_DASHBOARD_SCREENSHOTS (relative: to the repository's root), when it is set.
func screenshot(t *testing.T, ctx context.Context, name, sel string) {
	t.Helper()
	dir := os.Getenv("MRUN_DASHBOARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", sel, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dashboard-"+name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// The graph of the browser test: 40 CPU-bound calls (distinct, so that each runs), their sum,
// and a call that fails with a message a guest could write to attack the page.
const dashboardGraph = `modules:
  seed: %s
tasks:
  burns: {call: seed.burn, foreach: {range: [%d, %d]}, args: [$item]}
  all:   {call: seed.identity, args: [$burns]}
  count: {call: seed.sum_all, args: [[1, 2, 3]]}
  boom:  {call: seed.fail, args: ["<img src=x onerror=\"document.body.dataset.pwned=1\"> & <b>not bold</b>"]}
  fib:   {call: seed.fib, args: [6]}
outputs:
  count: $count
`

func writeDashboardGraph(t *testing.T, from, n int) string {
	t.Helper()
	seed, err := filepath.Abs("../../testdata/seed.wasm")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "g.yaml")
	if err := os.WriteFile(p, fmt.Appendf(nil, dashboardGraph, seed, from, from+n), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// groupCount is the JavaScript for the count of tasks of the graph's group in state.
func groupCount(group, state string) string {
	return fmt.Sprintf(`Number((document.querySelector('.node[data-group="%s"] > .cnt .c-%s') || {dataset: {}}).dataset.n || 0)`, group, state)
}

// TestDashboard_browser opens the dashboard of mrun run in a real headless browser: while 40
// CPU-bound tasks run on 2 slots it shows tasks running and counts rising, the foreach as one
// node; after, the counts of the graph and a failed task's detail, with what the guest wrote
// shown as text. Run with MRUN_DASHBOARD_SCREENSHOTS=docs/img to write the screenshots of
// docs/dashboard.md.
func TestDashboard_browser(t *testing.T) {
	ctx := page(t)
	g := writeDashboardGraph(t, 2_000_000, 40)
	url, stop := dashboardRun(t, "run", "--workers", "2", "--no-cache", "--quiet", "--dashboard=127.0.0.1:0", g)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, "tasks running", `Number(document.getElementById("n-running").textContent) > 0 && `+groupCount("burns", "running")+` > 0`)
	waitPage(t, ctx, "a burn done", groupCount("burns", "done")+` >= 1 && document.getElementById("status").dataset.ended === "0"`)
	first := eval[int](t, ctx, groupCount("burns", "done"))
	waitPage(t, ctx, "more burns done", groupCount("burns", "done")+` > `+strconv.Itoa(first))
	if n := eval[int](t, ctx, `document.querySelectorAll('.node[data-group^="burns"]').length`); n != 1 {
		t.Errorf("the foreach of 40 calls is drawn as %d nodes, want 1", n)
	}
	if ended := eval[string](t, ctx, `document.getElementById("status").dataset.ended`); ended == "1" {
		t.Log("the run ended before the screenshots of a running graph")
	}
	screenshot(t, ctx, "graph", "#graph-view")
	screenshot(t, ctx, "timeline", "#timeline-view")

	waitPage(t, ctx, "the run's end", `document.getElementById("status").dataset.ended === "1"`)
	for _, c := range []struct {
		group, state string
		want         int
	}{{"burns", "done", 40}, {"burns", "running", 0}, {"burns", "failed", 0}, {"count", "done", 1}, {"all", "done", 1}, {"boom", "failed", 1}, {"fib", "done", 1}} {
		if got := eval[int](t, ctx, groupCount(c.group, c.state)); got != c.want {
			t.Errorf("group %s shows %d %s, want %d", c.group, got, c.state, c.want)
		}
	}
	if got := eval[string](t, ctx, `document.getElementById("n-done").textContent`); got == "" {
		t.Error("no done count")
	}
	// fib(6) spawns fib(5) and fib(4): nested groups drawn inside fib's node.
	if n := eval[int](t, ctx, `document.querySelectorAll('.node[data-group="fib"] .children .node[data-group="fib/fib"]').length`); n != 1 {
		t.Errorf("fib's nested spawns are in %d groups under it, want 1 (fib/fib)", n)
	}

	const msg = `<img src=x onerror="document.body.dataset.pwned=1"> & <b>not bold</b>`
	waitPage(t, ctx, "the failed task's detail", `document.getElementById("d-error").textContent.includes("not bold")`)
	if got := eval[string](t, ctx, `document.getElementById("d-error").textContent`); !strings.Contains(got, msg) {
		t.Errorf("the failed task's error reads %q, want it to hold %q as text", got, msg)
	}
	if got := eval[string](t, ctx, `document.getElementById("d-title").textContent`); got != "Failed: boom" {
		t.Errorf("detail title %q, want %q", got, "Failed: boom")
	}
	if got := eval[string](t, ctx, `document.getElementById("d-function").textContent`); got != "seed.fail" {
		t.Errorf("detail function %q, want seed.fail", got)
	}
	if got, want := eval[string](t, ctx, `document.getElementById("d-args").textContent`), strconv.Quote(msg); got != want {
		t.Errorf("detail arguments %q, want %q", got, want)
	}
	// The replay button writes the failed call's bundle, for mrun replay.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[any](`document.getElementById("d-replay").click()`)); err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, "the replay bundle's path", `document.getElementById("d-replay-out").textContent.startsWith("wrote ")`)
	out := eval[string](t, ctx, `document.getElementById("d-replay-out").textContent`)
	bundle, cmd, ok := strings.Cut(strings.TrimPrefix(out, "wrote "), " — run: ")
	if !ok || cmd != "mrun replay "+bundle {
		t.Errorf("after the replay button: %q, want wrote DIR — run: mrun replay DIR", out)
	} else {
		t.Cleanup(func() { os.RemoveAll(filepath.Dir(bundle)) }) // the temporary directory of the in-memory bundles
		if _, err := os.Stat(filepath.Join(bundle, "bundle.json")); err != nil {
			t.Errorf("the bundle the button wrote: %v", err)
		}
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#failures-view img, #failures-view b").length`); n != 0 {
		t.Errorf("the guest's message made %d elements in the page", n)
	}
	if pwned := eval[bool](t, ctx, `document.body.dataset.pwned === "1"`); pwned {
		t.Error("the guest's message ran script in the page")
	}
	screenshot(t, ctx, "failed", "#failures-view")

	// The failure was reported when the graph ended, once; the exit status is the failed
	// graph's, not the interruption's that stopped the dashboard.
	code, stderr := stop()
	if code != exitTaskFail {
		t.Errorf("exit code %d, want %d", code, exitTaskFail)
	}
	if n := strings.Count(stderr, "mrun: task boom"); n != 1 {
		t.Errorf("the failure is on stderr %d times, want once:\n%s", n, stderr)
	}
	for _, want := range []string{"mrun: task boom (seed.fail, key ", "the dashboard keeps serving at " + url + " until interrupted"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

// TestDashboard_browserCluster runs a graph on an embedded cluster of two workers: the page
// lists both.
func TestDashboard_browserCluster(t *testing.T) {
	ctx := page(t)
	cl := namedWorkersCluster(t, "w1", "w2")
	g := writeDashboardGraph(t, 1_000_000, 6)
	url, _ := dashboardRun(t, "run", "--cluster", cl, "--no-cache", "--quiet", "--dashboard=127.0.0.1:0", g)
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, "two workers", `!document.getElementById("cluster-view").hidden && document.querySelectorAll("#workers tbody tr").length === 2`)
	if got := eval[string](t, ctx, `[...document.querySelectorAll("#workers tbody tr")].map(tr => tr.dataset.worker).sort().join(" ")`); got != "w1 w2" {
		t.Errorf("workers listed: %q, want w1 w2", got)
	}
	waitPage(t, ctx, "the run's end", `document.getElementById("status").dataset.ended === "1"`)
	if got := eval[int](t, ctx, groupCount("burns", "done")); got != 6 {
		t.Errorf("burns done: %d, want 6", got)
	}
	// The workers' counts are their heartbeats': wait for the one after the run.
	waitPage(t, ctx, "the workers' calls", `[...document.querySelectorAll("#workers tbody tr")].reduce((n, tr) => n + Number(tr.children[5].textContent.replace(/,/g, "")), 0) >= 6`)
	screenshot(t, ctx, "cluster", "#cluster-view")
}

func TestDashboard_badAddress(t *testing.T) {
	_, stderr, code := mrun(t, "run", "--dashboard=8267", "../../examples/seed.yaml")
	want := `mrun: invalid argument "8267" for "--dashboard" flag: want HOST:PORT, as in 127.0.0.1:8267, or 127.0.0.1:0 for any free port: address 8267: missing port in address (see 'mrun run --help')` + "\n"
	if code != exitUsage || stderr != want {
		t.Errorf("exit %d, stderr %q; want %d, %q", code, stderr, exitUsage, want)
	}
}

// TestDashboard_call serves the dashboard of mrun call while it runs, and exits when the call
// is done.
func TestDashboard_call(t *testing.T) {
	stdout, stderr, code := mrun(t, "call", "--dashboard=127.0.0.1:0", "../../testdata/seed.wasm", "inc", "41")
	if code != exitOK || stdout != "42\n" || !regexp.MustCompile(`^mrun: dashboard at http://127\.0\.0\.1:\d+/\n$`).MatchString(stderr) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestDashboard_clusterUp lists the workers of the cluster mrun cluster up serves.
func TestDashboard_clusterUp(t *testing.T) {
	url, stop := dashboardRun(t, "cluster", "up", "--port", "-1", "--dashboard=127.0.0.1:0")
	defer stop()
	// The server's URL is on stdout; dashboardRun keeps stderr: the state says which workers.
	var st struct {
		Title   string
		Cluster bool
		Workers []struct{ ID string }
	}
	getState := func() {
		resp, err := http.Get(url + "api/state")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
	}
	getState()
	nats, ok := strings.CutPrefix(st.Title, "mrun cluster ")
	if !ok || !st.Cluster {
		t.Fatalf("state %+v: want the title mrun cluster URL, and a cluster", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, id := range []string{"w1", "w2"} {
		wg.Go(func() {
			var out syncBuffer
			run(ctx, []string{"--cache-dir", sharedCache(t), "worker", "--cluster", nats, "--id", id, "--quiet"}, streams{Out: &out, Err: &out})
		})
	}
	for deadline := time.Now().Add(time.Minute); len(st.Workers) < 2 && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		getState()
	}
	var ids []string
	for _, w := range st.Workers {
		ids = append(ids, w.ID)
	}
	slices.Sort(ids)
	if strings.Join(ids, " ") != "w1 w2" {
		t.Errorf("workers %v, want w1 w2", ids)
	}
}

// TestDashboard_loopbackHost refuses a request for another host name on a loopback address,
// as a page whose domain was made to resolve to 127.0.0.1 would send.
func TestDashboard_loopbackHost(t *testing.T) {
	h := loopbackOnly(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }))
	for host, want := range map[string]int{
		"127.0.0.1:8267": http.StatusOK, "localhost:8267": http.StatusOK, "[::1]:8267": http.StatusOK, "localhost": http.StatusOK,
		"evil.example:8267": http.StatusMisdirectedRequest, "evil.example": http.StatusMisdirectedRequest, "10.0.0.5:8267": http.StatusMisdirectedRequest,
	} {
		r := httptest.NewRequest(http.MethodGet, "/api/state", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %s: %d, want %d", host, w.Code, want)
		}
	}
}

// TestDashboard_browserPacked draws the timeline of calls spread over many slots, as on a
// cluster's coordinator, which has a thousand: packed on as many lanes as calls run at once.
func TestDashboard_browserPacked(t *testing.T) {
	ctx := page(t)
	s := dashboard.New(dashboard.Config{})
	now := time.Now()
	for i := range 60 {
		var k abi.Key
		k[0] = byte(i)
		s.Plan(k, "incs")
		s.Event(dag.Event{Kind: dag.EventStart, Key: k, Slot: 2 * i, Time: now})
		if i >= 40 { // 40 run on, 20 ended
			s.Event(dag.Event{Kind: dag.EventFinish, Key: k, Slot: 2 * i, Time: now.Add(time.Millisecond)})
		}
	}
	hs := httptest.NewServer(s)
	defer func() { s.Close(); hs.Close() }() // the page's stream ends first: Close waits for it
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL)); err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, "packed lanes", `document.getElementById("lanes").textContent === "calls in flight, packed"`)
	// The 20 ended calls started with the others: they need lanes of their own.
	if n := eval[int](t, ctx, `packedLanes`); n != 60 {
		t.Errorf("%d lanes, want 60", n)
	}
}
