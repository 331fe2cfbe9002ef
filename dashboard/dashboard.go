// Package dashboard serves a live web page of running dag executions: the graph's tasks grouped
// as the graph file groups them and coloured by state, progress and rates, a timeline of the
// slots, a cluster's workers, and the detail of failed tasks.
//
// A Server is an http.Handler fed with dag.Event: pass its Event method as dag.Config.Events, or
// call it from one. It aggregates events under one mutex, without allocating for the common
// ones, and the page receives a snapshot a few times a second over server-sent events, not a
// message per task. The page's HTML, CSS and JavaScript are embedded, load nothing from
// elsewhere, and use relative URLs, so the handler can be mounted under any path of any server.
package dashboard

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

//go:embed assets
var assets embed.FS

// Config configures a Server. Its zero value is useful.
type Config struct {
	// Title names what runs, in the page's heading (as in "mrun run graph.yaml").
	Title string
	// Interval is how often the page receives an update (default 250ms).
	Interval time.Duration
	// Label names the task with a key in the detail of a failure; nil, or an empty result:
	// its group.
	Label func(abi.Key) string
	// Cancelled reports whether a failed call was stopped from outside (the whole run was
	// interrupted) rather than failing of itself; nil: errors.Is(err, context.Canceled).
	Cancelled func(error) bool
	// Replay writes a replay bundle of the failed task with the key and returns its path; the
	// page offers a button for it. Nil: no button, ReplayHint is shown instead.
	Replay func(ctx context.Context, key abi.Key) (path string, err error)
	// ReplayHint tells, when Replay is nil, how to get a failed task replayed.
	ReplayHint string
	// Arguments returns a summary of the arguments of the failed task with the key, as
	// replay.Recorder.Arguments does, for the task's detail. Nil, or false: none is shown.
	Arguments func(key abi.Key) (string, bool)
	// Workers lists a cluster's workers; the page polls it about once a second. Nil: the
	// calls run in process, and the page has no cluster view.
	Workers func(ctx context.Context) ([]Worker, error)
	// MaxFailures is how many failed tasks the page keeps the detail of (default 100); the
	// others are counted.
	MaxFailures int
}

// Worker is a cluster worker as the page lists it.
type Worker struct {
	ID, Host string
	PID      int
	// Slots is how many calls the worker runs at once; Running how many it was running.
	Slots, Running int
	// Done and Failed count the calls the worker finished since it started.
	Done, Failed uint64
	// LastSeen is the time of the worker's last report.
	LastSeen time.Time
}

// Server aggregates the events of executions and serves the page. It is safe for concurrent
// use; its methods may be called before, while and after it serves.
type Server struct {
	cfg   Config
	begin time.Time
	files http.Handler
	stop  chan struct{}
	once  sync.Once

	mu       sync.Mutex
	groups   []*group
	byName   map[string]int
	nested   map[nestedKey]int // child groups, by parent group and function
	keys     map[abi.Key]int32 // the index in tasks of each task key
	tasks    []task
	total    Counts
	retries  int
	slots    []slotState // by slot number
	spans    []span      // a ring of the calls that ended, the newest at seq-1
	seq      uint64      // spans ever recorded
	failures []*failure
	failed   int // failures beyond MaxFailures
	ended    bool
	result   string
	rate     rateMeter
	workers  []workerState
	werr     string
	peak     map[string]uint64 // largest linear memory of a call, by worker
}

// spanRing is how many ended calls the server keeps for the timeline.
const spanRing = 8192

// task is what the server knows of one task key.
type task struct {
	group   int32
	running int32 // runs of it under way: a guest may spawn a call whose key is running
}

type nestedKey struct {
	parent int
	fn     *runtime.Function
}

// Counts are the tasks in each state: Planned is all of them; those waiting are Planned minus
// the others.
type Counts struct {
	Planned   int `json:"planned"`
	Running   int `json:"running"`
	Done      int `json:"done"`
	Cached    int `json:"cached"`
	Failed    int `json:"failed"`
	Cancelled int `json:"cancelled"`
}

type group struct {
	name, fn string
	parent   int // index of the parent group of a nested spawn, or -1
	deps     []string
	Counts
}

// slotState is the call running on a slot, for the timeline.
type slotState struct {
	key   abi.Key
	group int32
	start time.Time
	busy  bool
}

// span is one call that ended on a slot, for the timeline.
type span struct {
	slot, group int32
	start, end  int64 // Unix nanoseconds
	state       uint8
}

