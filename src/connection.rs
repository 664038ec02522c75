//! The timeouts of one client connection, which hyper's single header-read timer cannot express:
//!
//! - a request's head (request line and headers) must arrive within `SKYHIGH_HEADER_TIMEOUT_SECS`
//!   of its first byte, and a fresh connection must start its first request that soon: a client
//!   that dribbles headers (slowloris) or connects and says nothing is cut off;
//! - between requests a connection may stay idle for `SKYHIGH_KEEPALIVE_SECS`. That must exceed
//!   the load balancer's idle timeout (60 s on an ALB): an app that closes first races the ALB,
//!   which then sends a request down a connection being closed and answers 502.
//!
//! hyper starts its header timer as soon as it waits for the next request, so with a 10 s header
//! timeout every idle connection would close after 10 s. Here the stream itself tracks where the
//! conversation is (waiting for a request, reading its head up to the blank line, busy with the
//! body and the answer), and hyper's own timer is only a backstop.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a request's first byte (`first`: none has come on this connection yet).
    Awaiting { first: bool },
    /// Reading a head: how much of the "\r\n\r\n" that ends it has been seen.
    Head { matched: u8 },
    /// The head is in: the body, the handler and the answer take as long as the request timeout
    /// allows.
    Busy,
}

pub struct TimedConnection<T> {
    inner: T,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
    header_timeout: Duration,
    keep_alive: Duration,
}

impl<T> TimedConnection<T> {
    pub fn new(inner: T, header_timeout: Duration, keep_alive: Duration) -> Self {
        Self {
            inner,
            phase: Phase::Awaiting { first: true },
            deadline: Box::pin(tokio::time::sleep(header_timeout)),
            header_timeout,
            keep_alive,
        }
    }

    fn set_deadline(&mut self, after: Duration) {
        self.deadline.as_mut().reset(Instant::now() + after);
    }

    /// Follows the bytes a read brought in through the phases.
    fn on_read(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.phase = match self.phase {
                Phase::Awaiting { .. } => {
                    self.set_deadline(self.header_timeout);
                    advance(0, b)
                }
                Phase::Head { matched } => advance(matched, b),
                Phase::Busy => return,
            };
        }
    }

    /// An answer going out (not an interim "100 Continue"): the request is done with, and the
    /// connection waits for the next one.
    fn on_write(&mut self, bytes: &[u8]) {
        if self.phase == Phase::Busy && !bytes.starts_with(b"HTTP/1.1 1") && !bytes.starts_with(b"HTTP/1.0 1") {
            self.phase = Phase::Awaiting { first: false };
        }
        if let Phase::Awaiting { first: false } = self.phase {
            self.set_deadline(self.keep_alive);
        }
    }
}

/// One byte further into a head: `matched` counts the bytes of "\r\n\r\n" seen in a row.
fn advance(matched: u8, b: u8) -> Phase {
    let matched = match (matched, b) {
        (0 | 2, b'\r') => matched + 1,
        (1 | 3, b'\n') => matched + 1,
        (_, b'\r') => 1,
        _ => 0,
    };
    if matched == 4 { Phase::Busy } else { Phase::Head { matched } }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedConnection<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let filled = buf.filled()[before..].to_vec();
                self.on_read(&filled);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if self.phase != Phase::Busy && self.deadline.as_mut().poll(cx).is_ready() {
                    let what = match self.phase {
                        Phase::Awaiting { first: false } => "idle keep-alive connection",
                        _ => "request head not received in time",
                    };
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, what)));
                }
                Poll::Pending
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedConnection<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, bytes);
        if let Poll::Ready(Ok(n)) = written {
            self.on_write(&bytes[..n]);
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let (Poll::Ready(Ok(n)), Some(first)) = (&written, bufs.first())
            && *n > 0
        {
            let first = &first[..first.len().min(*n)];
            self.on_write(first);
        }
        written
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

    #[test]
    fn a_head_ends_at_its_first_blank_line() {
        let mut phase = Phase::Head { matched: 0 };
        for &b in b"GET / HTTP/1.1\r\nHost: x\r\n\r" {
            phase = advance(
                match phase {
                    Phase::Head { matched } => matched,
                    _ => 0,
                },
                b,
            );
            assert_ne!(phase, Phase::Busy);
        }
        let Phase::Head { matched } = phase else { panic!() };
        assert_eq!(advance(matched, b'\n'), Phase::Busy);
        assert_eq!(advance(1, b'\r'), Phase::Head { matched: 1 }, "\\r\\r starts again");
    }
}
