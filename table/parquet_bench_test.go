package table

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/parquet-go/parquet-go"
)

// BenchmarkReadParquet reads 1,000,000 rows (an int64, a float64 and a string column; Snappy,
// row groups of DefaultChunkRows rows) into frames, as the planner does; BenchmarkReadCSV1M
// reads the same rows from CSV, for comparison.
func BenchmarkReadParquet1M(b *testing.B) {
	type row struct {
		ID    int64   `parquet:"id"`
		Price float64 `parquet:"price"`
		City  string  `parquet:"city,dict"`
	}
	cities := []string{"Oslo", "Lima", "Pune", "Zürich"}
	rows := make([]row, 1_000_000)
	for i := range rows {
		rows[i] = row{int64(i), float64(i%1000) / 8, cities[i%len(cities)]}
	}
	data := writeParquet(b, rows, DefaultChunkRows, parquet.Compression(&parquet.Snappy))
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if _, err := readParquet(data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadCSV1M(b *testing.B) {
	cities := []string{"Oslo", "Lima", "Pune", "Zürich"}
	var sb strings.Builder
	sb.WriteString("id,price,city\n")
	for i := range 1_000_000 {
		fmt.Fprintf(&sb, "%d,%g,%s\n", i, float64(i%1000)/8, cities[i%len(cities)])
	}
	data := []byte(sb.String())
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if _, err := readCSV(data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChunkFrames1M cuts the same 1,000,000 rows into chunks of DefaultChunkRows rows and
// encodes each into a kernel's argument frame: what the planner does with a source's rows
// after reading them, whoever reads them.
func BenchmarkChunkFrames1M(b *testing.B) {
	cities := []string{"Oslo", "Lima", "Pune", "Zürich"}
	f := &frame{n: 1_000_000, cols: []col{{name: "id", typ: abi.ColInt64}, {name: "price", typ: abi.ColFloat64}, {name: "city", typ: abi.ColString}}}
	for i := range f.n {
		f.cols[0].i = append(f.cols[0].i, int64(i))
		f.cols[1].f = append(f.cols[1].f, float64(i%1000)/8)
		f.cols[2].s = append(f.cols[2].s, cities[i%len(cities)])
	}
	b.ResetTimer()
	for range b.N {
		refs, err := chunks(f, DefaultChunkRows)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range refs {
			if _, err := abi.EncodeFrame([]any{r.arg()}, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
}
