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
		{m, `{"dtype":"float64","shape":[2,3],"data":[[1,2.5,3],[4,5,6]]}`},
		{s, `{"dtype":"int8","shape":[],"data":-7}`},
		{e, `{"dtype":"bool","shape":[0,2],"data":[]}`},
		{[]any{b}, `[{"dtype":"bool","shape":[2],"data":[true,false]}]`},
	} {
		var out bytes.Buffer
		if err := writeJSON(&out, tc.v); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(out.String()); got != tc.want {
			t.Errorf("writeJSON(%v) = %s, want %s", tc.v, got, tc.want)
		}
	}
	nan, _ := abi.NewTensor([]int{1}, []float32{float32(math.NaN())})
	if err := writeJSON(&bytes.Buffer{}, nan); err == nil || !strings.Contains(err.Error(), "NaN, which JSON cannot represent") {
		t.Errorf("a NaN element: %v", err)
	}
}
