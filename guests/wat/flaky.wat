;; flaky.wat: a function that fails twice per instance, then succeeds, for retry tests.
;; Instances survive guest errors (ABI.md section 7), so the retries of one call reach the
;; third attempt on the same instance.
(module
  (import "mrun" "set_error" (func $set_error (param i32 i32)))
  (memory (export "memory") 1)
  (global $calls (mut i32) (i32.const 0))
  (data (i32.const 16) "flaky: not yet")
  (func (export "mrun_abi_v1"))
  ;; argument buffer: 4 KiB at 4096
  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 4096))
      (then (i32.const 4096)) (else (i32.const 0))))
  ;; flaky(...) -> the number of calls so far on this instance, once it is at least 3
  (func (export "mrun_fn_flaky") (param i32 i32) (result i64)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.lt_u (global.get $calls) (i32.const 3))
      (then (call $set_error (i32.const 16) (i32.const 14))
            (return (i64.const 0))))
    (i32.store8 (i32.const 512) (i32.and (global.get $calls) (i32.const 0x7f)))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 1)))
)
