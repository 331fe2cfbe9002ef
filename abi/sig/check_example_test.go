package sig_test

import (
	"fmt"
	"log"

	"github.com/mrun-dev/mrun/abi/sig"
)

// ExampleSignature_CheckCall checks the arguments of a call against the function's signature
// before the call is made, as mrun call, graph files and dag.Spawn do.
func ExampleSignature_CheckCall() {
	s, err := sig.ParseLine(`greet(name: str, *, greeting: str = "hello", punct: str = "!") -> str`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.CheckCall([]any{"ann"}, map[string]any{"greeting": "hi"}, 1))
	fmt.Println(s.CheckCall([]any{"ann", "bob"}, nil, 1))
	fmt.Println(s.CheckCall([]any{int64(7)}, nil, 1))
	fmt.Println(s.CheckCall([]any{"ann"}, map[string]any{"greetng": "hi"}, 1))
	// Output:
	// <nil>
	// greet takes 1 positional argument (name: str), got 2
	// greet argument name must be str, got int 7
	// greet has no keyword argument "greetng"; did you mean "greeting"?
}

// ExampleAccepts shows which value types a parameter type accepts.
func ExampleAccepts() {
	float := &sig.Type{Name: sig.Float}
	fmt.Println(sig.Accepts(float, sig.TypeOf(int64(1))))
	fmt.Println(sig.Accepts(float, sig.TypeOf("1")))
	fmt.Println(sig.Accepts(&sig.Type{Name: sig.Any}, sig.TypeOf("1")))
	fmt.Println(sig.TypeOf([]float64{0.5}), sig.TypeOf(map[string][]int{}))
	// Output:
	// true
	// false
	// true
	// list[float] map[str, list[int]]
}
