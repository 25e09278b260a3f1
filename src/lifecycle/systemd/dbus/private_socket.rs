//! The manager's private socket, made readable for zbus.
//!
//! On its direct connections systemd stamps every message with the sender
//! `org.freedesktop.systemd1` (`sd_bus_set_sender()` in systemd's
//! `src/core/dbus.c`). D-Bus only allows unique names there, and zbus 5
//! rejects the header — its reader task panics and every call then hangs. So
//! the read half below rewrites that one field, in place and at the same
//! length, to a unique name before zbus parses the message. All other bytes,
//! the authentication handshake included, pass through unchanged.

use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;

use tokio::net::UnixStream;
use tokio::net::unix::OwnedReadHalf;
use zbus::connection::socket::{BoxedSplit, ReadHalf, Split, WriteHalf};

/// What systemd puts in the sender field…
const SYSTEMD_SENDER: &[u8] = b"org.freedesktop.systemd1";
/// …and the same-length unique name zbus sees instead.
const STAND_IN: &[u8] = b":org.freedesktop.systemd";
const _: () = assert!(SYSTEMD_SENDER.len() == STAND_IN.len());

/// The D-Bus primary header: endianness, type, flags, version, body length,
/// serial, then the length of the header-field array.
const PRIMARY_HEADER: usize = 16;
/// Header field code of `SENDER` (D-Bus specification, "Header Fields").
const FIELD_SENDER: u8 = 7;

/// Splits a connected private socket for `zbus::connection::Builder::socket`.
pub(super) fn split(stream: UnixStream) -> BoxedSplit {
    let (read, write) = stream.into_split();
    let read: Box<dyn ReadHalf> = Box::new(SenderFix::new(read));
    let write: Box<dyn WriteHalf> = Box::new(write);
    Split::new(read, write)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Authentication, at the start of a line.
    LineStart,
    /// Authentication, inside a line.
    MidLine,
    /// Past the handshake: a stream of whole messages.
    Messages,
}

#[derive(Debug)]
struct SenderFix<R = OwnedReadHalf> {
    inner: R,
    stage: Stage,
    /// Read from the socket, not yet framed.
    raw: Vec<u8>,
    /// Framed (and fixed) bytes zbus has not taken yet.
    ready: Vec<u8>,
    fds: Vec<OwnedFd>,
}

impl<R> SenderFix<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            stage: Stage::LineStart,
            raw: Vec::new(),
            ready: Vec::new(),
            fds: Vec::new(),
        }
    }

    /// Moves what can be handed on from `raw` to `ready`: handshake text as
    /// it comes, messages only once complete (the sender may sit anywhere in
    /// the header).
    fn advance(&mut self) {
        loop {
            match self.stage {
                Stage::Messages => {
                    let Some(len) = message_len(&self.raw) else {
                        return;
                    };
                    if self.raw.len() < len {
                        return;
                    }
                    let mut msg: Vec<u8> = self.raw.drain(..len).collect();
                    fix_sender(&mut msg);
                    self.ready.extend_from_slice(&msg);
                }
                _ if self.raw.is_empty() => return,
                // Server lines start with `OK`, `REJECTED`, `DATA`, `ERROR` or
                // `AGREE_UNIX_FD`; a message starts with its endianness byte.
                Stage::LineStart if matches!(self.raw[0], b'l' | b'B') => {
                    self.stage = Stage::Messages;
                }
                Stage::LineStart | Stage::MidLine => {
                    if let Some(end) = self.raw.iter().position(|&b| b == b'\n') {
                        self.ready.extend(self.raw.drain(..=end));
                        self.stage = Stage::LineStart;
                    } else {
                        self.ready.append(&mut self.raw);
                        self.stage = Stage::MidLine;
                    }
                }
            }
        }
    }

    fn take_ready(&mut self, out: &mut [u8]) -> (usize, Vec<OwnedFd>) {
        let n = out.len().min(self.ready.len());
        out[..n].copy_from_slice(&self.ready[..n]);
        self.ready.drain(..n);
        (n, std::mem::take(&mut self.fds))
    }
}

/// The async-trait shape of `ReadHalf::recvmsg`, written out so we need no
/// extra macro crate.
type Recv<'a> = Pin<Box<dyn Future<Output = io::Result<(usize, Vec<OwnedFd>)>> + Send + 'a>>;

impl<R: ReadHalf> ReadHalf for SenderFix<R> {
    fn recvmsg<'life0, 'life1, 'async_trait>(
        &'life0 mut self,
        out: &'life1 mut [u8],
    ) -> Recv<'async_trait>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let mut chunk = vec![0; 4096];
            loop {
                if !self.ready.is_empty() {
                    return Ok(self.take_ready(out));
                }
                let (n, fds) = self.inner.recvmsg(&mut chunk).await?;
                self.fds.extend(fds);
                if n == 0 {
                    // End of stream: let zbus see it.
                    return Ok((0, std::mem::take(&mut self.fds)));
                }
                self.raw.extend_from_slice(&chunk[..n]);
                self.advance();
            }
        })
    }

    /// Nothing we call passes file descriptors, and buffering whole messages
    /// would blur which message a descriptor arrived with: don't negotiate them.
    fn can_pass_unix_fd(&self) -> bool {
        false
    }
}