const (
	stateDone uint8 = iota
	stateFailed
	stateCancelled
)

type failure struct {
	id     int
	key    abi.Key
	group  int
	fn     string
	label  string
	err    string
	chain  []string
	stdout string
	stderr string
	usage  dag.Usage
	at     time.Time
}

type workerState struct {
	Worker
	rate float64
	prev uint64
	at   time.Time
}

// New returns a Server with the configuration cfg. Close it to end the page's streams.
func New(cfg Config) *Server {
	if cfg.Interval <= 0 {
		cfg.Interval = 250 * time.Millisecond
	}
	if cfg.MaxFailures <= 0 {
		cfg.MaxFailures = 100
	}
	if cfg.Cancelled == nil {
		cfg.Cancelled = func(err error) bool { return errors.Is(err, context.Canceled) }
	}
	sub, _ := fs.Sub(assets, "assets")
	s := &Server{
		cfg: cfg, begin: time.Now(), files: http.FileServerFS(sub), stop: make(chan struct{}),
		byName: map[string]int{}, nested: map[nestedKey]int{}, keys: map[abi.Key]int32{},
		spans: make([]span, 0, 1024), peak: map[string]uint64{},
	}
	if cfg.Workers != nil {
		go s.pollWorkers()
	}
	return s
}

// Close ends the page's streams and stops polling the workers. The page keeps what it showed.
func (s *Server) Close() {
	s.once.Do(func() { close(s.stop) })
}

// Group declares a group of tasks: a task of a graph file (all the calls of a foreach), which
// calls the function fn (MODULE.FUNCTION) and uses the values of the groups named in deps.
// Groups are drawn in the order they are declared; Plan declares unknown ones.
func (s *Server) Group(name, fn string, deps ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.group(name)
	s.groups[i].fn, s.groups[i].deps = fn, deps
}

// group returns the index of the group named name, declaring it.
func (s *Server) group(name string) int {
	if i, ok := s.byName[name]; ok {
		return i
	}
	s.groups = append(s.groups, &group{name: name, parent: -1})
	s.byName[name] = len(s.groups) - 1
	return len(s.groups) - 1
}

// Plan says that the task with key will run as part of group: it Counts as waiting until it
// starts. A key planned twice (identical calls, which run once) Counts once.
func (s *Server) Plan(key abi.Key, group string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[key]; ok {
		return
	}
	i := s.group(group)
	s.keys[key] = int32(len(s.tasks))
	s.tasks = append(s.tasks, task{group: int32(i)})
	s.groups[i].Planned++
	s.total.Planned++
}

// End says that the execution ended, with err (nil: it succeeded); the page shows it.
func (s *Server) End(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	s.result = "finished"
	if err != nil {
		s.result = err.Error()
	}
}

// Event records ev. Pass it as dag.Config.Events, or call it from there.
func (s *Server) Event(ev dag.Event) {
	if ev.Time.IsZero() { // an event made by hand
		ev.Time = time.Now()
	}
	s.mu.Lock()
	t := s.task(&ev)
	g := int(t.group)
	c := &s.groups[g].Counts
	switch ev.Kind {
	case dag.EventStart:
		c.Running++
		s.total.Running++
		t.running++
		s.slotStart(&ev, g)
	case dag.EventFinish:
		s.ended1(c, t)
		c.Done++
		s.total.Done++
		s.slotEnd(&ev, g, stateDone)
		s.rate.add(ev.Time)
		if ev.Usage.Worker != "" && ev.Usage.PeakMemory > s.peak[ev.Usage.Worker] {
			s.peak[ev.Usage.Worker] = ev.Usage.PeakMemory
		}
	case dag.EventFail:
		s.ended1(c, t)
		st := stateFailed
		if s.cfg.Cancelled(ev.Err) {
			st = stateCancelled
			c.Cancelled++
			s.total.Cancelled++
		} else {
			c.Failed++
			s.total.Failed++
			s.fail(&ev, g)
		}
		s.slotEnd(&ev, g, st)
		s.rate.add(ev.Time)
	case dag.EventSkip:
		c.Cancelled++
		s.total.Cancelled++
	case dag.EventCached, dag.EventStored:
		c.Cached++
		s.total.Cached++
	case dag.EventRetry:
		s.retries++
	}
	s.mu.Unlock()
}

