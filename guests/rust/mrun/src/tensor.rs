//! Tensors: n-dimensional arrays of numbers, MessagePack extension type 4 (ABI.md section 5.3).

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use std::fmt;
use std::mem::{align_of, size_of, ManuallyDrop};

/// The extension type of a tensor.
pub const EXT_TENSOR: i8 = 4;

/// The most dimensions a tensor may have.
pub const MAX_NDIM: usize = 32;

/// DType is the element type of a [`Tensor`], with its code on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum DType {
    /// `i8`.
    Int8 = 1,
    /// `i16`.
    Int16 = 2,
    /// `i32`.
    Int32 = 3,
    /// `i64`.
    Int64 = 4,
    /// `u8`.
    Uint8 = 5,
    /// `u16`.
    Uint16 = 6,
    /// `u32`.
    Uint32 = 7,
    /// `u64`.
    Uint64 = 8,
    /// `f32`.
    Float32 = 9,
    /// `f64`.
    Float64 = 10,
    /// `bool`, one byte, 0 or 1.
    Bool = 11,
}

impl DType {
    /// from_code is the DType of a wire code, or None for an unknown code.
    pub fn from_code(c: u8) -> Option<DType> {
        use DType::*;
        Some(match c {
            1 => Int8,
            2 => Int16,
            3 => Int32,
            4 => Int64,
            5 => Uint8,
            6 => Uint16,
            7 => Uint32,
            8 => Uint64,
            9 => Float32,
            10 => Float64,
            11 => Bool,
            _ => return None,
        })
    }

    /// size is the size of one element in bytes.
    pub fn size(self) -> usize {
        use DType::*;
        match self {
            Int8 | Uint8 | Bool => 1,
            Int16 | Uint16 => 2,
            Int32 | Uint32 | Float32 => 4,
            Int64 | Uint64 | Float64 => 8,
        }
    }

    /// name is the numpy name of the dtype, such as "float64".
    pub fn name(self) -> &'static str {
        use DType::*;
        match self {
            Int8 => "int8",
            Int16 => "int16",
            Int32 => "int32",
            Int64 => "int64",
            Uint8 => "uint8",
            Uint16 => "uint16",
            Uint32 => "uint32",
            Uint64 => "uint64",
            Float32 => "float32",
            Float64 => "float64",
            Bool => "bool",
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Element is a Rust type that is the element of a tensor of some [`DType`]: `i8` … `i64`,
/// `u8` … `u64`, `f32`, `f64` (`bool` tensors are read as `u8`). It is sealed: every bit
/// pattern of these types is a valid value, which is what lets a tensor be read in place.
pub trait Element: sealed::Sealed + Copy + 'static {
    /// DTYPE is the dtype of a tensor of this element type.
    const DTYPE: DType;
}

macro_rules! elements {
    ($($t:ty => $d:ident),*) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$d;
        }
    )*};
}

elements!(i8 => Int8, i16 => Int16, i32 => Int32, i64 => Int64, u8 => Uint8, u16 => Uint16,
    u32 => Uint32, u64 => Uint64, f32 => Float32, f64 => Float64);

/// The elements of a tensor: bytes borrowed from the frame when they are aligned for their
/// type, or an owned buffer of 8-byte words (aligned for every dtype) otherwise.
#[derive(Clone)]
enum Data<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u64>, usize),
}

/// Tensor is an n-dimensional array of numbers in row-major order (MessagePack extension
/// type 4). A tensor argument borrows its elements from the argument frame when they are
/// aligned and is copied once otherwise; it is never decoded element by element, and
/// [`Tensor::as_slice`] (or `as_f64`, …) gives the elements as a plain slice.
///
/// A result tensor is made with [`Tensor::new`] from a `Vec` (no copy for 8-byte elements)
/// or [`Tensor::from_slice`] (borrowed), and written with one copy of its bytes.
#[derive(Clone)]
pub struct Tensor<'a> {
    dtype: DType,
    shape: Vec<u64>,
    data: Data<'a>,
}

fn count(shape: &[u64]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(usize::try_from(d).ok()?))
}

