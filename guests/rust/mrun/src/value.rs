//! The generic value type.

use crate::codec::{Decode, DecodeError, Encode, Int, Reader, Writer, MAX_DEPTH};
use crate::table::{Table, EXT_TABLE};
use crate::tensor::{Tensor, EXT_TENSOR};

/// Value is any MessagePack value, for arguments and results whose type varies. Integers
/// from −2⁶³ to 2⁶³−1 are `Int`, larger ones `Uint`; float32 and float64 keep their width;
/// maps keep their order and may have keys of any type; a tensor (ext type 4) is `Tensor`, a
/// table (ext type 5) `Table`; any other extension value is `Ext`. Decoding then encoding a
/// Value gives the same value in its shortest encoding.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// nil (None).
    Nil,
    /// A boolean.
    Bool(bool),
    /// An integer that fits an i64.
    Int(i64),
    /// An integer above `i64::MAX`.
    Uint(u64),
    /// A float32.
    F32(f32),
    /// A float64.
    F64(f64),
    /// A str.
    Str(String),
    /// Bytes (a bin).
    Bin(Vec<u8>),
    /// An array (a list).
    Array(Vec<Value>),
    /// A map, as its entries in order.
    Map(Vec<(Value, Value)>),
    /// A tensor.
    Tensor(Tensor<'static>),
    /// A table.
    Table(Table<'static>),
    /// An extension value other than a tensor or a table: its type and payload.
    Ext(i8, Vec<u8>),
}

impl Value {
    /// kind names the Value's family for messages: "nil", "bool", "int", "float32", "float",
    /// "str", "bytes", "list", "map", "tensor", "table" or "ext".
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::Uint(_) => "int",
            Value::F32(_) => "float32",
            Value::F64(_) => "float",
            Value::Str(_) => "str",
            Value::Bin(_) => "bytes",
            Value::Array(_) => "list",
            Value::Map(_) => "map",
            Value::Tensor(_) => "tensor",
            Value::Table(_) => "table",
            Value::Ext(..) => "ext",
        }
    }

    /// as_i64 is the integer, if the Value is an `Int`.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(v) => Some(v),
            _ => None,
        }
    }

    /// as_f64 is the number as a float64, if the Value is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Int(v) => Some(v as f64),
            Value::Uint(v) => Some(v as f64),
            Value::F32(v) => Some(v as f64),
            Value::F64(v) => Some(v),
            _ => None,
        }
    }

    /// as_str is the text, if the Value is a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// get is the value of key `k` of a map with str keys.
    pub fn get(&self, k: &str) -> Option<&Value> {
        match self {
            Value::Map(m) => m.iter().find(|(key, _)| key.as_str() == Some(k)).map(|(_, v)| v),
            _ => None,
        }
    }

    fn read(r: &mut Reader<'_>, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::new(format!("nesting deeper than {} levels", MAX_DEPTH)));
        }
        let m = r.peek()?;
        Ok(match m {
            0xc0 => {
                r.read_nil()?;
                Value::Nil
            }
            0xc2 | 0xc3 => Value::Bool(r.read_bool()?),
            0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => match r.read_int()? {
                Int::Neg(v) => Value::Int(v),
                Int::Pos(v) if v <= i64::MAX as u64 => Value::Int(v as i64),
                Int::Pos(v) => Value::Uint(v),
            },
            0xca => Value::F32(r.read_f64()? as f32),
            0xcb => Value::F64(r.read_f64()?),
            0xa0..=0xbf | 0xd9..=0xdb => Value::Str(r.read_str()?.to_owned()),
            0xc4..=0xc6 => Value::Bin(r.read_bin()?.to_vec()),
            0x90..=0x9f | 0xdc | 0xdd => {
                let n = r.read_array_len()?;
                let mut v = Vec::with_capacity(n);
                for i in 0..n {
                    v.push(Value::read(r, depth + 1).map_err(|e| e.at_index(i))?);
                }
                Value::Array(v)
            }
            0x80..=0x8f | 0xde | 0xdf => {
                let n = r.read_map_len()?;
                let mut v = Vec::with_capacity(n);
                for i in 0..n {
                    let k = Value::read(r, depth + 1).map_err(|e| e.at_index(i))?;
                    let x = Value::read(r, depth + 1).map_err(|e| match k.as_str() {
                        Some(s) => e.at_key(s),
                        None => e.at_index(i),
                    })?;
                    v.push((k, x));
                }
                Value::Map(v)
            }
            0xc7..=0xc9 | 0xd4..=0xd8 => match r.read_ext()? {
                (EXT_TENSOR, p) => Value::Tensor(Tensor::parse(p)?.into_owned()),
                (EXT_TABLE, p) => Value::Table(Table::parse(p)?.into_owned()),
                (t, p) => Value::Ext(t, p.to_vec()),
            },
            _ => return Err(DecodeError::new("reserved byte 0xc1")),
        })
    }
}

