package main

import (
	"context"
	"strings"
	"testing"
)

func TestRunOne_UnknownWorkload(t *testing.T) {
	var out strings.Builder
	err := runOne(context.Background(), "TensorNope", &out)
	if want := `unknown workload "TensorNope" (want one of [TensorSum10k TensorFMA10k TensorMatmul2k TableGroupBy10M])`; err == nil || err.Error() != want {
		t.Errorf("runOne(TensorNope) = %v, want %s", err, want)
	}
	if out.Len() != 0 {
		t.Errorf("runOne(TensorNope) printed %q", out.String())
	}
}

// A missing NumPy script is an error that says where to run tensorbench from.
func TestRunAll_NoScript(t *testing.T) {
	var out strings.Builder
	err := runAll(1, "/nonexistent/python3", "/nonexistent/bench_numpy.py", &out)
	if err == nil || !strings.HasPrefix(err.Error(), "numpy timing script: ") || !strings.HasSuffix(err.Error(), "(run tensorbench from the repository's root)") {
		t.Errorf("runAll without the script: %v", err)
	}
}
