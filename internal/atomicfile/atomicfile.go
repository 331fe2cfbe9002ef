// Package atomicfile replaces files whole: a reader sees the old content or the new, and a
// failed write leaves the old file as it was.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with b through a temporary file in the same directory, renamed over it.
// The file keeps the permissions it had; a new file gets 0644.
func Write(path string, b []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".mrun-write-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), mode)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