fn check_shape(dtype: DType, shape: &[u64], nbytes: usize) -> Result<(), DecodeError> {
    if shape.len() > MAX_NDIM {
        return Err(DecodeError::new(format!("tensor has {} dimensions, at most {} are allowed", shape.len(), MAX_NDIM)));
    }
    let want = count(shape).and_then(|n| n.checked_mul(dtype.size()));
    if want != Some(nbytes) {
        return Err(DecodeError::new(format!(
            "tensor of shape {:?} and dtype {} has {} bytes of elements",
            shape, dtype, nbytes
        )));
    }
    Ok(())
}

impl<'a> Tensor<'a> {
    /// from_slice makes a tensor of the given shape that borrows `data`, which must hold
    /// exactly the product of `shape` elements.
    pub fn from_slice<T: Element>(shape: &[u64], data: &'a [T]) -> Result<Tensor<'a>, DecodeError> {
        // Safety: T is a plain number type; its bytes are initialised and any alignment suits u8.
        let bytes = unsafe { std::slice::from_raw_parts(data.as_ptr() as *const u8, std::mem::size_of_val(data)) };
        check_shape(T::DTYPE, shape, bytes.len())?;
        Ok(Tensor { dtype: T::DTYPE, shape: shape.to_vec(), data: Data::Borrowed(bytes) })
    }

    /// dtype is the element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// shape is the size of each dimension, outermost first; empty for a scalar.
    pub fn shape(&self) -> &[u64] {
        &self.shape
    }

    /// ndim is the number of dimensions.
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// len is the number of elements.
    pub fn len(&self) -> usize {
        self.as_bytes().len() / self.dtype.size()
    }

    /// is_empty says whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// as_bytes is the elements' bytes, little-endian, in row-major order.
    pub fn as_bytes(&self) -> &[u8] {
        match &self.data {
            Data::Borrowed(b) => b,
            // Safety: the first n bytes of the words are initialised and in bounds.
            Data::Owned(w, n) => unsafe { std::slice::from_raw_parts(w.as_ptr() as *const u8, *n) },
        }
    }

    /// as_slice is the elements as a slice of `T`, or None when the dtype is not `T`'s
    /// (`bool` tensors are read as `u8`).
    pub fn as_slice<T: Element>(&self) -> Option<&[T]> {
        let ok = self.dtype == T::DTYPE || (self.dtype == DType::Bool && T::DTYPE == DType::Uint8);
        if !ok {
            return None;
        }
        let b = self.as_bytes();
        if b.as_ptr() as usize % align_of::<T>() != 0 {
            return None; // not reached: decoding copies misaligned elements
        }
        // Safety: aligned, in bounds, and every bit pattern is a valid T (Element is sealed).
        Some(unsafe { std::slice::from_raw_parts(b.as_ptr() as *const T, b.len() / size_of::<T>()) })
    }

    /// as_f64 is [`Tensor::as_slice`] for float64 tensors.
    pub fn as_f64(&self) -> Option<&[f64]> {
        self.as_slice()
    }

    /// as_f32 is [`Tensor::as_slice`] for float32 tensors.
    pub fn as_f32(&self) -> Option<&[f32]> {
        self.as_slice()
    }

    /// as_i64 is [`Tensor::as_slice`] for int64 tensors.
    pub fn as_i64(&self) -> Option<&[i64]> {
        self.as_slice()
    }

    /// as_i32 is [`Tensor::as_slice`] for int32 tensors.
    pub fn as_i32(&self) -> Option<&[i32]> {
        self.as_slice()
    }

    /// is_borrowed says whether the elements are read in place from the frame (true) or
    /// were copied because they were not aligned (false), or are owned.
    pub fn is_borrowed(&self) -> bool {
        matches!(self.data, Data::Borrowed(_))
    }

    /// into_owned copies the elements if they are borrowed, so that the tensor outlives the
    /// frame (a tensor inside a [`crate::Value`] is owned).
    pub fn into_owned(self) -> Tensor<'static> {
        let data = match self.data {
            Data::Owned(w, n) => Data::Owned(w, n),
            Data::Borrowed(b) => copy_words(b),
        };
        Tensor { dtype: self.dtype, shape: self.shape, data }
    }

