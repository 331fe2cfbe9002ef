package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fakeMrun writes a shell script standing in for mrun: it logs its arguments and environment
// to log, then runs body.
func fakeMrun(t *testing.T, body string) (mrun, log string) {
	t.Helper()
	dir := t.TempDir()
	mrun, log = filepath.Join(dir, "mrun"), filepath.Join(dir, "log")
	script := "#!/bin/sh\necho \"$(basename \"$MRUN_CACHE_DIR\") $(basename \"$MRUN_RESULT_CACHE\") $*\" >> " + log + "\n" + body
	if err := os.WriteFile(mrun, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return mrun, log
}

// A rerun warms the compilation cache with a result cache of its own, then runs the graph
// three times on one result cache, the third with --no-cache, and prints one line per run.
func TestRerun(t *testing.T) {
	mrun, log := fakeMrun(t, `mkdir -p "$MRUN_RESULT_CACHE" && touch "$MRUN_RESULT_CACHE/entry"
echo '{"total": 5000050000}'
`)
	var out strings.Builder
	if err := rerun([]string{mrun, "graph.yaml"}, &out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^BenchmarkRerun/first\t1\t\d+ ns/op\nBenchmarkRerun/cached\t1\t\d+ ns/op\nBenchmarkRerun/uncached\t1\t\d+ ns/op\n$`).MatchString(out.String()) {
		t.Errorf("rerun printed %q", out.String())
	}
	calls, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if want := "code warm-up run graph.yaml\ncode results run graph.yaml\ncode results run graph.yaml\ncode results run graph.yaml --no-cache\n"; string(calls) != want {
		t.Errorf("mrun ran as\n%s\nwant\n%s", calls, want)
	}
}

func TestRerun_Fails(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       *regexp.Regexp
	}{{
		"cached output differs",
		`mkdir -p "$MRUN_RESULT_CACHE"
if [ -e "$MRUN_RESULT_CACHE/entry" ]; then echo cached; else echo fresh; fi
touch "$MRUN_RESULT_CACHE/entry"
`,
		regexp.MustCompile(`^the cached run printed 7 bytes that differ from the first run's 6 from byte 0: "cached\\n", want "fresh\\n"$`),
	}, {
		"no-cache output differs",
		`mkdir -p "$MRUN_RESULT_CACHE" && touch "$MRUN_RESULT_CACHE/entry"
case "$*" in *--no-cache) echo 'total: 2' ;; *) echo 'total: 1' ;; esac
`,
		regexp.MustCompile(`^the --no-cache run printed 9 bytes that differ from the first run's 9 from byte 7: "2\\n", want "1\\n"$`),
	}, {
		"nothing cached",
		"echo total: 1\n",
		regexp.MustCompile(`^the first run of graph.yaml left nothing in the result cache /.+/results: does /.+/mrun read MRUN_RESULT_CACHE\?$`),
	}, {
		"mrun fails",
		"echo 'mrun: no such file' >&2; exit 2\n",
		regexp.MustCompile(`^warming up the compilation cache: /.+/mrun run graph.yaml: exit status 2: mrun: no such file$`),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			mrun, _ := fakeMrun(t, tc.body)
			var out strings.Builder
			err := rerun([]string{mrun, "graph.yaml"}, &out)
			if err == nil || !tc.want.MatchString(err.Error()) {
				t.Errorf("rerun: %v; want an error matching %s", err, tc.want)
			}
			if out.Len() != 0 {
				t.Errorf("a failed rerun printed %q", out.String())
			}
		})
	}
}

func TestRerun_Usage(t *testing.T) {
	for _, args := range [][]string{{}, {"mrun"}, {"mrun", "a.yaml", "b.yaml"}} {
		if err := rerun(args, new(strings.Builder)); err == nil || err.Error() != "usage: procbench rerun MRUN GRAPH" {
			t.Errorf("rerun %q: %v", args, err)
		}
	}
}
