//! Open-connection accounting for `--idle-exit`: a listener wrapper whose
//! streams count themselves in and out, so the daemon knows how long it has
//! had no open connection at all (idle keep-alive connections count as open).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// How many connections are open, and since when there have been none.
#[derive(Debug)]
pub struct Activity {
    epoch: Instant,
    open: AtomicUsize,
    /// Milliseconds after `epoch` when the last connection closed.
    idle_since_ms: AtomicU64,
}

impl Default for Activity {
    fn default() -> Self {
        Self {
            epoch: Instant::now(),
            open: AtomicUsize::new(0),
            idle_since_ms: AtomicU64::new(0),
        }
    }
}

impl Activity {
    pub fn open_connections(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    /// How long there has been no open connection; `None` while one is open.
    pub fn idle_for(&self) -> Option<Duration> {
        if self.open.load(Ordering::SeqCst) > 0 {
            return None;
        }
        let since = Duration::from_millis(self.idle_since_ms.load(Ordering::SeqCst));
        Some(self.epoch.elapsed().saturating_sub(since))
    }

    fn opened(self: &Arc<Self>) -> Guard {
        self.open.fetch_add(1, Ordering::SeqCst);
        Guard(Arc::clone(self))
    }
}

/// Counts one open connection until dropped.
#[derive(Debug)]
struct Guard(Arc<Activity>);

impl Drop for Guard {
    fn drop(&mut self) {
        let a = &self.0;
        let ms = u64::try_from(a.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        a.idle_since_ms.store(ms, Ordering::SeqCst);
        a.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A TCP listener whose accepted streams are counted in an [`Activity`].
#[derive(Debug)]
pub struct CountingListener {
    inner: TcpListener,
    activity: Arc<Activity>,
}

impl CountingListener {
    pub fn new(inner: TcpListener, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl axum::serve::Listener for CountingListener {
    type Io = CountedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, addr)) => {
                    // Small request/response exchanges: do not wait for Nagle.
                    let _ = stream.set_nodelay(true);
                    let guard = self.activity.opened();
                    return (
                        CountedStream {
                            inner: stream,
                            _guard: guard,
                        },
                        addr,
                    );
                }
                // The peer gave up before we accepted: nothing to do.
                Err(e) if is_per_connection(&e) => {}
                Err(e) => {
                    // Out of descriptors or memory: back off rather than spin.
                    tracing::error!(error = %e, "accept failed; retrying in 1s");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// An accepted stream that counts as open until dropped.
#[derive(Debug)]
pub struct CountedStream {
    inner: TcpStream,
    _guard: Guard,
}

impl AsyncRead for CountedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::Listener as _;

    #[tokio::test]
    async fn connections_count_in_and_out() {
        let activity = Arc::new(Activity::default());
        let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = tcp.local_addr().expect("addr");
        let mut l = CountingListener::new(tcp, Arc::clone(&activity));
        assert!(activity.idle_for().is_some());
        let client = TcpStream::connect(addr).await.expect("connect");
        let (server_side, _) = l.accept().await;
        assert_eq!(activity.open_connections(), 1);
        assert_eq!(activity.idle_for(), None);
        drop(server_side);
        drop(client);
        assert_eq!(activity.open_connections(), 0);
        assert!(activity.idle_for().expect("idle") < Duration::from_secs(1));
    }
}
