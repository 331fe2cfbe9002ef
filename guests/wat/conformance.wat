;; conformance.wat: the conformance module of guests/CONFORMANCE.md, written by hand.
;;
;; This module is the smallest complete guest there is: no SDK and no compiler, only the ABI of
;; abi/ABI.md spelled out instruction by instruction. Read it as a worked example of that
;; document. It is organised bottom-up:
;;
;;   1. imports and the memory map
;;   2. the string table (every text the module writes)
;;   3. memory: the bump heap, mrun_alloc (the argument buffer) and the result buffer
;;   4. the MessagePack reader: one function ($head) decodes any header
;;   5. the MessagePack writer
;;   6. errors: set_error with messages that name the function and the argument
;;   7. the argument frame [positional, keyword] and typed argument readers
;;   8. the conformance functions: values, nested spawn, tensors
;;
;; Conventions. A user function is exported as mrun_fn_<name> with type (i32 ptr, i32 len) ->
;; i64 and returns its result frame packed as ptr << 32 | len (ABI.md 1.4). Every function body
;; has the shape
;;
;;   (block $fail
;;     (br_if $fail (i32.eqz (call $args ...)))      ;; each step returns 1, or 0 after set_error
;;     ...
;;     (return (call $done)))                        ;; success: pack the result frame
;;   (i64.const 0)                                   ;; failure: the host ignores the value
;;
;; so bad input from the host never traps: every read is bounds-checked against the frame, and
;; every failure is a guest error whose message starts with the function's name.
;;
;; Strings in memory are length-prefixed: one length byte, then the bytes. $w_s appends one to
;; the output; spawn takes (s + 1, length byte).
(module
  ;; ---------------------------------------------------------------------------------------
  ;; 1. Imports and the memory map
  ;; ---------------------------------------------------------------------------------------

  ;; ABI.md 2.1: a guest error, and a guest error that names a failed child as its cause.
  (import "mrun" "set_error" (func $set_error (param i32 i32)))
  (import "mrun" "fail_with" (func $fail_with (param i32 i32 i32)))
  ;; ABI.md 2.2: nested spawn.
  (import "mrun" "spawn" (func $spawn (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "mrun" "execute" (func $execute (param i32 i32) (result i32)))
  (import "mrun" "fetch" (func $fetch (param i32 i32 i32) (result i64)))
  (import "mrun" "last_error" (func $last_error (param i32 i32) (result i32)))
  ;; ABI.md 2.3: WASI, for random numbers only.
  (import "wasi_snapshot_preview1" "random_get" (func $random_get (param i32 i32) (result i32)))

  ;; Memory map (page 0 is static; the heap starts at 64 KiB and grows with memory.grow):
  ;;
  ;;   0x0000  0x00ff   unused (address 0 is never a valid buffer)
  ;;   0x0100  0x1fff   the string table (section 2)
  ;;   0x2000  0x20ff   handle array for execute (up to 64 u32 handles)
  ;;   0x2100  0x2117   scratch for decimal numbers
  ;;   0x2200  0x22ff   name of each kind of value, 32-byte slots (section 2)
  ;;   0x2300  0x235f   name of each tensor dtype, 8-byte slots (section 2)
  ;;   0x2360  0x236b   element size of each tensor dtype (section 2)
  ;;   0x2400  0x33ff   the stack of $skip: 512 levels of nesting, 8 bytes each
  ;;   0x4000  0xffff   the first result buffer, 48 KiB
  ;;   0x10000 ...      the heap: argument buffers and larger result buffers
  (memory (export "memory") 2)

  (global $HANDLES i32 (i32.const 0x2000))
  (global $DIGITS i32 (i32.const 0x2100))
  (global $KINDS i32 (i32.const 0x2200))
  (global $DTYPES i32 (i32.const 0x2300))
  (global $ESIZE i32 (i32.const 0x2360))
  (global $STACK i32 (i32.const 0x2400))

  ;; The version marker (ABI.md 1.1): its name is what counts; it is never called.
  (func (export "mrun_abi_v1"))

  ;; ---------------------------------------------------------------------------------------
  ;; 2. The string table
  ;; ---------------------------------------------------------------------------------------
  ;; Each $s_<name> is the address of a length-prefixed string: the first byte is the length
  ;; (in hex, as WAT string escapes are), the text follows. Entries are packed one after the
  ;; other, so a new one goes at the end: at the last address, plus one, plus the last length.
  (global $s_inc i32 (i32.const 0x0100)) (data (i32.const 0x0100) "\03inc")
  (global $s_add i32 (i32.const 0x0104)) (data (i32.const 0x0104) "\03add")
  (global $s_fail i32 (i32.const 0x0108)) (data (i32.const 0x0108) "\04fail")
  (global $s_nothing i32 (i32.const 0x010d)) (data (i32.const 0x010d) "\07nothing")
  (global $s_empties i32 (i32.const 0x0115)) (data (i32.const 0x0115) "\07empties")
  (global $s_identity i32 (i32.const 0x011d)) (data (i32.const 0x011d) "\08identity")
  (global $s_concat i32 (i32.const 0x0126)) (data (i32.const 0x0126) "\06concat")
  (global $s_rev_bytes i32 (i32.const 0x012d)) (data (i32.const 0x012d) "\09rev_bytes")
  (global $s_ints i32 (i32.const 0x0137)) (data (i32.const 0x0137) "\04ints")
  (global $s_fdiv i32 (i32.const 0x013c)) (data (i32.const 0x013c) "\04fdiv")
  (global $s_greet i32 (i32.const 0x0141)) (data (i32.const 0x0141) "\05greet")
  (global $s_sum_all i32 (i32.const 0x0147)) (data (i32.const 0x0147) "\07sum_all")
  (global $s_triage i32 (i32.const 0x014f)) (data (i32.const 0x014f) "\06triage")
  (global $s_divmod i32 (i32.const 0x0156)) (data (i32.const 0x0156) "\06divmod")
  (global $s_driver i32 (i32.const 0x015d)) (data (i32.const 0x015d) "\06driver")
  (global $s_nested_split i32 (i32.const 0x0164)) (data (i32.const 0x0164) "\0cnested_split")
  (global $s_parent_fail i32 (i32.const 0x0171)) (data (i32.const 0x0171) "\0bparent_fail")
  (global $s_tensor_sum i32 (i32.const 0x017d)) (data (i32.const 0x017d) "\0atensor_sum")
  (global $s_matmul i32 (i32.const 0x0188)) (data (i32.const 0x0188) "\06matmul")
  (global $s_rand_matrix i32 (i32.const 0x018f)) (data (i32.const 0x018f) "\0brand_matrix")
  (global $s_driver2 i32 (i32.const 0x019b)) (data (i32.const 0x019b) "\07driver2")
  (global $s_x i32 (i32.const 0x01a3)) (data (i32.const 0x01a3) "\01x")
  (global $s_a i32 (i32.const 0x01a5)) (data (i32.const 0x01a5) "\01a")
  (global $s_b i32 (i32.const 0x01a7)) (data (i32.const 0x01a7) "\01b")
  (global $s_msg i32 (i32.const 0x01a9)) (data (i32.const 0x01a9) "\03msg")
  (global $s_v i32 (i32.const 0x01ad)) (data (i32.const 0x01ad) "\01v")
  (global $s_i i32 (i32.const 0x01af)) (data (i32.const 0x01af) "\01i")
  (global $s_u i32 (i32.const 0x01b1)) (data (i32.const 0x01b1) "\01u")
  (global $s_name i32 (i32.const 0x01b3)) (data (i32.const 0x01b3) "\04name")
  (global $s_xs i32 (i32.const 0x01b8)) (data (i32.const 0x01b8) "\02xs")
  (global $s_t i32 (i32.const 0x01bb)) (data (i32.const 0x01bb) "\01t")
  (global $s_r i32 (i32.const 0x01bd)) (data (i32.const 0x01bd) "\01r")
  (global $s_c i32 (i32.const 0x01bf)) (data (i32.const 0x01bf) "\01c")
  (global $s_greeting i32 (i32.const 0x01c1)) (data (i32.const 0x01c1) "\08greeting")
  (global $s_punct i32 (i32.const 0x01ca)) (data (i32.const 0x01ca) "\05punct")
  (global $s_hello i32 (i32.const 0x01d0)) (data (i32.const 0x01d0) "\05hello")
  (global $s_bang i32 (i32.const 0x01d6)) (data (i32.const 0x01d6) "\01!")
  (global $s_comma i32 (i32.const 0x01d8)) (data (i32.const 0x01d8) "\02, ")
  (global $s_colon i32 (i32.const 0x01db)) (data (i32.const 0x01db) "\02: ")
  (global $s_argument i32 (i32.const 0x01de)) (data (i32.const 0x01de) "\09argument ")
  (global $s_open i32 (i32.const 0x01e8)) (data (i32.const 0x01e8) "\02 (")
  (global $s_close i32 (i32.const 0x01eb)) (data (i32.const 0x01eb) "\03): ")
  (global $s_want i32 (i32.const 0x01ef)) (data (i32.const 0x01ef) "\05want ")
  (global $s_got i32 (i32.const 0x01f5)) (data (i32.const 0x01f5) "\06, got ")
  (global $s_an_int i32 (i32.const 0x01fc)) (data (i32.const 0x01fc) "\06an int")
  (global $s_a_float i32 (i32.const 0x0203)) (data (i32.const 0x0203) "\07a float")
  (global $s_a_str i32 (i32.const 0x020b)) (data (i32.const 0x020b) "\05a str")
  (global $s_bytes i32 (i32.const 0x0211)) (data (i32.const 0x0211) "\05bytes")
  (global $s_a_list i32 (i32.const 0x0217)) (data (i32.const 0x0217) "\06a list")
  (global $s_f64_tensor i32 (i32.const 0x021e)) (data (i32.const 0x021e) "\10a float64 tensor")
  (global $s_a_tensor i32 (i32.const 0x022f)) (data (i32.const 0x022f) "\08a tensor")
  (global $s_a_handle i32 (i32.const 0x0238)) (data (i32.const 0x0238) "\10an Object handle")
  (global $s_an_ext i32 (i32.const 0x0249)) (data (i32.const 0x0249) "\0can ext value")
  (global $s_tensor_of i32 (i32.const 0x0256)) (data (i32.const 0x0256) "\12a tensor of dtype ")
  (global $s_bad_tensor i32 (i32.const 0x0269)) (data (i32.const 0x0269) "\10malformed tensor")
  (global $s_want_2d i32 (i32.const 0x027a)) (data (i32.const 0x027a) "\19want a 2-D tensor, got a ")
  (global $s_d_tensor i32 (i32.const 0x0294)) (data (i32.const 0x0294) "\09-D tensor")
  (global $s_not_int64 i32 (i32.const 0x029e)) (data (i32.const 0x029e) "\16 does not fit in int64")
  (global $s_not_uint64 i32 (i32.const 0x02b5)) (data (i32.const 0x02b5) "\17 does not fit in uint64")
  (global $s_malformed i32 (i32.const 0x02cd)) (data (i32.const 0x02cd) "\18malformed argument frame")
  (global $s_takes i32 (i32.const 0x02e6)) (data (i32.const 0x02e6) "\06takes ")
  (global $s_no_pos i32 (i32.const 0x02ed)) (data (i32.const 0x02ed) "\17no positional arguments")
  (global $s_pos1 i32 (i32.const 0x0305)) (data (i32.const 0x0305) "\14 positional argument")
  (global $s_posn i32 (i32.const 0x031a)) (data (i32.const 0x031a) "\15 positional arguments")
  (global $s_but i32 (i32.const 0x0330)) (data (i32.const 0x0330) "\05 but ")
  (global $s_was i32 (i32.const 0x0336)) (data (i32.const 0x0336) "\0a was given")
  (global $s_were i32 (i32.const 0x0341)) (data (i32.const 0x0341) "\0b were given")
  (global $s_unexpected_kw i32 (i32.const 0x034d)) (data (i32.const 0x034d) "\1cunexpected keyword argument ")
  (global $s_quote i32 (i32.const 0x036a)) (data (i32.const 0x036a) "\01'")
  (global $s_kw_names i32 (i32.const 0x036c)) (data (i32.const 0x036c) "\19keyword names must be str")
  (global $s_keyword i32 (i32.const 0x0386)) (data (i32.const 0x0386) "\11keyword argument ")
  (global $s_ellipsis i32 (i32.const 0x0398)) (data (i32.const 0x0398) "\03...")
  (global $s_inc_overflow i32 (i32.const 0x039c)) (data (i32.const 0x039c) "\15x + 1 overflows int64")
  (global $s_add_overflow i32 (i32.const 0x03b2)) (data (i32.const 0x03b2) "\15a + b overflows int64")
  (global $s_div_zero i32 (i32.const 0x03c8)) (data (i32.const 0x03c8) "\10division by zero")
  (global $s_div_overflow i32 (i32.const 0x03d9)) (data (i32.const 0x03d9) "\15a / b overflows int64")
  (global $s_element i32 (i32.const 0x03ef)) (data (i32.const 0x03ef) "\08element ")
  (global $s_is i32 (i32.const 0x03f8)) (data (i32.const 0x03f8) "\04 is ")
  (global $s_not_number i32 (i32.const 0x03fd)) (data (i32.const 0x03fd) "\0e, not a number")
  (global $s_not_float i32 (i32.const 0x040c)) (data (i32.const 0x040c) "\0d, not a float")
  (global $s_int_overflow i32 (i32.const 0x041a)) (data (i32.const 0x041a) "\1cinteger overflow at element ")
  (global $s_negative i32 (i32.const 0x0437)) (data (i32.const 0x0437) "\1amust not be negative, got ")
  (global $s_a_sp i32 (i32.const 0x0452)) (data (i32.const 0x0452) "\02a ")
  (global $s_times i32 (i32.const 0x0455)) (data (i32.const 0x0455) "\01x")
  (global $s_no_fit i32 (i32.const 0x0457)) (data (i32.const 0x0457) "\26 float64 matrix does not fit in memory")
  (global $s_cannot_mul i32 (i32.const 0x047e)) (data (i32.const 0x047e) "\12cannot multiply a ")
  (global $s_matrix_by i32 (i32.const 0x0491)) (data (i32.const 0x0491) "\0d matrix by a ")
  (global $s_inner i32 (i32.const 0x049f)) (data (i32.const 0x049f) "\24 matrix: the inner dimensions differ")
  (global $s_random_get i32 (i32.const 0x04c4)) (data (i32.const 0x04c4) "\1drandom_get failed with errno ")
  (global $s_spawn i32 (i32.const 0x04e2)) (data (i32.const 0x04e2) "\06spawn ")
  (global $s_execute i32 (i32.const 0x04e9)) (data (i32.const 0x04e9) "\07execute")
  (global $s_fetch i32 (i32.const 0x04f1)) (data (i32.const 0x04f1) "\05fetch")
  (global $s_failed i32 (i32.const 0x04f7)) (data (i32.const 0x04f7) "\09 failed: ")
  (global $s_child_ok i32 (i32.const 0x0501)) (data (i32.const 0x0501) "\16the child did not fail")
  (global $s_too_long i32 (i32.const 0x0518)) (data (i32.const 0x0518) "\1a(message too long to show)")
  (global $s_oom i32 (i32.const 0x0533)) (data (i32.const 0x0533) "\1cout of memory for the result")
  (global $s_a_map i32 (i32.const 0x0550)) (data (i32.const 0x0550) "\05a map")
  (global $s_holds_ext i32 (i32.const 0x0556)) (data (i32.const 0x0556) "\0fholds ext type ")
  (global $s_holds_bad_tensor i32 (i32.const 0x0566)) (data (i32.const 0x0566) "\18holds a malformed tensor")
  (global $s_not_result i32 (i32.const 0x057f)) (data (i32.const 0x057f) "\20, which a result may not contain")

  ;; What $w_got calls each kind of value, by kind code (section 4), in 32-byte slots.
  (data (i32.const 0x2200) "\11a malformed value")
  (data (i32.const 0x2220) "\03nil")
  (data (i32.const 0x2240) "\06a bool")
  (data (i32.const 0x2260) "\06an int")
  (data (i32.const 0x2280) "\07a float")
  (data (i32.const 0x22a0) "\05a str")
  (data (i32.const 0x22c0) "\05bytes")
  (data (i32.const 0x22e0) "\06a list")
  ;; (kind 8, a map, and kind 9, an ext, are named in $w_got itself.)

  ;; Tensor dtype names by code (ABI.md 5.3), in 8-byte slots starting at slot 1.
  (data (i32.const 0x2308) "\04int8")
  (data (i32.const 0x2310) "\05int16")
  (data (i32.const 0x2318) "\05int32")
  (data (i32.const 0x2320) "\05int64")
  (data (i32.const 0x2328) "\05uint8")
  (data (i32.const 0x2330) "\06uint16")
  (data (i32.const 0x2338) "\06uint32")
  (data (i32.const 0x2340) "\06uint64")
  (data (i32.const 0x2348) "\07float32")
  (data (i32.const 0x2350) "\07float64")
  (data (i32.const 0x2358) "\04bool")

  ;; The size in bytes of one element of each dtype, by code (byte 0 is unused).
  (data (i32.const 0x2360) "\00\01\02\04\08\01\02\04\08\04\08\01")

  ;; ---------------------------------------------------------------------------------------
  ;; 3. Memory: the heap, the argument buffer, the result buffer
  ;; ---------------------------------------------------------------------------------------
  ;; The heap is a bump allocator that never frees. Only two things live on it, and each grows
  ;; by doubling: the argument buffer (mrun_alloc) and the result buffer. A buffer that is the
  ;; last thing on the heap grows where it is; otherwise the old one is abandoned, which wastes
  ;; at most about as much as is in use.

  (global $heap (mut i32) (i32.const 0x10000)) ;; first free byte of the heap
  (global $arg (mut i32) (i32.const 0))        ;; the argument buffer (0: none yet)
  (global $argcap (mut i32) (i32.const 0))     ;; its size
  (global $res (mut i32) (i32.const 0x4000))   ;; the result buffer
  (global $rescap (mut i32) (i32.const 0xc000));; its size, never below 48 KiB
  (global $out (mut i32) (i32.const 0x4000))   ;; the writer's cursor inside the result buffer

  ;; $sbrk returns the address of $n fresh bytes, 8-aligned, growing memory as needed;
  ;; 0 when memory cannot grow that far. All arithmetic is in i64, so nothing wraps.
  (func $sbrk (param $n i64) (result i32)
    (local $p i64) (local $end i64) (local $have i64)
    (local.set $p (i64.and (i64.add (i64.extend_i32_u (global.get $heap)) (i64.const 7))
                           (i64.const -8)))
    (local.set $end (i64.add (local.get $p) (local.get $n)))
    (if (i64.gt_u (local.get $end) (i64.const 0xfff00000))
      (then (return (i32.const 0))))
    (local.set $have (i64.shl (i64.extend_i32_u (memory.size)) (i64.const 16)))
    (if (i64.gt_u (local.get $end) (local.get $have))
      (then
        ;; grow by the number of 64 KiB pages that are missing, rounded up
        (if (i32.eq (memory.grow (i32.wrap_i64
              (i64.shr_u (i64.add (i64.sub (local.get $end) (local.get $have)) (i64.const 0xffff))
                         (i64.const 16))))
              (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (i32.wrap_i64 (local.get $end)))
    (i32.wrap_i64 (local.get $p)))

  ;; mrun_alloc (ABI.md 1.3) hands the host the argument buffer. The host writes every
  ;; argument frame there and asks again only when a frame does not fit; the old buffer then
  ;; comes back to us. 0 means out of memory: the host fails the call.
  (func (export "mrun_alloc") (param $size i32) (result i32)
    (local $cap i64) (local $p i32)
    (if (i32.and (i32.ne (global.get $arg) (i32.const 0))
                 (i32.le_u (local.get $size) (global.get $argcap)))
      (then (return (global.get $arg))))
    ;; The old buffer is ours again: if it is the last thing on the heap, start from it.
    (if (i32.and (i32.ne (global.get $arg) (i32.const 0))
                 (i32.eq (i32.add (global.get $arg) (global.get $argcap)) (global.get $heap)))
      (then (global.set $heap (global.get $arg))))
    ;; at least 64 KiB, at least twice the old size, a multiple of 8
    (local.set $cap (i64.extend_i32_u (local.get $size)))
    (if (i64.lt_u (local.get $cap) (i64.shl (i64.extend_i32_u (global.get $argcap)) (i64.const 1)))
      (then (local.set $cap (i64.shl (i64.extend_i32_u (global.get $argcap)) (i64.const 1)))))
    (if (i64.lt_u (local.get $cap) (i64.const 0x10000))
      (then (local.set $cap (i64.const 0x10000))))
    (local.set $cap (i64.and (i64.add (local.get $cap) (i64.const 7)) (i64.const -8)))
    (local.set $p (call $sbrk (local.get $cap)))
    (if (i32.eqz (local.get $p))
      (then ;; no room for the slack: the exact size may still fit
        (local.set $cap (i64.and (i64.add (i64.extend_i32_u (local.get $size)) (i64.const 7))
                                 (i64.const -8)))
        (local.set $p (call $sbrk (local.get $cap)))))
    (if (i32.eqz (local.get $p))
      (then (global.set $arg (i32.const 0)) (global.set $argcap (i32.const 0))
            (return (i32.const 0))))
    (global.set $arg (local.get $p))
    (global.set $argcap (i32.wrap_i64 (local.get $cap)))
    (local.get $p))

  ;; $reset starts a new frame at the beginning of the result buffer. The host copies a
  ;; result before it calls us again (ABI.md 1.4), so every call reuses the same buffer.
  (func $reset (global.set $out (global.get $res)))

  ;; $ensure makes room for $extra more bytes after the cursor, keeping what is written.
  ;; Returns 0 when memory cannot hold them.
  (func $ensure (param $extra i64) (result i32)
    (local $need i64) (local $cap i64)
    (local.set $need (i64.add (i64.extend_i32_u (i32.sub (global.get $out) (global.get $res)))
                              (local.get $extra)))
    (if (i64.le_u (local.get $need) (i64.extend_i32_u (global.get $rescap)))
      (then (return (i32.const 1))))
    (if (i64.gt_u (local.get $need) (i64.const 0xfff00000))
      (then (return (i32.const 0))))
    (local.set $cap (i64.shl (i64.extend_i32_u (global.get $rescap)) (i64.const 1)))
    (if (i64.lt_u (local.get $cap) (local.get $need))
      (then (local.set $cap (local.get $need))))
    (if (call $grow_res (local.get $cap))
      (then (return (i32.const 1))))
    (call $grow_res (local.get $need)))

  ;; $grow_res gives the result buffer $cap bytes (rounded up to 8), keeping its contents.
  (func $grow_res (param $cap i64) (result i32)
    (local $p i32) (local $used i32)
    (local.set $cap (i64.and (i64.add (local.get $cap) (i64.const 7)) (i64.const -8)))
    (if (i64.gt_u (local.get $cap) (i64.const 0xfff00000))
      (then (return (i32.const 0))))
    (if (i32.eq (i32.add (global.get $res) (global.get $rescap)) (global.get $heap))
      (then ;; last on the heap: extend it in place
        (if (i32.eqz (call $sbrk (i64.sub (local.get $cap) (i64.extend_i32_u (global.get $rescap)))))
          (then (return (i32.const 0))))
        (global.set $rescap (i32.wrap_i64 (local.get $cap)))
        (return (i32.const 1))))
    (local.set $p (call $sbrk (local.get $cap)))
    (if (i32.eqz (local.get $p))
      (then (return (i32.const 0))))
    (local.set $used (i32.sub (global.get $out) (global.get $res)))
    (memory.copy (local.get $p) (global.get $res) (local.get $used))
    (global.set $res (local.get $p))
    (global.set $rescap (i32.wrap_i64 (local.get $cap)))
    (global.set $out (i32.add (local.get $p) (local.get $used)))
    (i32.const 1))

  ;; $reserve starts a new frame with room for $n bytes.
  (func $reserve (param $n i64) (result i32)
    (call $reset)
    (call $ensure (local.get $n)))

  ;; $done returns the frame written since $reset, packed as ABI.md 1.4 wants.
  (func $done (result i64)
    (i64.or (i64.shl (i64.extend_i32_u (global.get $res)) (i64.const 32))
            (i64.extend_i32_u (i32.sub (global.get $out) (global.get $res)))))

  ;; ---------------------------------------------------------------------------------------
  ;; 4. The MessagePack reader
  ;; ---------------------------------------------------------------------------------------
  ;; The reader walks [$rp, $re). $head consumes the header of the next value and returns its
  ;; kind; what the header says is left in the $v* globals:
  ;;
  ;;   kind        $head leaves                         and the cursor is
  ;;   1 nil       -                                    after the value
  ;;   2 bool      $vi = 0 or 1                         after the value
  ;;   3 int       $vi, and $vbig = 1 when the value    after the value
  ;;               is a uint64 above 2^63-1 ($vi holds its bits)
  ;;   4 float     $vf (a float32 is widened)           after the value
  ;;   5 str       $vp, $vn: the bytes                  after the value
  ;;   6 bin       $vp, $vn: the bytes                  after the value
  ;;   7 array     $vn: the number of elements          on the first element
  ;;   8 map       $vn: the number of pairs             on the first key
  ;;   9 ext       $vt: the type, $vp, $vn: the payload after the value
  ;;   0           the bytes are not a value: truncated, a length past the end, or 0xc1
  ;;
  ;; Nothing here trusts a length: each is checked against what is left of the frame.

  (global $K_BAD i32 (i32.const 0))
  (global $K_NIL i32 (i32.const 1))
  (global $K_BOOL i32 (i32.const 2))
  (global $K_INT i32 (i32.const 3))
  (global $K_FLOAT i32 (i32.const 4))
  (global $K_STR i32 (i32.const 5))
  (global $K_BIN i32 (i32.const 6))
  (global $K_ARRAY i32 (i32.const 7))
  (global $K_MAP i32 (i32.const 8))
  (global $K_EXT i32 (i32.const 9))

  (global $rp (mut i32) (i32.const 0))   ;; read cursor
  (global $re (mut i32) (i32.const 0))   ;; end of the frame
  (global $bad (mut i32) (i32.const 0))  ;; set by $be when the frame ends too soon
  (global $vi (mut i64) (i64.const 0))
  (global $vbig (mut i32) (i32.const 0))
  (global $vf (mut f64) (f64.const 0))
  (global $vp (mut i32) (i32.const 0))
  (global $vn (mut i32) (i32.const 0))
  (global $vt (mut i32) (i32.const 0))

  ;; $be reads an $n-byte (1 to 8) big-endian number; MessagePack is big-endian throughout.
  (func $be (param $n i32) (result i64)
    (local $v i64)
    (if (i32.gt_u (local.get $n) (i32.sub (global.get $re) (global.get $rp)))
      (then (global.set $bad (i32.const 1)) (return (i64.const 0))))
    (loop $next
      (local.set $v (i64.or (i64.shl (local.get $v) (i64.const 8))
                            (i64.load8_u (global.get $rp))))
      (global.set $rp (i32.add (global.get $rp) (i32.const 1)))
      (br_if $next (local.tee $n (i32.sub (local.get $n) (i32.const 1)))))
    (local.get $v))

  ;; $payload consumes the $n bytes of a str, bin or ext body.
  (func $payload (param $kind i32) (param $n i32) (result i32)
    (if (global.get $bad)
      (then (return (global.get $K_BAD))))
    (if (i32.gt_u (local.get $n) (i32.sub (global.get $re) (global.get $rp)))
      (then (return (global.get $K_BAD))))
    (global.set $vp (global.get $rp))
    (global.set $vn (local.get $n))
    (global.set $rp (i32.add (global.get $rp) (local.get $n)))
    (local.get $kind))

  ;; $head: see the table above. The first byte of a MessagePack value is its header.
  (func $head (result i32)
    (local $b i32) (local $w i32) (local $v i64)
    (global.set $bad (i32.const 0))
    (if (i32.ge_u (global.get $rp) (global.get $re))
      (then (return (global.get $K_BAD))))
    (local.set $b (i32.load8_u (global.get $rp)))
    (global.set $rp (i32.add (global.get $rp) (i32.const 1)))
    (global.set $vbig (i32.const 0))
    ;; 00-7f positive fixint, e0-ff negative fixint
    (if (i32.le_u (local.get $b) (i32.const 0x7f))
      (then (global.set $vi (i64.extend_i32_u (local.get $b)))
            (return (global.get $K_INT))))
    (if (i32.ge_u (local.get $b) (i32.const 0xe0))
      (then (global.set $vi (i64.sub (i64.extend_i32_u (local.get $b)) (i64.const 256)))
            (return (global.get $K_INT))))
    ;; 80-8f fixmap, 90-9f fixarray, a0-bf fixstr: the low bits are the length
    (if (i32.le_u (local.get $b) (i32.const 0x8f))
      (then (global.set $vn (i32.and (local.get $b) (i32.const 0x0f)))
            (return (global.get $K_MAP))))
    (if (i32.le_u (local.get $b) (i32.const 0x9f))
      (then (global.set $vn (i32.and (local.get $b) (i32.const 0x0f)))
            (return (global.get $K_ARRAY))))
    (if (i32.le_u (local.get $b) (i32.const 0xbf))
      (then (return (call $payload (global.get $K_STR) (i32.and (local.get $b) (i32.const 0x1f))))))
    ;; c0 nil, c1 never used, c2 false, c3 true
    (if (i32.eq (local.get $b) (i32.const 0xc0))
      (then (return (global.get $K_NIL))))
    (if (i32.eq (local.get $b) (i32.const 0xc1))
      (then (return (global.get $K_BAD))))
    (if (i32.le_u (local.get $b) (i32.const 0xc3))
      (then (global.set $vi (i64.extend_i32_u (i32.and (local.get $b) (i32.const 1))))
            (return (global.get $K_BOOL))))
    ;; c4 c5 c6: bin 8/16/32, with a 1, 2 or 4-byte length
    (if (i32.le_u (local.get $b) (i32.const 0xc6))
      (then (return (call $payload (global.get $K_BIN) (i32.wrap_i64
              (call $be (i32.shl (i32.const 1) (i32.sub (local.get $b) (i32.const 0xc4)))))))))
    ;; c7 c8 c9: ext 8/16/32, a length, then a signed type byte
    (if (i32.le_u (local.get $b) (i32.const 0xc9))
      (then
        (local.set $w (i32.wrap_i64
          (call $be (i32.shl (i32.const 1) (i32.sub (local.get $b) (i32.const 0xc7))))))
        (global.set $vt (i32.extend8_s (i32.wrap_i64 (call $be (i32.const 1)))))
        (return (call $payload (global.get $K_EXT) (local.get $w)))))
    ;; ca float32, cb float64: IEEE 754 bits, big-endian
    (if (i32.eq (local.get $b) (i32.const 0xca))
      (then (global.set $vf (f64.promote_f32 (f32.reinterpret_i32 (i32.wrap_i64 (call $be (i32.const 4))))))
            (return (select (global.get $K_BAD) (global.get $K_FLOAT) (global.get $bad)))))
    (if (i32.eq (local.get $b) (i32.const 0xcb))
      (then (global.set $vf (f64.reinterpret_i64 (call $be (i32.const 8))))
            (return (select (global.get $K_BAD) (global.get $K_FLOAT) (global.get $bad)))))
    ;; cc cd ce cf: uint 8/16/32/64
    (if (i32.le_u (local.get $b) (i32.const 0xcf))
      (then (global.set $vi (call $be (i32.shl (i32.const 1) (i32.sub (local.get $b) (i32.const 0xcc)))))
            (global.set $vbig (i64.lt_s (global.get $vi) (i64.const 0)))
            (return (select (global.get $K_BAD) (global.get $K_INT) (global.get $bad)))))
    ;; d0 d1 d2 d3: int 8/16/32/64, two's complement: shift the sign bit to the top and back
    (if (i32.le_u (local.get $b) (i32.const 0xd3))
      (then
        (local.set $w (i32.shl (i32.const 8) (i32.sub (local.get $b) (i32.const 0xd0)))) ;; bits
        (local.set $v (call $be (i32.shr_u (local.get $w) (i32.const 3))))
        (local.set $v (i64.shl (local.get $v) (i64.extend_i32_u (i32.sub (i32.const 64) (local.get $w)))))
        (global.set $vi (i64.shr_s (local.get $v) (i64.extend_i32_u (i32.sub (i32.const 64) (local.get $w)))))
        (return (select (global.get $K_BAD) (global.get $K_INT) (global.get $bad)))))
    ;; d4-d8: fixext 1/2/4/8/16, a type byte and no length
    (if (i32.le_u (local.get $b) (i32.const 0xd8))
      (then
        (global.set $vt (i32.extend8_s (i32.wrap_i64 (call $be (i32.const 1)))))
        (return (call $payload (global.get $K_EXT)
                  (i32.shl (i32.const 1) (i32.sub (local.get $b) (i32.const 0xd4)))))))
    ;; d9 da db: str 8/16/32
    (if (i32.le_u (local.get $b) (i32.const 0xdb))
      (then (return (call $payload (global.get $K_STR) (i32.wrap_i64
              (call $be (i32.shl (i32.const 1) (i32.sub (local.get $b) (i32.const 0xd9)))))))))
    ;; dc dd: array 16/32, de df: map 16/32; the even byte has a 2-byte count, the odd one 4
    (global.set $vn (i32.wrap_i64 (call $be
      (select (i32.const 4) (i32.const 2) (i32.and (local.get $b) (i32.const 1))))))
    (if (global.get $bad)
      (then (return (global.get $K_BAD))))
    (select (global.get $K_ARRAY) (global.get $K_MAP) (i32.le_u (local.get $b) (i32.const 0xdd))))

  ;; $reserved_ext says whether ext type $t may not appear in a result (ABI.md 5.1):
  ;; 1 to 3 (Objects) and 5 to 15 (reserved). 4 is a tensor, a value.
  (func $reserved_ext (param $t i32) (result i32)
    (i32.and (i32.and (i32.ge_s (local.get $t) (i32.const 1)) (i32.le_s (local.get $t) (i32.const 15)))
             (i32.ne (local.get $t) (i32.const 4))))

;; $skip moves the cursor past one whole value, however deeply nested, without recursion.
  ;; $left counts the values still to skip in the container being walked; entering a container
  ;; pushes that count on a stack in memory ($STACK, one i64 per level) and starts counting
  ;; the container's elements; a count that reaches zero pops the level above. Returns
  ;;   1  done: the cursor is after the value
  ;;   0  the bytes are not one well-formed value
  ;;   4  containers nest 512 deep, which no frame may (ABI.md 4): the host never sends
  ;;      such a frame, and a value read from a frame it sent is always shallow enough to
  ;;      be returned
  ;; and, with $strict, which checks what a result may hold (ABI.md 4 and 5.1):
  ;;   2  a reserved ext type ($vt says which)
  ;;   3  a malformed tensor
  (func $skip (param $strict i32) (result i32)
    (local $left i64) (local $depth i32) (local $k i32) (local $n i64)
    (local.set $left (i64.const 1))
    (block $done
     (loop $next
      ;; leave every container whose elements are all skipped
      (block $ready
        (loop $pop
          (br_if $ready (i64.ne (local.get $left) (i64.const 0)))
          (br_if $done (i32.eqz (local.get $depth)))
          (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
          (local.set $left (i64.load (i32.add (global.get $STACK) (i32.shl (local.get $depth) (i32.const 3)))))
          (br $pop)))
      (local.set $k (call $head))
      (if (i32.eqz (local.get $k))
        (then (return (i32.const 0))))
      (local.set $left (i64.sub (local.get $left) (i64.const 1)))
      (if (i32.and (local.get $strict) (i32.eq (local.get $k) (global.get $K_EXT)))
        (then
          (if (call $reserved_ext (global.get $vt))
            (then (return (i32.const 2))))
          (if (i32.eq (global.get $vt) (i32.const 4))
            (then (if (i32.eqz (call $tensor (global.get $vp) (global.get $vn)))
              (then (return (i32.const 3))))))))
      (if (i32.or (i32.eq (local.get $k) (global.get $K_ARRAY)) (i32.eq (local.get $k) (global.get $K_MAP)))
        (then
          (if (i32.ge_u (local.get $depth) (i32.const 512))
            (then (return (i32.const 4))))
          (local.set $n (i64.extend_i32_u (global.get $vn)))
          (if (i32.eq (local.get $k) (global.get $K_MAP))
            (then (local.set $n (i64.shl (local.get $n) (i64.const 1)))))
          ;; every value takes at least one byte: a count larger than what is left is a lie
          (if (i64.gt_u (local.get $n) (i64.extend_i32_u (i32.sub (global.get $re) (global.get $rp))))
            (then (return (i32.const 0))))
          (if (i64.ne (local.get $n) (i64.const 0))
            (then
              (i64.store (i32.add (global.get $STACK) (i32.shl (local.get $depth) (i32.const 3))) (local.get $left))
              (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
              (local.set $left (local.get $n))))))
      (br $next)))
    (i32.const 1))

  ;; $num reads the next value as a number: an int or a float becomes the float64 $vf.
  ;; Returns the kind, so that a caller can say what it found instead.
  (func $num (result i32)
    (local $k i32)
    (local.set $k (call $head))
    (if (i32.eq (local.get $k) (global.get $K_INT))
      (then (global.set $vf (select (f64.convert_i64_u (global.get $vi))
                                    (f64.convert_i64_s (global.get $vi))
                                    (global.get $vbig)))))
    (local.get $k))

  ;; $eq compares the bytes [$p, $p + $n) with the length-prefixed string $s.
  (func $eq (param $p i32) (param $n i32) (param $s i32) (result i32)
    (local $i i32)
    (if (i32.ne (local.get $n) (i32.load8_u (local.get $s)))
      (then (return (i32.const 0))))
    (block $equal
      (loop $next
        (br_if $equal (i32.ge_u (local.get $i) (local.get $n)))
        (if (i32.ne (i32.load8_u (i32.add (local.get $p) (local.get $i)))
                    (i32.load8_u (i32.add (i32.add (local.get $s) (i32.const 1)) (local.get $i))))
          (then (return (i32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 1))

  ;; ---------------------------------------------------------------------------------------
  ;; 5. The MessagePack writer
  ;; ---------------------------------------------------------------------------------------
  ;; The writer appends at $out without checking room: every function first reserves the
  ;; largest frame it can write ($reserve), or writes less than the 48 KiB the result buffer
  ;; always has. Headers use the shortest form, as in the canonical form of ABI.md 5.2.

  (func $w8 (param $b i32)
    (i32.store8 (global.get $out) (local.get $b))
    (global.set $out (i32.add (global.get $out) (i32.const 1))))

  ;; $w_be appends the low $n bytes of $v, big-endian.
  (func $w_be (param $v i64) (param $n i32)
    (local $i i32)
    (local.set $i (local.get $n))
    (loop $next
      (local.set $i (i32.sub (local.get $i) (i32.const 1)))
      (i32.store8 (i32.add (global.get $out) (i32.sub (i32.sub (local.get $n) (i32.const 1)) (local.get $i)))
                  (i32.wrap_i64 (i64.shr_u (local.get $v) (i64.extend_i32_u (i32.shl (local.get $i) (i32.const 3))))))
      (br_if $next (local.get $i)))
    (global.set $out (i32.add (global.get $out) (local.get $n))))

  ;; $w_le64 appends $v as 8 little-endian bytes (tensor shapes). WebAssembly is little-endian.
  (func $w_le64 (param $v i64)
    (i64.store (global.get $out) (local.get $v))
    (global.set $out (i32.add (global.get $out) (i32.const 8))))

  (func $w_bytes (param $p i32) (param $n i32)
    (memory.copy (global.get $out) (local.get $p) (local.get $n))
    (global.set $out (i32.add (global.get $out) (local.get $n))))

  ;; $w_s appends the length-prefixed string $s (its bytes, not a MessagePack str).
  (func $w_s (param $s i32)
    (call $w_bytes (i32.add (local.get $s) (i32.const 1)) (i32.load8_u (local.get $s))))

  ;; $w_clip appends at most 200 bytes of [$p, $p + $n), then "..." if it cut: for echoing
  ;; caller-supplied names inside error messages of bounded size.
  (func $w_clip (param $p i32) (param $n i32)
    (if (i32.le_u (local.get $n) (i32.const 200))
      (then (call $w_bytes (local.get $p) (local.get $n)) (return)))
    (call $w_bytes (local.get $p) (i32.const 200))
    (call $w_s (global.get $s_ellipsis)))

  ;; $w_uint appends $v (read as unsigned) as the shortest MessagePack integer.
  (func $w_uint (param $v i64)
    (if (i64.lt_u (local.get $v) (i64.const 0x80))
      (then (call $w8 (i32.wrap_i64 (local.get $v))) (return)))
    (if (i64.lt_u (local.get $v) (i64.const 0x100))
      (then (call $w8 (i32.const 0xcc)) (call $w_be (local.get $v) (i32.const 1)) (return)))
    (if (i64.lt_u (local.get $v) (i64.const 0x10000))
      (then (call $w8 (i32.const 0xcd)) (call $w_be (local.get $v) (i32.const 2)) (return)))
    (if (i64.lt_u (local.get $v) (i64.const 0x100000000))
      (then (call $w8 (i32.const 0xce)) (call $w_be (local.get $v) (i32.const 4)) (return)))
    (call $w8 (i32.const 0xcf)) (call $w_be (local.get $v) (i32.const 8)))

  ;; $w_int appends the signed $v as the shortest MessagePack integer: non-negative values
  ;; as unsigned ones, negative values as negative fixint or int 8/16/32/64.
  (func $w_int (param $v i64)
    (if (i64.ge_s (local.get $v) (i64.const 0))
      (then (call $w_uint (local.get $v)) (return)))
    (if (i64.ge_s (local.get $v) (i64.const -32))
      (then (call $w8 (i32.wrap_i64 (local.get $v))) (return)))
    (if (i64.ge_s (local.get $v) (i64.const -0x80))
      (then (call $w8 (i32.const 0xd0)) (call $w_be (local.get $v) (i32.const 1)) (return)))
    (if (i64.ge_s (local.get $v) (i64.const -0x8000))
      (then (call $w8 (i32.const 0xd1)) (call $w_be (local.get $v) (i32.const 2)) (return)))
    (if (i64.ge_s (local.get $v) (i64.const -0x80000000))
      (then (call $w8 (i32.const 0xd2)) (call $w_be (local.get $v) (i32.const 4)) (return)))
    (call $w8 (i32.const 0xd3)) (call $w_be (local.get $v) (i32.const 8)))

  ;; $w_f64 appends a float64: cb, then the IEEE 754 bits big-endian (NaN payloads kept).
  (func $w_f64 (param $f f64)
    (call $w8 (i32.const 0xcb))
    (call $w_be (i64.reinterpret_f64 (local.get $f)) (i32.const 8)))

  (func $w_str_hdr (param $n i32)
    (if (i32.lt_u (local.get $n) (i32.const 32))
      (then (call $w8 (i32.or (i32.const 0xa0) (local.get $n))) (return)))
    (if (i32.lt_u (local.get $n) (i32.const 0x100))
      (then (call $w8 (i32.const 0xd9)) (call $w8 (local.get $n)) (return)))
    (if (i32.lt_u (local.get $n) (i32.const 0x10000))
      (then (call $w8 (i32.const 0xda)) (call $w_be (i64.extend_i32_u (local.get $n)) (i32.const 2)) (return)))
    (call $w8 (i32.const 0xdb)) (call $w_be (i64.extend_i32_u (local.get $n)) (i32.const 4)))

  (func $w_bin_hdr (param $n i32)
    (if (i32.lt_u (local.get $n) (i32.const 0x100))
      (then (call $w8 (i32.const 0xc4)) (call $w8 (local.get $n)) (return)))
    (if (i32.lt_u (local.get $n) (i32.const 0x10000))
      (then (call $w8 (i32.const 0xc5)) (call $w_be (i64.extend_i32_u (local.get $n)) (i32.const 2)) (return)))
    (call $w8 (i32.const 0xc6)) (call $w_be (i64.extend_i32_u (local.get $n)) (i32.const 4)))

  (func $w_arr_hdr (param $n i32)
    (if (i32.lt_u (local.get $n) (i32.const 16))
      (then (call $w8 (i32.or (i32.const 0x90) (local.get $n))) (return)))
    (if (i32.lt_u (local.get $n) (i32.const 0x10000))
      (then (call $w8 (i32.const 0xdc)) (call $w_be (i64.extend_i32_u (local.get $n)) (i32.const 2)) (return)))
    (call $w8 (i32.const 0xdd)) (call $w_be (i64.extend_i32_u (local.get $n)) (i32.const 4)))

  ;; $w_ext_hdr: payloads of 1, 2, 4, 8 and 16 bytes have fixext forms without a length.
  (func $w_ext_hdr (param $n i32) (param $type i32)
    (block $sized
      (if (i32.eq (local.get $n) (i32.const 1)) (then (call $w8 (i32.const 0xd4)) (br $sized)))
      (if (i32.eq (local.get $n) (i32.const 2)) (then (call $w8 (i32.const 0xd5)) (br $sized)))
      (if (i32.eq (local.get $n) (i32.const 4)) (then (call $w8 (i32.const 0xd6)) (br $sized)))
      (if (i32.eq (local.get $n) (i32.const 8)) (then (call $w8 (i32.const 0xd7)) (br $sized)))
      (if (i32.eq (local.get $n) (i32.const 16)) (then (call $w8 (i32.const 0xd8)) (br $sized)))
      (if (i32.lt_u (local.get $n) (i32.const 0x100))
        (then (call $w8 (i32.const 0xc7)) (call $w8 (local.get $n)) (br $sized)))
      (if (i32.lt_u (local.get $n) (i32.const 0x10000))
        (then (call $w8 (i32.const 0xc8)) (call $w_be (i64.extend_i32_u (local.get $n)) (i32.const 2)) (br $sized)))
      (call $w8 (i32.const 0xc9)) (call $w_be (i64.extend_i32_u (local.get $n)) (i32.const 4)))
    (call $w8 (local.get $type)))

  ;; $w_handle appends a handle as a spawn argument: ext 2 with a 4-byte big-endian payload
  ;; (ABI.md 5.1). The child receives the Object's value in its place.
  (func $w_handle (param $h i32)
    (call $w8 (i32.const 0xd6)) (call $w8 (i32.const 2))
    (call $w_be (i64.extend_i32_u (local.get $h)) (i32.const 4)))

  ;; $w_dec appends $v in decimal, as text (for messages); $w_dec_u reads it as unsigned.
  (func $w_dec_u (param $v i64)
    (local $p i32)
    (local.set $p (i32.add (global.get $DIGITS) (i32.const 24)))
    (loop $next
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $v) (i64.const 10)))))
      (local.set $v (i64.div_u (local.get $v) (i64.const 10)))
      (br_if $next (i64.ne (local.get $v) (i64.const 0))))
    (call $w_bytes (local.get $p) (i32.sub (i32.add (global.get $DIGITS) (i32.const 24)) (local.get $p))))

  (func $w_dec (param $v i64)
    (if (i64.lt_s (local.get $v) (i64.const 0))
      (then (call $w8 (i32.const 0x2d)) ;; '-'; -(-2^63) is 2^63 read as unsigned
            (local.set $v (i64.sub (i64.const 0) (local.get $v)))))
    (call $w_dec_u (local.get $v)))

  ;; ---------------------------------------------------------------------------------------
  ;; 6. Errors
  ;; ---------------------------------------------------------------------------------------
  ;; A message is written into the result buffer like a frame (its 48 KiB always hold one:
  ;; caller-supplied text is clipped) and handed to set_error, which copies it at once.
  ;; The function then returns 0: after set_error the host ignores the return value.

  ;; $err_begin starts a message with "<fn>: ".
  (func $err_begin (param $fn i32)
    (call $reset)
    (call $w_s (local.get $fn))
    (call $w_s (global.get $s_colon)))

  ;; $err_set makes the message written since $err_begin the call's error.
  (func $err_set
    (call $set_error (global.get $res) (i32.sub (global.get $out) (global.get $res))))

  ;; $err_arg starts "<fn>: argument <i> (<name>): ".
  (func $err_arg (param $fn i32) (param $i i32) (param $name i32)
    (call $err_begin (local.get $fn))
    (call $w_s (global.get $s_argument))
    (call $w_dec (i64.extend_i32_u (local.get $i)))
    (call $w_s (global.get $s_open))
    (call $w_s (local.get $name))
    (call $w_s (global.get $s_close)))

  ;; $w_got names what a value of kind $k is ("a str", "a tensor", ...).
  (func $w_got (param $k i32)
    (if (i32.eq (local.get $k) (global.get $K_MAP))
      (then (call $w_s (global.get $s_a_map)) (return)))
    (if (i32.eq (local.get $k) (global.get $K_EXT))
      (then
        (if (i32.eq (global.get $vt) (i32.const 4)) (then (call $w_s (global.get $s_a_tensor)) (return)))
        (if (i32.eq (global.get $vt) (i32.const 2)) (then (call $w_s (global.get $s_a_handle)) (return)))
        (call $w_s (global.get $s_an_ext))
        (return)))
    (call $w_s (i32.add (global.get $KINDS) (i32.shl (local.get $k) (i32.const 5)))))

  ;; $type_error: "<fn>: argument <i> (<name>): want <want>, got <kind>".
  (func $type_error (param $fn i32) (param $i i32) (param $name i32) (param $want i32) (param $k i32)
    (call $err_arg (local.get $fn) (local.get $i) (local.get $name))
    (call $w_s (global.get $s_want))
    (call $w_s (local.get $want))
    (call $w_s (global.get $s_got))
    (call $w_got (local.get $k))
    (call $err_set))

  ;; $fail_msg fails the call with "<fn>: <msg>". Returns 0, for br_if.
  (func $fail_msg (param $fn i32) (param $msg i32) (result i32)
    (call $err_begin (local.get $fn))
    (call $w_s (local.get $msg))
    (call $err_set)
    (i32.const 0))

  ;; $w_last_error appends the text of the last failed spawn, execute or fetch of this call.
  ;; last_error copies only when the whole text fits, so ask for its length first.
  (func $w_last_error
    (local $n i32)
    (local.set $n (call $last_error (i32.const 0) (i32.const 0)))
    (if (i32.eqz (call $ensure (i64.extend_i32_u (local.get $n))))
      (then (call $w_s (global.get $s_too_long)) (return)))
    (drop (call $last_error (global.get $out) (local.get $n)))
    (global.set $out (i32.add (global.get $out) (local.get $n))))

  ;; $fail_host fails the call after a nested import returned an error code:
  ;; "<fn>: <what><child> failed: <last_error>". $child may be 0 (none).
  (func $fail_host (param $fn i32) (param $what i32) (param $child i32) (result i32)
    (call $err_begin (local.get $fn))
    (call $w_s (local.get $what))
    (if (local.get $child) (then (call $w_s (local.get $child))))
    (call $w_s (global.get $s_failed))
    (call $w_last_error)
    (call $err_set)
    (i32.const 0))

  ;; $fail_child fails the call because the child Object $h failed (fetch returned -2):
  ;; "<fn>: <the child's error chain>", through fail_with, so the host records the child's
  ;; error as the cause (ABI.md 2.1).
  (func $fail_child (param $fn i32) (param $h i32) (result i32)
    (call $err_begin (local.get $fn))
    (call $w_last_error)
    (call $fail_with (local.get $h) (global.get $res) (i32.sub (global.get $out) (global.get $res)))
    (i32.const 0))

  ;; ---------------------------------------------------------------------------------------
  ;; 7. The argument frame
  ;; ---------------------------------------------------------------------------------------
  ;; ABI.md 3: the frame is [positional, keyword], an array of the positional arguments and a
  ;; map of the keyword ones. $args checks the whole frame once, then leaves the cursor on the
  ;; first positional argument; the $arg_* readers take the arguments one after the other.

  (global $npos (mut i32) (i32.const 0)) ;; number of positional arguments
  (global $pos (mut i32) (i32.const 0))  ;; where the first one starts
  (global $nkw (mut i32) (i32.const 0))  ;; number of keyword arguments
  (global $kwp (mut i32) (i32.const 0))  ;; where the first keyword (a str) starts

  ;; $args checks the frame [$p, $p + $n) of function $fn, which takes exactly $want
  ;; positional arguments, and keyword arguments only if $kw. Returns 1, or 0 after
  ;; set_error.
  (func $args (param $p i32) (param $n i32) (param $fn i32) (param $want i32) (param $kw i32) (result i32)
    (local $mark i32)
    (global.set $rp (local.get $p))
    (global.set $re (i32.add (local.get $p) (local.get $n)))
    (block $malformed
      (br_if $malformed (i32.lt_u (global.get $re) (global.get $rp)))
      (br_if $malformed (i32.ne (call $head) (global.get $K_ARRAY)))
      (br_if $malformed (i32.ne (global.get $vn) (i32.const 2)))
      ;; positional: note where it starts, then skip it whole
      (local.set $mark (global.get $rp))
      (br_if $malformed (i32.ne (call $head) (global.get $K_ARRAY)))
      (global.set $npos (global.get $vn))
      (global.set $pos (global.get $rp))
      (global.set $rp (local.get $mark))
      (br_if $malformed (i32.ne (call $skip (i32.const 0)) (i32.const 1)))
      ;; keyword: the same
      (local.set $mark (global.get $rp))
      (br_if $malformed (i32.ne (call $head) (global.get $K_MAP)))
      (global.set $nkw (global.get $vn))
      (global.set $kwp (global.get $rp))
      (global.set $rp (local.get $mark))
      (br_if $malformed (i32.ne (call $skip (i32.const 0)) (i32.const 1)))
      (br_if $malformed (i32.ne (global.get $rp) (global.get $re))) ;; no trailing bytes
      (if (i32.ne (global.get $npos) (local.get $want))
        (then (call $arity_error (local.get $fn) (local.get $want)) (return (i32.const 0))))
      (if (i32.and (i32.eqz (local.get $kw)) (i32.ne (global.get $nkw) (i32.const 0)))
        (then
          (global.set $rp (global.get $kwp))
          (drop (call $head))
          (call $unexpected_kw (local.get $fn))
          (return (i32.const 0))))
      (global.set $rp (global.get $pos))
      (return (i32.const 1)))
    (call $fail_msg (local.get $fn) (global.get $s_malformed)))

  ;; $arity_error: "<fn>: takes 2 positional arguments but 1 was given", as Python says it.
  (func $arity_error (param $fn i32) (param $want i32)
    (call $err_begin (local.get $fn))
    (call $w_s (global.get $s_takes))
    (if (i32.eqz (local.get $want))
      (then (call $w_s (global.get $s_no_pos)))
      (else
        (call $w_dec (i64.extend_i32_u (local.get $want)))
        (call $w_s (select (global.get $s_pos1) (global.get $s_posn) (i32.eq (local.get $want) (i32.const 1))))))
    (call $w_s (global.get $s_but))
    (call $w_dec (i64.extend_i32_u (global.get $npos)))
    (call $w_s (select (global.get $s_was) (global.get $s_were) (i32.eq (global.get $npos) (i32.const 1))))
    (call $err_set))

  ;; $unexpected_kw: "<fn>: unexpected keyword argument 'k'", for the key $head just read.
  (func $unexpected_kw (param $fn i32)
    (call $err_begin (local.get $fn))
    (call $w_s (global.get $s_unexpected_kw))
    (call $w_s (global.get $s_quote))
    (call $w_clip (global.get $vp) (global.get $vn))
    (call $w_s (global.get $s_quote))
    (call $err_set))

  ;; The typed readers below take the next positional argument, number $i, named $name, of
  ;; function $fn. Each returns 1 with the value in the $v* globals, or 0 after set_error.

  ;; $arg_int: an integer that fits in int64, in $vi.
  (func $arg_int (param $fn i32) (param $i i32) (param $name i32) (result i32)
    (local $k i32)
    (local.set $k (call $head))
    (if (i32.ne (local.get $k) (global.get $K_INT))
      (then (call $type_error (local.get $fn) (local.get $i) (local.get $name) (global.get $s_an_int) (local.get $k))
            (return (i32.const 0))))
    (if (global.get $vbig)
      (then (call $err_arg (local.get $fn) (local.get $i) (local.get $name))
            (call $w_dec_u (global.get $vi))
            (call $w_s (global.get $s_not_int64))
            (call $err_set)
            (return (i32.const 0))))
    (i32.const 1))

  ;; $arg_float: a float, or an int converted to float64, in $vf.
  (func $arg_float (param $fn i32) (param $i i32) (param $name i32) (result i32)
    (local $k i32)
    (local.set $k (call $num))
    (if (i32.or (i32.eq (local.get $k) (global.get $K_INT)) (i32.eq (local.get $k) (global.get $K_FLOAT)))
      (then (return (i32.const 1))))
    (call $type_error (local.get $fn) (local.get $i) (local.get $name) (global.get $s_a_float) (local.get $k))
    (i32.const 0))

  ;; $arg_kind: a value of kind $want ($what names it for the message): str, bin or array.
  (func $arg_kind (param $fn i32) (param $i i32) (param $name i32) (param $want i32) (param $what i32) (result i32)
    (local $k i32)
    (local.set $k (call $head))
    (if (i32.eq (local.get $k) (local.get $want))
      (then (return (i32.const 1))))
    (call $type_error (local.get $fn) (local.get $i) (local.get $name) (local.get $what) (local.get $k))
    (i32.const 0))

  (func $arg_str (param $fn i32) (param $i i32) (param $name i32) (result i32)
    (call $arg_kind (local.get $fn) (local.get $i) (local.get $name) (global.get $K_STR) (global.get $s_a_str)))

  (func $arg_bin (param $fn i32) (param $i i32) (param $name i32) (result i32)
    (call $arg_kind (local.get $fn) (local.get $i) (local.get $name) (global.get $K_BIN) (global.get $s_bytes)))

  (func $arg_list (param $fn i32) (param $i i32) (param $name i32) (result i32)
    (call $arg_kind (local.get $fn) (local.get $i) (local.get $name) (global.get $K_ARRAY) (global.get $s_a_list)))

;; A tensor (ABI.md 5.3) is ext type 4 whose payload is
  ;;   dtype u8 | ndim u8 | 6 zero bytes | ndim u64 LE sizes | the elements, row-major, LE
  ;; $tensor checks the payload [$p, $p + $n) by the rules the host applies, and leaves,
  ;; without copying anything:
  (global $tdtype (mut i32) (i32.const 0))  ;; dtype code, 1 to 11
  (global $tndim (mut i32) (i32.const 0))   ;; number of dimensions, 0 to 32
  (global $tshape (mut i32) (i32.const 0))  ;; address of the sizes (u64 LE each)
  (global $tdata (mut i32) (i32.const 0))   ;; address of the first element
  (global $tcount (mut i32) (i32.const 0))  ;; number of elements, below 2^32
  ;; Returns 1, or 0 if the payload is not a valid tensor.
  (func $tensor (param $p i32) (param $n i32) (result i32)
    (local $ndim i32) (local $head i32) (local $d i32) (local $size i64) (local $count i64)
    (if (i32.lt_u (local.get $n) (i32.const 8))
      (then (return (i32.const 0))))
    (global.set $tdtype (i32.load8_u (local.get $p)))
    (if (i32.or (i32.lt_u (global.get $tdtype) (i32.const 1)) (i32.gt_u (global.get $tdtype) (i32.const 11)))
      (then (return (i32.const 0))))
    (local.set $ndim (i32.load8_u offset=1 (local.get $p)))
    (if (i32.gt_u (local.get $ndim) (i32.const 32))
      (then (return (i32.const 0))))
    ;; bytes 2 to 7 are zero: the top 48 bits of the first 8 bytes read little-endian
    (if (i64.ne (i64.shr_u (i64.load (local.get $p)) (i64.const 16)) (i64.const 0))
      (then (return (i32.const 0))))
    (local.set $head (i32.add (i32.const 8) (i32.shl (local.get $ndim) (i32.const 3))))
    (if (i32.lt_u (local.get $n) (local.get $head))
      (then (return (i32.const 0))))
    ;; every size, and the running product, stay below 2^32, so the product never overflows
    (local.set $count (i64.const 1))
    (block $sized
      (loop $next
        (br_if $sized (i32.ge_u (local.get $d) (local.get $ndim)))
        (local.set $size (i64.load offset=8 (i32.add (local.get $p) (i32.shl (local.get $d) (i32.const 3)))))
        (if (i64.gt_u (local.get $size) (i64.const 0xffffffff))
          (then (return (i32.const 0))))
        (local.set $count (i64.mul (local.get $count) (local.get $size)))
        (if (i64.gt_u (local.get $count) (i64.const 0xffffffff))
          (then (return (i32.const 0))))
        (local.set $d (i32.add (local.get $d) (i32.const 1)))
        (br $next)))
    ;; the elements take exactly count times the element size
    (if (i64.ne (i64.mul (local.get $count) (i64.load8_u (i32.add (global.get $ESIZE) (global.get $tdtype))))
                (i64.extend_i32_u (i32.sub (local.get $n) (local.get $head))))
      (then (return (i32.const 0))))
    (global.set $tndim (local.get $ndim))
    (global.set $tshape (i32.add (local.get $p) (i32.const 8)))
    (global.set $tdata (i32.add (local.get $p) (local.get $head)))
    (global.set $tcount (i32.wrap_i64 (local.get $count)))
    (i32.const 1))

  ;; $arg_tensor takes a float64 tensor, described by the $t* globals.
  ;; Its elements are read in place: a WebAssembly load has no alignment requirement (its
  ;; align immediate is only a hint), so even a payload at an odd address is read correctly,
  ;; and there is nothing to gain from copying it first.
  (func $arg_tensor (param $fn i32) (param $i i32) (param $name i32) (result i32)
    (local $k i32)
    (local.set $k (call $head))
    (if (i32.or (i32.ne (local.get $k) (global.get $K_EXT)) (i32.ne (global.get $vt) (i32.const 4)))
      (then (call $type_error (local.get $fn) (local.get $i) (local.get $name) (global.get $s_f64_tensor) (local.get $k))
            (return (i32.const 0))))
    (if (i32.eqz (call $tensor (global.get $vp) (global.get $vn)))
      (then (call $err_arg (local.get $fn) (local.get $i) (local.get $name))
            (call $w_s (global.get $s_bad_tensor))
            (call $err_set)
            (return (i32.const 0))))
    (if (i32.ne (global.get $tdtype) (i32.const 10)) ;; 10 is float64
      (then ;; "want a float64 tensor, got a tensor of dtype int32"
        (call $err_arg (local.get $fn) (local.get $i) (local.get $name))
        (call $w_s (global.get $s_want))
        (call $w_s (global.get $s_f64_tensor))
        (call $w_s (global.get $s_got))
        (call $w_s (global.get $s_tensor_of))
        (call $w_s (i32.add (global.get $DTYPES) (i32.shl (global.get $tdtype) (i32.const 3))))
        (call $err_set)
        (return (i32.const 0))))
    (i32.const 1))

  ;; ---------------------------------------------------------------------------------------
  ;; 8a. Values
  ;; ---------------------------------------------------------------------------------------

  ;; inc(x int) -> x + 1
  (func (export "mrun_fn_inc") (param $p i32) (param $n i32) (result i64)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_inc) (i32.const 1) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_int (global.get $s_inc) (i32.const 1) (global.get $s_x))))
      (br_if $fail (i32.eqz (if (result i32) (i64.eq (global.get $vi) (i64.const 0x7fffffffffffffff))
        (then (call $fail_msg (global.get $s_inc) (global.get $s_inc_overflow)))
        (else (i32.const 1)))))
      (call $reset)
      (call $w_int (i64.add (global.get $vi) (i64.const 1)))
      (return (call $done)))
    (i64.const 0))

  ;; add(a int, b int) -> a + b
  (func $add (export "mrun_fn_add") (param $p i32) (param $n i32) (result i64)
    (local $a i64) (local $s i64)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_add) (i32.const 2) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_int (global.get $s_add) (i32.const 1) (global.get $s_a))))
      (local.set $a (global.get $vi))
      (br_if $fail (i32.eqz (call $arg_int (global.get $s_add) (i32.const 2) (global.get $s_b))))
      (local.set $s (i64.add (local.get $a) (global.get $vi)))
      ;; signed overflow: both operands have the same sign and the sum the other one
      (br_if $fail (i32.eqz (if (result i32) (i64.lt_s (i64.and (i64.xor (local.get $a) (local.get $s))
                                                               (i64.xor (global.get $vi) (local.get $s)))
                                                       (i64.const 0))
        (then (call $fail_msg (global.get $s_add) (global.get $s_add_overflow)))
        (else (i32.const 1)))))
      (call $reset)
      (call $w_int (local.get $s))
      (return (call $done)))
    (i64.const 0))

  ;; fail(msg str): the call fails with msg, verbatim. set_error copies it out of the
  ;; argument buffer at once.
  (func (export "mrun_fn_fail") (param $p i32) (param $n i32) (result i64)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_fail) (i32.const 1) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_str (global.get $s_fail) (i32.const 1) (global.get $s_msg))))
      (call $set_error (global.get $vp) (global.get $vn)))
    (i64.const 0))

  ;; nothing() -> nil
  (func (export "mrun_fn_nothing") (param $p i32) (param $n i32) (result i64)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_nothing) (i32.const 0) (i32.const 0))))
      (call $reset)
      (call $w8 (i32.const 0xc0))
      (return (call $done)))
    (i64.const 0))

  ;; empties() -> ["", b"", [], {}]  =  94 a0 c4 00 90 80
  (func (export "mrun_fn_empties") (param $p i32) (param $n i32) (result i64)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_empties) (i32.const 0) (i32.const 0))))
      (call $reset)
      (call $w8 (i32.const 0x94))
      (call $w8 (i32.const 0xa0))
      (call $w8 (i32.const 0xc4)) (call $w8 (i32.const 0x00))
      (call $w8 (i32.const 0x90))
      (call $w8 (i32.const 0x80))
      (return (call $done)))
    (i64.const 0))

  ;; identity(v) -> v. The generic value of a MessagePack guest is the byte range of the
  ;; value: $skip checks that it is one well-formed value that a result may hold (no handle,
  ;; no reserved ext type), and the bytes are copied to the result as they are.
  (func (export "mrun_fn_identity") (param $p i32) (param $n i32) (result i64)
    (local $start i32) (local $r i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_identity) (i32.const 1) (i32.const 0))))
      (local.set $start (global.get $rp))
      (local.set $r (call $skip (i32.const 1)))
      (if (i32.eq (local.get $r) (i32.const 2))
        (then
          (call $err_arg (global.get $s_identity) (i32.const 1) (global.get $s_v))
          (call $w_s (global.get $s_holds_ext))
          (call $w_dec (i64.extend_i32_s (global.get $vt)))
          (call $w_s (global.get $s_not_result))
          (call $err_set)
          (br $fail)))
      (if (i32.eq (local.get $r) (i32.const 3))
        (then
          (call $err_arg (global.get $s_identity) (i32.const 1) (global.get $s_v))
          (call $w_s (global.get $s_holds_bad_tensor))
          (call $err_set)
          (br $fail)))
      (br_if $fail (i32.eqz (if (result i32) (i32.eq (local.get $r) (i32.const 1))
        (then (i32.const 1))
        (else (call $fail_msg (global.get $s_identity) (global.get $s_malformed))))))
      (br_if $fail (i32.eqz (if (result i32) (call $reserve (i64.extend_i32_u (i32.sub (global.get $rp) (local.get $start))))
        (then (i32.const 1))
        (else (call $fail_msg (global.get $s_identity) (global.get $s_oom))))))
      (call $w_bytes (local.get $start) (i32.sub (global.get $rp) (local.get $start)))
      (return (call $done)))
    (i64.const 0))

  ;; concat(a str, b str) -> a + b
  (func (export "mrun_fn_concat") (param $p i32) (param $n i32) (result i64)
    (local $ap i32) (local $an i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_concat) (i32.const 2) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_str (global.get $s_concat) (i32.const 1) (global.get $s_a))))
      (local.set $ap (global.get $vp))
      (local.set $an (global.get $vn))
      (br_if $fail (i32.eqz (call $arg_str (global.get $s_concat) (i32.const 2) (global.get $s_b))))
      ;; both strings are inside one frame, so their total length fits in 32 bits
      (br_if $fail (i32.eqz (if (result i32) (call $reserve (i64.add (i64.extend_i32_u (i32.add (local.get $an) (global.get $vn))) (i64.const 5)))
        (then (i32.const 1))
        (else (call $fail_msg (global.get $s_concat) (global.get $s_oom))))))
      (call $w_str_hdr (i32.add (local.get $an) (global.get $vn)))
      (call $w_bytes (local.get $ap) (local.get $an))
      (call $w_bytes (global.get $vp) (global.get $vn))
      (return (call $done)))
    (i64.const 0))

  ;; rev_bytes(b bytes) -> the bytes of b in reverse order
  (func (export "mrun_fn_rev_bytes") (param $p i32) (param $n i32) (result i64)
    (local $src i32) (local $dst i32) (local $end i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_rev_bytes) (i32.const 1) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_bin (global.get $s_rev_bytes) (i32.const 1) (global.get $s_b))))
      (br_if $fail (i32.eqz (if (result i32) (call $reserve (i64.add (i64.extend_i32_u (global.get $vn)) (i64.const 5)))
        (then (i32.const 1))
        (else (call $fail_msg (global.get $s_rev_bytes) (global.get $s_oom))))))
      (call $w_bin_hdr (global.get $vn))
      (local.set $dst (global.get $out))
      (local.set $end (i32.add (global.get $out) (global.get $vn)))
      (local.set $src (i32.add (global.get $vp) (global.get $vn)))
      (block $done
        (loop $next
          (br_if $done (i32.ge_u (local.get $dst) (local.get $end)))
          (local.set $src (i32.sub (local.get $src) (i32.const 1)))
          (i32.store8 (local.get $dst) (i32.load8_u (local.get $src)))
          (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
          (br $next)))
      (global.set $out (local.get $end))
      (return (call $done)))
    (i64.const 0))

  ;; ints(i int64, u uint64) -> [i, u]: i64 holds both; only the range checks differ.
  (func (export "mrun_fn_ints") (param $p i32) (param $n i32) (result i64)
    (local $i i64) (local $k i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_ints) (i32.const 2) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_int (global.get $s_ints) (i32.const 1) (global.get $s_i))))
      (local.set $i (global.get $vi))
      (local.set $k (call $head))
      (if (i32.ne (local.get $k) (global.get $K_INT))
        (then (call $type_error (global.get $s_ints) (i32.const 2) (global.get $s_u) (global.get $s_an_int) (local.get $k))
              (br $fail)))
      ;; a uint64 is any non-negative int: below 2^63 ($vi >= 0) or above ($vbig)
      (if (i32.and (i32.eqz (global.get $vbig)) (i64.lt_s (global.get $vi) (i64.const 0)))
        (then (call $err_arg (global.get $s_ints) (i32.const 2) (global.get $s_u))
              (call $w_dec (global.get $vi))
              (call $w_s (global.get $s_not_uint64))
              (call $err_set)
              (br $fail)))
      (call $reset)
      (call $w8 (i32.const 0x92))
      (call $w_int (local.get $i))
      (call $w_uint (global.get $vi))
      (return (call $done)))
    (i64.const 0))

  ;; fdiv(a float, b float) -> a / b, IEEE 754: 1/0 is +Inf, 0/0 is NaN
  (func (export "mrun_fn_fdiv") (param $p i32) (param $n i32) (result i64)
    (local $a f64)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_fdiv) (i32.const 2) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_float (global.get $s_fdiv) (i32.const 1) (global.get $s_a))))
      (local.set $a (global.get $vf))
      (br_if $fail (i32.eqz (call $arg_float (global.get $s_fdiv) (i32.const 2) (global.get $s_b))))
      (call $reset)
      (call $w_f64 (f64.div (local.get $a) (global.get $vf)))
      (return (call $done)))
    (i64.const 0))

  ;; greet(name str, greeting="hello", punct="!") -> greeting + ", " + name + punct
  ;; Keyword arguments are looked up by walking the keyword map of the frame.
  (func (export "mrun_fn_greet") (param $p i32) (param $n i32) (result i64)
    (local $np i32) (local $nn i32)   ;; name
    (local $gp i32) (local $gn i32)   ;; greeting
    (local $pp i32) (local $pn i32)   ;; punct
    (local $i i32) (local $k i32) (local $key i32) (local $keyn i32) (local $is_g i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_greet) (i32.const 1) (i32.const 1))))
      (br_if $fail (i32.eqz (call $arg_str (global.get $s_greet) (i32.const 1) (global.get $s_name))))
      (local.set $np (global.get $vp))
      (local.set $nn (global.get $vn))
      ;; the defaults
      (local.set $gp (i32.add (global.get $s_hello) (i32.const 1)))
      (local.set $gn (i32.load8_u (global.get $s_hello)))
      (local.set $pp (i32.add (global.get $s_bang) (i32.const 1)))
      (local.set $pn (i32.load8_u (global.get $s_bang)))
      ;; the keywords, in the order the host wrote them (ascending)
      (global.set $rp (global.get $kwp))
      (block $kwdone
        (loop $next
          (br_if $kwdone (i32.ge_u (local.get $i) (global.get $nkw)))
          (br_if $fail (i32.eqz (if (result i32) (i32.eq (call $head) (global.get $K_STR))
            (then (i32.const 1))
            (else (call $fail_msg (global.get $s_greet) (global.get $s_kw_names))))))
          (local.set $key (global.get $vp))
          (local.set $keyn (global.get $vn))
          (local.set $is_g (call $eq (local.get $key) (local.get $keyn) (global.get $s_greeting)))
          (if (i32.eqz (i32.or (local.get $is_g) (call $eq (local.get $key) (local.get $keyn) (global.get $s_punct))))
            (then (call $unexpected_kw (global.get $s_greet)) (br $fail)))
          (local.set $k (call $head))
          (if (i32.ne (local.get $k) (global.get $K_STR))
            (then ;; "greet: keyword argument 'punct': want a str, got an int"
              (call $err_begin (global.get $s_greet))
              (call $w_s (global.get $s_keyword))
              (call $w_s (global.get $s_quote))
              (call $w_bytes (local.get $key) (local.get $keyn))
              (call $w_s (global.get $s_quote))
              (call $w_s (global.get $s_colon))
              (call $w_s (global.get $s_want))
              (call $w_s (global.get $s_a_str))
              (call $w_s (global.get $s_got))
              (call $w_got (local.get $k))
              (call $err_set)
              (br $fail)))
          (if (local.get $is_g)
            (then (local.set $gp (global.get $vp)) (local.set $gn (global.get $vn)))
            (else (local.set $pp (global.get $vp)) (local.set $pn (global.get $vn))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (br_if $fail (i32.eqz (if (result i32) (call $reserve (i64.add (i64.add (i64.extend_i32_u (local.get $gn)) (i64.extend_i32_u (local.get $nn)))
                                                                     (i64.add (i64.extend_i32_u (local.get $pn)) (i64.const 7))))
        (then (i32.const 1))
        (else (call $fail_msg (global.get $s_greet) (global.get $s_oom))))))
      (call $w_str_hdr (i32.add (i32.add (local.get $gn) (i32.const 2)) (i32.add (local.get $nn) (local.get $pn))))
      (call $w_bytes (local.get $gp) (local.get $gn))
      (call $w_s (global.get $s_comma))
      (call $w_bytes (local.get $np) (local.get $nn))
      (call $w_bytes (local.get $pp) (local.get $pn))
      (return (call $done)))
    (i64.const 0))

  ;; $element_error: "<fn>: element <i> is <kind><tail>"
  (func $element_error (param $fn i32) (param $i i32) (param $k i32) (param $tail i32)
    (call $err_begin (local.get $fn))
    (call $w_s (global.get $s_element))
    (call $w_dec (i64.extend_i32_u (local.get $i)))
    (call $w_s (global.get $s_is))
    (call $w_got (local.get $k))
    (call $w_s (local.get $tail))
    (call $err_set))

  ;; sum_all(xs list) -> sum, like Python's sum(): ints add up to an int; from the first
  ;; float on, the total is a float64 added left to right ([0.4, 0.2] -> 0.6000000000000001).
  (func (export "mrun_fn_sum_all") (param $p i32) (param $n i32) (result i64)
    (local $count i32) (local $i i32) (local $k i32)
    (local $si i64) (local $s i64) (local $sf f64) (local $isf i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_sum_all) (i32.const 1) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_list (global.get $s_sum_all) (i32.const 1) (global.get $s_xs))))
      (local.set $count (global.get $vn))
      (block $summed
        (loop $next
          (br_if $summed (i32.ge_u (local.get $i) (local.get $count)))
          (local.set $k (call $num))
          (if (i32.and (i32.ne (local.get $k) (global.get $K_INT)) (i32.ne (local.get $k) (global.get $K_FLOAT)))
            (then (call $element_error (global.get $s_sum_all) (local.get $i) (local.get $k) (global.get $s_not_number))
                  (br $fail)))
          (if (i32.and (i32.eqz (local.get $isf)) (i32.eq (local.get $k) (global.get $K_FLOAT)))
            (then (local.set $isf (i32.const 1))
                  (local.set $sf (f64.convert_i64_s (local.get $si)))))
          (if (local.get $isf)
            (then (local.set $sf (f64.add (local.get $sf) (global.get $vf))))
            (else
              (local.set $s (i64.add (local.get $si) (global.get $vi)))
              (if (i32.or (global.get $vbig)
                          (i64.lt_s (i64.and (i64.xor (local.get $si) (local.get $s))
                                             (i64.xor (global.get $vi) (local.get $s)))
                                    (i64.const 0)))
                (then (call $err_begin (global.get $s_sum_all))
                      (call $w_s (global.get $s_int_overflow))
                      (call $w_dec (i64.extend_i32_u (local.get $i)))
                      (call $err_set)
                      (br $fail)))
              (local.set $si (local.get $s))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (call $reset)
      (if (local.get $isf)
        (then (call $w_f64 (local.get $sf)))
        (else (call $w_int (local.get $si))))
      (return (call $done)))
    (i64.const 0))

  ;; triage(xs list of floats) -> [low, high]: the elements below 0.5 and the others, in
  ;; order. Spawned with n_output = 2, the host splits the two lists into two Objects. One
  ;; pass counts (and checks), two more write, so nothing is stored in between.
  (func (export "mrun_fn_triage") (param $p i32) (param $n i32) (result i64)
    (local $count i32) (local $i i32) (local $k i32) (local $low i32) (local $start i32)
    (local $pass i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_triage) (i32.const 1) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_list (global.get $s_triage) (i32.const 1) (global.get $s_xs))))
      (local.set $count (global.get $vn))
      (local.set $start (global.get $rp))
      (block $counted
        (loop $next
          (br_if $counted (i32.ge_u (local.get $i) (local.get $count)))
          (local.set $k (call $num))
          (if (i32.and (i32.ne (local.get $k) (global.get $K_INT)) (i32.ne (local.get $k) (global.get $K_FLOAT)))
            (then (call $element_error (global.get $s_triage) (local.get $i) (local.get $k) (global.get $s_not_float))
                  (br $fail)))
          (if (f64.lt (global.get $vf) (f64.const 0.5))
            (then (local.set $low (i32.add (local.get $low) (i32.const 1)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      ;; each element becomes a 9-byte float64; each list header takes at most 5 bytes
      (br_if $fail (i32.eqz (if (result i32) (call $reserve (i64.add (i64.mul (i64.extend_i32_u (local.get $count)) (i64.const 9)) (i64.const 11)))
        (then (i32.const 1))
        (else (call $fail_msg (global.get $s_triage) (global.get $s_oom))))))
      (call $w8 (i32.const 0x92))
      ;; pass 1 writes the low list, pass 0 the high one
      (local.set $pass (i32.const 1))
      (loop $lists
        (call $w_arr_hdr (select (local.get $low) (i32.sub (local.get $count) (local.get $low)) (local.get $pass)))
        (global.set $rp (local.get $start))
        (local.set $i (i32.const 0))
        (block $written
          (loop $next
            (br_if $written (i32.ge_u (local.get $i) (local.get $count)))
            (drop (call $num))
            (if (i32.eq (f64.lt (global.get $vf) (f64.const 0.5)) (local.get $pass))
              (then (call $w_f64 (global.get $vf))))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (if (local.get $pass)
          (then (local.set $pass (i32.const 0)) (br $lists))))
      (return (call $done)))
    (i64.const 0))

  ;; divmod(a int, b int) -> [a / b, a % b], truncating toward zero like C and Go.
  (func (export "mrun_fn_divmod") (param $p i32) (param $n i32) (result i64)
    (local $a i64)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_divmod) (i32.const 2) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_int (global.get $s_divmod) (i32.const 1) (global.get $s_a))))
      (local.set $a (global.get $vi))
      (br_if $fail (i32.eqz (call $arg_int (global.get $s_divmod) (i32.const 2) (global.get $s_b))))
      ;; the two divisions that would trap: by zero, and -2^63 / -1
      (br_if $fail (i32.eqz (if (result i32) (i64.eqz (global.get $vi))
        (then (call $fail_msg (global.get $s_divmod) (global.get $s_div_zero)))
        (else (i32.const 1)))))
      (br_if $fail (i32.eqz (if (result i32) (i32.and (i64.eq (local.get $a) (i64.const 0x8000000000000000))
                                                      (i64.eq (global.get $vi) (i64.const -1)))
        (then (call $fail_msg (global.get $s_divmod) (global.get $s_div_overflow)))
        (else (i32.const 1)))))
      (call $reset)
      (call $w8 (i32.const 0x92))
      (call $w_int (i64.div_s (local.get $a) (global.get $vi)))
      (call $w_int (i64.rem_s (local.get $a) (global.get $vi)))
      (return (call $done)))
    (i64.const 0))
;; ---------------------------------------------------------------------------------------
  ;; 8b. Nested spawn (ABI.md 2.2)
  ;; ---------------------------------------------------------------------------------------
  ;; A call spawns children in its own module (an empty module name), executes them and
  ;; fetches their values. Argument frames for spawn are written into the result buffer
  ;; like any frame: the host copies them during spawn, so the buffer is free again at once.

  ;; $spawn_self spawns function $fn (a length-prefixed name) of this module with the frame
  ;; written since $reset, split into $nout outputs. Returns the handle of output 0, or a
  ;; negative code.
  (func $spawn_self (param $fn i32) (param $nout i32) (result i32)
    (call $spawn (i32.const 0) (i32.const 0)
                 (i32.add (local.get $fn) (i32.const 1)) (i32.load8_u (local.get $fn))
                 (global.get $res) (i32.sub (global.get $out) (global.get $res))
                 (local.get $nout)))

  ;; $spawned checks a handle from $spawn_self: 1 if it is one, else 0 after set_error.
  (func $spawned (param $fn i32) (param $h i32) (param $child i32) (result i32)
    (if (i32.lt_s (local.get $h) (i32.const 0))
      (then (return (call $fail_host (local.get $fn) (global.get $s_spawn) (local.get $child)))))
    (i32.const 1))

  ;; $run executes the $count handles stored at $HANDLES. Status 1 (a child failed) is not an
  ;; error here: the failed child's fetch returns -2, and the caller reports it from there.
  (func $run (param $fn i32) (param $count i32) (result i32)
    (if (i32.lt_s (call $execute (global.get $HANDLES) (local.get $count)) (i32.const 0))
      (then (return (call $fail_host (local.get $fn) (global.get $s_execute) (i32.const 0)))))
    (i32.const 1))

  ;; $fetch_into appends the value of Object $h to the result being written. fetch copies a
  ;; value only when it fits, and says how long it is, so a value larger than the room left
  ;; is fetched a second time into a larger buffer. Returns 1, or 0 after set_error (through
  ;; fail_with when the child itself failed).
  (func $fetch_into (param $fn i32) (param $h i32) (result i32)
    (local $room i32) (local $n i64)
    (local.set $room (i32.sub (i32.add (global.get $res) (global.get $rescap)) (global.get $out)))
    (local.set $n (call $fetch (local.get $h) (global.get $out) (local.get $room)))
    (if (i64.gt_s (local.get $n) (i64.extend_i32_u (local.get $room)))
      (then
        (if (i32.eqz (call $ensure (local.get $n)))
          (then (return (call $fail_msg (local.get $fn) (global.get $s_oom)))))
        (local.set $n (call $fetch (local.get $h) (global.get $out) (i32.wrap_i64 (local.get $n))))))
    (if (i64.eq (local.get $n) (i64.const -2))
      (then (return (call $fail_child (local.get $fn) (local.get $h)))))
    (if (i64.lt_s (local.get $n) (i64.const 0))
      (then (return (call $fail_host (local.get $fn) (global.get $s_fetch) (i32.const 0)))))
    (global.set $out (i32.add (global.get $out) (i32.wrap_i64 (local.get $n))))
    (i32.const 1))

  ;; driver() -> [1, 2, ..., 10]: spawns inc(i) for i in 0..9, executes the ten together,
  ;; and returns their values. The fetched values are MessagePack already: the result is an
  ;; array header followed by the ten values, byte for byte.
  (func (export "mrun_fn_driver") (param $p i32) (param $n i32) (result i64)
    (local $i i32) (local $h i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_driver) (i32.const 0) (i32.const 0))))
      (block $spawned
        (loop $next
          (br_if $spawned (i32.ge_u (local.get $i) (i32.const 10)))
          ;; the frame of inc(i): [[i], {}] = 92 91 <i> 80
          (call $reset)
          (call $w8 (i32.const 0x92)) (call $w8 (i32.const 0x91))
          (call $w8 (local.get $i))
          (call $w8 (i32.const 0x80))
          (local.set $h (call $spawn_self (global.get $s_inc) (i32.const 1)))
          (br_if $fail (i32.eqz (call $spawned (global.get $s_driver) (local.get $h) (global.get $s_inc))))
          (i32.store (i32.add (global.get $HANDLES) (i32.shl (local.get $i) (i32.const 2))) (local.get $h))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (br_if $fail (i32.eqz (call $run (global.get $s_driver) (i32.const 10))))
      (call $reset)
      (call $w8 (i32.const 0x9a)) ;; fixarray of 10
      (local.set $i (i32.const 0))
      (block $fetched
        (loop $next
          (br_if $fetched (i32.ge_u (local.get $i) (i32.const 10)))
          (br_if $fail (i32.eqz (call $fetch_into (global.get $s_driver)
            (i32.load (i32.add (global.get $HANDLES) (i32.shl (local.get $i) (i32.const 2)))))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $next)))
      (return (call $done)))
    (i64.const 0))

  ;; nested_split(a int, b int) -> [a / b, a % b, a / b + a % b]. It spawns divmod(a, b)
  ;; split into two Objects q and r (n_output = 2: handles q and q + 1), then add(q, r) with
  ;; the two handles as arguments: dependencies, which the host replaces by their values for
  ;; add. Executing add alone runs divmod first.
  (func (export "mrun_fn_nested_split") (param $p i32) (param $n i32) (result i64)
    (local $a i64) (local $q i32) (local $s i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_nested_split) (i32.const 2) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_int (global.get $s_nested_split) (i32.const 1) (global.get $s_a))))
      (local.set $a (global.get $vi))
      (br_if $fail (i32.eqz (call $arg_int (global.get $s_nested_split) (i32.const 2) (global.get $s_b))))
      ;; divmod's frame: [[a, b], {}]
      (call $reset)
      (call $w8 (i32.const 0x92)) (call $w8 (i32.const 0x92))
      (call $w_int (local.get $a)) (call $w_int (global.get $vi))
      (call $w8 (i32.const 0x80))
      (local.set $q (call $spawn_self (global.get $s_divmod) (i32.const 2)))
      (br_if $fail (i32.eqz (call $spawned (global.get $s_nested_split) (local.get $q) (global.get $s_divmod))))
      ;; add's frame: [[<handle q>, <handle r>], {}]
      (call $reset)
      (call $w8 (i32.const 0x92)) (call $w8 (i32.const 0x92))
      (call $w_handle (local.get $q))
      (call $w_handle (i32.add (local.get $q) (i32.const 1)))
      (call $w8 (i32.const 0x80))
      (local.set $s (call $spawn_self (global.get $s_add) (i32.const 1)))
      (br_if $fail (i32.eqz (call $spawned (global.get $s_nested_split) (local.get $s) (global.get $s_add))))
      (i32.store (global.get $HANDLES) (local.get $s))
      (br_if $fail (i32.eqz (call $run (global.get $s_nested_split) (i32.const 1))))
      (call $reset)
      (call $w8 (i32.const 0x93))
      (br_if $fail (i32.eqz (call $fetch_into (global.get $s_nested_split) (local.get $q))))
      (br_if $fail (i32.eqz (call $fetch_into (global.get $s_nested_split) (i32.add (local.get $q) (i32.const 1)))))
      (br_if $fail (i32.eqz (call $fetch_into (global.get $s_nested_split) (local.get $s))))
      (return (call $done)))
    (i64.const 0))

  ;; parent_fail(msg str): spawns fail(msg), executes it (status 1), and fails through
  ;; fail_with(child, "parent_fail: " + the child's error), which $fetch_into does when the
  ;; child's fetch returns -2: the host then chains the child's error as the cause.
  (func (export "mrun_fn_parent_fail") (param $p i32) (param $n i32) (result i64)
    (local $h i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_parent_fail) (i32.const 1) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_str (global.get $s_parent_fail) (i32.const 1) (global.get $s_msg))))
      ;; fail's frame: [[msg], {}]
      (br_if $fail (i32.eqz (if (result i32) (call $reserve (i64.add (i64.extend_i32_u (global.get $vn)) (i64.const 8)))
        (then (i32.const 1))
        (else (call $fail_msg (global.get $s_parent_fail) (global.get $s_oom))))))
      (call $w8 (i32.const 0x92)) (call $w8 (i32.const 0x91))
      (call $w_str_hdr (global.get $vn))
      (call $w_bytes (global.get $vp) (global.get $vn))
      (call $w8 (i32.const 0x80))
      (local.set $h (call $spawn_self (global.get $s_fail) (i32.const 1)))
      (br_if $fail (i32.eqz (call $spawned (global.get $s_parent_fail) (local.get $h) (global.get $s_fail))))
      (i32.store (global.get $HANDLES) (local.get $h))
      (br_if $fail (i32.eqz (call $run (global.get $s_parent_fail) (i32.const 1))))
      (call $reset)
      (br_if $fail (i32.eqz (call $fetch_into (global.get $s_parent_fail) (local.get $h))))
      ;; the child succeeded after all
      (drop (call $fail_msg (global.get $s_parent_fail) (global.get $s_child_ok))))
    (i64.const 0))

  ;; ---------------------------------------------------------------------------------------
  ;; 8c. Tensors (ABI.md 5.3)
  ;; ---------------------------------------------------------------------------------------

  ;; tensor_sum(t float64 tensor) -> the sum of its elements in row-major order, read in
  ;; place from the argument buffer.
  (func (export "mrun_fn_tensor_sum") (param $p i32) (param $n i32) (result i64)
    (local $q i32) (local $end i32) (local $s f64)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_tensor_sum) (i32.const 1) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_tensor (global.get $s_tensor_sum) (i32.const 1) (global.get $s_t))))
      (local.set $q (global.get $tdata))
      (local.set $end (i32.add (global.get $tdata) (i32.shl (global.get $tcount) (i32.const 3))))
      (block $summed
        (loop $next
          (br_if $summed (i32.ge_u (local.get $q) (local.get $end)))
          (local.set $s (f64.add (local.get $s) (f64.load (local.get $q))))
          (local.set $q (i32.add (local.get $q) (i32.const 8)))
          (br $next)))
      (call $reset)
      (call $w_f64 (local.get $s))
      (return (call $done)))
    (i64.const 0))

  ;; $w_dims appends "<r>x<c>".
  (func $w_dims (param $r i64) (param $c i64)
    (call $w_dec_u (local.get $r))
    (call $w_s (global.get $s_times))
    (call $w_dec_u (local.get $c)))

  ;; $matrix starts an r x c float64 tensor result: checks that it fits in memory, reserves
  ;; it and writes everything but the elements. Returns 1 with $out on the first element, or
  ;; 0 after set_error.
  (func $matrix (param $fn i32) (param $r i64) (param $c i64) (result i32)
    (local $bytes i64)
    (block $too_big
      ;; r and c below 2^32 make r*c exact; 8*r*c must then fit in a 4 GiB memory
      (br_if $too_big (i64.gt_u (local.get $r) (i64.const 0xffffffff)))
      (br_if $too_big (i64.gt_u (local.get $c) (i64.const 0xffffffff)))
      (br_if $too_big (i64.gt_u (i64.mul (local.get $r) (local.get $c)) (i64.const 0x1ffe0000)))
      (local.set $bytes (i64.add (i64.const 24) (i64.shl (i64.mul (local.get $r) (local.get $c)) (i64.const 3))))
      (br_if $too_big (i32.eqz (call $reserve (i64.add (local.get $bytes) (i64.const 6)))))
      (call $w_ext_hdr (i32.wrap_i64 (local.get $bytes)) (i32.const 4))
      (call $w_le64 (i64.const 0x020a)) ;; dtype 10 (float64), ndim 2, six zero bytes
      (call $w_le64 (local.get $r))
      (call $w_le64 (local.get $c))
      (return (i32.const 1)))
    (call $err_begin (local.get $fn))
    (call $w_s (global.get $s_a_sp))
    (call $w_dims (local.get $r) (local.get $c))
    (call $w_s (global.get $s_no_fit))
    (call $err_set)
    (i32.const 0))

  ;; $is_2d checks that the tensor $arg_tensor just read is a matrix.
  (func $is_2d (param $fn i32) (param $i i32) (param $name i32) (result i32)
    (if (i32.eq (global.get $tndim) (i32.const 2))
      (then (return (i32.const 1))))
    (call $err_arg (local.get $fn) (local.get $i) (local.get $name))
    (call $w_s (global.get $s_want_2d))
    (call $w_dec (i64.extend_i32_u (global.get $tndim)))
    (call $w_s (global.get $s_d_tensor))
    (call $err_set)
    (i32.const 0))

  ;; matmul(a m x k, b k x n) -> the m x n float64 tensor a . b. The loops run i, l, j so that
  ;; the innermost one walks rows of b and of the result; each element still adds its
  ;; products in the order l = 0, 1, ..., k-1, as the textbook i, j, l loops do.
  (func (export "mrun_fn_matmul") (param $p i32) (param $n i32) (result i64)
    (local $ap i32) (local $bp i32) (local $m i64) (local $k i64) (local $k2 i64) (local $c i64)
    (local $mi i32) (local $ki i32) (local $ci i32) (local $i i32) (local $l i32)
    (local $crow i32) (local $cend i32) (local $q i32) (local $r i32) (local $ail f64)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_matmul) (i32.const 2) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_tensor (global.get $s_matmul) (i32.const 1) (global.get $s_a))))
      (br_if $fail (i32.eqz (call $is_2d (global.get $s_matmul) (i32.const 1) (global.get $s_a))))
      (local.set $ap (global.get $tdata))
      (local.set $m (i64.load (global.get $tshape)))
      (local.set $k (i64.load offset=8 (global.get $tshape)))
      (br_if $fail (i32.eqz (call $arg_tensor (global.get $s_matmul) (i32.const 2) (global.get $s_b))))
      (br_if $fail (i32.eqz (call $is_2d (global.get $s_matmul) (i32.const 2) (global.get $s_b))))
      (local.set $bp (global.get $tdata))
      (local.set $k2 (i64.load (global.get $tshape)))
      (local.set $c (i64.load offset=8 (global.get $tshape)))
      (if (i64.ne (local.get $k) (local.get $k2))
        (then ;; "matmul: cannot multiply a 2x3 matrix by a 2x2 matrix: the inner dimensions differ"
          (call $err_begin (global.get $s_matmul))
          (call $w_s (global.get $s_cannot_mul))
          (call $w_dims (local.get $m) (local.get $k))
          (call $w_s (global.get $s_matrix_by))
          (call $w_dims (local.get $k2) (local.get $c))
          (call $w_s (global.get $s_inner))
          (call $err_set)
          (br $fail)))
      (br_if $fail (i32.eqz (call $matrix (global.get $s_matmul) (local.get $m) (local.get $c))))
      ;; the result starts at zero; an empty product is all zeros
      (memory.fill (global.get $out) (i32.const 0)
                   (i32.wrap_i64 (i64.shl (i64.mul (local.get $m) (local.get $c)) (i64.const 3))))
      (local.set $crow (global.get $out))
      (global.set $out (i32.add (global.get $out)
                   (i32.wrap_i64 (i64.shl (i64.mul (local.get $m) (local.get $c)) (i64.const 3)))))
      (if (i32.or (i64.eqz (i64.mul (local.get $m) (local.get $c))) (i64.eqz (local.get $k)))
        (then (return (call $done))))
      ;; now m*k and k*c elements are in memory: every count fits in 32 bits
      (local.set $mi (i32.wrap_i64 (local.get $m)))
      (local.set $ki (i32.wrap_i64 (local.get $k)))
      (local.set $ci (i32.wrap_i64 (local.get $c)))
      (block $rows_done
        (loop $rows
          (br_if $rows_done (i32.ge_u (local.get $i) (local.get $mi)))
          (local.set $cend (i32.add (local.get $crow) (i32.shl (local.get $ci) (i32.const 3))))
          (local.set $l (i32.const 0))
          (block $inner_done
            (loop $inner
              (br_if $inner_done (i32.ge_u (local.get $l) (local.get $ki)))
              ;; row i of the result += a[i][l] * row l of b
              (local.set $ail (f64.load (i32.add (local.get $ap)
                (i32.shl (i32.add (i32.mul (local.get $i) (local.get $ki)) (local.get $l)) (i32.const 3)))))
              (local.set $r (i32.add (local.get $bp) (i32.shl (i32.mul (local.get $l) (local.get $ci)) (i32.const 3))))
              (local.set $q (local.get $crow))
              (loop $cols
                (f64.store (local.get $q) (f64.add (f64.load (local.get $q))
                                                   (f64.mul (local.get $ail) (f64.load (local.get $r)))))
                (local.set $q (i32.add (local.get $q) (i32.const 8)))
                (local.set $r (i32.add (local.get $r) (i32.const 8)))
                (br_if $cols (i32.lt_u (local.get $q) (local.get $cend))))
              (local.set $l (i32.add (local.get $l) (i32.const 1)))
              (br $inner)))
          (local.set $crow (local.get $cend))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $rows)))
      (return (call $done)))
    (i64.const 0))

  ;; rand_matrix(r int, c int) -> an r x c float64 tensor of uniform numbers in [0, 1).
  ;; WASI random_get fills the elements with random bytes; each 64-bit word then becomes its
  ;; top 53 bits times 2^-53, the usual exact mapping onto [0, 1).
  (func (export "mrun_fn_rand_matrix") (param $p i32) (param $n i32) (result i64)
    (local $r i64) (local $q i32) (local $end i32) (local $errno i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_rand_matrix) (i32.const 2) (i32.const 0))))
      (br_if $fail (i32.eqz (call $arg_int (global.get $s_rand_matrix) (i32.const 1) (global.get $s_r))))
      (br_if $fail (i32.eqz (call $not_negative (global.get $s_rand_matrix) (i32.const 1) (global.get $s_r))))
      (local.set $r (global.get $vi))
      (br_if $fail (i32.eqz (call $arg_int (global.get $s_rand_matrix) (i32.const 2) (global.get $s_c))))
      (br_if $fail (i32.eqz (call $not_negative (global.get $s_rand_matrix) (i32.const 2) (global.get $s_c))))
      (br_if $fail (i32.eqz (call $matrix (global.get $s_rand_matrix) (local.get $r) (global.get $vi))))
      (local.set $q (global.get $out))
      (local.set $end (i32.add (global.get $out) (i32.wrap_i64 (i64.shl (i64.mul (local.get $r) (global.get $vi)) (i64.const 3)))))
      (local.set $errno (call $random_get (local.get $q) (i32.sub (local.get $end) (local.get $q))))
      (if (local.get $errno)
        (then (call $err_begin (global.get $s_rand_matrix))
              (call $w_s (global.get $s_random_get))
              (call $w_dec (i64.extend_i32_u (local.get $errno)))
              (call $err_set)
              (br $fail)))
      (block $converted
        (loop $next
          (br_if $converted (i32.ge_u (local.get $q) (local.get $end)))
          (f64.store (local.get $q)
            (f64.mul (f64.convert_i64_u (i64.shr_u (i64.load (local.get $q)) (i64.const 11)))
                     (f64.const 0x1p-53)))
          (local.set $q (i32.add (local.get $q) (i32.const 8)))
          (br $next)))
      (global.set $out (local.get $end))
      (return (call $done)))
    (i64.const 0))

  ;; $not_negative checks that the int $arg_int just read is not negative.
  (func $not_negative (param $fn i32) (param $i i32) (param $name i32) (result i32)
    (if (i64.ge_s (global.get $vi) (i64.const 0))
      (then (return (i32.const 1))))
    (call $err_arg (local.get $fn) (local.get $i) (local.get $name))
    (call $w_s (global.get $s_negative))
    (call $w_dec (global.get $vi))
    (call $err_set)
    (i32.const 0))

  ;; driver2() -> the float64 sum of a random 10 x 10 matrix: spawns rand_matrix(10, 10),
  ;; then tensor_sum with the matrix's handle as its argument, executes the sum (which runs
  ;; rand_matrix first) and returns its value. The matrix never enters this call.
  (func (export "mrun_fn_driver2") (param $p i32) (param $n i32) (result i64)
    (local $h i32) (local $s i32)
    (block $fail
      (br_if $fail (i32.eqz (call $args (local.get $p) (local.get $n) (global.get $s_driver2) (i32.const 0) (i32.const 0))))
      ;; rand_matrix's frame: [[10, 10], {}]
      (call $reset)
      (call $w8 (i32.const 0x92)) (call $w8 (i32.const 0x92))
      (call $w8 (i32.const 10)) (call $w8 (i32.const 10))
      (call $w8 (i32.const 0x80))
      (local.set $h (call $spawn_self (global.get $s_rand_matrix) (i32.const 1)))
      (br_if $fail (i32.eqz (call $spawned (global.get $s_driver2) (local.get $h) (global.get $s_rand_matrix))))
      ;; tensor_sum's frame: [[<handle>], {}]
      (call $reset)
      (call $w8 (i32.const 0x92)) (call $w8 (i32.const 0x91))
      (call $w_handle (local.get $h))
      (call $w8 (i32.const 0x80))
      (local.set $s (call $spawn_self (global.get $s_tensor_sum) (i32.const 1)))
      (br_if $fail (i32.eqz (call $spawned (global.get $s_driver2) (local.get $s) (global.get $s_tensor_sum))))
      (i32.store (global.get $HANDLES) (local.get $s))
      (br_if $fail (i32.eqz (call $run (global.get $s_driver2) (i32.const 1))))
      (call $reset)
      (br_if $fail (i32.eqz (call $fetch_into (global.get $s_driver2) (local.get $s))))
      (return (call $done)))
    (i64.const 0))
)
