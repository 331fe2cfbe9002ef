//! Nested spawn (ABI.md section 2.2): a running function spawns lazy children, executes them
//! and fetches their values. Everything here is valid only while the function runs: handles
//! belong to the running call.

use crate::codec::{from_slice, Decode, DecodeError, DecodeOwned, Encode, Reader, Writer};
use crate::error::{Error, ErrorKind, HostCode};
use crate::host;
use crate::rt::current_call;

/// The extension type of a handle: in spawn arguments a dependency, in a received frame an
/// Object passed by reference.
pub const EXT_HANDLE: i8 = 2;
/// The extension type of a handle passed by reference: the child receives a handle of its own.
pub const EXT_BY_REF: i8 = 3;

/// The most outputs a spawn may ask for; functions with more return a list.
pub const MAX_OUTPUTS: u32 = 1 << 16;

/// The flag of spawn's `n_output` that marks the task impure (ABI.md section 2.2); the output
/// count is in the low 24 bits.
const SPAWN_IMPURE: u32 = 1 << 30;

// Reusable buffers of the nested-spawn calls (single-threaded, never borrowed across calls).
static mut FRAME: Writer = Writer::new();
static mut FETCHED: Vec<u8> = Vec::new();
static mut HANDLES: Vec<u32> = Vec::new();
/// The error of an Object that could not be encoded as an argument (see `Encode for Object`).
static mut BAD_ARG: Option<Error> = None;

/// Object is the result of a task: a child spawned by the running function, or an Object
/// passed to it by reference. Like an Object of Mars it is lazy: [`spawn()`] only records the
/// task; [`Object::execute`] or [`execute`] runs it with everything it depends on, and
/// [`Object::fetch`] reads its value.
///
/// As an argument of a spawn, at any depth, an Object is a dependency: the child runs after
/// it and receives its value in its place. [`Object::by_ref`] passes the Object itself. A
/// function receives an Object passed by reference in a parameter of type `Object`.
///
/// An Object whose spawn failed carries the error ([`Object::error`]); executing or fetching
/// it, or spawning with it as an argument, returns that error. An Object is valid only during
/// the call that made it; using it in a later call is an error.
#[derive(Clone, Debug)]
pub struct Object {
    handle: u32,
    call: u32,
    err: Option<Error>,
}

impl Object {
    fn failed(err: Error) -> Object {
        Object { handle: 0, call: current_call(), err: Some(err) }
    }

    /// from_handle is the Object that handle `h` names in the running call: an escape hatch
    /// for code that gets handle numbers some other way.
    pub fn from_handle(h: u32) -> Object {
        Object { handle: h, call: current_call(), err: None }
    }

    /// handle is the handle of the Object in the running call, or 0 if its spawn failed.
    pub fn handle(&self) -> u32 {
        self.handle
    }

    /// error is the error of the Object's spawn, if it failed. It does not say whether the
    /// task itself will succeed: that is for execute to find out.
    pub fn error(&self) -> Option<&Error> {
        self.err.as_ref()
    }

    /// check returns the Object's handle, or why it cannot be used.
    fn check(&self) -> Result<u32, Error> {
        if let Some(e) = &self.err {
            return Err(e.clone());
        }
        if self.call != current_call() {
            return Err(Error::with_kind(
                ErrorKind::Host(HostCode::Invalid),
                format!("handle {} belongs to an earlier call", self.handle),
            ));
        }
        Ok(self.handle)
    }

    /// execute runs the Object's task and everything it depends on, if they have not run
    /// yet, and waits; see [`execute`].
    pub fn execute(&self) -> Result<(), Error> {
        execute([self])
    }

    /// fetch decodes the Object's value as a `T`. The Object must have been executed, or have
    /// been received by reference. If its task failed, the error is of kind
    /// [`ErrorKind::Task`], and returning it fails the running call with this child as the
    /// cause. A tensor is fetched as [`crate::Value`] or with [`Object::fetch_raw`] and
    /// [`crate::from_slice`].
    pub fn fetch<T: DecodeOwned>(&self) -> Result<T, Error> {
        let h = self.check()?;
        let n = fetch_into_buffer(h)?;
        // Safety: FETCHED is not borrowed anywhere else while this function runs.
        let buf = unsafe { &*std::ptr::addr_of!(FETCHED) };
        from_slice(&buf[..n]).map_err(|e| {
            Error::with_kind(ErrorKind::Argument, format!("fetch of handle {}: {}", h, e))
        })
    }

