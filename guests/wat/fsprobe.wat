;; fsprobe.wat: reads a mount through the raw WASI calls a guest's libc makes (path_open,
;; fd_readdir, fd_filestat_get, fd_seek, fd_read), so host tests can check what a mounted
;; directory offers and what it refuses, errno for errno.
;;
;; Paths are relative to the first preopened directory (fd 3, the first mount). Each function
;; takes one fixstr argument (a path of at most 31 bytes): frame 92 91 <a0+n> <path> 80. On a
;; failed WASI call it returns the errno as a msgpack int32 (d2 + 4 bytes big-endian);
;; otherwise a bin 16 (c5 + 2-byte length + bytes).
;;
;; Memory layout (1 page):
;;   100 .. 103  the opened fd       104 .. 107  fd_readdir's bufused
;;   108 .. 111  fd_read's nread      112 .. 119  one iovec
;;   120 .. 127  fd_seek's offset     128 .. 191  a filestat
;;   512 .. 516  an int32 result
;;   1024 ..     a bin 16 result: c5, length, then the bytes (list: 8192 bytes of dirents)
;;   16384 .. 20479  the 4 KiB argument buffer
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir"
    (func $fd_readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_filestat_get"
    (func $fd_filestat_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_seek"
    (func $fd_seek (param i32 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 1)

  (func (export "mrun_abi_v1"))

  (func (export "mrun_alloc") (param $size i32) (result i32)
    (if (result i32) (i32.le_u (local.get $size) (i32.const 4096))
      (then (i32.const 16384)) (else (i32.const 0))))

  ;; $code returns v as a msgpack int32 frame at 512.
  (func $code (param $v i32) (result i64)
    (i32.store8 (i32.const 512) (i32.const 0xd2))
    (i32.store8 (i32.const 513) (i32.shr_u (local.get $v) (i32.const 24)))
    (i32.store8 (i32.const 514) (i32.shr_u (local.get $v) (i32.const 16)))
    (i32.store8 (i32.const 515) (i32.shr_u (local.get $v) (i32.const 8)))
    (i32.store8 (i32.const 516) (local.get $v))
    (i64.or (i64.shl (i64.const 512) (i64.const 32)) (i64.const 5)))

  ;; $bin returns the n bytes at 1027 as a bin 16 frame at 1024.
  (func $bin (param $n i32) (result i64)
    (i32.store8 (i32.const 1024) (i32.const 0xc5))
    (i32.store8 (i32.const 1025) (i32.shr_u (local.get $n) (i32.const 8)))
    (i32.store8 (i32.const 1026) (local.get $n))
    (i64.or (i64.shl (i64.const 1024) (i64.const 32))
            (i64.extend_i32_u (i32.add (local.get $n) (i32.const 3)))))

  ;; $open opens the fixstr path of the frame at p with oflags, following links, and leaves the
  ;; fd at 100. It returns the errno, or 28 (EINVAL) for a frame it does not understand. The
;; rights asked for are read-only ones (fd_read, fd_seek, fd_tell, fd_readdir,
;; fd_filestat_get): a mount refuses write rights (EISDIR for a directory, ENOSYS for a file).
  (func $open (param $p i32) (param $oflags i32) (result i32)
    (local $tag i32)
    (local.set $tag (i32.load8_u offset=2 (local.get $p)))
    (if (i32.or (i32.ne (i32.load16_u (local.get $p)) (i32.const 0x9192))
                (i32.ne (i32.and (local.get $tag) (i32.const 0xe0)) (i32.const 0xa0)))
      (then (return (i32.const 28))))
    (call $path_open (i32.const 3) (i32.const 1)
      (i32.add (local.get $p) (i32.const 3)) (i32.and (local.get $tag) (i32.const 0x1f))
      (local.get $oflags) (i64.const 2113574) (i64.const 2113574) (i32.const 0) (i32.const 100)))

  ;; list(path) opens a directory and returns the dirents of one fd_readdir from cookie 0,
  ;; as WASI lays them out (24-byte header, then the name).
  (func (export "mrun_fn_list") (param $p i32) (param $n i32) (result i64)
    (local $errno i32)
    (local.set $errno (call $open (local.get $p) (i32.const 2))) ;; O_DIRECTORY
    (if (local.get $errno) (then (return (call $code (local.get $errno)))))
    (local.set $errno (call $fd_readdir (i32.load (i32.const 100))
      (i32.const 1027) (i32.const 8192) (i64.const 0) (i32.const 104)))
    (drop (call $fd_close (i32.load (i32.const 100))))
    (if (local.get $errno) (then (return (call $code (local.get $errno)))))
    (call $bin (i32.load (i32.const 104))))

  ;; seekread(path) opens a file, and returns its size (fd_filestat_get), the offset fd_seek
  ;; to 2 returns (8 bytes each, little-endian) and up to 64 bytes read from there.
  (func (export "mrun_fn_seekread") (param $p i32) (param $n i32) (result i64)
    (local $errno i32) (local $fd i32)
    (local.set $errno (call $open (local.get $p) (i32.const 0)))
    (if (local.get $errno) (then (return (call $code (local.get $errno)))))
    (local.set $fd (i32.load (i32.const 100)))
    (block $done
      (local.set $errno (call $fd_filestat_get (local.get $fd) (i32.const 128)))
      (br_if $done (local.get $errno))
      (i64.store (i32.const 1027) (i64.load (i32.const 160))) ;; filestat.size
      (local.set $errno (call $fd_seek (local.get $fd) (i64.const 2) (i32.const 0) (i32.const 120)))
      (br_if $done (local.get $errno))
      (i64.store (i32.const 1035) (i64.load (i32.const 120)))
      (i32.store (i32.const 112) (i32.const 1043))
      (i32.store (i32.const 116) (i32.const 64))
      (local.set $errno (call $fd_read (local.get $fd) (i32.const 112) (i32.const 1) (i32.const 108))))
    (drop (call $fd_close (local.get $fd)))
    (if (local.get $errno) (then (return (call $code (local.get $errno)))))
    (call $bin (i32.add (i32.const 16) (i32.load (i32.const 108))))))
