;; nomarker.wat (INVALID): memory, alloc and one function, no `mrun_abi_v*`
;; marker. The host must reject it as "not an mrun module".
(module
  (memory (export "memory") 1)
  (data (i32.const 512) "\c0")
  (func (export "mrun_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "mrun_fn_f") (param i32 i32) (result i64)
    (i64.const 0x0000020000000001)))        ;; nil at 512
