package dag_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// TestFaults_Load runs a fan-out of 100,000 calls of hostile.maybe_fail(i), which fails for
// the 1,031 values with i % 97 == 13 and returns i+1 otherwise, then 1,000 hostile.sum tasks
// over 100 of them each (grouped through a permutation, so that 164 of the groups hold no
// failure), then a total over every group and a total over the clean groups only.
// Every value must be exact, every failure reported with its own message, every group that
// holds a failure must fail with ErrDependencyFailed naming one of its failed members, and
// every task must be reported by the Events hook exactly once.
func TestFaults_Load(t *testing.T) {
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	const per = 100
	h, err := rt.LoadFile(context.Background(), "../testdata/wat/hostile.wasm")
	if err != nil {
		t.Fatal(err)
	}
	maybeFail, sum := fn(t, h, "maybe_fail"), fn(t, h, "sum")
	fails := func(i int) bool { return i%97 == 13 }

	calls := make([]*dag.Object, n)
	for i := range calls {
		calls[i] = dag.Spawn(maybeFail, i)
	}
	// Group g holds calls[perm(j)] for j in [per*g, per*(g+1)); perm is a bijection of [0, n)
	// since 7919 is prime to n.
	perm := func(j int) int { return j * 7919 % n }
	groups := make([]*dag.Object, n/per)
	members := make([][]int, len(groups))
	var clean []*dag.Object
	var cleanSum int64
	cleanGroup := make([]bool, len(groups))
	for g := range groups {
		deps := make([]*dag.Object, per)
		cleanGroup[g] = true
		for k := range deps {
			i := perm(per*g + k)
			members[g] = append(members[g], i)
			deps[k] = calls[i]
			if fails(i) {
				cleanGroup[g] = false
			}
		}
		groups[g] = dag.Spawn(sum, deps)
		if cleanGroup[g] {
			clean = append(clean, groups[g])
			for _, i := range members[g] {
				cleanSum += int64(i + 1)
			}
		}
	}
	total := dag.Spawn(sum, groups)
	cleanTotal := dag.Spawn(sum, clean)

	var mu sync.Mutex
	events := map[abi.Key][]dag.EventKind{}
	e := dag.New(dag.Config{Events: func(ev dag.Event) {
		mu.Lock()
		events[ev.Key] = append(events[ev.Key], ev.Kind)
		mu.Unlock()
	}})
	start := time.Now()
	err = e.Execute(context.Background(), total, cleanTotal)
	wall := time.Since(start)
	var te *dag.TaskError
	if !errors.As(err, &te) || te.Key != total.Key() || !errors.Is(err, dag.ErrDependencyFailed) {
		t.Fatalf("err = %.300v, want the total to fail with a dependency failure", err)
	}

	failed := 0
	for i, o := range calls {
		v, err := e.Value(context.Background(), o)
		if fails(i) {
			failed++
			var ge *runtime.GuestError
			if !errors.As(err, &te) || te.Key != o.Key() || !errors.As(err, &ge) || ge.Message != fmt.Sprintf("maybe_fail: unlucky %d", i) {
				t.Fatalf("maybe_fail(%d): err = %v", i, err)
			}
			if want := fmt.Sprintf("task maybe_fail (key %s, module hostile): maybe_fail: unlucky %d", o.Key(), i); err.Error() != want {
				t.Fatalf("maybe_fail(%d): message %q, want %q", i, err, want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("maybe_fail(%d): %v", i, err)
		}
		if got, err := abi.Decode(v); err != nil || got != int64(i+1) {
			t.Fatalf("maybe_fail(%d) = %v, %v; want %d", i, got, err, i+1)
		}
	}
	cleanCount := 0
	for g, o := range groups {
		v, err := e.Value(context.Background(), o)
		if cleanGroup[g] {
			cleanCount++
			want := int64(0)
			for _, i := range members[g] {
				want += int64(i + 1)
			}
			if err != nil {
				t.Fatalf("group %d: %v", g, err)
			}
			if got, err := abi.Decode(v); err != nil || got != want {
				t.Fatalf("group %d = %v, %v; want %d", g, got, err, want)
			}
			continue
		}
		if !errors.Is(err, dag.ErrDependencyFailed) || !errors.As(err, &te) || te.Key != o.Key() {
			t.Fatalf("group %d: err = %v, want ErrDependencyFailed", g, err)
		}
		// The cause is one of the group's own failed members, named by key and message.
		var ge *runtime.GuestError
		if !errors.As(err, &ge) {
			t.Fatalf("group %d: no guest error in %v", g, err)
		}
		named := false
		for _, i := range members[g] {
			if fails(i) && ge.Message == fmt.Sprintf("maybe_fail: unlucky %d", i) &&
				strings.Contains(err.Error(), "dependency failed: task maybe_fail (key "+calls[i].Key().String()+", module hostile): "+ge.Message) {
				named = true
			}
		}
		if !named {
			t.Fatalf("group %d: %v does not name one of its failed members", g, err)
		}
	}
	if v, err := e.Value(context.Background(), cleanTotal); err != nil {
		t.Fatalf("clean total: %v", err)
	} else if got, _ := abi.Decode(v); got != cleanSum {
		t.Fatalf("clean total = %v, want %d", got, cleanSum)
	}

	// Every task reported exactly once: Start then Finish or Fail, or a lone Skip.
	want := map[string]int{}
	for i := range calls {
		if fails(i) {
			want["start,fail"]++
		} else {
			want["start,finish"]++
		}
	}
	want["start,finish"] += cleanCount + 1 // clean groups and the clean total
	want["skip"] += len(groups) - cleanCount + 1
	got := map[string]int{}
	names := map[dag.EventKind]string{dag.EventStart: "start", dag.EventFinish: "finish", dag.EventFail: "fail", dag.EventSkip: "skip"}
	for _, kinds := range events {
		s := make([]string, len(kinds))
		for i, k := range kinds {
			s[i] = names[k]
		}
		got[strings.Join(s, ",")]++
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events per task %v, want %v", got, want)
	}
	if len(events) != n+len(groups)+2 {
		t.Fatalf("%d tasks reported, want %d", len(events), n+len(groups)+2)
	}
	t.Logf("%d tasks, %d failed calls, %d of %d groups clean, wall %v", len(events), failed, cleanCount, len(groups), wall)
}
