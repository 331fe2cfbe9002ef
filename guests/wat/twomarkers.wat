;; twomarkers.wat (INVALID): exports both `mrun_abi_v1` and `mrun_abi_v3`.
;; A module with two markers is rejected, even though one of them is v1.
(module
  (memory (export "memory") 1)
  (data (i32.const 512) "\c0")
  (func (export "mrun_abi_v1"))
  (func (export "mrun_abi_v3"))
  (func (export "mrun_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "mrun_fn_f") (param i32 i32) (result i64)
    (i64.const 0x0000020000000001)))        ;; nil at 512
