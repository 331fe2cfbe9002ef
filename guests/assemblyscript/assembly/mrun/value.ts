// Value, the SDK's generic MessagePack value, and Tensor, an n-dimensional array (ext type 4).

import { Table } from "./table";

/** Kind is the family of a Value (abi/ABI.md section 5). */
export enum Kind {
  /** nil / None. */
  Nil,
  /** true or false. */
  Bool,
  /** An integer from -2^63 to 2^63-1. */
  Int,
  /** An integer from 2^63 to 2^64-1 (smaller non-negative integers are Int). */
  Uint,
  /** A float32, kept at its width. */
  Float32,
  /** A float64. */
  Float64,
  /** UTF-8 text. */
  Str,
  /** Bytes (MessagePack bin). */
  Bytes,
  /** An array of Values. */
  List,
  /** A map: parallel lists of keys and values, in order. */
  Map,
  /** An n-dimensional array (ext type 4). */
  Tensor,
  /** An Object: a handle (ext 2), a dependency when passed to spawn. */
  Handle,
  /** An Object passed by reference (ext 3): the child receives a handle of its own. */
  ByRef,
  /** Any other extension value (timestamps included): type and payload, passed through. */
  Ext,
  /** A table: named, typed columns (ext type 5). */
  Table,
}

/** kindName is the name of a kind as error messages print it ("an int", "a str", ...). */
export function kindName(k: Kind): string {
  switch (k) {
    case Kind.Nil: return "nil";
    case Kind.Bool: return "a bool";
    case Kind.Int: return "an int";
    case Kind.Uint: return "an int";
    case Kind.Float32: return "a float";
    case Kind.Float64: return "a float";
    case Kind.Str: return "a str";
    case Kind.Bytes: return "bytes";
    case Kind.List: return "a list";
    case Kind.Map: return "a map";
    case Kind.Tensor: return "a tensor";
    case Kind.Handle: return "an Object";
    case Kind.ByRef: return "an Object";
    case Kind.Table: return "a table";
    default: return "an ext value";
  }
}

/**
 * Value is one MessagePack value of any kind: what `identity` decodes and encodes again, what
 * a function may return, and what nested spawn takes as arguments. Make one with the static
 * constructors (`Value.int(1)`, `Value.str("a")`, `Value.list([...])`) and read it with the
 * `as*` accessors after checking `kind`; an accessor of the wrong kind returns a zero value.
 */
export class Value {
  /** kind is the family of the value. */
  readonly kind: Kind;
  // Int, Uint (bits), Bool (0/1), handle numbers, ext type.
  private n: i64 = 0;
  private f: f64 = 0;
  private s: string | null = null;
  private b: Uint8Array | null = null;
  private items: Value[] | null = null;
  private vals: Value[] | null = null;
  private t: Tensor | null = null;
  private tb: Table | null = null;

  private constructor(kind: Kind) {
    this.kind = kind;
  }

  /** nil is the nil value. */
  static nil(): Value {
    return new Value(Kind.Nil);
  }

  /** bool is true or false. */
  static bool(v: bool): Value {
    const x = new Value(Kind.Bool);
    x.n = v ? 1 : 0;
    return x;
  }

  /** int is a signed 64-bit integer. */
  static int(v: i64): Value {
    const x = new Value(Kind.Int);
    x.n = v;
    return x;
  }

  /** uint is an unsigned 64-bit integer (of kind Int when it is at most 2^63-1). */
  static uint(v: u64): Value {
    const x = new Value(v > <u64>i64.MAX_VALUE ? Kind.Uint : Kind.Int);
    x.n = <i64>v;
    return x;
  }

  /** float is a float64. */
  static float(v: f64): Value {
    const x = new Value(Kind.Float64);
    x.f = v;
    return x;
  }

  /** float32 is a float32, encoded at its width. */
  static float32(v: f32): Value {
    const x = new Value(Kind.Float32);
    x.f = <f64>v;
    return x;
  }

  /** str is a string, encoded as UTF-8. */
  static str(v: string): Value {
    const x = new Value(Kind.Str);
    x.s = v;
    return x;
  }

