//! The guest side of a call: the exports `mrun_abi_v1` and `mrun_alloc`, the argument and
//! result buffers, argument binding and result encoding. [`crate::export!`] expands to calls
//! of the items here; they are public for the macro only.

use crate::codec::{Decode, DecodeError, Reader, Writer};
use crate::error::{Error, ErrorKind};
use crate::host;
use crate::Encode;
use std::any::Any;
use std::fmt::Display;

// A wasm instance runs one call at a time and has no threads, so the buffers below are plain
// statics, touched only from the exports and from the functions they call.

/// The argument buffer handed to the host by `mrun_alloc`, as 8-byte words so that tensors in
/// large frames are aligned.
static mut ARGS: Vec<u64> = Vec::new();
/// The result frame of the last call; the host copies it before the next call.
static mut OUT: Writer = Writer::new();
/// The number of the running call, so that Objects of earlier calls are recognised.
static mut CALL: u32 = 0;

/// The ABI version marker (ABI.md section 1.1).
#[no_mangle]
pub extern "C" fn mrun_abi_v1() {}

/// The allocator of argument buffers (ABI.md section 1.3): a buffer of at least `size`
/// bytes, kept and reused while frames fit; 0 when memory is exhausted.
#[no_mangle]
pub extern "C" fn mrun_alloc(size: u32) -> *mut u8 {
    let words = (size as usize + 7) / 8;
    // Safety: no call is running (the host calls mrun_alloc between calls), so nothing
    // borrows ARGS.
    unsafe {
        let args = &mut *std::ptr::addr_of_mut!(ARGS);
        if words > args.len() {
            let mut v: Vec<u64> = Vec::new();
            if v.try_reserve_exact(words).is_err() {
                return std::ptr::null_mut();
            }
            v.resize(words, 0);
            *args = v; // the previous buffer returns to the allocator
        }
        if args.is_empty() {
            args.push(0);
        }
        args.as_mut_ptr() as *mut u8
    }
}

/// current_call is the number of the running call.
pub(crate) fn current_call() -> u32 {
    // Safety: single-threaded; CALL is only written at the start of a call.
    unsafe { CALL }
}

/// signature_bytes copies line into an array of its length, the static that
/// [`crate::signature!`] places in the `mrun.signatures` custom section: a custom section
/// holds bytes, not a reference to them.
#[doc(hidden)]
pub const fn signature_bytes<const N: usize>(line: &str) -> [u8; N] {
    let b = line.as_bytes();
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = b[i];
        i += 1;
    }
    out
}

/// call runs the body of the export of function `func` on the frame `[p, p+n)` and returns
/// the packed result, or 0 after `set_error`/`fail_with`.
#[doc(hidden)]
pub fn call<F>(func: &'static str, p: u32, n: u32, body: F) -> u64
where
    F: for<'a> FnOnce(&mut Args<'a>, &mut Writer) -> Result<(), Error>,
{
    // Safety: the host wrote n bytes at p, in the buffer it got from mrun_alloc, and does
    // not touch them while the call runs. Single-threaded: nothing else uses OUT or CALL.
    let (frame, out) = unsafe {
        CALL = CALL.wrapping_add(1);
        let out = &mut *std::ptr::addr_of_mut!(OUT);
        out.clear();
        (std::slice::from_raw_parts(p as usize as *const u8, n as usize), out)
    };
    let res = Args::new(func, frame).and_then(|mut args| body(&mut args, out));
    match res {
        Ok(()) => {
            let b = out.as_bytes();
            (b.as_ptr() as usize as u64) << 32 | b.len() as u64
        }
        Err(e) => {
            match e.kind() {
                ErrorKind::Task { handle } => host::fail_with(handle, e.message()),
                _ => host::set_error(e.message()),
            }
            0
        }
    }
}

/// Args is the argument frame of the running call, as the export binds it to parameters:
/// positional arguments in order, then the keyword arguments.
#[doc(hidden)]
pub struct Args<'a> {
    func: &'static str,
    pos: Reader<'a>,
    npos: usize,
    next: usize,
    kw: Reader<'a>,
    nkw: usize,
    kw_taken: bool,
}

impl<'a> Args<'a> {
    pub(crate) fn new(func: &'static str, frame: &'a [u8]) -> Result<Args<'a>, Error> {
        let bad = |e: DecodeError| Error::with_kind(ErrorKind::Argument, format!("{}: malformed argument frame: {}", func, e));
        let mut r = Reader::new(frame);
        let n = r.read_array_len().map_err(bad)?;
        if n != 2 {
            return Err(bad(DecodeError::new(format!("expected [positional, keyword], got a list of {}", n))));
        }
        let npos = r.read_array_len().map_err(bad)?;
        let pos = r.clone();
        for _ in 0..npos {
            r.skip().map_err(bad)?;
        }
        let nkw = r.read_map_len().map_err(bad)?;
        Ok(Args { func, pos, npos, next: 0, kw: r, nkw, kw_taken: false })
    }

    /// positional decodes the next positional argument, called `name` in messages.
    pub fn positional<T: Decode<'a>>(&mut self, name: &str) -> Result<T, Error> {
        self.next += 1;
        if self.next > self.npos {
            return Err(Error::with_kind(
                ErrorKind::Argument,
                format!("{}: missing argument {} ({})", self.func, self.next, name),
            ));
        }
        T::decode(&mut self.pos).map_err(|e| {
            Error::with_kind(ErrorKind::Argument, format!("{}: argument {} ({}){}", self.func, self.next, name, colon(&e)))
        })
    }

    /// kwargs takes the keyword arguments.
    pub fn kwargs(&mut self) -> Kwargs<'a> {
        self.kw_taken = true;
        Kwargs { func: self.func, map: self.kw.clone(), n: self.nkw }
    }

    /// finish checks that no argument was left over.
    pub fn finish(&mut self) -> Result<(), Error> {
        if self.next < self.npos {
            let s = if self.next == 1 { "" } else { "s" };
            return Err(Error::with_kind(
                ErrorKind::Argument,
                format!("{}: takes {} positional argument{} but {} were given", self.func, self.next, s, self.npos),
            ));
        }
        if !self.kw_taken && self.nkw > 0 {
            let name = self.kw.clone().read_str().unwrap_or("?");
            return Err(Error::with_kind(
                ErrorKind::Argument,
                format!("{}: unexpected keyword argument {:?}", self.func, name),
            ));
        }
        Ok(())
    }
}

