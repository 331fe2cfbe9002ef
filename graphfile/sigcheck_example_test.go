package graphfile_test

import (
	"fmt"
	"log"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/graphfile"
)

// ExampleCheckCall checks the arguments of a call against the function's signature before
// the call is made, as mrun call does.
func ExampleCheckCall() {
	s, err := sig.ParseLine(`greet(name: str, *, greeting: str = "hello", punct: str = "!") -> str`)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(graphfile.CheckCall(s, []any{"ann"}, map[string]any{"greeting": "hi"}, 1))
	fmt.Println(graphfile.CheckCall(s, []any{"ann", "bob"}, nil, 1))
	fmt.Println(graphfile.CheckCall(s, []any{int64(7)}, nil, 1))
	fmt.Println(graphfile.CheckCall(s, []any{"ann"}, map[string]any{"greetng": "hi"}, 1))
	// Output:
	// <nil>
	// greet takes 1 positional argument (name: str), got 2
	// greet argument name must be str, got int 7
	// greet has no keyword argument "greetng"; did you mean "greeting"?
}

// ExampleAccepts shows which value types a parameter type accepts.
func ExampleAccepts() {
	float := &sig.Type{Name: sig.Float}
	fmt.Println(graphfile.Accepts(float, graphfile.TypeOf(int64(1))))
	fmt.Println(graphfile.Accepts(float, graphfile.TypeOf("1")))
	fmt.Println(graphfile.Accepts(&sig.Type{Name: sig.Any}, graphfile.TypeOf("1")))
	// Output:
	// true
	// false
	// true
}
