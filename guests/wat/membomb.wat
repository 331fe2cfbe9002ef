;; membomb.wat: guests that take all the memory they can, for the tests of the memory limit
;; and the runtime's memory budget (runtime/memory_test.go).
;;
;; Memory: page 0 holds the 256-byte argument buffer (at 1024) and the result frame (at 16);
;; every page after it belongs to the bomb.
(module
  (memory (export "memory") 1)

  (data (i32.const 16) "\c0") ;; nil, the result of a bomb that returns

  (func (export "mrun_abi_v1"))

  ;; one argument buffer of 256 bytes at 1024; 0 when asked for more
  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.gt_u (local.get $size) (i32.const 256))
      (then (i32.const 0))
      (else (i32.const 1024))))

  ;; membomb: grow memory 1 MiB (16 pages) at a time and write to every 4 KiB of each new
  ;; MiB, so that the host really backs it, until memory.grow returns -1; then trap.
  (func (export "mrun_fn_membomb") (param i32 i32) (result i64)
    (local $at i32) (local $end i32)
    (loop $more
      (local.set $at (memory.grow (i32.const 16)))
      (if (i32.eq (local.get $at) (i32.const -1))
        (then unreachable))
      (local.set $at (i32.shl (local.get $at) (i32.const 16)))
      (local.set $end (i32.add (local.get $at) (i32.const 0x100000)))
      (loop $touch
        (i32.store8 (local.get $at) (i32.const 1))
        (local.set $at (i32.add (local.get $at) (i32.const 4096)))
        (br_if $touch (i32.lt_u (local.get $at) (local.get $end))))
      (br $more))
    (i64.const 0))

  ;; grow_untouched: grow memory 1 MiB at a time without touching it until memory.grow
  ;; returns -1; then trap. With no limit the last grow asks for more than 4 GiB.
  (func (export "mrun_fn_grow_untouched") (param i32 i32) (result i64)
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    unreachable)

  ;; grow_max: grow memory to 4 GiB less one page in one step, without touching it, write its
  ;; very last byte, then grow by one more page to the 4 GiB WebAssembly maximum: the runtime
  ;; refuses that (its compiled code cannot address a full 4 GiB), so trap. Returns nil if the
  ;; first grow fails (memory stays as it was) or the last one works.
  (func (export "mrun_fn_grow_max") (param i32 i32) (result i64)
    (if (i32.eq (memory.grow (i32.sub (i32.const 65535) (memory.size))) (i32.const -1))
      (then (return (i64.const 0x0000001000000001))))
    (i32.store8 (i32.const 0xfffeffff) (i32.const 1))
    (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1))
      (then unreachable))
    (i64.const 0x0000001000000001)))
