package cache_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag/cache"
)

// key returns a key whose first byte is b and the rest i.
func key(b byte, i int) abi.Key {
	var k abi.Key
	k[0] = b
	binary.BigEndian.PutUint64(k[8:], uint64(i))
	return k
}

// entryPath is where the cache in dir keeps k's entry.
func entryPath(dir string, k abi.Key) string {
	return filepath.Join(dir, k.String()[:2], k.String())
}

// logs collects what a Cache logs.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.lines
	l.lines = nil
	return s
}

func open(t testing.TB, dir string, opts cache.Options) *cache.Cache {
	t.Helper()
	c, err := cache.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCache_RoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results") // Open creates it
	c := open(t, dir, cache.Options{})
	k := key(0xab, 1)
	if v, ok := c.Get(k); ok {
		t.Fatalf("Get before Put = %q, true", v)
	}
	for _, want := range [][]byte{[]byte("\x93\x01\xa3two\xcb@\x0c\x00\x00\x00\x00\x00\x00"), {}, bytes.Repeat([]byte{0xcc}, 200<<10)} {
		c.Put(k, want)
		got, ok := c.Get(k)
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("Get after Put(%d bytes) = %d bytes, %v; want the value", len(want), len(got), ok)
		}
	}
	if _, ok := c.Get(key(0xab, 2)); ok {
		t.Fatal("Get of another key hit")
	}
	// A second Cache on the directory, as another process would open it, sees the entry.
	if got, ok := open(t, dir, cache.Options{}).Get(k); !ok || len(got) != 200<<10 {
		t.Fatalf("Get from a second Cache = %d bytes, %v", len(got), ok)
	}
	fi, err := os.Stat(entryPath(dir, k))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 40+200<<10 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("entry file: %d bytes, mode %v; want %d, -rw-------", fi.Size(), fi.Mode(), 40+200<<10)
	}
	c.Delete(k)
	if _, ok := c.Get(k); ok {
		t.Fatal("Get after Delete hit")
	}
}

func TestCache_CorruptEntryIsAMiss(t *testing.T) {
	k, other := key(0x01, 1), key(0x01, 2)
	value := []byte("\x92\xa5hello\xa5world")
	tests := []struct {
		name    string
		corrupt func(b []byte, otherEntry []byte) []byte
		log     string
	}{
		{"empty file", func(b, _ []byte) []byte { return nil }, "0 bytes, shorter than the 40-byte header"},
		{"cut in the header", func(b, _ []byte) []byte { return b[:20] }, "20 bytes, shorter than the 40-byte header"},
		{"cut in the value", func(b, _ []byte) []byte { return b[:len(b)-1] }, "header says 13 bytes of value, the file has 12"},
		{"header only", func(b, _ []byte) []byte { return b[:40] }, "header says 13 bytes of value, the file has 0"},
		{"a byte too many", func(b, _ []byte) []byte { return append(b, 0) }, "header says 13 bytes of value, the file has 14"},
		{"flipped bit in the value", func(b, _ []byte) []byte { b[45] ^= 1; return b }, "checksum mismatch"},
		{"zeroed value", func(b, _ []byte) []byte { clear(b[40:]); return b }, "checksum mismatch"},
		{"length and value changed together", func(b, _ []byte) []byte {
			b = b[:len(b)-1]
			binary.BigEndian.PutUint64(b[24:32], 12)
			return b
		}, "checksum mismatch"},
		{"flipped bit in the checksum", func(b, _ []byte) []byte { b[33] ^= 0x80; return b }, "checksum mismatch"},
		{"other format version", func(b, _ []byte) []byte { b[7] = 2; return b }, `not an entry of this format (header "mrunres\x02")`},
		{"not an entry", func(b, _ []byte) []byte { return []byte(strings.Repeat("x", 60)) }, `not an entry of this format (header "xxxxxxxx")`},
		{"another key's entry", func(_, o []byte) []byte { return o }, "holds key " + other.String()},
		{"reserved bytes set", func(b, _ []byte) []byte { b[39] = 1; return b }, "reserved header bytes are not zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			var l logs
			c := open(t, dir, cache.Options{Logf: l.logf})
			c.Put(k, value)
			c.Put(other, []byte{0xc0})
			name := entryPath(dir, k)
			b, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			o, err := os.ReadFile(entryPath(dir, other))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(name, tt.corrupt(b, o), 0o600); err != nil {
				t.Fatal(err)
			}
			if v, ok := c.Get(k); ok {
				t.Fatalf("Get = %q, true; want a miss", v)
			}
			if _, err := os.Stat(name); !os.IsNotExist(err) {
				t.Fatalf("the corrupt entry is still there (%v)", err)
			}
			want := []string{"cache: removed corrupt entry " + k.String() + ": " + tt.log}
			if got := l.take(); !slices.Equal(got, want) {
				t.Fatalf("logged %q, want %q", got, want)
			}
			c.Put(k, value) // and the next Put stores it again
			if v, ok := c.Get(k); !ok || !bytes.Equal(v, value) {
				t.Fatalf("Get after a new Put = %q, %v", v, ok)
			}
		})
	}
}

