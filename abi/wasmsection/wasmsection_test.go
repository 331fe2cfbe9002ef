package wasmsection

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/tetratelabs/wazero"
)

func TestSet(t *testing.T) {
	wasm, err := os.ReadFile("../../testdata/wat/abi_example.wasm")
	if err != nil {
		t.Fatal(err)
	}
	one, err := Set(wasm, "mrun.signatures", []byte("inc(x: int) -> int\n"))
	if err != nil {
		t.Fatal(err)
	}
	// The module's bytes, then section 0: its size, the name's length and the name, the content.
	want := append(bytes.Clone(wasm), 0, 35, 15)
	want = append(want, "mrun.signatures"+"inc(x: int) -> int\n"...)
	if !bytes.Equal(one, want) {
		t.Fatalf("Set appended % x, want % x", one[len(wasm):], want[len(wasm):])
	}
	got, err := Custom(one, "mrun.signatures")
	if err != nil || len(got) != 1 || string(got[0]) != "inc(x: int) -> int\n" {
		t.Fatalf("Custom = %q, %v", got, err)
	}

	// Setting again replaces the section: one section, the new content.
	two, err := Set(one, "mrun.signatures", []byte("inc(y: int) -> int\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := Custom(two, "mrun.signatures"); len(got) != 1 || string(got[0]) != "inc(y: int) -> int\n" {
		t.Fatalf("after a second Set, Custom = %q", got)
	}
	if again, _ := Set(two, "mrun.signatures", []byte("inc(y: int) -> int\n")); !bytes.Equal(again, two) {
		t.Fatal("setting the same content twice changed the bytes")
	}

	// The result is a module wazero compiles, and it sees the section.
	ctx := context.Background()
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCustomSections(true))
	defer rt.Close(ctx)
	cm, err := rt.CompileModule(ctx, two)
	if err != nil {
		t.Fatalf("wazero refuses the module: %v", err)
	}
	var names []string
	for _, s := range cm.CustomSections() {
		names = append(names, s.Name())
		if s.Name() == "mrun.signatures" && string(s.Data()) != "inc(y: int) -> int\n" {
			t.Fatalf("wazero reads the section as %q", s.Data())
		}
	}
	if len(names) != 1 || names[0] != "mrun.signatures" {
		t.Fatalf("wazero sees custom sections %q, want [mrun.signatures]", names)
	}

	// Setting no content removes the section.
	if none, err := Set(two, "mrun.signatures", nil); err != nil || !bytes.Equal(none, wasm) {
		t.Fatalf("Set with no content = % x, %v; want the module without the section", none, err)
	}

	// A long section's size takes more than one LEB128 byte.
	big, err := Set(wasm, "x", bytes.Repeat([]byte{'a'}, 300))
	if err != nil {
		t.Fatal(err)
	}
	if tail := big[len(wasm) : len(wasm)+5]; !bytes.Equal(tail, []byte{0, 0xae, 0x02, 1, 'x'}) {
		t.Fatalf("section header % x, want 00 ae 02 01 78", tail)
	}
}

func TestCustom_NotWasm(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"\x00asm\x02\x00\x00\x00", "not a WebAssembly module: it does not start with the \\0asm magic number and version 1"},
		{"\x00asm\x01\x00\x00\x00\x01\x05\x00", "not a WebAssembly module: section 1 at byte 8: size runs past the end of the module"},
		{"\x00asm\x01\x00\x00\x00\x00\x02\x05a", "not a WebAssembly module: custom section at byte 8: name runs past the end of the section"},
	}
	for _, tt := range tests {
		_, err := Custom([]byte(tt.in), "x")
		if !errors.Is(err, ErrNotWasm) || err.Error() != tt.want {
			t.Errorf("Custom(%q) = %v, want %s", tt.in, err, tt.want)
		}
		if _, err := Set([]byte(tt.in), "x", nil); !errors.Is(err, ErrNotWasm) {
			t.Errorf("Set(%q) = %v, want ErrNotWasm", tt.in, err)
		}
	}
}
