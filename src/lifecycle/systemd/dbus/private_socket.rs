//! The manager's private socket, made usable by zbus.
//!
//! Two quirks of systemd's side of this socket need working around:
//!
//! - **Authentication.** sd-bus (as of systemd 252) stalls a server connection
//!   when the client's first message arrives in the same read as `BEGIN`: it
//!   leaves the message in its buffer, goes back to polling, and answers only
//!   once more bytes (or the client's hang-up) arrive. zbus sends `BEGIN` once
//!   it has read `OK` and the first call right after, so whenever the manager
//!   is a little slow to run, both land in one read and the call hangs. We
//!   therefore authenticate ourselves, the way sd-bus clients (`systemctl`)
//!   do: `AUTH` and `BEGIN` in one write, before the `OK`. The manager then
//!   leaves the handshake as soon as it has written `OK`, before any message
//!   of ours can exist, and zbus gets an authenticated socket.
//! - **Sender.** On its direct connections systemd stamps every message with
//!   the sender `org.freedesktop.systemd1` (`sd_bus_set_sender()` in systemd's
//!   `src/core/dbus.c`). D-Bus only allows unique names there, and zbus (5 and
//!   6 alike, with no option to relax it) rejects such a header, which ends
//!   the connection's reader. So the read half below rewrites that one field,
//!   in place and at the same length, to a unique name before zbus parses the
//!   message.

use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::os::fd::OwnedFd;
use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UnixStream;
use zbus::Connection;
use zbus::connection::socket::{ReadHalf, Split, WriteHalf};

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
/// Longer than any reply line a server sends during authentication.
const MAX_AUTH_LINE: usize = 512;

/// Authenticates on a connected private socket and hands it to zbus as a
/// peer-to-peer connection to the manager.
pub(super) async fn connect(mut stream: UnixStream) -> zbus::Result<Connection> {
    let euid = rustix::process::geteuid().as_raw();
    let (guid, early) = authenticate(&mut stream, euid).await?;
    let (read, write) = stream.into_split();
    let read: Box<dyn ReadHalf> = Box::new(SenderFix::new(read, early));
    let write: Box<dyn WriteHalf> = Box::new(write);
    zbus::connection::Builder::authenticated_socket(Split::new(read, write), guid)?
        .p2p()
        .build()
        .await
}

/// The client side of the SASL handshake, pipelined like sd-bus's: `EXTERNAL`
/// with our uid, and `BEGIN` in the same write. Returns the server's GUID and
/// any bytes that followed its `OK` line (the first messages).
///
/// We offer no file-descriptor passing (no `NEGOTIATE_UNIX_FD`): nothing we
/// call passes any, and the read half buffers whole messages.
async fn authenticate<S>(stream: &mut S, euid: u32) -> io::Result<(String, Vec<u8>)>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // The uid in decimal, hex-encoded (D-Bus specification, "EXTERNAL").
    let hex = euid.to_string().bytes().fold(String::new(), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    });
    // One write (26 bytes on a fresh socket, so one segment): the manager
    // must read `BEGIN` with `AUTH`, before it answers, never with a message.
    stream
        .write_all(format!("\0AUTH EXTERNAL {hex}\r\nBEGIN\r\n").as_bytes())
        .await?;

    let mut buf = Vec::new();
    let line_end = loop {
        if let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            break end;
        }
        if buf.len() > MAX_AUTH_LINE {
            return Err(auth_error("an overlong authentication reply"));
        }
        let mut chunk = [0; 256];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the manager hung up during authentication",
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let line = String::from_utf8_lossy(&buf[..line_end]).into_owned();
    let early = buf.split_off(line_end + 2);
    match line.strip_prefix("OK ") {
        Some(guid) => Ok((guid.trim().to_owned(), early)),
        // E.g. `REJECTED EXTERNAL` when the uid is not the manager's.
        None => Err(auth_error(&format!("`{line}`"))),
    }
}

fn auth_error(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("authentication failed: the manager answered {what}"),
    )
}

#[derive(Debug)]
struct SenderFix<R = tokio::net::unix::OwnedReadHalf> {
    inner: R,
    /// Read from the socket, not yet a whole message.
    raw: Vec<u8>,
    /// Whole (and fixed) messages zbus has not taken yet.
    ready: Vec<u8>,
    fds: Vec<OwnedFd>,
}

impl<R> SenderFix<R> {
    /// `early` is what arrived with the end of the handshake.
    fn new(inner: R, early: Vec<u8>) -> Self {
        let mut fix = Self {
            inner,
            raw: early,
            ready: Vec::new(),
            fds: Vec::new(),
        };
        fix.advance();
        fix
    }

