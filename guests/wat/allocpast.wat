;; allocpast.wat: loads fine, but `mrun_alloc` returns an address whose region runs past the
;; end of its one-page memory. Every call to `x` must fail with the allocator's error and the
;; instance must be discarded; `x` itself (which would return nil) never runs.
(module
  (memory (export "memory") 1)
  (data (i32.const 512) "\c0")
  (func (export "mrun_abi_v1"))
  (func (export "mrun_alloc") (param i32) (result i32) (i32.const 65500))
  (func (export "mrun_fn_x") (param i32 i32) (result i64)
    (i64.const 0x0000020000000001)))        ;; nil at 512
