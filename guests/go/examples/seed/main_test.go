package main

import (
	"math"
	"reflect"
	"testing"

	"github.com/mrun-dev/mrun/guests/go/mrun"
)

// The seed functions are plain Go, so they are tested as such; the wasm module built from
// them is exercised by the host's tests.

func TestSumAll(t *testing.T) {
	tests := []struct {
		xs   []any
		want any
	}{
		{nil, int64(0)},
		{[]any{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7), int64(8), int64(9), int64(10)}, int64(55)},
		{[]any{0.4, 0.2}, 0.6000000000000001},
		{[]any{0.7, 0.8}, 1.5},
		{[]any{int64(1), 2.5, int64(200)}, 203.5},
	}
	for _, tt := range tests {
		got, err := sum_all(tt.xs)
		if err != nil || got != tt.want {
			t.Errorf("sum_all(%v) = %#v, %v; want %#v", tt.xs, got, err, tt.want)
		}
	}
	for _, xs := range [][]any{{int64(1), "a"}, {1.5, true}, {int64(1<<63 - 1), int64(1)}} {
		if got, err := sum_all(xs); err == nil {
			t.Errorf("sum_all(%v) = %v, want an error", xs, got)
		}
	}
}

func TestTriage(t *testing.T) {
	low, high := triage([]float64{0.4, 0.7, 0.2, 0.8})
	if !reflect.DeepEqual(low, []float64{0.4, 0.2}) || !reflect.DeepEqual(high, []float64{0.7, 0.8}) {
		t.Errorf("triage = %v, %v", low, high)
	}
	if low, high := triage(nil); low == nil || high == nil {
		t.Error("triage(nil) returned nil lists: they must encode as empty arrays")
	}
}

func TestFail(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "fail: asked to fail"},
		{[]string{"Exact message."}, "Exact message."},
		{[]string{"a", "b"}, "fail: takes at most 1 positional argument but 2 were given"},
	} {
		if err := fail(tt.args...); err == nil || err.Error() != tt.want {
			t.Errorf("fail(%q) = %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestBurn(t *testing.T) {
	a, _ := burn(1000)
	b, _ := burn(1000)
	c, _ := burn(1001)
	if a != b || a == c || a < 0 {
		t.Errorf("burn: %d, %d, %d", a, b, c)
	}
	if _, err := burn(-1); err == nil {
		t.Error("burn(-1) succeeded")
	}
}

func TestPow(t *testing.T) {
	if got, err := pow(3, mrun.Kwargs{}); got != 9 || err != nil {
		t.Errorf("pow(3) = %v, %v", got, err)
	}
}

// The functions of nested.go spawn, which only works in a guest; the host's tests run them.
// Their argument checks come before any spawn.
func TestNestedArguments(t *testing.T) {
	if add(2, 3) != 5 {
		t.Error("add(2, 3) != 5")
	}
	for name, err := range map[string]error{
		"driver_n": second(driver_n(-1)),
		"fanout":   second(fanout(-1)),
		"forward":  second(forward(mrun.Object{}, -1)),
		"bogus":    second(bogus(-1)),
		"bomb":     second(bomb(0)),
	} {
		if err == nil {
			t.Errorf("%s accepted a bad argument", name)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestValues(t *testing.T) {
	if got := concat("ab", "cd"); got != "abcd" {
		t.Errorf("concat = %q", got)
	}
	if got := rev_bytes([]byte{1, 2, 3}); !reflect.DeepEqual(got, []byte{3, 2, 1}) {
		t.Errorf("rev_bytes = %v", got)
	}
	if got := rev_bytes([]byte{}); got == nil {
		t.Error("rev_bytes(b\"\") is nil: it must encode as empty bytes")
	}
	if !math.IsInf(fdiv(1, 0), 1) || !math.IsNaN(fdiv(0, 0)) {
		t.Error("fdiv is not IEEE 754 division")
	}
	if got, err := greet("bob", mrun.Kwargs{}); got != "hello, bob!" || err != nil {
		t.Errorf("greet = %q, %v", got, err)
	}
	e := empties()
	if e[1] == nil || e[2] == nil || e[3] == nil {
		t.Errorf("empties has nil containers: %#v", e)
	}
	if q, r, err := divmod(17, 5); q != 3 || r != 2 || err != nil {
		t.Errorf("divmod(17, 5) = %d, %d, %v", q, r, err)
	}
}

func TestTensors(t *testing.T) {
	a, _ := mrun.NewTensor([]int{2, 3}, []float64{1, 2, 3, 4, 5, 6})
	b, _ := mrun.NewTensor([]int{3, 2}, []float64{7, 8, 9, 10, 11, 12})
	if s, err := tensor_sum(a); s != 21 || err != nil {
		t.Errorf("tensor_sum = %v, %v", s, err)
	}
	p, err := matmul(a, b)
	if err != nil || !reflect.DeepEqual(p.Shape(), []int{2, 2}) || !reflect.DeepEqual(p.Float64s(), []float64{58, 64, 139, 154}) {
		t.Errorf("matmul = %v %v, %v", p, p.Bytes(), err)
	}
	if _, err := matmul(a, a); err == nil || err.Error() != "matmul: shapes [2 3] and [2 3] do not fit: 3 columns against 2 rows" {
		t.Errorf("matmul of unfit shapes: %v", err)
	}
	ints, _ := mrun.NewTensor([]int{1}, []int32{1})
	if _, err := tensor_sum(ints); err == nil {
		t.Error("tensor_sum accepted an int32 tensor")
	}
	r, err := rand_matrix(3, 4)
	if err != nil || !reflect.DeepEqual(r.Shape(), []int{3, 4}) {
		t.Fatalf("rand_matrix = %v, %v", r, err)
	}
	for _, x := range r.Float64s() {
		if x < 0 || x >= 1 {
			t.Errorf("rand_matrix element %v is outside [0, 1)", x)
		}
	}
	for _, rc := range [][2]int{{-1, 2}, {1 << 20, 1 << 20}} {
		if _, err := rand_matrix(rc[0], rc[1]); err == nil {
			t.Errorf("rand_matrix(%d, %d) succeeded", rc[0], rc[1])
		}
	}
}
