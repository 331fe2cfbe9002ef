// Package bytesize writes sizes in bytes for people: in the largest binary unit that keeps
// the number at least 1, whole when it divides, with one decimal when it does not.
package bytesize

import "fmt"

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
