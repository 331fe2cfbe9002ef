package main

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

const fixturesWasm = "../../testdata/wat/fixtures.wasm"

// tensorTexts are tensors in the JSON form mrun prints, one per dtype and the edge cases.
var tensorTexts = []string{
	`{"$tensor":{"dtype":"int8","shape":[3],"data":[-128,0,127]}}`,
	`{"$tensor":{"dtype":"int16","shape":[2],"data":[-32768,32767]}}`,
	`{"$tensor":{"dtype":"int32","shape":[2],"data":[-2147483648,2147483647]}}`,
	`{"$tensor":{"dtype":"int64","shape":[2],"data":[-9223372036854775808,9223372036854775807]}}`,
	`{"$tensor":{"dtype":"uint8","shape":[2],"data":[0,255]}}`,
	`{"$tensor":{"dtype":"uint16","shape":[2],"data":[0,65535]}}`,
	`{"$tensor":{"dtype":"uint32","shape":[2],"data":[0,4294967295]}}`,
	`{"$tensor":{"dtype":"uint64","shape":[2],"data":[0,18446744073709551615]}}`,
	`{"$tensor":{"dtype":"float32","shape":[2,3],"data":[0.1,-2.5,"NaN","Infinity","-Infinity",3.4028235e+38]}}`,
	`{"$tensor":{"dtype":"float64","shape":[2,2],"data":[0.1,"NaN","-Infinity",1e-300]}}`,
	`{"$tensor":{"dtype":"bool","shape":[2,1],"data":[true,false]}}`,
	`{"$tensor":{"dtype":"float64","shape":[],"data":[7]}}`,
	`{"$tensor":{"dtype":"int32","shape":[0,3],"data":[]}}`,
}

// tableTexts are tables in the JSON form mrun prints.
var tableTexts = []string{
	`{"$table":{"columns":[{"name":"a","type":"int64","data":[1,-2]},{"name":"b","type":"string","data":["x","yé\n"]}]}}`,
	`{"$table":{"columns":[{"name":"f","type":"float64","data":[1.5,"NaN","Infinity"]},{"name":"ok","type":"bool","data":[true,false,true]},` +
		`{"name":"at","type":"timestamp","data":["2026-12-07T16:29:27.123456789Z","1970-01-01T00:00:00Z","1677-09-21T00:12:43.145224192Z"]}]}}`,
	`{"$table":{"columns":[]}}`,
	`{"$table":{"columns":[{"name":"empty","type":"string","data":[]}]}}`,
}

// Parse, encode as MessagePack, decode and print: the text comes back unchanged.
func TestValueJSON_roundTrip(t *testing.T) {
	for _, text := range append(append([]string{}, tensorTexts...), tableTexts...) {
		v, err := parseJSON(text)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		frame, err := abi.EncodeFrame([]any{v}, nil)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		decoded, err := abi.Decode(frame)
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		arg := decoded.([]any)[0].([]any)[0]
		var out bytes.Buffer
		if err := writeJSON(&out, arg); err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if got := strings.TrimSuffix(out.String(), "\n"); got != text {
			t.Errorf("round trip:\n got %s\nwant %s", got, text)
		}
	}
}

// The ext-4 bytes of a $tensor argument are those of the same tensor built in Go.
func TestTensorJSON_bytes(t *testing.T) {
	v, err := parseJSON(`{"$tensor": {"dtype": "float64", "shape": [2, 2], "data": [1, 2, 3, 4]}}`)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := abi.NewTensor([]int{2, 2}, []float64{1, 2, 3, 4})
	a, _ := abi.AppendTensor(nil, v.(abi.Tensor))
	b, _ := abi.AppendTensor(nil, want)
	if !bytes.Equal(a, b) {
		t.Fatalf("$tensor encodes as %x, want %x", a, b)
	}
}