    /// fetch_raw returns the Object's value as its MessagePack bytes.
    pub fn fetch_raw(&self) -> Result<Vec<u8>, Error> {
        let h = self.check()?;
        let n = fetch_into_buffer(h)?;
        // Safety: as in fetch.
        Ok(unsafe { (&*std::ptr::addr_of!(FETCHED))[..n].to_vec() })
    }

    /// by_ref passes the Object by reference as a spawn argument: the child receives the
    /// Object itself, as a handle of its own, instead of its value.
    pub fn by_ref(&self) -> ByRef<'_> {
        ByRef(self)
    }
}

/// fetch_into_buffer copies the value of handle `h` into FETCHED and returns its length.
fn fetch_into_buffer(h: u32) -> Result<usize, Error> {
    // Safety: single-threaded; no reference to FETCHED outlives the callers' use of it.
    let buf = unsafe { &mut *std::ptr::addr_of_mut!(FETCHED) };
    if buf.is_empty() {
        buf.resize(4096, 0);
    }
    loop {
        let n = host::fetch(h, buf);
        if n < 0 {
            return Err(host_error(n, h));
        }
        let n = n as usize;
        if n <= buf.len() {
            return Ok(n);
        }
        buf.resize(n, 0);
    }
}

/// host_error is the error of a negative return code; a failed task is a Task error whose
/// message is the host's text, verbatim.
fn host_error(code: i64, handle: u32) -> Error {
    let msg = host::last_error();
    match HostCode::from_code(code) {
        HostCode::Failed => Error::with_kind(ErrorKind::Task { handle }, msg),
        c => Error::with_kind(ErrorKind::Host(c), msg),
    }
}

impl Object {
    /// arg_handle is the handle to write when the Object is a spawn argument. Encoding cannot
    /// fail, so an unusable Object is written as handle 0 and its error is kept for the spawn
    /// that encodes it to report.
    fn arg_handle(&self) -> u32 {
        match self.check() {
            Ok(h) => h,
            Err(e) => {
                // Safety: single-threaded.
                let bad = unsafe { &mut *std::ptr::addr_of_mut!(BAD_ARG) };
                if bad.is_none() {
                    *bad = Some(e);
                }
                0
            }
        }
    }
}

/// An Object as a spawn argument is a dependency (ext type 2).
impl Encode for Object {
    fn encode(&self, w: &mut Writer) {
        w.ext(EXT_HANDLE, &self.arg_handle().to_be_bytes())
    }
}

/// A parameter of type Object receives an Object passed by reference (ext type 2).
impl<'a> Decode<'a> for Object {
    fn decode(r: &mut Reader<'a>) -> Result<Self, DecodeError> {
        let m = r.peek()?;
        match r.read_ext() {
            Ok((EXT_HANDLE, p)) if p.len() == 4 => {
                Ok(Object::from_handle(u32::from_be_bytes([p[0], p[1], p[2], p[3]])))
            }
            _ => Err(DecodeError::expected("an Object passed by reference", m)),
        }
    }
}

/// ByRef is an Object passed by reference as a spawn argument (ext type 3); see
/// [`Object::by_ref`].
#[derive(Clone, Copy, Debug)]
pub struct ByRef<'o>(&'o Object);

impl Encode for ByRef<'_> {
    fn encode(&self, w: &mut Writer) {
        w.ext(EXT_BY_REF, &self.0.arg_handle().to_be_bytes())
    }
}

/// ArgList is the positional arguments of a spawn: a tuple (`()` for none, `(x,)` for one),
/// a slice, an array or a Vec.
pub trait ArgList {
    /// encode_args writes the arguments as an array.
    fn encode_args(&self, w: &mut Writer);
}

