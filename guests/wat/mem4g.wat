;; mem4g.wat: a module whose memory starts at 65536 pages, exactly 4 GiB, the most a 32-bit
;; memory can declare. Its allocator hands out 1024 and `x` returns nil, so any failure is the
;; host's: the host must either run it or refuse it with a message naming the limit.
(module
  (memory (export "memory") 65536)
  (data (i32.const 512) "\c0")
  (func (export "mrun_abi_v1"))
  (func (export "mrun_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "mrun_fn_x") (param i32 i32) (result i64)
    (i64.const 0x0000020000000001)))        ;; nil at 512