// A guest that returns its argument gives back the text it was called with: the WAT fixture
// returns the bytes it got, and the Go SDK's identity decodes the value and encodes it again.
func TestCall_valueRoundTrip(t *testing.T) {
	for _, text := range append(append([]string{}, tensorTexts...), tableTexts...) {
		for _, fn := range [][2]string{{fixturesWasm, "first"}, {"../../testdata/seed.wasm", "identity"}} {
			out, errText, code := mrun(t, "call", fn[0], fn[1], text)
			if out != text+"\n" || errText != "" || code != 0 {
				t.Errorf("call %s %s:\n got stdout %q stderr %q exit %d", fn[1], text, out, errText, code)
			}
		}
	}
}

func TestCall_valueErrors(t *testing.T) {
	for _, tc := range []struct{ arg, want string }{
		{`{"$tensor": {"dtype": "f64", "data": [1]}}`,
			`mrun: argument 1: $tensor dtype: unknown dtype "f64" (want one of int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, bool)` + "\n"},
		{`{"$tensor": {"dtype": "int8", "shape": [2, 3], "data": [1, 2, 3, 4, 5]}}`,
			"mrun: argument 1: $tensor of shape [2 3] needs 6 elements, data has 5\n"},
		{`[1, {"$tensor": {"shape": [3], "data": [1, "x", 3]}}]`,
			`mrun: argument 1: $tensor element 1: "x" is not a number` + "\n"},
		{`{"$tensor": {"dtype": "int32", "shape": [1], "data": ["NaN"]}}`,
			`mrun: argument 1: $tensor element 0: "NaN" is not a number` + "\n"},
		{`{"$tensor": {"dtype": "uint8", "shape": [1], "data": [256]}}`,
			"mrun: argument 1: $tensor element 0: 256 does not fit uint8\n"},
		{`{"$tensor": {"dtype": "int8", "shape": [1], "data": [1], "strides": [1]}}`,
			`mrun: argument 1: $tensor has no field "strides" (it has dtype, shape and data)` + "\n"},
		{`{"$table": {"columns": [{"name": "a", "type": "int", "data": [1, 2.5]}]}}`,
			`mrun: argument 1: $table column "a" value 1: 2.5 is not an int64` + "\n"},
		{`{"$table": {"columns": [{"name": "a", "type": "int", "data": [1]}, {"name": "b", "type": "bool", "data": []}]}}`,
			`mrun: argument 1: $table column "b" has 0 values, column "a" has 1` + "\n"},
		{`{"$table": {"columns": [{"name": "a", "type": "decimal", "data": []}]}}`,
			`mrun: argument 1: $table column 0: unknown column type "decimal" (want int64, float64, bool, string or timestamp)` + "\n"},
		{`{"$table": {"columns": [{"name": "a", "type": "int", "data": []}, {"name": "a", "type": "int", "data": []}]}}`,
			`mrun: argument 1: $table has two columns named "a"` + "\n"},
		{`{"$table": {"columns": [{"name": "t", "type": "timestamp", "data": ["yesterday"]}]}}`,
			`mrun: argument 1: $table column "t" value 0: "yesterday" is not an RFC 3339 time such as 2026-12-07T16:29:27.5Z` + "\n"},
		{`{"$table": {"columns": [{"name": "t", "type": "timestamp", "data": ["2300-01-01T00:00:00Z"]}]}}`,
			`mrun: argument 1: $table column "t" value 0: "2300-01-01T00:00:00Z" is outside the years 1678 to 2262 that a timestamp holds` + "\n"},
	} {
		out, errText, code := mrun(t, "call", fixturesWasm, "first", tc.arg)
		if out != "" || errText != tc.want || code != 2 {
			t.Errorf("call first %s:\n got stdout %q stderr %q exit %d\nwant stderr %q exit 2", tc.arg, out, errText, code, tc.want)
		}
	}
	_, errText, code := mrun(t, "call", fixturesWasm, "echo", "--kwargs", `{"t": {"$tensor": {"data": [true]}}}`)
	if want := "mrun: --kwargs: $tensor element 0: true is not a number\n"; errText != want || code != 2 {
		t.Errorf("--kwargs with a bad tensor: %q exit %d, want %q", errText, code, want)
	}
}

