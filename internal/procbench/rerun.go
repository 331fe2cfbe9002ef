package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// rerun times `MRUN run GRAPH` three times as new processes sharing one result cache, and
// writes one result line per run to out: first, with the result cache empty (every call runs);
// cached, the same command again (its values come from the cache); uncached, with --no-cache
// (every call runs again). The compilation cache is warmed beforehand, with a result cache of
// its own, so that no run compiles. The three runs must print byte-identical output, and the
// first must leave something in the result cache.
func rerun(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rerun", flag.ContinueOnError)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("usage: procbench rerun MRUN GRAPH")
	}
	mrun, graph := fs.Arg(0), fs.Arg(1)
	tmp, err := os.MkdirTemp("", "procbench-rerun-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	code, results := filepath.Join(tmp, "code"), filepath.Join(tmp, "results")
	run := func(resultCache string, flags ...string) (time.Duration, []byte, error) {
		cmd := exec.Command(mrun, append([]string{"run", graph}, flags...)...)
		cmd.Env = append(os.Environ(), "MRUN_CACHE_DIR="+code, "MRUN_RESULT_CACHE="+resultCache)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		if err != nil {
			return 0, nil, fmt.Errorf("%s: %w: %s", strings.Join(cmd.Args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return d, stdout.Bytes(), nil
	}

	if _, _, err := run(filepath.Join(tmp, "warm-up")); err != nil {
		return fmt.Errorf("warming up the compilation cache: %w", err)
	}
	first, want, err := run(results)
	if err != nil {
		return err
	}
	if ents, err := os.ReadDir(results); err != nil || len(ents) == 0 {
		return fmt.Errorf("the first run of %s left nothing in the result cache %s: does %s read MRUN_RESULT_CACHE?", graph, results, mrun)
	}
	cached, got, err := run(results)
	if err != nil {
		return err
	}
	if err := sameOutput("cached", want, got); err != nil {
		return err
	}
	uncached, got, err := run(results, "--no-cache")
	if err != nil {
		return err
	}
	if err := sameOutput("--no-cache", want, got); err != nil {
		return err
	}
	for _, r := range []struct {
		name string
		d    time.Duration
	}{{"first", first}, {"cached", cached}, {"uncached", uncached}} {
		fmt.Fprintf(out, "BenchmarkRerun/%s\t1\t%d ns/op\n", r.name, r.d.Nanoseconds())
	}
	return nil
}

// sameOutput fails when the run named which printed got where the first run printed want.
func sameOutput(which string, want, got []byte) error {
	if bytes.Equal(want, got) {
		return nil
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	clip := func(b []byte) []byte { return b[i:min(len(b), i+40)] }
	return fmt.Errorf("the %s run printed %d bytes that differ from the first run's %d from byte %d: %q, want %q",
		which, len(got), len(want), i, clip(got), clip(want))
}
