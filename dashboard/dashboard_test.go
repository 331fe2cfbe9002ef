package dashboard_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/dashboard"
)

func key(i int) abi.Key {
	var k abi.Key
	k[0], k[1] = byte(i), byte(i>>8)
	return k
}

// fed is a server that saw a foreach group of 3 calls (one done, one running, one waiting)
// and a failed call whose guest wrote HTML.
func fed(t *testing.T, cfg dashboard.Config) (*dashboard.Server, *httptest.Server) {
	t.Helper()
	s := dashboard.New(cfg)
	s.Group("incs", "seed.inc")
	s.Group("sum", "seed.sum_all", "incs")
	s.Group("boom", "seed.fail")
	for i := range 3 {
		s.Plan(key(i), "incs")
	}
	s.Plan(key(3), "sum")
	s.Plan(key(4), "boom")
	now := time.Now()
	s.Event(dag.Event{Kind: dag.EventStart, Key: key(0), Slot: 0, Time: now})
	s.Event(dag.Event{Kind: dag.EventFinish, Key: key(0), Slot: 0, Time: now.Add(time.Millisecond)})
	s.Event(dag.Event{Kind: dag.EventStart, Key: key(1), Slot: 1, Time: now})
	s.Event(dag.Event{Kind: dag.EventStart, Key: key(4), Slot: 0, Time: now})
	s.Event(dag.Event{Kind: dag.EventFail, Key: key(4), Slot: 0, Time: now.Add(2 * time.Millisecond),
		Err:    fmt.Errorf("call fail: %w", errors.New(`<script>alert("x")</script>`)),
		Stdout: []byte("<b>out</b>\n"), Stderr: []byte("err & more\n"),
		Usage: dag.Usage{Wall: 3 * time.Millisecond, Attempts: 1, PeakMemory: 131072}})
	hs := httptest.NewServer(s)
	t.Cleanup(func() { s.Close(); hs.Close() })
	return s, hs
}

func get(t *testing.T, url string, v any) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v: %s", url, err, b)
		}
	}
	return resp
}

type group struct {
	Name                                                       string
	Func                                                       string
	Parent                                                     int
	Deps                                                       []int
	Planned, Waiting, Running, Done, Cached, Failed, Cancelled int
}

type state struct {
	Title    string
	Ended    bool
	Result   string
	Waiting  int
	Total    struct{ Planned, Running, Done, Cached, Failed, Cancelled int }
	Groups   []group
	Running  []struct{ Slot, Group int }
	Spans    [][5]int64
	Failures []struct {
		ID    int
		Key   string
		Group string
		Error string
	}
	Replay     bool
	ReplayHint string `json:"replay_hint"`
}

func TestServer_state(t *testing.T) {
	s, hs := fed(t, dashboard.Config{Title: "mrun run g.yaml", ReplayHint: "use --keep-failed"})
	var st state
	resp := get(t, hs.URL+"/api/state", &st)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if st.Title != "mrun run g.yaml" || st.Ended {
		t.Errorf("title %q, ended %v", st.Title, st.Ended)
	}
	if st.Total.Planned != 5 || st.Total.Running != 1 || st.Total.Done != 1 || st.Total.Failed != 1 || st.Waiting != 2 {
		t.Errorf("total = %+v, waiting %d; want 5 planned, 1 running, 1 done, 1 failed, 2 waiting", st.Total, st.Waiting)
	}
	want := []group{
		{Name: "incs", Func: "seed.inc", Parent: -1, Deps: []int{}, Planned: 3, Waiting: 1, Running: 1, Done: 1},
		{Name: "sum", Func: "seed.sum_all", Parent: -1, Deps: []int{0}, Planned: 1, Waiting: 1},
		{Name: "boom", Func: "seed.fail", Parent: -1, Deps: []int{}, Planned: 1, Failed: 1},
	}
	if fmt.Sprint(st.Groups) != fmt.Sprint(want) {
		t.Errorf("groups =\n%v\nwant\n%v", st.Groups, want)
	}
	if len(st.Running) != 1 || st.Running[0].Slot != 1 || st.Running[0].Group != 0 {
		t.Errorf("running = %+v, want incs on slot 1", st.Running)
	}
	if len(st.Spans) != 2 || st.Spans[0][0] != 0 || st.Spans[0][1] != 0 || st.Spans[0][4] != 0 || st.Spans[1][1] != 2 || st.Spans[1][4] != 1 {
		t.Errorf("spans = %v, want incs done then boom failed, on slot 0", st.Spans)
	}
	if len(st.Failures) != 1 || st.Failures[0].Group != "boom" || st.Failures[0].Error != `call fail: <script>alert("x")</script>` || st.Failures[0].Key != key(4).String() {
		t.Errorf("failures = %+v", st.Failures)
	}
	if st.Replay || st.ReplayHint != "use --keep-failed" {
		t.Errorf("replay %v, hint %q", st.Replay, st.ReplayHint)
	}
	s.End(errors.New("task boom failed"))
	get(t, hs.URL+"/api/state", &st)
	if !st.Ended || st.Result != "task boom failed" {
		t.Errorf("after End: ended %v, result %q", st.Ended, st.Result)
	}
}

