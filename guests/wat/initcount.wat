;; initcount.wat: proves the host calls _initialize exactly once per instance,
;; before any other export. _initialize adds 42 to a global that starts at 0,
;; so `get` returns 42 (2a) after exactly one call, 0 (00) if it never ran and
;; 84 (54) if it ran twice.
(module
  (memory (export "memory") 1)
  (global $g (mut i32) (i32.const 0))
  (func (export "mrun_abi_v1"))
  (func (export "_initialize")
    (global.set $g (i32.add (global.get $g) (i32.const 42))))
  ;; 64 KiB - 1 KiB argument buffer at 1024
  (func (export "mrun_alloc") (param $size i32) (result i32)
    (select (i32.const 1024) (i32.const 0)
            (i32.le_u (local.get $size) (i32.const 64512))))
  ;; get: the global as a positive fixint at 512 (valid while it is < 128)
  (func (export "mrun_fn_get") (param i32 i32) (result i64)
    (i32.store8 (i32.const 512) (global.get $g))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 1))))
