//! Whether services.json may have changed since the last look, told by the
//! kernel instead of a `stat(2)` per proxied request (that `statx` was the
//! largest single item of the hub's own CPU per request).
//!
//! On Linux: an inotify watch on the file's directory, read without
//! blocking. The kernel queues the event inside the `rename(2)` (or write)
//! itself, so a change made before a request arrives is seen by that
//! request — no thread, no window. Elsewhere (macOS), when the watch cannot
//! be set (the per-user inotify limit), or once it is lost (the directory
//! itself was removed or moved, or the queue overflowed), the answer is
//! always "maybe": the registry falls back to its stamp check.

use std::path::Path;

/// The watch on services.json's directory (see the module doc).
#[derive(Debug)]
pub struct Watch {
    #[cfg(target_os = "linux")]
    inotify: Option<std::os::fd::OwnedFd>,
    /// The watched file's name within the directory.
    #[cfg(target_os = "linux")]
    name: std::ffi::OsString,
}

#[cfg(target_os = "linux")]
impl Watch {
    pub fn new(file: &Path) -> Self {
        use rustix::fs::inotify::{self, CreateFlags, WatchFlags};
        let dir = file.parent().unwrap_or(Path::new("."));
        let flags = WatchFlags::CREATE
            | WatchFlags::CLOSE_WRITE
            | WatchFlags::DELETE
            | WatchFlags::MOVED_FROM
            | WatchFlags::MOVED_TO
            | WatchFlags::DELETE_SELF
            | WatchFlags::MOVE_SELF
            | WatchFlags::ONLYDIR;
        let inotify = inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC)
            .and_then(|fd| inotify::add_watch(&fd, dir, flags).map(|_| fd))
            .map_err(|e| {
                tracing::debug!(error = %e, dir = %dir.display(),
                    "no inotify watch on services.json's directory; checking its stamp per request");
            })
            .ok();
        let name = file.file_name().unwrap_or_default().to_os_string();
        Self { inotify, name }
    }

    /// Whether services.json may have changed since the last call (`true`
    /// when it cannot be known). Drains the pending events.
    pub fn changed(&mut self) -> bool {
        use std::mem::MaybeUninit;

        use rustix::fs::inotify::{ReadFlags, Reader};
        use rustix::io::Errno;
        let Some(fd) = &self.inotify else {
            return true;
        };
        let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
        let mut events = Reader::new(fd, &mut buf);
        let mut changed = false;
        let mut lost = false;
        loop {
            match events.next() {
                Ok(e) => {
                    let ev = e.events();
                    if ev.intersects(
                        ReadFlags::IGNORED
                            | ReadFlags::QUEUE_OVERFLOW
                            | ReadFlags::DELETE_SELF
                            | ReadFlags::MOVE_SELF,
                    ) {
                        lost = true;
                    }
                    let ours = e
                        .file_name()
                        .is_some_and(|n| n.to_bytes() == self.name.as_encoded_bytes());
                    changed |= ours;
                }
                Err(Errno::WOULDBLOCK) => break,
                Err(_) => {
                    lost = true;
                    break;
                }
            }
        }
        if lost {
            tracing::debug!(
                "the watch on services.json's directory is gone; checking its stamp per request"
            );
            self.inotify = None;
            return true;
        }
        changed
    }
}

#[cfg(not(target_os = "linux"))]
impl Watch {
    pub fn new(_file: &Path) -> Self {
        Self {}
    }

    /// Always "maybe": there is no watch here.
    pub fn changed(&mut self) -> bool {
        true
    }
}
