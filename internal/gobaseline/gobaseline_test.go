package gobaseline

import "testing"

func TestRun(t *testing.T) {
	if got := Chain(3); got != 3 {
		t.Fatalf("chain of 3 = %d, want 3", got)
	}
	if got := FanOut(10); got != 55 {
		t.Fatalf("fan-out of 10 = %d, want 55", got)
	}
	if Burn(0) != 0 || Burn(1000) == Burn(1001) {
		t.Fatal("Burn")
	}
}
