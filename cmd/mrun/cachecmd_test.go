package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag/cache"
)

// resultCache makes a result cache in a new directory with one entry per use time, each
// holding a 1-byte value (41 bytes on disk), and records a trim at lastTrim.
func resultCache(t *testing.T, lastTrim time.Time, used ...time.Time) string {
	t.Helper()
	dir := t.TempDir()
	c, err := cache.Open(dir, cache.Options{ManualTrim: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Trim(lastTrim); err != nil {
		t.Fatal(err)
	}
	for i, u := range used {
		k := abi.Key{byte(i * 100), 1}
		c.Put(k, []byte{byte(i)})
		if err := os.Chtimes(filepath.Join(dir, k.String()[:2], k.String()), u, u); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCacheCmd(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	now := time.Now()
	tests := []struct {
		name  string
		dir   string // --result-cache
		args  []string
		out   string
		left  int // entries left after the command
		dirOK bool
	}{
		{"info", resultCache(t, t0, t0.Add(2*time.Hour), t0, t0.Add(time.Hour)), []string{"cache"},
			"directory:  {dir}\nentries:    3 entries (123 bytes)\noldest use: 2026-12-01 09:30:00 UTC\nnewest use: 2026-12-01 11:30:00 UTC\nlast trim:  2026-12-01 09:30:00 UTC\n", 3, true},
		{"info, one entry", resultCache(t, t0, t0), []string{"cache", "info"},
			"directory:  {dir}\nentries:    1 entry (41 bytes)\noldest use: 2026-12-01 09:30:00 UTC\nnewest use: 2026-12-01 09:30:00 UTC\nlast trim:  2026-12-01 09:30:00 UTC\n", 1, true},
		{"info, empty", t.TempDir(), []string{"cache", "info"},
			"directory:  {dir}\nentries:    0 entries (0 bytes)\nlast trim:  never\n", 0, true},
		{"info, no directory", filepath.Join(t.TempDir(), "results"), []string{"cache"},
			"directory:  {dir} (not created yet)\nentries:    0\n", 0, false},
		{"clean", resultCache(t, t0, t0, now, now), []string{"cache", "clean"},
			"removed 3 entries (123 bytes) from {dir}\n", 0, true},
		{"trim by default", resultCache(t, t0, now.Add(-6*24*time.Hour), now.Add(-4*24*time.Hour), now), []string{"cache", "trim"},
			"removed 1 entry (41 bytes) unused for more than 5 days or beyond 1 GiB; 2 entries (82 bytes) stay\n", 2, true},
		{"trim --max-age", resultCache(t, t0, now.Add(-37*time.Hour), now.Add(-35*time.Hour), now), []string{"cache", "trim", "--max-age", "1d12h"},
			"removed 1 entry (41 bytes) unused for more than 36h0m0s or beyond 1 GiB; 2 entries (82 bytes) stay\n", 2, true},
		{"trim --max-age in hours", resultCache(t, t0, now.Add(-49*time.Hour), now), []string{"cache", "trim", "--max-age", "48h"},
			"removed 1 entry (41 bytes) unused for more than 2 days or beyond 1 GiB; 1 entry (41 bytes) stay\n", 1, true},
		{"trim --max-size", resultCache(t, t0, now.Add(-time.Hour), now.Add(-3*time.Hour), now, now.Add(-2*time.Hour)), []string{"cache", "trim", "--max-size", "100"},
			"removed 2 entries (82 bytes) unused for more than 5 days or beyond 100 bytes; 2 entries (82 bytes) stay\n", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := mrun(t, append([]string{"--result-cache", tt.dir}, tt.args...)...)
			want := strings.ReplaceAll(tt.out, "{dir}", tt.dir)
			if out != want || errOut != "" || code != 0 {
				t.Fatalf("got stdout %q stderr %q exit %d\nwant stdout %q", out, errOut, code, want)
			}
			_, err := os.Stat(tt.dir)
			if err == nil != tt.dirOK {
				t.Fatalf("the directory: %v; want it there: %v", err, tt.dirOK)
			}
			if !tt.dirOK {
				return
			}
			c, err := cache.Open(tt.dir, cache.Options{ManualTrim: true})
			if err != nil {
				t.Fatal(err)
			}
			if st, err := c.Stats(); err != nil || st.Entries != tt.left {
				t.Fatalf("after the command: %d entries (%v), want %d", st.Entries, err, tt.left)
			}
		})
	}
}

func TestCacheCmd_Errors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"cache", "trim", "--max-age", "0"}, `mrun: invalid argument "0" for "--max-age" flag: 0 is too short: to remove every entry, use 'mrun cache clean' (see 'mrun cache trim --help')`},
		{[]string{"cache", "trim", "--max-age", "5days"}, `mrun: invalid argument "5days" for "--max-age" flag: "5days" is not a duration like 5d, 12h or 90m (see 'mrun cache trim --help')`},
		{[]string{"cache", "trim", "--max-age", "-1h"}, `mrun: invalid argument "-1h" for "--max-age" flag: -1h is too short: to remove every entry, use 'mrun cache clean' (see 'mrun cache trim --help')`},
		{[]string{"cache", "trim", "--max-size", "0MiB"}, `mrun: invalid argument "0MiB" for "--max-size" flag: 0MiB is too small: to remove every entry, use 'mrun cache clean' (see 'mrun cache trim --help')`},
		{[]string{"cache", "trim", "--max-size", "1x"}, `mrun: invalid argument "1x" for "--max-size" flag: "1x" is not a size like 512MiB or 16GiB (see 'mrun cache trim --help')`},
		{[]string{"--result-cache", "", "cache"}, `mrun: no directory for the result cache: pass --result-cache DIR or set MRUN_RESULT_CACHE`},
		{[]string{"--result-cache", filepath.Join(file, "results"), "cache", "clean"}, `mrun: --result-cache ` + filepath.Join(file, "results") + `: cache: create the directory: mkdir ` + file + `: not a directory`},
		{[]string{"cache", "tidy"}, `mrun: unknown command "tidy" for "mrun cache" (see 'mrun --help')`},
		{[]string{"cache", "clean", "now"}, `mrun: unknown command "now" for "mrun cache clean" (see 'mrun --help')`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			args := tt.args
			if !slices.Contains(args, "--result-cache") {
				args = append([]string{"--result-cache", dir}, args...)
			}
			out, errOut, code := mrun(t, args...)
			if out != "" || errOut != tt.err+"\n" || code != exitUsage {
				t.Fatalf("got stdout %q stderr %q exit %d\nwant stderr %q exit %d", out, errOut, code, tt.err, exitUsage)
			}
		})
	}
}
