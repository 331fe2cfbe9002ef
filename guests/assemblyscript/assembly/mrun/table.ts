// Table: named, typed columns of one length (ext type 5, abi/ABI.md section 5.4).

/** ColType is the type of a table Column: its value is the code of abi/ABI.md section 5.4. */
export enum ColType {
  /** 64-bit signed integers. */
  Int64 = 4,
  /** IEEE 754 doubles. */
  Float64 = 10,
  /** Booleans, one byte each (0 or 1). */
  Bool = 11,
  /** UTF-8 text. */
  String = 32,
  /** Nanoseconds since 1970-01-01 UTC, as an int64. */
  Timestamp = 33,
}

/** colTypeName is the name of a column type ("int64", ...; "coltype(N)" for an unknown code). */
export function colTypeName(t: i32): string {
  switch (t) {
    case ColType.Int64: return "int64";
    case ColType.Float64: return "float64";
    case ColType.Bool: return "bool";
    case ColType.String: return "string";
    case ColType.Timestamp: return "timestamp";
    default: return "coltype(" + t.toString() + ")";
  }
}

// width is the size of one value of a fixed-width column type, 0 for strings and unknown codes.
function width(t: i32): u32 {
  switch (t) {
    case ColType.Int64: case ColType.Float64: case ColType.Timestamp: return 8;
    case ColType.Bool: return 1;
    default: return 0;
  }
}

/** MAX_COLUMNS is the most columns a table may have. */
export const MAX_COLUMNS: i32 = 65536;

/**
 * Column is one named, typed column of a Table. Make one with `Column.int64`, `float64`,
 * `bool`, `string` or `timestamp`; read it with the view of its type (`i64()`, `f64()`,
 * `bools()`, `timestamps()`, `str(i)`, `utf8(i)`), which is empty for a column of another type.
 *
 * A column of a table argument is a view of the argument frame, as a tensor's elements are
 * (one copy of the table when it is not 8-byte aligned there): valid until the function
 * returns; `Table.clone` keeps a copy.
 */
export class Column {
  /** name is the column's name. */
  readonly name: string;
  /** type is the column's type. */
  readonly type: ColType;
  /** length is the number of values: the table's number of rows. */
  readonly length: i32;
  /** buffer holds the values: fixed-width values, or a string column's text. */
  readonly buffer: ArrayBuffer;
  /** byteOffset is where the values start in `buffer`. */
  readonly byteOffset: i32;
  /** byteLength is the size of the values (of the text, for strings) in bytes. */
  readonly byteLength: i32;
  // String columns: length+1 little-endian u32 offsets into the text, at offsOffset of offs.
  private offs: ArrayBuffer;
  private offsOffset: i32;

  /** The constructor wraps existing values; the static constructors make new columns. */
  constructor(name: string, type: ColType, length: i32, buffer: ArrayBuffer, byteOffset: i32, byteLength: i32,
    offs: ArrayBuffer | null = null, offsOffset: i32 = 0) {
    this.name = name;
    this.type = type;
    this.length = length;
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.byteLength = byteLength;
    this.offs = offs !== null ? offs : buffer;
    this.offsOffset = offsOffset;
  }

  /** int64 is a column of int64 values that shares `v`'s memory. */
  static int64(name: string, v: Int64Array): Column {
    return new Column(name, ColType.Int64, v.length, v.buffer, v.byteOffset, v.byteLength);
  }

  /** float64 is a column of float64 values that shares `v`'s memory. */
  static float64(name: string, v: Float64Array): Column {
    return new Column(name, ColType.Float64, v.length, v.buffer, v.byteOffset, v.byteLength);
  }

  /** timestamp is a column of instants, nanoseconds since the Unix epoch, sharing `ns`'s memory. */
  static timestamp(name: string, ns: Int64Array): Column {
    return new Column(name, ColType.Timestamp, ns.length, ns.buffer, ns.byteOffset, ns.byteLength);
  }

  /** bool is a column of booleans, copied. */
  static bool(name: string, v: bool[]): Column {
    const b = new ArrayBuffer(v.length);
    for (let i = 0; i < v.length; i++) store<u8>(changetype<usize>(b) + <usize>i, unchecked(v[i]) ? 1 : 0);
    return new Column(name, ColType.Bool, v.length, b, 0, v.length);
  }

