// Writer: MessagePack encoding into a growable buffer of linear memory.

import { Kind, Value, Tensor } from "./value";
import { Table, ColType } from "./table";

/**
 * Writer encodes MessagePack into a buffer that grows by doubling and is kept across calls:
 * `reset` empties it without freeing. Integers take their shortest form and lengths their
 * shortest header, so equal values encode to equal bytes (abi/ABI.md section 5.2).
 *
 * `err` records the first value that cannot be encoded (an Object in a result, say); the
 * bytes written are then incomplete.
 */
export class Writer {
  private buf: ArrayBuffer;
  /** len is the number of bytes written. */
  len: usize = 0;
  /** err describes the first value that could not be encoded, or is null. */
  err: string | null = null;
  /** handles allows Objects (ext 2 and 3): true for spawn arguments, false for results. */
  handles: bool = false;

  /** The constructor makes a writer with `capacity` bytes of room. */
  constructor(capacity: i32 = 256) {
    this.buf = new ArrayBuffer(capacity);
  }

  /** ptr is the address of the first byte; it changes when the buffer grows. */
  @inline get ptr(): usize {
    return changetype<usize>(this.buf);
  }

  /** packed is the written frame as the i64 a function export returns: ptr << 32 | len. */
  packed(): u64 {
    return (<u64>this.ptr << 32) | <u64>this.len;
  }

  /** reset empties the writer and clears its error, keeping the buffer. */
  reset(): void {
    this.len = 0;
    this.err = null;
  }

  /** reserve makes room for `n` more bytes and returns the address where they go. */
  reserve(n: usize): usize {
    const cap = <usize>this.buf.byteLength;
    if (cap - this.len < n) {
      let c = cap << 1;
      while (c - this.len < n) c <<= 1;
      const next = new ArrayBuffer(<i32>c);
      memory.copy(changetype<usize>(next), this.ptr, this.len);
      this.buf = next;
    }
    const at = this.ptr + this.len;
    this.len += n;
    return at;
  }

  @inline private byte(v: u32): void {
    store<u8>(this.reserve(1), <u8>v);
  }

  @inline private byteBE16(b: u32, v: u32): void {
    const p = this.reserve(3);
    store<u8>(p, <u8>b);
    store<u16>(p + 1, bswap<u16>(<u16>v));
  }

  @inline private byteBE32(b: u32, v: u32): void {
    const p = this.reserve(5);
    store<u8>(p, <u8>b);
    store<u32>(p + 1, bswap<u32>(v));
  }

  /** nil writes nil. */
  nil(): void {
    this.byte(0xc0);
  }

  /** bool writes true or false. */
  bool(v: bool): void {
    this.byte(v ? 0xc3 : 0xc2);
  }

  /** int writes a signed integer in its shortest form. */
  int(v: i64): void {
    if (v >= 0) {
      this.uint(<u64>v);
    } else if (v >= -32) {
      this.byte(<u32>v & 0xff);
    } else if (v >= -128) {
      const p = this.reserve(2);
      store<u8>(p, 0xd0);
      store<i8>(p + 1, <i8>v);
    } else if (v >= -32768) {
      const p = this.reserve(3);
      store<u8>(p, 0xd1);
      store<u16>(p + 1, bswap<u16>(<u16>v));
    } else if (v >= -2147483648) {
      this.byteBE32(0xd2, <u32>v);
    } else {
      const p = this.reserve(9);
      store<u8>(p, 0xd3);
      store<u64>(p + 1, bswap<u64>(<u64>v));
    }
  }

  /** uint writes an unsigned integer in its shortest form. */
  uint(v: u64): void {
    if (v <= 0x7f) {
      this.byte(<u32>v);
    } else if (v <= 0xff) {
      const p = this.reserve(2);
      store<u8>(p, 0xcc);
      store<u8>(p + 1, <u8>v);
    } else if (v <= 0xffff) {
      this.byteBE16(0xcd, <u32>v);
    } else if (v <= 0xffffffff) {
      this.byteBE32(0xce, <u32>v);
    } else {
      const p = this.reserve(9);
      store<u8>(p, 0xcf);
      store<u64>(p + 1, bswap<u64>(v));
    }
  }

  /** float writes a float64. */
  float(v: f64): void {
    const p = this.reserve(9);
    store<u8>(p, 0xcb);
    store<u64>(p + 1, bswap<u64>(reinterpret<u64>(v)));
  }

