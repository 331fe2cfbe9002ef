package guests_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// Impure spawns (ABI.md section 2.2), end to end through the engine: a guest that spawns the
// same call several times impure gets as many tasks and values, where pure spawns would share
// one task and one value.

// distinct reports whether no two of xs are equal.
func distinct[T comparable](xs []T) bool {
	seen := map[T]bool{}
	for _, x := range xs {
		if seen[x] {
			return false
		}
		seen[x] = true
	}
	return true
}

func TestImpure(t *testing.T) {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close(ctx)
	modules := map[string]*runtime.Module{}
	for lang, path := range map[string]string{"go": "testdata/seed.wasm", "rust": "testdata/rust/conformance.wasm"} {
		if modules[lang], err = rt.LoadFile(ctx, filepath.Join("..", path)); err != nil {
			t.Fatal(err)
		}
	}
	// call executes fn(args...) of lang's module on eng and fetches its value into v.
	call := func(t *testing.T, eng *dag.Engine, lang, fn string, v any, args ...any) {
		t.Helper()
		f, err := modules[lang].Func(fn)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		o := dag.Spawn(f, args...)
		if err := eng.Execute(ctx, o); err != nil {
			t.Fatal(err)
		}
		if err := eng.Fetch(ctx, o, v); err != nil {
			t.Fatal(err)
		}
	}

	// sample_clocks spawns clock() three times impure: three tasks, three readings.
	t.Run("go/sample_clocks", func(t *testing.T) {
		before := time.Now().UnixNano()
		var got []int64
		call(t, dag.New(dag.Config{Slots: 2}), "go", "sample_clocks", &got, 3)
		after := time.Now().UnixNano()
		if len(got) != 3 || !distinct(got) {
			t.Fatalf("sample_clocks(3) = %v, want three different readings", got)
		}
		for _, r := range got {
			if r < before || r > after {
				t.Errorf("reading %d is outside the call's [%d, %d]: not the wall clock", r, before, after)
			}
		}
	})

	// rand_sums spawns rand_matrix(10, 10) three times impure, and tensor_sum of each.
	t.Run("rust/rand_sums", func(t *testing.T) {
		var got []float64
		call(t, dag.New(dag.Config{Slots: 2}), "rust", "rand_sums", &got, 3)
		if len(got) != 3 || !distinct(got) {
			t.Fatalf("rand_sums(3) = %v, want three different sums", got)
		}
		for _, s := range got {
			if !(s > 20 && s < 80) { // the sum of 100 uniform numbers: mean 50, sd 2.9
				t.Errorf("sum %v, want one near 50", s)
			}
		}
	})

	// driver2, the Mars guide's mt.random.rand(10, 10).sum(), executed three times on one
	// engine: its rand_matrix child is impure, so driver2's value depends on an impure one and
	// is never reused: three executions, three sums.
	for _, lang := range []string{"go", "rust"} {
		t.Run(lang+"/driver2", func(t *testing.T) {
			eng := dag.New(dag.Config{Slots: 2})
			sums := make([]float64, 3)
			for i := range sums {
				call(t, eng, lang, "driver2", &sums[i])
			}
			if !distinct(sums) {
				t.Fatalf("three executions of driver2 = %v, want three different sums", sums)
			}
		})
	}
}
