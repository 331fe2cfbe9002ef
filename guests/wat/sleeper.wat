;; sleeper.wat: guests that block in a host call, so host tests can check that a sleeping or
;; waiting guest is interrupted when its call's context ends (a timeout, a cancelled run).
;; Sleeping is WASI poll_oneoff with one relative clock subscription: what Go's time.Sleep,
;; Rust's std::thread::sleep and C's nanosleep compile to.
;;
;; Memory layout (1 page):
;;   16   ..   31  the function name "sleep" (for spawn) and the frame [[], {}]
;;   512  ..  516  a msgpack int32 result
;;   600  ..  603  a handle for execute
;;   1024 .. 1071  the clock subscription (48 bytes)
;;   1088 .. 1119  the event poll_oneoff writes back (32 bytes)
;;   1120 .. 1123  the number of events
;;   4096 ..  8191  the 4 KiB argument buffer
(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (import "mrun" "spawn" (func $spawn (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "mrun" "execute" (func $execute (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  (data (i32.const 16) "sleep")     ;; 5
  (data (i32.const 24) "\92\90\80") ;; [[], {}]

  (func (export "mrun_abi_v1"))

  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 4096))
      (then (i32.const 4096)) (else (i32.const 0))))

  ;; $code writes v as a msgpack int32 at 512 and returns the packed result.
  (func $code (param $v i32) (result i64)
    (i32.store8 (i32.const 512) (i32.const 0xd2))
    (i32.store8 (i32.const 513) (i32.shr_u (local.get $v) (i32.const 24)))
    (i32.store8 (i32.const 514) (i32.shr_u (local.get $v) (i32.const 16)))
    (i32.store8 (i32.const 515) (i32.shr_u (local.get $v) (i32.const 8)))
    (i32.store8 (i32.const 516) (local.get $v))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 5)))

  ;; $sleep blocks for ns nanoseconds in poll_oneoff and returns its errno.
  (func $sleep (param $ns i64) (result i32)
    (i64.store (i32.const 1024) (i64.const 7))       ;; userdata
    (i32.store8 (i32.const 1032) (i32.const 0))      ;; tag: clock
    (i32.store (i32.const 1040) (i32.const 1))       ;; clock id: monotonic
    (i64.store (i32.const 1048) (local.get $ns))     ;; timeout
    (i64.store (i32.const 1056) (i64.const 0))       ;; precision
    (i32.store16 (i32.const 1064) (i32.const 0))     ;; flags: relative
    (call $poll_oneoff (i32.const 1024) (i32.const 1088) (i32.const 1) (i32.const 1120)))

  ;; sleep() sleeps for an hour, then returns poll_oneoff's errno.
  (func (export "mrun_fn_sleep") (param i32 i32) (result i64)
    (call $code (call $sleep (i64.const 3600000000000))))

  ;; naps() sleeps 10 ms at a time, forever: no single sleep is long.
  (func (export "mrun_fn_naps") (param i32 i32) (result i64)
    (loop $again
      (drop (call $sleep (i64.const 10000000)))
      (br $again))
    (unreachable))

  ;; nap() sleeps 50 ms, then returns poll_oneoff's errno.
  (func (export "mrun_fn_nap") (param i32 i32) (result i64)
    (call $code (call $sleep (i64.const 50000000))))

  ;; wait_sleep() spawns sleep() of this module, executes it and returns execute's code.
  (func (export "mrun_fn_wait_sleep") (param i32 i32) (result i64)
    (i32.store (i32.const 600) (call $spawn (i32.const 0) (i32.const 0)
      (i32.const 16) (i32.const 5) (i32.const 24) (i32.const 3) (i32.const 1)))
    (call $code (call $execute (i32.const 600) (i32.const 1)))))
