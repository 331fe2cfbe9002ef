package runtime

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/abi/wasmsection"
)

// Signature describes a user function's parameters, result, doc and purity, as the module's
// "mrun.signatures" custom section gives them (ABI.md section 10).
type Signature = sig.Signature

// Signature returns the function's signature, or nil when its module does not describe it.
// The Signature is shared: it must not be modified.
func (f *Function) Signature() *Signature { return f.sig }

// readSignatures parses wasm's signature section, if it has one, and attaches each signature
// to its function. A malformed section, a second section, or a signature of a function the
// module does not export is an error wrapping ErrBadSignature. It runs no guest code.
func (m *Module) readSignatures(wasm []byte) error {
	sigs, err := sig.Read(wasm)
	switch {
	case errors.Is(err, wasmsection.ErrNotWasm):
		return fmt.Errorf("%w: %v", ErrNotWasm, err)
	case errors.As(err, new(*sig.SyntaxError)):
		return fmt.Errorf("%w: %s %v", ErrBadSignature, sig.SectionName, err)
	case err != nil:
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	for _, s := range sigs {
		f, ok := m.byName[s.Name]
		if !ok {
			return fmt.Errorf("%w: %s line %d describes function %q, which the module does not export as %q (%s)",
				ErrBadSignature, sig.SectionName, s.Line, s.Name, "mrun_fn_"+s.Name, m.exportedNames())
		}
		f.sig = s
	}
	return nil
}

func (m *Module) exportedNames() string {
	if len(m.funcs) == 0 {
		return "it exports no functions"
	}
	names := make([]string, len(m.funcs))
	for i, f := range m.funcs {
		names[i] = f.name
	}
	return "it exports " + strings.Join(names, ", ")
}