/// Total length of the message starting at `raw[0]`, once its primary header is in.
fn message_len(raw: &[u8]) -> Option<usize> {
    let header = raw.get(..PRIMARY_HEADER)?;
    let big = header[0] == b'B';
    let body = read_u32(&header[4..8], big)?;
    let fields = read_u32(&header[12..16], big)?;
    let header_len = PRIMARY_HEADER.checked_add(fields)?;
    header_len.next_multiple_of(8).checked_add(body)
}

fn read_u32(bytes: &[u8], big_endian: bool) -> Option<usize> {
    let bytes: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    let n = if big_endian {
        u32::from_be_bytes(bytes)
    } else {
        u32::from_le_bytes(bytes)
    };
    usize::try_from(n).ok()
}

/// Rewrites a `SENDER` of `org.freedesktop.systemd1` in one whole message.
/// Anything it does not understand is left for zbus to judge.
fn fix_sender(msg: &mut [u8]) {
    if let Some(range) = sender_value(msg)
        && &msg[range.clone()] == SYSTEMD_SENDER
    {
        msg[range].copy_from_slice(STAND_IN);
    }
}

/// Where the `SENDER` string's bytes sit in `msg`, walking the header fields
/// (`a(yv)`, each field 8-aligned from the start of the message).
fn sender_value(msg: &[u8]) -> Option<std::ops::Range<usize>> {
    let big = *msg.first()? == b'B';
    let end = PRIMARY_HEADER + read_u32(msg.get(12..16)?, big)?;
    let mut pos = PRIMARY_HEADER;
    while pos < end {
        pos = pos.next_multiple_of(8);
        let code = *msg.get(pos)?;
        let sig_len = usize::from(*msg.get(pos + 1)?);
        let sig = msg.get(pos + 2..pos + 2 + sig_len)?;
        let value = pos + 2 + sig_len + 1;
        pos = match sig {
            b"s" | b"o" => {
                let at = value.next_multiple_of(4);
                let len = read_u32(msg.get(at..at + 4)?, big)?;
                let start = at + 4;
                if code == FIELD_SENDER {
                    return msg.get(start..start + len).map(|_| start..start + len);
                }
                start + len + 1
            }
            b"g" => value + 1 + usize::from(*msg.get(value)?) + 1,
            b"u" => value.next_multiple_of(4) + 4,
            _ => return None,
        };
    }
    None
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;
    use zbus::message::Message;

    use super::*;

    /// A method return as systemd sends it on its private socket.
    fn from_systemd() -> Vec<u8> {
        let call = Message::method_call("/org/freedesktop/systemd1", "Subscribe")
            .expect("path")
            .build(&())
            .expect("call");
        let reply = Message::method_return(&call.header())
            .expect("reply")
            .sender(":org.freedesktop.systemd")
            .expect("sender")
            .build(&("252",))
            .expect("build");
        let mut bytes = reply.data().to_vec();
        let at = find(&bytes, STAND_IN).expect("sender in header");
        bytes[at..at + STAND_IN.len()].copy_from_slice(SYSTEMD_SENDER);
        bytes
    }

    fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// Feeds `input` in `step`-byte reads, as a socket might deliver it.
    fn run(input: &[u8], step: usize) -> Vec<u8> {
        let mut fix = SenderFix::new(());
        for piece in input.chunks(step) {
            fix.raw.extend_from_slice(piece);
            fix.advance();
        }
        fix.ready
    }

    #[test]
    fn rewrites_systemds_sender_and_passes_the_handshake_through() {
        let handshake = b"OK 0123456789abcdef0123456789abcdef\r\nAGREE_UNIX_FD\r\n".to_vec();
        let msg = from_systemd();
        let mut input = handshake.clone();
        input.extend(&msg);
        input.extend(&msg);
        for step in [1, 3, 7, 16, 4096] {
            let out = run(&input, step);
            assert_eq!(out.len(), input.len(), "step {step}");
            assert_eq!(out[..handshake.len()], handshake[..], "step {step}");
            let messages = &out[handshake.len()..];
            assert!(find(messages, SYSTEMD_SENDER).is_none(), "step {step}");
            let mut expected = msg.clone();
            let at = find(&expected, SYSTEMD_SENDER).expect("sender");
            expected[at..at + STAND_IN.len()].copy_from_slice(STAND_IN);
            assert_eq!(messages[..msg.len()], expected[..], "step {step}");
        }
    }

    #[test]
    fn leaves_other_senders_and_bodies_alone() {
        let call = Message::method_call("/x", "Echo")
            .expect("path")
            .sender(":1.42")
            .expect("sender")
            .build(&("org.freedesktop.systemd1",))
            .expect("build");
        let bytes = call.data().to_vec();
        let mut fixed = bytes.clone();
        fix_sender(&mut fixed);
        assert_eq!(fixed, bytes);
    }

    #[test]
    fn waits_for_a_whole_message() {
        let msg = from_systemd();
        let mut fix = SenderFix::new(());
        fix.stage = Stage::Messages;
        fix.raw.extend_from_slice(&msg[..msg.len() - 1]);
        fix.advance();
        assert!(fix.ready.is_empty());
        fix.raw.push(msg[msg.len() - 1]);
        fix.advance();
        assert_eq!(fix.ready.len(), msg.len());
    }
}