impl ArgList for () {
    fn encode_args(&self, w: &mut Writer) {
        w.array_len(0)
    }
}

impl<T: Encode> ArgList for [T] {
    fn encode_args(&self, w: &mut Writer) {
        w.array_len(self.len());
        for x in self {
            x.encode(w)
        }
    }
}

impl<T: Encode> ArgList for Vec<T> {
    fn encode_args(&self, w: &mut Writer) {
        self[..].encode_args(w)
    }
}

impl<T: Encode, const N: usize> ArgList for [T; N] {
    fn encode_args(&self, w: &mut Writer) {
        self[..].encode_args(w)
    }
}

impl<T: ArgList + ?Sized> ArgList for &T {
    fn encode_args(&self, w: &mut Writer) {
        (**self).encode_args(w)
    }
}

macro_rules! arglist_tuples {
    ($(($($t:ident),+);)*) => {$(
        impl<$($t: Encode),+> ArgList for ($($t,)+) {
            fn encode_args(&self, w: &mut Writer) {
                self.encode(w)
            }
        }
    )*};
}

arglist_tuples! {
    (A); (A, B); (A, B, C); (A, B, C, D); (A, B, C, D, E); (A, B, C, D, E, F);
    (A, B, C, D, E, F, G); (A, B, C, D, E, F, G, H);
}

/// Task is a spawn in its complete form: another module, keyword arguments, several
/// outputs, an impure call. [`spawn()`] and [`spawn_n`] are its short forms.
///
/// ```ignore
/// let outs = mrun::Task::new("greet").kwarg("greeting", "hi").spawn(("bob",));
/// let matrix = mrun::Task::new("rand_matrix").impure().spawn((10, 10)).remove(0);
/// ```
#[derive(Clone, Debug)]
pub struct Task<'s> {
    module: &'s str,
    func: &'s str,
    n_output: u32,
    impure: bool,
    kwargs: Vec<(String, Vec<u8>)>,
}

impl<'s> Task<'s> {
    /// new describes a call of function `func` of the caller's own module, with one output.
    pub fn new(func: &'s str) -> Task<'s> {
        Task { module: "", func, n_output: 1, impure: false, kwargs: Vec::new() }
    }

    /// module names the module of the function: the name it was loaded under in the
    /// runtime, or its SHA-256 in 64 lowercase hex digits; "" is the caller's own module.
    pub fn module(mut self, module: &'s str) -> Task<'s> {
        self.module = module;
        self
    }

    /// n_output splits the function's result, an array of `k` values, into `k` Objects.
    pub fn n_output(mut self, k: u32) -> Task<'s> {
        self.n_output = k;
        self
    }

    /// impure marks the call impure: its value may differ between calls with the same
    /// arguments (it reads the clock or draws random numbers). Tasks are named by function and
    /// arguments, so three pure spawns of `rand_matrix(10, 10)` are one task with one value;
    /// three impure spawns are three tasks with three values, none of them served from or kept
    /// in a cache.
    pub fn impure(mut self) -> Task<'s> {
        self.impure = true;
        self
    }

