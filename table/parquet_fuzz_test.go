package table

import (
	"os"
	"testing"

	"github.com/parquet-go/parquet-go"
)

// FuzzReadParquet: any bytes give frames that convert to valid tables, or an error; never a
// panic.
func FuzzReadParquet(f *testing.F) {
	type nested struct {
		A     int64 `parquet:"a"`
		Place struct {
			City string `parquet:"city"`
		} `parquet:"place"`
	}
	type nullable struct {
		A *int64  `parquet:"a,optional"`
		S *string `parquet:"s,optional,dict"`
	}
	one, s := int64(1), "x"
	f.Add(writeParquet(f, allTypesRows(10), 4), false)
	f.Add(writeParquet(f, allTypesRows(6), 4, parquet.DataPageVersion(1), parquet.Compression(&parquet.Zstd)), true)
	f.Add(writeParquet(f, []nested{{A: 1}}, 4), true)
	f.Add(writeParquet(f, []nullable{{&one, &s}, {nil, &s}, {&one, nil}}, 2), false)
	f.Add(writeParquet[allTypes](f, nil, 4), false)
	if b, err := os.ReadFile("testdata/types.parquet"); err == nil {
		f.Add(b, false)
	}
	if b, err := os.ReadFile("testdata/damaged_page_size.parquet"); err == nil {
		f.Add(b, false)
	}
	f.Add([]byte("PAR1PAR1PAR1"), false)
	// Small bounds keep a declared-large file from slowing the fuzzer down.
	values, page := maxParquetValues, maxParquetPage
	maxParquetValues, maxParquetPage = 1<<16, 1<<20
	f.Cleanup(func() { maxParquetValues, maxParquetPage = values, page })
	f.Fuzz(func(t *testing.T, data []byte, pick bool) {
		var columns []string
		if pick {
			columns = []string{"a", "s"}
		}
		groups, err := readParquet(data, columns)
		if err != nil {
			return
		}
		for _, g := range groups {
			tb, err := g.table()
			if err != nil {
				t.Fatalf("a row group reads but is not a table: %v", err)
			}
			if tb.Rows() != g.n {
				t.Fatalf("%d rows, frame has %d", tb.Rows(), g.n)
			}
		}
	})
}