/// colon formats a decode error after an argument's name: `[2]: expected int, got str` or
/// ": expected int, got str".
fn colon(e: &DecodeError) -> String {
    if e.path().is_empty() {
        format!(": {}", e.message())
    } else {
        format!("{}: {}", e.path(), e.message())
    }
}

/// Param is a type that a parameter of an exported function can have: any [`Decode`] type
/// takes the next positional argument, and [`Kwargs`] takes the keyword arguments.
pub trait Param<'a>: Sized {
    /// extract binds the parameter called `name`.
    fn extract(args: &mut Args<'a>, name: &str) -> Result<Self, Error>;
}

impl<'a, T: Decode<'a>> Param<'a> for T {
    #[inline]
    fn extract(args: &mut Args<'a>, name: &str) -> Result<Self, Error> {
        args.positional(name)
    }
}

impl<'a> Param<'a> for Kwargs<'a> {
    fn extract(args: &mut Args<'a>, _name: &str) -> Result<Self, Error> {
        Ok(args.kwargs())
    }
}

/// Kwargs is the keyword arguments of a call, as a parameter of an exported function (after
/// the positional ones). A function without a Kwargs parameter fails when it is called with
/// keywords.
///
/// Values are decoded from the frame when asked for: [`Kwargs::get_or`] gives one keyword
/// argument or its default.
#[derive(Clone)]
pub struct Kwargs<'a> {
    func: &'static str,
    map: Reader<'a>,
    n: usize,
}

impl<'a> Kwargs<'a> {
    /// len is the number of keyword arguments.
    pub fn len(&self) -> usize {
        self.n
    }

    /// is_empty says whether there are no keyword arguments.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// names lists the keywords, in the order of the frame (ascending).
    pub fn names(&self) -> Vec<&'a str> {
        let mut v = Vec::with_capacity(self.n);
        self.each_name(|k| {
            v.push(k);
            true
        });
        v
    }

    /// each_name calls f with each keyword until f returns false.
    fn each_name(&self, mut f: impl FnMut(&'a str) -> bool) {
        let mut r = self.map.clone();
        for _ in 0..self.n {
            match r.read_str() {
                Ok(k) if f(k) && r.skip().is_ok() => {}
                _ => break,
            }
        }
    }

    /// get decodes the keyword argument `name` as a `T`, or gives None when it is absent.
    pub fn get<T: Decode<'a>>(&self, name: &str) -> Result<Option<T>, Error> {
        let mut r = self.map.clone();
        for _ in 0..self.n {
            let k = r.read_str().map_err(|e| self.err("a keyword", &e))?;
            if k == name {
                return T::decode(&mut r).map(Some).map_err(|e| self.err(name, &e));
            }
            r.skip().map_err(|e| self.err(k, &e))?;
        }
        Ok(None)
    }

    /// get_or decodes the keyword argument `name` as a `T`, or gives `default` when it is
    /// absent. A present value of the wrong type is an error naming the function and keyword.
    pub fn get_or<T: Decode<'a>>(&self, name: &str, default: T) -> Result<T, Error> {
        Ok(self.get(name)?.unwrap_or(default))
    }

    /// allow fails, naming the function and the keyword, if there is a keyword argument that
    /// is not in `names`.
    pub fn allow(&self, names: &[&str]) -> Result<(), Error> {
        let mut unknown = None;
        self.each_name(|k| {
            if names.contains(&k) {
                return true;
            }
            unknown = Some(k);
            false
        });
        match unknown {
            Some(k) => Err(Error::with_kind(
                ErrorKind::Argument,
                format!("{}: unexpected keyword argument {:?}", self.func, k),
            )),
            None => Ok(()),
        }
    }

    fn err(&self, name: &str, e: &DecodeError) -> Error {
        Error::with_kind(ErrorKind::Argument, format!("{}: keyword argument {}{}", self.func, name, colon(e)))
    }
}

/// IntoResult is a type that an exported function can return: any [`Encode`] type is the
/// value (a tuple is an array, the outputs of a spawn with `n_output` = its length), and
/// `Result<T, E>` with `E: Display` fails the call with `E`'s text when it is `Err`.
pub trait IntoResult {
    /// write encodes the value, or returns the error.
    fn write(self, w: &mut Writer) -> Result<(), Error>;
}

impl<T: Encode> IntoResult for T {
    #[inline]
    fn write(self, w: &mut Writer) -> Result<(), Error> {
        self.encode(w);
        Ok(())
    }
}

impl<T: Encode, E: Display + 'static> IntoResult for Result<T, E> {
    #[inline]
    fn write(self, w: &mut Writer) -> Result<(), Error> {
        match self {
            Ok(v) => {
                v.encode(w);
                Ok(())
            }
            Err(e) => Err(to_error(e)),
        }
    }
}

/// to_error turns any error into an [`Error`], keeping an `Error`'s kind.
fn to_error<E: Display + 'static>(e: E) -> Error {
    match (&e as &dyn Any).downcast_ref::<Error>() {
        Some(err) => err.clone(),
        None => Error::new(e.to_string()),
    }
}