// A plain map whose only key is $tensor or $table is written with one more $, in arguments
// and in results; other maps are left alone.
func TestCall_escapedMaps(t *testing.T) {
	for _, tc := range []struct{ arg, out string }{
		{`{"$$tensor": 1}`, `{"$$tensor":1}`},
		{`{"$$$table": [1]}`, `{"$$$table":[1]}`},
		{`{"$tensor": 1, "b": 2}`, `{"$tensor":1,"b":2}`},
		{`{"$tensors": 1}`, `{"$tensors":1}`},
		{`{"tensor": 1}`, `{"tensor":1}`},
	} {
		out, errText, code := mrun(t, "call", fixturesWasm, "first", tc.arg)
		if out != tc.out+"\n" || errText != "" || code != 0 {
			t.Errorf("call first %s: got stdout %q stderr %q exit %d, want %s", tc.arg, out, errText, code, tc.out)
		}
	}
	// The guest sees the key with one $ less.
	v, err := parseJSON(`{"$$tensor": {"$$$table": 1}}`)
	if m, ok := v.(map[string]any); err != nil || !ok || len(m) != 1 || !reflect.DeepEqual(m["$tensor"], map[string]any{"$$table": int64(1)}) {
		t.Errorf("parseJSON of escaped maps: %#v, %v", v, err)
	}
}

func TestCall_tableOutput(t *testing.T) {
	arg := `{"$table": {"columns": [{"name": "id", "type": "int", "data": [1, 22, 333]},
		{"name": "name", "type": "string", "data": ["ann", "bob\tby", "\u001b[31mred"]},
		{"name": "score", "type": "float", "data": [0.5, "NaN", -12.25]},
		{"name": "ok", "type": "bool", "data": [true, false, true]},
		{"name": "at", "type": "timestamp", "data": ["2026-12-07T16:29:27Z", 0, 1]}]}}`
	rows := `[{"id":1,"name":"ann","score":0.5,"ok":true,"at":"2026-12-07T16:29:27Z"},` +
		`{"id":22,"name":"bob\tby","score":"NaN","ok":false,"at":"1970-01-01T00:00:00Z"},` +
		`{"id":333,"name":"\u001b[31mred","score":-12.25,"ok":true,"at":"1970-01-01T00:00:00.000000001Z"}]` + "\n"
	text := "" +
		" id  name          score  ok     at\n" +
		"  1  ann             0.5  true   2026-12-07T16:29:27Z\n" +
		" 22  bob\\tby         NaN  false  1970-01-01T00:00:00Z\n" +
		"333  \\x1b[31mred  -12.25  true   1970-01-01T00:00:00.000000001Z\n" +
		"(3 rows)\n"
	for _, tc := range []struct {
		tty  bool
		args []string
		want string
	}{
		{false, []string{"--json"}, rows},
		{true, []string{"--json"}, rows},
		{true, nil, text},
	} {
		out, errText, code := mrunTTY(t, tc.tty, append([]string{"call", fixturesWasm, "first", arg}, tc.args...)...)
		if out != tc.want || errText != "" || code != 0 {
			t.Errorf("tty %v %v:\n got %q (stderr %q, exit %d)\nwant %q", tc.tty, tc.args, out, errText, code, tc.want)
		}
	}
}

func TestTextTable_long(t *testing.T) {
	ids := make([]int64, 100)
	for i := range ids {
		ids[i] = int64(i)
	}
	tb, _ := abi.NewTable(abi.Int64Column("i", ids))
	s, err := textTable(tb)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(s, "\n")
	if len(lines) != 1+40+1+1+1 || lines[20] != " 19" || lines[21] != "..." || lines[22] != " 80" || lines[42] != "(100 rows)" {
		t.Errorf("a 100-row table shows:\n%s", s)
	}
	empty, _ := textTable(abi.Table{})
	if empty != "(0 rows)\n" {
		t.Errorf("a table without columns shows %q", empty)
	}
}

