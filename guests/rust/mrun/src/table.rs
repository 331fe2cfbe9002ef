//! Tables: named, typed columns of one length, MessagePack extension type 5 (ABI.md section 5.4).

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use std::borrow::Cow;
use std::fmt;
use std::mem::{align_of, size_of};

/// The extension type of a table.
pub const EXT_TABLE: i8 = 5;

/// The most columns a table may have.
pub const MAX_COLUMNS: usize = 1 << 16;

/// ColumnType is the type of a table column, with its code on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ColumnType {
    /// 64-bit signed integers.
    Int64 = 4,
    /// IEEE 754 doubles; a missing value is NaN.
    Float64 = 10,
    /// Booleans, one byte each, 0 or 1.
    Bool = 11,
    /// UTF-8 text.
    String = 32,
    /// Instants, as signed 64-bit counts of nanoseconds since 1970-01-01T00:00:00 UTC.
    Timestamp = 33,
}

impl ColumnType {
    /// from_code is the ColumnType of a wire code, or None for an unknown code.
    pub fn from_code(c: u8) -> Option<ColumnType> {
        Some(match c {
            4 => ColumnType::Int64,
            10 => ColumnType::Float64,
            11 => ColumnType::Bool,
            32 => ColumnType::String,
            33 => ColumnType::Timestamp,
            _ => return None,
        })
    }

    /// name is the type's name in graph files and messages, such as "float64".
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Int64 => "int64",
            ColumnType::Float64 => "float64",
            ColumnType::Bool => "bool",
            ColumnType::String => "string",
            ColumnType::Timestamp => "timestamp",
        }
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Strings is the data of a string column: `len() + 1` offsets into one UTF-8 text, value
/// `i` being the text from offset `i` to offset `i + 1`. Both parts are borrowed from the
/// argument frame when they can be (the offsets must be 4-byte aligned there).
#[derive(Clone, PartialEq, Eq)]
pub struct Strings<'a> {
    offsets: Cow<'a, [u32]>,
    text: Cow<'a, str>,
}

impl<'a> Strings<'a> {
    /// new copies the values of an iterator of strings into one text with its offsets.
    /// It fails when the text would be 4 GiB or longer.
    pub fn new<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Result<Strings<'static>, DecodeError> {
        let mut offsets = vec![0u32];
        let mut text = String::new();
        for v in values {
            text.push_str(v.as_ref());
            let end = u32::try_from(text.len())
                .map_err(|_| DecodeError::new("a string column's text is 4 GiB or longer"))?;
            offsets.push(end);
        }
        Ok(Strings { offsets: Cow::Owned(offsets), text: Cow::Owned(text) })
    }

    /// from_parts makes the data of a string column from its offsets and text, checking
    /// them: the offsets start at 0, never decrease, end at the text's length and fall
    /// between characters.
    pub fn from_parts(offsets: impl Into<Cow<'a, [u32]>>, text: impl Into<Cow<'a, str>>) -> Result<Strings<'a>, DecodeError> {
        let s = Strings { offsets: offsets.into(), text: text.into() };
        s.check("")?;
        Ok(s)
    }

    /// check reports what makes the offsets break ABI.md section 5.4; `col` names the column.
    fn check(&self, col: &str) -> Result<(), DecodeError> {
        let (o, text) = (&self.offsets[..], &self.text[..]);
        if o.first() != Some(&0) {
            return Err(DecodeError::new(format!("string column {:?}: its offsets are not n+1 offsets from 0", col)));
        }
        for (i, w) in o.windows(2).enumerate() {
            if w[1] < w[0] || w[1] as usize > text.len() || !text.is_char_boundary(w[1] as usize) {
                return Err(DecodeError::new(format!(
                    "string column {:?}: value {} is out of order, out of range or not UTF-8",
                    col, i
                )));
            }
        }
        if o[o.len() - 1] as usize != text.len() {
            return Err(DecodeError::new(format!("string column {:?}: the last offset is not its length", col)));
        }
        Ok(())
    }

    /// len is the number of values.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// is_empty says whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// get is value `i`, or None when `i` is out of range.
    pub fn get(&self, i: usize) -> Option<&str> {
        let (lo, hi) = (*self.offsets.get(i)?, *self.offsets.get(i + 1)?);
        // The offsets were checked to be in order and between characters.
        Some(&self.text[lo as usize..hi as usize])
    }

    /// iter iterates over the values in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        self.offsets.windows(2).map(move |w| &self.text[w[0] as usize..w[1] as usize])
    }

    /// offsets is the `len() + 1` offsets into the text.
    pub fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// text is every value, joined.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// is_borrowed says whether both parts are read in place from the frame.
    pub fn is_borrowed(&self) -> bool {
        matches!((&self.offsets, &self.text), (Cow::Borrowed(_), Cow::Borrowed(_)))
    }

    fn into_owned(self) -> Strings<'static> {
        Strings { offsets: Cow::Owned(self.offsets.into_owned()), text: Cow::Owned(self.text.into_owned()) }
    }
}

