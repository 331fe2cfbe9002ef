//! Signature lines derived from Rust types (abi/ABI.md section 10).
//!
//! [`crate::export!`] writes one line per function into the module's `mrun.signatures` custom
//! section. The line is computed at compile time from the parameter names, the parameter and
//! result types ([`SigType`]), the first sentence of the doc comment and the function's
//! `#[mrun(...)]` options. rustc 1.63 has no `&mut` in `const fn` and no const generic
//! expressions, so the text is built in fixed-capacity byte buffers passed by value.

use crate::rt::Kwargs;
use crate::{md, mt, Number, Object, Table, Tensor, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// SigBuf is text built at compile time: a byte buffer of capacity `N` and a length. It holds
/// valid UTF-8, since it only ever gains whole strings.
#[derive(Clone, Copy)]
pub struct SigBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

/// SigName is a type's name in a signature, such as `int` or `list[map[str, any]]`: the value
/// of [`SigType::NAME`].
pub type SigName = SigBuf<96>;

/// SigLine is a whole signature line, doc and newline included.
#[doc(hidden)]
pub type SigLine = SigBuf<2048>;

impl<const N: usize> SigBuf<N> {
    /// new returns a buffer holding `s`; building a constant whose text exceeds the capacity
    /// fails to compile.
    pub const fn new(s: &str) -> Self {
        SigBuf { buf: [0; N], len: 0 }.push(s)
    }

    /// push returns the buffer with `s` appended.
    pub const fn push(self, s: &str) -> Self {
        self.push_bytes(s.as_bytes(), 0, s.len())
    }

    /// then returns the buffer with the text of `other` appended.
    pub const fn then<const M: usize>(self, other: SigBuf<M>) -> Self {
        self.push_bytes(&other.buf, 0, other.len)
    }

    const fn push_bytes(mut self, b: &[u8], from: usize, to: usize) -> Self {
        if self.len + (to - from) > N {
            panic!("mrun: a signature line or type name is too long (lines have at most 2048 bytes, type names 96)");
        }
        let mut i = from;
        while i < to {
            self.buf[self.len] = b[i];
            self.len += 1;
            i += 1;
        }
        self
    }

    /// len is the length of the text in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// is_empty reports whether the text is empty.
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// is reports whether the text equals `s`.
    pub const fn is(&self, s: &str) -> bool {
        eq(&self.buf, self.len, s.as_bytes())
    }

    /// as_str returns the text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).expect("SigBuf holds UTF-8")
    }

    /// to_array returns the text as an array of exactly its length, `N2`.
    #[doc(hidden)]
    pub const fn to_array<const N2: usize>(&self) -> [u8; N2] {
        if N2 != self.len {
            panic!("mrun: to_array: wrong length");
        }
        let mut out = [0u8; N2];
        let mut i = 0;
        while i < N2 {
            out[i] = self.buf[i];
            i += 1;
        }
        out
    }
}

impl SigName {
    /// list_of is the name of a list whose elements are of type `elem`: `list[elem]`, or
    /// `list` when `elem` is `any`.
    pub const fn list_of(elem: SigName) -> SigName {
        if elem.is("any") {
            return SigName::new("list");
        }
        SigName::new("list[").then(elem).push("]")
    }

    /// map_of is the name of a map with string keys whose values are of type `value`:
    /// `map[str, value]`, or `map` when `value` is `any`.
    pub const fn map_of(value: SigName) -> SigName {
        if value.is("any") {
            return SigName::new("map");
        }
        SigName::new("map[str, ").then(value).push("]")
    }
}

