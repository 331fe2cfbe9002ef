package runtime_test

import (
	"context"
	"fmt"

	"github.com/mrun-dev/mrun/runtime"
)

func ExampleFunction_Signature() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)
	mod, err := rt.LoadFile(ctx, "../testdata/wat/conformance.wasm")
	if err != nil {
		fmt.Println(err)
		return
	}
	greet, _ := mod.Func("greet")
	s := greet.Signature() // nil when the module does not describe the function
	fmt.Println(s)
	for _, k := range s.Kwargs {
		fmt.Printf("%s: %s, default %s\n", k.Name, k.Type, k.Default)
	}
	// Output:
	// greet(name: str, *, greeting: str = "hello", punct: str = "!") -> str  -- Returns greeting + ", " + name + punct.
	// greeting: str, default "hello"
	// punct: str, default "!"
}
