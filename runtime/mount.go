package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// mountFS is a mounted host directory as the guest sees it: every path, symbolic links
// included, resolves inside the directory (RATIONALE.md: why mounts are an os.Root).
//
// os.Root refuses a path that leaves the directory: a link to an absolute path (even one
// that points back inside), a link whose ".." climbs above the root, a chain of links that
// ends outside. The guest gets EPERM for those ("operation not permitted"), ELOOP for a
// cycle of links, and ENOENT, ENOTDIR and the like as usual. Links whose relative target
// stays inside work. Only regular files and directories open: a FIFO, socket or device
// under the mount is EPERM, since reading one can block forever (a FIFO without a writer) or
// never end.
type mountFS struct{ root *os.Root }

// Open opens name, a path relative to the mount, for reading. It never blocks: FIFOs are
// opened non-blocking, then refused.
func (m mountFS) Open(name string) (fs.File, error) {
	f, err := m.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, mountError(name, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, mountError(name, err)
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
	}
	return f, nil
}

// mountError turns an error of os.Root into one wazero maps to the right errno. os.Root
// reports a path that escapes the root with an error of its own, which wazero would turn
// into EIO; it becomes fs.ErrPermission, EPERM to the guest.
func mountError(name string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) ||
		errors.Is(err, fs.ErrInvalid) || errors.Is(err, fs.ErrClosed) {
		return err
	}
	return &fs.PathError{Op: "open", Path: name, Err: fs.ErrPermission}
}

// openRoots opens the host directory of every mount.
func openRoots(mounts []Mount) ([]*os.Root, error) {
	roots := make([]*os.Root, 0, len(mounts))
	for _, m := range mounts {
		r, err := os.OpenRoot(m.HostDir)
		if err != nil {
			closeRoots(roots)
			return nil, fmt.Errorf("mount %s at %s: %w (check ModuleConfig.Mounts)", m.HostDir, m.GuestPath, err)
		}
		roots = append(roots, r)
	}
	return roots, nil
}

func closeRoots(roots []*os.Root) {
	for _, r := range roots {
		r.Close()
	}
}
