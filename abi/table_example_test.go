package abi_test

import (
	"fmt"

	"github.com/mrun-dev/mrun/abi"
)

func ExampleNewTable() {
	t, err := abi.NewTable(
		abi.StringColumn("city", []string{"Oslo", "Lima"}),
		abi.Int64Column("pop", []int64{709000, 10719000}),
	)
	if err != nil {
		panic(err)
	}
	b, _ := abi.AppendTable(nil, t) // one ext-5 value, as a task argument or result carries it
	v, _ := abi.Decode(b)
	back := v.(abi.Table)
	cities, _ := back.Columns()[0].Strings()
	pop, _ := back.Columns()[1].Int64s()
	fmt.Println(back, len(b), "bytes")
	fmt.Println(cities, pop)
	// Output:
	// table[2 rows: city string, pop int64] 75 bytes
	// [Oslo Lima] [709000 10719000]
}
