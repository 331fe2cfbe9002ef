package cache

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mrun-dev/mrun/abi"
)

// Entry describes one entry of the cache.
type Entry struct {
	Key  abi.Key
	Size int64     // bytes on disk: the value and a 40-byte header
	Used time.Time // when the entry was stored or last used, to the hour
}

// Stats summarises the cache's entries.
type Stats struct {
	Entries int
	Bytes   int64     // the entries' total size on disk
	Oldest  time.Time // the least recent use; zero when there are no entries
	Newest  time.Time // the most recent use; zero when there are no entries
}

// TrimStats counts what a Trim or Clean removed and what it kept.
type TrimStats struct {
	Removed      int   // entries removed
	RemovedBytes int64 // their size on disk
	Kept         int   // entries left
	KeptBytes    int64 // their size on disk
}

// trimFile is the marker file holding the time of the last trim, in Unix seconds.
const trimFile = "trim.txt"

// Entries calls fn for each entry, in no particular order, until fn returns false. Files that
// are not entries (temporary files, the README) are skipped; an entry removed while Entries
// runs may or may not be seen.
func (c *Cache) Entries(fn func(Entry) bool) error {
	_, err := c.walk(fn, nil)
	return err
}

// walk lists the entries, and the temporary files to tmp if tmp is not nil. It returns false
// if fn stopped it.
func (c *Cache) walk(fn func(Entry) bool, tmp func(name string, fi fs.FileInfo)) (bool, error) {
	for i := range 256 {
		sub := fmt.Sprintf("%02x", i)
		des, err := os.ReadDir(filepath.Join(c.dir, sub))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return true, fmt.Errorf("cache: list entries: %w", err)
		}
		for _, de := range des {
			name := de.Name()
			isTmp := strings.HasPrefix(name, tmpPrefix)
			key, err := abi.ParseKey(name)
			if !isTmp && (err != nil || !strings.HasPrefix(name, sub)) {
				continue
			}
			fi, err := de.Info()
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed since ReadDir
			}
			if err != nil {
				return true, fmt.Errorf("cache: list entries: %w", err)
			}
			if !fi.Mode().IsRegular() {
				continue
			}
			if isTmp {
				if tmp != nil {
					tmp(filepath.Join(c.dir, sub, name), fi)
				}
				continue
			}
			if !fn(Entry{Key: key, Size: fi.Size(), Used: fi.ModTime()}) {
				return false, nil
			}
		}
	}
	return true, nil
}

// Stats counts the entries and their size, and finds the least and most recent use.
func (c *Cache) Stats() (Stats, error) {
	var s Stats
	err := c.Entries(func(e Entry) bool {
		s.Entries++
		s.Bytes += e.Size
		if s.Oldest.IsZero() || e.Used.Before(s.Oldest) {
			s.Oldest = e.Used
		}
		if e.Used.After(s.Newest) {
			s.Newest = e.Used
		}
		return true
	})
	return s, err
}

// Trim removes the entries unused for longer than Options.MaxAge before now, then the least
// recently used ones until the rest take at most Options.MaxBytes, and the temporary files
// that crashed writes left behind. It records now as the time of the last trim, which the
// automatic trim of every process sharing the directory reads.
func (c *Cache) Trim(now time.Time) (TrimStats, error) {
	c.nextTrim.Store(now.Add(trimInterval).UnixNano())
	c.written.Store(0)
	if err := writeAtomic(c.dir, trimFile, []byte(strconv.FormatInt(now.Unix(), 10)+"\n")); err != nil {
		return TrimStats{}, fmt.Errorf("cache: record the trim: %w", err)
	}
	var (
		st    TrimStats
		keep  []Entry
		first error
	)
	remove := func(e Entry) {
		if err := os.Remove(c.path(e.Key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			if first == nil {
				first = fmt.Errorf("cache: trim: %w", err)
			}
			st.Kept++
			st.KeptBytes += e.Size
			return
		}
		st.Removed++
		st.RemovedBytes += e.Size
	}
	_, err := c.walk(func(e Entry) bool {
		if now.Sub(e.Used) > c.maxAge {
			remove(e)
		} else {
			keep = append(keep, e)
		}
		return true
	}, func(name string, fi fs.FileInfo) {
		if now.Sub(fi.ModTime()) > tmpMaxAge {
			os.Remove(name)
		}
	})
	if err != nil {
		return st, err
	}
	var total int64
	for _, e := range keep {
		total += e.Size
	}
	if total > c.maxBytes {
		slices.SortFunc(keep, func(a, b Entry) int {
			if c := a.Used.Compare(b.Used); c != 0 {
				return c
			}
			return slices.Compare(a.Key[:], b.Key[:])
		})
		for len(keep) > 0 && total > c.maxBytes {
			total -= keep[0].Size
			remove(keep[0])
			keep = keep[1:]
		}
	}
	for _, e := range keep {
		st.Kept++
		st.KeptBytes += e.Size
	}
	return st, first
}

// Clean removes every entry, and the temporary files of crashed writes.
func (c *Cache) Clean() (TrimStats, error) {
	var st TrimStats
	var first error
	now := c.now()
	_, err := c.walk(func(e Entry) bool {
		if err := os.Remove(c.path(e.Key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			if first == nil {
				first = fmt.Errorf("cache: clean: %w", err)
			}
			st.Kept++
			st.KeptBytes += e.Size
			return true
		}
		st.Removed++
		st.RemovedBytes += e.Size
		return true
	}, func(name string, fi fs.FileInfo) {
		if now.Sub(fi.ModTime()) > tmpMaxAge {
			os.Remove(name)
		}
	})
	return st, cmp.Or(err, first)
}

// LastTrim returns the time of the last trim recorded in the directory, or the zero time if
// there is none.
func (c *Cache) LastTrim() time.Time {
	b, err := os.ReadFile(filepath.Join(c.dir, trimFile))
	if err != nil {
		return time.Time{}
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}

// autoTrim trims the cache if no process trimmed it in the last day, or if this Cache stored a
// quarter of MaxBytes since its last trim. When neither is due it costs two atomic loads; it
// reads the marker file at most once a day.
func (c *Cache) autoTrim() {
	if c.opts.ManualTrim {
		return
	}
	now := c.now()
	bySize := c.written.Load() >= c.maxBytes/4
	if now.UnixNano() < c.nextTrim.Load() && !bySize {
		return
	}
	if !c.trimming.CompareAndSwap(false, true) {
		return // another goroutine of this process is at it
	}
	defer c.trimming.Store(false)
	if last := c.LastTrim(); !bySize && now.Sub(last) < trimInterval && !last.After(now) {
		c.nextTrim.Store(last.Add(trimInterval).UnixNano())
		return
	}
	if _, err := c.Trim(now); err != nil {
		c.logf("%v", err)
	}
}
