package dag_test

import (
	"context"
	"errors"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/mrun-dev/mrun/abi/sig"
	"github.com/mrun-dev/mrun/dag"
)

// TestSpawn_CheckedAgainstSignature spawns calls of described functions (the WAT conformance
// module carries signatures) with arguments that do not fit: Execute reports the mismatch,
// naming the argument, and no task runs, not even the ones the bad call depends on.
func TestSpawn_CheckedAgainstSignature(t *testing.T) {
	ctx := context.Background()
	m, err := rt.LoadFile(ctx, "../testdata/wat/conformance.wasm")
	if err != nil {
		t.Fatal(err)
	}
	inc, concat, triage, greet := fn(t, m, "inc"), fn(t, m, "concat"), fn(t, m, "triage"), fn(t, m, "greet")
	divmod := fn(t, m, "divmod")
	tests := []struct {
		name string
		obj  func() *dag.Object
		want string
	}{
		{"literal type", func() *dag.Object { return dag.Spawn(inc, "x") },
			`cannot spawn inc: inc argument x must be int, got str "x"`},
		{"arity", func() *dag.Object { return dag.Spawn(inc, 1, 2) },
			`cannot spawn inc: inc takes 1 positional argument (x: int), got 2`},
		{"producer's result type", func() *dag.Object { return dag.Spawn(concat, dag.Spawn(inc, 1), "x") },
			`cannot spawn concat: concat argument a must be str, got int`},
		{"one output of several", func() *dag.Object { return dag.Spawn(concat, dag.SpawnN(divmod, 2, 7, 2)[1], "x") },
			`cannot spawn concat: concat argument a must be str, got int`},
		{"typed Go slice", func() *dag.Object { return dag.SpawnN(triage, 2, []string{"a"})[0] },
			`cannot spawn triage: triage argument xs must be list[float], got list[str]`},
		{"element of a list", func() *dag.Object { return dag.SpawnN(triage, 2, []any{0.5, "b"})[0] },
			`cannot spawn triage: triage argument xs[1] must be float, got str "b"`},
		{"misspelled keyword", func() *dag.Object { return dag.Spawn(greet, "ann", dag.Kwargs{"greetng": "hi"}) },
			`cannot spawn greet: greet has no keyword argument "greetng"; did you mean "greeting"?`},
		{"n_output", func() *dag.Object { return dag.Spawn(divmod, 7, 2) },
			`cannot spawn divmod: n_output is 1, but divmod returns 2 outputs (int, int)`},
		{"depends on a bad spawn", func() *dag.Object { return dag.Spawn(inc, dag.Spawn(inc, "x")) },
			`cannot spawn inc: argument depends on an Object that could not be spawned: cannot spawn inc: inc argument x must be int, got str "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var started atomic.Int32
			e := dag.New(dag.Config{Events: func(ev dag.Event) {
				if ev.Kind == dag.EventStart {
					started.Add(1)
				}
			}})
			good := dag.Spawn(inc, 41)
			err := e.Execute(ctx, good, tt.obj())
			if err == nil || err.Error() != tt.want {
				t.Fatalf("Execute = %v\nwant %s", err, tt.want)
			}
			if tt.name != "depends on a bad spawn" && !errors.Is(err, sig.ErrArgs) {
				t.Errorf("the error does not wrap sig.ErrArgs: %#v", err)
			}
			if !errors.Is(err, dag.ErrSpawn) {
				t.Errorf("the error does not wrap dag.ErrSpawn")
			}
			if n := started.Load(); n != 0 {
				t.Errorf("%d tasks started, want none", n)
			}
		})
	}

	// Arguments that fit run as before.
	e := dag.New(dag.Config{})
	got := execute(t, e, dag.Spawn(concat, "a", "b"), dag.Spawn(greet, "ann", dag.Kwargs{"punct": "?"}),
		dag.SpawnN(triage, 2, []float64{0.25, 0.75})[1], dag.Spawn(inc, int8(3)))
	want := []any{"ab", "hello, ann?", []any{0.75}, int64(4)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v\nwant %#v", got, want)
	}
}

// TestSpawn_UndescribedChecksWhenRun: a module without signatures keeps its behaviour: the call
// is spawned, runs, and the guest reports the bad argument.
func TestSpawn_UndescribedChecksWhenRun(t *testing.T) {
	ctx := context.Background()
	m, err := rt.LoadFile(ctx, "../testdata/wat/abi_example.wasm")
	if err != nil {
		t.Fatal(err)
	}
	inc := fn(t, m, "inc")
	if inc.Signature() != nil {
		t.Fatal("abi_example.wasm describes inc; this test needs a module without signatures")
	}
	o := dag.Spawn(inc, "x")
	if err := o.Err(); err != nil {
		t.Fatalf("spawn failed: %v", err)
	}
	err = dag.New(dag.Config{}).Execute(ctx, o)
	if err == nil || errors.Is(err, sig.ErrArgs) || errors.Is(err, dag.ErrSpawn) {
		t.Fatalf("Execute = %v, want the guest's error from the run", err)
	}
}
