//! A served connection's socket, shared by hyper and by the handlers that must learn when their client goes
//! away ([`ClientGone`]): an event stream frees its slot the moment its client closes, not when a later
//! keep-alive write fails. hyper itself does not look (the listener allows half-closed connections, so that a
//! request whose client closed its side right after sending it is still handled).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::sync::{CancellationToken, DropGuard};

/// A TCP stream hyper reads and writes, whose socket [`ClientGone`] can watch too.
pub struct SharedStream(Arc<TcpStream>);

impl SharedStream {
    pub fn new(stream: TcpStream) -> SharedStream {
        SharedStream(Arc::new(stream))
    }

    /// What a handler holds to learn that this connection's client went away.
    pub fn watcher(&self) -> ClientGone {
        ClientGone(self.0.clone())
    }
}

impl AsyncRead for SharedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        loop {
            ready!(self.0.poll_read_ready(cx))?;
            match self.0.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // Readiness was cleared: wait for the next.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl SharedStream {
    /// Writes with `write` once the socket can take it (again after a write that would have blocked).
    fn poll_write_with(
        &self,
        cx: &mut Context<'_>,
        mut write: impl FnMut(&TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            ready!(self.0.poll_write_ready(cx))?;
            match write(&self.0) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                done => return Poll::Ready(done),
            }
        }
    }
}

impl AsyncWrite for SharedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |s| s.try_write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |s| s.try_write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        let socket = socket2::SockRef::from(self.0.as_ref());
        Poll::Ready(match socket.shutdown(std::net::Shutdown::Write) {
            // Already closed by the peer: nothing left to shut.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            done => done,
        })
    }
}

/// Learns that a connection's client closed it (or it broke), without reading what it sends.
#[derive(Clone)]
pub struct ClientGone(Arc<TcpStream>);

impl ClientGone {
    /// Cancels `token` when the client goes away, watching until the returned guard is dropped (the
    /// request's work is over): one watch for the whole of a long answer, however much it sends.
    pub fn cancel_on_close(self, token: CancellationToken) -> DropGuard {
        let over = CancellationToken::new();
        let watching = over.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = self.wait() => token.cancel(),
                _ = watching.cancelled() => {}
            }
        });
        over.drop_guard()
    }

    /// Returns once the client has closed the connection or it has failed.
    async fn wait(&self) {
        let mut probe = [0u8; 1];
        loop {
            match self.0.peek(&mut probe).await {
                Ok(0) | Err(_) => return,
                // A request sent after this one waits for hyper; look again a little later.
                Ok(_) => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
    }
}
