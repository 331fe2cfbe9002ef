package table

import (
	"math"
	"slices"
	"testing"

	"github.com/mrun-dev/mrun/abi"
)

// TestGroupIndex_Int64: one int64 key numbers its groups in order of first appearance,
// whether its values span few values (a slice indexed by value) or many (a map).
func TestGroupIndex_Int64(t *testing.T) {
	wide := make([]int64, 5000)
	narrow := make([]int64, 5000)
	for i := range wide {
		wide[i], narrow[i] = int64(i*i)%100003*1000, int64(i*7919)%1000-500
	}
	for _, keys := range [][]int64{
		{}, {42}, {-5, 3, -5, 3, 0}, {math.MinInt64, math.MaxInt64, math.MinInt64}, {math.MaxInt64 - 1, math.MaxInt64},
		{0, 4095}, {0, 4096, 0}, wide, narrow,
	} {
		want, wantFirst := make([]int32, len(keys)), []int(nil)
		m := map[int64]int32{}
		for i, v := range keys {
			g, ok := m[v]
			if !ok {
				g = int32(len(wantFirst))
				m[v], wantFirst = g, append(wantFirst, i)
			}
			want[i] = g
		}
		for _, typ := range []abi.ColumnType{abi.ColInt64, abi.ColTimestamp} {
			gid, first := groupIndex([]*col{{typ: typ, i: keys}}, len(keys))
			if !slices.Equal(gid, want) || !slices.Equal(first, wantFirst) {
				t.Errorf("%d keys from %v: groups %v first %v, want %v %v", len(keys), keys[:min(len(keys), 4)], gid[:min(len(gid), 8)], first[:min(len(first), 8)], want[:min(len(want), 8)], wantFirst[:min(len(wantFirst), 8)])
			}
		}
	}
}
