;; sleepinit.wat: an _initialize that sleeps for an hour in WASI poll_oneoff, so host tests can
;; check that the first call's context interrupts an instance being made, too.
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)

  (func (export "mrun_abi_v1"))

  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 4096))
      (then (i32.const 4096)) (else (i32.const 0))))

  ;; one relative clock subscription of an hour at 1024, its event at 1088, the count at 1120
  (func (export "_initialize")
    (i32.store8 (i32.const 1032) (i32.const 0))
    (i32.store (i32.const 1040) (i32.const 1))
    (i64.store (i32.const 1048) (i64.const 3600000000000))
    (drop (call $poll_oneoff (i32.const 1024) (i32.const 1088) (i32.const 1) (i32.const 1120))))

  ;; x() would return nil; the instance it runs in is never ready.
  (func (export "mrun_fn_x") (param i32 i32) (result i64)
    (i32.store8 (i32.const 512) (i32.const 0xc0))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 1))))
