;; describe.wat: a module that describes its functions through the optional mrun_describe
;; export (abi/ABI.md section 10.4) instead of a custom section, as a Go guest would.
(module
  (import "mrun" "set_error" (func $set_error (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "inc(x: int) -> int  -- Adds one.\0aspin() -> none  impure  -- Never returns.\0a")
  (func (export "mrun_abi_v1"))
  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 60000))
      (then (i32.const 4096)) (else (i32.const 0))))
  (func (export "mrun_fn_inc") (param $p i32) (param $n i32) (result i64)
    (i64.const 0))
  (func (export "mrun_fn_spin") (param $p i32) (param $n i32) (result i64)
    (i64.const 0))
  ;; (64 << 32) | 75: the 75 bytes of text at 64
  (func (export "mrun_describe") (result i64)
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 75))))
