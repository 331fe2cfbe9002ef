//! The imports of module `mrun` (ABI.md section 2), wrapped in safe functions. On other
//! targets than wasm32 (the SDK's own tests) they behave as a call that no engine started.

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "mrun")]
    extern "C" {
        pub fn set_error(msg: *const u8, len: usize);
        pub fn fail_with(handle: u32, msg: *const u8, len: usize);
        pub fn spawn(m: *const u8, ml: usize, f: *const u8, fl: usize, a: *const u8, al: usize, n: u32) -> i32;
        pub fn execute(handles: *const u32, count: usize) -> i32;
        pub fn fetch(handle: u32, buf: *mut u8, cap: usize) -> i64;
        pub fn last_error(buf: *mut u8, cap: usize) -> i32;
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::missing_safety_doc)]
pub(crate) mod imports {
    use std::cell::Cell;

    thread_local! {
        /// The `n_output` of the thread's last spawn, for the SDK's tests.
        pub static LAST_N_OUTPUT: Cell<u32> = Cell::new(0);
    }

    pub unsafe fn set_error(_: *const u8, _: usize) {}
    pub unsafe fn fail_with(_: u32, _: *const u8, _: usize) {}
    pub unsafe fn spawn(_: *const u8, _: usize, _: *const u8, _: usize, _: *const u8, _: usize, n: u32) -> i32 {
        LAST_N_OUTPUT.with(|c| c.set(n));
        -6
    }
    pub unsafe fn execute(_: *const u32, _: usize) -> i32 {
        -6
    }
    pub unsafe fn fetch(_: u32, _: *mut u8, _: usize) -> i64 {
        -6
    }
    pub unsafe fn last_error(_: *mut u8, _: usize) -> i32 {
        0
    }
}

// Safety of everything below: the host reads or writes exactly the ranges passed, which are
// valid slices of guest memory for the duration of the import.

pub(crate) fn set_error(msg: &str) {
    unsafe { imports::set_error(msg.as_ptr(), msg.len()) }
}

pub(crate) fn fail_with(handle: u32, msg: &str) {
    unsafe { imports::fail_with(handle, msg.as_ptr(), msg.len()) }
}

pub(crate) fn spawn(module: &str, func: &str, frame: &[u8], n_output: u32) -> i32 {
    unsafe {
        imports::spawn(
            module.as_ptr(),
            module.len(),
            func.as_ptr(),
            func.len(),
            frame.as_ptr(),
            frame.len(),
            n_output,
        )
    }
}

pub(crate) fn execute(handles: &[u32]) -> i32 {
    unsafe { imports::execute(handles.as_ptr(), handles.len()) }
}

/// fetch copies the value of `handle` into `buf` if it fits and returns its length, or a
/// negative code.
pub(crate) fn fetch(handle: u32, buf: &mut [u8]) -> i64 {
    unsafe { imports::fetch(handle, buf.as_mut_ptr(), buf.len()) }
}

/// last_error is the message of the last failed spawn, execute or fetch of the call.
pub(crate) fn last_error() -> String {
    let mut buf = vec![0u8; 256];
    loop {
        let n = unsafe { imports::last_error(buf.as_mut_ptr(), buf.len()) };
        let n = n.max(0) as usize;
        if n <= buf.len() {
            buf.truncate(n);
            return String::from_utf8_lossy(&buf).into_owned();
        }
        buf.resize(n, 0);
    }
}
