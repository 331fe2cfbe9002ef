// Package cache keeps the results of pure calls on disk, by key, so that a later process reuses
// them instead of running the calls again.
//
// A key (abi.Key) is derived from everything that decides a pure call's result: the module's
// bytes and capabilities, the function, the number of outputs and the arguments. The same key
// therefore always names the same MessagePack value, and the cache never has to invalidate an
// entry: it only forgets entries that have not been used for a while (Options.MaxAge) or that
// do not fit (Options.MaxBytes).
//
// Each entry is one file, named by its key in one of 256 subdirectories, written to a temporary
// file and renamed into place, so that readers see a whole entry or none. Many goroutines and
// many processes may share a directory without locks. An entry carries its key, its length and
// a CRC-32C checksum: a file that does not check out is a miss and is removed, so a crash or a
// bad disk costs a recomputation, never a wrong result.
//
// The design follows the Go command's build cache: use times kept in file modification times,
// refreshed at most once an hour, and a trim at most once a day recorded in a marker file.
package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/mrun-dev/mrun/abi"
)

// Defaults for the zero fields of Options.
const (
	// DefaultMaxBytes bounds the cache at 1 GiB: room for millions of small results or a few
	// hundred large tensors, and little enough to leave in a home directory unattended.
	DefaultMaxBytes = 1 << 30
	// DefaultMaxAge forgets results unused for 5 days, as the Go build cache does: a result
	// used on Friday is still there on Monday.
	DefaultMaxAge = 5 * 24 * time.Hour
)

// How often use times are refreshed and the automatic trim runs.
const (
	// useInterval is how stale an entry's use time may be before Get refreshes it: one
	// metadata write per entry per hour at most, so hits stay read-only.
	useInterval = time.Hour
	// trimInterval is how often the automatic trim runs, across every process.
	trimInterval = 24 * time.Hour
	// tmpMaxAge is how old a temporary file must be for a trim to take it for the leftover of a
	// crashed write rather than a write in progress.
	tmpMaxAge = time.Hour
)

// Options configures a Cache. The zero value is useful: a 1 GiB cache of results used in the
// last 5 days, trimmed automatically.
type Options struct {
	// MaxBytes bounds the entries' total size on disk, headers included; a trim removes the
	// least recently used entries beyond it. A value larger than MaxBytes is not stored.
	// 0 means DefaultMaxBytes.
	MaxBytes int64
	// MaxAge is how long an entry stays without being used; a trim removes older ones.
	// 0 means DefaultMaxAge.
	MaxAge time.Duration
	// ManualTrim turns off the automatic trim of Open and Put: the cache is trimmed only when
	// Trim is called. Commands that report on the cache set it, so as not to change what they
	// report.
	ManualTrim bool
	// Logf, if set, receives one line for each failure the cache's callers do not see: a Put
	// that could not write, a corrupt entry removed by Get, an automatic trim that failed.
	Logf func(format string, args ...any)
	// Now, if set, replaces time.Now as the cache's clock: for tests.
	Now func() time.Time
}

// Cache is a directory of results by key. Its methods are safe for concurrent use by many
// goroutines, and by many processes that open the same directory.
type Cache struct {
	dir      string
	maxBytes int64
	maxAge   time.Duration
	opts     Options

	nextTrim atomic.Int64 // UnixNano before which the automatic trim is known not to be due
	written  atomic.Int64 // bytes this Cache stored since its last trim
	trimming atomic.Bool  // an automatic trim is running in this Cache
}

// EnvDir is the environment variable that names the result cache directory.
const EnvDir = "MRUN_RESULT_CACHE"

// DefaultDir returns the directory named by $MRUN_RESULT_CACHE, or else mrun/results in the
// user's cache directory (beside the compiled-code cache in mrun/wazero).
func DefaultDir() (string, error) {
	if d := os.Getenv(EnvDir); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("cache: no directory for the result cache: %w (set %s)", err, EnvDir)
	}
	return filepath.Join(d, "mrun", "results"), nil
}

const readme = `This directory holds results of WebAssembly function calls cached by mrun.
Every file is an entry that mrun can recompute: remove any of them, or run
'mrun cache clean', at any time.
`