// A crash in the middle of a Put leaves a temporary file, never an entry: the key stays a miss,
// and a trim removes the leftover once it is an hour old.
func TestCache_CrashedWriteLeavesNoEntry(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, cache.Options{ManualTrim: true})
	k := key(0x7f, 1)
	c.Put(key(0x7f, 2), []byte{1})
	whole, err := os.ReadFile(entryPath(dir, key(0x7f, 2)))
	if err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, "7f", ".tmp-123")
	fresh := filepath.Join(dir, "7f", ".tmp-456")
	for _, name := range []string{stale, fresh} {
		if err := os.WriteFile(name, whole[:30], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	if err := os.Chtimes(stale, now.Add(-2*time.Hour), now.Add(-2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.Get(k); ok {
		t.Fatal("Get hit with only a temporary file there")
	}
	if st, err := c.Stats(); err != nil || st.Entries != 1 {
		t.Fatalf("Stats = %+v, %v; want 1 entry: temporary files are not entries", st, err)
	}
	if _, err := c.Trim(now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the hour-old temporary file is still there (%v)", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("the fresh temporary file, maybe a write in progress, was removed: %v", err)
	}
}

// value returns the value writer w puts on its n-th round: its length and every byte say which
// it is, so a reader can tell a whole value from a mix of two.
func value(w, n int) []byte {
	b := byte(w*31 + n)
	return bytes.Repeat([]byte{b}, 1000+int(b)*37)
}

// checkValue reports what is wrong with a value read back, if anything.
func checkValue(v []byte) error {
	if len(v) == 0 {
		return fmt.Errorf("empty value")
	}
	if want := 1000 + int(v[0])*37; len(v) != want || bytes.Count(v, v[:1]) != len(v) {
		return fmt.Errorf("torn value: %d bytes starting %#x, want %d bytes all the same", len(v), v[0], want)
	}
	return nil
}

// hammer Puts and Gets the same few keys from many goroutines on caches, and returns the first
// torn read.
func hammer(caches []*cache.Cache, rounds int) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		hits  int
	)
	for w := range 8 {
		c := caches[w%len(caches)]
		wg.Go(func() {
			for n := range rounds {
				k := key(0x42, n%3)
				if w%2 == 0 {
					c.Put(k, value(w, n))
					continue
				}
				if v, ok := c.Get(k); ok {
					err := checkValue(v)
					mu.Lock()
					hits++
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if first == nil && hits == 0 {
		return fmt.Errorf("no Get hit: the test tested nothing")
	}
	return first
}

func TestCache_ConcurrentPutGet(t *testing.T) {
	dir := t.TempDir()
	var l logs
	a := open(t, dir, cache.Options{Logf: l.logf})
	b := open(t, dir, cache.Options{Logf: l.logf})                                             // as a second process would
	trimmer := open(t, dir, cache.Options{Logf: l.logf, MaxBytes: 12 << 10, ManualTrim: true}) // room for one or two values
	done := make(chan struct{})
	trimmed := make(chan error)
	var removed atomic.Int64
	go func() { // entries disappear under readers and writers: they miss, never tear
		defer close(trimmed)
		for {
			select {
			case <-done:
				return
			default:
			}
			st, err := trimmer.Trim(time.Now())
			if err != nil {
				trimmed <- err
				return
			}
			removed.Add(int64(st.Removed))
			time.Sleep(time.Millisecond)
		}
	}()
	err := hammer([]*cache.Cache{a, b}, 300)
	close(done)
	if err := <-trimmed; err != nil {
		t.Fatal(err)
	}
	if removed.Load() == 0 {
		t.Fatal("the trims removed nothing while the others ran: the test tested nothing")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := l.take(); len(got) > 0 {
		t.Fatalf("logged %q", got)
	}
}

// Two processes hammer one directory: neither ever reads a torn value.
func TestCache_ConcurrentProcesses(t *testing.T) {
	if dir := os.Getenv("MRUN_CACHE_TEST_HAMMER"); dir != "" {
		var l logs
		c := open(t, dir, cache.Options{Logf: l.logf})
		if err := hammer([]*cache.Cache{c}, 300); err != nil {
			t.Fatal(err)
		}
		if got := l.take(); len(got) > 0 {
			t.Fatalf("logged %q", got)
		}
		return
	}
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCache_ConcurrentProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), "MRUN_CACHE_TEST_HAMMER="+dir)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
		defer func() {
			if err := cmd.Wait(); err != nil {
				t.Errorf("a hammering process failed: %v\n%s", err, out.String())
			}
		}()
	}
}

// setUsed sets the use time of key's entry.
func setUsed(t *testing.T, dir string, k abi.Key, used time.Time) {
	t.Helper()
	if err := os.Chtimes(entryPath(dir, k), used, used); err != nil {
		t.Fatal(err)
	}
}

func TestCache_Trim(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		opts  cache.Options
		ages  []time.Duration // of entries with values of 60 bytes: 100 bytes on disk
		stats cache.TrimStats
		kept  []int // indexes into ages
	}{
		{"by age", cache.Options{MaxAge: 24 * time.Hour}, []time.Duration{0, time.Hour, 24 * time.Hour, 24*time.Hour + time.Second, 30 * 24 * time.Hour},
			cache.TrimStats{Removed: 2, RemovedBytes: 200, Kept: 3, KeptBytes: 300}, []int{0, 1, 2}},
		{"by age, default 5 days", cache.Options{}, []time.Duration{0, 5 * 24 * time.Hour, 5*24*time.Hour + time.Minute},
			cache.TrimStats{Removed: 1, RemovedBytes: 100, Kept: 2, KeptBytes: 200}, []int{0, 1}},
		{"by size, least recently used first", cache.Options{MaxBytes: 300}, []time.Duration{3 * time.Hour, 1 * time.Hour, 5 * time.Hour, 0, 4 * time.Hour},
			cache.TrimStats{Removed: 2, RemovedBytes: 200, Kept: 3, KeptBytes: 300}, []int{0, 1, 3}},
		{"by size, under the limit", cache.Options{MaxBytes: 301}, []time.Duration{2 * time.Hour, time.Hour, 0},
			cache.TrimStats{Kept: 3, KeptBytes: 300}, []int{0, 1, 2}},
		{"by age, then by size", cache.Options{MaxBytes: 150, MaxAge: 2 * time.Hour}, []time.Duration{3 * time.Hour, time.Hour, 0},
			cache.TrimStats{Removed: 2, RemovedBytes: 200, Kept: 1, KeptBytes: 100}, []int{2}},
		{"empty", cache.Options{}, nil, cache.TrimStats{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.opts.ManualTrim = true
			c := open(t, dir, tt.opts)
			for i, age := range tt.ages {
				c.Put(key(byte(i*70), i), make([]byte, 60))
				setUsed(t, dir, key(byte(i*70), i), now.Add(-age))
			}
			st, err := c.Trim(now)
			if err != nil || st != tt.stats {
				t.Fatalf("Trim = %+v, %v; want %+v", st, err, tt.stats)
			}
			var kept []int
			for i := range tt.ages {
				if _, err := os.Stat(entryPath(dir, key(byte(i*70), i))); err == nil {
					kept = append(kept, i)
				}
			}
			if !slices.Equal(kept, tt.kept) {
				t.Fatalf("entries kept %v, want %v", kept, tt.kept)
			}
			if got := c.LastTrim(); !got.Equal(now) {
				t.Fatalf("LastTrim = %v, want %v", got, now)
			}
		})
	}
}

// clock is a settable clock for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func TestCache_AutoTrimOnceADay(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Now().Truncate(time.Second)
	clk := &clock{now: t0}
	opts := cache.Options{MaxAge: 10 * 24 * time.Hour, Now: clk.Now}
	// old stores an entry last used 11 days before now: a trim removes it.
	n := 0
	old := func(c *cache.Cache) abi.Key {
		n++
		k := key(0x10, n)
		c.Put(k, []byte{0xc0})
		setUsed(t, dir, k, clk.Now().Add(-11*24*time.Hour))
		return k
	}
	present := func(k abi.Key) bool { _, err := os.Stat(entryPath(dir, k)); return err == nil }

	manual := open(t, dir, cache.Options{ManualTrim: true})
	k1 := old(manual)
	c := open(t, dir, opts) // never trimmed: Open trims
	if present(k1) {
		t.Fatal("Open of a cache never trimmed did not trim it")
	}
	if got := c.LastTrim(); !got.Equal(t0) {
		t.Fatalf("LastTrim = %v, want %v", got, t0)
	}

	clk.set(t0.Add(23 * time.Hour))
	k2 := old(c) // Put 23 h after the trim: not due
	if c2 := open(t, dir, opts); !present(k2) || !c2.LastTrim().Equal(t0) {
		t.Fatal("Open 23 hours after a trim trimmed again")
	}
	c.Put(key(0x11, 1), []byte{0xc0})
	if !present(k2) {
		t.Fatal("Put 23 hours after a trim trimmed again")
	}

	clk.set(t0.Add(24*time.Hour + time.Second))
	c.Put(key(0x11, 2), []byte{0xc0}) // a day later, the first Put trims
	if present(k2) {
		t.Fatal("Put a day after the last trim did not trim")
	}
	k3 := old(c) // and the next does not
	if !present(k3) {
		t.Fatal("a second Put right after the trim trimmed again")
	}
	// Another process's Cache reads the marker: a trim a minute ago is not due.
	clk.set(t0.Add(24*time.Hour + time.Minute))
	open(t, dir, opts).Put(key(0x11, 3), []byte{0xc0})
	if !present(k3) {
		t.Fatal("a second Cache trimmed though the first trimmed a minute ago")
	}
	if got, want := c.LastTrim(), t0.Add(24*time.Hour+time.Second); !got.Equal(want) {
		t.Fatalf("LastTrim = %v, want %v", got, want)
	}
}

// A process that stores a lot does not wait a day to trim: it trims each time it has stored a
// quarter of MaxBytes.
func TestCache_AutoTrimBySize(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, cache.Options{MaxBytes: 1000}) // entries of 100 bytes: a trim every third Put
	for i := range 12 {
		c.Put(key(byte(i), i), make([]byte, 60))
	}
	if st, err := c.Stats(); err != nil || st.Entries != 10 || st.Bytes != 1000 {
		t.Fatalf("after 12 Puts of 100 bytes: Stats = %+v, %v; want 10 entries, 1000 bytes", st, err)
	}
	c.Put(key(12, 12), make([]byte, 60))
	if st, err := c.Stats(); err != nil || st.Entries != 11 || st.Bytes != 1100 {
		t.Fatalf("after 13 Puts of 100 bytes: Stats = %+v, %v; want 11 entries, 1100 bytes", st, err)
	}
}

func TestCache_Stats(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, cache.Options{ManualTrim: true})
	if st, err := c.Stats(); err != nil || st != (cache.Stats{}) {
		t.Fatalf("Stats of an empty cache = %+v, %v", st, err)
	}
	t0 := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	for i, n := range []int{0, 10, 1000} {
		c.Put(key(byte(i), i), make([]byte, n))
		setUsed(t, dir, key(byte(i), i), t0.Add(time.Duration(i)*time.Hour))
	}
	// Files that are not entries do not count.
	os.WriteFile(filepath.Join(dir, "00", "not-a-key"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "01", key(0, 9).String()), []byte("x"), 0o600) // in the wrong subdirectory
	st, err := c.Stats()
	want := cache.Stats{Entries: 3, Bytes: 3*40 + 1010, Oldest: t0, Newest: t0.Add(2 * time.Hour)}
	if err != nil || st.Entries != want.Entries || st.Bytes != want.Bytes || !st.Oldest.Equal(want.Oldest) || !st.Newest.Equal(want.Newest) {
		t.Fatalf("Stats = %+v, %v; want %+v", st, err, want)
	}
	var keys []string
	if err := c.Entries(func(e cache.Entry) bool { keys = append(keys, e.Key.String()); return len(keys) < 2 }); err != nil {
		t.Fatal(err)
	}
	if want := []string{key(0, 0).String(), key(1, 1).String()}; !slices.Equal(keys, want) {
		t.Fatalf("Entries stopped after %q, want %q", keys, want)
	}
}