impl<'a> Decode<'a> for Value {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        Value::read(r, 0)
    }
}

impl Encode for Value {
    fn encode(&self, w: &mut Writer) {
        match self {
            Value::Nil => w.nil(),
            Value::Bool(b) => w.bool(*b),
            Value::Int(v) => w.int(*v),
            Value::Uint(v) => w.uint(*v),
            Value::F32(v) => w.f32(*v),
            Value::F64(v) => w.f64(*v),
            Value::Str(s) => w.str(s),
            Value::Bin(b) => w.bin(b),
            Value::Array(a) => {
                w.array_len(a.len());
                for x in a {
                    x.encode(w)
                }
            }
            Value::Map(m) => {
                w.map_len(m.len());
                for (k, v) in m {
                    k.encode(w);
                    v.encode(w);
                }
            }
            Value::Tensor(t) => t.encode(w),
            Value::Table(t) => t.encode(w),
            Value::Ext(t, p) => w.ext(*t, p),
        }
    }
}

/// An integer is an `Int` or, above `i64::MAX`, a `Uint`; outside −2⁶³ … 2⁶⁴−1 it has no Value.
impl TryFrom<i128> for Value {
    type Error = std::num::TryFromIntError;
    fn try_from(v: i128) -> Result<Value, Self::Error> {
        match i64::try_from(v) {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => u64::try_from(v).map(Value::Uint),
        }
    }
}

macro_rules! from_impls {
    ($($t:ty => |$v:ident| $e:expr;)*) => {$(
        impl From<$t> for Value {
            fn from($v: $t) -> Value {
                $e
            }
        }
    )*};
}

from_impls! {
    bool => |v| Value::Bool(v);
    i64 => |v| Value::Int(v);
    i32 => |v| Value::Int(v as i64);
    u64 => |v| if v <= i64::MAX as u64 { Value::Int(v as i64) } else { Value::Uint(v) };
    f64 => |v| Value::F64(v);
    f32 => |v| Value::F32(v);
    String => |v| Value::Str(v);
    &str => |v| Value::Str(v.to_owned());
    Vec<u8> => |v| Value::Bin(v);
    Vec<Value> => |v| Value::Array(v);
    Tensor<'static> => |v| Value::Tensor(v);
    Table<'static> => |v| Value::Table(v);
}

/// Number is an int or a float, for parameters that take either, such as a list of numbers:
/// lighter than a [`Value`], and an argument of another type is an error naming its position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// An integer that fits an i64.
    Int(i64),
    /// An integer above `i64::MAX`.
    Uint(u64),
    /// A float64 (or a float32, widened).
    Float(f64),
}

impl Number {
    /// is_int says whether the number is an integer.
    pub fn is_int(&self) -> bool {
        !matches!(self, Number::Float(_))
    }

    /// as_f64 is the number as a float64.
    pub fn as_f64(&self) -> f64 {
        match *self {
            Number::Int(v) => v as f64,
            Number::Uint(v) => v as f64,
            Number::Float(v) => v,
        }
    }

    /// as_i128 is the integer, or None for a float.
    pub fn as_i128(&self) -> Option<i128> {
        match *self {
            Number::Int(v) => Some(v as i128),
            Number::Uint(v) => Some(v as i128),
            Number::Float(_) => None,
        }
    }
}

impl<'a> Decode<'a> for Number {
    #[inline]
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        match r.peek()? {
            0xca | 0xcb => r.read_f64().map(Number::Float),
            0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => Ok(match r.read_int()? {
                Int::Neg(v) => Number::Int(v),
                Int::Pos(v) if v <= i64::MAX as u64 => Number::Int(v as i64),
                Int::Pos(v) => Number::Uint(v),
            }),
            m => Err(DecodeError::expected("number", m)),
        }
    }
}

impl Encode for Number {
    fn encode(&self, w: &mut Writer) {
        match *self {
            Number::Int(v) => w.int(v),
            Number::Uint(v) => w.uint(v),
            Number::Float(v) => w.f64(v),
        }
    }
}

/// An integer is an `Int` or, above `i64::MAX`, a `Uint`; outside −2⁶³ … 2⁶⁴−1 it has no Number.
impl TryFrom<i128> for Number {
    type Error = std::num::TryFromIntError;
    fn try_from(v: i128) -> Result<Number, Self::Error> {
        match i64::try_from(v) {
            Ok(i) => Ok(Number::Int(i)),
            Err(_) => u64::try_from(v).map(Number::Uint),
        }
    }
}
