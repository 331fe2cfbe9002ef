package table

import (
	"math/rand/v2"
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

// BenchmarkGroupBy10MKernels is BenchmarkGroupBy10M's work without the engine: the same
// partial per chunk of DefaultChunkRows rows and the same combine tree, called directly on
// the columns, with no frames. Its difference from BenchmarkGroupBy10M is the cost of the
// graph: encoding the argument and the chunks, spawning, scheduling.
func BenchmarkGroupBy10MKernels(b *testing.B) {
	const n, groups = 10_000_000, 1000
	r := rand.New(rand.NewPCG(1, 2))
	keys, vals := make([]int64, n), make([]float64, n)
	for i := range keys {
		keys[i], vals[i] = r.Int64N(groups), r.Float64()
	}
	f := &frame{n: n, cols: []col{{name: "key", typ: abi.ColInt64, i: keys}, {name: "value", typ: abi.ColFloat64, f: vals}}}
	aggs := []agg{{"value", "sum", "value_sum"}, {"value", "mean", "value_mean"}}
	b.SetBytes(n * 16)
	for b.Loop() {
		var parts []*frame
		for lo := 0; lo < n; lo += DefaultChunkRows {
			p, err := groupBy(f.slice(lo, min(lo+DefaultChunkRows, n)), []string{"key"}, aggs, false, false)
			if err != nil {
				b.Fatal(err)
			}
			parts = append(parts, p)
		}
		for len(parts) > 1 {
			var next []*frame
			for lo := 0; lo < len(parts); lo += FanIn {
				all, err := concat(parts[lo:min(lo+FanIn, len(parts))])
				if err != nil {
					b.Fatal(err)
				}
				p, err := groupBy(all, []string{"key"}, aggs, true, len(parts) <= FanIn)
				if err != nil {
					b.Fatal(err)
				}
				next = append(next, p)
			}
			parts = next
		}
		if parts[0].n != groups {
			b.Fatalf("%d groups", parts[0].n)
		}
	}
}
