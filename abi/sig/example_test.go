package sig_test

import (
	"fmt"

	"github.com/mrun-dev/mrun/abi/sig"
)

func ExampleParse() {
	sigs, err := sig.Parse([]byte("triage(xs: list[float], *, cut: float = 0.5) -> (list[float], list[float])  -- Splits xs.\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	s := sigs[0]
	fmt.Println(s.Name, s.Params[0].Type, s.Kwargs[0].Name, string(s.Kwargs[0].Default), s.NOutput(), s.Pure)
	fmt.Println(s)

	_, err = sig.Parse([]byte("inc(x int) -> int"))
	fmt.Println(err)
	// Output:
	// triage list[float] cut 0.5 2 true
	// triage(xs: list[float], *, cut: float = 0.5) -> (list[float], list[float])  -- Splits xs.
	// line 1, column 7: want ":", found 'i'
}
