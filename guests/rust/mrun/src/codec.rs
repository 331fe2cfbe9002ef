//! The MessagePack codec: a [`Reader`] that decodes values in place from a byte slice, a
//! [`Writer`] that appends them to a buffer, and the [`Decode`] and [`Encode`] traits that
//! connect Rust types to them.

use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};
use std::fmt;

/// The deepest nesting of arrays and maps that [`crate::Value`] decodes, as in the host
/// (ABI.md section 4). Deeper input is an error, never a stack overflow.
pub const MAX_DEPTH: usize = 512;

/// DecodeError says why a value could not be decoded, and where: the path of array indices
/// and map keys from the decoded value down to the offending one.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodeError {
    msg: String,
    path: String,
}

impl DecodeError {
    /// new makes an error with the message `msg` at the value being decoded.
    pub fn new(msg: impl Into<String>) -> DecodeError {
        DecodeError { msg: msg.into(), path: String::new() }
    }

    /// expected is the error "expected `want`, got `<the MessagePack family of marker>`".
    pub fn expected(want: &str, marker: u8) -> DecodeError {
        DecodeError::new(format!("expected {}, got {}", want, family(marker)))
    }

    /// at_index records that the error happened inside element `i` of an array.
    pub fn at_index(mut self, i: usize) -> DecodeError {
        self.path = format!("[{}]{}", i, self.path);
        self
    }

    /// at_key records that the error happened inside the value of map key `k`.
    pub fn at_key(mut self, k: &str) -> DecodeError {
        self.path = format!("[{:?}]{}", k, self.path);
        self
    }

    /// path is the location of the error below the decoded value, such as `[2]`, or "".
    pub fn path(&self) -> &str {
        &self.path
    }

    /// message is the error without its path.
    pub fn message(&self) -> &str {
        &self.msg
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.msg)
        } else {
            write!(f, "{}: {}", self.path, self.msg)
        }
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DecodeError({})", self)
    }
}

impl std::error::Error for DecodeError {}

fn eof() -> DecodeError {
    DecodeError::new("unexpected end of data")
}

/// family names the MessagePack family that a value starting with `marker` belongs to, in
/// the words of the conformance contract: "int", "float", "str", "bytes", "list", "map", ...
pub fn family(marker: u8) -> &'static str {
    match marker {
        0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => "int",
        0x80..=0x8f | 0xde | 0xdf => "map",
        0x90..=0x9f | 0xdc | 0xdd => "list",
        0xa0..=0xbf | 0xd9..=0xdb => "str",
        0xc0 => "nil",
        0xc2 | 0xc3 => "bool",
        0xc4..=0xc6 => "bytes",
        0xca => "float32",
        0xcb => "float",
        0xc7..=0xc9 | 0xd4..=0xd8 => "ext",
        _ => "reserved byte 0xc1",
    }
}

/// An integer as MessagePack carries it: negative values as i64, the others as u64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int {
    /// A value below zero.
    Neg(i64),
    /// A value of zero or more.
    Pos(u64),
}

