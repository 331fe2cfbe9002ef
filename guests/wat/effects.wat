;; effects.wat: functions that read the wall clock, the monotonic clock or randomness through
;; WASI, or nothing, so host tests can check which reads a call's Result.Effects reports.
;; _initialize reads the wall clock and randomness too: reads made while an instance starts
;; are not the call's.
;;
;; Each function returns the errno of its last WASI call as a msgpack positive fixint (00 on
;; success); `none` returns 00 without calling anything; `wall_trap` reads the wall clock, then
;; traps.
(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $clock_time_get (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get"
    (func $random_get (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  (func (export "mrun_abi_v1"))

  ;; one 4 KiB argument buffer at 4096
  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 4096))
      (then (i32.const 4096)) (else (i32.const 0))))

  ;; the clock's value lands at 1024, random bytes at 1032
  (func $wall (result i32)
    (call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 1024)))
  (func $mono (result i32)
    (call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 1024)))
  (func $random (result i32)
    (call $random_get (i32.const 1032) (i32.const 16)))

  ;; the errno as a one-byte frame at 512
  (func $ret (param $errno i32) (result i64)
    (i32.store8 (i32.const 512) (i32.and (local.get $errno) (i32.const 0x7f)))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 1)))

  (func (export "_initialize")
    (drop (call $wall))
    (drop (call $random)))

  (func (export "mrun_fn_wall") (param i32 i32) (result i64)
    (call $ret (call $wall)))
  (func (export "mrun_fn_mono") (param i32 i32) (result i64)
    (call $ret (call $mono)))
  (func (export "mrun_fn_random") (param i32 i32) (result i64)
    (call $ret (call $random)))
  (func (export "mrun_fn_wall_random") (param i32 i32) (result i64)
    (drop (call $wall))
    (call $ret (call $random)))
  (func (export "mrun_fn_wall_trap") (param i32 i32) (result i64)
    (drop (call $wall))
    unreachable)
  (func (export "mrun_fn_none") (param i32 i32) (result i64)
    (call $ret (i32.const 0))))
