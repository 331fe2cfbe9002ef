// Reader: MessagePack decoding over a range of linear memory, without trapping on bad input.

import { Kind, Value, Tensor, DType, dtypeSize } from "./value";
import { Table, parseTable, tableParseError } from "./table";

/** MAX_DEPTH is the deepest nesting of arrays and maps a Reader decodes (abi/ABI.md section 4). */
export const MAX_DEPTH: i32 = 512;

/**
 * Reader decodes MessagePack from the bytes [pos, end) of linear memory. Every read checks the
 * bounds first; on malformed input the reader sets `err` to a description and returns zero
 * values, so decoding host input never traps.
 *
 * `next` reads the header of one value and leaves the reader on its payload (str, bytes, ext)
 * or its first element (list, map).
 */
export class Reader {
  /** pos is the address of the next byte to read. */
  pos: usize;
  /** end is the address just past the last byte. */
  end: usize;
  /** err describes the first malformed input met, or is null. */
  err: string | null = null;
  /**
   * base, when set, is the buffer that holds [pos, end): tensors found in it are views of it
   * when aligned. Without it, tensors are always copied.
   */
  base: ArrayBuffer | null = null;

  // The header read by next: kind, then the integer or float, or the length and ext type.
  /** kind is the family of the value whose header `next` read last. */
  kind: Kind = Kind.Nil;
  /** int is the integer (Int, Uint as bits, Bool as 0/1) of the last header. */
  int: i64 = 0;
  /** float is the float of the last header. */
  float: f64 = 0;
  /** len is the byte length (Str, Bytes, Ext) or element count (List, Map) of the last header. */
  len: u32 = 0;
  /** ext is the extension type of the last header when kind is Ext/Tensor/Handle/ByRef. */
  ext: i8 = 0;

  /** The constructor reads the `len` bytes at `ptr`. */
  constructor(ptr: usize, len: usize) {
    this.pos = ptr;
    this.end = ptr + len;
  }

  /** reset makes the reader read the `len` bytes at `ptr` again, with no error. */
  reset(ptr: usize, len: usize): void {
    this.pos = ptr;
    this.end = ptr + len;
    this.err = null;
  }

  /** fail records `msg` as the error unless one is recorded; it returns false. */
  fail(msg: string): bool {
    if (this.err === null) this.err = msg;
    this.pos = this.end;
    this.kind = Kind.Nil;
    return false;
  }

  /** remaining is the number of bytes left. */
  @inline get remaining(): usize {
    return this.end - this.pos;
  }

  private need(n: usize): bool {
    if (this.end - this.pos < n) return this.fail("truncated value");
    return true;
  }

  private u8(): u32 {
    const v = <u32>load<u8>(this.pos);
    this.pos += 1;
    return v;
  }

  private be16(): u32 {
    const v = <u32>bswap<u16>(load<u16>(this.pos));
    this.pos += 2;
    return v;
  }

  private be32(): u32 {
    const v = bswap<u32>(load<u32>(this.pos));
    this.pos += 4;
    return v;
  }

  private be64(): u64 {
    const v = bswap<u64>(load<u64>(this.pos));
    this.pos += 8;
    return v;
  }