    /// parse reads the payload of an ext-4 value, borrowing its elements when aligned.
    pub fn parse(payload: &'a [u8]) -> Result<Tensor<'a>, DecodeError> {
        if payload.len() < 8 {
            return Err(DecodeError::new("tensor header is shorter than 8 bytes"));
        }
        let dtype = DType::from_code(payload[0])
            .ok_or_else(|| DecodeError::new(format!("tensor has unknown dtype code {}", payload[0])))?;
        let ndim = payload[1] as usize;
        if ndim > MAX_NDIM {
            return Err(DecodeError::new(format!("tensor has {} dimensions, at most {} are allowed", ndim, MAX_NDIM)));
        }
        if payload[2..8].iter().any(|&b| b != 0) {
            return Err(DecodeError::new("tensor header padding is not zero"));
        }
        let head = 8 + 8 * ndim;
        if payload.len() < head {
            return Err(DecodeError::new("tensor shape runs past the end of the value"));
        }
        let shape: Vec<u64> = payload[8..head]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
            .collect();
        let elems = &payload[head..];
        check_shape(dtype, &shape, elems.len())?;
        let data = if elems.as_ptr() as usize % dtype.size() == 0 {
            Data::Borrowed(elems)
        } else {
            copy_words(elems)
        };
        Ok(Tensor { dtype, shape, data })
    }
}

impl Tensor<'static> {
    /// new makes a tensor of the given shape that owns `data`, which must hold exactly the
    /// product of `shape` elements. Vectors of 8-byte elements are taken over without a copy.
    pub fn new<T: Element>(shape: &[u64], data: Vec<T>) -> Result<Tensor<'static>, DecodeError> {
        let nbytes = data.len() * size_of::<T>();
        check_shape(T::DTYPE, shape, nbytes)?;
        let words = if size_of::<T>() == 8 && align_of::<T>() == 8 {
            let mut v = ManuallyDrop::new(data);
            // Safety: T and u64 have the same size and alignment, so the allocation's layout is
            // unchanged; every bit pattern is a valid u64.
            unsafe { Vec::from_raw_parts(v.as_mut_ptr() as *mut u64, v.len(), v.capacity()) }
        } else {
            // Safety: T is a plain number type: its bytes are initialised.
            let b = unsafe { std::slice::from_raw_parts(data.as_ptr() as *const u8, nbytes) };
            match copy_words(b) {
                Data::Owned(w, _) => w,
                Data::Borrowed(_) => Vec::new(),
            }
        };
        Ok(Tensor { dtype: T::DTYPE, shape: shape.to_vec(), data: Data::Owned(words, nbytes) })
    }
}

/// copy_words copies bytes into a buffer of 8-byte words: one memcpy.
fn copy_words(b: &[u8]) -> Data<'static> {
    let mut w = vec![0u64; (b.len() + 7) / 8];
    // Safety: w has at least b.len() bytes and does not overlap b.
    unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), w.as_mut_ptr() as *mut u8, b.len()) };
    Data::Owned(w, b.len())
}

impl fmt::Debug for Tensor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor({}, shape {:?})", self.dtype, self.shape)
    }
}

impl PartialEq for Tensor<'_> {
    fn eq(&self, o: &Tensor<'_>) -> bool {
        self.dtype == o.dtype && self.shape == o.shape && self.as_bytes() == o.as_bytes()
    }
}

/// A tensor argument is an ext-4 value.
impl<'a> Decode<'a> for Tensor<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let m = r.peek()?;
        match r.read_ext() {
            Ok((EXT_TENSOR, payload)) => Tensor::parse(payload),
            Ok((t, _)) => Err(DecodeError::new(format!("expected tensor, got ext type {}", t))),
            Err(_) => Err(DecodeError::expected("tensor", m)),
        }
    }
}

impl Encode for Tensor<'_> {
    fn encode(&self, w: &mut Writer) {
        let b = self.as_bytes();
        let head = 8 + 8 * self.shape.len();
        w.reserve(6 + head + b.len());
        w.ext_header(EXT_TENSOR, head + b.len());
        let mut h = [0u8; 8];
        h[0] = self.dtype as u8;
        h[1] = self.shape.len() as u8;
        w.raw(&h);
        for d in &self.shape {
            w.raw(&d.to_le_bytes());
        }
        w.raw(b);
    }
}