  /** string is a column of strings, encoded as UTF-8 (an unpaired surrogate becomes U+FFFD). */
  static string(name: string, v: string[]): Column {
    const n = v.length;
    const offs = new ArrayBuffer(4 * (n + 1));
    let size: usize = 0;
    for (let i = 0; i < n; i++) {
      size += <usize>String.UTF8.byteLength(unchecked(v[i]));
      store<u32>(changetype<usize>(offs) + 4 * <usize>(i + 1), <u32>size);
    }
    const text = new ArrayBuffer(<i32>size);
    let at = changetype<usize>(text);
    for (let i = 0; i < n; i++) {
      const s = unchecked(v[i]);
      at += String.UTF8.encodeUnsafe(changetype<usize>(s), s.length, at, false, String.UTF8.ErrorMode.REPLACE);
    }
    return new Column(name, ColType.String, n, text, 0, <i32>size, offs, 0);
  }

  /** typeName is the name of the column's type ("int64", ...). */
  typeName(): string {
    return colTypeName(this.type);
  }

  /** i64 is a view of an int64 column's values (empty for any other type). */
  i64(): Int64Array {
    if (this.type != ColType.Int64) return new Int64Array(0);
    return Int64Array.wrap(this.buffer, this.byteOffset, this.length);
  }

  /** f64 is a view of a float64 column's values (empty for any other type). */
  f64(): Float64Array {
    if (this.type != ColType.Float64) return new Float64Array(0);
    return Float64Array.wrap(this.buffer, this.byteOffset, this.length);
  }

  /** bools is a view of a bool column's values, one byte each, 0 or 1 (empty for any other type). */
  bools(): Uint8Array {
    if (this.type != ColType.Bool) return new Uint8Array(0);
    return Uint8Array.wrap(this.buffer, this.byteOffset, this.length);
  }

  /** timestamps is a view of a timestamp column's nanoseconds (empty for any other type). */
  timestamps(): Int64Array {
    if (this.type != ColType.Timestamp) return new Int64Array(0);
    return Int64Array.wrap(this.buffer, this.byteOffset, this.length);
  }

  /** offset is the start of string `i` in the text (string columns, 0 <= i <= length). */
  @inline private offset(i: i32): u32 {
    return load<u32>(changetype<usize>(this.offs) + <usize>this.offsOffset + 4 * <usize>i);
  }

  /** utf8 is a view of the UTF-8 bytes of value `i` of a string column (empty otherwise). */
  utf8(i: i32): Uint8Array {
    if (this.type != ColType.String || i < 0 || i >= this.length) return new Uint8Array(0);
    const lo = this.offset(i);
    return Uint8Array.wrap(this.buffer, this.byteOffset + <i32>lo, <i32>(this.offset(i + 1) - lo));
  }

  /** str is value `i` of a string column, decoded ("" for another type or a bad index). */
  str(i: i32): string {
    if (this.type != ColType.String || i < 0 || i >= this.length) return "";
    const lo = this.offset(i);
    return String.UTF8.decodeUnsafe(changetype<usize>(this.buffer) + <usize>this.byteOffset + <usize>lo, <usize>(this.offset(i + 1) - lo));
  }

  /** strings is every value of a string column, decoded (empty for another type). */
  strings(): string[] {
    if (this.type != ColType.String) return [];
    const out = new Array<string>(this.length);
    for (let i = 0; i < this.length; i++) unchecked(out[i] = this.str(i));
    return out;
  }

  /** offsetsPtr is the address of a string column's length+1 u32 offsets. */
  get offsetsPtr(): usize {
    return changetype<usize>(this.offs) + <usize>this.offsOffset;
  }

  /** dataPtr is the address of the values (the text, for strings). */
  get dataPtr(): usize {
    return changetype<usize>(this.buffer) + <usize>this.byteOffset;
  }

  /** clone is a copy of the column with memory of its own. */
  clone(): Column {
    const b = this.buffer.slice(this.byteOffset, this.byteOffset + this.byteLength);
    if (this.type != ColType.String) return new Column(this.name, this.type, this.length, b, 0, this.byteLength);
    const o = this.offs.slice(this.offsOffset, this.offsOffset + 4 * (this.length + 1));
    return new Column(this.name, this.type, this.length, b, 0, this.byteLength, o, 0);
  }

