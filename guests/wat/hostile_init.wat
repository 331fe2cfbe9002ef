;; hostile_init.wat: a valid module whose _initialize traps, so no instance of it can ever be
;; made. Loading succeeds (the host runs no guest code at load); every call must fail with a
;; clear instantiation error, and the host must stay healthy.
(module
  (memory (export "memory") 1)
  (func (export "mrun_abi_v1"))
  (func (export "mrun_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "_initialize") unreachable)
  ;; never reached: would return nil
  (func (export "mrun_fn_x") (param i32 i32) (result i64)
    (i32.store8 (i32.const 512) (i32.const 0xc0))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 1)))
)