impl fmt::Debug for Strings<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// ColumnData is the values of a column, one variant per [`ColumnType`]. Numeric values are
/// borrowed from the argument frame when they are aligned there, and copied once otherwise.
#[derive(Clone, Debug, PartialEq)]
pub enum ColumnData<'a> {
    /// An `int64` column.
    Int64(Cow<'a, [i64]>),
    /// A `float64` column.
    Float64(Cow<'a, [f64]>),
    /// A `bool` column.
    Bool(Cow<'a, [bool]>),
    /// A `string` column.
    String(Strings<'a>),
    /// A `timestamp` column: nanoseconds since 1970-01-01T00:00:00 UTC.
    Timestamp(Cow<'a, [i64]>),
}

impl ColumnData<'_> {
    /// column_type is the type of the column.
    pub fn column_type(&self) -> ColumnType {
        match self {
            ColumnData::Int64(_) => ColumnType::Int64,
            ColumnData::Float64(_) => ColumnType::Float64,
            ColumnData::Bool(_) => ColumnType::Bool,
            ColumnData::String(_) => ColumnType::String,
            ColumnData::Timestamp(_) => ColumnType::Timestamp,
        }
    }

    /// len is the number of values.
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Int64(v) | ColumnData::Timestamp(v) => v.len(),
            ColumnData::Float64(v) => v.len(),
            ColumnData::Bool(v) => v.len(),
            ColumnData::String(s) => s.len(),
        }
    }

    /// is_empty says whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn into_owned(self) -> ColumnData<'static> {
        match self {
            ColumnData::Int64(v) => ColumnData::Int64(Cow::Owned(v.into_owned())),
            ColumnData::Float64(v) => ColumnData::Float64(Cow::Owned(v.into_owned())),
            ColumnData::Bool(v) => ColumnData::Bool(Cow::Owned(v.into_owned())),
            ColumnData::String(s) => ColumnData::String(s.into_owned()),
            ColumnData::Timestamp(v) => ColumnData::Timestamp(Cow::Owned(v.into_owned())),
        }
    }

    fn is_borrowed(&self) -> bool {
        match self {
            ColumnData::Int64(v) | ColumnData::Timestamp(v) => matches!(v, Cow::Borrowed(_)),
            ColumnData::Float64(v) => matches!(v, Cow::Borrowed(_)),
            ColumnData::Bool(v) => matches!(v, Cow::Borrowed(_)),
            ColumnData::String(s) => s.is_borrowed(),
        }
    }
}

/// Column is a named column of a [`Table`].
#[derive(Clone, Debug, PartialEq)]
pub struct Column<'a> {
    name: Cow<'a, str>,
    data: ColumnData<'a>,
}

