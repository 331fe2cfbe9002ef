;; badimport.wat (INVALID): imports `mrun.frobnicate`, which is not part of
;; the ABI. The host must reject it at load, naming the import. The import is
;; never called; everything else is a correct v1 module.
(module
  (import "mrun" "frobnicate" (func))
  (memory (export "memory") 1)
  (data (i32.const 512) "\c0")
  (func (export "mrun_abi_v1"))
  (func (export "mrun_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "mrun_fn_f") (param i32 i32) (result i64)
    (i64.const 0x0000020000000001)))        ;; nil at 512