func TestCache_Clean(t *testing.T) {
	dir := t.TempDir()
	c := open(t, dir, cache.Options{ManualTrim: true})
	for i := range 5 {
		c.Put(key(byte(i*50), i), make([]byte, i))
	}
	st, err := c.Clean()
	if want := (cache.TrimStats{Removed: 5, RemovedBytes: 5*40 + 10}); err != nil || st != want {
		t.Fatalf("Clean = %+v, %v; want %+v", st, err, want)
	}
	if st, err := c.Stats(); err != nil || st != (cache.Stats{}) {
		t.Fatalf("Stats after Clean = %+v, %v", st, err)
	}
	if _, ok := c.Get(key(0, 0)); ok {
		t.Fatal("Get after Clean hit")
	}
	c.Put(key(0, 0), []byte{1}) // the cache works on
	if v, ok := c.Get(key(0, 0)); !ok || !bytes.Equal(v, []byte{1}) {
		t.Fatalf("Get after Clean and Put = %v, %v", v, ok)
	}
}

func TestCache_GetMarksUse(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().Truncate(time.Second)
	c := open(t, dir, cache.Options{ManualTrim: true, Now: func() time.Time { return now }})
	recent, stale := key(1, 1), key(2, 2)
	for _, k := range []abi.Key{recent, stale} {
		c.Put(k, []byte{0xc0})
	}
	setUsed(t, dir, recent, now.Add(-59*time.Minute))
	setUsed(t, dir, stale, now.Add(-61*time.Minute))
	c.Get(recent)
	c.Get(stale)
	for k, want := range map[abi.Key]time.Time{recent: now.Add(-59 * time.Minute), stale: now} {
		fi, err := os.Stat(entryPath(dir, k))
		if err != nil {
			t.Fatal(err)
		}
		if !fi.ModTime().Equal(want) {
			t.Errorf("use time of %s after Get = %v, want %v", k, fi.ModTime(), want)
		}
	}
}