// JSON graph files take $tensor and $table wherever a value may appear, and report a bad one
// at its line and column.
func TestRun_valuesInJSONGraph(t *testing.T) {
	graph := `{"modules": {"f": "` + fixturesWasm + `"},
 "tasks": {
  "t": {"call": "f.first", "args": [{"$tensor": {"dtype": "int16", "shape": [2], "data": [1, -1]}}]},
  "tb": {"call": "f.first", "args": [{"$table": {"columns": [{"name": "s", "type": "string", "data": ["$$x", "y"]}]}}]},
  "esc": {"call": "f.first", "args": [{"$$table": 1}]}
 },
 "outputs": {"t": "$t", "tb": "$tb", "esc": "$esc", "lit": {"$tensor": {"dtype": "bool", "shape": [1], "data": [true]}}}
}`
	want := `{"t":{"$tensor":{"dtype":"int16","shape":[2],"data":[1,-1]}},` +
		`"tb":{"$table":{"columns":[{"name":"s","type":"string","data":["$x","y"]}]}},` +
		`"esc":{"$$table":1},"lit":{"$tensor":{"dtype":"bool","shape":[1],"data":[true]}}}` + "\n"
	out, errText, code := mrunStdin(t, graph, "run", "-")
	if out != want || errText != "" || code != 0 {
		t.Fatalf("got stdout %q stderr %q exit %d\nwant %q", out, errText, code, want)
	}
	head := `{"modules": {"f": "` + fixturesWasm + `"},` + "\n" + ` "tasks": {"t": {"call": "f.first", "args": [`
	for _, tc := range []struct{ arg, want string }{
		{`{"$tensor": {"dtype": "f64", "data": [1]}}`,
			`<stdin>:2:68: $tensor dtype: unknown dtype "f64" (want one of int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, bool)`},
		{`{"$tensor": {"shape": [2, 2], "data": [1, 2, 3]}}`,
			`<stdin>:2:84: $tensor of shape [2 2] needs 4 elements, data has 3`},
		{`{"$tensor": {"data": [1, 2, "three"]}}`,
			`<stdin>:2:74: $tensor element 2: "three" is not a number`},
		{`{"$table": {"columns": [{"name": "a", "type": "bool", "data": [true, 1]}]}}`,
			`<stdin>:2:115: $table column "a" value 1: 1 is not true or false`},
		{`{"$tensor": {"data": ["$t"]}}`,
			`<stdin>:2:47: a $tensor holds literal values only, not references (a string that starts with $ is written with $$)`},
	} {
		_, errText, code := mrunStdin(t, head+tc.arg+"]}}}", "run", "-")
		if errText != "mrun: "+tc.want+"\n" || code != 2 {
			t.Errorf("%s:\n got %q exit %d\nwant %q", tc.arg, errText, code, "mrun: "+tc.want+"\n")
		}
	}
}

// A YAML graph file reads the same forms, and !tensor takes the strings for NaN and infinities.
func TestRun_valuesInYAMLGraph(t *testing.T) {
	graph := "modules: {f: " + fixturesWasm + "}\ntasks:\n" +
		"  t: {call: f.first, args: [{$tensor: {dtype: float32, shape: [2], data: [NaN, .inf]}}]}\n" +
		"  u: {call: f.first, args: [!tensor {dtype: float64, data: [\"-Infinity\", 1]}]}\n"
	want := `{"t":{"$tensor":{"dtype":"float32","shape":[2],"data":["NaN","Infinity"]}},"u":{"$tensor":{"dtype":"float64","shape":[2],"data":["-Infinity",1]}}}` + "\n"
	out, errText, code := mrunStdin(t, graph, "run", "-")
	if out != want || errText != "" || code != 0 {
		t.Fatalf("got stdout %q stderr %q exit %d\nwant %q", out, errText, code, want)
	}
}
