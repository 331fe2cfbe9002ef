package abi_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidate(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" = valid
	}{
		{"01", ""},
		{"c0", ""},
		{"93 01 a3 74 77 6f cb 40 0c 00 00 00 00 00 00", ""},
		{"82 a1 61 01 a1 62 92 c2 c3", ""},
		{"d8 01 00112233445566778899aabbccddeeff", ""},
		{"", "malformed msgpack at byte 0: unexpected end of frame"},
		{"c1", "malformed msgpack at byte 0: reserved type byte 0xc1"},
		{"01 02", "malformed msgpack at byte 1: 1 trailing bytes after the value"},
		{"92 01", "malformed msgpack at byte 0: 2 elements cannot fit in 1 bytes"},
		{"a5 61 62", "malformed msgpack at byte 0: length 5 runs past the end of the frame"},
		{"cb 40 0c", "malformed msgpack at byte 0: truncated value (type byte 0xcb needs 9 bytes, 3 left)"},
		{"dd ff ff ff ff 01", "malformed msgpack at byte 0: 4294967295 elements cannot fit in 1 bytes"},
		{strings.Repeat("91", abi.MaxDepth+1) + "01", "malformed msgpack at byte 512: nesting deeper than 512"},
	}
	for _, tt := range tests {
		err := abi.Validate(unhex(t, tt.in))
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("Validate(%s) = %v, want nil", tt.in, err)
		case tt.want != "" && (err == nil || err.Error() != tt.want):
			t.Errorf("Validate(%s) = %v, want %s", tt.in, err, tt.want)
		case tt.want != "" && !errors.Is(err, abi.ErrMalformed):
			t.Errorf("Validate(%s) error does not match ErrMalformed", tt.in)
		}
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, want string }{
		{"cc 05", "05"},                                     // uint8 holding a fixint
		{"d3 00 00 00 00 00 00 00 07", "07"},                // int64 holding a small positive
		{"d1 ff f0", "f0"},                                  // int16 holding -16
		{"d2 ff ff ff 00", "d1 ff 00"},                      // int32 holding -256
		{"cd 01 00", "cd 01 00"},                            // already shortest
		{"d9 02 61 62", "a2 61 62"},                         // str8 with short string
		{"dc 00 01 01", "91 01"},                            // array16 with one element
		{"82 a1 62 01 a1 61 02", "82 a1 61 02 a1 62 01"},    // map sorted by key bytes
		{"c7 01 06 ff", "d4 06 ff"},                         // ext8 of 1 byte -> fixext1
		{"ca 3f 80 00 00", "ca 3f 80 00 00"},                // float32 keeps its width
		{"92 81 cc 02 c0 81 01 c0", "92 81 02 c0 81 01 c0"}, // nested
	}
	for _, tt := range tests {
		got, err := abi.Canonical(unhex(t, tt.in))
		if err != nil || !bytes.Equal(got, unhex(t, tt.want)) {
			t.Errorf("Canonical(%s) = % x, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if _, err := abi.Canonical(unhex(t, "82 a1 61 01 a1 61 02")); err == nil || !strings.Contains(err.Error(), "duplicate key") {
		t.Errorf("duplicate keys: err = %v", err)
	}
}

func TestEncodeFrame(t *testing.T) {
	b, err := abi.EncodeFrame([]any{0}, nil)
	if err != nil || !bytes.Equal(b, []byte{0x92, 0x91, 0x00, 0x80}) {
		t.Fatalf("inc(0) frame = % x, %v; want 92 91 00 80 (ABI.md section 3)", b, err)
	}
	// Map key order and integer width do not depend on the Go types used.
	a, _ := abi.EncodeFrame([]any{map[string]int{"b": 1, "a": 2}, int64(3)}, map[string]any{"y": uint8(1), "x": 2})
	c, _ := abi.EncodeFrame([]any{map[string]any{"a": int8(2), "b": uint64(1)}, 3}, map[string]any{"x": int16(2), "y": 1})
	if !bytes.Equal(a, c) {
		t.Fatalf("equal arguments encoded differently:\n% x\n% x", a, c)
	}
	if _, err := abi.EncodeFrame([]any{make(chan int)}, nil); err == nil || !strings.HasPrefix(err.Error(), "argument 0: ") {
		t.Fatalf("channel argument: err = %v", err)
	}
}

func TestSplitArray(t *testing.T) {
	parts, err := abi.SplitArray(unhex(t, "92 92 cb 3fd999999999999a cb 3fc999999999999a 90"), 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 2 || hex.EncodeToString(parts[1]) != "90" || len(parts[0]) != 19 {
		t.Fatalf("parts = % x", parts)
	}
	for in, want := range map[string]string{
		"93 01 02 03": "result is array of 3, want an array of 2 for n_output=2",
		"81 01 02":    "result is map, want an array of 2 for n_output=2",
		"05":          "result is integer, want an array of 2 for n_output=2",
	} {
		_, err := abi.SplitArray(unhex(t, in), 2)
		var se *abi.ShapeError
		if !errors.As(err, &se) || err.Error() != want {
			t.Errorf("SplitArray(%s) = %v, want %s", in, err, want)
		}
	}
}

func TestTemplate(t *testing.T) {
	k1, k2 := abi.Key{1}, abi.Key{2}
	frame, err := abi.EncodeFrame([]any{[]any{abi.NewRef(k1), map[string]any{"x": abi.NewRef(k2)}}}, map[string]any{"k": abi.NewRef(k1)})
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := abi.NewTemplate(frame)
	if err != nil {
		t.Fatal(err)
	}
	deps := tmpl.Deps()
	if len(deps) != 3 || deps[0] != k1 || deps[1] != k2 || deps[2] != k1 {
		t.Fatalf("deps = %v", deps)
	}
	vals := [][]byte{{0x05}, unhex(t, "a3 61 62 63"), {0x05}}
	got := tmpl.AppendFrame(nil, vals)
	want, _ := abi.EncodeFrame([]any{[]any{5, map[string]any{"x": "abc"}}}, map[string]any{"k": 5})
	if !bytes.Equal(got, want) || tmpl.Size(vals) != len(want) {
		t.Fatalf("frame = % x\nwant    % x", got, want)
	}
	v, err := abi.Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := v.([]any)[1].(map[string]any)["k"].(abi.Ref); !ok || r.Key() != k1 {
		t.Fatalf("reference decoded as %#v", v)
	}
	if _, err := abi.NewTemplate(unhex(t, "92 91 d4 02 00 80")); err == nil || !strings.Contains(err.Error(), "extension type 2 is reserved") {
		t.Fatalf("reserved ext: err = %v", err)
	}
}

func TestKeys(t *testing.T) {
	var mod [32]byte
	mod[0] = 9
	tmpl, _ := abi.NewTemplate([]byte{0x92, 0x91, 0x00, 0x80})
	k := abi.TaskKey(mod, "inc", 1, tmpl)
	// Pinned (computed independently from ABI.md section 6): keys must not change between
	// versions of the host or across machines.
	if got := k.String(); got != "8c1f522ebd18d782350831ea355a0d0c" {
		t.Fatalf("TaskKey = %s", got)
	}
	if abi.TaskKey(mod, "inc", 2, tmpl) == k || abi.TaskKey(mod, "dec", 1, tmpl) == k {
		t.Fatal("n_output or the function name do not change the key")
	}
	if o := abi.OutputKey(k, 1); o == abi.OutputKey(k, 0) || o == k {
		t.Fatal("output keys collide")
	}
	p, err := abi.ParseKey(k.String())
	if err != nil || p != k {
		t.Fatalf("ParseKey = %v, %v", p, err)
	}
	if _, err := abi.ParseKey("xyz"); err == nil {
		t.Fatal("ParseKey accepted garbage")
	}
	// An impure spawn's key: SHA-256("mrun/impure/v1" 0x00 task_key nonce)[0:16].
	var nonce [16]byte
	nonce[15] = 1
	buf := append([]byte("mrun/impure/v1\x00"), k[:]...)
	sum := sha256.Sum256(append(buf, nonce[:]...))
	if ik := abi.ImpureKey(k, nonce); string(ik[:]) != string(sum[:16]) || ik == abi.ImpureKey(k, [16]byte{}) {
		t.Fatalf("ImpureKey = %s, want %x and a key per nonce", ik, sum[:16])
	}
}

func FuzzValidateCanonical(f *testing.F) {
	for _, s := range []string{"01", "92 91 00 80", "82 a1 62 01 a1 61 02", "d8 01 00112233445566778899aabbccddeeff", "c1", "dd ff ff ff ff",
		"c7 20 05 0100000000000000 0100000000000000 0b00010062000000 0100000000000000"} { // a one-row bool table
		f.Add(unhex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		verr := abi.Validate(b)
		c, cerr := abi.Canonical(b)
		if _, derr := abi.Decode(b); verr != nil && derr == nil {
			t.Fatalf("Decode accepted what Validate rejects: %v", verr)
		}
		_, _ = abi.ResolveHandles(b, func(h uint32) (abi.Key, error) { return abi.Key{byte(h)}, nil })
		if verr != nil {
			if cerr == nil {
				t.Fatalf("Canonical accepted what Validate rejects: %v", verr)
			}
			return
		}
		if cerr != nil {
			if strings.Contains(cerr.Error(), "duplicate key") {
				return
			}
			t.Fatalf("Canonical rejected a valid value: %v", cerr)
		}
		if err := abi.Validate(c); err != nil {
			t.Fatalf("canonical form is invalid: %v", err)
		}
		c2, err := abi.Canonical(c)
		if err != nil || !bytes.Equal(c, c2) {
			t.Fatalf("canonical form is not a fixed point")
		}
		_, _ = abi.SplitArray(b, 2)
		_, _ = abi.NewTemplate(b)
	})
}
