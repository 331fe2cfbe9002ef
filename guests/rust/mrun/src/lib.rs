//! `mrun` turns ordinary Rust functions into an mrun module: a
//! WebAssembly reactor that implements the guest ABI of `abi/ABI.md`. You write typed
//! functions; the crate exports `mrun_abi_v1` and `mrun_alloc`, decodes argument frames into
//! your parameters, encodes your results and reports errors with `set_error`.
//!
//! ```ignore
//! mrun::export! {
//!     /// inc(x) is x + 1.
//!     fn inc(x: i64) -> i64 {
//!         x + 1
//!     }
//! }
//! ```
//!
//! - Parameters are any [`Decode`] type (integers, floats, `bool`, `String`, `&str`,
//!   `Vec<u8>` for bytes, `Vec<T>`, `Option<T>`, tuples, [`Value`], [`Tensor`], [`Table`],
//!   [`Object`]), bound to positional arguments in order, plus a final [`Kwargs`] for keyword
//!   arguments.
//! - The result is any [`Encode`] type, or `Result<T, E>` with `E: Display`: an `Err` fails
//!   the call with its text. A tuple is an array: the outputs of a spawn with `n_output` equal
//!   to its length.
//! - [`spawn()`], [`spawn_n`], [`Task`], [`execute`] and [`Object::fetch`] are nested spawn.
//! - [`Tensor`] and [`Table`] view the tensor and table values in place; [`mt`] and [`md`]
//!   build expressions of the chunked tensors of module `mrun:tensor` and the chunked tables
//!   of `mrun:table`, and evaluate them.
//!
//! The crate has its own MessagePack codec ([`Reader`], [`Writer`]) and no dependencies.

#![warn(missing_docs)]

mod codec;
mod error;
mod host;
pub mod md;
pub mod mt;
#[doc(hidden)]
pub mod rt;
pub mod sig;
mod spawn;
mod table;
mod tensor;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_sig;
#[cfg(test)]
mod tests_table;
mod value;

pub use codec::{family, from_slice, to_vec, Decode, DecodeError, DecodeOwned, Encode, Int, Reader, Writer, MAX_DEPTH};
pub use error::{Error, ErrorKind, HostCode};
pub use rt::{IntoResult, Kwargs, Param};
pub use spawn::{execute, spawn, spawn_n, ArgList, AsObject, ByRef, Object, Task, EXT_BY_REF, EXT_HANDLE, MAX_OUTPUTS};
pub use table::{Column, ColumnData, ColumnType, Strings, Table, EXT_TABLE, MAX_COLUMNS};
pub use tensor::{DType, Element, Tensor, EXT_TENSOR, MAX_NDIM};
pub use sig::{SigKey, SigName, SigType};
pub use value::{Number, Value};