  /** next reads the header of the next value; it returns false (and sets err) on bad input. */
  next(): bool {
    if (this.err !== null || !this.need(1)) return false;
    const b = this.u8();
    if (b <= 0x7f) return this.setInt(Kind.Int, b);
    if (b >= 0xe0) return this.setInt(Kind.Int, <i64><i8>b);
    if (b <= 0x8f) return this.setLen(Kind.Map, b & 0x0f);
    if (b <= 0x9f) return this.setLen(Kind.List, b & 0x0f);
    if (b <= 0xbf) return this.setLen(Kind.Str, b & 0x1f);
    switch (b) {
      case 0xc0: this.kind = Kind.Nil; return true;
      case 0xc2: return this.setInt(Kind.Bool, 0);
      case 0xc3: return this.setInt(Kind.Bool, 1);
      case 0xc4: return this.need(1) && this.setLen(Kind.Bytes, this.u8());
      case 0xc5: return this.need(2) && this.setLen(Kind.Bytes, this.be16());
      case 0xc6: return this.need(4) && this.setLen(Kind.Bytes, this.be32());
      case 0xc7: return this.need(2) && this.setExt(this.u8());
      case 0xc8: return this.need(3) && this.setExt(this.be16());
      case 0xc9: return this.need(5) && this.setExt(this.be32());
      case 0xca: {
        if (!this.need(4)) return false;
        this.kind = Kind.Float32;
        this.float = <f64>reinterpret<f32>(this.be32());
        return true;
      }
      case 0xcb: {
        if (!this.need(8)) return false;
        this.kind = Kind.Float64;
        this.float = reinterpret<f64>(this.be64());
        return true;
      }
      case 0xcc: return this.need(1) && this.setInt(Kind.Int, this.u8());
      case 0xcd: return this.need(2) && this.setInt(Kind.Int, this.be16());
      case 0xce: return this.need(4) && this.setInt(Kind.Int, this.be32());
      case 0xcf: {
        if (!this.need(8)) return false;
        const v = this.be64();
        return this.setInt(v > <u64>i64.MAX_VALUE ? Kind.Uint : Kind.Int, <i64>v);
      }
      case 0xd0: return this.need(1) && this.setInt(Kind.Int, <i64><i8>this.u8());
      case 0xd1: return this.need(2) && this.setInt(Kind.Int, <i64><i16>this.be16());
      case 0xd2: return this.need(4) && this.setInt(Kind.Int, <i64><i32>this.be32());
      case 0xd3: return this.need(8) && this.setInt(Kind.Int, <i64>this.be64());
      case 0xd4: return this.setExt(1);
      case 0xd5: return this.setExt(2);
      case 0xd6: return this.setExt(4);
      case 0xd7: return this.setExt(8);
      case 0xd8: return this.setExt(16);
      case 0xd9: return this.need(1) && this.setLen(Kind.Str, this.u8());
      case 0xda: return this.need(2) && this.setLen(Kind.Str, this.be16());
      case 0xdb: return this.need(4) && this.setLen(Kind.Str, this.be32());
      case 0xdc: return this.need(2) && this.setLen(Kind.List, this.be16());
      case 0xdd: return this.need(4) && this.setLen(Kind.List, this.be32());
      case 0xde: return this.need(2) && this.setLen(Kind.Map, this.be16());
      case 0xdf: return this.need(4) && this.setLen(Kind.Map, this.be32());
      default: return this.fail("reserved type byte 0xc1");
    }
  }

  private setInt(kind: Kind, v: i64): bool {
    this.kind = kind;
    this.int = v;
    return true;
  }

  // setLen checks that a payload (or, for containers, one byte per element) fits.
  private setLen(kind: Kind, n: u32): bool {
    this.kind = kind;
    this.len = n;
    let min = <u64>n;
    if (kind == Kind.Map) min <<= 1;
    if (min > <u64>this.remaining) return this.fail("length runs past the end");
    return true;
  }

  private setExt(n: u32): bool {
    if (!this.need(1)) return false;
    this.ext = <i8>this.u8();
    if (!this.setLen(Kind.Ext, n)) return false;
    if (this.ext == 2 || this.ext == 3) {
      if (n != 4) return this.fail("handle of " + n.toString() + " bytes, want 4");
      this.kind = this.ext == 2 ? Kind.Handle : Kind.ByRef;
      this.int = <i64>bswap<u32>(load<u32>(this.pos));
      this.pos += 4;
    } else if (this.ext == 4) {
      this.kind = Kind.Tensor;
    } else if (this.ext == 5) {
      this.kind = Kind.Table;
    }
    return true;
  }

  /** skip skips `n` whole values, containers and all, without recursion. */
  skip(n: u64 = 1): bool {
    let pending = n;
    while (pending > 0) {
      if (!this.next()) return false;
      pending--;
      switch (this.kind) {
        case Kind.List: pending += this.len; break;
        case Kind.Map: pending += <u64>this.len << 1; break;
        case Kind.Str: case Kind.Bytes: case Kind.Ext: case Kind.Tensor: case Kind.Table: this.pos += this.len; break;
      }
      if (pending > <u64>this.remaining) return this.fail("length runs past the end");
    }
    return true;
  }

  /** string decodes the `len` UTF-8 bytes of a Str whose header was read, and skips them. */
  string(): string {
    const s = String.UTF8.decodeUnsafe(this.pos, this.len);
    this.pos += this.len;
    return s;
  }

