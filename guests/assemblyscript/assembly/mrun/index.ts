// The AssemblyScript guest SDK for mrun: write typed functions, run them on argument frames,
// spawn nested tasks (abi/ABI.md). Import it as `import { call1, ... } from "./mrun"` and
// re-export `mrun_abi_v1` and `mrun_alloc` from the module's entry file.

export { mrun_abi_v1, mrun_alloc, call, call0, call1, call2, call3, fail, failWith, failed, write, onAbort } from "./call";
export { Args } from "./args";
export { Kind, kindName, Value, Tensor, DType, dtypeSize, dtypeName, shapeSize } from "./value";
export { Table, Column, ColType, colTypeName, parseTable, tableParseError, validUTF8, MAX_COLUMNS } from "./table";
export {
  Expr, TableExpr, TENSOR_MODULE, TABLE_MODULE, NONE, operand,
  rand, zeros, ones, full, arange, linspace, fromTensor, where, concatenate, tableOf, readCSV,
} from "./mt";
export { Reader, MAX_DEPTH } from "./reader";
export { Writer } from "./writer";
export {
  Err, Obj, Tuple, Task, spawn, spawnN,
  INVALID, FAILED, NOT_EXECUTED, LIMIT, CANCELLED, UNSUPPORTED,
} from "./spawn";
