//! The error type of functions and of nested spawn.

use crate::codec::DecodeError;
use std::fmt;

/// HostCode is a negative return code of the host's `spawn`, `execute` or `fetch`
/// (ABI.md section 2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostCode {
    /// −1: a bad handle, an unknown module or function, a malformed frame, a bad `n_output`.
    Invalid,
    /// −2: the Object's task failed.
    Failed,
    /// −3: the Object has no value yet: execute it first.
    NotExecuted,
    /// −4: the nesting depth or the task budget would be exceeded.
    Limit,
    /// −5: the execution is being cancelled: return as soon as possible.
    Cancelled,
    /// −6: the call was not started by an engine, so it cannot spawn.
    Unsupported,
    /// A code this SDK does not know.
    Other(i32),
}

impl HostCode {
    /// from_code maps a negative return code to its HostCode.
    pub fn from_code(c: i64) -> HostCode {
        match c {
            -1 => HostCode::Invalid,
            -2 => HostCode::Failed,
            -3 => HostCode::NotExecuted,
            -4 => HostCode::Limit,
            -5 => HostCode::Cancelled,
            -6 => HostCode::Unsupported,
            c => HostCode::Other(c as i32),
        }
    }
}

/// ErrorKind says what an [`Error`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// An error of the function itself, made with [`Error::new`] or from another error type.
    Other,
    /// An argument was missing, superfluous or of the wrong type.
    Argument,
    /// A child task failed: the message is the host's text for its error, and returning the
    /// error fails the call with `fail_with`, so the host records the child as the cause.
    Task {
        /// The child's handle in the running call.
        handle: u32,
    },
    /// The host's `spawn`, `execute` or `fetch` failed for another reason.
    Host(HostCode),
}

/// Error is the error of a function: returning `Err(e)` fails the call with `e`'s text as
/// the guest error. Any error type that implements `Display` can be returned; an `Error` of
/// kind [`ErrorKind::Task`] (a child that failed) additionally names the child as the cause.
///
/// [`Error::context`] prefixes the message and keeps the kind, so a parent can say what it
/// was doing: `Err(e.context("parent_fail"))` reads "parent_fail: <the child's error>".
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// new makes an error of kind [`ErrorKind::Other`] with the message `msg`.
    pub fn new(msg: impl Into<String>) -> Error {
        Error { kind: ErrorKind::Other, message: msg.into() }
    }

    /// with_kind makes an error of any kind.
    pub fn with_kind(kind: ErrorKind, msg: impl Into<String>) -> Error {
        Error { kind, message: msg.into() }
    }

    /// kind says what the error is about.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// message is the error's text, which becomes the guest error verbatim.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// context prefixes the message with `prefix` and ": ", keeping the kind.
    pub fn context(mut self, prefix: impl fmt::Display) -> Error {
        self.message = format!("{}: {}", prefix, self.message);
        self
    }

    /// is_cancelled says whether the execution is being cancelled; the function should
    /// return at once.
    pub fn is_cancelled(&self) -> bool {
        self.kind == ErrorKind::Host(HostCode::Cancelled)
    }

    /// task_handle is the handle of the failed child, for an error of kind [`ErrorKind::Task`].
    pub fn task_handle(&self) -> Option<u32> {
        match self.kind {
            ErrorKind::Task { handle } => Some(handle),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Error({:?}, {:?})", self.kind, self.message)
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(s: String) -> Error {
        Error::new(s)
    }
}

impl From<&str> for Error {
    fn from(s: &str) -> Error {
        Error::new(s)
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Error {
        Error::with_kind(ErrorKind::Argument, e.to_string())
    }
}