  /**
   * strUTF8 is a string given as UTF-8 bytes (the value keeps `utf8`): it is encoded again by
   * copying those bytes, and decoded only if `asStr` is called. Decoded values use it, so
   * that passing a long string through costs one copy.
   */
  static strUTF8(utf8: Uint8Array): Value {
    const x = new Value(Kind.Str);
    x.b = utf8;
    return x;
  }

  /** bytes is a byte string (MessagePack bin); the value keeps `v`, it does not copy it. */
  static bytes(v: Uint8Array): Value {
    const x = new Value(Kind.Bytes);
    x.b = v;
    return x;
  }

  /** list is an array of values; the value keeps `items`. */
  static list(items: Value[]): Value {
    const x = new Value(Kind.List);
    x.items = items;
    return x;
  }

  /** map is a map of `keys[i]` to `vals[i]`, in this order; both arrays must be as long. */
  static map(keys: Value[], vals: Value[]): Value {
    const x = new Value(Kind.Map);
    x.items = keys;
    x.vals = vals;
    return x;
  }

  /** newMap is an empty map, to fill with `set`. */
  static newMap(): Value {
    return Value.map([], []);
  }

  /** tensor is an n-dimensional array. */
  static tensor(t: Tensor): Value {
    const x = new Value(Kind.Tensor);
    x.t = t;
    return x;
  }

  /** table is a table (ext type 5). */
  static table(t: Table): Value {
    const x = new Value(Kind.Table);
    x.tb = t;
    return x;
  }

  /** ext is an extension value of `type` with `payload`, passed through untouched. */
  static ext(type: i8, payload: Uint8Array): Value {
    const x = new Value(Kind.Ext);
    x.n = type;
    x.b = payload;
    return x;
  }

  /** handle is the Object of handle `h`: as a spawn argument, a dependency (ext 2). */
  static handle(h: u32): Value {
    const x = new Value(Kind.Handle);
    x.n = h;
    return x;
  }

  /** byRef is the Object of handle `h` passed by reference (ext 3): the child gets a handle. */
  static byRef(h: u32): Value {
    const x = new Value(Kind.ByRef);
    x.n = h;
    return x;
  }

  /** set appends the entry `key: v` to a map and returns the map, for chaining. */
  set(key: string, v: Value): Value {
    if (this.kind == Kind.Map) {
      this.items!.push(Value.str(key));
      this.vals!.push(v);
    }
    return this;
  }

  /** isNil is true for nil. */
  isNil(): bool {
    return this.kind == Kind.Nil;
  }

  /** isNumber is true for ints and floats. */
  isNumber(): bool {
    return this.kind >= Kind.Int && this.kind <= Kind.Float64;
  }

  /** asBool is the boolean (false unless Bool). */
  asBool(): bool {
    return this.kind == Kind.Bool && this.n != 0;
  }

  /** asI64 is the integer as i64 (a Uint wraps around; 0 unless Int or Uint). */
  asI64(): i64 {
    return this.kind == Kind.Int || this.kind == Kind.Uint ? this.n : 0;
  }

  /** asU64 is the integer as u64 (a negative Int wraps around; 0 unless Int or Uint). */
  asU64(): u64 {
    return this.kind == Kind.Int || this.kind == Kind.Uint ? <u64>this.n : 0;
  }

  /** asF64 is the number as f64, converting integers (0 unless a number). */
  asF64(): f64 {
    switch (this.kind) {
      case Kind.Int: return <f64>this.n;
      case Kind.Uint: return <f64><u64>this.n;
      case Kind.Float32:
      case Kind.Float64: return this.f;
      default: return 0;
    }
  }

  /** asStr is the string ("" unless Str). */
  asStr(): string {
    if (this.kind != Kind.Str) return "";
    let s = this.s;
    if (s === null) {
      const b = this.b!;
      s = String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
      this.s = s;
    }
    return s;
  }

  /** utf8 is the UTF-8 bytes of a Str made by `strUTF8`, or null. */
  get utf8(): Uint8Array | null {
    return this.kind == Kind.Str ? this.b : null;
  }

