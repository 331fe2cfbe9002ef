// Package table is the native module mrun:table: tables (abi.Table) cut into chunks of rows
// and computed as graphs of ordinary tasks, in the manner of mars.dataframe.
//
// Function eval of the module is the planner. Its one argument is an expression, a map
// docs/tables.md documents: a source (a table value; CSV bytes for read_csv, parsed by a
// task per piece of records; Parquet bytes for read_parquet, read by row groups; or chunks, a list of tables or of Objects passed by reference,
// taken as the chunks without the planner reading them) under a chain of operations
// (select, filter, assign, head, sort, groupby, join). The planner cuts the source into
// chunks of rows, spawns one task per chunk through the engine of the call
// it runs in (runtime.NestedFrom), builds group-bys as a partial per chunk and a tree of
// combines, sorts as a sort per chunk and a merge per key range (chosen from sampled keys),
// joins as a hash partition of both sides and one join task per partition, executes them and
// returns the result as one table. The
// other functions are the kernels, each computing one chunk from the chunks passed to it.
//
// Register loads the module into a runtime; every process that runs tasks (each cluster
// worker included) registers it, so a chunk task runs wherever the engine sends it.
package table