/// Reader decodes MessagePack values from a byte slice without copying: strings, bytes and
/// extension payloads it returns borrow from the slice. Every read checks its bounds, so
/// malformed input gives a [`DecodeError`] and never a panic.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// new reads from the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    /// position is the offset of the next unread byte.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// remaining is the number of unread bytes.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// peek returns the marker byte of the next value without consuming it.
    #[inline]
    pub fn peek(&self) -> Result<u8, DecodeError> {
        self.buf.get(self.pos).copied().ok_or_else(eof)
    }

    #[inline]
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = self.peek()?;
        self.pos += 1;
        Ok(b)
    }

    /// take consumes the next `n` bytes and returns them.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(eof());
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    #[inline]
    fn be(&mut self, n: usize) -> Result<u64, DecodeError> {
        let s = self.take(n)?;
        Ok(s.iter().fold(0u64, |acc, &b| acc << 8 | b as u64))
    }

    /// read_nil consumes a nil.
    pub fn read_nil(&mut self) -> Result<(), DecodeError> {
        match self.peek()? {
            0xc0 => {
                self.pos += 1;
                Ok(())
            }
            m => Err(DecodeError::expected("nil", m)),
        }
    }

    /// read_bool consumes a boolean.
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        match self.peek()? {
            0xc2 => {
                self.pos += 1;
                Ok(false)
            }
            0xc3 => {
                self.pos += 1;
                Ok(true)
            }
            m => Err(DecodeError::expected("bool", m)),
        }
    }

    /// read_int consumes an integer of any encoding.
    #[inline]
    pub fn read_int(&mut self) -> Result<Int, DecodeError> {
        let m = self.peek()?;
        let v = match m {
            0x00..=0x7f => {
                self.pos += 1;
                Int::Pos(m as u64)
            }
            0xe0..=0xff => {
                self.pos += 1;
                Int::Neg(m as i8 as i64)
            }
            0xcc..=0xcf => {
                self.pos += 1;
                Int::Pos(self.be(1 << (m - 0xcc))?)
            }
            0xd0..=0xd3 => {
                self.pos += 1;
                let n = 1usize << (m - 0xd0);
                let raw = self.be(n)?;
                let shift = 64 - 8 * n as u32;
                let v = ((raw << shift) as i64) >> shift;
                if v < 0 {
                    Int::Neg(v)
                } else {
                    Int::Pos(v as u64)
                }
            }
            _ => return Err(DecodeError::expected("int", m)),
        };
        Ok(v)
    }

    /// read_i64 consumes an integer that fits an i64.
    #[inline]
    pub fn read_i64(&mut self) -> Result<i64, DecodeError> {
        match self.read_int()? {
            Int::Neg(v) => Ok(v),
            Int::Pos(v) if v <= i64::MAX as u64 => Ok(v as i64),
            Int::Pos(v) => Err(DecodeError::new(format!("integer {} overflows int64", v))),
        }
    }

    /// read_u64 consumes an integer that fits a u64.
    #[inline]
    pub fn read_u64(&mut self) -> Result<u64, DecodeError> {
        match self.read_int()? {
            Int::Pos(v) => Ok(v),
            Int::Neg(v) => Err(DecodeError::new(format!("integer {} is negative, want an unsigned integer", v))),
        }
    }

    /// read_f64 consumes a float64 or float32, or an integer, which it converts.
    #[inline]
    pub fn read_f64(&mut self) -> Result<f64, DecodeError> {
        match self.peek()? {
            0xcb => {
                self.pos += 1;
                Ok(f64::from_bits(self.be(8)?))
            }
            0xca => {
                self.pos += 1;
                Ok(f32::from_bits(self.be(4)? as u32) as f64)
            }
            0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => match self.read_int()? {
                Int::Neg(v) => Ok(v as f64),
                Int::Pos(v) => Ok(v as f64),
            },
            m => Err(DecodeError::expected("float", m)),
        }
    }

    /// read_str consumes a str and returns it, borrowed; it must be valid UTF-8.
    #[inline]
    pub fn read_str(&mut self) -> Result<&'a str, DecodeError> {
        let m = self.peek()?;
        let n = match m {
            0xa0..=0xbf => {
                self.pos += 1;
                (m & 0x1f) as usize
            }
            0xd9..=0xdb => {
                self.pos += 1;
                self.be(1 << (m - 0xd9))? as usize
            }
            _ => return Err(DecodeError::expected("str", m)),
        };
        std::str::from_utf8(self.take(n)?).map_err(|_| DecodeError::new("str is not valid UTF-8"))
    }

    /// read_bin consumes a bin (bytes) and returns it, borrowed.
    #[inline]
    pub fn read_bin(&mut self) -> Result<&'a [u8], DecodeError> {
        let m = self.peek()?;
        match m {
            0xc4..=0xc6 => {
                self.pos += 1;
                let n = self.be(1 << (m - 0xc4))? as usize;
                self.take(n)
            }
            _ => Err(DecodeError::expected("bytes", m)),
        }
    }

    /// read_array_len consumes an array header and returns the number of elements, which
    /// is checked against the bytes left (each element takes at least one).
    #[inline]
    pub fn read_array_len(&mut self) -> Result<usize, DecodeError> {
        let m = self.peek()?;
        let n = match m {
            0x90..=0x9f => {
                self.pos += 1;
                (m & 0x0f) as usize
            }
            0xdc | 0xdd => {
                self.pos += 1;
                self.be(if m == 0xdc { 2 } else { 4 })? as usize
            }
            _ => return Err(DecodeError::expected("list", m)),
        };
        if n > self.remaining() {
            return Err(eof());
        }
        Ok(n)
    }

    /// read_map_len consumes a map header and returns the number of entries, checked
    /// against the bytes left.
    #[inline]
    pub fn read_map_len(&mut self) -> Result<usize, DecodeError> {
        let m = self.peek()?;
        let n = match m {
            0x80..=0x8f => {
                self.pos += 1;
                (m & 0x0f) as usize
            }
            0xde | 0xdf => {
                self.pos += 1;
                self.be(if m == 0xde { 2 } else { 4 })? as usize
            }
            _ => return Err(DecodeError::expected("map", m)),
        };
        if n > self.remaining() / 2 {
            return Err(eof());
        }
        Ok(n)
    }

    /// read_ext consumes an extension value and returns its type and payload, borrowed.
    pub fn read_ext(&mut self) -> Result<(i8, &'a [u8]), DecodeError> {
        let m = self.peek()?;
        let n = match m {
            0xd4..=0xd8 => {
                self.pos += 1;
                1usize << (m - 0xd4)
            }
            0xc7..=0xc9 => {
                self.pos += 1;
                self.be(1 << (m - 0xc7))? as usize
            }
            _ => return Err(DecodeError::expected("ext", m)),
        };
        let t = self.byte()? as i8;
        Ok((t, self.take(n)?))
    }

    /// skip consumes one value of any type. It keeps a count of the values still to skip
    /// instead of recursing, so no nesting overflows the stack, and allocates nothing.
    pub fn skip(&mut self) -> Result<(), DecodeError> {
        let mut todo: usize = 1;
        while todo > 0 {
            todo -= 1;
            let m = self.peek()?;
            match m {
                0x90..=0x9f | 0xdc | 0xdd => todo += self.read_array_len()?,
                0x80..=0x8f | 0xde | 0xdf => todo += 2 * self.read_map_len()?,
                _ => self.skip_scalar(m)?,
            }
        }
        Ok(())
    }

    fn skip_scalar(&mut self, m: u8) -> Result<(), DecodeError> {
        self.pos += 1;
        let n = match m {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => 0,
            0xa0..=0xbf => (m & 0x1f) as usize,
            0xcc | 0xd0 => 1,
            0xcd | 0xd1 => 2,
            0xce | 0xd2 | 0xca => 4,
            0xcf | 0xd3 | 0xcb => 8,
            0xd9 | 0xc4 => self.be(1)? as usize,
            0xda | 0xc5 => self.be(2)? as usize,
            0xdb | 0xc6 => self.be(4)? as usize,
            0xd4..=0xd8 => 1 + (1usize << (m - 0xd4)),
            0xc7..=0xc9 => 1 + self.be(1 << (m - 0xc7))? as usize,
            _ => {
                self.pos -= 1;
                return Err(DecodeError::new("reserved byte 0xc1"));
            }
        };
        self.take(n).map(|_| ())
    }

    /// raw consumes one value and returns its encoding, borrowed.
    pub fn raw(&mut self) -> Result<&'a [u8], DecodeError> {
        let start = self.pos;
        self.skip()?;
        Ok(&self.buf[start..self.pos])
    }

    /// decode consumes one value as a `T`.
    #[inline]
    pub fn decode<T: Decode<'a>>(&mut self) -> Result<T, DecodeError> {
        T::decode(self)
    }
}

