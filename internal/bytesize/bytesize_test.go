package bytesize_test

import (
	"fmt"
	"testing"

	"github.com/mrun-dev/mrun/internal/bytesize"
)

func TestText(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 bytes", 1000: "1000 bytes", 1024: "1 KiB", 64 << 10: "64 KiB", 8 << 20: "8 MiB",
		256<<20 + 3: "256.0 MiB", 100<<20 + 512<<10: "100.5 MiB", 4 << 30: "4 GiB", 3 << 40: "3 TiB",
	} {
		if got := bytesize.Text(n); got != want {
			t.Errorf("Text(%d) = %q, want %q", n, got, want)
		}
	}
}

func ExampleText() {
	fmt.Println(bytesize.Text(8<<20), bytesize.Text(104857608))
	// Output: 8 MiB 100.0 MiB
}