impl<'a> Column<'a> {
    /// new makes a column; [`Table::new`] checks its name.
    pub fn new(name: impl Into<Cow<'a, str>>, data: ColumnData<'a>) -> Column<'a> {
        Column { name: name.into(), data }
    }

    /// int64 makes an `int64` column of a `Vec` (owned) or a slice (borrowed).
    pub fn int64(name: impl Into<Cow<'a, str>>, v: impl Into<Cow<'a, [i64]>>) -> Column<'a> {
        Column::new(name, ColumnData::Int64(v.into()))
    }

    /// float64 makes a `float64` column of a `Vec` (owned) or a slice (borrowed).
    pub fn float64(name: impl Into<Cow<'a, str>>, v: impl Into<Cow<'a, [f64]>>) -> Column<'a> {
        Column::new(name, ColumnData::Float64(v.into()))
    }

    /// bool makes a `bool` column of a `Vec` (owned) or a slice (borrowed).
    pub fn bool(name: impl Into<Cow<'a, str>>, v: impl Into<Cow<'a, [bool]>>) -> Column<'a> {
        Column::new(name, ColumnData::Bool(v.into()))
    }

    /// timestamp makes a `timestamp` column of nanoseconds since 1970-01-01T00:00:00 UTC.
    pub fn timestamp(name: impl Into<Cow<'a, str>>, v: impl Into<Cow<'a, [i64]>>) -> Column<'a> {
        Column::new(name, ColumnData::Timestamp(v.into()))
    }

    /// string makes a `string` column of [`Strings`] (see [`Strings::new`]).
    pub fn string(name: impl Into<Cow<'a, str>>, v: Strings<'a>) -> Column<'a> {
        Column::new(name, ColumnData::String(v))
    }

    /// name is the column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// column_type is the column's type.
    pub fn column_type(&self) -> ColumnType {
        self.data.column_type()
    }

    /// len is the number of values, the table's rows.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// is_empty says whether the column has no values.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// data is the column's values, for a `match` over the types.
    pub fn data(&self) -> &ColumnData<'a> {
        &self.data
    }

    /// as_i64 is the values of an `int64` column, or None for another type.
    pub fn as_i64(&self) -> Option<&[i64]> {
        match &self.data {
            ColumnData::Int64(v) => Some(v),
            _ => None,
        }
    }

    /// as_f64 is the values of a `float64` column, or None for another type.
    pub fn as_f64(&self) -> Option<&[f64]> {
        match &self.data {
            ColumnData::Float64(v) => Some(v),
            _ => None,
        }
    }

    /// as_bool is the values of a `bool` column, or None for another type.
    pub fn as_bool(&self) -> Option<&[bool]> {
        match &self.data {
            ColumnData::Bool(v) => Some(v),
            _ => None,
        }
    }

    /// as_strings is the values of a `string` column, or None for another type.
    pub fn as_strings(&self) -> Option<&Strings<'a>> {
        match &self.data {
            ColumnData::String(s) => Some(s),
            _ => None,
        }
    }

    /// as_timestamp is the values of a `timestamp` column, in nanoseconds since
    /// 1970-01-01T00:00:00 UTC, or None for another type.
    pub fn as_timestamp(&self) -> Option<&[i64]> {
        match &self.data {
            ColumnData::Timestamp(v) => Some(v),
            _ => None,
        }
    }

    /// is_borrowed says whether the values are read in place from the frame.
    pub fn is_borrowed(&self) -> bool {
        self.data.is_borrowed()
    }

    /// into_parts is the column's name and values, still borrowed from the frame where they
    /// were, to build another column of them.
    pub fn into_parts(self) -> (Cow<'a, str>, ColumnData<'a>) {
        (self.name, self.data)
    }

    fn into_owned(self) -> Column<'static> {
        Column { name: Cow::Owned(self.name.into_owned()), data: self.data.into_owned() }
    }
}

/// Table is a set of named, typed columns of one length (MessagePack extension type 5), like
/// a data frame: the value module `mrun:table` takes and returns. A table argument is
/// checked against ABI.md section 5.4 and its columns are borrowed from the argument frame
/// where they are aligned (copied once otherwise); a malformed one fails the call with a
/// message that says what is wrong.
///
/// A result table is made with [`Table::new`] from [`Column`]s, owned or borrowed, and
/// written with one copy of each column.
#[derive(Clone, Debug, PartialEq)]
pub struct Table<'a> {
    columns: Vec<Column<'a>>,
    rows: usize,
}