/// Writer appends MessagePack values to a byte buffer, each in its shortest encoding.
#[derive(Clone, Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// new makes an empty Writer.
    pub const fn new() -> Writer {
        Writer { buf: Vec::new() }
    }

    /// with_buffer makes a Writer that appends to `buf`, keeping its capacity.
    pub fn with_buffer(buf: Vec<u8>) -> Writer {
        Writer { buf }
    }

    /// as_bytes is everything written so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }

    /// into_bytes returns the buffer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// clear empties the Writer and keeps its capacity.
    pub fn clear(&mut self) {
        self.buf.clear()
    }

    /// raw appends bytes that already are MessagePack.
    #[inline]
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b)
    }

    #[inline]
    fn marker_be(&mut self, m: u8, v: u64, n: usize) {
        let be = v.to_be_bytes();
        self.buf.push(m);
        self.buf.extend_from_slice(&be[8 - n..]);
    }

    /// nil writes nil.
    pub fn nil(&mut self) {
        self.buf.push(0xc0)
    }

    /// bool writes a boolean.
    pub fn bool(&mut self, v: bool) {
        self.buf.push(if v { 0xc3 } else { 0xc2 })
    }

    /// uint writes an unsigned integer.
    #[inline]
    pub fn uint(&mut self, v: u64) {
        if v < 0x80 {
            self.buf.push(v as u8)
        } else if v <= u8::MAX as u64 {
            self.marker_be(0xcc, v, 1)
        } else if v <= u16::MAX as u64 {
            self.marker_be(0xcd, v, 2)
        } else if v <= u32::MAX as u64 {
            self.marker_be(0xce, v, 4)
        } else {
            self.marker_be(0xcf, v, 8)
        }
    }

    /// int writes a signed integer.
    #[inline]
    pub fn int(&mut self, v: i64) {
        if v >= 0 {
            self.uint(v as u64)
        } else if v >= -32 {
            self.buf.push(v as u8)
        } else if v >= i8::MIN as i64 {
            self.marker_be(0xd0, v as u64, 1)
        } else if v >= i16::MIN as i64 {
            self.marker_be(0xd1, v as u64, 2)
        } else if v >= i32::MIN as i64 {
            self.marker_be(0xd2, v as u64, 4)
        } else {
            self.marker_be(0xd3, v as u64, 8)
        }
    }

    /// f64 writes a float64.
    #[inline]
    pub fn f64(&mut self, v: f64) {
        self.marker_be(0xcb, v.to_bits(), 8)
    }

    /// f32 writes a float32.
    pub fn f32(&mut self, v: f32) {
        self.marker_be(0xca, v.to_bits() as u64, 4)
    }

    fn header(&mut self, fix: u8, fix_max: usize, m8: Option<u8>, m16: u8, m32: u8, n: usize) {
        if n <= fix_max {
            self.buf.push(fix | n as u8)
        } else if m8.is_some() && n <= u8::MAX as usize {
            self.marker_be(m8.unwrap_or(0), n as u64, 1)
        } else if n <= u16::MAX as usize {
            self.marker_be(m16, n as u64, 2)
        } else {
            self.marker_be(m32, n as u64, 4)
        }
    }

    /// str writes a str.
    #[inline]
    pub fn str(&mut self, s: &str) {
        self.header(0xa0, 31, Some(0xd9), 0xda, 0xdb, s.len());
        self.buf.extend_from_slice(s.as_bytes())
    }

    /// bin writes bytes as a bin.
    pub fn bin(&mut self, b: &[u8]) {
        if b.len() <= u8::MAX as usize {
            self.marker_be(0xc4, b.len() as u64, 1)
        } else if b.len() <= u16::MAX as usize {
            self.marker_be(0xc5, b.len() as u64, 2)
        } else {
            self.marker_be(0xc6, b.len() as u64, 4)
        }
        self.buf.extend_from_slice(b)
    }

    /// array_len writes the header of an array of `n` elements; write them next.
    #[inline]
    pub fn array_len(&mut self, n: usize) {
        self.header(0x90, 15, None, 0xdc, 0xdd, n)
    }

    /// map_len writes the header of a map of `n` entries; write key, value, key, ... next.
    pub fn map_len(&mut self, n: usize) {
        self.header(0x80, 15, None, 0xde, 0xdf, n)
    }

    /// ext_header writes the header of an extension value of type `t` whose payload is
    /// `n` bytes long; write the payload next.
    pub fn ext_header(&mut self, t: i8, n: usize) {
        match n {
            1 => self.buf.push(0xd4),
            2 => self.buf.push(0xd5),
            4 => self.buf.push(0xd6),
            8 => self.buf.push(0xd7),
            16 => self.buf.push(0xd8),
            _ if n <= u8::MAX as usize => self.marker_be(0xc7, n as u64, 1),
            _ if n <= u16::MAX as usize => self.marker_be(0xc8, n as u64, 2),
            _ => self.marker_be(0xc9, n as u64, 4),
        }
        self.buf.push(t as u8)
    }

    /// ext writes an extension value.
    pub fn ext(&mut self, t: i8, payload: &[u8]) {
        self.ext_header(t, payload.len());
        self.buf.extend_from_slice(payload)
    }

    /// reserve makes room for `n` more bytes.
    pub fn reserve(&mut self, n: usize) {
        self.buf.reserve(n)
    }

    /// encode writes `v`.
    #[inline]
    pub fn encode<T: Encode + ?Sized>(&mut self, v: &T) {
        v.encode(self)
    }
}

