package abi

import "github.com/mrun-dev/mrun/abi/sig"

// SigType returns the tensor's type in the value model, tensor[dtype], so that a tensor
// argument is checked against a function's signature (package sig) before the call runs.
func (t Tensor) SigType() *sig.Type { return &sig.Type{Name: sig.Tensor, DType: t.DType.String()} }

// SigType returns the table type of the value model, so that a table argument is checked
// against a function's signature (package sig) before the call runs.
func (t Table) SigType() *sig.Type { return &sig.Type{Name: sig.Table} }
