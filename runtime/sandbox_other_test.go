//go:build !unix

package runtime_test

import "testing"

// mkfifo skips the test: the mount tests build trees of FIFOs and symbolic links.
func mkfifo(t *testing.T, path string) {
	t.Skip("the mount tests need a Unix host for FIFOs and symbolic links")
}
