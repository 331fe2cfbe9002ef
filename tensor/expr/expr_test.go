package expr_test

import (
	"fmt"
	"testing"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/tensor/expr"
)

func decoded(t testing.TB, e expr.Expr) string {
	t.Helper()
	b, err := e.MarshalMsgpack()
	if err != nil {
		t.Fatal(err)
	}
	v, err := abi.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(v)
}

func TestExpr_MarshalMsgpack(t *testing.T) {
	x := expr.Arange(0, 12, 1).Reshape(3, 4)
	for _, tc := range []struct {
		e    expr.Expr
		want string
	}{
		{x.Slice([3]int{expr.None, expr.None, -1}, [3]int{1, expr.None, expr.None}),
			"map[index:[[<nil> <nil> -1] [1 <nil> <nil>]] op:slice x:map[op:reshape shape:[3 4] x:map[op:arange start:0 step:1 stop:12]]]"},
		{expr.Where(x.Gt(5), x, 0).Std([]int{0}, 1).KeepDims(),
			"map[axis:[0] ddof:1 keepdims:true op:std x:map[cond:map[op:gt x:map[op:reshape shape:[3 4] x:map[op:arange start:0 step:1 stop:12]] y:5] op:where x:map[op:reshape shape:[3 4] x:map[op:arange start:0 step:1 stop:12]] y:0]]"},
		{expr.Concatenate(1, expr.Ones(3, 1), expr.Zeros(3, 2).AsType(abi.Int32)).WithChunks(2, -1),
			"map[axis:1 chunks:[2 -1] op:concatenate xs:[map[op:ones shape:[3 1]] map[dtype:int32 op:astype x:map[op:zeros shape:[3 2]]]]]"},
	} {
		if got := decoded(t, tc.e); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestExpr_Err(t *testing.T) {
	for _, tc := range []struct {
		e    expr.Expr
		want string
	}{
		{expr.Rand(1, 3).Mul([]int{1}), "tensor: operand of type []int is not an Expr, an abi.Tensor or a number"},
		{expr.Expr{}, "tensor: the zero Expr is not an expression"},
		{expr.Rand(1, 3).Add(expr.Expr{}), `tensor: add: operand "y" is the zero Expr`},
	} {
		if _, err := tc.e.MarshalMsgpack(); err == nil || err.Error() != tc.want {
			t.Errorf("MarshalMsgpack: %v, want %s", err, tc.want)
		}
	}
}

// An expression is a MessagePack map; function eval of module mrun:tensor takes it as its
// one argument and returns the value.
func ExampleExpr_MarshalMsgpack() {
	e := expr.Rand(1, 10000, 10000).WithChunks(1000, 1000).Sum(nil)
	b, err := e.MarshalMsgpack()
	if err != nil {
		panic(err)
	}
	v, err := abi.Decode(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(v)
	// Output:
	// map[axis:<nil> op:sum x:map[chunks:[1000 1000] op:rand seed:1 shape:[10000 10000]]]
}
