package gobaseline

import "testing"

func TestRun(t *testing.T) {
	// a chain 0 → 1 → 2: each adds one to its input
	tasks := Run(3, func(i int) []int {
		if i == 0 {
			return nil
		}
		return []int{i - 1}
	}, func(i int, in []any) any {
		if i == 0 {
			return 1
		}
		return in[0].(int) + 1
	})
	<-tasks[2].Done
	if tasks[2].Val != 3 {
		t.Fatalf("chain of 3 = %v, want 3", tasks[2].Val)
	}
	if Burn(0) != 0 || Burn(1000) == Burn(1001) {
		t.Fatal("Burn")
	}
}
