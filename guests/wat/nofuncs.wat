;; nofuncs.wat: a correct v1 module that exports no `mrun_fn_*`. It must load;
;; listing its functions gives an empty list. The other exports are ignored.
(module
  (memory (export "memory") 1)
  (func (export "mrun_abi_v1"))
  (func (export "mrun_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "helper") (param i32 i32) (result i64) (i64.const 0))
  (func (export "mrun_fnord")))             ;; not "mrun_fn_": ignored
