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
type mountFS struct {
	root    *os.Root
	effects *Effects // the instance's: every open marks its running call ReadFile
}

// Open opens name, a path relative to the mount, for reading. It never blocks: FIFOs are
// opened non-blocking, then refused. wazero opens a path for every WASI call that reads the
// mount (path_open, path_filestat_get, fd_readdir of the mount's root), so Open marks the
// running call as having read a file, even when the path does not exist: that too is news
// from the host.
func (m mountFS) Open(name string) (fs.File, error) {
	*m.effects |= ReadFile
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
	return mountFile{f, m.effects}, nil
}

// mountFile is a file opened under a mount. Reading it marks the running call ReadFile too,
// since a guest may keep a file open from an earlier call (or from _initialize) and read it in
// a later one. Embedding keeps every method of *os.File that wazero looks for.
type mountFile struct {
	*os.File
	effects *Effects
}

func (f mountFile) Read(p []byte) (int, error) {
	*f.effects |= ReadFile
	return f.File.Read(p)
}

func (f mountFile) ReadAt(p []byte, off int64) (int, error) {
	*f.effects |= ReadFile
	return f.File.ReadAt(p, off)
}

func (f mountFile) ReadDir(n int) ([]fs.DirEntry, error) {
	*f.effects |= ReadFile
	return f.File.ReadDir(n)
}

func (f mountFile) Readdir(n int) ([]fs.FileInfo, error) {
	*f.effects |= ReadFile
	return f.File.Readdir(n)
}

func (f mountFile) Stat() (fs.FileInfo, error) {
	*f.effects |= ReadFile
	return f.File.Stat()
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