    /// kwarg adds the keyword argument `name` = `value`.
    pub fn kwarg(mut self, name: &str, value: impl Encode) -> Task<'s> {
        let mut w = Writer::new();
        value.encode(&mut w);
        self.kwargs.push((name.to_owned(), w.into_bytes()));
        self
    }

    /// spawn records the call with the positional arguments `args` and returns its
    /// `n_output` Objects. Nothing runs until they are executed. A spawn that fails does not
    /// return an error: its Objects carry it (see [`Object`]).
    pub fn spawn(&self, args: impl ArgList) -> Vec<Object> {
        let k = self.n_output.max(1);
        match self.try_spawn(&args, k) {
            Ok(h) => (0..k).map(|i| Object::from_handle(h + i)).collect(),
            Err(e) => vec![Object::failed(e); k.min(MAX_OUTPUTS) as usize],
        }
    }

    fn try_spawn(&self, args: &dyn ArgList, k: u32) -> Result<u32, Error> {
        if k > MAX_OUTPUTS {
            return Err(Error::with_kind(
                ErrorKind::Host(HostCode::Invalid),
                format!("spawn {}: n_output {} is over {}", self.func, k, MAX_OUTPUTS),
            ));
        }
        // Safety: single-threaded; FRAME and BAD_ARG are used only here and in Object::encode,
        // which this function calls but which does not touch FRAME.
        let (w, bad) = unsafe { (&mut *std::ptr::addr_of_mut!(FRAME), &mut *std::ptr::addr_of_mut!(BAD_ARG)) };
        *bad = None;
        w.clear();
        w.array_len(2);
        args.encode_args(w);
        w.map_len(self.kwargs.len());
        for (k, v) in &self.kwargs {
            w.str(k);
            w.raw(v);
        }
        if let Some(e) = bad.take() {
            return Err(e);
        }
        let flags = if self.impure { SPAWN_IMPURE } else { 0 };
        let h = host::spawn(self.module, self.func, w.as_bytes(), k | flags);
        if h < 0 {
            let e = host_error(h as i64, 0);
            return Err(Error::with_kind(e.kind(), format!("spawn {}: {}", self.func, e.message())));
        }
        Ok(h as u32)
    }
}

/// spawn records a call of function `func` of the caller's own module with the positional
/// arguments `args` (a tuple, slice or Vec) and returns its Object; nothing runs until it is
/// executed. Objects among the arguments, at any depth, are dependencies.
///
/// A spawn that fails (an unknown function, a task budget exhausted, a cancelled execution)
/// does not return an error: the Object carries it, and it comes out of the execute or fetch
/// that the function needs to get any value at all.
pub fn spawn(func: &str, args: impl ArgList) -> Object {
    let mut v = Task::new(func).spawn(args);
    v.pop().unwrap_or_else(|| Object::failed(Error::new("spawn returned no Object")))
}

/// spawn_n is [`spawn()`] for a function with `k` outputs: its result, an array of `k` values,
/// is split into `k` Objects, like a Mars spawn with `n_output=k`.
pub fn spawn_n(func: &str, args: impl ArgList, k: u32) -> Vec<Object> {
    Task::new(func).n_output(k).spawn(args)
}

/// AsObject is an [`Object`] or a reference to one, so that [`execute`] takes a `&Vec<Object>`,
/// a `&[Object]`, a `&[&Object]` or an array `[&a, &b]` alike.
pub trait AsObject {
    /// as_object is the Object.
    fn as_object(&self) -> &Object;
}

impl AsObject for Object {
    fn as_object(&self) -> &Object {
        self
    }
}

impl<T: AsObject + ?Sized> AsObject for &T {
    fn as_object(&self) -> &Object {
        (**self).as_object()
    }
}

/// execute runs the tasks of `objects` (a `&Vec<Object>`, a `&[Object]`, a `&[&Object]` or an
/// array of `&Object`s), with every task they depend on, in parallel where
/// the graph allows, and waits until all have finished. Tasks that already ran are not run
/// again.
///
/// It returns Ok if every Object has a value. If some failed, it returns the error of the
/// first of them in order, of kind [`ErrorKind::Task`]; the values of the others can still
/// be fetched. An Object whose spawn failed gives its error without running anything. When
/// the execution is being cancelled the error [`Error::is_cancelled`]: return at once.
pub fn execute<I>(objects: I) -> Result<(), Error>
where
    I: IntoIterator,
    I::Item: AsObject,
{
    // Safety: single-threaded; HANDLES is used only here.
    let hs = unsafe { &mut *std::ptr::addr_of_mut!(HANDLES) };
    hs.clear();
    for o in objects {
        hs.push(o.as_object().check()?);
    }
    match host::execute(hs) {
        0 => Ok(()),
        1 => {
            for &h in hs.iter() {
                let n = host::fetch(h, &mut []);
                if n < 0 {
                    return Err(host_error(n, h));
                }
            }
            Err(Error::new("execute: a task failed but none of the executed Objects did"))
        }
        c => {
            let e = host_error(c as i64, 0);
            Err(Error::with_kind(e.kind(), format!("execute: {}", e.message())))
        }
    }
}
