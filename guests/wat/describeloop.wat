;; describeloop.wat: a module whose mrun_describe never returns (abi/ABI.md section 10.4): the
;; host must interrupt it when its time is up.
(module
  (memory (export "memory") 1)
  (func (export "mrun_abi_v1"))
  (func (export "mrun_alloc") (param $size i32) (result i32) (i32.const 1024))
  (func (export "mrun_fn_inc") (param $p i32) (param $n i32) (result i64) (i64.const 0))
  (func (export "mrun_describe") (result i64)
    (loop $forever (br $forever))
    (i64.const 0)))
