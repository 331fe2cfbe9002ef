;; giveup.wat: parents that give up on a failed child with fail_with (ABI.md 2.1), so that the
;; host records the child's error as the cause of the parent's. The CLI's error line shows that
;; chain down to the root cause.
;;
;;   inc()    fails with "inc: the counter is out of range"
;;   driver() spawns inc(), executes it, and when it failed gives up: "driver gave up"
;;   outer()  spawns driver(), executes it, and when it failed gives up: "outer gave up"
(module
  (import "mrun" "set_error" (func $set_error (param i32 i32)))
  (import "mrun" "fail_with" (func $fail_with (param i32 i32 i32)))
  (import "mrun" "spawn" (func $spawn (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "mrun" "execute" (func $execute (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; 16: the frame [[], {}]   32: function names   64: messages   256: the handle to execute
  (data (i32.const 16) "\92\90\80")
  (data (i32.const 32) "inc")
  (data (i32.const 40) "driver")
  (data (i32.const 64) "inc: the counter is out of range")  ;; 32 bytes
  (data (i32.const 112) "driver gave up")                     ;; 14 bytes
  (data (i32.const 128) "outer gave up")                      ;; 13 bytes
  (data (i32.const 160) "\c0")                                ;; nil

  (func (export "mrun_abi_v1"))

  ;; argument buffer: 4 KiB at 4096
  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 4096))
      (then (i32.const 4096)) (else (i32.const 0))))

  (func (export "mrun_fn_inc") (param i32 i32) (result i64)
    (call $set_error (i32.const 64) (i32.const 32))
    (i64.const 0))

  ;; $relay spawns the function [fn, fn + fn_len) of this module with no arguments and runs
  ;; it; if it fails, the call fails with fail_with(child, [msg, msg + msg_len)). Otherwise it
  ;; returns nil.
  (func $relay (param $fn i32) (param $fn_len i32) (param $msg i32) (param $msg_len i32) (result i64)
    (local $h i32)
    (local.set $h (call $spawn (i32.const 0) (i32.const 0)
      (local.get $fn) (local.get $fn_len) (i32.const 16) (i32.const 3) (i32.const 1)))
    (if (i32.lt_s (local.get $h) (i32.const 0))
      (then
        (call $set_error (local.get $msg) (local.get $msg_len))
        (return (i64.const 0))))
    (i32.store (i32.const 256) (local.get $h))
    (if (i32.ne (call $execute (i32.const 256) (i32.const 1)) (i32.const 0))
      (then
        (call $fail_with (local.get $h) (local.get $msg) (local.get $msg_len))
        (return (i64.const 0))))
    (i64.or (i64.shl (i64.const 160) (i64.const 32)) (i64.const 1)))

  (func (export "mrun_fn_driver") (param i32 i32) (result i64)
    (call $relay (i32.const 32) (i32.const 3) (i32.const 112) (i32.const 14)))

  (func (export "mrun_fn_outer") (param i32 i32) (result i64)
    (call $relay (i32.const 40) (i32.const 6) (i32.const 128) (i32.const 13)))
)
