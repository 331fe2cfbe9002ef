package main

import (
	"testing"
)

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

// tableJoinGraph joins two CSVs in chunks of 2 rows (a partition task per chunk, a join per
// partition, a merge) and groups the join.
const tableJoinGraph = `modules: {t: "mrun:table"}
tasks:
  joined:
    call: t.eval
    args:
      - op: groupby
        keys: [country]
        aggs: [[amount, sum, total]]
        x:
          op: join
          on: [city]
          partitions: 3
          x: {op: read_csv, chunk_rows: 2, data: "city,amount\nOslo,10\nLima,4\nOslo,5\nPune,7\nLima,8\nRome,1\n"}
          y: {op: read_csv, chunk_rows: 2, data: "city,country\nLima,Peru\nOslo,Norway\nPune,India\n"}
outputs: {joined: $joined}
`

// The same table graph gives the same table on a cluster of two workers as in process: the
// partitions of a join are the same in every process.
func TestRun_TableCluster(t *testing.T) {
	want := `{"joined":{"$table":{"columns":[{"name":"country","type":"string","data":["India","Norway","Peru"]},{"name":"total","type":"int64","data":[7,15,12]}]}}}` + "\n"
	out, errOut, code := mrunStdin(t, tableJoinGraph, "run", "--workers", "1", "--no-cache", "-")
	if out != want || code != 0 {
		t.Fatalf("in process: stdout %q stderr %q exit %d, want %q", out, errOut, code, want)
	}
	url := inProcessCluster(t, 2, 2)
	out, errOut, code = mrunStdin(t, tableJoinGraph, "run", "--cluster", url, "-")
	if out != want || code != 0 {
		t.Fatalf("on a cluster: stdout %q stderr %q exit %d, want %q", out, errOut, code, want)
	}
}