/// Decode is a type that can be read from one MessagePack value. `'a` is the lifetime of the
/// bytes read: `&'a str`, `&'a [u8]` and [`crate::Tensor<'a>`] borrow from them.
pub trait Decode<'a>: Sized {
    /// decode reads one value from `r`.
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError>;

    /// decode_vec reads a `Vec<Self>`. The default reads an array; `u8` reads a bin, so that
    /// `Vec<u8>` means bytes.
    #[doc(hidden)]
    fn decode_vec(r: &mut Reader<'a>) -> Result<Vec<Self>, DecodeError> {
        let n = r.read_array_len()?;
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            v.push(Self::decode(r).map_err(|e| e.at_index(i))?);
        }
        Ok(v)
    }
}

/// DecodeOwned is a type that decodes without borrowing from its input, such as the value of
/// [`crate::Object::fetch`].
pub trait DecodeOwned: for<'a> Decode<'a> {}

impl<T: for<'a> Decode<'a>> DecodeOwned for T {}

/// Encode is a type that can be written as one MessagePack value.
pub trait Encode {
    /// encode writes `self` to `w`.
    fn encode(&self, w: &mut Writer);

    /// encode_slice writes a slice of `Self`. The default writes an array; `u8` writes a bin,
    /// so that `Vec<u8>` and `&[u8]` mean bytes.
    #[doc(hidden)]
    fn encode_slice(items: &[Self], w: &mut Writer)
    where
        Self: Sized,
    {
        w.array_len(items.len());
        for x in items {
            x.encode(w)
        }
    }
}

