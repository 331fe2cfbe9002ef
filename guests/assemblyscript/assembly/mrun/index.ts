// The AssemblyScript guest SDK for mrun: write typed functions, run them on argument frames,
// spawn nested tasks (abi/ABI.md). Import it as `import { call1, ... } from "./mrun"` and
// re-export `mrun_abi_v1` and `mrun_alloc` from the module's entry file.

export { mrun_abi_v1, mrun_alloc, call, call0, call1, call2, call3, fail, failWith, failed, write, onAbort } from "./call";
export { Args } from "./args";
export { Kind, kindName, Value, Tensor, DType, dtypeSize, dtypeName, shapeSize } from "./value";
export { Reader, MAX_DEPTH } from "./reader";
export { Writer } from "./writer";
export {
  Err, Obj, Tuple, Task, spawn, spawnN,
  INVALID, FAILED, NOT_EXECUTED, LIMIT, CANCELLED, UNSUPPORTED,
} from "./spawn";
