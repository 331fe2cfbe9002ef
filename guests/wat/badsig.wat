;; badsig.wat (INVALID): `mrun_fn_bad` has type (i32) -> i32 instead of
;; (i32, i32) -> i64. `mrun_fn_ok` is correct, so the host must reject the
;; whole module because of one bad function, not for lack of functions.
(module
  (memory (export "memory") 1)
  (data (i32.const 512) "\c0")
  (func (export "mrun_abi_v1"))
  (func (export "mrun_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "mrun_fn_ok") (param i32 i32) (result i64)
    (i64.const 0x0000020000000001))         ;; nil at 512
  (func (export "mrun_fn_bad") (param i32) (result i32)
    (i32.const 0)))
