//go:build !wasip1

package mrun

import (
	"encoding/hex"
	"reflect"
	"testing"
	"unsafe"
)

// TestTensor_spawnFetch checks tensors as spawn arguments and as fetched values, which are
// copied out of the reused fetch buffer.
func TestTensor_spawnFetch(t *testing.T) {
	h := newFakeHost(t)
	m, _ := NewTensor([]int{2, 2}, []float64{1, 2, 3, 4})
	h.fns["matrix"] = func([]any) (any, error) { return m, nil }

	frame, err := guest.spawnFrame("f", []any{m, &m, (*Tensor)(nil)}, nil)
	if err != nil || hex.EncodeToString(frame) != "9293"+matrixHex+matrixHex+"c080" {
		t.Fatalf("spawn frame %x, %v", frame, err)
	}

	o := Spawn("matrix")
	if err := o.Execute(); err != nil {
		t.Fatal(err)
	}
	var got Tensor
	if err := o.Fetch(&got); err != nil || !reflect.DeepEqual(got.Float64s(), []float64{1, 2, 3, 4}) {
		t.Fatalf("Fetch(*Tensor) = %v, %v", got, err)
	}
	var v any
	if err := o.Fetch(&v); err != nil {
		t.Fatal(err)
	}
	again, ok := v.(Tensor)
	if !ok || !reflect.DeepEqual(again.Shape(), []int{2, 2}) {
		t.Fatalf("Fetch(*any) = %#v", v)
	}
	buf := guest.fetchBuf
	for _, x := range []Tensor{got, again} {
		p := uintptr(unsafe.Pointer(&x.Bytes()[0]))
		if base := uintptr(unsafe.Pointer(&buf[0])); p >= base && p < base+uintptr(len(buf)) {
			t.Error("a fetched tensor refers to the fetch buffer")
		}
	}
	var f float64
	if err := o.Fetch(&f); err == nil || err.Error() != "mrun: fetch of Object 1: cannot decode ext into float64" {
		t.Errorf("Fetch(*float64) of a tensor: %v", err)
	}
}