/// from_slice decodes `bytes`, which must hold exactly one MessagePack value, as a `T`.
pub fn from_slice<'a, T: Decode<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = T::decode(&mut r)?;
    if r.remaining() != 0 {
        return Err(DecodeError::new(format!("{} trailing bytes after the value", r.remaining())));
    }
    Ok(v)
}

/// to_vec encodes `v` into a new buffer.
pub fn to_vec<T: Encode + ?Sized>(v: &T) -> Vec<u8> {
    let mut w = Writer::new();
    v.encode(&mut w);
    w.into_bytes()
}

macro_rules! int_impls {
    ($($t:ty => $read:ident as $wide:ty, $write:ident;)*) => {$(
        impl<'a> Decode<'a> for $t {
            #[inline]
            fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                let v = r.$read()?;
                <$t>::try_from(v).map_err(|_| {
                    DecodeError::new(format!("integer {} overflows {}", v, stringify!($t)))
                })
            }
        }
        impl Encode for $t {
            #[inline]
            fn encode(&self, w: &mut Writer) {
                w.$write(*self as $wide)
            }
        }
    )*};
}

int_impls! {
    i64 => read_i64 as i64, int;
    i32 => read_i64 as i64, int;
    i16 => read_i64 as i64, int;
    i8 => read_i64 as i64, int;
    isize => read_i64 as i64, int;
    u64 => read_u64 as u64, uint;
    u32 => read_u64 as u64, uint;
    u16 => read_u64 as u64, uint;
    usize => read_u64 as u64, uint;
}

