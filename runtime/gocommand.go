package runtime

import (
	"encoding/binary"
	"fmt"

	"github.com/mrun-dev/mrun/abi"
	"github.com/tetratelabs/wazero"
)

// goReactorBuild is the command that builds a Go guest as a reactor (guests/go/README.md).
const goReactorBuild = "GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o fns.wasm ."

// checkGoCommand refuses a Go module built as a wasip1 command, without -buildmode=c-shared.
// Its //go:wasmexport functions need the Go runtime, which only its _start sets up, and the
// host never calls _start (ABI.md 1.2): every call would trap in mrun_alloc. A Go reactor
// exports _initialize instead. Other toolchains' commands are left alone: a C or WAT command
// may well work without its _start.
func checkGoCommand(wasm []byte, compiled wazero.CompiledModule) error {
	exports := compiled.ExportedFunctions()
	if _, ok := exports[abi.ExportInitialize]; ok {
		return nil
	}
	if _, ok := exports["_start"]; !ok || !hasCustomSection(wasm, "go:buildid") {
		return nil
	}
	return fmt.Errorf("%w: it is a Go command (it exports _start and no %s), whose Go runtime only _start would set up, and mrun never calls _start: build it as a reactor with %s",
		ErrBadExport, abi.ExportInitialize, goReactorBuild)
}

// hasCustomSection reports whether wasm, a module precheck accepted, has a custom section
// called name. It reads only section headers and custom sections' names.
func hasCustomSection(wasm []byte, name string) bool {
	b := wasm[8:]
	for len(b) > 0 {
		size, n := binary.Uvarint(b[1:min(len(b), 6)])
		if n <= 0 || size > uint64(len(b)-1-n) {
			return false
		}
		body := b[1+n : 1+n+int(size)]
		if b[0] == 0 {
			if l, m := binary.Uvarint(body[:min(len(body), 5)]); m > 0 && l <= uint64(len(body)-m) && string(body[m:m+int(l)]) == name {
				return true
			}
		}
		b = b[1+n+int(size):]
	}
	return false
}
