package runtime_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package if any goroutine outlives the tests: runtimes are closed, calls
// (including interrupted and trapped ones) leave nothing behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