impl<'a> Decode<'a> for u8 {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let v = r.read_u64()?;
        u8::try_from(v).map_err(|_| DecodeError::new(format!("integer {} overflows u8", v)))
    }
    fn decode_vec(r: &mut Reader<'a>) -> Result<Vec<u8>, DecodeError> {
        Ok(r.read_bin()?.to_vec())
    }
}

impl Encode for u8 {
    fn encode(&self, w: &mut Writer) {
        w.uint(*self as u64)
    }
    fn encode_slice(items: &[u8], w: &mut Writer) {
        w.bin(items)
    }
}

impl<'a> Decode<'a> for f64 {
    #[inline]
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.read_f64()
    }
}

impl Encode for f64 {
    #[inline]
    fn encode(&self, w: &mut Writer) {
        w.f64(*self)
    }
}

impl<'a> Decode<'a> for f32 {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.read_f64().map(|v| v as f32)
    }
}

impl Encode for f32 {
    fn encode(&self, w: &mut Writer) {
        w.f32(*self)
    }
}

impl<'a> Decode<'a> for bool {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.read_bool()
    }
}

impl Encode for bool {
    fn encode(&self, w: &mut Writer) {
        w.bool(*self)
    }
}

impl<'a> Decode<'a> for () {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.read_nil()
    }
}

/// `()` is nil, the result of a function that returns nothing.
impl Encode for () {
    fn encode(&self, w: &mut Writer) {
        w.nil()
    }
}

impl<'a> Decode<'a> for &'a str {
    #[inline]
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.read_str()
    }
}

impl<'a> Decode<'a> for String {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.read_str().map(str::to_owned)
    }
}

impl Encode for str {
    #[inline]
    fn encode(&self, w: &mut Writer) {
        w.str(self)
    }
}

impl Encode for String {
    #[inline]
    fn encode(&self, w: &mut Writer) {
        w.str(self)
    }
}

/// `&[u8]` is bytes (a bin), borrowed from the frame.
impl<'a> Decode<'a> for &'a [u8] {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        r.read_bin()
    }
}

impl<'a, T: Decode<'a>> Decode<'a> for Vec<T> {
    #[inline]
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        T::decode_vec(r)
    }
}

impl<T: Encode> Encode for [T] {
    #[inline]
    fn encode(&self, w: &mut Writer) {
        T::encode_slice(self, w)
    }
}

impl<T: Encode, const N: usize> Encode for [T; N] {
    fn encode(&self, w: &mut Writer) {
        T::encode_slice(self, w)
    }
}

impl<T: Encode> Encode for Vec<T> {
    #[inline]
    fn encode(&self, w: &mut Writer) {
        T::encode_slice(self, w)
    }
}

