// Package tensor is the native module mrun:tensor: chunked n-dimensional arrays, computed as
// graphs of ordinary tasks.
//
// Function eval of the module is the planner. Its one argument is an expression (package
// expr builds them; docs/tensors.md documents the map): it cuts every tensor into chunks,
// spawns one task per output chunk through the engine of the call it runs in
// (runtime.NestedFrom), builds reductions and matrix products as trees of tasks so that no
// task holds the whole array, executes them and returns the result. The other functions are
// the kernels, each computing one chunk from chunks passed to it as values: elementwise
// operators with NumPy broadcasting and promotion, reductions as a partial per chunk and a
// combine of partials, block products, transposes, gathers for slicing and rechunking.
//
// Register loads the module into a runtime; every process that runs tasks (each cluster
// worker included) registers it, so a chunk task runs wherever the engine sends it.
package tensor