func TestServer_nestedGroups(t *testing.T) {
	s := dashboard.New(dashboard.Config{})
	defer s.Close()
	s.Plan(key(1), "driver")
	s.Event(dag.Event{Kind: dag.EventStart, Key: key(1)})
	for i := 2; i < 5; i++ { // three children, then one grandchild
		s.Event(dag.Event{Kind: dag.EventStart, Key: key(i), Parent: key(1), Depth: 1})
		s.Event(dag.Event{Kind: dag.EventFinish, Key: key(i), Parent: key(1), Depth: 1})
	}
	s.Event(dag.Event{Kind: dag.EventStored, Key: key(5), Parent: key(2), Depth: 2})
	hs := httptest.NewServer(s)
	defer hs.Close()
	var st state
	get(t, hs.URL+"/api/state", &st)
	got := ""
	for _, g := range st.Groups {
		got += fmt.Sprintf("%s parent=%d planned=%d done=%d cached=%d running=%d; ", g.Name, g.Parent, g.Planned, g.Done, g.Cached, g.Running)
	}
	want := "driver parent=-1 planned=1 done=0 cached=0 running=1; driver/? parent=0 planned=3 done=3 cached=0 running=0; driver/?/? parent=1 planned=1 done=0 cached=1 running=0; "
	if got != want {
		t.Errorf("groups:\n%s\nwant\n%s", got, want)
	}
}

func TestServer_task(t *testing.T) {
	_, hs := fed(t, dashboard.Config{Label: func(k abi.Key) string { return "boom" }, ReplayHint: "use --keep-failed",
		Arguments: func(abi.Key) (string, bool) { return `41, "<i>x</i>"`, true }})
	var d dashboard.TaskDetail
	get(t, hs.URL+"/api/task?id=0", &d)
	if d.Label != "boom" || d.Group != "boom" || d.Args != `41, "<i>x</i>"` || d.Error != `call fail: <script>alert("x")</script>` ||
		strings.Join(d.Chain, "|") != `<script>alert("x")</script>` || d.Stdout != "<b>out</b>\n" || d.Stderr != "err & more\n" {
		t.Errorf("detail = %+v", d)
	}
	var raw map[string]map[string]any
	resp, err := http.Get(hs.URL + "/api/task?id=0")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(b), "<") || strings.Contains(string(b), ">") {
		t.Errorf("the detail's JSON holds a raw < or >: %s", b)
	}
	_ = json.Unmarshal(b, &raw)
	if u := raw["usage"]; u["wall_ms"] != 3.0 || u["attempts"] != 1.0 || u["peak_memory"] != 131072.0 {
		t.Errorf("usage = %v", u)
	}
	var e struct{ Error string }
	if resp := get(t, hs.URL+"/api/task?id=7", &e); resp.StatusCode != http.StatusNotFound || e.Error != `no failed task with id "7"` {
		t.Errorf("id 7: %d %q", resp.StatusCode, e.Error)
	}
}

func TestServer_replay(t *testing.T) {
	var asked abi.Key
	_, hs := fed(t, dashboard.Config{Replay: func(ctx context.Context, k abi.Key) (string, error) {
		asked = k
		return "/tmp/failed/boom.replay", nil
	}})
	resp, err := http.Post(hs.URL+"/api/replay?id=0", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || e.Error != "replay wants the header X-Mrun-Dashboard: 1" || asked != (abi.Key{}) {
		t.Errorf("a POST without the header: %d %q, asked %s", resp.StatusCode, e.Error, asked)
	}
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/api/replay?id=0", nil)
	req.Header.Set("X-Mrun-Dashboard", "1")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var r struct{ Path, Command string }
	json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if resp.StatusCode != 200 || r.Path != "/tmp/failed/boom.replay" || r.Command != "mrun replay /tmp/failed/boom.replay" || asked != key(4) {
		t.Errorf("replay: %d %+v, asked %s", resp.StatusCode, r, asked)
	}
	if resp := get(t, hs.URL+"/api/replay?id=0", nil); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET replay: %d, want 405", resp.StatusCode)
	}
}