impl<T: Encode + ?Sized> Encode for &T {
    #[inline]
    fn encode(&self, w: &mut Writer) {
        (**self).encode(w)
    }
}

impl<T: Encode + ?Sized> Encode for Box<T> {
    fn encode(&self, w: &mut Writer) {
        (**self).encode(w)
    }
}

/// `None` is nil.
impl<'a, T: Decode<'a>> Decode<'a> for Option<T> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        if r.peek()? == 0xc0 {
            r.pos += 1;
            return Ok(None);
        }
        T::decode(r).map(Some)
    }
}

impl<T: Encode> Encode for Option<T> {
    fn encode(&self, w: &mut Writer) {
        match self {
            Some(v) => v.encode(w),
            None => w.nil(),
        }
    }
}

/// A map, ordered by key; keys are usually `String`.
impl<'a, K: Decode<'a> + Ord, V: Decode<'a>> Decode<'a> for BTreeMap<K, V> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let n = r.read_map_len()?;
        let mut m = BTreeMap::new();
        for i in 0..n {
            let k = K::decode(r).map_err(|e| e.at_index(i))?;
            let v = V::decode(r).map_err(|e| e.at_index(i))?;
            m.insert(k, v);
        }
        Ok(m)
    }
}

impl<K: Encode, V: Encode> Encode for BTreeMap<K, V> {
    fn encode(&self, w: &mut Writer) {
        w.map_len(self.len());
        for (k, v) in self {
            k.encode(w);
            v.encode(w);
        }
    }
}

/// A map, in any order.
impl<'a, K: Decode<'a> + Eq + Hash, V: Decode<'a>, S: BuildHasher + Default> Decode<'a> for HashMap<K, V, S> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let n = r.read_map_len()?;
        let mut m = HashMap::with_capacity_and_hasher(n, S::default());
        for i in 0..n {
            let k = K::decode(r).map_err(|e| e.at_index(i))?;
            let v = V::decode(r).map_err(|e| e.at_index(i))?;
            m.insert(k, v);
        }
        Ok(m)
    }
}

/// A HashMap is written with its entries ordered by the encoding of their keys, as in the
/// canonical form (ABI.md section 5.2), so that equal maps always give the same bytes.
impl<K: Encode, V: Encode, S> Encode for HashMap<K, V, S> {
    fn encode(&self, w: &mut Writer) {
        let mut keys: Vec<(Vec<u8>, &V)> = self.iter().map(|(k, v)| (to_vec(k), v)).collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        w.map_len(keys.len());
        for (k, v) in keys {
            w.raw(&k);
            v.encode(w);
        }
    }
}

macro_rules! tuple_impls {
    ($($n:expr => ($($t:ident $i:tt),+);)*) => {$(
        /// A tuple is an array of exactly its length; as a result it is the outputs of a
        /// function spawned with `n_output` equal to that length.
        impl<'a, $($t: Decode<'a>),+> Decode<'a> for ($($t,)+) {
            fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
                let n = r.read_array_len()?;
                if n != $n {
                    return Err(DecodeError::new(format!("expected a list of {} elements, got {}", $n, n)));
                }
                Ok(($($t::decode(r).map_err(|e| e.at_index($i))?,)+))
            }
        }
        impl<$($t: Encode),+> Encode for ($($t,)+) {
            fn encode(&self, w: &mut Writer) {
                w.array_len($n);
                $(self.$i.encode(w);)+
            }
        }
    )*};
}

tuple_impls! {
    1 => (A 0);
    2 => (A 0, B 1);
    3 => (A 0, B 1, C 2);
    4 => (A 0, B 1, C 2, D 3);
    5 => (A 0, B 1, C 2, D 3, E 4);
    6 => (A 0, B 1, C 2, D 3, E 4, F 5);
    7 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6);
    8 => (A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
}
