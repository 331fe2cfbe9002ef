package main

import "testing"

// tableGraph groups a CSV given as a string literal with mrun:table, built into every mrun,
// in chunks of 2 rows: a partial group-by per chunk and a combine of the three.
const tableGraph = `modules: {t: "mrun:table"}
tasks:
  sales:
    call: t.eval
    args:
      - op: groupby
        keys: [city]
        aggs: [[amount, sum], [amount, mean], [amount, count, n]]
        x:
          op: read_csv
          chunk_rows: 2
          data: |
            city,amount
            Oslo,10
            Lima,4
            Oslo,5
            Pune,7
            Lima,8
outputs: {sales: $sales}
`

// A graph file groups a CSV by a key with mrun:table, in process with one slot.
func TestRun_Table(t *testing.T) {
	out, errOut, code := mrunStdin(t, tableGraph, "run", "--workers", "1", "--no-cache", "-")
	want := `{"sales":{"$table":{"columns":[{"name":"city","type":"string","data":["Lima","Oslo","Pune"]},{"name":"amount_sum","type":"int64","data":[12,15,7]},{"name":"amount_mean","type":"float64","data":[6,7.5,7]},{"name":"n","type":"int64","data":[2,2,1]}]}}}` + "\n"
	if out != want || errOut != "" || code != 0 {
		t.Fatalf("got stdout %q stderr %q exit %d\nwant %q", out, errOut, code, want)
	}
}
