;; escapes.wat: a guest that tries to drive the terminal of whoever runs it. Its output, its
;; result and its error message hold terminal escape sequences; the CLI must show them
;; escaped on a terminal and pass them through byte for byte to a pipe or a file.
;;
;; Memory layout (1 page):
;;   16 ..  255  what the functions write and the error message
;;  256 ..  287  the result frame
;;  512 ..  523  iovec + nwritten for fd_write
;; 1024 ..       the argument buffer (mrun_alloc refuses more than 64512 bytes)
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "mrun" "set_error" (func $set_error (param i32 i32)))

  (memory (export "memory") 1)

  ;; stdout: OSC 0 sets the window title, OSC 52 writes the clipboard, BEL, then colour
  ;; "title\1b]0;owned\07clip\1b]52;c;aGk=\07red\1b[31m!\1b[0m\n"      45 bytes
  (data (i32.const 16) "title\1b]0;owned\07clip\1b]52;c;aGk=\07red\1b[31m!\1b[0m\n")
  ;; stderr: erase the line, go back to its start and print a fake success;
  ;; then C1 CSI (U+009B as UTF-8), DEL and a backspace
  ;; "\1b[2K\rmrun: all tasks succeeded\n\c2\9b2J\7f\08\n"               38 bytes
  (data (i32.const 80) "\1b[2K\rmrun: all tasks succeeded\n\c2\9b2J\7f\08\n")
  ;; the error message of fail: "bad\1b[2K\rmrun: all tasks succeeded\07\c2\9b"  36 bytes
  (data (i32.const 128) "bad\1b[2K\rmrun: all tasks succeeded\07\c2\9b")
  ;; the result of shout: the string "r\1b]0;t\07\7f\c2\9b" (10 bytes) as a fixstr
  (data (i32.const 256) "\aar\1b]0;t\07\7f\c2\9b")

  (func (export "mrun_abi_v1"))

  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (i32.gt_u (local.get $size) (i32.const 64512))
      (then (return (i32.const 0))))
    (i32.const 1024))

  ;; write one buffer to fd through the iovec at 512
  (func $write (param $fd i32) (param $buf i32) (param $len i32)
    (i32.store (i32.const 512) (local.get $buf))
    (i32.store (i32.const 516) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 512) (i32.const 1) (i32.const 520))))

  (func $say
    (call $write (i32.const 1) (i32.const 16) (i32.const 45))
    (call $write (i32.const 2) (i32.const 80) (i32.const 38)))

  ;; shout: writes both streams and returns the string above, whatever its arguments
  (func (export "mrun_fn_shout") (param i32 i32) (result i64)
    (call $say)
    (i64.or (i64.shl (i64.const 256) (i64.const 32)) (i64.const 11)))

  ;; fail: writes both streams and fails with the message above
  (func (export "mrun_fn_fail") (param i32 i32) (result i64)
    (call $say)
    (call $set_error (i32.const 128) (i32.const 36))
    (i64.const 0))
)
