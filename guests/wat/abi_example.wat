(module
  (import "mrun" "set_error" (func $set_error (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "inc wants one small non-negative integer")
  (func (export "mrun_abi_v1"))
  ;; one 64 KiB argument buffer at 1024; result byte at 512
  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 64512))
      (then (i32.const 1024)) (else (i32.const 0))))
  (func (export "mrun_fn_inc") (param $p i32) (param $n i32) (result i64)
    (local $x i32)
    ;; frame must be exactly 92 91 <x> 80 with x a positive fixint below 127
    (if (i32.or (i32.ne (local.get $n) (i32.const 4))
          (i32.or (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x92))
                  (i32.ne (i32.load8_u offset=1 (local.get $p)) (i32.const 0x91))))
      (then (call $set_error (i32.const 16) (i32.const 40)) (return (i64.const 0))))
    (local.set $x (i32.load8_u offset=2 (local.get $p)))
    (if (i32.ge_u (local.get $x) (i32.const 0x7f))
      (then (call $set_error (i32.const 16) (i32.const 40)) (return (i64.const 0))))
    (i32.store8 (i32.const 512) (i32.add (local.get $x) (i32.const 1)))
    ;; result frame: one byte at 512
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 1))))
