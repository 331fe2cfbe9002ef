;; hostile.wat: guest functions that each misbehave in one way, so host tests can check that
;; every misbehaviour gets its specific error and that the host stays healthy afterwards.
;; It also holds `raw` (the fuzzer controls the whole result frame), `maybe_fail` and `sum`
;; (the fault-load graph) and `counter` (to tell a fresh instance from a reused one).
;; See README.md in this folder for what each function does.
;;
;; Memory layout (2 pages, no maximum):
;;   0     ..   255  error messages
;;   256   ..   511  fixed result frames
;;   512   ..   767  scratch result bytes
;;   768   ..   799  iovec + nwritten for fd_write
;;   800   ..   899  handle arrays and buffers for the nested-spawn imports
;;   1024  .. 65535  the 64 KiB block that `spew` writes (filled with 'x' on demand)
;;   65536 ..131071  the 64 KiB argument buffer
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "mrun" "set_error" (func $set_error (param i32 i32)))
  (import "mrun" "fail_with" (func $fail_with (param i32 i32 i32)))
  (import "mrun" "spawn" (func $spawn (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "mrun" "execute" (func $execute (param i32 i32) (result i32)))
  (import "mrun" "last_error" (func $last_error (param i32 i32) (result i32)))

  (memory (export "memory") 2)

  ;; ---- messages and fixed frames -------------------------------------------------------
  (data (i32.const 16)  "raw: want one bin argument")       ;; 26
  (data (i32.const 48)  "maybe_fail: want one unsigned int") ;; 33
  (data (i32.const 96)  "sum: want one array of unsigned ints") ;; 36
  (data (i32.const 144) "maybe_fail: unlucky ")             ;; 20, then the decimal i
  (data (i32.const 192) "one")                              ;; 3: a function of fixtures
  (data (i32.const 196) "\92\90\80")                        ;; [[], {}]
  (data (i32.const 200) "\ff\fe")                           ;; invalid UTF-8
  (data (i32.const 256) "\d9\05ab")                         ;; bad_msgpack: str8 of 5, 2 present
  (data (i32.const 264) "\d6\02\00\00\00\01")               ;; ext2: fixext4 type 2, handle 1
  (data (i32.const 272) "\92\01\d6\02\00\00\00\01")         ;; ext2_deep: [1, ext2 handle 1]
  (data (i32.const 288) "\c0")                              ;; nil

  (global $count (mut i32) (i32.const 0))

  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))

  ;; $code returns v as a msgpack int32 frame at 512.
  (func $code (param $v i32) (result i64)
    (i32.store8 (i32.const 512) (i32.const 0xd2))
    (i32.store8 (i32.const 513) (i32.shr_u (local.get $v) (i32.const 24)))
    (i32.store8 (i32.const 514) (i32.shr_u (local.get $v) (i32.const 16)))
    (i32.store8 (i32.const 515) (i32.shr_u (local.get $v) (i32.const 8)))
    (i32.store8 (i32.const 516) (local.get $v))
    (call $pack (i32.const 512) (i32.const 5)))

  ;; $uint writes v as the shortest msgpack unsigned int at 512 and returns the frame.
  (func $uint (param $v i64) (result i64)
    (local $n i32) (local $i i32)
    (if (i64.lt_u (local.get $v) (i64.const 0x80))
      (then (i32.store8 (i32.const 512) (i32.wrap_i64 (local.get $v)))
            (return (call $pack (i32.const 512) (i32.const 1)))))
    (local.set $n (i32.const 8))
    (if (i64.le_u (local.get $v) (i64.const 0xffffffff)) (then (local.set $n (i32.const 4))))
    (if (i64.le_u (local.get $v) (i64.const 0xffff)) (then (local.set $n (i32.const 2))))
    (if (i64.le_u (local.get $v) (i64.const 0xff)) (then (local.set $n (i32.const 1))))
    ;; cc/cd/ce/cf for 1/2/4/8 bytes
    (i32.store8 (i32.const 512)
      (i32.add (i32.const 0xcc) (i32.ctz (local.get $n))))
    (local.set $i (local.get $n))
    (block $done
      (loop $digits
        (br_if $done (i32.eqz (local.get $i)))
        (i32.store8 offset=512 (local.get $i) (i32.wrap_i64 (local.get $v)))
        (local.set $v (i64.shr_u (local.get $v) (i64.const 8)))
        (local.set $i (i32.sub (local.get $i) (i32.const 1)))
        (br $digits)))
    (call $pack (i32.const 512) (i32.add (local.get $n) (i32.const 1))))

  ;; $be reads n big-endian bytes at p.
  (func $be (param $p i32) (param $n i32) (result i64)
    (local $v i64)
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $v (i64.or (i64.shl (local.get $v) (i64.const 8))
                              (i64.load8_u (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (local.get $v))

  ;; $uint_len returns the encoded length of the msgpack unsigned int at p, or 0 if the byte
  ;; there starts no unsigned int (fixint, cc, cd, ce, cf).
  (func $uint_len (param $p i32) (result i32)
    (local $b i32)
    (local.set $b (i32.load8_u (local.get $p)))
    (if (i32.lt_u (local.get $b) (i32.const 0x80)) (then (return (i32.const 1))))
    (if (i32.and (i32.ge_u (local.get $b) (i32.const 0xcc)) (i32.le_u (local.get $b) (i32.const 0xcf)))
      (then (return (i32.add (i32.const 1)
                             (i32.shl (i32.const 1) (i32.sub (local.get $b) (i32.const 0xcc)))))))
    (i32.const 0))

  ;; $uint_at reads the msgpack unsigned int at p (its length is $uint_len(p) > 0).
  (func $uint_at (param $p i32) (result i64)
    (local $n i32)
    (local.set $n (call $uint_len (local.get $p)))
    (if (i32.eq (local.get $n) (i32.const 1))
      (then (return (i64.load8_u (local.get $p)))))
    (call $be (i32.add (local.get $p) (i32.const 1)) (i32.sub (local.get $n) (i32.const 1))))

  (func (export "mrun_abi_v1"))

  ;; one 64 KiB argument buffer at 65536; 0 when size is too big
  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $size) (i32.const 65536))
      (then (i32.const 0)) (else (i32.const 65536))))

  ;; counter: ++global as a msgpack uint; 1 means a fresh instance
  (func (export "mrun_fn_counter") (param i32 i32) (result i64)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (call $uint (i64.extend_i32_u (global.get $count))))

  ;; ---- hostile functions ----------------------------------------------------------------

  ;; spin: an infinite loop that also writes memory, so it is not an empty `br`
  (func (export "mrun_fn_spin") (param i32 i32) (result i64)
    (local $i i32)
    (loop $l
      (i32.store (i32.const 512) (local.get $i))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))
    unreachable)

  ;; recurse: unbounded recursion, ends in a stack overflow trap
  (func $recurse (export "mrun_fn_recurse") (param $p i32) (param $n i32) (result i64)
    (i64.add (call $recurse (i32.add (local.get $p) (i32.const 1)) (local.get $n))
             (i64.const 1)))

  ;; membomb: memory.grow(1) until it fails, then return the final memory size in pages
  (func (export "mrun_fn_membomb") (param i32 i32) (result i64)
    (block $full
      (loop $more
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $more)))
    (call $uint (i64.extend_i32_u (memory.size))))

  ;; membomb_trap: grow until it fails, then store one byte past the end: a trap
  (func (export "mrun_fn_membomb_trap") (param i32 i32) (result i64)
    (block $full
      (loop $more
        (br_if $full (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $more)))
    (i32.store8 (i32.shl (memory.size) (i32.const 16)) (i32.const 1))
    (i64.const 0))

  ;; past_end: result ptr = the memory size, len 1: starts exactly at the end
  (func (export "mrun_fn_past_end") (param i32 i32) (result i64)
    (call $pack (i32.shl (memory.size) (i32.const 16)) (i32.const 1)))

  ;; huge_len: ptr 16, len 0x40000000 (1 GiB)
  (func (export "mrun_fn_huge_len") (param i32 i32) (result i64)
    (call $pack (i32.const 16) (i32.const 0x40000000)))

  ;; bad_msgpack: d9 05 61 62 (str8 of 5 bytes with only 2 present)
  (func (export "mrun_fn_bad_msgpack") (param i32 i32) (result i64)
    (call $pack (i32.const 256) (i32.const 4)))

  ;; empty: a zero-length frame (no value at all)
  (func (export "mrun_fn_empty") (param i32 i32) (result i64)
    (call $pack (i32.const 256) (i32.const 0)))

  ;; ext2: returns a handle (ext type 2), which results must not contain
  (func (export "mrun_fn_ext2") (param i32 i32) (result i64)
    (call $pack (i32.const 264) (i32.const 6)))

  ;; ext2_deep: [1, handle 1]
  (func (export "mrun_fn_ext2_deep") (param i32 i32) (result i64)
    (call $pack (i32.const 272) (i32.const 8)))

  ;; $write_x fills [1024, 65536) with 'x' (once) and writes it to fd 1; returns the errno
  (func $write_x (result i32)
    (local $i i32)
    (if (i32.ne (i32.load8_u (i32.const 1024)) (i32.const 0x78))
      (then
        (local.set $i (i32.const 1024))
        (block $done
          (loop $fill
            (br_if $done (i32.eq (local.get $i) (i32.const 65536)))
            (i32.store8 (local.get $i) (i32.const 0x78))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $fill)))))
    (i32.store (i32.const 768) (i32.const 1024))
    (i32.store (i32.const 772) (i32.const 64512))
    (call $fd_write (i32.const 1) (i32.const 768) (i32.const 1) (i32.const 776)))

  ;; spew: 163 writes of 64512 'x' bytes to stdout (10515456 bytes, just over 10 MiB),
  ;; then returns nil; a non-zero errno is returned as its code instead
  (func (export "mrun_fn_spew") (param i32 i32) (result i64)
    (local $i i32) (local $e i32)
    (block $done
      (loop $more
        (br_if $done (i32.eq (local.get $i) (i32.const 163)))
        (local.set $e (call $write_x))
        (if (local.get $e) (then (return (call $code (local.get $e)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $more)))
    (call $pack (i32.const 288) (i32.const 1)))

  ;; spew_forever: writes to stdout until it is interrupted
  (func (export "mrun_fn_spew_forever") (param i32 i32) (result i64)
    (loop $more
      (drop (call $write_x))
      (br $more))
    unreachable)

  ;; exit3: proc_exit(3)
  (func (export "mrun_fn_exit3") (param i32 i32) (result i64)
    (call $proc_exit (i32.const 3))
    unreachable)

  ;; ---- garbage to host imports ----------------------------------------------------------

  ;; seterr_oob: set_error with a message outside memory, then returns nil
  (func (export "mrun_fn_seterr_oob") (param i32 i32) (result i64)
    (call $set_error (i32.const 0xfffffff0) (i32.const 100))
    (call $pack (i32.const 288) (i32.const 1)))

;; seterr_trap: set_error("raw: want one bin argument"), then traps: the trap carries the message
  (func (export "mrun_fn_seterr_trap") (param i32 i32) (result i64)
    (call $set_error (i32.const 16) (i32.const 26))
    unreachable)

  ;; seterr_huge: set_error(0, 0xffffffff): the host keeps the first 64 KiB (memory is 128 KiB)
  (func (export "mrun_fn_seterr_huge") (param i32 i32) (result i64)
    (call $set_error (i32.const 0) (i32.const -1))
    (call $pack (i32.const 288) (i32.const 1)))

  ;; seterr_badutf8: set_error("\ff\fe")
  (func (export "mrun_fn_seterr_badutf8") (param i32 i32) (result i64)
    (call $set_error (i32.const 200) (i32.const 2))
    (call $pack (i32.const 288) (i32.const 1)))

  ;; failwith_garbage: fail_with(handle 0x7fffffff, message outside memory)
  (func (export "mrun_fn_failwith_garbage") (param i32 i32) (result i64)
    (call $fail_with (i32.const 0x7fffffff) (i32.const 0xfffffff0) (i32.const 100))
    (call $pack (i32.const 288) (i32.const 1)))

  ;; The spawn_* / execute_* / lasterr_* functions return the host's code as msgpack int32.

  ;; spawn with a module name outside memory
  (func (export "mrun_fn_spawn_mod_oob") (param i32 i32) (result i64)
    (call $code (call $spawn (i32.const 0xfffffff0) (i32.const 100)
      (i32.const 192) (i32.const 3) (i32.const 196) (i32.const 3) (i32.const 1))))

  ;; spawn with an argument frame outside memory
  (func (export "mrun_fn_spawn_args_oob") (param i32 i32) (result i64)
    (call $code (call $spawn (i32.const 0) (i32.const 0)
      (i32.const 192) (i32.const 3) (i32.const 196) (i32.const -1) (i32.const 1))))

  ;; spawn with a function name that is not UTF-8
  (func (export "mrun_fn_spawn_badutf8") (param i32 i32) (result i64)
    (call $code (call $spawn (i32.const 0) (i32.const 0)
      (i32.const 200) (i32.const 2) (i32.const 196) (i32.const 3) (i32.const 1))))

  ;; spawn with n_output = -1 (0xffffffff)
  (func (export "mrun_fn_spawn_nout_neg") (param i32 i32) (result i64)
    (call $code (call $spawn (i32.const 0) (i32.const 0)
      (i32.const 192) (i32.const 3) (i32.const 196) (i32.const 3) (i32.const -1))))

  ;; execute 4 handles from an array that runs past the end of memory
  (func (export "mrun_fn_execute_oob") (param i32 i32) (result i64)
    (call $code (call $execute (i32.const 0xfffffff0) (i32.const 4))))

  ;; execute handle 0, which is never valid
  (func (export "mrun_fn_execute_zero") (param i32 i32) (result i64)
    (i32.store (i32.const 800) (i32.const 0))
    (call $code (call $execute (i32.const 800) (i32.const 1))))

  ;; make execute fail, then ask last_error to copy into a buffer outside memory: the host
  ;; must not write anything and must return the message length
  (func (export "mrun_fn_lasterr_oob") (param i32 i32) (result i64)
    (drop (call $execute (i32.const 0xfffffff0) (i32.const 4)))
    (call $code (call $last_error (i32.const 0xfffffff0) (i32.const 1000))))

  ;; ---- fuzzing and fault load -----------------------------------------------------------

  ;; raw: frame 92 91 <bin> 80 -> the bin's payload bytes, returned raw as the result frame
  (func (export "mrun_fn_raw") (param $p i32) (param $n i32) (result i64)
    (local $t i32) (local $h i32) (local $len i32)
    (block $bad
      (br_if $bad (i32.lt_u (local.get $n) (i32.const 5)))
      (br_if $bad (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x92)))
      (br_if $bad (i32.ne (i32.load8_u offset=1 (local.get $p)) (i32.const 0x91)))
      (local.set $t (i32.load8_u offset=2 (local.get $p)))
      (br_if $bad (i32.or (i32.lt_u (local.get $t) (i32.const 0xc4))
                          (i32.gt_u (local.get $t) (i32.const 0xc6))))
      ;; header: 1 type byte + 1, 2 or 4 length bytes
      (local.set $h (i32.shl (i32.const 1) (i32.sub (local.get $t) (i32.const 0xc4))))
      (local.set $len (i32.wrap_i64 (call $be (i32.add (local.get $p) (i32.const 3)) (local.get $h))))
      ;; 92 91 + header + payload + 80 must be the whole frame
      (br_if $bad (i32.ne (i32.add (i32.add (i32.const 4) (local.get $h)) (local.get $len))
                          (local.get $n)))
      (return (call $pack (i32.add (i32.add (local.get $p) (i32.const 3)) (local.get $h))
                          (local.get $len))))
    (call $set_error (i32.const 16) (i32.const 26))
    (i64.const 0))

  ;; maybe_fail(i): i + 1, or the guest error "maybe_fail: unlucky <i>" when i % 97 == 13
  (func (export "mrun_fn_maybe_fail") (param $p i32) (param $n i32) (result i64)
    (local $i i64) (local $len i32) (local $d i32) (local $end i32)
    (block $bad
      (br_if $bad (i32.lt_u (local.get $n) (i32.const 4)))
      (br_if $bad (i32.ne (i32.load16_u (local.get $p)) (i32.const 0x9192))) ;; 92 91
      (local.set $len (call $uint_len (i32.add (local.get $p) (i32.const 2))))
      (br_if $bad (i32.eqz (local.get $len)))
      (br_if $bad (i32.ne (local.get $n) (i32.add (local.get $len) (i32.const 3))))
      (br_if $bad (i32.ne (i32.load8_u (i32.add (local.get $p) (i32.sub (local.get $n) (i32.const 1))))
                          (i32.const 0x80)))
      (local.set $i (call $uint_at (i32.add (local.get $p) (i32.const 2))))
      (if (i64.ne (i64.rem_u (local.get $i) (i64.const 97)) (i64.const 13))
        (then (return (call $uint (i64.add (local.get $i) (i64.const 1))))))
      ;; message at 144: "maybe_fail: unlucky " then the decimal digits of i, built
      ;; backwards at 600..620 and copied after the prefix
      (local.set $end (i32.const 620))
      (local.set $d (local.get $end))
      (loop $digit
        (local.set $d (i32.sub (local.get $d) (i32.const 1)))
        (i32.store8 (local.get $d)
          (i32.add (i32.const 0x30) (i32.wrap_i64 (i64.rem_u (local.get $i) (i64.const 10)))))
        (local.set $i (i64.div_u (local.get $i) (i64.const 10)))
        (br_if $digit (i64.ne (local.get $i) (i64.const 0))))
      (local.set $len (i32.const 0))
      (block $copied
        (loop $copy
          (br_if $copied (i32.eq (i32.add (local.get $d) (local.get $len)) (local.get $end)))
          (i32.store8 offset=164 (local.get $len)
            (i32.load8_u (i32.add (local.get $d) (local.get $len))))
          (local.set $len (i32.add (local.get $len) (i32.const 1)))
          (br $copy)))
      (call $set_error (i32.const 144) (i32.add (i32.const 20) (local.get $len)))
      (return (i64.const 0)))
    (call $set_error (i32.const 48) (i32.const 33))
    (i64.const 0))

  ;; sum(xs): xs an array (fixarray, array16 or array32) of msgpack unsigned ints -> their sum
  (func (export "mrun_fn_sum") (param $p i32) (param $n i32) (result i64)
    (local $q i32) (local $end i32) (local $t i32) (local $count i32) (local $len i32)
    (local $total i64)
    (block $bad
      (br_if $bad (i32.lt_u (local.get $n) (i32.const 4)))
      (br_if $bad (i32.ne (i32.load16_u (local.get $p)) (i32.const 0x9192)))
      (local.set $end (i32.sub (i32.add (local.get $p) (local.get $n)) (i32.const 1)))
      (br_if $bad (i32.ne (i32.load8_u (local.get $end)) (i32.const 0x80)))
      (local.set $q (i32.add (local.get $p) (i32.const 2)))
      (local.set $t (i32.load8_u (local.get $q)))
      (block $header
        (if (i32.eq (i32.and (local.get $t) (i32.const 0xf0)) (i32.const 0x90))
          (then (local.set $count (i32.and (local.get $t) (i32.const 0x0f)))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $header)))
        (if (i32.eq (local.get $t) (i32.const 0xdc))
          (then (local.set $count (i32.wrap_i64 (call $be (i32.add (local.get $q) (i32.const 1)) (i32.const 2))))
                (local.set $q (i32.add (local.get $q) (i32.const 3)))
                (br $header)))
        (if (i32.eq (local.get $t) (i32.const 0xdd))
          (then (local.set $count (i32.wrap_i64 (call $be (i32.add (local.get $q) (i32.const 1)) (i32.const 4))))
                (local.set $q (i32.add (local.get $q) (i32.const 5)))
                (br $header)))
        (br $bad))
      (block $done
        (loop $next
          (br_if $done (i32.eqz (local.get $count)))
          (br_if $bad (i32.ge_u (local.get $q) (local.get $end)))
          (local.set $len (call $uint_len (local.get $q)))
          (br_if $bad (i32.eqz (local.get $len)))
          (br_if $bad (i32.gt_u (i32.add (local.get $q) (local.get $len)) (local.get $end)))
          (local.set $total (i64.add (local.get $total) (call $uint_at (local.get $q))))
          (local.set $q (i32.add (local.get $q) (local.get $len)))
          (local.set $count (i32.sub (local.get $count) (i32.const 1)))
          (br $next)))
      (br_if $bad (i32.ne (local.get $q) (local.get $end)))
      (return (call $uint (local.get $total))))
    (call $set_error (i32.const 96) (i32.const 36))
    (i64.const 0))
)