func TestCache_PutFailureIsLogged(t *testing.T) {
	dir := t.TempDir()
	var l logs
	c := open(t, dir, cache.Options{Logf: l.logf, MaxBytes: 1 << 20})
	if err := os.WriteFile(filepath.Join(dir, "ab"), nil, 0o600); err != nil { // where a subdirectory should be
		t.Fatal(err)
	}
	k := key(0xab, 1)
	c.Put(k, []byte{1})
	got := l.take()
	prefix := "cache: put " + k.String() + ": open " + filepath.Join(dir, "ab", ".tmp-")
	if len(got) != 1 || !strings.HasPrefix(got[0], prefix) || !strings.HasSuffix(got[0], ": not a directory") {
		t.Fatalf("logged %q, want one line %q…: not a directory", got, prefix)
	}
	// A value larger than the whole cache is not stored, and that is no failure.
	c.Put(key(1, 1), make([]byte, 1<<20))
	if _, ok := c.Get(key(1, 1)); ok {
		t.Fatal("a value larger than MaxBytes was stored")
	}
	if got := l.take(); len(got) != 0 {
		t.Fatalf("logged %q", got)
	}
}

func TestOpen_Errors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o600)
	for _, tt := range []struct {
		dir  string
		opts cache.Options
		want string
	}{
		{t.TempDir(), cache.Options{MaxBytes: -1}, "cache: Options.MaxBytes is -1: want 0 (the default, 1 GiB) or more"},
		{t.TempDir(), cache.Options{MaxAge: -time.Hour}, "cache: Options.MaxAge is -1h0m0s: want 0 (the default, 5 days) or more"},
		{"", cache.Options{}, "cache: no directory given"},
		{filepath.Join(file, "results"), cache.Options{}, "cache: create the directory: mkdir " + file + ": not a directory"},
	} {
		if _, err := cache.Open(tt.dir, tt.opts); err == nil || err.Error() != tt.want {
			t.Errorf("Open(%q, %+v) = %v, want %q", tt.dir, tt.opts, err, tt.want)
		}
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("MRUN_RESULT_CACHE", "/srv/mrun-results")
	if d, err := cache.DefaultDir(); d != "/srv/mrun-results" || err != nil {
		t.Fatalf("DefaultDir with MRUN_RESULT_CACHE = %q, %v", d, err)
	}
	t.Setenv("MRUN_RESULT_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/home/ann/.cache")
	if d, err := cache.DefaultDir(); d != "/home/ann/.cache/mrun/results" || err != nil {
		t.Fatalf("DefaultDir = %q, %v; want /home/ann/.cache/mrun/results", d, err)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "")
	if _, err := cache.DefaultDir(); err == nil || err.Error() != "cache: no directory for the result cache: neither $XDG_CACHE_HOME nor $HOME are defined (set MRUN_RESULT_CACHE)" {
		t.Fatalf("DefaultDir without a home = %v", err)
	}
}

func BenchmarkCache(b *testing.B) {
	dir := b.TempDir()
	c := open(b, dir, cache.Options{ManualTrim: true})
	small := []byte("\x93\x01\xa3two\xcb@\x0c\x00\x00\x00\x00\x00\x00") // [1, "two", 3.5]
	hit, miss := key(1, 1), key(2, 2)
	c.Put(hit, small)
	b.Run("Get/hit", func(b *testing.B) {
		for b.Loop() {
			if _, ok := c.Get(hit); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("Get/miss", func(b *testing.B) {
		for b.Loop() {
			if _, ok := c.Get(miss); ok {
				b.Fatal("hit")
			}
		}
	})
	b.Run("Put", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			c.Put(key(byte(i), i), small)
		}
	})
}
