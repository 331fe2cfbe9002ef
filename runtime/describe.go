package runtime

import (
	"context"
	"errors"
	"fmt"

	"github.com/mrun-dev/mrun/abi/sig"
)

// ExportDescribe is the optional export that returns a module's signature text, for
// toolchains that cannot write a custom section (ABI.md section 10.4). Loading and running a
// module never call it; only Describe does.
const ExportDescribe = "mrun_describe"

// MaxDescription is the longest signature text Describe accepts.
const MaxDescription = 1 << 20

// ErrNoDescribe means the module does not export ExportDescribe.
var ErrNoDescribe = errors.New("no " + ExportDescribe + " export")

// Describe asks the module for its signature text: it calls the module's ExportDescribe in a
// fresh instance of its own, with the module's capabilities (none, for a module loaded with
// Load) and under ctx, which should carry a deadline: a guest that loops is interrupted when
// ctx ends. The text is checked as a section would be (an error wraps ErrBadSignature) and
// returned as the guest wrote it; a build step writes it into the module's
// "mrun.signatures" section. The instance is closed afterwards.
func (m *Module) Describe(ctx context.Context) ([]byte, error) {
	if m.native {
		return nil, fmt.Errorf("module %s: native modules have no %s", m.name, ExportDescribe)
	}
	def, ok := m.compiled.ExportedFunctions()[ExportDescribe]
	if !ok {
		return nil, fmt.Errorf("module %s: %w: the module must export %s () -> i64 to describe its functions", m.name, ErrNoDescribe, ExportDescribe)
	}
	if !sameSig(def, nil, sigFnRes) {
		return nil, fmt.Errorf("module %s: %w: %q has type %s, want () -> i64", m.name, ErrBadExport, ExportDescribe, sigString(def))
	}
	inst, err := newInstance(ctx, m)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", m.name, err)
	}
	defer inst.close()
	cctx := &callCtx{Context: ctx, inst: inst}
	inst.call = cctx
	res, err := inst.guest.ExportedFunction(ExportDescribe).Call(cctx)
	inst.call = nil
	if err != nil {
		return nil, fmt.Errorf("module %s: %s: %w", m.name, ExportDescribe, classify(ctx, err, &inst.stderr))
	}
	if inst.failed {
		return nil, fmt.Errorf("module %s: %s: %w", m.name, ExportDescribe, &GuestError{Message: inst.errMsg})
	}
	ptr, size := uint32(res[0]>>32), uint32(res[0])
	if size > MaxDescription {
		return nil, fmt.Errorf("module %s: %s returned %d bytes, over the limit of %d", m.name, ExportDescribe, size, MaxDescription)
	}
	view, ok := inst.guest.Memory().Read(ptr, size)
	if !ok {
		return nil, fmt.Errorf("module %s: %s returned [%d, %d), which lies outside guest memory of %d bytes", m.name, ExportDescribe, ptr, uint64(ptr)+uint64(size), inst.guest.Memory().Size())
	}
	text := append([]byte(nil), view...)
	sigs, err := sig.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("module %s: %w: %s text %v", m.name, ErrBadSignature, ExportDescribe, err)
	}
	for _, s := range sigs {
		if _, ok := m.byName[s.Name]; !ok {
			return nil, fmt.Errorf("module %s: %w: %s line %d describes function %q, which the module does not export as %q (%s)",
				m.name, ErrBadSignature, ExportDescribe, s.Line, s.Name, "mrun_fn_"+s.Name, m.exportedNames())
		}
	}
	return text, nil
}