// ended1 takes a call that ended off the running count, if its start was seen.
func (s *Server) ended1(c *Counts, t *task) {
	if t.running == 0 {
		return
	}
	t.running--
	c.Running--
	s.total.Running--
}

// task returns the task of ev. A task nobody planned is planned now: a nested spawn goes to
// its parent's group's child for its function, anything else to a group named after its
// function.
func (s *Server) task(ev *dag.Event) *task {
	if i, ok := s.keys[ev.Key]; ok {
		t := &s.tasks[i]
		// A guest may spawn a call with the same key again: each spawn is a task of its own,
		// as the CLI counts them, that runs or finds its value stored.
		if ev.Depth > 0 && (ev.Kind == dag.EventStart || ev.Kind == dag.EventCached || ev.Kind == dag.EventStored) {
			s.groups[t.group].Planned++
			s.total.Planned++
		}
		return t
	}
	var g int
	if i, ok := s.keys[ev.Parent]; ok && ev.Depth > 0 {
		p := s.tasks[i].group
		nk := nestedKey{int(p), ev.Func}
		var ok bool
		if g, ok = s.nested[nk]; !ok {
			name := s.groups[p].name + "/" + funcName(ev.Func)
			g = s.group(name)
			s.groups[g].parent, s.groups[g].fn = int(p), qualified(ev.Func)
			s.nested[nk] = g
		}
	} else {
		g = s.group(funcName(ev.Func))
		s.groups[g].fn = qualified(ev.Func)
	}
	s.keys[ev.Key] = int32(len(s.tasks))
	s.tasks = append(s.tasks, task{group: int32(g)})
	s.groups[g].Planned++
	s.total.Planned++
	return &s.tasks[len(s.tasks)-1]
}

func funcName(f *runtime.Function) string {
	if f == nil {
		return "?"
	}
	return f.Name()
}

func qualified(f *runtime.Function) string {
	if f == nil {
		return ""
	}
	return f.Module().Name() + "." + f.Name()
}

// maxSlots bounds the lanes of the timeline.
const maxSlots = 1 << 12

func (s *Server) slotStart(ev *dag.Event, g int) {
	if ev.Slot < 0 || ev.Slot >= maxSlots {
		return
	}
	for len(s.slots) <= ev.Slot {
		s.slots = append(s.slots, slotState{})
	}
	s.slots[ev.Slot] = slotState{key: ev.Key, group: int32(g), start: ev.Time, busy: true}
}

// slotEnd ends the span of the call of ev on its slot. A call that waited on the calls its
// guest spawned gave its slot to them: its span is theirs.
func (s *Server) slotEnd(ev *dag.Event, g int, st uint8) {
	slot := ev.Slot
	if slot < 0 || slot >= len(s.slots) || !s.slots[slot].busy || s.slots[slot].key != ev.Key {
		return
	}
	r := s.slots[slot]
	s.slots[slot].busy = false
	sp := span{slot: int32(slot), group: int32(g), start: r.start.UnixNano(), end: ev.Time.UnixNano(), state: st}
	if len(s.spans) < spanRing {
		s.spans = append(s.spans, sp)
	} else {
		s.spans[s.seq%spanRing] = sp
	}
	s.seq++
}

// maxOutput is how much of a failed call's stdout, and of its stderr, the page shows.
const maxOutput = 64 << 10

// fail keeps the detail of a failed call.
func (s *Server) fail(ev *dag.Event, g int) {
	if len(s.failures) >= s.cfg.MaxFailures {
		s.failed++
		return
	}
	f := &failure{id: len(s.failures), key: ev.Key, group: g, fn: qualified(ev.Func), usage: ev.Usage, at: ev.Time,
		stdout: clip(ev.Stdout), stderr: clip(ev.Stderr)}
	if ev.Err != nil {
		f.err = ev.Err.Error()
		for e := errors.Unwrap(ev.Err); e != nil && len(f.chain) < 32; e = errors.Unwrap(e) {
			if m := e.Error(); len(f.chain) == 0 || f.chain[len(f.chain)-1] != m {
				f.chain = append(f.chain, m)
			}
		}
	}
	s.failures = append(s.failures, f)
}

