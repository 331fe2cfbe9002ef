package cache

import (
	"bytes"
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

// FuzzDecode checks that decode never panics on any file, and accepts exactly the files Put
// writes: a file decode accepts is header(key, value) followed by value.
func FuzzDecode(f *testing.F) {
	key := abi.Key{0xab, 1}
	for _, v := range [][]byte{nil, {0xc0}, []byte("\x92\xa5hello\xa5world")} {
		h := header(key, v)
		f.Add(append(h[:], v...))
	}
	f.Add([]byte("mrunres\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := decode(key, b)
		if err != nil {
			return
		}
		h := header(key, v)
		if want := append(h[:], v...); !bytes.Equal(b, want) {
			t.Fatalf("decode accepted %x, which Put would write as %x", b, want)
		}
	})
}
