package main

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

func TestTensorJSON(t *testing.T) {
	m, _ := abi.NewTensor([]int{2, 3}, []float64{1, 2.5, 3, 4, 5, 6})
	s, _ := abi.NewTensor(nil, []int8{-7})
	e, _ := abi.NewTensor([]int{0, 2}, []bool{})
	b, _ := abi.NewTensor([]int{2}, []bool{true, false})
	for _, tc := range []struct {
		v    any
		want string
	}{
		{m, `{"$tensor":{"dtype":"float64","shape":[2,3],"data":[1,2.5,3,4,5,6]}}`},
		{s, `{"$tensor":{"dtype":"int8","shape":[],"data":[-7]}}`},
		{e, `{"$tensor":{"dtype":"bool","shape":[0,2],"data":[]}}`},
		{[]any{b}, `[{"$tensor":{"dtype":"bool","shape":[2],"data":[true,false]}}]`},
	} {
		var out bytes.Buffer
		if err := writeJSON(&out, tc.v); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(out.String()); got != tc.want {
			t.Errorf("writeJSON(%v) = %s, want %s", tc.v, got, tc.want)
		}
	}
	// JSON has no NaN: a tensor's NaN prints as a string; a plain float NaN cannot print.
	nan, _ := abi.NewTensor([]int{1}, []float32{float32(math.NaN())})
	var out bytes.Buffer
	if err := writeJSON(&out, nan); err != nil || out.String() != `{"$tensor":{"dtype":"float32","shape":[1],"data":["NaN"]}}`+"\n" {
		t.Errorf("a NaN element: %s, %v", out.String(), err)
	}
	if err := writeJSON(&bytes.Buffer{}, math.NaN()); err == nil || !strings.Contains(err.Error(), "NaN, which JSON cannot represent") {
		t.Errorf("a NaN result: %v", err)
	}
}
