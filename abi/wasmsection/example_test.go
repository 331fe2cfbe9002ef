package wasmsection_test

import (
	"fmt"

	"github.com/mrun-dev/mrun/abi/wasmsection"
)

func ExampleSet() {
	empty := []byte("\x00asm\x01\x00\x00\x00") // the smallest module
	wasm, err := wasmsection.Set(empty, "mrun.signatures", []byte("now() -> int  impure\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("% x\n", wasm[8:12])
	secs, _ := wasmsection.Custom(wasm, "mrun.signatures")
	fmt.Printf("%q\n", secs)
	// Output:
	// 00 25 0f 6d
	// ["now() -> int  impure\n"]
}
