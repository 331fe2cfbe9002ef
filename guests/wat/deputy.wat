;; deputy.wat: relays a call into any module by name, the way a module that holds no grants
;; would try to borrow the environment or mounts of a module that does. The host's tests use it
;; to check that a nested spawn into a module holding more than its caller is refused, with the
;; host's message, unless the edge is allowed.
;;
;; relay(mod, fn, args...) spawns mod.fn(args...), executes it and returns its value; mod and
;; fn are strings of at most 31 bytes, and the call takes no keyword arguments. When the
;; spawn, execute or fetch fails, relay fails with the host's message (last_error).
;; one() returns 1.
(module
  (import "mrun" "spawn" (func $spawn (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "mrun" "execute" (func $execute (param i32 i32) (result i32)))
  (import "mrun" "fetch" (func $fetch (param i32 i32 i32) (result i64)))
  (import "mrun" "last_error" (func $last_error (param i32 i32) (result i32)))
  (import "mrun" "set_error" (func $set_error (param i32 i32)))
  (memory (export "memory") 1)

  ;; Layout: 16 messages; 700 a handle; 1024 last_error's message (2 KiB);
  ;; 8192 the child's frame (8 KiB); 16384 the fetched value (16 KiB); 32768 arguments (16 KiB).
  (data (i32.const 16) "relay: want (mod, fn, args...) with mod and fn short strings and no kwargs")
  (data (i32.const 96) "relay: the value is larger than 16 KiB")

  (func (export "mrun_abi_v1"))

  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 16384))
      (then (i32.const 32768)) (else (i32.const 0))))

  ;; one() = 1
  (func (export "mrun_fn_one") (param i32 i32) (result i64)
    (i32.store8 (i32.const 600) (i32.const 1))
    (i64.or (i64.shl (i64.const 600) (i64.const 32)) (i64.const 1)))

  ;; $host_error fails the call with the message of the last failed import.
  (func $host_error (result i64)
    (local $n i32)
    (local.set $n (call $last_error (i32.const 1024) (i32.const 2048)))
    (call $set_error (i32.const 1024) (select (local.get $n) (i32.const 2048) (i32.le_u (local.get $n) (i32.const 2048))))
    (i64.const 0))

  ;; $usage fails the call with the usage message.
  (func $usage (result i64)
    (call $set_error (i32.const 16) (i32.const 74))
    (i64.const 0))

  (func (export "mrun_fn_relay") (param $p i32) (param $n i32) (result i64)
    (local $count i32) (local $mod i32) (local $modLen i32) (local $fn i32) (local $fnLen i32)
    (local $src i32) (local $end i32) (local $dst i32) (local $h i32) (local $len i64)
    ;; [ [mod, fn, args...], {} ]: 92, 9N with N >= 2, ..., 80 last
    (if (i32.lt_u (local.get $n) (i32.const 5)) (then (return (call $usage))))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x92)) (then (return (call $usage))))
    (local.set $count (i32.load8_u (i32.add (local.get $p) (i32.const 1))))
    (if (i32.ne (i32.and (local.get $count) (i32.const 0xf0)) (i32.const 0x90)) (then (return (call $usage))))
    (local.set $count (i32.and (local.get $count) (i32.const 0x0f)))
    (if (i32.lt_u (local.get $count) (i32.const 2)) (then (return (call $usage))))
    (local.set $end (i32.sub (i32.add (local.get $p) (local.get $n)) (i32.const 1)))
    (if (i32.ne (i32.load8_u (local.get $end)) (i32.const 0x80)) (then (return (call $usage))))
    ;; mod: a fixstr
    (local.set $mod (i32.add (local.get $p) (i32.const 2)))
    (if (i32.ne (i32.and (i32.load8_u (local.get $mod)) (i32.const 0xe0)) (i32.const 0xa0)) (then (return (call $usage))))
    (local.set $modLen (i32.and (i32.load8_u (local.get $mod)) (i32.const 0x1f)))
    (local.set $mod (i32.add (local.get $mod) (i32.const 1)))
    ;; fn: a fixstr
    (local.set $fn (i32.add (local.get $mod) (local.get $modLen)))
    (if (i32.ge_u (local.get $fn) (local.get $end)) (then (return (call $usage))))
    (if (i32.ne (i32.and (i32.load8_u (local.get $fn)) (i32.const 0xe0)) (i32.const 0xa0)) (then (return (call $usage))))
    (local.set $fnLen (i32.and (i32.load8_u (local.get $fn)) (i32.const 0x1f)))
    (local.set $fn (i32.add (local.get $fn) (i32.const 1)))
    (local.set $src (i32.add (local.get $fn) (local.get $fnLen)))
    (if (i32.gt_u (local.get $src) (local.get $end)) (then (return (call $usage))))
    ;; the child's frame: 92, 9(N-2), the remaining arguments as they are, 80
    (i32.store8 (i32.const 8192) (i32.const 0x92))
    (i32.store8 (i32.const 8193) (i32.or (i32.const 0x90) (i32.sub (local.get $count) (i32.const 2))))
    (local.set $dst (i32.const 8194))
    (block $done
      (loop $copy
        (br_if $done (i32.ge_u (local.get $src) (local.get $end)))
        (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
        (local.set $src (i32.add (local.get $src) (i32.const 1)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
        (br $copy)))
    (i32.store8 (local.get $dst) (i32.const 0x80))
    (local.set $h (call $spawn (local.get $mod) (local.get $modLen) (local.get $fn) (local.get $fnLen)
      (i32.const 8192) (i32.sub (i32.add (local.get $dst) (i32.const 1)) (i32.const 8192)) (i32.const 1)))
    (if (i32.lt_s (local.get $h) (i32.const 0)) (then (return (call $host_error))))
    (i32.store (i32.const 700) (local.get $h))
    (if (i32.lt_s (call $execute (i32.const 700) (i32.const 1)) (i32.const 0)) (then (return (call $host_error))))
    ;; a failed child makes fetch fail with the child's message
    (local.set $len (call $fetch (local.get $h) (i32.const 16384) (i32.const 16384)))
    (if (i64.lt_s (local.get $len) (i64.const 0)) (then (return (call $host_error))))
    (if (i64.gt_u (local.get $len) (i64.const 16384))
      (then (call $set_error (i32.const 96) (i32.const 38)) (return (i64.const 0))))
    (i64.or (i64.shl (i64.const 16384) (i64.const 32)) (local.get $len)))
)
