//! macOS: the listening socket launchd holds for `computer.parachute.hub`
//! (its plist's `Sockets.Listeners`), from `launch_activate_socket`. One
//! scoped FFI call; the project otherwise denies unsafe code.

use std::ffi::{CString, c_char, c_int, c_void};
use std::net::TcpListener;
use std::os::fd::{FromRawFd as _, OwnedFd, RawFd};

use super::ListenError;
use crate::lifecycle::launchd::render::SOCKET_NAME;

#[allow(unsafe_code)]
unsafe extern "C" {
    // <launch.h>: fills a malloc'd array of fds for the plist's socket key.
    fn launch_activate_socket(name: *const c_char, fds: *mut *mut c_int, cnt: *mut usize) -> c_int;
    fn free(p: *mut c_void);
}

/// Every fd launchd passed for `Listeners`, owned; `None` when this process
/// was not started by launchd with that key (ENOENT, ESRCH).
#[allow(unsafe_code)]
fn activate() -> Result<Option<Vec<OwnedFd>>, ListenError> {
    // SOCKET_NAME is a constant without NUL bytes.
    let name = CString::new(SOCKET_NAME).unwrap_or_default();
    let mut fds: *mut c_int = std::ptr::null_mut();
    let mut cnt: usize = 0;
    // SAFETY: `name` is a valid C string; on success launchd hands us `cnt`
    // fds in a malloc'd array that we own (and free) and fds we now own.
    let owned = unsafe {
        let rc = launch_activate_socket(name.as_ptr(), &raw mut fds, &raw mut cnt);
        if rc == ENOENT || rc == ESRCH {
            return Ok(None);
        }
        if rc != 0 {
            return Err(ListenError::LaunchdRefused { rc });
        }
        let list: Vec<OwnedFd> = (0..cnt)
            .map(|i| OwnedFd::from_raw_fd(*fds.add(i) as RawFd))
            .collect();
        free(fds.cast());
        list
    };
    Ok(Some(owned))
}

const ENOENT: c_int = 2;
const ESRCH: c_int = 3;

/// The hub's listeners from launchd, if it started us (empty otherwise).
/// launchd binds one fd per address `SockNodeName` resolves to (127.0.0.1
/// gives one, `localhost` two); the hub serves every one.
pub fn take() -> Result<Vec<TcpListener>, ListenError> {
    let fds = activate()?.unwrap_or_default();
    Ok(fds.into_iter().map(TcpListener::from).collect())
}