  /** asBytes is the bytes, or the payload of an Ext (empty otherwise). */
  asBytes(): Uint8Array {
    const b = this.b;
    return b !== null && (this.kind == Kind.Bytes || this.kind == Kind.Ext) ? b : new Uint8Array(0);
  }

  /** asList is the elements of a List (empty otherwise). */
  asList(): Value[] {
    return this.kind == Kind.List ? this.items! : [];
  }

  /** mapKeys is the keys of a Map, in order (empty otherwise). */
  mapKeys(): Value[] {
    return this.kind == Kind.Map ? this.items! : [];
  }

  /** mapValues is the values of a Map, in the order of its keys (empty otherwise). */
  mapValues(): Value[] {
    const v = this.vals;
    return v ? v : [];
  }

  /** get is the value of the first entry of a Map whose key is the string `key`, or null. */
  get(key: string): Value | null {
    if (this.kind != Kind.Map) return null;
    const keys = this.items!;
    for (let i = 0; i < keys.length; i++) {
      const k = unchecked(keys[i]);
      if (k.kind == Kind.Str && k.asStr() == key) return unchecked(this.vals![i]);
    }
    return null;
  }

  /** length is the number of elements of a List or entries of a Map, the bytes of a Str/Bytes. */
  get length(): i32 {
    switch (this.kind) {
      case Kind.List:
      case Kind.Map: return this.items!.length;
      case Kind.Str: return this.b !== null ? this.b!.length : String.UTF8.byteLength(this.s!);
      case Kind.Bytes:
      case Kind.Ext: return this.b!.length;
      default: return 0;
    }
  }

  /** asTensor is the tensor, or null unless Tensor. */
  asTensor(): Tensor | null {
    return this.t;
  }

  /** asTable is the table, or null unless Table. */
  asTable(): Table | null {
    return this.tb;
  }

  /** handle is the handle number of a Handle or ByRef (0 otherwise). */
  get handleNumber(): u32 {
    return this.kind == Kind.Handle || this.kind == Kind.ByRef ? <u32>this.n : 0;
  }

  /** extType is the extension type of an Ext (0 otherwise). */
  get extType(): i8 {
    return this.kind == Kind.Ext ? <i8>this.n : 0;
  }
}

/** DType is the element type of a Tensor: the codes of abi/ABI.md section 5.3. */
export enum DType {
  Int8 = 1,
  Int16 = 2,
  Int32 = 3,
  Int64 = 4,
  Uint8 = 5,
  Uint16 = 6,
  Uint32 = 7,
  Uint64 = 8,
  Float32 = 9,
  Float64 = 10,
  Bool = 11,
}

/** dtypeSize is the size in bytes of one element of `d`, or 0 for an unknown code. */
export function dtypeSize(d: i32): i32 {
  switch (d) {
    case DType.Int8: case DType.Uint8: case DType.Bool: return 1;
    case DType.Int16: case DType.Uint16: return 2;
    case DType.Int32: case DType.Uint32: case DType.Float32: return 4;
    case DType.Int64: case DType.Uint64: case DType.Float64: return 8;
    default: return 0;
  }
}

/** dtypeName is the name of `d` ("float64", ...). */
export function dtypeName(d: DType): string {
  switch (d) {
    case DType.Int8: return "int8";
    case DType.Int16: return "int16";
    case DType.Int32: return "int32";
    case DType.Int64: return "int64";
    case DType.Uint8: return "uint8";
    case DType.Uint16: return "uint16";
    case DType.Uint32: return "uint32";
    case DType.Uint64: return "uint64";
    case DType.Float32: return "float32";
    case DType.Float64: return "float64";
    default: return "bool";
  }
}

/**
 * Tensor is an n-dimensional array of numbers in row-major order (ext type 4). Its elements
 * are `byteLength` bytes of `buffer` from `byteOffset`, always aligned to the element size.
 *
 * A tensor argument is read in place: its elements are a view of the argument frame when they
 * are aligned there, else one copy. Such a view is valid until the function returns; `clone`
 * keeps one longer.
 */
