;; fixtures.wat: one valid mrun ABI v1 module with many small functions for
;; host tests. See README.md in this folder for what each one is for.
;;
;; Memory layout (memory starts at 1 page, no maximum):
;;   page 0    0 ..    15  unused (keeps address 0 meaningless)
;;            16 ..   255  error messages
;;           256 ..   511  fixed result frames
;;           512 ..   767  scratch result bytes (counter, grow, print)
;;           768 ..   799  iovecs + nwritten for fd_write
;;   page 1   65536 .. 131071  the 64 KiB argument buffer (mrun_alloc grows
;;                             memory to 2 pages the first time it is called)
;;   page 2+  131072 ..        the 1 MiB bin frame built by `big`
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "mrun" "set_error" (func $set_error (param i32 i32)))

  (memory (export "memory") 1)

  ;; ---- error messages ------------------------------------------------------
  (data (i32.const 16)  "boom: the guest says no")                          ;; 23
  (data (i32.const 48)  "first")                                            ;; 5
  (data (i32.const 56)  "second")                                           ;; 6
  (data (i32.const 64)  "first: want one positional argument and no keywords") ;; 51
  (data (i32.const 128) "grow: want one small non-negative integer")        ;; 41
  (data (i32.const 176) "print: fd_write failed")                           ;; 22
  (data (i32.const 208) "big: memory.grow failed")                          ;; 23

  ;; ---- fixed result frames -------------------------------------------------
  ;; const: [1, "two", 3.5]
  (data (i32.const 256) "\93\01\a3two\cb\40\0c\00\00\00\00\00\00")          ;; 15
  (data (i32.const 272) "\92\0a\14")        ;; pair:      [10, 20]
  (data (i32.const 280) "\93\01\02\03")     ;; triple:    [1, 2, 3]
  (data (i32.const 288) "\c1")              ;; malformed: reserved type byte
  (data (i32.const 292) "\92\01")           ;; truncated: array of 2, 1 element
  (data (i32.const 296) "\01\02")           ;; trailing:  two values
  (data (i32.const 300) "\c0")              ;; nil
  (data (i32.const 304) "out line\n")       ;; 9 bytes, for fd 1
  (data (i32.const 320) "err line\n")       ;; 9 bytes, for fd 2

  (global $count (mut i32) (i32.const 0))

  ;; (ptr << 32) | len, both unsigned
  (func $pack (param $ptr i32) (param $len i32) (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (local.get $ptr)) (i64.const 32))
            (i64.extend_i32_u (local.get $len))))

  ;; make memory at least $pages pages; returns 0 on failure, 1 on success
  (func $ensure (param $pages i32) (result i32)
    (local $cur i32)
    (local.set $cur (memory.size))
    (if (i32.lt_u (local.get $cur) (local.get $pages))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (local.get $cur)))
                    (i32.const -1))
          (then (return (i32.const 0))))))
    (i32.const 1))

  (func (export "mrun_abi_v1"))

  ;; one 64 KiB argument buffer at 65536 (page 1); 0 when size is too big
  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (i32.gt_u (local.get $size) (i32.const 65536))
      (then (return (i32.const 0))))
    (if (i32.eqz (call $ensure (i32.const 2)))
      (then (return (i32.const 0))))
    (i32.const 65536))

  ;; echo: the argument frame itself
  (func (export "mrun_fn_echo") (param $p i32) (param $n i32) (result i64)
    (call $pack (local.get $p) (local.get $n)))

  ;; first: frame 92 91 <value> 80 -> <value>, i.e. bytes [p+2, p+n-1).
  ;; No parser: it checks only the first two bytes and that the last byte is
  ;; 80, so keywords whose encoding ends in 0x80 are not detected.
  (func (export "mrun_fn_first") (param $p i32) (param $n i32) (result i64)
    (if (i32.or
          (i32.lt_u (local.get $n) (i32.const 4))
          (i32.or
            (i32.or (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x92))
                    (i32.ne (i32.load8_u offset=1 (local.get $p)) (i32.const 0x91)))
            (i32.ne (i32.load8_u (i32.sub (i32.add (local.get $p) (local.get $n)) (i32.const 1)))
                    (i32.const 0x80))))
      (then (call $set_error (i32.const 64) (i32.const 51))
            (return (i64.const 0))))
    (call $pack (i32.add (local.get $p) (i32.const 2))
                (i32.sub (local.get $n) (i32.const 3))))

  ;; const: [1, "two", 3.5]
  (func (export "mrun_fn_const") (param i32 i32) (result i64)
    (call $pack (i32.const 256) (i32.const 15)))

  ;; pair: [10, 20], for n_output = 2
  (func (export "mrun_fn_pair") (param i32 i32) (result i64)
    (call $pack (i32.const 272) (i32.const 3)))

  ;; triple: [1, 2, 3], for n_output = 3 (and a wrong shape for n_output = 2)
  (func (export "mrun_fn_triple") (param i32 i32) (result i64)
    (call $pack (i32.const 280) (i32.const 4)))

  ;; fail: guest error "boom: the guest says no", returns 0 (an empty frame,
  ;; which the host must ignore)
  (func (export "mrun_fn_fail") (param i32 i32) (result i64)
    (call $set_error (i32.const 16) (i32.const 23))
    (i64.const 0))

  ;; fail_twice: set_error("first"), set_error("second"); the last wins.
  ;; Returns a well-formed nil frame, which the host must still ignore.
  (func (export "mrun_fn_fail_twice") (param i32 i32) (result i64)
    (call $set_error (i32.const 48) (i32.const 5))
    (call $set_error (i32.const 56) (i32.const 6))
    (call $pack (i32.const 300) (i32.const 1)))

  ;; trap: unreachable
  (func (export "mrun_fn_trap") (param i32 i32) (result i64)
    unreachable)

  ;; oob: 4-byte load at 0xFFFFFFFF, past the end of any 32-bit memory
  (func (export "mrun_fn_oob") (param i32 i32) (result i64)
    (i64.extend_i32_u (i32.load (i32.const -1))))

  ;; loop: never returns; only context cancellation ends it
  (func (export "mrun_fn_loop") (param i32 i32) (result i64)
    (loop $l (br $l))
    unreachable)

  ;; malformed: c1
  (func (export "mrun_fn_malformed") (param i32 i32) (result i64)
    (call $pack (i32.const 288) (i32.const 1)))

  ;; truncated: 92 01
  (func (export "mrun_fn_truncated") (param i32 i32) (result i64)
    (call $pack (i32.const 292) (i32.const 2)))

  ;; trailing: 01 02
  (func (export "mrun_fn_trailing") (param i32 i32) (result i64)
    (call $pack (i32.const 296) (i32.const 2)))

  ;; outside: ptr 0xFFFFFF00, len 0x200 (outside memory; ptr+len overflows u32)
  (func (export "mrun_fn_outside") (param i32 i32) (result i64)
    (i64.const 0xFFFFFF0000000200))

  ;; counter: ++global, returned as a msgpack unsigned int (fixint up to 127,
  ;; then uint16 / uint32 so the frame stays valid however long it runs)
  (func (export "mrun_fn_counter") (param i32 i32) (result i64)
    (local $c i32)
    (local.set $c (i32.add (global.get $count) (i32.const 1)))
    (global.set $count (local.get $c))
    (if (i32.le_u (local.get $c) (i32.const 0x7f))
      (then (i32.store8 (i32.const 512) (local.get $c))
            (return (call $pack (i32.const 512) (i32.const 1)))))
    (if (i32.le_u (local.get $c) (i32.const 0xffff))
      (then (i32.store8 (i32.const 512) (i32.const 0xcd))
            (i32.store8 offset=1 (i32.const 512) (i32.shr_u (local.get $c) (i32.const 8)))
            (i32.store8 offset=2 (i32.const 512) (local.get $c))
            (return (call $pack (i32.const 512) (i32.const 3)))))
    (i32.store8 (i32.const 512) (i32.const 0xce))
    (i32.store8 offset=1 (i32.const 512) (i32.shr_u (local.get $c) (i32.const 24)))
    (i32.store8 offset=2 (i32.const 512) (i32.shr_u (local.get $c) (i32.const 16)))
    (i32.store8 offset=3 (i32.const 512) (i32.shr_u (local.get $c) (i32.const 8)))
    (i32.store8 offset=4 (i32.const 512) (local.get $c))
    (call $pack (i32.const 512) (i32.const 5)))

  ;; write one buffer to fd via an iovec at 768, nwritten at 776; errno out
  (func $write (param $fd i32) (param $buf i32) (param $len i32) (result i32)
    (i32.store (i32.const 768) (local.get $buf))
    (i32.store (i32.const 772) (local.get $len))
    (call $fd_write (local.get $fd) (i32.const 768) (i32.const 1) (i32.const 776)))

  ;; print: "out line\n" to fd 1, "err line\n" to fd 2, returns nil
  (func (export "mrun_fn_print") (param i32 i32) (result i64)
    (if (i32.or (call $write (i32.const 1) (i32.const 304) (i32.const 9))
                (call $write (i32.const 2) (i32.const 320) (i32.const 9)))
      (then (call $set_error (i32.const 176) (i32.const 22))
            (return (i64.const 0))))
    (call $pack (i32.const 300) (i32.const 1)))

  ;; grow: frame 92 91 <n> 80 with n a positive fixint, or 92 91 cd <hi> <lo> 80
  ;; (uint16); memory.grow(n) -> c3 (true) on success, c2 (false) on -1.
  ;; grow(65535) always fails: memory is at least 2 pages once mrun_alloc ran.
  (func (export "mrun_fn_grow") (param $p i32) (param $n i32) (result i64)
    (local $pages i32)
    (if (i32.or (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x92))
                (i32.ne (i32.load8_u offset=1 (local.get $p)) (i32.const 0x91)))
      (then (call $set_error (i32.const 128) (i32.const 41))
            (return (i64.const 0))))
    (local.set $pages (i32.load8_u offset=2 (local.get $p)))
    (block $ok
      (if (i32.and (i32.eq (local.get $n) (i32.const 4))
                   (i32.lt_u (local.get $pages) (i32.const 0x80)))
        (then (br $ok)))
      (if (i32.and (i32.eq (local.get $n) (i32.const 6))
                   (i32.eq (local.get $pages) (i32.const 0xcd)))
        (then (local.set $pages
                (i32.or (i32.shl (i32.load8_u offset=3 (local.get $p)) (i32.const 8))
                        (i32.load8_u offset=4 (local.get $p))))
              (br $ok)))
      (call $set_error (i32.const 128) (i32.const 41))
      (return (i64.const 0)))
    (i32.store8 (i32.const 512)
      (select (i32.const 0xc2) (i32.const 0xc3)
              (i32.eq (memory.grow (local.get $pages)) (i32.const -1))))
    (call $pack (i32.const 512) (i32.const 1)))

  ;; big: bin 32 of 1 MiB at 131072: c6 00 10 00 00, then byte i = i & 0xff.
  ;; Needs 131072 + 5 + 1048576 bytes = 19 pages; grows memory if needed.
  (func (export "mrun_fn_big") (param i32 i32) (result i64)
    (local $i i32)
    (if (i32.eqz (call $ensure (i32.const 19)))
      (then (call $set_error (i32.const 208) (i32.const 23))
            (return (i64.const 0))))
    (i32.store8 (i32.const 131072) (i32.const 0xc6))
    (i32.store8 (i32.const 131073) (i32.const 0x00))
    (i32.store8 (i32.const 131074) (i32.const 0x10))
    (i32.store8 (i32.const 131075) (i32.const 0x00))
    (i32.store8 (i32.const 131076) (i32.const 0x00))
    (block $done
      (loop $fill
        (br_if $done (i32.eq (local.get $i) (i32.const 1048576)))
        (i32.store8 offset=131077 (local.get $i) (local.get $i))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $fill)))
    (call $pack (i32.const 131072) (i32.const 1048581)))
)
