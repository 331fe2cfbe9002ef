package table

import (
	"fmt"
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

func testFrame() *frame {
	return &frame{n: 3, cols: []col{
		{name: "a", typ: abi.ColInt64, i: []int64{1, 2, 3}},
		{name: "x", typ: abi.ColFloat64, f: []float64{0.5, -1, 2}},
		{name: "s", typ: abi.ColString, s: []string{"p", "q", "r"}},
		{name: "b", typ: abi.ColBool, b: []bool{true, false, true}},
		{name: "two words", typ: abi.ColInt64, i: []int64{10, 20, 30}},
		{name: "t", typ: abi.ColTimestamp, i: []int64{0, 1e9, 2e9}},
	}}
}

func show(c col) string {
	switch c.typ {
	case abi.ColInt64:
		return fmt.Sprint("int64 ", c.i)
	case abi.ColFloat64:
		return fmt.Sprint("float64 ", c.f)
	case abi.ColBool:
		return fmt.Sprint("bool ", c.b)
	}
	return fmt.Sprint(c.typ, " ", c.s)
}

// TestExpr_Eval: precedence, types and literals of the filter and assign language.
func TestExpr_Eval(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a + 2 * 3", "int64 [7 8 9]"},
		{"(a + 2) * 3 - -1", "int64 [10 13 16]"},
		{"a / 2", "float64 [0.5 1 1.5]"},
		{"a * x", "float64 [0.5 -2 6]"},
		{"`two words` - a", "int64 [9 18 27]"},
		{"a > 1 and s != 'q' or not b", "bool [false true true]"},
		{"not a >= 2 or x == 2", "bool [true false true]"},
		{`s == "p" or s < 'q'`, "bool [true false false]"},
		{"b == true", "bool [true false true]"},
		{"t >= '1970-01-01T00:00:01Z'", "bool [false true true]"},
		{"1.5e1 - a", "float64 [14 13 12]"},
	} {
		n, err := parseExpr(tc.src)
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		c, err := evalExpr(tc.src, n, testFrame())
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if got := show(c); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.src, got, tc.want)
		}
	}
}

// TestExpr_Errors: syntax and type errors name the offset where they are.
func TestExpr_Errors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"a >", `table: expression "a >", at offset 3: the expression ends where a value is expected`},
		{"a < 1 < 2", `table: expression "a < 1 < 2", at offset 6: comparisons do not chain: join them with and`},
		{"(a + 1", `table: expression "(a + 1", at offset 6: expected ")"`},
		{"a # 1", `table: expression "a # 1", at offset 2: unexpected '#'`},
		{"s == 'x", `table: expression "s == 'x", at offset 5: string is not closed`},
		{"a and", `table: expression "a and", at offset 5: the expression ends where a value is expected`},
		{"a 1", `table: expression "a 1", at offset 2: unexpected "1" after the expression`},
		{"nope + 1", `table: expression "nope + 1", at offset 0: no column "nope" (the table has ["a" "x" "s" "b" "two words" "t"])`},
		{"s + 1", `table: expression "s + 1", at offset 2: + needs numbers, got string and int64`},
		{"a and b", `table: expression "a and b", at offset 2: and needs bools, got int64 and bool`},
		{"not a", `table: expression "not a", at offset 0: not needs a bool, got int64`},
		{"t < 'yesterday'", `table: expression "t < 'yesterday'", at offset 4: "yesterday" is not an RFC 3339 time to compare a timestamp with`},
	} {
		n, err := parseExpr(tc.src)
		if err == nil {
			_, err = evalExpr(tc.src, n, testFrame())
		}
		if err == nil || err.Error() != tc.want {
			t.Errorf("%s: got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

// TestGroupBy_BadPartial: a combine given a partial whose state has the wrong type (a
// hand-made frame: partials come from other tasks) fails with an error, not a panic.
func TestGroupBy_BadPartial(t *testing.T) {
	f := &frame{n: 1, cols: []col{
		{name: "k", typ: abi.ColInt64, i: []int64{1}},
		{name: stateName(0, "s"), typ: abi.ColString, s: []string{"x"}},
		{name: stateName(0, "c"), typ: abi.ColInt64, i: []int64{1}},
	}}
	_, err := groupBy(f, []string{"k"}, []agg{{"v", "mean", "m"}}, true, true)
	if want := "table: groupby: the partial's state for mean(v) is string and int64, not float64 and int64"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}