export class Tensor {
  /** dtype is the element type. */
  readonly dtype: DType;
  /** shape is the size of each dimension, outermost first; empty for a scalar. */
  readonly shape: i64[];
  /** buffer holds the elements. */
  readonly buffer: ArrayBuffer;
  /** byteOffset is where the elements start in `buffer`. */
  readonly byteOffset: i32;
  /** byteLength is the size of the elements in bytes. */
  readonly byteLength: i32;

  /** The constructor wraps existing elements; `zeros` and `fromF64` make new tensors. */
  constructor(dtype: DType, shape: i64[], buffer: ArrayBuffer, byteOffset: i32, byteLength: i32) {
    this.dtype = dtype;
    this.shape = shape;
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.byteLength = byteLength;
  }

  /**
   * zeros is a new tensor of `dtype` and `shape`, every element zero. Like any allocation
   * over 1 GiB, a larger tensor aborts (a trap): check sizes that come from arguments.
   */
  static zeros(dtype: DType, shape: i64[]): Tensor {
    const n = shapeSize(shape) * dtypeSize(dtype);
    return new Tensor(dtype, shape, new ArrayBuffer(<i32>n), 0, <i32>n);
  }

  /** fromF64 is a float64 tensor of `shape` over the elements of `data` (not copied). */
  static fromF64(shape: i64[], data: Float64Array): Tensor {
    return new Tensor(DType.Float64, shape, data.buffer, data.byteOffset, data.byteLength);
  }

  /** ndim is the number of dimensions (0 for a scalar). */
  get ndim(): i32 {
    return this.shape.length;
  }

  /** size is the number of elements: the product of the shape. */
  get size(): i32 {
    return this.byteLength / dtypeSize(this.dtype);
  }

  /** dtypeName is the name of the element type ("float64", ...). */
  dtypeName(): string {
    return dtypeName(this.dtype);
  }

  /** dim is the size of dimension `i`, or 0 past the last dimension. */
  dim(i: i32): i64 {
    return i >= 0 && i < this.shape.length ? unchecked(this.shape[i]) : 0;
  }

  /** f64 is a view of the elements of a float64 tensor (empty for any other dtype). */
  f64(): Float64Array {
    if (this.dtype != DType.Float64) return new Float64Array(0);
    return Float64Array.wrap(this.buffer, this.byteOffset, this.byteLength >> 3);
  }

  /** f32 is a view of the elements of a float32 tensor (empty for any other dtype). */
  f32(): Float32Array {
    if (this.dtype != DType.Float32) return new Float32Array(0);
    return Float32Array.wrap(this.buffer, this.byteOffset, this.byteLength >> 2);
  }

  /** i64 is a view of the elements of an int64 tensor (empty for any other dtype). */
  i64(): Int64Array {
    if (this.dtype != DType.Int64) return new Int64Array(0);
    return Int64Array.wrap(this.buffer, this.byteOffset, this.byteLength >> 3);
  }

  /** i32 is a view of the elements of an int32 tensor (empty for any other dtype). */
  i32(): Int32Array {
    if (this.dtype != DType.Int32) return new Int32Array(0);
    return Int32Array.wrap(this.buffer, this.byteOffset, this.byteLength >> 2);
  }

  /** bytes is a view of the raw elements, whatever the dtype. */
  bytes(): Uint8Array {
    return Uint8Array.wrap(this.buffer, this.byteOffset, this.byteLength);
  }

  /** clone is a copy of the tensor with elements of its own. */
  clone(): Tensor {
    return new Tensor(this.dtype, this.shape.slice(0), this.buffer.slice(this.byteOffset, this.byteOffset + this.byteLength), 0, this.byteLength);
  }
}

/** shapeSize is the number of elements of `shape` (1 for a scalar), saturating at 2^62. */
export function shapeSize(shape: i64[]): i64 {
  let n: i64 = 1;
  for (let i = 0; i < shape.length; i++) {
    const d = unchecked(shape[i]);
    if (d == 0) return 0;
    if (d < 0 || n > (<i64>1 << 62) / d) n = <i64>1 << 62;
    else n *= d;
  }
  return n;
}