fn malformed(msg: impl fmt::Display) -> DecodeError {
    DecodeError::new(format!("malformed table: {}", msg))
}

fn pad8(n: usize) -> usize {
    n.wrapping_neg() & 7
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// view reads a buffer of little-endian numbers (WebAssembly is little-endian): in place when
/// it is aligned for `T`, otherwise as one copy. `T` is i64, f64 or u32, whose every bit
/// pattern is a valid value.
fn view<T: Copy>(b: &[u8]) -> Cow<'_, [T]> {
    let n = b.len() / size_of::<T>();
    if b.as_ptr() as usize % align_of::<T>() == 0 {
        // Safety: aligned, in bounds, and every bit pattern is a valid T.
        Cow::Borrowed(unsafe { std::slice::from_raw_parts(b.as_ptr() as *const T, n) })
    } else {
        let mut v: Vec<T> = Vec::with_capacity(n);
        // Safety: v has room for n values, which the n × size_of::<T>() bytes initialise.
        unsafe {
            std::ptr::copy_nonoverlapping(b.as_ptr(), v.as_mut_ptr() as *mut u8, n * size_of::<T>());
            v.set_len(n);
        }
        Cow::Owned(v)
    }
}

/// bytes_of is the memory of a slice of numbers: their little-endian encoding on a
/// little-endian machine, which WebAssembly is.
fn bytes_of<T: Copy>(v: &[T]) -> &[u8] {
    // Safety: T is a plain number type or bool; its bytes are initialised.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

impl<'a> Table<'a> {
    /// new makes a table of `columns`, checking that they have names of 1 to 65535 bytes,
    /// distinct, and one length below 2³², and that there are at most 65536 of them.
    pub fn new(columns: Vec<Column<'a>>) -> Result<Table<'a>, DecodeError> {
        let rows = columns.first().map_or(0, Column::len);
        let t = Table { columns, rows };
        t.check()?;
        Ok(t)
    }

    fn check(&self) -> Result<(), DecodeError> {
        if self.columns.len() > MAX_COLUMNS {
            return Err(DecodeError::new(format!(
                "a table has at most {} columns, got {}",
                MAX_COLUMNS,
                self.columns.len()
            )));
        }
        if self.rows > u32::MAX as usize {
            return Err(DecodeError::new(format!("a table has fewer than 2^32 rows, got {}", self.rows)));
        }
        for (i, c) in self.columns.iter().enumerate() {
            if c.name.is_empty() || c.name.len() > u16::MAX as usize {
                return Err(DecodeError::new(format!("column {}: a name is 1 to 65535 bytes of UTF-8", i)));
            }
            if self.columns[..i].iter().any(|d| d.name == c.name) {
                return Err(DecodeError::new(format!("two columns are named {:?}", c.name)));
            }
            if c.len() != self.rows {
                return Err(DecodeError::new(format!(
                    "column {:?} has {} values, column {:?} has {}",
                    c.name,
                    c.len(),
                    self.columns[0].name,
                    self.rows
                )));
            }
            if let ColumnData::String(s) = &c.data {
                s.check(&c.name)?;
            }
        }
        Ok(())
    }

    /// rows is the number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// columns is the columns, in order.
    pub fn columns(&self) -> &[Column<'a>] {
        &self.columns
    }

    /// column is the column named `name`, or None.
    pub fn column(&self, name: &str) -> Option<&Column<'a>> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// into_columns gives the columns back, to build another table from some of them.
    pub fn into_columns(self) -> Vec<Column<'a>> {
        self.columns
    }

    /// into_owned copies whatever is borrowed, so that the table outlives the frame (a
    /// table inside a [`crate::Value`] is owned).
    pub fn into_owned(self) -> Table<'static> {
        Table { columns: self.columns.into_iter().map(Column::into_owned).collect(), rows: self.rows }
    }

    /// parse reads the payload of an ext-5 value, checking it against ABI.md section 5.4 and
    /// borrowing its columns where they are aligned.
    pub fn parse(p: &'a [u8]) -> Result<Table<'a>, DecodeError> {
        if p.len() < 16 {
            return Err(malformed(format!("a payload of {} bytes is shorter than the 16-byte header", p.len())));
        }
        let (ncols, nrows) = (le32(p) as u64, le64(&p[8..]));
        if le32(&p[4..]) != 0 {
            return Err(malformed("the flags are not zero"));
        }
        if ncols > MAX_COLUMNS as u64 {
            return Err(malformed(format!("{} columns, more than {}", ncols, MAX_COLUMNS)));
        }
        if nrows > u32::MAX as u64 {
            return Err(malformed(format!("{} rows, more than 2^32-1", nrows)));
        }
        if ncols == 0 && nrows != 0 {
            return Err(malformed(format!("{} rows but no columns", nrows)));
        }
        if ncols * 5 > (p.len() - 16) as u64 {
            return Err(malformed(format!("a payload of {} bytes cannot hold {} columns", p.len(), ncols)));
        }
        let mut off = 16;
        let mut descs: Vec<(ColumnType, &'a str)> = Vec::with_capacity(ncols as usize);
        for i in 0..ncols as usize {
            if p.len() - off < 4 || p[off + 1] != 0 {
                return Err(malformed(format!("column descriptor {} is cut short or its padding is not zero", i)));
            }
            let (code, nl) = (p[off], p[off + 2] as usize | (p[off + 3] as usize) << 8);
            off += 4;
            if nl > p.len() - off {
                return Err(malformed(format!("the name of column {} runs past the payload", i)));
            }
            let name = match std::str::from_utf8(&p[off..off + nl]) {
                Ok(s) if !s.is_empty() => s,
                _ => return Err(malformed(format!("column {}: a name is 1 to 65535 bytes of UTF-8", i))),
            };
            off += nl;
            let typ = ColumnType::from_code(code)
                .ok_or_else(|| malformed(format!("column {:?} has unknown type {}", name, code)))?;
            if descs.iter().any(|&(_, n)| n == name) {
                return Err(malformed(format!("two columns are named {:?}", name)));
            }
            descs.push((typ, name));
        }
        let pad = pad8(off);
        if pad > p.len() - off || p[off..off + pad].iter().any(|&b| b != 0) {
            return Err(malformed("the column descriptors' padding is cut short or not zero"));
        }
        off += pad;
        // take consumes n bytes and the zero padding after them; sizes are u64, since
        // nrows × 8 overflows a 32-bit usize.
        let mut take = |n: u64| -> Option<&'a [u8]> {
            let padded = n.checked_add(pad8(n as usize) as u64)?;
            if padded > (p.len() - off) as u64 {
                return None;
            }
            let (n, padded) = (n as usize, padded as usize);
            let b = &p[off..off + n];
            if p[off + n..off + padded].iter().any(|&z| z != 0) {
                return None;
            }
            off += padded;
            Some(b)
        };
        let mut columns = Vec::with_capacity(descs.len());
        for (typ, name) in descs {
            let cut = || malformed(format!("column {:?} runs past the payload or its padding is not zero", name));
            let data = match typ {
                ColumnType::Int64 => ColumnData::Int64(view(take(nrows * 8).ok_or_else(cut)?)),
                ColumnType::Timestamp => ColumnData::Timestamp(view(take(nrows * 8).ok_or_else(cut)?)),
                ColumnType::Float64 => ColumnData::Float64(view(take(nrows * 8).ok_or_else(cut)?)),
                ColumnType::Bool => {
                    let b = take(nrows).ok_or_else(cut)?;
                    if b.iter().any(|&x| x > 1) {
                        return Err(malformed(format!("bool column {:?} holds a byte other than 0 and 1", name)));
                    }
                    // Safety: every byte is 0 or 1, a valid bool, and bool has alignment 1.
                    ColumnData::Bool(Cow::Borrowed(unsafe { std::slice::from_raw_parts(b.as_ptr() as *const bool, b.len()) }))
                }
                ColumnType::String => {
                    let ob = take(4 * (nrows + 1)).ok_or_else(cut)?;
                    let tb = take(le32(&ob[ob.len() - 4..]) as u64).ok_or_else(cut)?;
                    let text = std::str::from_utf8(tb)
                        .map_err(|_| malformed(format!("string column {:?}: its text is not UTF-8", name)))?;
                    ColumnData::String(Strings { offsets: view(ob), text: Cow::Borrowed(text) })
                }
            };
            columns.push(Column { name: Cow::Borrowed(name), data });
        }
        if off != p.len() {
            return Err(malformed(format!("{} bytes after the last column", p.len() - off)));
        }
        let t = Table { columns, rows: nrows as usize };
        t.check().map_err(malformed)?;
        Ok(t)
    }

    /// payload_len is the length of the table's ext-5 payload.
    fn payload_len(&self) -> usize {
        let desc: usize = self.columns.iter().map(|c| 4 + c.name.len()).sum();
        let mut n = 16 + desc + pad8(desc);
        for c in &self.columns {
            let parts: [usize; 2] = match &c.data {
                ColumnData::Int64(_) | ColumnData::Float64(_) | ColumnData::Timestamp(_) => [8 * self.rows, 0],
                ColumnData::Bool(_) => [self.rows, 0],
                ColumnData::String(s) => [4 * (self.rows + 1), s.text.len()],
            };
            n += parts.iter().map(|&k| k + pad8(k)).sum::<usize>();
        }
        n
    }
}

impl fmt::Display for Table<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "table of {} rows [", self.rows)?;
        for (i, c) in self.columns.iter().enumerate() {
            write!(f, "{}{} {}", if i > 0 { ", " } else { "" }, c.name, c.column_type())?;
        }
        f.write_str("]")
    }
}