    /// Moves whole messages from `raw` to `ready`, fixing their sender (which
    /// may sit anywhere in the header, hence whole messages only).
    fn advance(&mut self) {
        while let Some(len) = message_len(&self.raw)
            && self.raw.len() >= len
        {
            let mut msg: Vec<u8> = self.raw.drain(..len).collect();
            fix_sender(&mut msg);
            self.ready.extend_from_slice(&msg);
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

    /// `authenticate` negotiates no descriptor passing: tells zbus not to send any.
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
    use std::collections::VecDeque;
    use std::time::Duration;

    use pretty_assertions::assert_eq;
    use tokio::io::DuplexStream;
    use zbus::message::Message;

    use super::*;

    const GUID: &str = "0123456789abcdef0123456789abcdef";

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

    /// A socket that delivers its bytes in fixed-size reads.
    #[derive(Debug)]
    struct Chunks(VecDeque<Vec<u8>>);

    impl ReadHalf for Chunks {
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
                // Yield once per read, as a socket that is not readable yet would.
                tokio::task::yield_now().await;
                let Some(mut chunk) = self.0.pop_front() else {
                    return Ok((0, Vec::new()));
                };
                let n = out.len().min(chunk.len());
                out[..n].copy_from_slice(&chunk[..n]);
                if n < chunk.len() {
                    self.0.push_front(chunk.split_off(n));
                }
                Ok((n, Vec::new()))
            })
        }
    }

    #[tokio::test]
    async fn zbus_reads_systemds_messages_whatever_the_read_boundaries() {
        let msg = from_systemd();
        let mut input = msg.clone();
        input.extend(&msg);
        for (early, step) in [(0, 1), (0, 3), (5, 7), (16, 16), (msg.len() + 1, 4096)] {
            let rest = input[early..].chunks(step).map(<[u8]>::to_vec).collect();
            let mut fix = SenderFix::new(Chunks(rest), input[..early].to_vec());
            for seq in 1..=2 {
                let received = fix
                    .receive_message(seq, &mut Vec::new(), &mut Vec::new())
                    .await
                    .unwrap_or_else(|e| panic!("early {early}, step {step}: {e}"));
                let header = received.header();
                let sender = header.sender().map(|s| s.as_str().to_owned());
                assert_eq!(
                    sender.as_deref(),
                    Some(":org.freedesktop.systemd"),
                    "early {early}, step {step}"
                );
                let body: (String,) = received.body().deserialize().expect("body");
                assert_eq!(body.0, "252");
            }
            let (n, _) = fix.recvmsg(&mut [0; 16]).await.expect("end of stream");
            assert_eq!(n, 0, "early {early}, step {step}");
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
        let mut fix = SenderFix::new((), msg[..msg.len() - 1].to_vec());
        assert!(fix.ready.is_empty());
        fix.raw.push(msg[msg.len() - 1]);
        fix.advance();
        assert_eq!(fix.ready.len(), msg.len());
    }

    /// Plays the manager's side of the handshake: reads `expected`, then answers.
    async fn manager(mut end: DuplexStream, expected: &[u8], answer: &[u8]) -> DuplexStream {
        let mut got = vec![0; expected.len()];
        // The client must not wait for our answer before sending `BEGIN`.
        tokio::time::timeout(Duration::from_secs(5), end.read_exact(&mut got))
            .await
            .expect("AUTH and BEGIN before any answer")
            .expect("read");
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(expected)
        );
        end.write_all(answer).await.expect("answer");
        end
    }

    #[tokio::test]
    async fn authentication_sends_begin_before_the_ok_and_keeps_what_follows_it() {
        let (mut client, server) = tokio::io::duplex(4096);
        let msg = from_systemd();
        let mut answer = format!("OK {GUID}\r\n").into_bytes();
        answer.extend(&msg);
        let (auth, mut server) = tokio::join!(
            authenticate(&mut client, 1000),
            manager(server, b"\0AUTH EXTERNAL 31303030\r\nBEGIN\r\n", &answer),
        );
        let (guid, early) = auth.expect("authenticated");
        assert_eq!(guid, GUID);
        assert_eq!(early, msg);
        // Nothing else was sent during the handshake: the first message must
        // not reach the manager along with `BEGIN`.
        drop(client);
        let mut rest = Vec::new();
        server.read_to_end(&mut rest).await.expect("read");
        assert_eq!(rest, b"");
    }

    #[tokio::test]
    async fn authentication_reports_a_rejection() {
        let (mut client, server) = tokio::io::duplex(4096);
        let (auth, _server) = tokio::join!(
            authenticate(&mut client, 0),
            manager(
                server,
                b"\0AUTH EXTERNAL 30\r\nBEGIN\r\n",
                b"REJECTED EXTERNAL\r\nERROR\r\n"
            ),
        );
        let err = auth.expect_err("rejected");
        assert!(err.to_string().contains("`REJECTED EXTERNAL`"), "{err}");
    }

    #[tokio::test]
    async fn connects_to_a_dbus_peer() {
        let (client, server) = UnixStream::pair().expect("socket pair");
        let server = zbus::connection::Builder::unix_stream(server)
            .server(zbus::Guid::generate())
            .expect("guid")
            .p2p()
            .build();
        let (client, server) = tokio::try_join!(connect(client), server).expect("handshake");
        // Answers `org.freedesktop.DBus.Peer` on every object.
        let _ = server.object_server();
        let ping = client.call_method(
            None::<&str>,
            "/",
            Some("org.freedesktop.DBus.Peer"),
            "Ping",
            &(),
        );
        tokio::time::timeout(Duration::from_secs(5), ping)
            .await
            .expect("an answer within 5 s")
            .expect("the peer answers");
    }
}