const fn eq(a: &[u8], alen: usize, b: &[u8]) -> bool {
    if alen != b.len() {
        return false;
    }
    let mut i = 0;
    while i < alen {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// SigType is a Rust type that a signature can name: [`crate::export!`] writes each
/// parameter's type and the result's type with it. Implement it for your own parameter and
/// result types (a type without it is written `any`):
///
/// ```
/// struct Point { x: f64, y: f64 }
/// impl mrun::SigType for Point {
///     const NAME: mrun::SigName = mrun::SigName::new("list[float]");
/// }
/// ```
pub trait SigType {
    /// NAME is the type's name in a signature, in the value model of abi/ABI.md section 5.
    const NAME: SigName;
    /// LIST is the name of a `Vec` or slice of the type: `list[NAME]`, except bytes for `u8`.
    const LIST: SigName = SigName::list_of(Self::NAME);
    /// RESULT is the name of the type as a function's result: `NAME`, except for a tuple,
    /// which is the outputs of a spawn with `n_output` equal to its length, `(A, B)`.
    const RESULT: SigName = Self::NAME;
    #[doc(hidden)]
    const IS_KWARGS: bool = false;
}

macro_rules! sig_types {
    ($name:literal: $($t:ty),*) => {$(
        impl SigType for $t {
            const NAME: SigName = SigName::new($name);
        }
    )*};
}

sig_types!("int": i8, i16, i32, i64, i128, isize, u16, u32, u64, u128, usize);
sig_types!("float": f32, f64);
sig_types!("bool": bool);
sig_types!("str": str, String);
sig_types!("none": ());
sig_types!("any": Value, Number, Object);
sig_types!("table": Table<'_>);
// An expression is written as its map of fields.
sig_types!("map[str, any]": mt::Expr, md::Expr);

impl SigType for u8 {
    const NAME: SigName = SigName::new("int");
    const LIST: SigName = SigName::new("bytes");
}

/// A tensor of any dtype: the dtype is known only at run time. Write `tensor[float64]` with
/// `#[mrun(args(t = "tensor[float64]"))]` or `#[mrun(returns = "...")]` when it is fixed.
impl SigType for Tensor<'_> {
    const NAME: SigName = SigName::new("tensor");
}

impl<T: SigType + ?Sized> SigType for &T {
    const NAME: SigName = T::NAME;
    const LIST: SigName = T::LIST;
    const RESULT: SigName = T::RESULT;
}

impl<T: SigType + ?Sized> SigType for Box<T> {
    const NAME: SigName = T::NAME;
    const LIST: SigName = T::LIST;
    const RESULT: SigName = T::RESULT;
}

impl<T: SigType + ToOwned + ?Sized> SigType for Cow<'_, T> {
    const NAME: SigName = T::NAME;
    const LIST: SigName = T::LIST;
    const RESULT: SigName = T::RESULT;
}

impl<T: SigType> SigType for [T] {
    const NAME: SigName = T::LIST;
}

impl<T: SigType, const N: usize> SigType for [T; N] {
    const NAME: SigName = T::LIST;
}

impl<T: SigType> SigType for Vec<T> {
    const NAME: SigName = T::LIST;
}

/// An `Option` is nil or a value, and a signature has no union type: `any`.
impl<T: SigType> SigType for Option<T> {
    const NAME: SigName = SigName::new("any");
}

/// SigKey is a map key type that is a string, so that the map is `map[str, V]`; maps with
/// other keys have no [`SigType`] and are written `any`.
pub trait SigKey {}
impl SigKey for String {}
impl SigKey for str {}
impl SigKey for &str {}

impl<K: SigKey, V: SigType> SigType for BTreeMap<K, V> {
    const NAME: SigName = SigName::map_of(V::NAME);
}

impl<K: SigKey, V: SigType, S> SigType for HashMap<K, V, S> {
    const NAME: SigName = SigName::map_of(V::NAME);
}

/// A `Result` is its `Ok` type: an `Err` fails the call.
impl<T: SigType, E> SigType for Result<T, E> {
    const NAME: SigName = T::NAME;
    const LIST: SigName = T::LIST;
    const RESULT: SigName = T::RESULT;
}

/// Kwargs takes no positional argument: its keywords are declared with
/// `#[mrun(kwargs = "...")]`.
impl SigType for Kwargs<'_> {
    const NAME: SigName = SigName::new("any");
    const IS_KWARGS: bool = true;
}

/// common is `list[T]` when every name is T, otherwise `list`.
const fn common(names: &[SigName]) -> SigName {
    let mut i = 1;
    while i < names.len() {
        if !same(&names[i], &names[0]) {
            return SigName::new("list");
        }
        i += 1;
    }
    SigName::list_of(names[0])
}

