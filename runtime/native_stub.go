package runtime

import (
	"context"
	"errors"
)

// NativeFunc is a function of a native module: it receives the call's argument frame and
// returns its result frame's value, msgpack-encoded.
type NativeFunc func(ctx context.Context, args []byte) ([]byte, error)

// NativeModule describes a module whose functions are Go code.
type NativeModule struct {
	Name    string
	Version string
	Funcs   map[string]NativeFunc
}

// LoadNative registers m with rt and returns it as a *Module.
func (rt *Runtime) LoadNative(ctx context.Context, m NativeModule) (*Module, error) {
	return nil, errors.New("native modules: not built")
}

// NestedFrom returns the Nested of the running call ctx belongs to, if any.
func NestedFrom(ctx context.Context) (Nested, bool) {
	n := nestedFrom(ctx)
	return n, n != nil
}