// Open opens the cache in dir, creating the directory if needed. Unless opts.ManualTrim is
// set, it trims the cache first if no trim ran in the last 24 hours.
func Open(dir string, opts Options) (*Cache, error) {
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("cache: Options.MaxBytes is %d: want 0 (the default, 1 GiB) or more", opts.MaxBytes)
	}
	if opts.MaxAge < 0 {
		return nil, fmt.Errorf("cache: Options.MaxAge is %s: want 0 (the default, 5 days) or more", opts.MaxAge)
	}
	if dir == "" {
		return nil, errors.New("cache: no directory given")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache: create the directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README")); errors.Is(err, fs.ErrNotExist) {
		_ = writeAtomic(dir, "README", []byte(readme))
	}
	c := &Cache{dir: dir, maxBytes: opts.MaxBytes, maxAge: opts.MaxAge, opts: opts}
	if c.maxBytes == 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if c.maxAge == 0 {
		c.maxAge = DefaultMaxAge
	}
	c.autoTrim()
	return c, nil
}

// Dir returns the cache's directory.
func (c *Cache) Dir() string { return c.dir }

// MaxBytes returns the size limit the cache trims to.
func (c *Cache) MaxBytes() int64 { return c.maxBytes }

// MaxAge returns how long an unused entry stays.
func (c *Cache) MaxAge() time.Duration { return c.maxAge }

func (c *Cache) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

func (c *Cache) logf(format string, args ...any) {
	if c.opts.Logf != nil {
		c.opts.Logf(format, args...)
	}
}

// An entry file is a 40-byte header and the value:
//
//	magic "mrunres" and format version 1   8 bytes
//	key                                   16 bytes
//	value length, big-endian              8 bytes
//	CRC-32C of bytes 0-31 and the value   4 bytes, big-endian
//	zero                                  4 bytes
//	value                                 length bytes
const (
	magic      = "mrunres\x01"
	headerSize = 40
	tmpPrefix  = ".tmp-"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// path returns the file of key's entry: the key in hex, in the subdirectory of its first byte.
func (c *Cache) path(key abi.Key) string {
	s := key.String()
	return filepath.Join(c.dir, s[:2], s)
}

// header returns the header of the entry holding value under key.
func header(key abi.Key, value []byte) [headerSize]byte {
	var h [headerSize]byte
	copy(h[:8], magic)
	copy(h[8:24], key[:])
	binary.BigEndian.PutUint64(h[24:32], uint64(len(value)))
	sum := crc32.Update(crc32.Checksum(h[:32], castagnoli), castagnoli, value)
	binary.BigEndian.PutUint32(h[32:36], sum)
	return h
}

// decode checks an entry file's bytes against key and returns its value.
func decode(key abi.Key, b []byte) ([]byte, error) {
	switch {
	case len(b) < headerSize:
		return nil, fmt.Errorf("%d bytes, shorter than the %d-byte header", len(b), headerSize)
	case string(b[:8]) != magic:
		return nil, fmt.Errorf("not an entry of this format (header %q)", b[:8])
	case abi.Key(b[8:24]) != key:
		return nil, fmt.Errorf("holds key %s", abi.Key(b[8:24]))
	}
	if n := binary.BigEndian.Uint64(b[24:32]); n != uint64(len(b)-headerSize) {
		return nil, fmt.Errorf("header says %d bytes of value, the file has %d", n, len(b)-headerSize)
	}
	value := b[headerSize:]
	if sum := crc32.Update(crc32.Checksum(b[:32], castagnoli), castagnoli, value); sum != binary.BigEndian.Uint32(b[32:36]) {
		return nil, errors.New("checksum mismatch")
	}
	if binary.BigEndian.Uint32(b[36:40]) != 0 {
		return nil, errors.New("reserved header bytes are not zero")
	}
	return value, nil
}

// Get returns the value stored under key. Anything short of a whole, intact entry is a miss:
// no entry, an unreadable file, or a file that does not check out, which Get also removes.
// A hit marks the entry used, at most once an hour, so that trims keep it.
func (c *Cache) Get(key abi.Key) ([]byte, bool) {
	name := c.path(key)
	f, err := os.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.logf("cache: get %s: %v", key, err)
		}
		return nil, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		c.logf("cache: get %s: %v", key, err)
		return nil, false
	}
	if fi.Size()-headerSize > c.maxBytes || !fi.Mode().IsRegular() {
		return nil, false // not something this Cache would have stored: leave it be
	}
	b := make([]byte, fi.Size())
	if _, err := io.ReadFull(f, b); err != nil {
		c.logf("cache: get %s: %v", key, err)
		return nil, false
	}
	value, err := decode(key, b)
	if err != nil {
		c.removeBad(name, fi, fmt.Errorf("corrupt entry %s: %w", key, err))
		return nil, false
	}
	if now := c.now(); now.Sub(fi.ModTime()) > useInterval {
		_ = os.Chtimes(name, now, now)
	}
	return value, true
}