const fn same(a: &SigName, b: &SigName) -> bool {
    if a.len != b.len {
        return false;
    }
    let mut i = 0;
    while i < a.len {
        if a.buf[i] != b.buf[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// outputs is `(A, B, ...)`.
const fn outputs(names: &[SigName]) -> SigName {
    let mut s = SigName::new("(");
    let mut i = 0;
    while i < names.len() {
        if i > 0 {
            s = s.push(", ");
        }
        s = s.then(names[i]);
        i += 1;
    }
    s.push(")")
}

macro_rules! tuple_sig_types {
    ($($t:ident),+) => {
        /// A tuple is a list of exactly its length (`list[T]` when its elements share a
        /// type); as a result it is the outputs `(A, B, ...)` of a spawn with `n_output`
        /// equal to its length.
        impl<$($t: SigType),+> SigType for ($($t,)+) {
            const NAME: SigName = common(&[$($t::NAME),+]);
            const RESULT: SigName = outputs(&[$($t::NAME),+]);
        }
    };
}

impl<A: SigType> SigType for (A,) {
    const NAME: SigName = SigName::list_of(A::NAME);
}
tuple_sig_types!(A, B);
tuple_sig_types!(A, B, C);
tuple_sig_types!(A, B, C, D);
tuple_sig_types!(A, B, C, D, E);
tuple_sig_types!(A, B, C, D, E, F);
tuple_sig_types!(A, B, C, D, E, F, G);
tuple_sig_types!(A, B, C, D, E, F, G, H);

/// Probe finds a type's [`SigType`] names, or `any` for a type without one: its inherent
/// constants apply when `T: SigType`, the [`ProbeAny`] trait's otherwise.
#[doc(hidden)]
pub struct Probe<T: ?Sized>(std::marker::PhantomData<T>);

impl<T: SigType + ?Sized> Probe<T> {
    /// NAME is `T::NAME`.
    pub const NAME: SigName = T::NAME;
    /// RESULT is `T::RESULT`.
    pub const RESULT: SigName = T::RESULT;
    /// IS_KWARGS is `T::IS_KWARGS`.
    pub const IS_KWARGS: bool = T::IS_KWARGS;
}

/// ProbeAny gives `any` for the types without [`SigType`].
#[doc(hidden)]
pub trait ProbeAny {
    /// NAME is `any`.
    const NAME: SigName = SigName::new("any");
    /// RESULT is `any`.
    const RESULT: SigName = SigName::new("any");
    /// IS_KWARGS is false.
    const IS_KWARGS: bool = false;
}

impl<T: ?Sized> ProbeAny for Probe<T> {}

/// Param is one parameter of an exported function: its Rust name, its type's name, and
/// whether it is the [`Kwargs`] parameter.
#[doc(hidden)]
pub type Param = (&'static str, SigName, bool);

/// Opts are the options of one `#[mrun(...)]` attribute, or of all of a function's.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Opts {
    impure: bool,
    returns: Option<&'static str>,
    sig: Option<&'static str>,
    kwargs: Option<&'static str>,
    args: &'static [(&'static str, &'static str)],
}

impl Opts {
    /// NONE is no option.
    pub const NONE: Opts = Opts { impure: false, returns: None, sig: None, kwargs: None, args: &[] };

    /// impure marks the function impure.
    pub const fn impure(mut self) -> Opts {
        self.impure = true;
        self
    }

    /// returns sets the result's type.
    pub const fn returns(mut self, t: &'static str) -> Opts {
        if self.returns.is_some() {
            panic!("mrun::export!: #[mrun(returns = ...)] is given twice");
        }
        self.returns = Some(t);
        self
    }

    /// sig sets the whole signature but the doc.
    pub const fn sig(mut self, s: &'static str) -> Opts {
        if self.sig.is_some() {
            panic!("mrun::export!: #[mrun(sig = ...)] is given twice");
        }
        self.sig = Some(s);
        self
    }

    /// kwargs sets the keyword parameters.
    pub const fn kwargs(mut self, s: &'static str) -> Opts {
        if self.kwargs.is_some() {
            panic!("mrun::export!: #[mrun(kwargs = ...)] is given twice");
        }
        self.kwargs = Some(s);
        self
    }

    /// args sets the types of parameters.
    pub const fn args(mut self, a: &'static [(&'static str, &'static str)]) -> Opts {
        if !self.args.is_empty() {
            panic!("mrun::export!: #[mrun(args(...))] is given twice");
        }
        self.args = a;
        self
    }

    const fn merge(self, o: Opts) -> Opts {
        let mut m = self;
        if o.impure {
            m = m.impure();
        }
        if let Some(t) = o.returns {
            m = m.returns(t);
        }
        if let Some(s) = o.sig {
            m = m.sig(s);
        }
        if let Some(s) = o.kwargs {
            m = m.kwargs(s);
        }
        if !o.args.is_empty() {
            m = m.args(o.args);
        }
        m
    }
}

/// line builds the signature line of function `name`, ending in a newline; a mistake the
/// types cannot settle fails the build with a message that says what to write.
#[doc(hidden)]
pub const fn line(name: &str, params: &[Param], result: SigName, docs: &[Option<&str>], opts: &[Opts]) -> SigLine {
    let mut o = Opts::NONE;
    let mut i = 0;
    while i < opts.len() {
        o = o.merge(opts[i]);
        i += 1;
    }
    let mut s = SigLine::new("");
    if let Some(sig) = o.sig {
        if o.impure || o.returns.is_some() || o.kwargs.is_some() || !o.args.is_empty() {
            panic!("mrun::export!: #[mrun(sig = ...)] is the whole signature: leave out the other options");
        }
        if !starts_with_call(sig.as_bytes(), name.as_bytes()) {
            panic!("mrun::export!: #[mrun(sig = ...)] must start with the function's mrun name and \"(\"");
        }
        s = s.push(sig);
    } else {
        s = push_name(s, name).push("(");
        let mut kwargs = false;
        let mut n = 0;
        i = 0;
        while i < params.len() {
            let (pname, t, is_kwargs) = params[i];
            i += 1;
            if is_kwargs {
                kwargs = true;
                continue;
            }
            if n > 0 {
                s = s.push(", ");
            }
            n += 1;
            let pname = strip_raw(pname);
            s = s.push(pname).push(": ");
            match arg_type(o.args, pname) {
                Some(t) => s = s.push(t),
                None => s = s.then(t),
            }
        }
        let mut j = 0;
        while j < o.args.len() {
            if !has_param(params, o.args[j].0) {
                panic!("mrun::export!: #[mrun(args(...))] names a parameter the function does not have");
            }
            j += 1;
        }
        match o.kwargs {
            Some(k) => {
                if !kwargs {
                    panic!("mrun::export!: #[mrun(kwargs = ...)] needs a Kwargs parameter");
                }
                if n > 0 {
                    s = s.push(", ");
                }
                s = s.push("*, ").push(k);
            }
            None => {
                if kwargs {
                    panic!("mrun::export!: a function with a Kwargs parameter declares its keywords: #[mrun(kwargs = r#\"name: str = \"default\"\"#)], or its whole signature with #[mrun(sig = ...)]");
                }
            }
        }
        s = s.push(") -> ");
        match o.returns {
            Some(r) => s = s.push(r),
            None => s = s.then(result),
        }
        if o.impure {
            s = s.push("  impure");
        }
    }
    s = push_doc(s.push("  -- "), docs);
    s.push("\n")
}

const fn starts_with_call(sig: &[u8], name: &[u8]) -> bool {
    if sig.len() <= name.len() {
        return false;
    }
    let mut i = 0;
    while i < name.len() {
        if sig[i] != name[i] {
            return false;
        }
        i += 1;
    }
    sig[i] == b'(' || sig[i] == b' '
}

/// push_name writes a function's name, as a JSON string when it has a byte the plain form
/// cannot hold.
const fn push_name(s: SigLine, name: &str) -> SigLine {
    let b = name.as_bytes();
    let mut plain = !b.is_empty() && b[0] != b'#';
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' | b'\\' | 0..=0x1f | 0x7f => panic!("mrun::export!: a function name with a quote, a backslash or a control character needs #[mrun(sig = ...)]"),
            b' ' | b'(' | b')' => plain = false,
            _ => {}
        }
        i += 1;
    }
    if plain {
        s.push(name)
    } else {
        s.push("\"").push(name).push("\"")
    }
}

const fn strip_raw(name: &str) -> &str {
    match name.as_bytes() {
        // SAFETY: "r#" is ASCII, so the rest of a str is a str.
        [b'r', b'#', rest @ ..] => unsafe { std::str::from_utf8_unchecked(rest) },
        _ => name,
    }
}

const fn arg_type(args: &[(&'static str, &'static str)], name: &str) -> Option<&'static str> {
    let mut i = 0;
    while i < args.len() {
        if eq(args[i].0.as_bytes(), args[i].0.len(), name.as_bytes()) {
            return Some(args[i].1);
        }
        i += 1;
    }
    None
}