  // check reports what makes the column's values break ABI.md section 5.4, if anything.
  check(): string | null {
    const q = quoteString(this.name);
    const w = width(this.type);
    if (w > 0) {
      if (<u64>this.byteLength != <u64>w * <u64>this.length) {
        return "column " + q + " needs " + (<u64>w * <u64>this.length).toString() + " bytes, has " + this.byteLength.toString();
      }
      if (this.type == ColType.Bool) {
        const p = this.dataPtr;
        for (let i = 0; i < this.length; i++) {
          if (load<u8>(p + <usize>i) > 1) return "bool column " + q + " holds a byte other than 0 and 1";
        }
      }
      return null;
    }
    if (this.type != ColType.String) return "column " + q + " has unknown type " + (<i32>this.type).toString();
    if (this.offset(0) != 0) return "string column " + q + ": its offsets are not n+1 offsets from 0";
    // Valid text that no offset cuts inside a character holds valid values.
    const text = this.dataPtr;
    const n = <u32>this.byteLength;
    const valid = validUTF8(text, n);
    for (let k = 0; k < this.length; k++) {
      const lo = this.offset(k), hi = this.offset(k + 1);
      if (hi < lo || hi > n || (!valid && !validUTF8(text + <usize>lo, hi - lo)) ||
        (hi < n && (load<u8>(text + <usize>hi) & 0xc0) == 0x80)) {
        return "string column " + q + ": value " + k.toString() + " is out of order, out of range or not UTF-8";
      }
    }
    if (this.offset(this.length) != n) return "string column " + q + ": the last offset is not its length";
    return null;
  }
}

/**
 * Table is a table (ext type 5): named, typed columns of one length, like a data frame. A
 * function takes one as a parameter of type Table (or `Args.table(i)`) and may return one;
 * `Value.table(t)` puts one in any value. Build one with `new Table([Column.int64("a", v), ...])`.
 */
export class Table {
  /** columns are the table's columns, in order. */
  readonly columns: Column[];

  /** The constructor makes a table of `columns`, which must have distinct names and one length. */
  constructor(columns: Column[] = []) {
    this.columns = columns;
  }

  /** add appends a column and returns the table, for chaining. */
  add(c: Column): Table {
    this.columns.push(c);
    return this;
  }

  /** ncols is the number of columns. */
  get ncols(): i32 {
    return this.columns.length;
  }

  /** rows is the number of rows (0 for a table without columns). */
  get rows(): i32 {
    return this.columns.length > 0 ? unchecked(this.columns[0]).length : 0;
  }

  /** at is column `i`. */
  at(i: i32): Column {
    return this.columns[i];
  }

  /** column is the column named `name`, or null. */
  column(name: string): Column | null {
    for (let i = 0; i < this.columns.length; i++) {
      const c = unchecked(this.columns[i]);
      if (c.name == name) return c;
    }
    return null;
  }

  /** toString describes the table without its values: "table of 3 rows: a int64, b string". */
  toString(): string {
    let s = "table of " + this.rows.toString() + " rows";
    for (let i = 0; i < this.columns.length; i++) {
      const c = unchecked(this.columns[i]);
      s += (i == 0 ? ": " : ", ") + c.name + " " + c.typeName();
    }
    return s;
  }

  /** clone is a copy of the table that shares no memory with it. */
  clone(): Table {
    const cols = new Array<Column>(this.columns.length);
    for (let i = 0; i < cols.length; i++) unchecked(cols[i] = unchecked(this.columns[i]).clone());
    return new Table(cols);
  }

  /**
   * check reports what makes the table break ABI.md section 5.4 (as a result), or null: the
   * messages of the Go guest SDK, names quoted as Go quotes them.
   */
  check(): string | null {
    return this.checkNames(null);
  }

  // checkNames is check; nameOK, when given, says which names (as read) were valid UTF-8.
  checkNames(nameOK: bool[] | null): string | null {
    const cols = this.columns;
    if (cols.length > MAX_COLUMNS) return "a table has at most 65536 columns, got " + cols.length.toString();
    for (let i = 0; i < cols.length; i++) {
      const c = unchecked(cols[i]);
      const nl = String.UTF8.byteLength(c.name);
      if (nl == 0 || nl > 65535 || (nameOK !== null && !unchecked(nameOK[i]))) return "column " + i.toString() + ": a name is 1 to 65535 bytes of UTF-8";
      for (let j = 0; j < i; j++) {
        if (unchecked(cols[j]).name == c.name) return "two columns are named " + quoteString(c.name);
      }
      const first = unchecked(cols[0]);
      if (c.length != first.length) {
        return "column " + quoteString(c.name) + " has " + c.length.toString() + " values, column " + quoteString(first.name) + " has " + first.length.toString();
      }
      const e = c.check();
      if (e !== null) return e;
    }
    return null;
  }
}

function pad8(n: u64): u64 {
  return (8 - (n & 7)) & 7;
}

// allZero is true when the n bytes at p are zero.
function allZero(p: usize, n: usize): bool {
  for (let i: usize = 0; i < n; i++) if (load<u8>(p + i) != 0) return false;
  return true;
}

