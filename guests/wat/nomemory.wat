;; nomemory.wat (INVALID): marker, alloc and one function, but the memory is
;; not exported. The host must reject it at load: no `memory` export.
(module
  (memory 1)                                 ;; present, but not exported
  (func (export "mrun_abi_v1"))
  (func (export "mrun_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "mrun_fn_f") (param i32 i32) (result i64)
    (i32.store8 (i32.const 512) (i32.const 0xc0))
    (i64.const 0x0000020000000001)))        ;; nil at 512
