package cluster

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mrun-dev/mrun/runtime"
)

// This file runs the calls of native modules (runtime.LoadNative) on the cluster. A native
// module has no bytes to ship: every mrun binary has its native modules built in, so the
// coordinator uploads nothing for it, and a worker resolves it by its SHA-256 (which names
// its name and version) in its own runtime. The task message's ModName carries
// "name@version", so that a worker without that module, or with another version of it,
// names what it lacks.

// uploads reports whether the calls of m need its bytes in ModuleStore: not for a native
// module, which workers have built in.
func uploads(m *runtime.Module) bool { return !m.Native() }

// modName is the name a task message gives m's module (taskMsg.ModName): its name, and for
// a native module its version too.
func modName(m *runtime.Module) string {
	if m.Native() {
		return m.Name() + "@" + m.Version()
	}
	return m.Name()
}

// native resolves the module of t from the worker's runtime when t names a native module
// (by its hash, or by a ModName that starts with runtime.NativePrefix), and reports whether
// it did; a native module is never fetched from ModuleStore. A worker that lacks it fails
// the call with an error naming the module and version.
func (w *worker) native(t *taskMsg) (m *runtime.Module, ok bool, err error) {
	if m, err := w.cfg.Runtime.Lookup(t.Module); err == nil && m.Native() {
		return m, true, nil
	}
	if !strings.HasPrefix(t.ModName, runtime.NativePrefix) {
		return nil, false, nil
	}
	name, version, _ := strings.Cut(t.ModName, "@")
	if have, err := w.cfg.Runtime.Lookup(name); err == nil && have.Native() {
		return nil, true, fmt.Errorf("worker %s has native module %s version %s, not version %s (SHA-256 %s) that the call needs: run workers of the coordinator's mrun version", w.cfg.ID, name, have.Version(), version, t.Module)
	}
	return nil, true, fmt.Errorf("worker %s has no native module %s version %s (SHA-256 %s): its mrun binary does not have it built in; run workers of the coordinator's mrun version", w.cfg.ID, name, version, t.Module)
}

// nativeMissing rewords the failure of a call of native module m whose worker looked for
// the module in ModuleStore: a worker binary older than native modules does that, and finds
// nothing there. Another upload would not help (there is nothing to upload), so the error
// no longer asks for one. Other errors are returned as they are.
func nativeMissing(m *runtime.Module, err error) error {
	var re *remoteError
	if !m.Native() || !errors.As(err, &re) || re.kind != errModuleAgain {
		return err
	}
	re.kind = errWorker
	re.msg = fmt.Sprintf("%v: it looked for native module %s version %s in %s (%s): its mrun binary is older than native modules; run workers of the coordinator's mrun version",
		errWorker, m.Name(), m.Version(), ModuleStore, strings.TrimPrefix(re.msg, errWorker.Error()+": "))
	return err
}