// The reason the last parseTable returned null.
let parseErr: string = "";

/** tableParseError is why the last `parseTable` failed. */
export function tableParseError(): string {
  return parseErr;
}

function bad(why: string): Table | null {
  parseErr = why;
  return null;
}

/**
 * parseTable checks the ext-5 payload of `n` bytes at `p` against ABI.md section 5.4 and
 * returns its table, or null (`tableParseError()` says why). When `base` holds the payload and
 * the payload is 8-byte aligned, the columns are views of `base`; otherwise the payload is
 * copied once into an aligned buffer of its own.
 */
export function parseTable(p: usize, n: usize, base: ArrayBuffer | null): Table | null {
  if (base === null || (p & 7) != 0) {
    if (n > 0x3ff00000) return bad("a payload of " + n.toString() + " bytes is over 1 GiB");
    const copy = new ArrayBuffer(<i32>n);
    memory.copy(changetype<usize>(copy), p, n);
    base = copy;
    p = changetype<usize>(copy);
  }
  const b = changetype<usize>(base);
  if (n < 16) return bad("a payload of " + n.toString() + " bytes is shorter than the 16-byte header");
  const ncols = <u64>load<u32>(p);
  const nrows = load<u64>(p, 8);
  if (load<u32>(p, 4) != 0) return bad("the flags are not zero");
  if (ncols > <u64>MAX_COLUMNS) return bad(ncols.toString() + " columns, more than 65536");
  if (nrows > 0xffffffff) return bad(nrows.toString() + " rows, more than 2^32-1");
  if (ncols == 0 && nrows != 0) return bad(nrows.toString() + " rows but no columns");
  if (ncols * 5 > <u64>(n - 16)) return bad("a payload of " + n.toString() + " bytes cannot hold " + ncols.toString() + " columns");
  const nc = <i32>ncols;
  const rows = <i32>nrows;
  const types = new Array<i32>(nc);
  const names = new Array<string>(nc);
  const nameOK = new Array<bool>(nc);
  const nameAt = new Array<usize>(nc);
  let off: usize = 16;
  for (let i = 0; i < nc; i++) {
    if (n - off < 4 || load<u8>(p + off + 1) != 0) return bad("column descriptor " + i.toString() + " is cut short or its padding is not zero");
    unchecked(types[i] = <i32>load<u8>(p + off));
    const nl = <usize>load<u16>(p + off + 2);
    off += 4;
    if (nl > n - off) return bad("the name of column " + i.toString() + " runs past the payload");
    unchecked(nameOK[i] = nl > 0 && validUTF8(p + off, <u32>nl));
    unchecked(nameAt[i] = off);
    unchecked(names[i] = String.UTF8.decodeUnsafe(p + off, nl));
    off += nl;
  }
  const dpad = <usize>pad8(<u64>off);
  if (dpad > n - off || !allZero(p + off, dpad)) return bad("the column descriptors' padding is cut short or not zero");
  off += dpad;
  const cols = new Array<Column>(nc);
  for (let i = 0; i < nc; i++) {
    const typ = unchecked(types[i]);
    const name = unchecked(names[i]);
    const at0 = unchecked(nameAt[i]);
    const w = width(typ);
    let ok = true;
    let dataAt: usize = 0, dataLen: u64 = 0, offsAt: usize = 0;
    if (w > 0) {
      dataLen = nrows * <u64>w;
      dataAt = off;
      ok = take(p, n, off, dataLen);
      if (ok) off += <usize>(dataLen + pad8(dataLen));
    } else if (typ == ColType.String) {
      const ol = 4 * (nrows + 1);
      offsAt = off;
      ok = take(p, n, off, ol);
      if (ok) {
        off += <usize>(ol + pad8(ol));
        dataLen = <u64>load<u32>(p + offsAt + 4 * <usize>rows);
        dataAt = off;
        ok = take(p, n, off, dataLen);
        if (ok) off += <usize>(dataLen + pad8(dataLen));
      }
    } else {
      return bad("column " + quote(p + at0, <usize>load<u16>(p + at0 - 2)) + " has unknown type " + typ.toString());
    }
    if (!ok) return bad("column " + quote(p + at0, <usize>load<u16>(p + at0 - 2)) + " runs past the payload or its padding is not zero");
    const at = <i32>(p + dataAt - b);
    unchecked(cols[i] = typ == ColType.String
      ? new Column(name, <ColType>typ, rows, base, at, <i32>dataLen, base, <i32>(p + offsAt - b))
      : new Column(name, <ColType>typ, rows, base, at, <i32>dataLen));
  }
  if (off != n) return bad((n - off).toString() + " bytes after the last column");
  const t = new Table(cols);
  const e = t.checkNames(nameOK);
  if (e !== null) return bad(e);
  return t;
}

