package runtime_test

import (
	"context"
	"fmt"

	"github.com/mrun-dev/mrun/abi"
	"github.com/mrun-dev/mrun/runtime"
)

// A native module's functions are Go code, called with the argument frame a guest would get
// and returning a MessagePack result frame. Guests spawn them by the module's name.
func ExampleRuntime_LoadNative() {
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{})
	if err != nil {
		panic(err)
	}
	defer rt.Close(ctx)

	double := func(_ context.Context, args []byte) ([]byte, error) {
		var frame any // [positional, keyword]
		if err := abi.Unmarshal(args, &frame); err != nil {
			return nil, err
		}
		f, _ := frame.([]any)
		if len(f) == 2 {
			if pos, _ := f[0].([]any); len(pos) == 1 {
				if x, ok := pos[0].(int64); ok && x >= 0 && x < 64 {
					return []byte{byte(2 * x)}, nil // a positive fixint
				}
			}
		}
		return nil, fmt.Errorf("double wants an integer from 0 to 63")
	}
	m, err := rt.LoadNative(ctx, runtime.NativeModule{Name: "mrun:math", Version: "1",
		Funcs: map[string]runtime.NativeFunc{"double": double}})
	if err != nil {
		panic(err)
	}
	f, err := m.Func("double")
	if err != nil {
		panic(err)
	}
	frame, _ := abi.EncodeFrame([]any{21}, nil)
	res, err := f.Call(ctx, frame)
	if err != nil {
		panic(err)
	}
	var v int
	_ = abi.Unmarshal(res.Value, &v)
	fmt.Println(m.Name(), m.Native(), v)

	_, err = f.Call(ctx, []byte{0x92, 0x91, 0xa1, 'x', 0x80}) // double("x")
	fmt.Println(err)
	// Output:
	// mrun:math true 42
	// double (module mrun:math): double wants an integer from 0 to 63
}
