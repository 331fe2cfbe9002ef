package main

import "testing"

// tableChunksGraph groups a table whose chunks are the results of two tasks: the group-by's
// chunks source lists them, and its planner passes each to a partial of its own.
const tableChunksGraph = `modules: {t: "mrun:table"}
tasks:
  north:
    call: t.eval
    args: [{op: read_csv, data: "city,amount\nOslo,10\nLima,4\n"}]
  south:
    call: t.eval
    args: [{op: read_csv, data: "city,amount\nOslo,5\nPune,7\nLima,8\n"}]
  sales:
    call: t.eval
    args:
      - op: groupby
        keys: [city]
        aggs: [[amount, sum], [amount, count, n]]
        x: {op: chunks, chunks: [$north, $south]}
outputs: {sales: $sales}
`

// A chunks source of task results gives the same table in process and on a cluster of two
// workers.
func TestRun_TableChunks(t *testing.T) {
	want := `{"sales":{"$table":{"columns":[{"name":"city","type":"string","data":["Lima","Oslo","Pune"]},{"name":"amount_sum","type":"int64","data":[12,15,7]},{"name":"n","type":"int64","data":[2,2,1]}]}}}` + "\n"
	out, errOut, code := mrunStdin(t, tableChunksGraph, "run", "--workers", "1", "--no-cache", "-")
	if out != want || code != 0 {
		t.Fatalf("in process: stdout %q stderr %q exit %d, want %q", out, errOut, code, want)
	}
	url := inProcessCluster(t, 2, 2)
	out, errOut, code = mrunStdin(t, tableChunksGraph, "run", "--cluster", url, "-")
	if out != want || code != 0 {
		t.Fatalf("on a cluster: stdout %q stderr %q exit %d, want %q", out, errOut, code, want)
	}
}