/// export! defines functions and exports each as the mrun function of the same name
/// (`mrun_fn_<name>`), with its signature in the module's `mrun.signatures` section. Write
/// ordinary Rust functions inside it, each with a doc comment:
///
/// ```ignore
/// mrun::export! {
///     /// add(a, b) is a + b.
///     fn add(a: i64, b: i64) -> i64 {
///         a + b
///     }
///
///     /// concat(a, b) joins two strings.
///     fn concat(a: &str, b: &str) -> String {
///         format!("{}{}", a, b)
///     }
///
///     /// type(v) names v's family. A name that is not a Rust identifier goes before the
///     /// function, with `=>`.
///     "type" => fn type_of(v: mrun::Value) -> &'static str {
///         v.kind()
///     }
/// }
/// ```
///
/// Each parameter takes the next positional argument ([`Decode`]), except a [`Kwargs`]
/// parameter, which takes the keyword arguments. Missing, superfluous and ill-typed
/// arguments fail the call with a message naming the function and the parameter, such as
/// `inc: argument 1 (x): expected int, got str`. The return type implements [`IntoResult`].
///
/// The signature is derived at compile time: the parameter names, their types and the
/// result's type by [`SigType`] (`add(a: int, b: int) -> int`), and the doc from the first
/// sentence of the doc comment (`  -- add(a, b) is a + b.`). A function without a doc
/// comment fails to compile. What the types cannot say goes in `#[mrun(...)]`, after the doc
/// comment:
///
/// - `impure`: the result depends on more than the arguments;
/// - `returns = "list[int]"`: the result's type, where the Rust type says less (a
///   [`Tensor`] of a fixed dtype) or means another thing (a tuple that is one list, not
///   outputs);
/// - `args(t = "tensor[float64]", ...)`: parameters' types, likewise;
/// - `kwargs = r#"greeting: str = "hello""#`: the keyword parameters, which a function with
///   a [`Kwargs`] parameter must declare (it fails to compile otherwise);
/// - `sig = "f(x: int) -> int"`: the whole line but the doc, written by hand.
#[macro_export]
macro_rules! export {
    ($(
        $(#[$($attr:tt)*])*
        $($export:literal =>)?
        $vis:vis fn $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) $(-> $ret:ty)? $body:block
    )*) => {$(
        $crate::__export_fn! { [] $(#[$($attr)*])* $vis fn $name($($arg: $ty),*) $(-> $ret)? $body }

        const _: () = {
            #[export_name = concat!("mrun_fn_", $crate::__export_name!($($export)?, $name))]
            extern "C" fn export(p: u32, n: u32) -> u64 {
                $crate::rt::call($crate::__export_name!($($export)?, $name), p, n, |_args, _out| {
                    $(let $arg: $ty = $crate::Param::extract(_args, stringify!($arg))?;)*
                    _args.finish()?;
                    $crate::IntoResult::write($name($($arg),*), _out)
                })
            }
        };

        const _: () = {
            const LINE: $crate::sig::SigLine = $crate::__sig_line!(
                ($($export)?) $name ($($arg: $ty),*) ($($ret)?) $(#[$($attr)*])*
            );
            const LEN: usize = LINE.len();
            #[cfg_attr(target_arch = "wasm32", link_section = "mrun.signatures")]
            #[used]
            static SIGNATURE: [u8; LEN] = LINE.to_array::<LEN>();
        };
    )*};
}

/// __sig_line! is the signature line of a function of [`export!`], as a
/// [`sig::SigLine`] constant expression: `(export name) name (params) (result) attributes`.
#[doc(hidden)]
#[macro_export]
macro_rules! __sig_line {
    (($($export:literal)?) $name:ident ($($arg:ident : $ty:ty),*) ($($ret:ty)?) $(#[$($attr:tt)*])*) => {{
        #[allow(unused_imports)]
        use $crate::sig::ProbeAny as _;
        $crate::sig::line(
            $crate::__export_name!($($export)?, $name),
            &[$((stringify!($arg), $crate::sig::Probe::<$ty>::NAME, $crate::sig::Probe::<$ty>::IS_KWARGS)),*],
            $crate::sig::Probe::<$crate::__result_type!($($ret)?)>::RESULT,
            &[$($crate::__sig_doc!($($attr)*)),*],
            &[$($crate::__sig_opts!($($attr)*)),*],
        )
    }};
}

/// __export_fn! writes a function of [`export!`] without its `#[mrun(...)]` attributes.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_fn {
    ([$($kept:tt)*] #[mrun $($o:tt)*] $($rest:tt)*) => {
        $crate::__export_fn! { [$($kept)*] $($rest)* }
    };
    ([$($kept:tt)*] #[$($a:tt)*] $($rest:tt)*) => {
        $crate::__export_fn! { [$($kept)* #[$($a)*]] $($rest)* }
    };
    ([$($kept:tt)*] $($item:tt)*) => {
        $($kept)* $($item)*
    };
}

/// __result_type! is a function's result type, `()` when it has none.
#[doc(hidden)]
#[macro_export]
macro_rules! __result_type {
    () => { () };
    ($t:ty) => { $t };
}

/// __sig_doc! is the text of a doc attribute, or None for another attribute.
#[doc(hidden)]
#[macro_export]
macro_rules! __sig_doc {
    (doc = $d:literal) => { ::core::option::Option::Some($d) };
    ($($other:tt)*) => { ::core::option::Option::None };
}

/// __sig_opts! is the [`sig::Opts`] of a `#[mrun(...)]` attribute, or none for another
/// attribute.
#[doc(hidden)]
#[macro_export]
macro_rules! __sig_opts {
    (mrun($($o:tt)*)) => { $crate::__sig_opt!(($crate::sig::Opts::NONE) $($o)*) };
    (mrun $($o:tt)*) => { compile_error!("mrun::export!: write the options as #[mrun(option, ...)]") };
    ($($other:tt)*) => { $crate::sig::Opts::NONE };
}

/// __sig_opt! reads the options of one `#[mrun(...)]` attribute.
#[doc(hidden)]
#[macro_export]
macro_rules! __sig_opt {
    (($acc:expr) $(,)?) => { $acc };
    (($acc:expr) impure $(, $($rest:tt)*)?) => {
        $crate::__sig_opt!(($acc.impure()) $($($rest)*)?)
    };
    (($acc:expr) returns = $t:literal $(, $($rest:tt)*)?) => {
        $crate::__sig_opt!(($acc.returns($t)) $($($rest)*)?)
    };
    (($acc:expr) sig = $t:literal $(, $($rest:tt)*)?) => {
        $crate::__sig_opt!(($acc.sig($t)) $($($rest)*)?)
    };
    (($acc:expr) kwargs = $t:literal $(, $($rest:tt)*)?) => {
        $crate::__sig_opt!(($acc.kwargs($t)) $($($rest)*)?)
    };
    (($acc:expr) args($($n:ident = $t:literal),* $(,)?) $(, $($rest:tt)*)?) => {
        $crate::__sig_opt!(($acc.args(&[$((stringify!($n), $t)),*])) $($($rest)*)?)
    };
    (($acc:expr) $($other:tt)*) => {
        compile_error!(concat!(
            "mrun::export!: unknown option `", stringify!($($other)*), "` in #[mrun(...)]: the options are ",
            "impure, returns = \"type\", args(name = \"type\", ...), kwargs = \"...\" and sig = \"...\""
        ))
    };
}

/// signature! describes an exported function in the module's `mrun.signatures` custom section
/// (abi/ABI.md section 10): one line in the notation `mrun inspect` prints, without its
/// newline. It is for a function exported without [`export!`], which writes the line of
/// each of its functions itself; a `signature!` for one of those would describe it twice,
/// which the host refuses (write `#[mrun(sig = "...")]` in the `export!` instead):
///
/// ```ignore
/// mrun::signature!("inc(x: int) -> int  -- Returns x + 1.");
/// #[export_name = "mrun_fn_inc"]
/// extern "C" fn inc(p: u32, n: u32) -> u64 {
///     // ...
/// }
/// ```
///
/// The linker concatenates the lines of every `signature!` of the module into the one section.
/// The host checks the section when it loads the module: a line that breaks the grammar, or
/// that describes a function the module does not export, refuses the module with a message
/// naming the line. On targets other than wasm32 the line is a plain static, unused.
#[macro_export]
macro_rules! signature {
    ($line:literal) => {
        const _: () = {
            const LINE: &str = concat!($line, "\n");
            #[cfg_attr(target_arch = "wasm32", link_section = "mrun.signatures")]
            #[used]
            static SIGNATURE: [u8; LINE.len()] = $crate::rt::signature_bytes(LINE);
        };
    };
}

/// __export_name! is the mrun name of an exported function: the literal given before `=>`,
/// or the Rust name.
#[doc(hidden)]
#[macro_export]
macro_rules! __export_name {
    ($export:literal, $name:ident) => {
        $export
    };
    (, $name:ident) => {
        stringify!($name)
    };
}