func clip(b []byte) string {
	if len(b) > maxOutput {
		return strings.ToValidUTF8(string(b[:maxOutput]), "\uFFFD") + "\n[… " + strconv.Itoa(len(b)-maxOutput) + " more bytes]"
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// rateMeter Counts calls that ended, per 250 ms bucket, for the last few seconds.
type rateMeter struct {
	buckets [16]struct {
		at int64 // bucket number: Unix time / 250 ms
		n  int
	}
}

const bucket = int64(250 * time.Millisecond)

func (m *rateMeter) add(t time.Time) {
	b := t.UnixNano() / bucket
	if b < 0 {
		return
	}
	x := &m.buckets[b%int64(len(m.buckets))]
	if x.at != b {
		x.at, x.n = b, 0
	}
	x.n++
}

// perSecond is the rate of the last 2 s before now, the current bucket excluded.
func (m *rateMeter) perSecond(now time.Time) float64 {
	cur := now.UnixNano() / bucket
	n := 0
	for _, x := range m.buckets {
		if x.at < cur && x.at >= cur-8 {
			n += x.n
		}
	}
	return float64(n) / 2
}

// pollWorkers asks Config.Workers for the workers about once a second, until Close.
func (s *Server) pollWorkers() {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ws, err := s.cfg.Workers(ctx)
		cancel()
		now := time.Now()
		s.mu.Lock()
		if err != nil {
			s.werr = "list the workers: " + err.Error()
		} else {
			s.werr = ""
			old := make(map[string]workerState, len(s.workers))
			for _, w := range s.workers {
				old[w.ID] = w
			}
			s.workers = s.workers[:0]
			for _, w := range ws {
				st := workerState{Worker: w, prev: w.Done, at: now}
				if o, ok := old[w.ID]; ok {
					st.rate = o.rate
					if dt := now.Sub(o.at).Seconds(); dt > 0 && w.Done >= o.prev {
						st.rate = float64(w.Done-o.prev) / dt
					}
				}
				s.workers = append(s.workers, st)
			}
		}
		s.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// ServeHTTP serves the page and its data: / the page, events the stream of updates,
// api/state one update as JSON, api/task?id=N the detail of a failed task, and POST
// api/replay?id=N (with the header X-Mrun-Dashboard: 1) the replay of one.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if i := strings.LastIndex(path, "/api/"); i >= 0 {
		path = path[i+1:]
	} else if strings.HasSuffix(path, "/events") || path == "events" {
		path = "events"
	}
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	switch path {
	case "events":
		s.serveEvents(w, r)
	case "api/state":
		s.serveJSON(w, s.snapshot(0))
	case "api/task":
		s.serveTask(w, r)
	case "api/replay":
		s.serveReplay(w, r)
	default:
		// The page's files, by their base name: the handler may be mounted under any prefix.
		r2 := r.Clone(r.Context())
		base := path[strings.LastIndex(path, "/")+1:]
		r2.URL.Path = "/" + base
		if base == "" || base == "index.html" {
			r2.URL.Path = "/"
		}
		s.files.ServeHTTP(w, r2)
	}
}

func (s *Server) serveJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// serveEvents streams snapshots as server-sent events, each with the calls that ended since
// the previous one, until the client goes or the server closes.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		httpError(w, http.StatusInternalServerError, "the response writer cannot stream")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	// A page that reconnects says what it saw last: the calls that ended after it.
	since, _ := strconv.ParseUint(r.Header.Get("Last-Event-ID"), 10, 64)
	var buf []byte
	for {
		st := s.snapshot(since)
		since = st.Seq
		var err error
		buf = append(buf[:0], "id: "...)
		buf = strconv.AppendUint(buf, st.Seq, 10)
		buf = append(buf, '\n')
		buf, err = appendJSON(buf, st)
		if err != nil {
			return
		}
		if _, err := w.Write(buf); err != nil {
			return
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

func appendJSON(buf []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v) // escapes <, > and &, and never holds a newline
	if err != nil {
		return buf, err
	}
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	return append(buf, '\n', '\n'), nil
}

// State is one update of the page, as api/state and the event stream send it.
type State struct {
	Title string `json:"title"`
	// Now and Begin are Unix milliseconds; every other time is milliseconds since Begin.
	Begin    int64          `json:"begin"`
	Now      int64          `json:"now"`
	Ended    bool           `json:"ended"`
	Result   string         `json:"result,omitempty"`
	Total    Counts         `json:"total"`
	Waiting  int            `json:"waiting"`
	Retries  int            `json:"retries"`
	Rate     float64        `json:"rate"`
	Groups   []stateGroup   `json:"groups"`
	Running  []stateRunning `json:"running"`
	Spans    [][5]int64     `json:"spans"` // slot, group, start, end, state (0 done, 1 failed, 2 cancelled)
	Seq      uint64         `json:"seq"`
	Slots    int            `json:"slots"`
	Failures []stateFailure `json:"failures"`
	// MoreFailures Counts the failures beyond Config.MaxFailures.
	MoreFailures int           `json:"more_failures"`
	Workers      []stateWorker `json:"workers"`
	Cluster      bool          `json:"cluster"`
	WorkersError string        `json:"workers_error,omitempty"`
	Replay       bool          `json:"replay"`
	ReplayHint   string        `json:"replay_hint,omitempty"`
}

type stateGroup struct {
	Name    string `json:"name"`
	Func    string `json:"func"`
	Parent  int    `json:"parent"`
	Deps    []int  `json:"deps"`
	Waiting int    `json:"waiting"`
	Counts
}

type stateRunning struct {
	Slot  int   `json:"slot"`
	Group int   `json:"group"`
	Start int64 `json:"start"`
}

type stateFailure struct {
	ID    int    `json:"id"`
	Key   string `json:"key"`
	Group string `json:"group"`
	Error string `json:"error"`
}

type stateWorker struct {
	ID       string  `json:"id"`
	Host     string  `json:"host"`
	PID      int     `json:"pid"`
	Slots    int     `json:"slots"`
	Running  int     `json:"running"`
	Done     uint64  `json:"done"`
	Failed   uint64  `json:"failed"`
	Rate     float64 `json:"rate"`
	Memory   uint64  `json:"memory"`
	LastSeen int64   `json:"last_seen"` // milliseconds ago
}

// maxSpans bounds the spans of one update; the timeline of a fast run shows a sample.
const maxSpans = 4000

// snapshot is the state now, with the spans recorded after the first since.
func (s *Server) snapshot(since uint64) *State {
	now := time.Now()
	ms := func(t time.Time) int64 { return t.Sub(s.begin).Milliseconds() }
	s.mu.Lock()
	defer s.mu.Unlock()
	st := &State{Title: s.cfg.Title, Begin: s.begin.UnixMilli(), Now: now.UnixMilli(), Ended: s.ended, Result: s.result,
		Total: s.total, Retries: s.retries, Rate: s.rate.perSecond(now), Seq: s.seq, Slots: len(s.slots),
		MoreFailures: s.failed, Cluster: s.cfg.Workers != nil, WorkersError: s.werr,
		Replay: s.cfg.Replay != nil, ReplayHint: s.cfg.ReplayHint,
		Groups: make([]stateGroup, len(s.groups)), Running: []stateRunning{}, Spans: [][5]int64{},
		Failures: make([]stateFailure, len(s.failures)), Workers: []stateWorker{}}
	st.Waiting = waiting(s.total)
	for i, g := range s.groups {
		sg := stateGroup{Name: g.name, Func: g.fn, Parent: g.parent, Deps: []int{}, Counts: g.Counts, Waiting: waiting(g.Counts)}
		for _, d := range g.deps {
			if j, ok := s.byName[d]; ok {
				sg.Deps = append(sg.Deps, j)
			}
		}
		st.Groups[i] = sg
	}
	for i, r := range s.slots {
		if r.busy {
			st.Running = append(st.Running, stateRunning{Slot: i, Group: int(r.group), Start: ms(r.start)})
		}
	}
	from := since
	if s.seq-from > uint64(len(s.spans)) {
		from = s.seq - uint64(len(s.spans))
	}
	if s.seq-from > maxSpans {
		from = s.seq - maxSpans
	}
	for q := from; q < s.seq; q++ {
		sp := s.spans[q%spanRing]
		if len(s.spans) < spanRing {
			sp = s.spans[q]
		}
		b := s.begin.UnixNano()
		st.Spans = append(st.Spans, [5]int64{int64(sp.slot), int64(sp.group), (sp.start - b) / 1e6, (sp.end - b) / 1e6, int64(sp.state)})
	}
	for i, f := range s.failures {
		st.Failures[i] = stateFailure{ID: f.id, Key: f.key.String(), Group: s.groups[f.group].name, Error: f.err}
	}
	for _, w := range s.workers {
		st.Workers = append(st.Workers, stateWorker{ID: w.ID, Host: w.Host, PID: w.PID, Slots: w.Slots, Running: w.Running,
			Done: w.Done, Failed: w.Failed, Rate: w.rate, Memory: s.peak[w.ID], LastSeen: max(now.Sub(w.LastSeen), 0).Milliseconds()})
	}
	return st
}

func waiting(c Counts) int {
	return max(c.Planned-c.Running-c.Done-c.Cached-c.Failed-c.Cancelled, 0)
}

// TaskDetail is the detail of a failed task, as api/task sends it.
type TaskDetail struct {
	ID       int    `json:"id"`
	Key      string `json:"key"`
	Label    string `json:"label"`
	Group    string `json:"group"`
	Function string `json:"function"`
	// Args summarises the call's arguments (Config.Arguments); empty when unknown.
	Args  string `json:"args,omitempty"`
	Error string `json:"error"`
	// Chain are the errors the error wraps, outermost first.
	Chain      []string `json:"chain"`
	Stdout     string   `json:"stdout"`
	Stderr     string   `json:"stderr"`
	At         int64    `json:"at"` // milliseconds since the state's begin
	Usage      usage    `json:"usage"`
	Replay     bool     `json:"replay"`
	ReplayHint string   `json:"replay_hint,omitempty"`
}

type usage struct {
	WallMS      float64 `json:"wall_ms"`
	GuestMS     float64 `json:"guest_ms"`
	PeakMemory  uint64  `json:"peak_memory"`
	ArgBytes    int     `json:"arg_bytes"`
	ResultBytes int     `json:"result_bytes"`
	Spawned     int     `json:"spawned"`
	Attempts    int     `json:"attempts"`
	Worker      string  `json:"worker"`
}

// failure returns the failure the request names with id=N.
func (s *Server) failure(r *http.Request) (*failure, bool) {
	id, err := strconv.Atoi(r.URL.Query().Get("id"))
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || id < 0 || id >= len(s.failures) {
		return nil, false
	}
	return s.failures[id], true
}

func (s *Server) serveTask(w http.ResponseWriter, r *http.Request) {
	f, ok := s.failure(r)
	if !ok {
		httpError(w, http.StatusNotFound, "no failed task with id "+strconv.Quote(r.URL.Query().Get("id")))
		return
	}
	d := TaskDetail{ID: f.id, Key: f.key.String(), Function: f.fn, Error: f.err, Chain: f.chain, Stdout: f.stdout, Stderr: f.stderr,
		At: f.at.Sub(s.begin).Milliseconds(), Replay: s.cfg.Replay != nil, ReplayHint: s.cfg.ReplayHint,
		Usage: usage{WallMS: float64(f.usage.Wall) / 1e6, GuestMS: float64(f.usage.Guest) / 1e6, PeakMemory: f.usage.PeakMemory,
			ArgBytes: f.usage.ArgBytes, ResultBytes: f.usage.ResultBytes, Spawned: f.usage.Spawned, Attempts: f.usage.Attempts, Worker: f.usage.Worker}}
	if d.Chain == nil {
		d.Chain = []string{}
	}
	if s.cfg.Arguments != nil {
		if a, ok := s.cfg.Arguments(f.key); ok {
			d.Args = a
		}
	}
	s.mu.Lock()
	d.Group = s.groups[f.group].name
	s.mu.Unlock()
	if s.cfg.Label != nil {
		d.Label = s.cfg.Label(f.key)
	}
	if d.Label == "" {
		d.Label = d.Group
	}
	s.serveJSON(w, d)
}

func (s *Server) serveReplay(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		httpError(w, http.StatusMethodNotAllowed, "replay wants POST")
		return
	}
	// Another site's page cannot send this header without the server's leave (CORS), which
	// it never gives: it cannot make a browser ask for replays.
	if r.Header.Get("X-Mrun-Dashboard") != "1" {
		httpError(w, http.StatusForbidden, "replay wants the header X-Mrun-Dashboard: 1")
		return
	}
	if s.cfg.Replay == nil {
		httpError(w, http.StatusNotFound, "replay is not available: "+s.cfg.ReplayHint)
		return
	}
	f, ok := s.failure(r)
	if !ok {
		httpError(w, http.StatusNotFound, "no failed task with id "+strconv.Quote(r.URL.Query().Get("id")))
		return
	}
	path, err := s.cfg.Replay(r.Context(), f.key)
	if err != nil {
		httpError(w, http.StatusInternalServerError, "replay task "+f.key.String()+": "+err.Error())
		return
	}
	s.serveJSON(w, map[string]string{"path": path, "command": "mrun replay " + path})
}
