package table

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/parquet-go/parquet-go"
)

// fixtureRows and fixtureGroup are the rows of testdata/types.parquet and its row groups'
// size.
const fixtureRows, fixtureGroup = 10, 4

// fixtureJSON writes frames (the row groups of a file) as the JSON of testdata/types.json:
// the row groups' sizes, the columns' names and types, then one line per row (floats that
// JSON has no number for, and timestamps in RFC 3339, as strings).
func fixtureJSON(groups []*frame) ([]byte, error) {
	var sb strings.Builder
	sizes := make([]int, len(groups))
	for g, f := range groups {
		sizes[g] = f.n
	}
	type column struct {
		Name string `json:"name"`
		Type string `json:"type"`
	}
	var cols []column
	for _, c := range groups[0].cols {
		cols = append(cols, column{c.name, c.typ.String()})
	}
	head, err := json.Marshal(map[string]any{"row_groups": sizes, "columns": cols})
	if err != nil {
		return nil, err
	}
	sb.Write(head[:len(head)-1])
	sb.WriteString(`,"rows":[`)
	first := true
	for _, f := range groups {
		for i := range f.n {
			if !first {
				sb.WriteString(",")
			}
			first = false
			sb.WriteString("\n[")
			for k, c := range f.cols {
				if k > 0 {
					sb.WriteString(",")
				}
				var v any
				switch c.typ {
				case abi.ColInt64:
					v = c.i[i]
				case abi.ColTimestamp:
					v = time.Unix(0, c.i[i]).UTC().Format(time.RFC3339Nano)
				case abi.ColFloat64:
					if x := c.f[i]; math.IsNaN(x) || math.IsInf(x, 0) {
						v = strconv.FormatFloat(x, 'g', -1, 64)
					} else {
						v = x
					}
				case abi.ColBool:
					v = c.b[i]
				case abi.ColString:
					v = c.s[i]
				default:
					return nil, fmt.Errorf("column %q: type %s", c.name, c.typ)
				}
				b, err := json.Marshal(v)
				if err != nil {
					return nil, err
				}
				sb.Write(b)
			}
			sb.WriteString("]")
		}
	}
	sb.WriteString("\n]}\n")
	return []byte(sb.String()), nil
}

// TestReadParquet_WriteFixture writes testdata/types.parquet and testdata/types.json when
// MRUN_GEN_PARQUET is set (testdata/gen_parquet.sh sets it): the Parquet file with data pages
// v1, Snappy and dictionary-encoded strings, as pandas and Spark write by default, and the
// JSON from the rows it was written from, not from reading it back.
func TestReadParquet_WriteFixture(t *testing.T) {
	if os.Getenv("MRUN_GEN_PARQUET") == "" {
		t.Skip("writes testdata/types.parquet and types.json: run testdata/gen_parquet.sh")
	}
	rows := allTypesRows(fixtureRows)
	data := writeParquet(t, rows, fixtureGroup, parquet.DataPageVersion(1), parquet.Compression(&parquet.Snappy))
	want := wantAllTypes(rows)
	var groups []*frame
	for lo := 0; lo < want.n; lo += fixtureGroup {
		groups = append(groups, want.slice(lo, min(lo+fixtureGroup, want.n)))
	}
	js, err := fixtureJSON(groups)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/types.parquet", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("testdata/types.json", js, 0o644); err != nil {
		t.Fatal(err)
	}
}
