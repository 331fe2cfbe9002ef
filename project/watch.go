package project

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// skipDirs are directories of a project whose changes are builds' own output, not sources.
var skipDirs = map[string]bool{"node_modules": true, "zig-cache": true, "zig-out": true, "target": true, ".git": true}

// Sources returns a fingerprint of the project's sources: the path, size and modification
// time of every file but the module and the build tools' own directories. Two fingerprints
// differ when a source changed, was added or was removed.
func (p *Project) Sources() (string, error) {
	var b strings.Builder
	err := filepath.WalkDir(p.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != p.Dir && (skipDirs[name] || strings.HasPrefix(name, ".mrun-")) {
				return fs.SkipDir
			}
			return nil
		}
		if path == p.Module() || strings.HasPrefix(name, ".mrun-") || strings.HasSuffix(name, ".wasm") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s\x00%d\x00%d\n", path, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	return b.String(), err
}

// Watch calls build now, and again after every change of the project's sources (polled every
// interval; a change is built once the sources are quiet for one interval), until ctx ends.
// build's errors are its own to report: Watch goes on watching.
func (p *Project) Watch(ctx context.Context, interval time.Duration, build func()) error {
	last, err := p.Sources()
	if err != nil {
		return err
	}
	build()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		now, err := p.Sources()
		if err != nil {
			if _, serr := os.Stat(p.Dir); serr != nil {
				return fmt.Errorf("watch %s: %w", p.Dir, serr)
			}
			continue // a file went away while being read: look again
		}
		if now == last {
			continue
		}
		// Wait for the editor to finish: build once the sources stop changing.
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
			}
			again, err := p.Sources()
			if err == nil && again == now {
				break
			}
			now = again
		}
		last = now
		build()
	}
}
