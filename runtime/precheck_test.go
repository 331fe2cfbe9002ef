package runtime_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/runtime"
)

// wasmModule assembles a module from sections given as id and body.
func wasmModule(sections ...[]byte) []byte {
	m := []byte("\x00asm\x01\x00\x00\x00")
	for _, s := range sections {
		m = append(m, s[0], byte(len(s)-1)) // bodies here are under 128 bytes
		m = append(m, s[1:]...)
	}
	return m
}

// Every form of element and data segment that wazero accepts passes the load precheck, and
// the same segment declaring 2^32-1 entries is an ordinary error rather than an allocation
// that kills the process.
func TestLoad_SegmentForms(t *testing.T) {
	const huge = "\xff\xff\xff\xff\x0f"
	common := [][]byte{
		[]byte("\x01\x02\x60\x00\x00\x60\x01\x7f\x01\x7f"), // types: () -> () and (i32) -> i32
		[]byte("\x03\x02\x00\x01"),                         // a function of each
		[]byte("\x04\x01\x70\x00\x01"),                     // a funcref table of one element
		[]byte("\x05\x01\x00\x01"),                         // a memory of one page
		[]byte("\x07\x03" + // exports: the ABI marker, the memory and the allocator
			"\x0bmrun_abi_v1\x00\x00" + "\x06memory\x02\x00" + "\x0amrun_alloc\x00\x01"),
	}
	code := []byte("\x0a\x02\x02\x00\x0b\x04\x00\x20\x00\x0b") // bodies: end; local.get 0, end
	elements := map[string][2]string{                          // flags: the segment before its vector, the vector's entries
		"0 active, function indices":            {"\x00\x41\x00\x0b", "\x00"},
		"1 passive, function indices":           {"\x01\x00", "\x00"},
		"2 active with table, function indices": {"\x02\x00\x41\x00\x0b\x00", "\x00"},
		"3 declarative, function indices":       {"\x03\x00", "\x00"},
		"4 active, expressions":                 {"\x04\x41\x00\x0b", "\xd2\x00\x0b"},
		"5 passive, expressions":                {"\x05\x70", "\xd0\x70\x0b"},
		"6 active with table, expressions":      {"\x06\x00\x41\x00\x0b\x70", "\xd2\x00\x0b"},
		"7 declarative, expressions":            {"\x07\x70", "\xd2\x00\x0b"},
	}
	data := map[string]string{
		"0 active":            "\x00\x41\x00\x0b",
		"1 passive":           "\x01",
		"2 active with index": "\x02\x00\x41\x00\x0b",
	}
	rt := newRuntime(t, runtime.Config{})
	load := func(name string, wasm []byte) error {
		_, err := rt.Load(context.Background(), name, wasm)
		return err
	}
	for name, seg := range elements {
		sections := slices.Clone(common)
		ok := append(append([]byte{9, 1}, seg[0]...), append([]byte{1}, seg[1]...)...)
		if err := load("elements "+name, wasmModule(append(sections, ok, code)...)); err != nil {
			t.Errorf("element segment %s: %v", name, err)
		}
		bad := append(append([]byte{9, 1}, seg[0]...), huge...)
		err := load("huge elements "+name, wasmModule(append(sections, bad, code)...))
		if !errors.Is(err, runtime.ErrNotWasm) || !strings.Contains(err.Error(), "element segment 0: declares 4294967295 elements") {
			t.Errorf("huge element segment %s: %v", name, err)
		}
	}
	for name, seg := range data {
		ok := append(append([]byte{11, 1}, seg...), "\x02hi"...)
		if err := load("data "+name, wasmModule(append(common, code, ok)...)); err != nil {
			t.Errorf("data segment %s: %v", name, err)
		}
		bad := append(append([]byte{11, 1}, seg...), huge...)
		err := load("huge data "+name, wasmModule(append(common, code, bad)...))
		if !errors.Is(err, runtime.ErrNotWasm) || !strings.Contains(err.Error(), "data segment 0: declares 4294967295 bytes") {
			t.Errorf("huge data segment %s: %v", name, err)
		}
	}
}

// Imports of every kind pass the load precheck (the decoder or the host then refuses them),
// and a name declaring 2^32-1 bytes, in an import, an export or a custom
// section, is an ordinary error.
func TestLoad_NameLengths(t *testing.T) {
	rt := newRuntime(t, runtime.Config{})
	types := []byte("\x01\x01\x60\x00\x00")
	for kind, desc := range map[string]string{
		"function":         "\x00\x00",
		"table":            "\x01\x70\x01\x01\x02",
		"memory":           "\x02\x00\x01",
		"shared memory":    "\x02\x03\x01\x02",
		"global":           "\x03\x7f\x00",
		"reference global": "\x03\x63\x70\x01",
	} {
		imports := append([]byte("\x02\x01\x03env\x01x"), desc...)
		_, err := rt.Load(context.Background(), "import "+kind, wasmModule(types, imports))
		if err == nil || strings.Contains(err.Error(), "declares") {
			t.Errorf("import of a %s: %v, want the decoder's or the host's error, not the precheck's", kind, err)
		}
	}
	const huge = "\xff\xff\xff\xff\x0f"
	for name, tc := range map[string]struct{ section, want string }{
		"import module": {"\x02\x01" + huge, "import 0: declares a name of 4294967295 bytes"},
		"import name":   {"\x02\x01\x03env" + huge, "import 0: declares a name of 4294967295 bytes"},
		"export":        {"\x07\x01" + huge, "export 0: declares a name of 4294967295 bytes"},
		"custom":        {"\x00" + huge, "declares a name of 4294967295 bytes"},
		"import after a table with an initializer": {"\x02\x02\x03env\x01t\x01\x40\x00\x70\x00\x01\xd0\x70\x0b" + huge,
			"import 1: declares a name of 4294967295 bytes"},
	} {
		_, err := rt.Load(context.Background(), name, wasmModule([]byte(tc.section)))
		if !errors.Is(err, runtime.ErrNotWasm) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want ErrNotWasm saying %q", name, err, tc.want)
		}
	}
}
