;; tensorbench.wat: the two ends of a large tensor hand-off, with no work of their own, so a
;; benchmark measures only what mrun costs to move a tensor from one task to the next.
;;
;;   make(n, tag)  returns a float64 tensor of shape [n] (8n bytes). Its elements are whatever the
;;                 output region holds: zeros in a fresh instance. tag is ignored; it only gives
;;                 each call its own key.
;;   consume(t)    checks that its argument is one float64 tensor of one dimension and returns
;;                 its element count, without reading the elements.
;;
;; Memory: a bump allocator from 64 KiB upwards hands out the argument buffer and the output
;; region; both are reused while they are large enough.
(module
  (import "mrun" "set_error" (func $set_error (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "make wants [n, tag] with n a non-negative integer below 2^29")
  (data (i32.const 96) "consume wants one float64 tensor of one dimension")

  (global $heap (mut i32) (i32.const 65536))
  (global $out (mut i32) (i32.const 0))
  (global $outcap (mut i32) (i32.const 0))

  (func (export "mrun_abi_v1"))

  ;; $grab returns size bytes, 8-aligned, growing memory as needed; 0 when memory is full.
  (func $grab (param $size i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (local.set $p (global.get $heap))
    (local.set $end (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (if (i32.lt_u (local.get $end) (local.get $p)) (then (return (i32.const 0))))
    (local.set $have (i32.shl (memory.size) (i32.const 16)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.lt_s
              (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (local.get $have)) (i32.const 65535)) (i32.const 16)))
              (i32.const 0))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $p))

  (func (export "mrun_alloc") (param $size i32) (result i32)
    (call $grab (local.get $size)))

  ;; $uint reads a non-negative msgpack integer below 2^32 at p into the low 32 bits and
  ;; returns (length << 32) | value, or -1 for anything else.
  (func $uint (param $p i32) (result i64)
    (local $c i32)
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.lt_u (local.get $c) (i32.const 0x80))
      (then (return (i64.or (i64.const 0x100000000) (i64.extend_i32_u (local.get $c))))))
    (if (i32.eq (local.get $c) (i32.const 0xcc))
      (then (return (i64.or (i64.const 0x200000000) (i64.extend_i32_u (i32.load8_u offset=1 (local.get $p)))))))
    (if (i32.eq (local.get $c) (i32.const 0xcd))
      (then (return (i64.or (i64.const 0x300000000)
        (i64.extend_i32_u (i32.or (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 8))
                                  (i32.load8_u offset=2 (local.get $p))))))))
    (if (i32.eq (local.get $c) (i32.const 0xce))
      (then (return (i64.or (i64.const 0x500000000)
        (i64.extend_i32_u (i32.or (i32.or (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 24))
                                          (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 16)))
                                  (i32.or (i32.shl (i32.load8_u offset=3 (local.get $p)) (i32.const 8))
                                          (i32.load8_u offset=4 (local.get $p)))))))))
    (i64.const -1))

  ;; $be32 stores v big-endian at p.
  (func $be32 (param $p i32) (param $v i32)
    (i32.store8 (local.get $p) (i32.shr_u (local.get $v) (i32.const 24)))
    (i32.store8 offset=1 (local.get $p) (i32.shr_u (local.get $v) (i32.const 16)))
    (i32.store8 offset=2 (local.get $p) (i32.shr_u (local.get $v) (i32.const 8)))
    (i32.store8 offset=3 (local.get $p) (local.get $v)))

  ;; make(n, tag): frame 92 92 <n> <tag> 80
  (func (export "mrun_fn_make") (param $p i32) (param $len i32) (result i64)
    (local $r i64) (local $n i32) (local $size i32) (local $o i32)
    (if (i32.or (i32.lt_u (local.get $len) (i32.const 5))
          (i32.ne (i32.load16_u (local.get $p)) (i32.const 0x9292)))
      (then (call $set_error (i32.const 16) (i32.const 60)) (return (i64.const 0))))
    (local.set $r (call $uint (i32.add (local.get $p) (i32.const 2))))
    (if (i32.or (i64.lt_s (local.get $r) (i64.const 0))
          (i64.ge_u (i64.and (local.get $r) (i64.const 0xffffffff)) (i64.const 0x20000000)))
      (then (call $set_error (i32.const 16) (i32.const 60)) (return (i64.const 0))))
    (local.set $n (i32.wrap_i64 (local.get $r)))
    ;; c9 <len u32> 04 | 0a 01 00*6 | n u64 LE | 8n bytes
    (local.set $size (i32.add (i32.const 22) (i32.shl (local.get $n) (i32.const 3))))
    (if (i32.lt_u (global.get $outcap) (local.get $size))
      (then
        ;; 2 spare bytes in front put the elements at an 8-byte boundary: 2 + 6 + 16 = 24
        (global.set $out (i32.add (call $grab (i32.add (local.get $size) (i32.const 2))) (i32.const 2)))
        (if (i32.eq (global.get $out) (i32.const 2)) (then (unreachable)))
        (global.set $outcap (local.get $size))))
    (local.set $o (global.get $out))
    (i32.store8 (local.get $o) (i32.const 0xc9))
    (call $be32 (i32.add (local.get $o) (i32.const 1)) (i32.sub (local.get $size) (i32.const 6)))
    (i32.store8 offset=5 (local.get $o) (i32.const 4))
    (i64.store offset=6 (local.get $o) (i64.const 0x010a))
    (i64.store offset=14 (local.get $o) (i64.extend_i32_u (local.get $n)))
    (i64.or (i64.shl (i64.extend_i32_u (local.get $o)) (i64.const 32)) (i64.extend_i32_u (local.get $size))))

;; consume(t): frame 92 91 <ext header> 0a 01 00*6 <n u64 LE> <data> 80, where the ext header
  ;; is c7 LL 04, c8 LLLL 04 or c9 LLLLLLLL 04; returns n as a uint32
  (func (export "mrun_fn_consume") (param $p i32) (param $len i32) (result i64)
    (local $c i32) (local $t i32)
    (if (i32.or (i32.lt_u (local.get $len) (i32.const 25))
                (i32.ne (i32.load16_u (local.get $p)) (i32.const 0x9192)))
      (then (call $set_error (i32.const 96) (i32.const 49)) (return (i64.const 0))))
    ;; $t: the offset of the ext type byte; the payload follows it
    (local.set $c (i32.load8_u offset=2 (local.get $p)))
    (local.set $t (select (i32.const 4) (i32.const 0) (i32.eq (local.get $c) (i32.const 0xc7))))
    (if (i32.eq (local.get $c) (i32.const 0xc8)) (then (local.set $t (i32.const 5))))
    (if (i32.eq (local.get $c) (i32.const 0xc9)) (then (local.set $t (i32.const 7))))
    (local.set $t (i32.add (local.get $p) (local.get $t)))
    (if (i32.or (i32.eq (local.get $t) (local.get $p))
          (i32.or (i32.ne (i32.load8_u (local.get $t)) (i32.const 4))
                  (i64.ne (i64.load offset=1 (local.get $t)) (i64.const 0x010a))))
      (then (call $set_error (i32.const 96) (i32.const 49)) (return (i64.const 0))))
    (i32.store8 (i32.const 512) (i32.const 0xce))
    (call $be32 (i32.const 513) (i32.load offset=9 (local.get $t)))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 5))))