  /** bytes copies the `len` bytes of a Bytes or Ext payload whose header was read. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.len);
    memory.copy(out.dataStart, this.pos, this.len);
    this.pos += this.len;
    return out;
  }

  /**
   * tensor decodes the payload of a Tensor whose header was read (abi/ABI.md section 5.3):
   * a view of `base` when the elements are aligned in it, else one copy. On a malformed
   * payload it sets err and returns null.
   */
  tensor(): Tensor | null {
    const p = this.pos;
    const n = <usize>this.len;
    this.pos += n;
    if (n < 8) { this.fail("tensor payload of " + n.toString() + " bytes"); return null; }
    const dtype = <i32>load<u8>(p);
    const ndim = <i32>load<u8>(p, 1);
    const size = dtypeSize(dtype);
    if (size == 0) { this.fail("tensor of unknown dtype " + dtype.toString()); return null; }
    if (ndim > 32) { this.fail("tensor of " + ndim.toString() + " dimensions"); return null; }
    if ((load<u64>(p) >> 16) != 0) { this.fail("tensor header padding is not zero"); return null; }
    const head: usize = 8 + 8 * <usize>ndim;
    if (n < head) { this.fail("truncated tensor shape"); return null; }
    const shape = new Array<i64>(ndim);
    let count: u64 = 1;
    let big = false;
    for (let i = 0; i < ndim; i++) {
      const d = load<u64>(p + 8 + 8 * <usize>i);
      unchecked(shape[i] = <i64>d);
      if (d > 0xffffffff) big = true;
      count *= d;
      if (count > 0xffffffff) big = true;
    }
    if (count == 0) big = false;
    const bytes = n - head;
    if (big || count * <u64>size != <u64>bytes) {
      this.fail("tensor elements do not match its shape");
      return null;
    }
    const elems = p + head;
    const base = this.base;
    if (base !== null && (elems & <usize>(size - 1)) == 0) {
      const off = elems - changetype<usize>(base);
      return new Tensor(<DType>dtype, shape, base, <i32>off, <i32>bytes);
    }
    const copy = new ArrayBuffer(<i32>bytes);
    memory.copy(changetype<usize>(copy), elems, bytes);
    return new Tensor(<DType>dtype, shape, copy, 0, <i32>bytes);
  }

  /**
   * table decodes the payload of a Table whose header was read (abi/ABI.md section 5.4): its
   * columns are views of `base` when the payload is 8-byte aligned in it, else of one copy. On
   * a malformed payload it sets err ("malformed table: ...") and returns null.
   */
  table(): Table | null {
    const p = this.pos;
    const n = <usize>this.len;
    this.pos += n;
    const t = parseTable(p, n, this.base);
    if (t === null) this.fail("malformed table: " + tableParseError());
    return t;
  }

  /** value decodes one whole value of any kind (null, with err set, on bad input). */
  value(): Value | null {
    return this.valueAt(0);
  }

  private valueAt(depth: i32): Value | null {
    if (!this.next()) return null;
    switch (this.kind) {
      case Kind.Nil: return Value.nil();
      case Kind.Bool: return Value.bool(this.int != 0);
      case Kind.Int: return Value.int(this.int);
      case Kind.Uint: return Value.uint(<u64>this.int);
      case Kind.Float32: return Value.float32(<f32>this.float);
      case Kind.Float64: return Value.float(this.float);
      case Kind.Str: return Value.strUTF8(this.bytes());
      case Kind.Bytes: return Value.bytes(this.bytes());
      case Kind.Handle: return Value.handle(<u32>this.int);
      case Kind.ByRef: return Value.byRef(<u32>this.int);
      case Kind.Ext: {
        const t = this.ext;
        return Value.ext(t, this.bytes());
      }
      case Kind.Tensor: {
        const t = this.tensor();
        return t ? Value.tensor(t) : null;
      }
      case Kind.Table: {
        const t = this.table();
        return t ? Value.table(t) : null;
      }
      case Kind.List: {
        if (depth >= MAX_DEPTH) { this.fail("nesting deeper than 512 levels"); return null; }
        const n = <i32>this.len;
        const items = new Array<Value>(n);
        for (let i = 0; i < n; i++) {
          const v = this.valueAt(depth + 1);
          if (!v) return null;
          unchecked(items[i] = v);
        }
        return Value.list(items);
      }
      default: { // Map
        if (depth >= MAX_DEPTH) { this.fail("nesting deeper than 512 levels"); return null; }
        const n = <i32>this.len;
        const keys = new Array<Value>(n);
        const vals = new Array<Value>(n);
        for (let i = 0; i < n; i++) {
          const k = this.valueAt(depth + 1);
          if (!k) return null;
          const v = this.valueAt(depth + 1);
          if (!v) return null;
          unchecked(keys[i] = k);
          unchecked(vals[i] = v);
        }
        return Value.map(keys, vals);
      }
    }
  }
}

/** equalUTF8 is true when the `n` UTF-8 bytes at `p` spell `s`. */
export function equalUTF8(p: usize, n: u32, s: string): bool {
  const m = s.length;
  if (<u32>m > n) return false;
  let ascii = true;
  for (let i = 0; i < m; i++) {
    const c = <u32>s.charCodeAt(i);
    if (c >= 0x80) { ascii = false; break; }
  }
  if (ascii) {
    if (<u32>m != n) return false;
    for (let i = 0; i < m; i++) {
      if (<u32>load<u8>(p + <usize>i) != <u32>s.charCodeAt(i)) return false;
    }
    return true;
  }
  const b = String.UTF8.encode(s);
  if (<u32>b.byteLength != n) return false;
  return memory.compare(p, changetype<usize>(b), n) == 0;
}
