// The imports of module "mrun" (abi/ABI.md section 2). A module imports only the ones its
// functions reach: AssemblyScript emits no import that no code calls.

/** set_error marks the running call failed with the UTF-8 message at [ptr, ptr+len). */
// @ts-ignore: decorator
@external("mrun", "set_error")
export declare function set_error(ptr: usize, len: usize): void;

/** fail_with is set_error naming the failed child `handle` as the cause. */
// @ts-ignore: decorator
@external("mrun", "fail_with")
export declare function fail_with(handle: u32, ptr: usize, len: usize): void;

/** spawn creates a lazy child task and returns the handle of its output 0, or a negative code. */
// @ts-ignore: decorator
@external("mrun", "spawn")
export declare function spawn_(
  modPtr: usize, modLen: usize, fnPtr: usize, fnLen: usize,
  argsPtr: usize, argsLen: usize, nOutput: i32,
): i32;

/** execute runs the Objects of `count` little-endian u32 handles at `ptr` and waits. */
// @ts-ignore: decorator
@external("mrun", "execute")
export declare function execute_(ptr: usize, count: i32): i32;

/** fetch copies the value of `handle` to [ptr, ptr+cap) when it fits; returns its length. */
// @ts-ignore: decorator
@external("mrun", "fetch")
export declare function fetch_(handle: u32, ptr: usize, cap: usize): i64;

/** last_error copies the message of the last failed spawn, execute or fetch; returns its length. */
// @ts-ignore: decorator
@external("mrun", "last_error")
export declare function last_error(ptr: usize, cap: usize): i32;

/** fd_write is WASI's write, used only to copy an abort's message to stderr. */
// @ts-ignore: decorator
@external("wasi_snapshot_preview1", "fd_write")
export declare function fd_write(fd: u32, iovs: usize, iovsLen: usize, nwritten: usize): u16;