const fn has_param(params: &[Param], name: &str) -> bool {
    let mut i = 0;
    while i < params.len() {
        let p = strip_raw(params[i].0);
        if !params[i].2 && eq(p.as_bytes(), p.len(), name.as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

/// push_doc writes the first sentence of the doc comment: its lines joined with spaces, up to
/// the first ". " (or "? ", "! ") or the first blank line, control characters as spaces.
const fn push_doc(mut s: SigLine, docs: &[Option<&str>]) -> SigLine {
    let start = s.len;
    let mut i = 0;
    while i < docs.len() {
        let b = match docs[i] {
            Some(d) => d.as_bytes(),
            None => {
                i += 1;
                continue;
            }
        };
        i += 1;
        let (mut from, mut to) = (0, b.len());
        while from < to && (b[from] == b' ' || b[from] == b'\t') {
            from += 1;
        }
        while to > from && (b[to - 1] == b' ' || b[to - 1] == b'\t' || b[to - 1] == b'\r') {
            to -= 1;
        }
        if from == to {
            if s.len > start {
                break;
            }
            continue;
        }
        if s.len > start {
            s = s.push(" ");
        }
        let mut j = from;
        let mut end = false;
        while j < to {
            let c = b[j];
            if (c == b'.' || c == b'?' || c == b'!') && (j + 1 == to || b[j + 1] == b' ') {
                j += 1;
                end = true;
                break;
            }
            j += 1;
        }
        s = s.push_bytes(b, from, j);
        if end {
            break;
        }
    }
    if s.len == start {
        panic!("mrun::export!: every exported function needs a doc comment (///): its first sentence is the doc of its signature");
    }
    let mut k = start;
    while k < s.len {
        if s.buf[k] < 0x20 || s.buf[k] == 0x7f {
            s.buf[k] = b' ';
        }
        k += 1;
    }
    s
}