// TestServer_events reads the stream: each message is one JSON line of the whole state, and
// the calls that ended are sent once.
func TestServer_events(t *testing.T) {
	s, hs := fed(t, dashboard.Config{Interval: 10 * time.Millisecond})
	resp, err := http.Get(hs.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	next := func() state {
		t.Helper()
		for sc.Scan() {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "id: ") {
				continue
			}
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				t.Fatalf("line %q is not data", line)
			}
			if strings.ContainsAny(data, "<>") {
				t.Errorf("a message holds a raw < or >: %s", data)
			}
			var st state
			if err := json.Unmarshal([]byte(data), &st); err != nil {
				t.Fatalf("%v: %s", err, data)
			}
			return st
		}
		t.Fatalf("stream ended: %v", sc.Err())
		return state{}
	}
	if st := next(); len(st.Spans) != 2 || st.Total.Done != 1 {
		t.Errorf("first message: %d spans, %d done; want 2, 1", len(st.Spans), st.Total.Done)
	}
	s.Event(dag.Event{Kind: dag.EventFinish, Key: key(1), Slot: 1, Time: time.Now()})
	for {
		st := next()
		if st.Total.Done == 1 {
			if len(st.Spans) != 0 {
				t.Fatalf("a message repeats spans: %v", st.Spans)
			}
			continue
		}
		if st.Total.Done != 2 || len(st.Spans) != 1 || st.Spans[0][0] != 1 {
			t.Errorf("after a finish: %d done, spans %v; want 2 and one span on slot 1", st.Total.Done, st.Spans)
		}
		break
	}
	s.Close() // ends the stream
	for sc.Scan() {
	}
}

func TestServer_page(t *testing.T) {
	_, hs := fed(t, dashboard.Config{})
	for path, want := range map[string]string{"/": "text/html", "/app.js": "text/javascript", "/style.css": "text/css"} {
		resp := get(t, hs.URL+path, nil)
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, want) {
			t.Errorf("%s: %d %q, want %s", path, resp.StatusCode, ct, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("%s: Content-Security-Policy = %q", path, csp)
		}
	}
}

// TestServer_mounted serves the page under a prefix: its URLs are relative.
func TestServer_mounted(t *testing.T) {
	s := dashboard.New(dashboard.Config{Title: "t"})
	defer s.Close()
	mux := http.NewServeMux()
	mux.Handle("/ops/dash/", http.StripPrefix("/ops/dash", s))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	var st state
	if resp := get(t, hs.URL+"/ops/dash/api/state", &st); resp.StatusCode != 200 || st.Title != "t" {
		t.Errorf("api/state under a prefix: %d %+v", resp.StatusCode, st)
	}
	if resp := get(t, hs.URL+"/ops/dash/app.js", nil); resp.StatusCode != 200 {
		t.Errorf("app.js under a prefix: %d", resp.StatusCode)
	}
	resp, err := http.Get(hs.URL + "/ops/dash/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, abs := range []string{`src="/`, `href="/`, `"//`, "http://", "https://"} {
		if strings.Contains(string(b), abs) {
			t.Errorf("the page holds a URL that is not relative: %s", abs)
		}
	}
}

// TestServer_workers lists a cluster's workers, with their rate and the peak memory of the
// calls they ran.
func TestServer_workers(t *testing.T) {
	done := make(chan struct{}, 1)
	s := dashboard.New(dashboard.Config{Workers: func(ctx context.Context) ([]dashboard.Worker, error) {
		select {
		case done <- struct{}{}:
		default:
		}
		return []dashboard.Worker{{ID: "w1", Host: "h", PID: 7, Slots: 2, Running: 1, Done: 5, LastSeen: time.Now()}, {ID: "w2", Slots: 2}}, nil
	}})
	defer s.Close()
	s.Event(dag.Event{Kind: dag.EventStart, Key: key(1)})
	s.Event(dag.Event{Kind: dag.EventFinish, Key: key(1), Usage: dag.Usage{Worker: "w1", PeakMemory: 1 << 20}})
	<-done
	hs := httptest.NewServer(s)
	defer hs.Close()
	var st struct {
		Cluster bool
		Workers []struct {
			ID             string
			Slots, Running int
			Done           uint64
			Memory         uint64
		}
	}
	for range 100 { // the first poll lands right after done is sent
		get(t, hs.URL+"/api/state", &st)
		if len(st.Workers) == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !st.Cluster || len(st.Workers) != 2 || st.Workers[0].ID != "w1" || st.Workers[0].Done != 5 || st.Workers[0].Memory != 1<<20 || st.Workers[1].ID != "w2" {
		t.Errorf("workers = %+v", st)
	}
}
