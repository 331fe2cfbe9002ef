;; nested.wat: calls the nested-spawn imports (ABI.md section 2.2) with good and bad
;; arguments, and returns what the host answered, so host tests can check that bad guest
;; input gets the documented code and message and never crashes the host.
;;
;; Most functions return the host's return code as a msgpack int32 (d2 + 4 bytes big-endian).
(module
  (import "mrun" "spawn" (func $spawn (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "mrun" "execute" (func $execute (param i32 i32) (result i32)))
  (import "mrun" "fetch" (func $fetch (param i32 i32 i32) (result i64)))
  (import "mrun" "last_error" (func $last_error (param i32 i32) (result i32)))
  (memory (export "memory") 1)

  ;; 16: "one"   20: frame [[], {}] = 92 90 80   24: a malformed frame c1
  ;; 32: "nope"
  (data (i32.const 16) "one")
  (data (i32.const 20) "\92\90\80")
  (data (i32.const 24) "\c1")
  (data (i32.const 32) "nope")

  (func (export "mrun_abi_v1"))

  ;; argument buffer: 4 KiB at 4096
  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 4096))
      (then (i32.const 4096)) (else (i32.const 0))))

  ;; $code writes v as msgpack int32 at 512 and returns the packed result.
  (func $code (param $v i32) (result i64)
    (i32.store8 (i32.const 512) (i32.const 0xd2))
    (i32.store8 (i32.const 513) (i32.shr_u (local.get $v) (i32.const 24)))
    (i32.store8 (i32.const 514) (i32.shr_u (local.get $v) (i32.const 16)))
    (i32.store8 (i32.const 515) (i32.shr_u (local.get $v) (i32.const 8)))
    (i32.store8 (i32.const 516) (local.get $v))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 5)))

  ;; one() = 1
  (func (export "mrun_fn_one") (param i32 i32) (result i64)
    (i32.store8 (i32.const 600) (i32.const 1))
    (i64.or (i64.shl (i64.const 600) (i64.const 32)) (i64.const 1)))

  ;; spawn with a function name that lies outside memory
  (func (export "mrun_fn_spawn_oob") (param i32 i32) (result i64)
    (call $code (call $spawn (i32.const 0) (i32.const 0)
      (i32.const 0xfffffff0) (i32.const 100) (i32.const 20) (i32.const 3) (i32.const 1))))

  ;; spawn one() with a malformed argument frame
  (func (export "mrun_fn_spawn_badframe") (param i32 i32) (result i64)
    (call $code (call $spawn (i32.const 0) (i32.const 0)
      (i32.const 16) (i32.const 3) (i32.const 24) (i32.const 1) (i32.const 1))))

  ;; spawn a function the module does not have
  (func (export "mrun_fn_spawn_unknown") (param i32 i32) (result i64)
    (call $code (call $spawn (i32.const 0) (i32.const 0)
      (i32.const 32) (i32.const 4) (i32.const 20) (i32.const 3) (i32.const 1))))

  ;; spawn one() with n_output 0
  (func (export "mrun_fn_spawn_nout0") (param i32 i32) (result i64)
    (call $code (call $spawn (i32.const 0) (i32.const 0)
      (i32.const 16) (i32.const 3) (i32.const 20) (i32.const 3) (i32.const 0))))

  ;; execute 2^31-1 handles from address 0
  (func (export "mrun_fn_execute_huge") (param i32 i32) (result i64)
    (call $code (call $execute (i32.const 0) (i32.const 0x7fffffff))))

  ;; fetch a handle that was never issued
  (func (export "mrun_fn_fetch_bogus") (param i32 i32) (result i64)
    (call $code (i32.wrap_i64 (call $fetch (i32.const 12345) (i32.const 0) (i32.const 0)))))

  ;; spawn one() and fetch it without executing it
  (func (export "mrun_fn_fetch_early") (param i32 i32) (result i64)
    (call $code (i32.wrap_i64 (call $fetch
      (call $spawn (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 3) (i32.const 20) (i32.const 3) (i32.const 1))
      (i32.const 0) (i32.const 0)))))

  ;; spawn one(), execute it, fetch it into a buffer outside memory
  (func (export "mrun_fn_fetch_oob") (param i32 i32) (result i64)
    (local $h i32)
    (local.set $h (call $spawn (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 3) (i32.const 20) (i32.const 3) (i32.const 1)))
    (drop (call $execute (i32.const 700) (i32.const 0))) ;; executing nothing is fine
    (i32.store (i32.const 700) (local.get $h))
    (drop (call $execute (i32.const 700) (i32.const 1)))
    (call $code (i32.wrap_i64 (call $fetch (local.get $h) (i32.const 0xfffffff0) (i32.const 64)))))

  ;; spawn one(), execute it, fetch it, return the fetched value itself
  (func (export "mrun_fn_roundtrip") (param i32 i32) (result i64)
    (local $h i32) (local $n i64)
    (local.set $h (call $spawn (i32.const 0) (i32.const 0) (i32.const 16) (i32.const 3) (i32.const 20) (i32.const 3) (i32.const 1)))
    (i32.store (i32.const 700) (local.get $h))
    (if (i32.ne (call $execute (i32.const 700) (i32.const 1)) (i32.const 0))
      (then (return (call $code (i32.const -100)))))
    (local.set $n (call $fetch (local.get $h) (i32.const 800) (i32.const 64)))
    (if (i64.lt_s (local.get $n) (i64.const 0))
      (then (return (call $code (i32.wrap_i64 (local.get $n))))))
    (i64.or (i64.shl (i64.const 800) (i64.const 32)) (local.get $n)))

  ;; fetch a bogus handle, then return last_error's message as a msgpack str8
  (func (export "mrun_fn_lasterr") (param i32 i32) (result i64)
    (drop (call $fetch (i32.const 99) (i32.const 0) (i32.const 0)))
    (call $lasterr_str))

  ;; spawn one() with n_output 0, then return last_error's message
  (func (export "mrun_fn_lasterr_nout0") (param i32 i32) (result i64)
    (drop (call $spawn (i32.const 0) (i32.const 0)
      (i32.const 16) (i32.const 3) (i32.const 20) (i32.const 3) (i32.const 0)))
    (call $lasterr_str))

  ;; spawn a function the module does not have, then return last_error's message
  (func (export "mrun_fn_lasterr_unknown") (param i32 i32) (result i64)
    (drop (call $spawn (i32.const 0) (i32.const 0)
      (i32.const 32) (i32.const 4) (i32.const 20) (i32.const 3) (i32.const 1)))
    (call $lasterr_str))

  ;; $lasterr_str returns last_error's message as a msgpack str8 (or its length as an int32
  ;; when it is longer than 255 bytes)
  (func $lasterr_str (result i64)
    (local $n i32)
    (local.set $n (call $last_error (i32.const 1026) (i32.const 255)))
    (if (i32.gt_u (local.get $n) (i32.const 255))
      (then (return (call $code (local.get $n)))))
    (i32.store8 (i32.const 1024) (i32.const 0xd9))
    (i32.store8 (i32.const 1025) (local.get $n))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32))
            (i64.extend_i32_u (i32.add (local.get $n) (i32.const 2)))))
)
