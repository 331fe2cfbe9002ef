;; v2.wat (INVALID): a complete module except that its version marker is
;; `mrun_abi_v2`. The host must reject it as "unsupported ABI version 2".
(module
  (memory (export "memory") 1)
  (data (i32.const 512) "\c0")
  (func (export "mrun_abi_v2"))
  (func (export "mrun_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "mrun_fn_f") (param i32 i32) (result i64)
    (i64.const 0x0000020000000001)))        ;; nil at 512