/// A table argument is an ext-5 value; a malformed one is an error that says what is wrong.
impl<'a> Decode<'a> for Table<'a> {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let m = r.peek()?;
        match r.read_ext() {
            Ok((EXT_TABLE, payload)) => Table::parse(payload),
            Ok((t, _)) => Err(DecodeError::new(format!("expected table, got ext type {}", t))),
            Err(_) => Err(DecodeError::expected("table", m)),
        }
    }
}

/// A table is written as one ext-5 value, each column with one copy.
impl Encode for Table<'_> {
    fn encode(&self, w: &mut Writer) {
        const ZEROS: [u8; 8] = [0; 8];
        let n = self.payload_len();
        w.reserve(6 + n);
        w.ext_header(EXT_TABLE, n);
        w.raw(&(self.columns.len() as u32).to_le_bytes());
        w.raw(&[0; 4]);
        w.raw(&(self.rows as u64).to_le_bytes());
        let mut desc = 0;
        for c in &self.columns {
            w.raw(&[c.column_type() as u8, 0]);
            w.raw(&(c.name.len() as u16).to_le_bytes());
            w.raw(c.name.as_bytes());
            desc += 4 + c.name.len();
        }
        w.raw(&ZEROS[..pad8(desc)]);
        let mut part = |b: &[u8]| {
            w.raw(b);
            w.raw(&ZEROS[..pad8(b.len())]);
        };
        for c in &self.columns {
            match &c.data {
                ColumnData::Int64(v) | ColumnData::Timestamp(v) => part(bytes_of(&v[..])),
                ColumnData::Float64(v) => part(bytes_of(&v[..])),
                ColumnData::Bool(v) => part(bytes_of(&v[..])),
                ColumnData::String(s) => {
                    part(bytes_of(&s.offsets[..]));
                    part(s.text.as_bytes());
                }
            }
        }
    }
}