  /** float32 writes a float32. */
  float32(v: f32): void {
    this.byteBE32(0xca, reinterpret<u32>(v));
  }

  /** strHeader writes the header of a str of `n` bytes; the bytes follow with `raw`. */
  strHeader(n: u32): void {
    if (n <= 31) this.byte(0xa0 | n);
    else if (n <= 0xff) { const p = this.reserve(2); store<u8>(p, 0xd9); store<u8>(p + 1, <u8>n); }
    else if (n <= 0xffff) this.byteBE16(0xda, n);
    else this.byteBE32(0xdb, n);
  }

  /** str writes a string as UTF-8 (an unpaired surrogate becomes U+FFFD). */
  str(s: string): void {
    const n = <u32>String.UTF8.byteLength(s);
    this.strHeader(n);
    const p = this.reserve(n);
    String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, p, false, String.UTF8.ErrorMode.REPLACE);
  }

  /** binHeader writes the header of `n` bytes of bin; the bytes follow with `raw`. */
  binHeader(n: u32): void {
    if (n <= 0xff) { const p = this.reserve(2); store<u8>(p, 0xc4); store<u8>(p + 1, <u8>n); }
    else if (n <= 0xffff) this.byteBE16(0xc5, n);
    else this.byteBE32(0xc6, n);
  }

  /** bytes writes a byte string (bin). */
  bytes(b: Uint8Array): void {
    this.binHeader(<u32>b.length);
    this.raw(b.dataStart, b.length);
  }

  /** raw copies `n` bytes from `p`: payloads after a header, or whole encoded values. */
  raw(p: usize, n: usize): void {
    memory.copy(this.reserve(n), p, n);
  }

  /** listHeader writes the header of a list of `n` elements; the elements follow. */
  listHeader(n: u32): void {
    if (n <= 15) this.byte(0x90 | n);
    else if (n <= 0xffff) this.byteBE16(0xdc, n);
    else this.byteBE32(0xdd, n);
  }

  /** mapHeader writes the header of a map of `n` entries; key, value, key, value... follow. */
  mapHeader(n: u32): void {
    if (n <= 15) this.byte(0x80 | n);
    else if (n <= 0xffff) this.byteBE16(0xde, n);
    else this.byteBE32(0xdf, n);
  }

  /** extHeader writes the header of an extension value of `type` with `n` bytes of payload. */
  extHeader(type: i8, n: u32): void {
    switch (n) {
      case 1: this.byte(0xd4); break;
      case 2: this.byte(0xd5); break;
      case 4: this.byte(0xd6); break;
      case 8: this.byte(0xd7); break;
      case 16: this.byte(0xd8); break;
      default:
        if (n <= 0xff) { const p = this.reserve(2); store<u8>(p, 0xc7); store<u8>(p + 1, <u8>n); }
        else if (n <= 0xffff) this.byteBE16(0xc8, n);
        else this.byteBE32(0xc9, n);
    }
    this.byte(<u32><u8>type);
  }

  /** tensor writes a tensor (ext 4): its header and shape, then its elements in one copy. */
  tensor(t: Tensor): void {
    const ndim = t.shape.length;
    const head = 8 + 8 * ndim;
    this.extHeader(4, <u32>(head + t.byteLength));
    const p = this.reserve(head);
    store<u64>(p, <u64>t.dtype | (<u64>ndim << 8));
    for (let i = 0; i < ndim; i++) store<u64>(p + 8 + 8 * <usize>i, <u64>unchecked(t.shape[i]));
    this.raw(changetype<usize>(t.buffer) + <usize>t.byteOffset, t.byteLength);
  }

  /**
   * table writes a table (ext 5, abi/ABI.md section 5.4): its header, the column descriptors,
   * then each column's values in one copy. A table that breaks the format (columns of
   * different lengths, repeated or empty names, bool bytes other than 0 and 1) sets `err`.
   */
  table(t: Table): void {
    const why = t.check();
    if (why !== null) {
      if (this.err === null) this.err = "cannot encode the " + t.toString() + ": " + why;
      return;
    }
    const cols = t.columns;
    let desc: u64 = 0;
    for (let i = 0; i < cols.length; i++) desc += 4 + <u64>String.UTF8.byteLength(unchecked(cols[i]).name);
    let n: u64 = 16 + desc + pad8(desc);
    const rows = t.rows;
    for (let i = 0; i < cols.length; i++) {
      const c = unchecked(cols[i]);
      if (c.type == ColType.String) n += 4 * (<u64>rows + 1) + pad8(4 * (<u64>rows + 1));
      n += <u64>c.byteLength + pad8(<u64>c.byteLength);
    }
    if (n > 0x3ff00000) {
      if (this.err === null) this.err = "the " + t.toString() + " is over 1 GiB";
      return;
    }
    this.extHeader(5, <u32>n);
    const p = this.reserve(<usize>n);
    memory.fill(p, 0, <usize>n);
    store<u32>(p, <u32>cols.length);
    store<u64>(p, <u64>rows, 8);
    let off: usize = 16;
    for (let i = 0; i < cols.length; i++) {
      const c = unchecked(cols[i]);
      store<u8>(p + off, <u8>c.type);
      const nl = String.UTF8.encodeUnsafe(changetype<usize>(c.name), c.name.length, p + off + 4, false, String.UTF8.ErrorMode.REPLACE);
      store<u16>(p + off + 2, <u16>nl);
      off += 4 + nl;
    }
    off += <usize>pad8(<u64>off);
    for (let i = 0; i < cols.length; i++) {
      const c = unchecked(cols[i]);
      if (c.type == ColType.String) {
        const ol: usize = 4 * (<usize>rows + 1);
        memory.copy(p + off, c.offsetsPtr, ol);
        off += ol + <usize>pad8(<u64>ol);
      }
      memory.copy(p + off, c.dataPtr, <usize>c.byteLength);
      off += <usize>c.byteLength + <usize>pad8(<u64>c.byteLength);
    }
  }

  /** handle writes an Object: a dependency (ext 2), or by reference (ext 3) when `byRef`. */
  handle(h: u32, byRef: bool): void {
    if (!this.handles) {
      if (this.err === null) this.err = "an Object cannot be part of a result: fetch it and return its value";
      return;
    }
    if (h == 0) {
      if (this.err === null) this.err = "an argument is an Object whose spawn failed";
      return;
    }
    const p = this.reserve(6);
    store<u8>(p, 0xd6);
    store<u8>(p + 1, byRef ? 3 : 2);
    store<u32>(p + 2, bswap<u32>(h));
  }

  /** value writes a Value of any kind. */
  value(v: Value): void {
    switch (v.kind) {
      case Kind.Nil: this.nil(); break;
      case Kind.Bool: this.bool(v.asBool()); break;
      case Kind.Int: this.int(v.asI64()); break;
      case Kind.Uint: this.uint(v.asU64()); break;
      case Kind.Float32: this.float32(<f32>v.asF64()); break;
      case Kind.Float64: this.float(v.asF64()); break;
      case Kind.Str: {
        const u = v.utf8;
        if (u !== null) {
          this.strHeader(<u32>u.length);
          this.raw(u.dataStart, u.length);
        } else {
          this.str(v.asStr());
        }
        break;
      }
      case Kind.Bytes: this.bytes(v.asBytes()); break;
      case Kind.List: {
        const items = v.asList();
        this.listHeader(<u32>items.length);
        for (let i = 0; i < items.length; i++) this.value(unchecked(items[i]));
        break;
      }
      case Kind.Map: {
        const keys = v.mapKeys();
        const vals = v.mapValues();
        const n = min(keys.length, vals.length);
        this.mapHeader(<u32>n);
        for (let i = 0; i < n; i++) {
          this.value(unchecked(keys[i]));
          this.value(unchecked(vals[i]));
        }
        break;
      }
      case Kind.Tensor: this.tensor(v.asTensor()!); break;
      case Kind.Table: this.table(v.asTable()!); break;
      case Kind.Handle: this.handle(v.handleNumber, false); break;
      case Kind.ByRef: this.handle(v.handleNumber, true); break;
      default: {
        const b = v.asBytes();
        const t = v.extType;
        if (t >= 1 && t <= 15) {
          if (this.err === null) this.err = "extension type " + t.toString() + " is reserved by mrun";
          return;
        }
        this.extHeader(t, <u32>b.length);
        this.raw(b.dataStart, b.length);
      }
    }
  }
}

function pad8(n: u64): u64 {
  return (8 - (n & 7)) & 7;
}
