// Package bytesize writes sizes in bytes for people, and reads them: in the largest binary unit that keeps
// the number at least 1, whole when it divides, with one decimal when it does not.
package bytesize

import (
	"fmt"
	"strconv"
	"strings"
)

// Text writes n bytes as in "512 bytes", "64 KiB", "8 MiB" or "100.5 MiB".
func Text(n int64) string {
	units := []string{"bytes", "KiB", "MiB", "GiB", "TiB"}
	f, u := float64(n), 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	if u == 0 || f == float64(int64(f)) {
		return fmt.Sprintf("%d %s", int64(f), units[u])
	}
	return fmt.Sprintf("%.1f %s", f, units[u])
}

// Parse parses sizes like 65536, 512KiB, 64MiB, 4GiB, in bytes (K, M, G and KB, MB, GB mean
// the same powers of 1024), up to 4GiB: nothing in a guest is larger than its memory.
func Parse(s string) (uint64, error) {
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	unit := strings.TrimSpace(s[len(num):])
	mult := map[string]uint64{"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "KiB": 1 << 10,
		"M": 1 << 20, "MB": 1 << 20, "MiB": 1 << 20, "G": 1 << 30, "GB": 1 << 30, "GiB": 1 << 30}[unit]
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || mult == 0 {
		return 0, fmt.Errorf("%q is not a size like 64MiB or 1GiB", s)
	}
	if n > (1<<32)/mult {
		return 0, fmt.Errorf("%s is more than 4GiB, the WebAssembly maximum", s)
	}
	return n * mult, nil
}
