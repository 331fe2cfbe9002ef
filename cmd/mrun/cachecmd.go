package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mrun-dev/mrun/dag/cache"
	"github.com/mrun-dev/mrun/internal/bytesize"
	"github.com/spf13/cobra"
)

type cacheOptions struct {
	io      streams
	global  *globalOptions // its resultCache is the cache's directory
	maxAge  ageFlag
	maxSize cacheSize
}

func newCacheCmd(g *globalOptions, io streams) *cobra.Command {
	o := &cacheOptions{io: io, global: g}
	cmd := &cobra.Command{
		Use:   "cache",
		Short: "Show, trim or clean the result cache",
		Long: `Show, trim or clean the result cache: the results of pure calls, kept on disk
by key so that a later run reuses them instead of running the calls again.

An entry is forgotten when it has not been used for 5 days, and the least
recently used entries go when the cache grows beyond 1 GiB. Commands that use
the cache trim it by these rules once a day; 'mrun cache trim' does it now,
with the limits you give. Removing entries is always safe: mrun recomputes
what it needs.

With no command, 'mrun cache' is 'mrun cache info'.`,
		Example: `  mrun cache
  mrun cache trim --max-age 1d --max-size 256MiB
  mrun cache clean
  mrun --result-cache /srv/mrun/results cache info`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCacheInfo(o)
		},
	}

	info := &cobra.Command{
		Use:   "info",
		Short: "Print the result cache's directory, entries, size and use times",
		Example: `  mrun cache info
  mrun --result-cache /srv/mrun/results cache info`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCacheInfo(o)
		},
	}
	clean := &cobra.Command{
		Use:     "clean",
		Short:   "Remove every entry of the result cache",
		Example: `  mrun cache clean`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCacheClean(o)
		},
	}
	trim := &cobra.Command{
		Use:   "trim",
		Short: "Remove the result cache's unused entries now, by --max-age and --max-size",
		Long: `Remove the entries not used for longer than --max-age, then the least recently
used ones until the rest take at most --max-size on disk. Without flags, trim
by the rules every command follows once a day: 5 days and 1 GiB.`,
		Example: `  mrun cache trim
  mrun cache trim --max-age 12h
  mrun cache trim --max-size 100MiB`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCacheTrim(o)
		},
	}
	trim.Flags().Var(&o.maxAge, "max-age", "remove entries unused for longer than this, as in 5d, 12h or 90m (default 5d)")
	trim.Flags().Var(&o.maxSize, "max-size", "then remove the least recently used entries until the rest take at most this, as in 256MiB or 2GiB (default 1GiB)")
	cmd.AddCommand(info, clean, trim)
	return cmd
}

// dir is the result cache's directory.
func (o *cacheOptions) dir() string { return o.global.resultCache }

// open opens the cache in --result-cache, without the automatic trim, which would change what the
// commands report.
func (o *cacheOptions) open() (*cache.Cache, error) {
	if o.dir() == "" {
		return nil, usagef("no directory for the result cache: pass --result-cache DIR or set %s", cache.EnvDir)
	}
	c, err := cache.Open(o.dir(), cache.Options{MaxBytes: o.maxSize.n, MaxAge: o.maxAge.d, ManualTrim: true})
	if err != nil {
		return nil, usagef("--result-cache %s: %w", o.dir(), err)
	}
	return c, nil
}

func runCacheInfo(o *cacheOptions) error {
	if o.dir() != "" {
		if _, err := os.Stat(o.dir()); errors.Is(err, fs.ErrNotExist) {
			_, err := fmt.Fprintf(o.io.Out, "directory:  %s (not created yet)\nentries:    0\n", o.dir())
			return err
		}
	}
	c, err := o.open()
	if err != nil {
		return err
	}
	st, err := c.Stats()
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "directory:  %s\n", c.Dir())
	fmt.Fprintf(&b, "entries:    %s (%s)\n", entries(st.Entries), bytesize.Text(st.Bytes))
	if st.Entries > 0 {
		fmt.Fprintf(&b, "oldest use: %s\n", timeText(st.Oldest))
		fmt.Fprintf(&b, "newest use: %s\n", timeText(st.Newest))
	}
	last := "never"
	if t := c.LastTrim(); !t.IsZero() {
		last = timeText(t)
	}
	fmt.Fprintf(&b, "last trim:  %s\n", last)
	_, err = fmt.Fprint(o.io.Out, b.String())
	return err
}

func runCacheClean(o *cacheOptions) error {
	c, err := o.open()
	if err != nil {
		return err
	}
	st, err := c.Clean()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.io.Out, "removed %s (%s) from %s\n", entries(st.Removed), bytesize.Text(st.RemovedBytes), c.Dir())
	return err
}

func runCacheTrim(o *cacheOptions) error {
	c, err := o.open()
	if err != nil {
		return err
	}
	st, err := c.Trim(time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(o.io.Out, "removed %s (%s) unused for more than %s or beyond %s; %s (%s) stay\n",
		entries(st.Removed), bytesize.Text(st.RemovedBytes), ageText(c.MaxAge()), bytesize.Text(c.MaxBytes()),
		entries(st.Kept), bytesize.Text(st.KeptBytes))
	return err
}

// entries writes "1 entry" or "n entries".
func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return strconv.Itoa(n) + " entries"
}

// timeText writes a time in UTC to the second, the same on every machine.
func timeText(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// ageText writes a duration in days when it is whole days, as --max-age accepts it.
func ageText(d time.Duration) string {
	const day = 24 * time.Hour
	if d%day == 0 {
		return plural(int(d/day), "day")
	}
	return d.String()
}

// ageFlag is the --max-age flag: a Go duration, or a number of days with d, as in 5d or 1d12h.
type ageFlag struct {
	d    time.Duration
	text string
}

func (a *ageFlag) String() string { return a.text }
func (a *ageFlag) Type() string   { return "duration" }

func (a *ageFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if days, rest, ok := strings.Cut(s, "d"); err != nil && ok {
		n, nerr := strconv.ParseUint(days, 10, 16)
		d, err = 0, nerr
		if rest != "" && nerr == nil {
			d, err = time.ParseDuration(rest)
		}
		d += time.Duration(n) * 24 * time.Hour
	}
	if err != nil {
		return fmt.Errorf("%q is not a duration like 5d, 12h or 90m", s)
	}
	if d <= 0 {
		return fmt.Errorf("%s is too short: to remove every entry, use 'mrun cache clean'", s)
	}
	a.d, a.text = d, s
	return nil
}

// cacheSize is the --max-size flag: a size like --memory-budget's.
type cacheSize struct{ budgetSize }

func (c *cacheSize) Set(s string) error {
	err := c.budgetSize.Set(s)
	if num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' }); err != nil && num != "" && strings.Trim(num, "0") == "" {
		return fmt.Errorf("%s is too small: to remove every entry, use 'mrun cache clean'", s)
	}
	return err
}
