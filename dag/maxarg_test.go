package dag_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mrun-dev/mrun/dag"
	"github.com/mrun-dev/mrun/runtime"
)

// TestMaxArgument checks that a call whose argument frame is over Config.MaxArgument fails
// with an *ArgumentError naming the size, the limit and the field that raises it, and is not
// run; dependency values count, and a frame at the limit runs.
func TestMaxArgument(t *testing.T) {
	ctx := context.Background()
	first := fn(t, fixtures, "first")
	e := dag.New(dag.Config{MaxArgument: 1000, Retries: 2})

	// [["x"*994], {}]: 92 91 da 03 e2 <994 bytes> 80 is 1000 bytes, the limit.
	at := dag.Spawn(first, strings.Repeat("x", 994))
	if got := execute(t, e, at)[0]; got != strings.Repeat("x", 994) {
		t.Fatalf("a frame at the limit: got %.20v…", got)
	}

	over := dag.Spawn(first, strings.Repeat("x", 995))
	err := e.Execute(ctx, over)
	var ae *dag.ArgumentError
	if !errors.As(err, &ae) || ae.Size != 1001 || ae.Limit != 1000 {
		t.Fatalf("err = %v, want an *ArgumentError of 1001 bytes", err)
	}
	want := fmt.Sprintf("task first (key %s, module fixtures): arguments of 1001 bytes are more than the limit of 1000 bytes (raise it with dag.Config.MaxArgument)", over.TaskKey())
	if err.Error() != want {
		t.Fatalf("message\n%s\nwant\n%s", err, want)
	}
	var re *dag.RetryError
	var ce *runtime.CallError
	if errors.As(err, &re) || errors.As(err, &ce) {
		t.Fatalf("an argument over the limit reached the guest, or was retried: %v", err)
	}

	// The value of a dependency is part of the frame: a 600-byte value and 597 bytes of
	// literal are over the limit together, though neither is alone. The frame is
	// 92 91 92 <da 02 4e + 590 bytes> <the value: da 02 55 + 597 bytes> 80.
	small := dag.Spawn(first, strings.Repeat("y", 597))
	both := dag.Spawn(first, []any{strings.Repeat("z", 590), small})
	err = e.Execute(ctx, both)
	if !errors.As(err, &ae) || ae.Size != 1197 {
		t.Fatalf("err = %v, want an *ArgumentError of 1197 bytes", err)
	}

	// A negative limit means none.
	if got := execute(t, dag.New(dag.Config{MaxArgument: -1}), over)[0]; got != strings.Repeat("x", 995) {
		t.Fatalf("no limit: got %.20v…", got)
	}

	// Zero means DefaultMaxArgument, 256 MiB. A value already in the store stands in for a
	// large result (its bytes are never touched: the frame is refused from its size).
	if dag.DefaultMaxArgument != 256<<20 {
		t.Fatalf("DefaultMaxArgument = %d", dag.DefaultMaxArgument)
	}
	store := dag.NewMemoryStore(-1) // no budget: the value is not held by an execution
	produced := dag.Spawn(fn(t, fixtures, "pair"))
	store.Put(produced.Key(), make([]byte, dag.DefaultMaxArgument))
	err = dag.New(dag.Config{Store: store}).Execute(ctx, dag.Spawn(first, produced))
	if !errors.As(err, &ae) || !strings.HasSuffix(err.Error(), "): arguments of 268435459 bytes (256.0 MiB) are more than the limit of 256 MiB (raise it with dag.Config.MaxArgument)") {
		t.Fatalf("default limit: err = %v", err)
	}
}