// removeBad removes the corrupt entry file fi read from name, unless a Put replaced it since.
func (c *Cache) removeBad(name string, fi fs.FileInfo, cause error) {
	if cur, err := os.Lstat(name); err == nil && os.SameFile(fi, cur) {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			c.logf("cache: %v; removing it: %v", cause, err)
			return
		}
	}
	c.logf("cache: removed %v", cause)
}

// Put stores value under key, replacing any entry there. It is best effort and never fails
// its caller: an error (a full disk, a read-only directory) goes to Options.Logf and the value
// is simply not cached. A value larger than Options.MaxBytes is not stored. Put may trim the
// cache, at most once a day, or when this Cache has stored a quarter of MaxBytes since its
// last trim.
func (c *Cache) Put(key abi.Key, value []byte) {
	if err := c.put(key, value); err != nil {
		c.logf("cache: put %s: %v", key, err)
		return
	}
	c.autoTrim()
}

func (c *Cache) put(key abi.Key, value []byte) error {
	if int64(len(value)) > c.maxBytes-headerSize {
		return nil
	}
	name := c.path(key)
	h := header(key, value)
	var data []byte
	if len(value) <= 64<<10 { // one write for small values
		data = append(h[:], value...)
	} else {
		data = h[:]
	}
	tmp, err := createTemp(filepath.Dir(name), data)
	if err != nil {
		return err
	}
	if len(data) == headerSize {
		if _, err := tmp.f.Write(value); err != nil {
			return tmp.abort(err)
		}
	}
	if err := tmp.commit(name); err != nil {
		return err
	}
	c.written.Add(int64(headerSize + len(value)))
	return nil
}

// Delete removes key's entry, if there is one.
func (c *Cache) Delete(key abi.Key) {
	if err := os.Remove(c.path(key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		c.logf("cache: delete %s: %v", key, err)
	}
}

// tempFile is a file being written, renamed into place when whole.
type tempFile struct{ f *os.File }

// createTemp creates a temporary file in dir, creating dir if needed, and writes data to it.
func createTemp(dir string, data []byte) (*tempFile, error) {
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		f, err = os.CreateTemp(dir, tmpPrefix+"*")
	}
	if err != nil {
		return nil, err
	}
	t := &tempFile{f}
	if _, err := f.Write(data); err != nil {
		return nil, t.abort(err)
	}
	return t, nil
}

// abort removes the temporary file and returns err.
func (t *tempFile) abort(err error) error {
	t.f.Close()
	os.Remove(t.f.Name())
	return err
}

// commit closes the temporary file and renames it to name, in one step for every reader.
func (t *tempFile) commit(name string) error {
	if err := t.f.Close(); err != nil {
		os.Remove(t.f.Name())
		return err
	}
	if err := os.Rename(t.f.Name(), name); err != nil {
		os.Remove(t.f.Name())
		return err
	}
	return nil
}

// writeAtomic writes dir/name through a temporary file.
func writeAtomic(dir, name string, data []byte) error {
	t, err := createTemp(dir, data)
	if err != nil {
		return err
	}
	return t.commit(filepath.Join(dir, name))
}