// take is true when `len` bytes and their padding to 8 fit at `off` of the n-byte payload at
// p, with the padding zero.
function take(p: usize, n: usize, off: usize, len: u64): bool {
  const padded = len + pad8(len);
  if (padded > <u64>(n - off)) return false;
  return allZero(p + off + <usize>len, <usize>(padded - len));
}

/**
 * validUTF8 is true when the n bytes at p are valid UTF-8 (no overlong forms, surrogates or
 * code points above U+10FFFF), as Go's utf8.Valid.
 */
export function validUTF8(p: usize, n: u32): bool {
  let i: u32 = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c < 0x80) { i++; continue; }
    let need: u32 = 0, lo: u32 = 0x80, hi: u32 = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c == 0xe0) lo = 0xa0;
      else if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c == 0xf0) lo = 0x90;
      else if (c == 0xf4) hi = 0x8f;
    } else return false;
    if (n - i - 1 < need) return false;
    const c1 = <u32>load<u8>(p + <usize>i + 1);
    if (c1 < lo || c1 > hi) return false;
    for (let k: u32 = 2; k <= need; k++) {
      const ck = <u32>load<u8>(p + <usize>(i + k));
      if (ck < 0x80 || ck > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}

// hex is the two lowercase hex digits of byte b.
function hex2(b: u32): string {
  const d = "0123456789abcdef";
  return d.charAt(<i32>(b >> 4)) + d.charAt(<i32>(b & 15));
}

// printable is false for the runes outside ASCII that Go's strconv.IsPrint refuses and that a
// name is likely to hold: C1 controls, spaces other than U+0020, format characters, private use.
function printable(r: u32): bool {
  if (r < 0xa0) return false;
  if (r == 0xa0 || r == 0xad || r == 0x1680 || r == 0x3000 || r == 0xfeff) return false;
  if ((r >= 0x2000 && r <= 0x200f) || (r >= 0x2028 && r <= 0x202f) || (r >= 0x205f && r <= 0x206f)) return false;
  if ((r >= 0xe000 && r <= 0xf8ff) || (r >= 0xfff9 && r <= 0xfffb) || r >= 0xf0000) return false;
  return true;
}

/**
 * quote is the n bytes at p as a double-quoted string, as Go's %q prints them (strconv.Quote):
 * printable characters as they are, `"` and `\\` escaped, control characters and bytes that are
 * not UTF-8 as escapes. Error messages quote names with it, so they read as the Go SDK's.
 */
export function quote(p: usize, n: usize): string {
  let s = "\"";
  let i: usize = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + i);
    if (c < 0x80) {
      if (c == 0x22) s += "\\\"";
      else if (c == 0x5c) s += "\\\\";
      else if (c >= 0x20 && c < 0x7f) s += String.fromCharCode(c);
      else if (c == 7) s += "\\a";
      else if (c == 8) s += "\\b";
      else if (c == 12) s += "\\f";
      else if (c == 10) s += "\\n";
      else if (c == 13) s += "\\r";
      else if (c == 9) s += "\\t";
      else if (c == 11) s += "\\v";
      else s += "\\x" + hex2(c);
      i++;
      continue;
    }
    let w: usize = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    if (w > n - i || !validUTF8(p + i, <u32>w)) {
      s += "\\x" + hex2(c);
      i++;
      continue;
    }
    let r: u32 = w == 2 ? c & 0x1f : w == 3 ? c & 0x0f : c & 0x07;
    for (let k: usize = 1; k < w; k++) r = (r << 6) | (<u32>load<u8>(p + i + k) & 0x3f);
    if (printable(r)) {
      s += String.UTF8.decodeUnsafe(p + i, w);
    } else if (r < 0x10000) {
      s += "\\u" + hex2(r >> 8) + hex2(r & 0xff);
    } else {
      s += "\\U" + hex2(r >> 24) + hex2((r >> 16) & 0xff) + hex2((r >> 8) & 0xff) + hex2(r & 0xff);
    }
    i += w;
  }
  return s + "\"";
}

// quoteString is quote of the UTF-8 encoding of s.
function quoteString(s: string): string {
  const b = String.UTF8.encode(s);
  return quote(changetype<usize>(b), <usize>b.byteLength);
}
