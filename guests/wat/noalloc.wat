;; noalloc.wat (INVALID): memory, marker and one function, but no
;; `mrun_alloc`. The host must reject it at load.
(module
  (memory (export "memory") 1)
  (data (i32.const 512) "\c0")
  (func (export "mrun_abi_v1"))
  (func (export "mrun_fn_f") (param i32 i32) (result i64)
    (i64.const 0x0000020000000001)))        ;; nil at 512
